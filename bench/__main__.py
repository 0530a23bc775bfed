"""`make bench` / `python -m bench`: sync figures against the DESIGN.md §5 budgets.

Seeds a fresh Dovecot with N realistic messages (the demo corpus, repeated with fresh
Message-IDs), then measures, each as a whole `mailtriage` process as a user would run it:
initial sync, re-sync with nothing changed, and re-sync after one new message.
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import shutil
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import imapclient

from mailtriage.demo.corpus import build_demo_corpus
from mailtriage.devservers.dovecot import DovecotServer

BATCH = 1000


def corpus(n: int) -> list[tuple[bytes, list[str]]]:
    base = [m for m in build_demo_corpus() if m.mailbox == "INBOX"]
    out = []
    for i in range(n):
        message = base[i % len(base)]
        # Fresh ids per copy so threading sees n/len(base) distinct copies of each thread.
        raw = re.sub(
            rb"<([^<>@\s]+)@",
            lambda m, i=i: b"<" + m.group(1) + f".{i // len(base)}@".encode(),
            message.raw,
        )
        out.append((raw, list(message.flags)))
    return out


def seed(server: DovecotServer, n: int) -> float:
    started = time.perf_counter()
    context = ssl.create_default_context(cafile=str(server.ca_file))
    with imapclient.IMAPClient(server.host, server.imaps_port, ssl_context=context) as client:
        client.login("bench", "bench")
        items = corpus(n)
        for start in range(0, n, BATCH):
            client.multiappend(
                "INBOX",
                [{"msg": raw, "flags": flags} for raw, flags in items[start : start + BATCH]],
            )
        client.select_folder("INBOX", readonly=True)  # let Dovecot index before timing
    return time.perf_counter() - started


def write_config(directory: Path, server: DovecotServer) -> Path:
    path = directory / "config.toml"
    path.write_text(
        f"""[agent]
name = "alice"
[accounts.bench]
address = "support@example.co.jp"
cache_dir = "{directory / "cache"}"
[accounts.bench.imap]
host = "{server.host}"
port = {server.imaps_port}
username = "bench"
password_command = "echo bench"
ca_file = "{server.ca_file}"
timeout = 600
"""
    )
    return path


def timed(config: Path, *args: str) -> tuple[float, str]:
    env = dict(os.environ, MAILTRIAGE_CONFIG=str(config))
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "mailtriage", *args],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    elapsed = time.perf_counter() - started
    if done.returncode:
        raise SystemExit(f"mailtriage {' '.join(args)} failed: {done.stderr}")
    return elapsed, done.stdout.strip()


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=5, help="runs of the quick measurements")
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="mailtriage-bench-"))
    server = DovecotServer()
    try:
        server.start()
        server.add_user("bench", "bench")
        seconds = seed(server, args.messages)
        print(f"seeded {args.messages} messages in {seconds:.1f} s")
        config = write_config(root, server)
        initial, summary = timed(config, "sync", "-q")
        print(
            f"initial sync (whole process): {initial:.2f} s  [{summary}]"
            "  budget: < mbsync 9-14 s and <= 3x raw floor (3.6 s)"
        )
        rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        print(f"  peak RSS of sync process: {rss:.0f} MB")
        cache = next((root / "cache").glob("*.sqlite3"))
        print(f"  cache size: {cache.stat().st_size / 1e6:.0f} MB")
        nochange = [timed(config, "sync", "-q")[0] for _ in range(args.repeat)]
        print(
            "re-sync, nothing changed (whole process): median"
            f" {ms(statistics.median(nochange))}, min {ms(min(nochange))}  budget: <= 150 ms"
        )
        ls = [timed(config, "ls", "--view", "all", "--limit", "50")[0] for _ in range(args.repeat)]
        print(f"ls --view all --limit 50 (whole process): median {ms(statistics.median(ls))}")
        search = [timed(config, "search", "請求書", "--limit", "50")[0] for _ in range(args.repeat)]
        print(f"search 請求書 (whole process): median {statistics.median(search) * 1000:.0f} ms")
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
