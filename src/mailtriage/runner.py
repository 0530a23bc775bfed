"""Run a coroutine from a CLI command.

asyncio costs ~60 ms to import, so only the commands that talk to servers pay for it; the
read-only commands (ls, show from cache, search) start faster without it.
"""

from __future__ import annotations

from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


def run_async(coro: Coroutine[Any, Any, T]) -> T:
    import asyncio

    return asyncio.run(coro)
