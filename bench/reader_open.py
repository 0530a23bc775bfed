"""Opening long messages in the app: open-to-first-paint and scrolling, against a real Dovecot.

APPENDs text messages of 100 kB, 1 MB and 5 MB (UTF-8), and 1 MB in ISO-2022-JP, in
Shift_JIS (CP932) and as HTML only, to a fresh local Dovecot; then, in a child process (so
its peak RSS is its own), the app under Pilot at the given size waits for the background
prefetch and, for each message:
- opens it (`open_conversation`, as Enter does) and times until the reader's first paint
  with the text on screen (a `call_after_refresh` after the text's widget is mounted), wall
  and this process's CPU;
- times until the whole text is wrapped (the reader lays the rest out in the background);
- times one screen down (space), End (G: wraps what is left, then goes there) and Home (g),
  each until its repaint;
- then, as a user does, with Enter on its row in the list: OPENS keys, each timed from the
  moment the key reaches the app (sent from a thread of its own, as the terminal's input
  thread does; Pilot's press() waits for the whole process to be idle) to the first paint
  whose output holds a line of the text (the update the terminal would be sent is
  rendered and searched), wall and the UI thread's CPU; first with the body cached, then
  with it dropped from the cache so the open fetches it from the server (uncached).

    python -m bench.reader_open                  # 120x35
    python -m bench.reader_open --size 80x24
    python -m bench.reader_open --opens 5        # more keyed opens of each kind

The summary at the end gives each message's keyed opens (median and slowest) and the load
average before and after.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from bench.soak import write_config
from bench.sync_bench import PASSWORD, USER
from mailtriage.devservers.dovecot import DovecotServer
from mailtriage.devservers.largemail import huge_text
from mailtriage.devservers.pki import make_test_pki

KB = 1024
MB = 1024 * KB
CASES = [  # (subject, bytes, charset, html)
    ("utf8-2k", 2 * KB, "utf-8", False),  # the reference: what opening any message costs
    ("utf8-100k", 100 * KB, "utf-8", False),
    ("utf8-1M", MB, "utf-8", False),
    ("utf8-5M", 5 * MB, "utf-8", False),
    ("iso2022jp-1M", MB, "iso-2022-jp", False),
    ("cp932-1M", MB, "cp932", False),
    ("html-1M", MB, "utf-8", True),
]


class Clock:
    """Wall time, the UI thread's CPU (what delays a paint) and the whole process's CPU
    (with the sync threads) since start: on a shared machine wall time is mostly waiting."""

    def __init__(self) -> None:
        self.wall = time.perf_counter()
        self.ui = time.thread_time()
        self.cpu = time.process_time()

    def __str__(self) -> str:
        wall = (time.perf_counter() - self.wall) * 1000
        ui = (time.thread_time() - self.ui) * 1000
        cpu = (time.process_time() - self.cpu) * 1000
        return f"{wall:7.1f} ms (UI CPU {ui:6.1f}, process {cpu:6.1f})"


def rss_now() -> str:
    with open("/proc/self/status") as f:
        kb = next(int(line.split()[1]) for line in f if line.startswith("VmRSS:"))
    return f"{kb / 1024:.0f} MB"


def load_average() -> str:
    return ", ".join(f"{n:.2f}" for n in os.getloadavg())


class PaintWatch:
    """Times Enter in the list to the first paint that shows `marker`.

    Wraps the app's _display, which every screen update goes through; under run_test it
    writes nothing, so the hook renders the update as a terminal would get it and looks for
    the marker there (that rendering is part of a real paint, and counted).
    """

    def __init__(self, app: Any) -> None:
        self.app = app
        self.marker = ""
        self.done = asyncio.Event()
        self.shown = (0.0, 0.0)  # perf_counter and the UI thread's thread_time at the paint
        self.gc_ms = 0.0  # in garbage collections (any thread) since the key was sent
        self._gc_started = 0.0
        gc.callbacks.append(self._collection)
        original = app._display

        def display(screen: Any, renderable: Any) -> None:
            original(screen, renderable)
            if self.marker and renderable is not None and not self.done.is_set():
                output = (
                    renderable.render_segments(app.console)
                    if hasattr(renderable, "render_segments")
                    else ""
                )
                if self.marker in output:
                    self.shown = (time.perf_counter(), time.thread_time())
                    self.done.set()

        app._display = display

    def _collection(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._gc_started = time.perf_counter()
        elif self.marker:
            self.gc_ms += (time.perf_counter() - self._gc_started) * 1000

    async def enter(self, marker: str) -> tuple[float, float]:
        """Send Enter from another thread; (wall ms, UI thread CPU ms) until marker shows."""
        from textual import events

        self.marker = marker
        self.gc_ms = 0.0
        self.done.clear()
        ui_started = time.thread_time()  # this coroutine runs on the UI thread
        sent = [0.0]

        def typist() -> None:
            sent[0] = time.perf_counter()
            self.app._driver.send_message(events.Key("enter", "\r"))

        threading.Thread(target=typist).start()
        await asyncio.wait_for(self.done.wait(), 60)
        self.marker = ""
        wall, ui = self.shown
        return (wall - sent[0]) * 1000, (ui - ui_started) * 1000


def summary(label: str, figures: list[tuple[float, float]]) -> str:
    walls = [w for w, _ in figures]
    uis = [u for _, u in figures]
    return (
        f"{label}: wall median {statistics.median(walls):.0f} ms, slowest {max(walls):.0f};"
        f" UI CPU median {statistics.median(uis):.0f} ms, most {max(uis):.0f}"
    )


async def painted(screen) -> None:  # type: ignore[no-untyped-def]
    """Until the screen's next repaint."""
    done = asyncio.Event()
    screen.call_after_refresh(done.set)
    await done.wait()


async def app_steps(config_path: str, width: int, height: int, opens: int) -> None:
    from mailtriage.config import load_config
    from mailtriage.tui.app import make_app
    from mailtriage.tui.body_view import BodyView
    from mailtriage.tui.conversation_list import ConversationList
    from mailtriage.tui.reader import ReaderScreen

    app = make_app(load_config(Path(config_path)))

    async def until(predicate, timeout: float = 120) -> None:  # type: ignore[no-untyped-def]
        started = time.monotonic()
        while not predicate():
            if time.monotonic() - started > timeout:
                raise SystemExit("timed out")
            await asyncio.sleep(0.001)

    def text_shown() -> bool:
        screen = app.screen
        return (
            isinstance(screen, ReaderScreen)
            and screen.conversation is not None
            and bool(screen.conversation["messages"][0]["text"])
            and bool(screen.query("#thread BodyView, #thread MessageView"))
        )

    watch = PaintWatch(app)
    results: list[tuple[str, str, list[tuple[float, float]]]] = []

    async def keyed_opens(key: str, subject: str, marker: str, *, cached: bool) -> None:
        kind = "cached" if cached else "uncached"
        figures = []
        for _ in range(opens):
            if not cached:  # dropped from the cache: opening fetches it from the server
                with app.store.atomic():
                    app.store.conn.execute(
                        "UPDATE messages SET body_fetched = 0, text = '' WHERE subject = ?",
                        (subject,),
                    )
            await pilot.pause(0.3)
            listing.cursor = listing.keys.index(key)
            await painted(app.screen)
            wall, ui = await watch.enter(marker)
            figures.append((wall, ui))
            print(
                f"{subject:<14} {f'Enter to text painted, {kind}':<34}"
                f" {wall:7.1f} ms (UI CPU {ui:6.1f}; in GC {watch.gc_ms:5.1f})",
                flush=True,
            )
            await until(text_shown)  # the reader's own state agrees with what was painted
            await pilot.press("q")
            await until(lambda: not isinstance(app.screen, ReaderScreen))
        results.append((subject, kind, figures))

    async with app.run_test(size=(width, height)) as pilot:
        listing = app.main.query_one(ConversationList)
        await until(lambda: len(listing.keys) == len(CASES))
        count = "SELECT COUNT(*) FROM messages WHERE body_fetched = 0"
        await until(lambda: app.store.conn.execute(count).fetchone()[0] == 0)
        await pilot.pause(0.5)
        print(f"bodies prefetched; RSS now {rss_now()}")
        print(f"{'message':<14} {'step':<34} {'wall (CPU of the UI thread, of the process)':>50}")
        for subject, *_ in CASES:
            (key,) = app.store.conn.execute(
                "SELECT conversation FROM messages WHERE subject = ?", (subject,)
            ).fetchone()
            clock = Clock()
            app.open_conversation(key)
            await until(text_shown)
            await painted(app.screen)
            print(f"{subject:<14} {'open to first paint':<34} {clock}", flush=True)
            reader = app.screen
            end = Clock()
            reader.action_bottom()
            await painted(reader)
            await painted(reader)  # G scrolls after the refresh that lays out the rest
            print(f"{subject:<14} {'G (end) right after the paint':<34} {end}", flush=True)
            bodies = reader.query(BodyView)
            if bodies:
                await until(lambda: all(b.wrapped for b in bodies))  # noqa: B023
                rows = sum(b.row_count for b in bodies)
                print(f"{subject:<14} {f'wrapped ({rows:,} rows) since open':<34} {clock}")
            print(f"{subject:<14} {'RSS now':<34} {rss_now():>10}", flush=True)
            for name, action in (
                ("g (home)", reader.action_top),
                ("space (one screen down)", reader.action_page_down),
                ("G (end)", reader.action_bottom),
            ):
                clock = Clock()
                action()
                await painted(reader)
                await painted(reader)  # G scrolls after the refresh that lays out the rest
                print(f"{subject:<14} {name:<34} {clock}", flush=True)
            await pilot.press("q")
            await until(lambda: not isinstance(app.screen, ReaderScreen))
            (text,) = app.store.conn.execute(
                "SELECT text FROM messages WHERE subject = ?", (subject,)
            ).fetchone()
            # The third line of the text: on the first screen, and in no list row.
            marker = text.splitlines()[2][:8]
            await keyed_opens(key, subject, marker, cached=True)
            await keyed_opens(key, subject, marker, cached=False)
    print(f"\nkeyed opens ({opens} each; load average now {load_average()}):")
    for subject, kind, figures in results:
        print(summary(f"{subject:<14} {kind:<8}", figures))
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS of the app process: {rss:.0f} MB")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size", default="120x35", help="terminal size, WIDTHxHEIGHT")
    parser.add_argument("--opens", type=int, default=3, help="keyed opens of each kind")
    parser.add_argument("--child-app", metavar="CONFIG")
    args = parser.parse_args(argv)
    width, height = (int(n) for n in args.size.split("x"))
    if args.child_app:
        asyncio.run(app_steps(args.child_app, width, height, args.opens))
        return
    import ssl

    import imapclient

    root = Path(tempfile.mkdtemp(prefix="mailtriage-reader-"))
    server = DovecotServer()
    try:
        server.start()
        server.add_user(USER, PASSWORD)
        pki = make_test_pki(root / "pki")
        context = ssl.create_default_context(cafile=str(server.ca_file))
        client = imapclient.IMAPClient("127.0.0.1", server.imaps_port, ssl_context=context)
        client.login(USER, PASSWORD)
        for i, (subject, size, charset, html) in enumerate(CASES):
            message = huge_text(
                size, subject=subject, message_id=f"<r{i}@big.jp>", charset=charset, html=html
            )
            client.append("INBOX", message.raw)
        client.logout()
        config = write_config(root / "alice", server, 1, pki.ca_cert, "alice")
        print(f"terminal {args.size}; load average {load_average()} (2 CPUs)", flush=True)
        child = ["-m", "bench.reader_open", "--size", args.size, "--opens", str(args.opens)]
        child += ["--child-app", str(config)]
        subprocess.run([sys.executable, *child], check=True)
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
