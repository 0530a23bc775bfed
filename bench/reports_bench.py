"""The Reports screen (`D`) and `mailtriage report` on a cache of N conversations: the KPI
computation alone, the screen from the key press to its first frame and to its numbers, and
whether the app still answers keys while the numbers are computed (they are computed on a
worker thread). Headless (Textual's Pilot).

    python -m bench.reports_bench --conversations 10000
    python -m bench.reports_bench --conversations 100000
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import statistics
import tempfile
import time
from pathlib import Path

from bench.tui_bench import fill
from mailtriage.sla.kpi import report
from mailtriage.store import Store
from support.cache import FIXED_NOW, demo_config


def compute(config) -> None:  # type: ignore[no-untyped-def]
    until = FIXED_NOW.timestamp()
    # The holiday calendar loads once per process (~1 s of imports): not the report's cost.
    config.sla.calendar.is_business_day(FIXED_NOW.date())

    for days in (30, 365):
        store = Store(config.accounts["demo"].cache_path, readonly=True)
        try:
            started, cpu = time.perf_counter(), time.process_time()
            data = report(
                store.conn, config.sla, until - days * 86400, until, now=until, groups=("day",)
            )
            seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
        finally:
            store.close()
        # CPU as well as wall time: on a shared machine the wall clock measures the neighbours.
        print(
            f"report(), last {days} days: {seconds * 1000:.0f} ms wall, {cpu * 1000:.0f} ms CPU"
            f" ({data['summary']['conversations']} conversations in the window)"
        )


async def screen(config) -> None:  # type: ignore[no-untyped-def]
    from mailtriage.tui.app import make_app
    from mailtriage.tui.reports_screen import ReportsScreen

    app = make_app(config, background_sync=False, clock=FIXED_NOW.timestamp())
    app.sla_start_delay = 3600.0  # measure the screen, not the status line's SLA count
    async with app.run_test(size=(120, 35)) as pilot:
        await pilot.pause()
        started = time.perf_counter()
        await pilot.press("D")
        shown = time.perf_counter() - started
        reports = app.screen
        assert isinstance(reports, ReportsScreen)
        # Keys while the numbers are computed: move the body, as a user scrolling would.
        waits = []
        while not reports.up_to_date:
            t = time.perf_counter()
            await pilot.press("down")
            waits.append((time.perf_counter() - t) * 1000)
            if time.perf_counter() - started > 300:
                raise SystemExit("no report after 300 s")
        filled = time.perf_counter() - started
        print(f"Reports screen: first frame {shown * 1000:.0f} ms after D (shows 'computing…')")
        print(
            f"Reports screen: numbers and charts {filled * 1000:.0f} ms after D"
            f" (worker {reports.seconds * 1000:.0f} ms)"
        )
        if waits:
            print(
                f"keys answered while computing: {len(waits)}, median"
                f" {statistics.median(waits):.0f} ms, max {max(waits):.0f} ms (incl. Pilot's waits)"
            )
        for key, label in (("right_square_bracket", "90 days"), ("g", "table by tag")):
            t = time.perf_counter()
            await pilot.press(key)
            while not reports.up_to_date:
                await pilot.pause(0.01)
            print(f"{label}: {(time.perf_counter() - t) * 1000:.0f} ms to new numbers")
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS (this process, incl. the fill): {rss:.0f} MB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--conversations", type=int, default=10_000)
    args = parser.parse_args()
    directory = Path(tempfile.mkdtemp(prefix="mailtriage-reports-bench-"))
    config = demo_config(directory)
    seconds = fill(config, args.conversations)
    print(f"filled {args.conversations} conversations in {seconds:.1f} s")
    compute(config)
    asyncio.run(screen(config))


if __name__ == "__main__":
    main()
