"""Sync figures against the server, not against imapclient (issue 4, DESIGN.md §5).

Seeds a fresh local Dovecot with N realistic messages (the demo corpus, repeated with fresh
Message-IDs), then prints side by side:
- the floor: the same metadata FETCH over a raw TLS socket with minimal parsing;
- bare imapclient fetching ENVELOPE + BODYSTRUCTURE (its parser is the cost);
- mbsync (Debian `isync`, FSync off) initial and no-change, when installed;
- `mailtriage sync` as a whole process: initial (headers), no-change, one new message,
  1,000 keyword changes by another client; in-process: no-change re-sync inside a running
  app, all bodies, and IDLE push latency for a new message and a keyword change;
- peak RSS of the initial sync and cache bytes per message.

    python -m bench.sync_bench --messages 10000        # 100000 for the DESIGN.md budgets
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import resource
import shutil
import socket
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import imapclient

from mailtriage.config import load_config
from mailtriage.demo.corpus import build_demo_corpus
from mailtriage.devservers.dovecot import DovecotServer
from mailtriage.imap.headers import FETCH_ITEM

BATCH = 1000
BODIES_MEASURED = 10_000  # the whole mailbox's bodies would dominate a 100k run
USER, PASSWORD = "bench", "bench"


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


def tls_client(server: DovecotServer) -> imapclient.IMAPClient:
    context = ssl.create_default_context(cafile=str(server.ca_file))
    client = imapclient.IMAPClient(server.host, server.imaps_port, ssl_context=context)
    client.login(USER, PASSWORD)
    return client


def seed(server: DovecotServer, n: int) -> float:
    started = time.perf_counter()
    client = tls_client(server)
    items = corpus(n)
    for start in range(0, n, BATCH):
        client.multiappend(
            "INBOX", [{"msg": raw, "flags": flags} for raw, flags in items[start : start + BATCH]]
        )
    client.select_folder("INBOX", readonly=True)  # let Dovecot index before timing
    client.logout()
    return time.perf_counter() - started


def raw_floor(server: DovecotServer) -> float:
    """The same FETCH mailtriage sends, over TLS, reading literals and nothing else."""
    context = ssl.create_default_context(cafile=str(server.ca_file))
    started = time.perf_counter()
    with (
        socket.create_connection((server.host, server.imaps_port)) as plain,
        context.wrap_socket(plain, server_hostname=server.host) as sock,
    ):
        reader = sock.makefile("rb")
        reader.readline()
        for command in (
            f"a LOGIN {USER} {PASSWORD}",
            "b ENABLE QRESYNC",
            "c EXAMINE INBOX",
            "d UID FETCH 1:* (UID FLAGS INTERNALDATE RFC822.SIZE MODSEQ " + FETCH_ITEM + ")",
        ):
            tag = command.split(" ", 1)[0].encode()
            sock.sendall(command.encode() + b"\r\n")
            while True:
                line = reader.readline()
                if line.endswith(b"}\r\n"):
                    reader.read(int(line[line.rindex(b"{") + 1 : -3]))
                elif line.startswith(tag + b" "):
                    break
    return time.perf_counter() - started


def imapclient_envelope(server: DovecotServer) -> float:
    client = tls_client(server)
    started = time.perf_counter()
    client.select_folder("INBOX", readonly=True)
    uids = client.search("ALL")
    for start in range(0, len(uids), 5000):
        client.fetch(uids[start : start + 5000], ["ENVELOPE", "BODYSTRUCTURE", "FLAGS"])
    elapsed = time.perf_counter() - started
    client.logout()
    return elapsed


def mbsync(server: DovecotServer, root: Path) -> tuple[float, float] | None:
    binary = shutil.which("mbsync")
    if binary is None:
        return None
    local = root / "mbsync-maildir"
    local.mkdir()
    rc = root / "mbsyncrc"
    rc.write_text(
        f"""FSync no

IMAPAccount bench
Host localhost
Port {server.imaps_port}
User {USER}
Pass {PASSWORD}
SSLType IMAPS
CertificateFile {server.ca_file}

IMAPStore remote
Account bench

MaildirStore local
Path {local}/
Inbox {local}/INBOX

Channel bench
Far :remote:INBOX
Near :local:INBOX
Create Near
Sync Pull
SyncState *
"""
    )

    def run() -> float:
        started = time.perf_counter()
        done = subprocess.run([binary, "-c", str(rc), "-q", "bench"], capture_output=True)
        if done.returncode:
            raise SystemExit(f"mbsync failed: {done.stderr.decode(errors='replace')}")
        return time.perf_counter() - started

    initial = run()
    return initial, statistics.median(run() for _ in range(3))


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
username = "{USER}"
password_command = "echo {PASSWORD}"
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


def in_app(config_path: Path, server: DovecotServer, repeat: int) -> dict[str, float]:
    """Figures inside a running process: re-sync, bodies, IDLE push latency."""
    from mailtriage.imap.account import AccountSync
    from mailtriage.imap.bodies import fetch_bodies
    from mailtriage.imap.session import AccountSession
    from mailtriage.store import Store

    account = load_config(config_path).accounts["bench"]
    figures: dict[str, float] = {}
    session = AccountSession(account, PASSWORD)
    session.sync(prefetch_limit=0)
    runs = []
    for _ in range(repeat * 2):
        started = time.perf_counter()
        session.sync(prefetch_limit=0)
        runs.append(time.perf_counter() - started)
    figures["no-change re-sync in a running app (median)"] = statistics.median(runs)
    print(f"    in-app no-change runs: {[ms(r) for r in runs]}", flush=True)
    client, store = session._ensure()
    missing = store.missing_bodies(BODIES_MEASURED)
    started = time.perf_counter()
    fetch_bodies(client, store, missing)
    figures[f"{len(missing)} bodies, newest first (fetch + parse + store)"] = (
        time.perf_counter() - started
    )
    session.close()

    async def push() -> tuple[float, float]:
        syncer = AccountSync(account, PASSWORD)
        idle = asyncio.Event()
        loop = asyncio.get_running_loop()
        task = asyncio.create_task(
            syncer.watch(lambda e: e.kind == "idle" and loop.call_soon_threadsafe(idle.set))
        )
        await idle.wait()
        reader = Store(account.cache_path, readonly=True)
        other = tls_client(server)
        other.select_folder("INBOX")
        news, keywords = [], []
        for i in range(repeat):
            raw = (
                f"From: x@example.jp\r\nSubject: push {i}\r\nMessage-ID: <push{i}@b>\r\n\r\nhi\r\n"
            )
            started = time.perf_counter()
            other.append("INBOX", raw.encode())
            while not reader.conn.execute(
                "SELECT 1 FROM messages WHERE message_id=?", (f"<push{i}@b>",)
            ).fetchone():
                await asyncio.sleep(0.002)
            news.append(time.perf_counter() - started)
            print(f"    push {i}: new message {ms(news[-1])}", flush=True)
            (uid,) = reader.conn.execute(
                "SELECT uid FROM messages WHERE message_id=?", (f"<push{i}@b>",)
            ).fetchone()
            started = time.perf_counter()
            other.add_flags([uid], [b"mt:assignee/bob"])
            while not reader.conn.execute(
                "SELECT 1 FROM messages WHERE uid=? AND flags LIKE '%assignee/bob%'", (uid,)
            ).fetchone():
                await asyncio.sleep(0.002)
            keywords.append(time.perf_counter() - started)
            print(f"    push {i}: keyword {ms(keywords[-1])}", flush=True)
        other.logout()
        reader.close()
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await syncer.close()
        return statistics.median(news), statistics.median(keywords)

    new, keyword = asyncio.run(push())
    figures["IDLE push: new message to cache (median)"] = new
    figures["IDLE push: keyword change to cache (median)"] = keyword
    return figures


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms" if seconds < 2 else f"{seconds:.2f} s"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=5, help="runs of the quick measurements")
    args = parser.parse_args(argv)
    root = Path(tempfile.mkdtemp(prefix="mailtriage-bench-"))
    server = DovecotServer()
    rows: list[tuple[str, float, str]] = []

    def row(what: str, seconds: float, note: str = "") -> None:
        rows.append((what, seconds, note))
        print(f"  {what:<58} {ms(seconds):>9}  {note}", flush=True)

    try:
        server.start()
        server.add_user(USER, PASSWORD)
        print(f"seeded {args.messages} messages in {seed(server, args.messages):.1f} s")
        raw_floor(server)  # warm Dovecot's header cache, as mailtriage and mbsync would find it
        floor = min(raw_floor(server) for _ in range(3))
        row("floor: raw TLS socket, same FETCH", floor)
        row("bare imapclient ENVELOPE+BODYSTRUCTURE", imapclient_envelope(server))
        config = write_config(root, server)
        initial, summary = timed(config, "sync", "-q")
        rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        cache = root / "cache" / "bench.sqlite3"
        size = cache.stat().st_size + sum(
            p.stat().st_size for p in cache.parent.glob("bench.sqlite3-*")
        )
        found = mbsync(server, root)
        mb_note = f"mbsync {ms(found[0])}" if found else "mbsync not installed"
        row(
            "mailtriage sync, initial (headers + 200 bodies), process",
            initial,
            f"{initial / floor:.1f}x floor; {mb_note}  [{summary}]",
        )
        print(f"  peak RSS {rss:.0f} MB; cache {size / args.messages:.0f} bytes/message")
        nochange = statistics.median(timed(config, "sync", "-q")[0] for _ in range(args.repeat))
        row(
            "mailtriage sync, nothing changed, process (median)",
            nochange,
            f"mbsync {ms(found[1])}" if found else "",
        )
        if found:
            row("mbsync initial (FSync off)", found[0])
            row("mbsync nothing changed (median)", found[1])
        client = tls_client(server)
        client.append("INBOX", b"From: n@example.jp\r\nSubject: one new\r\n\r\nhello\r\n")
        one_new, summary = timed(config, "sync", "-q")
        row("mailtriage sync, one new message, process", one_new, f"[{summary}]")
        client.select_folder("INBOX")
        uids = client.search("ALL")[:1000]
        client.add_flags(uids, [b"mt:status/in-progress"])
        client.logout()
        keywords, summary = timed(config, "sync", "-q")
        row("mailtriage sync, 1,000 keyword changes, process", keywords, f"[{summary}]")
        for what, seconds in in_app(config, server, args.repeat).items():
            row(what, seconds)
        ls = statistics.median(
            timed(config, "ls", "--view", "all", "--limit", "50")[0] for _ in range(args.repeat)
        )
        row("ls --view all --limit 50, process (median)", ls)
        search = statistics.median(
            timed(config, "search", "請求書", "--limit", "50")[0] for _ in range(args.repeat)
        )
        row("search 請求書, process (median)", search)
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
