"""Work that a stream of events asks for (a pass after each sync), one pass at a time.

A poke during a pass asks for exactly one more, so a burst of sync events never piles up
passes, and the last event is always followed by a pass that sees its data. Runs on the
event loop that calls poke(); an error ends that pass only (reported), never the caller.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable


class CoalescedPasses:
    def __init__(
        self, run_once: Callable[[], Awaitable[None]], on_error: Callable[[Exception], None]
    ):
        self._run_once = run_once
        self._on_error = on_error
        self._task: asyncio.Task[None] | None = None
        self._again = False

    def poke(self) -> None:
        if self._task is not None and not self._task.done():
            self._again = True
            return
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def _run(self) -> None:
        self._again = True
        while self._again:
            self._again = False
            try:
                await self._run_once()
            except Exception as exc:  # a network hiccup or a bad template: the next poke retries
                self._on_error(exc)

    async def wait(self) -> None:
        """Until the running pass (and any asked-for repeat) has finished."""
        while self._task is not None and not self._task.done():
            await asyncio.shield(self._task)
