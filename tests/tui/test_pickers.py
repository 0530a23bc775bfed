"""The template picker narrows as you type (fuzzy, Japanese too)."""

from __future__ import annotations

from mailtriage.tui.compose_screen import ComposeScreen
from mailtriage.tui.pickers import Picker, fuzzy_match


def test_fuzzy_match() -> None:
    assert fuzzy_match("refnd", "★ ja/refund  返金のご案内")
    assert fuzzy_match("返金", "★ ja/refund  返金のご案内")
    assert fuzzy_match("JA RE", "ja/refund")
    assert not fuzzy_match("dnufer", "ja/refund")
    assert fuzzy_match("", "anything")


async def test_typing_filters_the_template_picker(build_app) -> None:  # type: ignore[no-untyped-def]
    app = build_app()
    async with app.run_test(size=(120, 35)) as pilot:
        await pilot.press("r")
        await pilot.pause()
        picker = app.screen
        assert isinstance(picker, Picker) and picker.filter is not None
        total = len(picker.shown)
        for ch in "refund":
            await pilot.press(ch)
        await pilot.pause()
        assert 0 < len(picker.shown) < total
        assert picker.shown[0][0].endswith("/refund")  # suggestion order is kept
        assert all(fuzzy_match("refund", label) for _, label in picker.shown)
        await pilot.press("down", "up", "enter")
        await pilot.pause()
        compose = app.screen
        assert isinstance(compose, ComposeScreen)
        assert compose.message.template_key in {"ja/refund", "en/refund"}


def test_parse_local_time() -> None:
    from datetime import datetime, timedelta, timezone

    from mailtriage.tui.compose_screen import parse_local_time

    jst = timezone(timedelta(hours=9))
    now = datetime(2026, 11, 24, 17, 0, tzinfo=jst)
    assert parse_local_time("18:30", now) == datetime(2026, 11, 24, 18, 30, tzinfo=jst)
    assert parse_local_time("09:00", now) == datetime(2026, 11, 25, 9, 0, tzinfo=jst)  # tomorrow
    assert parse_local_time("2026-12-01 09:00", now) == datetime(2026, 12, 1, 9, 0, tzinfo=jst)
    assert parse_local_time("soon", now) is None


def test_parse_local_time_rejects_the_past() -> None:
    from datetime import datetime, timedelta, timezone

    from mailtriage.tui.compose_screen import parse_local_time

    now = datetime(2026, 11, 24, 17, 0, tzinfo=timezone(timedelta(hours=9)))
    assert parse_local_time("2020-01-01 09:00", now) is None
