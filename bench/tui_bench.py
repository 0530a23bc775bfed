"""TUI budgets (DESIGN.md §5) on a cache of N conversations: start to interactive, keypress
to repaint (p50/p95), switching views, search, and RSS. Headless (Textual's Pilot), so the
figures exclude the terminal's own drawing.

    python -m bench.tui_bench --conversations 100000
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from mailtriage.demo.corpus import build_demo_corpus
from mailtriage.imap.commands import Fetched
from mailtriage.imap.sync import row_from_parsed
from mailtriage.mime import parse_message
from mailtriage.store import Store
from support.cache import FIXED_NOW, demo_config

BATCH = 5000


def fill(config, n: int) -> float:  # type: ignore[no-untyped-def]
    """n single-message conversations cloned from the demo corpus with fresh Message-IDs."""
    account = config.accounts["demo"]
    base = [m for m in build_demo_corpus(now=FIXED_NOW) if m.mailbox == "INBOX"]
    parsed = [(m, parse_message(m.raw)) for m in base]
    store = Store(account.cache_path)
    started = time.perf_counter()
    rows = []
    for i in range(n):
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
        rows.append(row)
        if len(rows) == BATCH:
            with store.atomic():
                store.insert_messages(rows)
            rows = []
    if rows:
        with store.atomic():
            store.insert_messages(rows)
    store.close()
    return time.perf_counter() - started


async def measure(config, presses: int) -> None:  # type: ignore[no-untyped-def]
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
            print(
                f"switch to view {view}: {(time.perf_counter() - t) * 1000:.0f} ms"
                f" ({len(listing.keys)} rows)"
            )
        t = time.perf_counter()
        app.search("請求書")
        await pilot.pause()
        print(
            f"search 請求書 in the TUI: {(time.perf_counter() - t) * 1000:.0f} ms"
            f" ({len(listing.keys)} conversations)  budget: <= 50 ms"
        )
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"peak RSS (this process, incl. the fill): {rss:.0f} MB  budget: <= 150 MB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--conversations", type=int, default=100_000)
    parser.add_argument("--presses", type=int, default=300)
    args = parser.parse_args()
    directory = Path(tempfile.mkdtemp(prefix="mailtriage-tui-bench-"))
    config = demo_config(directory)
    seconds = fill(config, args.conversations)
    print(f"filled {args.conversations} conversations in {seconds:.1f} s")
    asyncio.run(measure(config, args.presses))


if __name__ == "__main__":
    main()
