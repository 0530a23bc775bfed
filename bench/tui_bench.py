"""TUI budgets (DESIGN.md §5) on a cache of N conversations: start to interactive, keypress
to repaint (p50/p95), switching views, search, key latency while changes stream in, and RSS.
Headless (Textual's Pilot), so the figures exclude the terminal's own drawing.

    python -m bench.tui_bench --conversations 100000
    python -m bench.tui_bench --conversations 100000 --stream-seconds 30   # longer stream

The stream: a writer thread with its own cache connection commits a change every 100-300 ms
(alternately a new one-message conversation, as new mail, and another agent's claim of a
random Unhandled conversation), while j/k are typed every 50 ms (bench/keytiming.py: each
timed from reaching the app to the cursor action running, so a key that arrives during a
reload on the UI thread waits for it; Pilot's press would wait for the reload before sending).
With --listed the writer also says "listed" after each commit, as the app's own watch does
for new mail and flag changes (the app then shows each at once, at most every LISTED_GAP).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import resource
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from bench.keytiming import KeyTimer, percentiles
from mailtriage.demo.corpus import build_demo_corpus
from mailtriage.imap.commands import Fetched
from mailtriage.imap.sync import row_from_parsed
from mailtriage.mime import parse_message
from mailtriage.store import Store
from support.cache import FIXED_NOW, demo_config

BATCH = 5000
TYPING = 0.05  # seconds between typed keys: 20 a second, a held j's key repeat


def bench_row(account, parsed, i: int):  # type: ignore[no-untyped-def]
    """Conversation i: a demo message with a fresh Message-ID and subject, 7 s older per i."""
    message, p = parsed[i % len(parsed)]
    fetched = Fetched(
        uid=i + 1,
        flags=list(message.flags),
        internaldate=None,
        size=len(message.raw),
        modseq=None,
        literal=None,
    )
    row = row_from_parsed(account, "INBOX", "inbox", 1, fetched, p, raw=None)
    row.message_id = f"<bench{i}@example.jp>"
    row.references, row.in_reply_to = [], []
    row.norm_subject = f"{row.norm_subject} {i}"  # no subject-fallback merging
    row.ts -= i * 7
    return row


def demo_inbox(config):  # type: ignore[no-untyped-def]
    base = [m for m in build_demo_corpus(now=FIXED_NOW) if m.mailbox == "INBOX"]
    return [(m, parse_message(m.raw)) for m in base]


def fill(config, n: int) -> float:  # type: ignore[no-untyped-def]
    """n single-message conversations cloned from the demo corpus with fresh Message-IDs."""
    account = config.accounts["demo"]
    parsed = demo_inbox(config)
    store = Store(account.cache_path)
    started = time.perf_counter()
    rows = []
    for i in range(n):
        rows.append(bench_row(account, parsed, i))
        if len(rows) == BATCH:
            with store.atomic():
                store.insert_messages(rows)
            rows = []
    if rows:
        with store.atomic():
            store.insert_messages(rows)
    store.close()
    return time.perf_counter() - started


class Writer(threading.Thread):
    """Commits a change every 100-300 ms from its own connection, as the sync worker and
    other agents do: new mail (a new conversation) and claims of Unhandled conversations."""

    def __init__(self, config, first_new: int, app=None) -> None:  # type: ignore[no-untyped-def]
        super().__init__(daemon=True)
        self.app = app  # told "listed" after each commit (--listed), else None
        self.account = config.accounts["demo"]
        self.parsed = demo_inbox(config)
        self.next_new = first_new
        self.stop = threading.Event()
        self.commits = 0
        self.cpu = 0.0  # this thread's CPU seconds
        self.rng = random.Random(4)

    def run(self) -> None:
        store = Store(self.account.cache_path)
        uids = [u for (u,) in store.conn.execute("SELECT uid FROM messages")]
        try:
            while not self.stop.wait(self.rng.uniform(0.1, 0.3)):
                started = time.thread_time()
                with store.atomic():
                    if self.commits % 2 == 0:
                        row = bench_row(self.account, self.parsed, self.next_new)
                        row.ts += self.next_new * 7 + 60  # newer than all: "new mail"
                        store.insert_messages([row])
                        self.next_new += 1
                    else:
                        flags = ["mt:status/in-progress", "mt:assignee/bob"]
                        uid = self.rng.choice(uids)
                        store.update_flags("INBOX", 1, {uid: (flags, None)})
                self.commits += 1
                self.cpu += time.thread_time() - started
                if self.app is not None:
                    from mailtriage.imap.watch import SyncEvent
                    from mailtriage.tui.app import SyncEventArrived

                    event = SyncEvent("listed", "1 changed", self.account.name)
                    self.app.post_message(SyncEventArrived(event))
        finally:
            store.close()


async def stream_keys(app, pilot, config, n: int, seconds: float, listed: bool) -> None:  # type: ignore[no-untyped-def]
    """Key latency while changes stream in (see the module's docstring)."""
    from mailtriage.tui.conversation_list import ConversationList

    timer = KeyTimer(app.main.query_one(ConversationList))
    writer = Writer(config, first_new=n + 1000, app=app if listed else None)
    load_before = os.getloadavg()
    cpu0, t0 = time.process_time(), time.perf_counter()
    writer.start()
    sent = await timer.type(app, seconds, interval=TYPING)
    writer.stop.set()
    writer.join()
    cpu, elapsed = time.process_time() - cpu0, time.perf_counter() - t0
    timer.close()
    await settled(app, pilot)
    print(
        f"stream for {elapsed:.0f} s: {writer.commits} commits by the writer"
        f"{', each said listed' if listed else ''}"
        f" ({writer.cpu:.1f} s of its CPU); {sent} keys typed, one every {TYPING * 1000:.0f} ms"
    )
    print(f"  key handled (typed to cursor action): {percentiles(timer.handled)}")
    print(
        f"  process CPU {cpu:.1f} s over {elapsed:.1f} s wall (writer included);"
        f" load average before {load_before[0]:.2f}, after {os.getloadavg()[0]:.2f}"
    )


async def settled(app, pilot) -> None:  # type: ignore[no-untyped-def]
    """Until the list shows what was asked for (read on a worker thread since session 4)."""
    wait = getattr(app, "list_settled", None)
    if wait is not None:
        await wait()
    await pilot.pause()


async def measure(config, presses: int, stream_seconds: float, listed: bool) -> None:  # type: ignore[no-untyped-def]
    from mailtriage.tui.app import make_app
    from mailtriage.tui.conversation_list import ConversationList

    started = time.perf_counter()
    app = make_app(config, background_sync=False)
    async with app.run_test(size=(120, 35)) as pilot:
        await pilot.pause()
        ready = time.perf_counter() - started
        listing = app.main.query_one(ConversationList)
        print(
            f"start to interactive: {ready * 1000:.0f} ms ({len(listing.keys)} rows in the"
            " Unhandled view)  budget: <= 500 ms"
        )
        wall, cpu = [], []
        for i in range(presses):
            key = "j" if i % 10 < 8 else "k"
            t, c = time.perf_counter(), time.process_time()
            await pilot.press(key)
            wall.append((time.perf_counter() - t) * 1000)
            cpu.append((time.process_time() - c) * 1000)
        # CPU is what the app spends per key; wall adds Pilot's fixed idle waits per press.
        for label, timings in (("CPU", cpu), ("wall incl. Pilot's waits", wall)):
            timings.sort()
            p95 = timings[int(len(timings) * 0.95)]
            print(
                f"cursor move, {label} ({presses} presses): p50"
                f" {statistics.median(timings):.1f} ms, p95 {p95:.1f} ms,"
                f" max {timings[-1]:.1f} ms  budget: p95 <= 30 ms"
            )
        for keys, label in ((["pagedown"] * 20, "page down"), (["G", "g"] * 5, "G/g")):
            t = time.perf_counter()
            for k in keys:
                await pilot.press(k)
            print(f"{label}: {(time.perf_counter() - t) * 1000 / len(keys):.1f} ms per press")
        for view in ("8", "2", "1"):
            t = time.perf_counter()
            await pilot.press(view)
            pressed = time.perf_counter() - t
            await settled(app, pilot)
            print(
                f"switch to view {view}: rows shown after"
                f" {(time.perf_counter() - t) * 1000:.0f} ms ({len(listing.keys)} rows);"
                f" the key returned after {pressed * 1000:.0f} ms"
            )
        t = time.perf_counter()
        app.search("請求書")
        await settled(app, pilot)
        print(
            f"search 請求書 in the TUI: {(time.perf_counter() - t) * 1000:.0f} ms"
            f" ({len(listing.keys)} conversations)  budget: <= 50 ms"
        )
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"peak RSS (this process, incl. the fill): {rss:.0f} MB  budget: <= 150 MB")
        app.search(None)
        await settled(app, pilot)
        if stream_seconds > 0:
            await stream_keys(app, pilot, config, len(listing.keys), stream_seconds, listed)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--conversations", type=int, default=100_000)
    parser.add_argument("--presses", type=int, default=300)
    parser.add_argument(
        "--stream-seconds", type=float, default=20.0, help="0 skips the streaming figure"
    )
    parser.add_argument(
        "--listed", action="store_true", help="the stream's writer says 'listed' after each commit"
    )
    args = parser.parse_args()
    directory = Path(tempfile.mkdtemp(prefix="mailtriage-tui-bench-"))
    config = demo_config(directory)
    seconds = fill(config, args.conversations)
    print(f"filled {args.conversations} conversations in {seconds:.1f} s")
    print(f"load average at start: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    asyncio.run(measure(config, args.presses, args.stream_seconds, args.listed))


if __name__ == "__main__":
    main()
