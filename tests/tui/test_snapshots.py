"""SVG snapshots of every screen at 120x35 and 80x24, Japanese content included.

Update after an intended visual change with: make test PYTEST_ARGS="tests/tui --snapshot-update"
and look at the SVGs in tests/tui/__snapshots__ before committing them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from textual.pilot import Pilot

SIZES = [(120, 35), (80, 24)]


async def settle(pilot: Pilot) -> None:  # type: ignore[type-arg]
    """Until timers, workers (the SLA count) and layout have run: a loaded machine must draw
    the same picture as an idle one."""
    for _ in range(3):
        await pilot.pause()
        await pilot.app.workers.wait_for_complete()
        await pilot.wait_for_scheduled_animations()
    await pilot.pause()


@pytest.fixture
def snap(snap_compare, build_app) -> Callable[..., bool]:  # type: ignore[no-untyped-def]
    """snap_compare after each key settles; "_" only waits."""

    def take(keys: list[str], size: tuple[int, int] = (120, 35), **kwargs: Any) -> bool:
        app = build_app(**kwargs)
        app.sla_start_delay = 0.0  # counted at once, so every picture has the count
        notify = app.notify

        def lasting(*args: Any, **kw: Any) -> None:
            # A toast's timeout is wall time: on a loaded machine it could vanish before
            # the picture is taken, so in pictures every toast stays.
            kw["timeout"] = 3600
            notify(*args, **kw)

        app.notify = lasting  # type: ignore[method-assign]

        async def run_before(pilot: Pilot) -> None:  # type: ignore[type-arg]
            await settle(pilot)
            for key in keys:
                if key != "_":
                    await pilot.press(key)
                await settle(pilot)

        return snap_compare(app, terminal_size=size, run_before=run_before)

    return take


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_main_screen(snap, size) -> None:  # type: ignore[no-untyped-def]
    assert snap(["j", "j"], size)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_in_progress_view(snap, size) -> None:  # type: ignore[no-untyped-def]
    assert snap(["2", "x", "_"], size)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_reader(snap, size) -> None:  # type: ignore[no-untyped-def]
    assert snap(["j", "j", "j", "enter", "_"], size)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_reader_headers_and_quotes(snap, size) -> None:  # type: ignore[no-untyped-def]
    assert snap(["8", "j", "enter", "_", "H", "Z", "g"], size)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_help(snap, size) -> None:  # type: ignore[no-untyped-def]
    assert snap(["question_mark", "_"], size)


def test_search_results(snap) -> None:  # type: ignore[no-untyped-def]
    assert snap(["slash", *"ログイン", "enter", "_"], (120, 35))
