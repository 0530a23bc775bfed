"""Waiting on a running app under Pilot, and the steps of a reply, for live-server tests."""

from __future__ import annotations

import re
import time
from typing import Any


async def wait_until(pilot: Any, predicate: Any, timeout: float = 10.0) -> float:
    """Seconds until predicate() holds, pausing the app between looks; fails after timeout."""
    started = time.monotonic()
    while not predicate():
        if time.monotonic() - started > timeout:
            raise AssertionError("condition not reached in time")
        await pilot.pause(0.05)
    return time.monotonic() - started


def screen_text(app: Any) -> str:
    """What the terminal shows, as text (the SVG screenshot's text, spaces restored)."""
    import html

    svg = app.export_screenshot()
    return html.unescape(re.sub(r"<[^>]+>", "", svg)).replace("\xa0", " ")


async def send_suggested_reply(
    pilot: Any, app: Any, smtp_server: Any, timeout: float = 10.0
) -> None:
    """`r`, the first template suggested, ctrl+s: back once the SMTP server has the reply and
    the outbox is empty."""
    from mailtriage.tui.compose_screen import ComposeScreen
    from mailtriage.tui.pickers import Picker

    await pilot.press("r")
    await wait_until(pilot, lambda: isinstance(app.screen, Picker), timeout)
    await pilot.press("enter")
    await wait_until(pilot, lambda: isinstance(app.screen, ComposeScreen), timeout)
    await pilot.press("ctrl+s")
    await wait_until(pilot, lambda: len(smtp_server.received) == 1, timeout)
    await wait_until(pilot, lambda: not app._outbox.pending(), timeout)
