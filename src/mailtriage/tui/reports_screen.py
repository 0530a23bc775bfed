"""Reports (`D`, "dashboard"): the team's KPIs for a period, with terminal charts.

The numbers are `mailtriage report`'s (sla.kpi.report), computed on a worker thread with its
own read-only cache connection, so a large mailbox never freezes the app: the screen opens at
once with "computing…" and fills in when the result arrives. `[`/`]` change the period, `g`
the table's grouping, `r` recomputes.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar

from rich.table import Table
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Container, VerticalScroll
from textual.message import Message
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import Static

from mailtriage.sla.kpi import cell_text, hours_text, percent_text
from mailtriage.tui import charts
from mailtriage.tui.footer import KeyFooter

PERIODS: tuple[tuple[str, int], ...] = (
    ("7 days", 7),
    ("30 days", 30),
    ("90 days", 90),
    ("365 days", 365),
)
DEFAULT_PERIOD = 1
GROUPS = ("agent", "tag", "day")
WIDE = 110  # from this many columns the charts sit two by two
WEEKDAYS = "月火水木金土日"
CHART_ROWS = 6


@dataclass
class ReportReady(Message, bubble=False):
    generation: int
    data: dict[str, Any] | None
    error: str | None
    seconds: float


class Chart(Widget):
    """A bordered chart drawn for its current width by `draw(width) -> Text`."""

    def __init__(self, title: str, *, id: str) -> None:
        super().__init__(id=id)
        self.border_title = title
        self._draw: Callable[[int], Text] | None = None

    def show(self, draw: Callable[[int], Text] | None) -> None:
        self._draw = draw
        self.refresh()

    def render(self) -> Text:
        if self._draw is None:
            return Text("computing…", style="dim")
        return self._draw(max(10, self.content_size.width))


class ReportsScreen(Screen[None]):
    CSS_PATH = "reports_screen.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(
            "right_square_bracket",
            "period(1)",
            "Longer",
            id="reports.longer",
            tooltip="A longer period (7, 30, 90, 365 days)",
        ),
        Binding(
            "left_square_bracket",
            "period(-1)",
            "Shorter",
            id="reports.shorter",
            tooltip="A shorter period",
        ),
        Binding(
            "g",
            "group",
            "Group",
            id="reports.group",
            tooltip="Table by agent, by tag or by day",
        ),
        Binding("r", "recompute", "Refresh", id="reports.refresh", tooltip="Compute again"),
        Binding("q,escape", "app.pop_screen", "Back", id="reports.back", tooltip="Back"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.period = DEFAULT_PERIOD
        self.group = GROUPS[0]
        self.data: dict[str, Any] | None = None
        self.seconds: float | None = None  # how long the last computation took
        self._generation = 0
        self.shown = 0  # the request whose result is on screen (== _generation: up to date)

    def compose(self) -> ComposeResult:
        yield Static(id="reports-title")
        with VerticalScroll(id="reports-body"):
            yield Static(Text("computing…", style="dim"), id="reports-summary")
            with Container(id="reports-charts"):
                yield Chart("Backlog (open at end of day)", id="chart-backlog")
                yield Chart("First response, median hours per day", id="chart-response")
                yield Chart("Customer messages by hour", id="chart-hour")
                yield Chart("Customer messages by weekday", id="chart-weekday")
                yield Chart("SLA attainment", id="chart-sla")
                yield Chart("New conversations per day", id="chart-new")
            yield Static(id="reports-table")
        yield Static(id="status")
        yield KeyFooter()

    def on_mount(self) -> None:
        self._apply_width(self.size.width)
        self.query_one("#reports-body").focus()
        self._show_title(computing=True)
        # After the first frame: the worker competes with the UI thread for the interpreter.
        self.call_after_refresh(self.recompute)
        self.app.update_status()  # type: ignore[attr-defined]

    def on_resize(self) -> None:
        self._apply_width(self.size.width)

    def _apply_width(self, width: int) -> None:
        self.set_class(width < WIDE, "-narrow")

    def show_status(self, text: str) -> None:
        self.query_one("#status", Static).update(Text(text, no_wrap=True, overflow="ellipsis"))

    # -- actions -------------------------------------------------------------------------

    def action_period(self, step: int) -> None:
        wanted = max(0, min(len(PERIODS) - 1, self.period + step))
        if wanted != self.period:
            self.period = wanted
            self.recompute()

    def action_group(self) -> None:
        self.group = GROUPS[(GROUPS.index(self.group) + 1) % len(GROUPS)]
        self.recompute()

    def action_recompute(self) -> None:
        self.recompute()

    # -- computing off the UI thread -----------------------------------------------------

    def window(self) -> tuple[float, float]:
        app: Any = self.app
        until = app.clock if app.clock is not None else time.time()
        return until - PERIODS[self.period][1] * 86400, until

    @property
    def up_to_date(self) -> bool:
        return self._generation > 0 and self.shown == self._generation

    def recompute(self) -> None:
        self._generation += 1
        self._show_title(computing=True)
        since, until = self.window()
        self._compute(self._generation, since, until, self.group)

    @work(thread=True, exclusive=True, group="reports", exit_on_error=False)
    def _compute(self, generation: int, since: float, until: float, group: str) -> None:
        from mailtriage.sla.kpi import report
        from mailtriage.store import Store

        app: Any = self.app
        started = time.perf_counter()
        data = error = None
        try:
            # Its own connection: an SQLite connection belongs to the thread that opened it.
            store = Store(app.account.cache_path, readonly=True)
            try:
                data = report(
                    store.conn, app.config.sla, since, until, now=until, groups=("day", group)
                )
            finally:
                store.close()
        except Exception as exc:  # shown on the screen, never a crash
            error = f"{type(exc).__name__}: {exc}"
        self.post_message(ReportReady(generation, data, error, time.perf_counter() - started))

    @on(ReportReady)
    def report_ready(self, message: ReportReady) -> None:
        if message.generation != self._generation:
            return  # an older request finished after a newer one started
        self.seconds = message.seconds
        self.shown = message.generation
        if message.error is not None:
            self.query_one("#reports-summary", Static).update(
                Text(f"report failed: {message.error}", style="bold red")
            )
            self._show_title(computing=False)
            return
        self.data = message.data
        self._show_title(computing=False)
        self._fill()

    # -- drawing -------------------------------------------------------------------------

    def _show_title(self, *, computing: bool) -> None:
        app: Any = self.app
        since, until = self.window()
        zone = app.config.sla.calendar.zone
        first = datetime.fromtimestamp(since, zone).strftime("%Y-%m-%d")
        end = datetime.fromtimestamp(until, zone).strftime("%Y-%m-%d")
        text = Text(no_wrap=True, overflow="ellipsis")
        text.append(" Reports ", style="bold")
        text.append(f"· {app.account.name} · last {PERIODS[self.period][0]} ({first} – {end})")
        text.append(f" · table by {self.group}")
        if computing:
            text.append(" · computing…", style="dim")
        self.query_one("#reports-title", Static).update(text)

    def _fill(self) -> None:
        data = self.data
        assert data is not None
        self.query_one("#reports-summary", Static).update(summary_text(data))
        days = data["groups"]["day"]
        first, end = (days[0]["date"][5:], days[-1]["date"][5:]) if days else ("", "")
        backlog = [float(b["open"]) for b in data["backlog"]]
        response = [
            None if d["first_response_median"] is None else d["first_response_median"] / 3600
            for d in days
        ]
        new = [float(d["new"]) for d in days]
        by_hour = [float(n) for n in data["volume"]["by_hour"]]
        by_weekday = [float(n) for n in data["volume"]["by_weekday"]]

        def series(values: list[float | None], combine: charts.Aggregate, style: str) -> Any:
            return lambda width: charts.columns(
                values,
                height=CHART_ROWS,
                width=width,
                combine=combine,
                style=style,
                first=first,
                end=end,
            )

        self.query_one("#chart-backlog", Chart).show(series(list(backlog), charts.last, "cyan"))
        self.query_one("#chart-response", Chart).show(series(response, charts.mean, "magenta"))
        self.query_one("#chart-new", Chart).show(series(list(new), sum, "blue"))
        self.query_one("#chart-hour", Chart).show(
            lambda width: charts.columns(
                list(by_hour), height=CHART_ROWS, width=width, style="green", first="0", end="23h"
            )
        )
        self.query_one("#chart-weekday", Chart).show(lambda width: weekday_chart(by_weekday, width))
        self.query_one("#chart-sla", Chart).show(lambda width: sla_bars(data, width))
        self.query_one("#reports-table", Static).update(group_table(data["groups"][self.group]))


def summary_text(data: dict[str, Any]) -> Text:
    s = data["summary"]
    fr, frb = s["first_response"], s["first_response_business"]
    res, resb = s["resolution"], s["resolution_business"]
    text = Text()
    text.append(f"Conversations {s['conversations']}", style="bold")
    text.append(f" · resolved {s['resolved']} · customer messages {data['volume']['messages']}\n")
    text.append("First response ", style="bold")
    text.append(
        f"median {hours_text(fr['median'])} (business {hours_text(frb['median'])})"
        f" · mean {hours_text(fr['mean'])}\n"
    )
    text.append("Resolution     ", style="bold")
    text.append(
        f"median {hours_text(res['median'])} (business {hours_text(resb['median'])})"
        f" · mean {hours_text(res['mean'])}\n"
    )
    text.append(
        f"First-contact resolution {percent_text(s['first_contact_resolution_rate'])}"
        f" · reopened {percent_text(s['reopen_rate'])}"
    )
    csat = data.get("csat")
    if csat and csat.get("count"):
        text.append(f" · CSAT {csat['mean']:.1f}/5 ({csat['count']} ratings)")
    return text


def weekday_chart(counts: list[float], width: int) -> Text:
    top = max(counts, default=0) or 1
    label = 3
    text = Text(no_wrap=True, overflow="crop")
    size = max(1, width - label - 7)
    for day, count in zip(WEEKDAYS, counts, strict=False):
        text.append(f"{day} ", style="bold")
        full = round(count / top * size)
        text.append("█" * full, style="green")
        text.append(f" {count:.0f}\n")
    text.rstrip()
    return text


def sla_bars(data: dict[str, Any], width: int) -> Text:
    s = data["summary"]
    text = Text(no_wrap=True, overflow="crop")
    rows = [
        ("First response", s["sla_first_response"]),
        ("Resolution", s["sla_resolution"]),
        ("First contact", s["first_contact_resolution_rate"]),
    ]
    for i, (name, rate) in enumerate(rows):
        text.append_text(charts.bar(name, rate, width=width, label_width=14))
        if i < len(rows) - 1:
            text.append("\n")
    return text


# Short headers, so the widest table (by tag) fits 80 columns; `report --csv` has the long ones.
HEADERS = {
    "conversations": "conv",
    "resolved": "done",
    "first_response_mean": "FR mean",
    "first_response_median": "FR med",
    "first_responses": "FRs",
    "resolution_median": "res med",
    "first_contact_resolution_rate": "FCR",
    "reopen_rate": "reopen",
    "sla_first_response": "SLA FR",
    "sla_resolution": "SLA res",
    "messages": "msgs",
}


def group_table(rows: list[dict[str, Any]]) -> Table | Text:
    if not rows:
        return Text("Nothing in this period.", style="dim")
    table = Table(box=None, expand=False, pad_edge=False, header_style="bold")
    names = list(rows[0])
    for i, name in enumerate(names):
        table.add_column(
            HEADERS.get(name, name),
            no_wrap=True,
            justify="left" if i == 0 else "right",
            max_width=16 if i == 0 else None,
            overflow="ellipsis",
        )
    for row in rows:
        table.add_row(*(Text(cell_text(n, row[n])) for n in names))
    return table
