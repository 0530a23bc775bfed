"""Key latency as a user feels it: keys typed at a steady pace, each timed from the moment it
reached the app until the list's cursor action ran.

Pilot's press is no measure of that: after each key it waits until the whole process is idle
(textual._wait.wait_for_idle compares process CPU with wall time, up to 1 s), so its wall time
includes every thread's work, and the next key is only sent once a reload is over, so keys
seldom meet one. A user's keys arrive whenever they are typed; these do too (sent through the
driver, as the terminal's input thread does), and one that arrives during a reload on the UI
thread waits for it, as a user's would.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from collections import deque
from typing import Any

from textual import events


class KeyTimer:
    """Times j/k from sending to ConversationList.action_cursor_down/up running (deque: the
    typist thread appends, the UI thread pops)."""

    def __init__(self, listing: Any) -> None:
        self.listing = listing
        self._sent: deque[float] = deque()
        self.handled: list[float] = []  # ms
        self._originals = {}
        for name in ("action_cursor_down", "action_cursor_up"):
            original = getattr(listing, name)
            self._originals[name] = original
            setattr(listing, name, self._timed(original))

    def _timed(self, action: Any) -> Any:
        def timed() -> None:
            if self._sent:
                self.handled.append((time.perf_counter() - self._sent.popleft()) * 1000)
            action()

        return timed

    async def type(self, app: Any, seconds: float, *, interval: float) -> int:
        """Type j ten times, k ten times, … every `interval` s for `seconds`; returns how many.

        From a thread of its own, as a terminal's input thread: a typist on the UI thread's
        event loop would stop typing whenever the UI thread is busy, the very moments that
        matter."""
        driver = app._driver

        def typist() -> int:
            sent = 0
            started = time.perf_counter()
            while time.perf_counter() - started < seconds:
                key = "j" if (sent // 10) % 2 == 0 else "k"  # stays in the middle of the list
                self._sent.append(time.perf_counter())
                driver.send_message(events.Key(key, key))  # thread-safe: run_coroutine_threadsafe
                sent += 1
                time.sleep(interval)
            return sent

        sent = await asyncio.to_thread(typist)
        deadline = time.perf_counter() + 30
        while self._sent and time.perf_counter() < deadline:
            await asyncio.sleep(0.05)  # the last keys' answers
        return sent

    def close(self) -> None:
        for name, original in self._originals.items():
            setattr(self.listing, name, original)


def percentiles(values: list[float]) -> str:
    """p50/p95/p99/max of milliseconds, as one phrase."""
    if not values:
        return "no samples"
    values = sorted(values)

    def at(q: float) -> float:
        return values[min(len(values) - 1, int(len(values) * q))]

    return (
        f"p50 {statistics.median(values):.0f} ms, p95 {at(0.95):.0f} ms,"
        f" p99 {at(0.99):.0f} ms, max {values[-1]:.0f} ms"
    )
