"""Pilot tests of the Reports screen (`D`): opens at once, computes off the UI thread, shows
the same numbers as `mailtriage report`, changes period and grouping, fits 80x24."""

from __future__ import annotations

import threading

import pytest

from mailtriage.sla import kpi
from mailtriage.sla.kpi import report
from mailtriage.store import Store
from mailtriage.tui.help_screen import binding_rows
from mailtriage.tui.main_screen import MainScreen
from mailtriage.tui.reports_screen import Chart, ReportReady, ReportsScreen
from support.cache import FIXED_NOW


async def _wait_report(pilot, screen: ReportsScreen) -> None:  # type: ignore[no-untyped-def]
    """Until the newest request's numbers are on screen (the worker starts after a frame)."""
    for _ in range(600):
        if screen.up_to_date:
            break
        await pilot.pause(0.05)
    await pilot.pause()
    assert screen.up_to_date and screen.data is not None, "the report did not arrive"


async def test_d_opens_reports_with_the_cli_numbers(build_app, tui_config, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    app = build_app()
    threads: list[str] = []
    arrived: list[ReportReady] = []

    def counted(*args, **kwargs):  # type: ignore[no-untyped-def]
        threads.append(threading.current_thread().name)
        return report(*args, **kwargs)

    monkeypatch.setattr(kpi, "report", counted)

    def hook(message) -> None:  # type: ignore[no-untyped-def]
        if isinstance(message, ReportReady):
            arrived.append(message)

    async with app.run_test(size=(120, 35), message_hook=hook) as pilot:
        await pilot.press("D")
        screen = app.screen
        assert isinstance(screen, ReportsScreen)
        await _wait_report(pilot, screen)
        until = FIXED_NOW.timestamp()
        store = Store(tui_config.accounts["demo"].cache_path, readonly=True)
        try:
            expected = report(
                store.conn, tui_config.sla, until - 30 * 86400, until, now=until, by="agent"
            )
        finally:
            store.close()
        assert screen.data["summary"] == expected["summary"]
        assert screen.data["groups"]["agent"] == expected["rows"]
        assert expected["summary"]["conversations"] > 10
        summary = str(screen.query_one("#reports-summary").render())
        assert f"Conversations {expected['summary']['conversations']}" in summary
        # Computed on a worker thread, not the app's.
        assert len(threads) == 1 and threads[0] != threading.main_thread().name
        assert len(arrived) == 1 and arrived[0].error is None
        for chart in screen.query(Chart):
            assert chart.outer_size.height == 9 and chart.size.width > 40
            assert "computing" not in str(chart.render())
        await pilot.press("q")
        assert isinstance(app.screen, MainScreen)


async def test_period_and_grouping_keys(build_app) -> None:  # type: ignore[no-untyped-def]
    app = build_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("D")
        screen = app.screen
        assert isinstance(screen, ReportsScreen)
        await _wait_report(pilot, screen)
        thirty = screen.data["summary"]["conversations"]
        assert len(screen.data["backlog"]) == 31
        await pilot.press("left_square_bracket")
        await _wait_report(pilot, screen)
        assert len(screen.data["backlog"]) == 8
        assert screen.data["summary"]["conversations"] <= thirty
        await pilot.press("right_square_bracket", "right_square_bracket")
        await _wait_report(pilot, screen)
        assert len(screen.data["backlog"]) == 91
        await pilot.press("g")
        await _wait_report(pilot, screen)
        assert screen.group == "tag" and "tag" in screen.data["groups"]
        await pilot.press("g", "g")
        await _wait_report(pilot, screen)
        assert screen.group == "agent"
        # 80 columns: one chart per row, each as wide as the screen allows.
        charts = list(screen.query(Chart))
        assert screen.has_class("-narrow")
        assert len({c.region.x for c in charts}) == 1
        assert all(c.outer_size.height == 9 for c in charts)


async def test_reports_key_in_help_and_palette(build_app) -> None:  # type: ignore[no-untyped-def]
    app = build_app()
    async with app.run_test(size=(120, 35)) as pilot:
        await pilot.pause()
        rows = binding_rows(app.screen)
        assert (
            "D",
            "Reports (dashboard): KPIs, backlog, response times, SLA, charts",
            "reports.open",
        ) in rows
        await pilot.press("colon")
        await pilot.pause()
        await pilot.press(*"Reports")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, ReportsScreen)


@pytest.mark.parametrize("size", [(120, 35), (80, 24)], ids=lambda s: f"{s[0]}x{s[1]}")
def test_reports_snapshot(snap_compare, build_app, size) -> None:  # type: ignore[no-untyped-def]
    async def opened(pilot) -> None:  # type: ignore[no-untyped-def]
        await pilot.press("D")
        await _wait_report(pilot, pilot.app.screen)

    assert snap_compare(build_app(), terminal_size=size, run_before=opened)


def test_chart_columns_fit_and_scale() -> None:
    from mailtriage.tui import charts

    # 365 daily values into 40 columns: buckets keep the last value (a backlog).
    assert charts.fit([float(i) for i in range(365)], 40)[-1] == 364.0
    assert len(charts.fit(list(range(365)), 40)) == 40
    assert charts.fit([1.0, 2.0, 3.0, 4.0], 2, sum) == [3.0, 7.0]
    assert charts.fit([None, None, 5.0, None], 2, charts.mean) == [None, 5.0]
    text = charts.columns([0.0, 4.0, 8.0], height=2, width=10, first="a", end="z")
    rows = text.plain.split("\n")
    assert rows[0] == "  8│    ██" and rows[1] == "  0│  ████" and rows[2].strip() == "a    z"
    assert charts.bar("SLA", 0.5, width=20, label_width=4).plain == "SLA  █████░░░░░  50%"
    assert charts.bar("SLA", None, width=20, label_width=4).plain.endswith("    -")
