"""Background body parsing steps aside while the app reloads the list the user waits for.

Inside the app the watch backfills bodies on a thread of the same process, and `email`'s
parser holds the GIL: at 100k a list reload that takes 130-160 ms alone took 300-650 ms while
bodies were parsed, which kept a new message or another agent's keyword out of the list for
over a second. So the app says when a reload starts and when its rows are shown, and a thread
marked as background work waits between two bodies meanwhile. The wait is bounded: a reload
whose end is never reported (superseded, failed) releases the backfill after HOLD anyway.
`sync --watch` marks its thread too, but nothing there ever asks it to wait.
"""

from __future__ import annotations

import threading
import time

HOLD = 0.5  # seconds a reload may keep the backfill waiting

_changed = threading.Condition()
_until = 0.0  # monotonic time until which background work waits
_marked = threading.local()


def reload_started() -> None:
    global _until
    with _changed:
        _until = max(_until, time.monotonic() + HOLD)


def reload_shown() -> None:
    global _until
    with _changed:
        _until = 0.0
        _changed.notify_all()


def mark_background(on: bool) -> None:
    """Mark (or unmark) the calling thread's work as background."""
    _marked.on = on


def step_aside() -> None:
    """On a background thread: wait while a reload is in progress (at most HOLD)."""
    if not getattr(_marked, "on", False):
        return
    with _changed:
        while (left := _until - time.monotonic()) > 0:
            _changed.wait(left)
