"""CoalescedPasses: pokes during a pass ask for one more, errors end only that pass."""

from __future__ import annotations

import asyncio

from mailtriage.passes import CoalescedPasses


async def test_pokes_during_a_pass_coalesce_into_one_more() -> None:
    started: list[int] = []
    gate = asyncio.Event()

    async def once() -> None:
        started.append(len(started))
        await gate.wait()

    passes = CoalescedPasses(once, lambda exc: None)
    passes.poke()
    await asyncio.sleep(0)
    for _ in range(5):
        passes.poke()  # during the first pass: one more, not five
    gate.set()
    await passes.wait()
    assert started == [0, 1]


async def test_an_error_is_reported_and_the_next_poke_runs_again() -> None:
    errors: list[str] = []
    runs = 0

    async def once() -> None:
        nonlocal runs
        runs += 1
        if runs == 1:
            raise OSError("server went away")

    passes = CoalescedPasses(once, lambda exc: errors.append(str(exc)))
    passes.poke()
    await passes.wait()
    passes.poke()
    await passes.wait()
    assert (errors, runs) == (["server went away"], 2)
