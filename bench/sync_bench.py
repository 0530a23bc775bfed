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
    python -m bench.sync_bench --messages 100000 --keep /tmp/mt-bench-100k   # seed once, reuse

Ends with one table: each figure, its ratio to the raw floor and to mbsync, and the budget.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
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

from mailtriage.config import AccountConfig, load_config
from mailtriage.demo.corpus import build_demo_corpus
from mailtriage.devservers.dovecot import DovecotServer
from mailtriage.imap.headers import FETCH_ITEM
from mailtriage.store import Store

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
    """Fill INBOX up to n messages (a kept server already holds most of them)."""
    started = time.perf_counter()
    client = tls_client(server)
    have = int(client.select_folder("INBOX", readonly=True)[b"EXISTS"])
    items = corpus(n)
    for start in range(have, n, BATCH):
        client.multiappend(
            "INBOX",
            [{"msg": raw, "flags": flags} for raw, flags in items[start : min(start + BATCH, n)]],
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
        cpu = _children_cpu()
        started = time.perf_counter()
        done = subprocess.run([binary, "-c", str(rc), "-q", "bench"], capture_output=True)
        if done.returncode:
            raise SystemExit(f"mbsync failed: {done.stderr.decode(errors='replace')}")
        MBSYNC_CPU.append(_children_cpu() - cpu)
        return time.perf_counter() - started

    initial = run()
    return initial, statistics.median(run() for _ in range(3))


MBSYNC_CPU: list[float] = []  # per run: the initial one, then the no-change ones


def write_config(directory: Path, server: DovecotServer, cache: Path | None = None) -> Path:
    path = directory / "config.toml"
    path.write_text(
        f"""[agent]
name = "alice"
[accounts.bench]
address = "support@example.co.jp"
cache_dir = "{cache or directory / "cache"}"
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


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


LAST_CPU = [0.0]  # CPU seconds of the last timed() process, its parsing worker included
ENV: dict[str, str] = {}  # _byte_compiled(), made once


def _byte_compiled() -> dict[str, str]:
    """The environment of an installed mailtriage: modules byte-compiled once, as pip does.
    With PYTHONDONTWRITEBYTECODE (set on some machines) every run compiled a dozen modules
    again, ~70 ms of a no-change sync's start."""
    import compileall

    import mailtriage

    compileall.compile_dir(Path(mailtriage.__file__).parent, quiet=1)
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


# The last timed(..., split=True) run's CPU: (the process: IMAP reader + SQLite writer, its
# parse worker). On 2 cores the larger bounds an initial sync's wall time.
LAST_SPLIT = [(0.0, 0.0)]
_SPLIT = re.compile(r"cpu-split process=([\d.]+) workers=([\d.]+)")


def timed(config: Path, *args: str, split: bool = False) -> tuple[float, str]:
    """Run `mailtriage ARGS` as a process (split: through bench.sync_cpu, which reports
    its CPU split; the same CLI code)."""
    if not ENV:
        ENV.update(_byte_compiled())
    env = dict(ENV, MAILTRIAGE_CONFIG=str(config))
    cpu = _children_cpu()
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "bench.sync_cpu" if split else "mailtriage", *args],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    elapsed = time.perf_counter() - started
    LAST_CPU[0] = _children_cpu() - cpu
    if done.returncode:
        raise SystemExit(f"mailtriage {' '.join(args)} failed: {done.stderr}")
    found = _SPLIT.search(done.stderr) if split else None
    if found:
        LAST_SPLIT[0] = (float(found.group(1)), float(found.group(2)))
    return elapsed, done.stdout.strip()


def in_app(config_path: Path, server: DovecotServer, repeat: int) -> dict[str, float]:
    """Figures inside a running process: re-sync, bodies, IDLE push latency."""
    from mailtriage.imap.bodies import fetch_bodies
    from mailtriage.imap.session import AccountSession

    account = load_config(config_path).accounts["bench"]
    figures: dict[str, float] = {}
    session = AccountSession(account, PASSWORD)
    session.sync(prefetch_limit=0)
    runs = []
    for _ in range(repeat * 2):
        # As the watch loop does between syncs: INBOX selected for IDLE, and kept so.
        session.select_for_idle("INBOX")
        started = time.perf_counter()
        session.sync(prefetch_limit=0)
        runs.append(time.perf_counter() - started)
    figures[IN_APP] = statistics.median(runs)
    print(f"    in-app no-change runs: {[ms(r) for r in runs]}", flush=True)
    # Before the bodies below are fetched: random messages without one, across the mailbox.
    figures.update(asyncio.run(on_demand(account, repeat)))
    client, store = session._ensure()
    missing = store.missing_bodies(BODIES_MEASURED)
    started = time.perf_counter()
    fetch_bodies(client, store, missing)
    figures[f"{len(missing)} bodies, newest first (fetch + parse + store)"] = (
        time.perf_counter() - started
    )
    session.close()

    figures.update(push_latency(account, server, repeat))
    return figures


def flags_of(reader: Store, rowid: int) -> str:
    (flags,) = reader.conn.execute("SELECT flags FROM messages WHERE id=?", (rowid,)).fetchone()
    return str(flags)


def push_latency(account: AccountConfig, server: DovecotServer, repeat: int) -> dict[str, float]:
    """IDLE push, as the app's watch runs it: another client delivers a message, then sets
    a keyword on it as soon as it is in the cache (while the watch still backfills bodies)."""
    from mailtriage.imap.account import AccountSync

    run = int(time.time())  # fresh Message-IDs, so a kept server can be measured again

    async def push() -> tuple[list[float], list[float]]:
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
                f"From: x@example.jp\r\nSubject: push {i}\r\n"
                f"Message-ID: <push{i}.{run}@b>\r\n\r\nhi\r\n"
            )
            started = time.perf_counter()
            other.append("INBOX", raw.encode())
            while not reader.conn.execute(
                "SELECT 1 FROM messages WHERE message_id=?", (f"<push{i}.{run}@b>",)
            ).fetchone():
                await asyncio.sleep(0.002)
            news.append(time.perf_counter() - started)
            print(f"    push {i}: new message {ms(news[-1])}", flush=True)
            (rowid, uid) = reader.conn.execute(
                "SELECT id, uid FROM messages WHERE message_id=?", (f"<push{i}.{run}@b>",)
            ).fetchone()
            started = time.perf_counter()
            other.add_flags([uid], [b"mt:assignee/bob"])
            # By rowid: `WHERE uid=?` scanned all 100k rows per poll (no index leads with
            # uid), 20-170 ms of a core each time, on the measurement and the watch alike.
            while "assignee/bob" not in flags_of(reader, rowid):
                await asyncio.sleep(0.002)
            keywords.append(time.perf_counter() - started)
            print(f"    push {i}: keyword {ms(keywords[-1])}", flush=True)
        other.logout()
        reader.close()
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await syncer.close()
        return news, keywords

    news, keywords = asyncio.run(push())
    return {
        PUSH_NEW: statistics.median(news),
        PUSH_NEW_MAX: max(news),
        PUSH_KEYWORD: statistics.median(keywords),
        PUSH_KEYWORD_MAX: max(keywords),
    }


async def on_demand(account: AccountConfig, repeat: int) -> dict[str, float]:
    """Opening a message whose body is not cached, as the app does (AccountSync.fetch_body
    on its body connection): first on a connection that never fetched a body, then after
    the warm-up the app starts with, on random messages across the mailbox."""
    from mailtriage.imap.account import AccountSync
    from mailtriage.store import Store

    reader = Store(account.cache_path, readonly=True)
    missing = [
        rowid
        for (rowid,) in reader.conn.execute(
            "SELECT id FROM messages WHERE body_fetched = 0 AND mailbox = 'INBOX'"
        )
    ]
    reader.close()
    picked = random.Random(time.time()).sample(missing, min(len(missing), 1 + 4 * repeat))
    if len(picked) < 2:
        return {}
    figures: dict[str, float] = {}
    cold = AccountSync(account, PASSWORD)
    started = time.perf_counter()
    await cold.fetch_body(picked.pop())
    figures[ON_DEMAND_COLD] = time.perf_counter() - started
    await cold.close()
    syncer = AccountSync(account, PASSWORD)
    started = time.perf_counter()
    await syncer.warm_bodies()
    figures[ON_DEMAND_WARMUP] = time.perf_counter() - started
    runs = []
    for rowid in picked:
        started = time.perf_counter()
        await syncer.fetch_body(rowid)
        runs.append(time.perf_counter() - started)
    await syncer.close()
    print(f"    body on demand after warm-up: {[ms(r) for r in runs]}", flush=True)
    figures[ON_DEMAND] = statistics.median(runs)
    figures[ON_DEMAND_MAX] = max(runs)
    return figures


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms" if seconds < 2 else f"{seconds:.2f} s"


IN_APP = "no-change re-sync inside a running app (median)"
ON_DEMAND_COLD = "body on demand: first open, new connection, no warm-up"
ON_DEMAND_WARMUP = "body connection warm-up at app start (in the background)"
ON_DEMAND = "body on demand after the warm-up (median)"
ON_DEMAND_MAX = "body on demand after the warm-up (slowest)"
PUSH_NEW = "IDLE push: new message in the cache (median)"
PUSH_KEYWORD = "IDLE push: another client's keyword change in the cache (median)"
PUSH_NEW_MAX = "IDLE push: new message in the cache (slowest)"
PUSH_KEYWORD_MAX = "IDLE push: another client's keyword change in the cache (slowest)"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=5, help="runs of the quick measurements")
    parser.add_argument(
        "--keep",
        metavar="DIR",
        type=Path,
        help="Dovecot's directory, kept between runs: seeding 100k once saves minutes",
    )
    parser.add_argument(
        "--cache",
        metavar="DIR",
        type=Path,
        help="the cache's directory, kept between runs (with --only push: the initial sync"
        " is paid once)",
    )
    parser.add_argument(
        "--only",
        choices=["push"],
        help="push: only the IDLE push figures (a sync first brings the cache up to date)",
    )
    args = parser.parse_args(argv)
    if args.cache is not None and args.only != "push":
        parser.error("--cache keeps the cache only with --only push")
    root = Path(tempfile.mkdtemp(prefix="mailtriage-bench-"))
    server = DovecotServer(args.keep)
    if args.only == "push":
        try:
            only_push(server, root, args)
        finally:
            server.stop()
            shutil.rmtree(root, ignore_errors=True)
        return
    # (what, seconds, CPU seconds or None, budget text, met or None, note)
    rows: list[tuple[str, float, float | None, str, bool | None, str]] = []
    floor = mb_initial = mb_nochange = 0.0

    def row(
        what: str,
        seconds: float,
        *,
        cpu: float | None = None,
        budget: str = "",
        met: bool | None = None,
        note: str = "",
        mbsync_ref: float = 0.0,
    ) -> None:
        rows.append((what, seconds, cpu, budget, met, note))
        ratios = f"{seconds / floor:.1f}x floor" if floor and seconds > floor else ""
        if mbsync_ref:
            ratios += f", {seconds / mbsync_ref:.2f}x mbsync"
        spent = f"cpu {ms(cpu)}" if cpu is not None else ""
        print(f"  {what:<62} {ms(seconds):>9}  {spent}  {ratios}  {note}", flush=True)

    load_before = os.getloadavg()
    try:
        server.start()
        server.add_user(USER, PASSWORD)
        print(f"seeded up to {args.messages} messages in {seed(server, args.messages):.1f} s")
        raw_floor(server)  # warm Dovecot's header cache, as mailtriage and mbsync would find it
        floor = min(raw_floor(server) for _ in range(3))
        row("floor: raw TLS socket, same FETCH", floor)
        row("bare imapclient ENVELOPE+BODYSTRUCTURE", imapclient_envelope(server))
        found = mbsync(server, root)
        if found:
            mb_initial, mb_nochange = found
            row("mbsync initial (FSync off)", mb_initial, cpu=MBSYNC_CPU[0])
            row(
                "mbsync nothing changed (median)",
                mb_nochange,
                cpu=statistics.median(MBSYNC_CPU[1:]),
            )
        config = write_config(root, server)
        initial, summary = timed(config, "sync", "-q", split=True)
        initial_cpu = LAST_CPU[0]
        process_cpu, worker_cpu = LAST_SPLIT[0]
        rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        cache = root / "cache" / "bench.sqlite3"
        size = cache.stat().st_size + sum(
            p.stat().st_size for p in cache.parent.glob("bench.sqlite3-*")
        )
        row(
            "mailtriage sync, initial (headers + 200 bodies), process",
            initial,
            cpu=initial_cpu,
            budget="< mbsync and <= 3x floor",
            met=initial < mb_initial and initial <= 3 * floor if found else None,
            note=f"[{summary}]",
            mbsync_ref=mb_initial,
        )
        print(f"  peak RSS {rss:.0f} MB; cache {size / args.messages:.0f} bytes/message")
        print(
            f"  initial sync CPU split: process (IMAP reader + SQLite writer) {process_cpu:.2f} s,"
            f" parse worker {worker_cpu:.2f} s; load average {os.getloadavg()[0]:.1f}"
        )
        runs = [timed(config, "sync", "-q") for _ in range(args.repeat)]
        nochange = statistics.median(seconds for seconds, _ in runs)
        row(
            "mailtriage sync, nothing changed, process (median)",
            nochange,
            cpu=LAST_CPU[0],
            budget="<= 150 ms and < mbsync",
            met=nochange <= 0.150 and (not found or nochange < mb_nochange),
            mbsync_ref=mb_nochange,
        )
        client = tls_client(server)
        client.append("INBOX", b"From: n@example.jp\r\nSubject: one new\r\n\r\nhello\r\n")
        one_new, summary = timed(config, "sync", "-q")
        row(
            "mailtriage sync, one new message, process",
            one_new,
            cpu=LAST_CPU[0],
            note=f"[{summary}]",
            mbsync_ref=mb_nochange,
        )
        client.select_folder("INBOX")
        uids = client.search("ALL")[:1000]
        # A keyword of its own per run: on a kept server the last run's is already set.
        client.add_flags(uids, [f"mt:tag/bench{int(time.time())}".encode()])
        client.logout()
        keywords, summary = timed(config, "sync", "-q")
        row(
            "mailtriage sync, 1,000 keyword changes, process",
            keywords,
            cpu=LAST_CPU[0],
            note=f"[{summary}]",
            mbsync_ref=mb_nochange,
        )
        budgets = {
            IN_APP: 0.005,
            ON_DEMAND: 0.1,
            ON_DEMAND_MAX: 0.1,
            PUSH_NEW: 1.0,
            PUSH_KEYWORD: 1.0,
            PUSH_NEW_MAX: 1.0,
            PUSH_KEYWORD_MAX: 1.0,
        }
        for what, seconds in in_app(config, server, args.repeat).items():
            limit = budgets.get(what)
            row(
                what,
                seconds,
                budget=f"<= {ms(limit)}" if limit else "",
                met=seconds <= limit if limit else None,
            )
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
    print_table(rows, floor, mb_initial, mb_nochange, args.messages)
    print(
        f"peak RSS {rss:.0f} MB; cache {size / args.messages:.0f} bytes/message; load average"
        f" {load_before[0]:.1f} before, {os.getloadavg()[0]:.1f} after (2 CPUs)"
    )
    print(
        f"initial sync CPU: process {process_cpu:.2f} s + parse worker {worker_cpu:.2f} s"
        f" (mbsync {MBSYNC_CPU[0] if MBSYNC_CPU else 0:.2f} s)"
    )


def only_push(server: DovecotServer, root: Path, args: argparse.Namespace) -> None:
    """--only push: seed if needed, sync the (kept) cache, then the push figures, with the
    load average and this process's CPU time (the machine is shared)."""
    load_before = os.getloadavg()
    server.start()
    server.add_user(USER, PASSWORD)
    print(f"seeded up to {args.messages} messages in {seed(server, args.messages):.1f} s")
    config = write_config(root, server, args.cache)
    seconds, summary = timed(config, "sync", "-q")
    print(f"  sync before the push figures: {ms(seconds)} [{summary}]", flush=True)
    account = load_config(config).accounts["bench"]
    cpu = time.process_time()
    figures = push_latency(account, server, args.repeat)
    cpu = time.process_time() - cpu
    for what, seconds in figures.items():
        verdict = "**met**" if seconds <= 1.0 else "**not met**"
        print(f"| {what} | {ms(seconds)} | <= 1 s {verdict} |")
    print(
        f"push figures' process CPU {cpu:.2f} s; load average {load_before[0]:.2f} before,"
        f" {os.getloadavg()[0]:.2f} after (2 CPUs)"
    )


def print_table(
    rows: list[tuple[str, float, float | None, str, bool | None, str]],
    floor: float,
    mb_initial: float,
    mb_nochange: float,
    messages: int,
) -> None:
    """The side-by-side table: time, CPU, ratio to the floor and to mbsync, the budget."""
    print(f"\n| {messages:,} messages | time | CPU | x floor | x mbsync | budget |")
    print("| --- | --- | --- | --- | --- | --- |")
    for what, seconds, cpu, budget, met, _note in rows:
        versus = mb_initial if "initial" in what else mb_nochange
        mine = what.startswith("mailtriage sync")
        verdict = "" if met is None else (" **met**" if met else " **not met**")
        print(
            f"| {what} | {ms(seconds)} | {ms(cpu) if cpu is not None else ''}"
            f" | {f'{seconds / floor:.1f}x' if floor and mine and 'initial' in what else ''}"
            f" | {f'{seconds / versus:.2f}x' if versus and mine else ''}"
            f" | {budget}{verdict} |"
        )


if __name__ == "__main__":
    main()
