"""The screen an agent lives in: views, the conversation list, sync state, keys."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import Input, Static

from mailtriage.tui.conversation_list import ConversationList
from mailtriage.tui.footer import KeyFooter
from mailtriage.tui.rows import header_text
from mailtriage.tui.sidebar import ViewBar, ViewSidebar
from mailtriage.tui.triage_keys import TRIAGE_BINDINGS
from mailtriage.tui.views import VIEWS

NARROW = 100  # below this many columns the sidebar folds into one header line


def _view_bindings() -> list[BindingType]:
    return [
        Binding(
            view.key,
            f"app.show_view('{view.id}')",
            view.label,
            show=False,
            id=f"view.{view.id}",
            tooltip=f"Show {view.label} ({view.japanese})",
        )
        for view in VIEWS
    ]


class MainScreen(Screen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        *_view_bindings(),
        *TRIAGE_BINDINGS,
        Binding(
            "v",
            "app.reviews",
            "Reviews",
            show=False,
            id="review.open",
            tooltip="Replies awaiting supervisor review (approve or return)",
        ),
        Binding(
            "D",
            "app.reports",
            "Reports",
            show=False,
            id="reports.open",
            tooltip="Reports (dashboard): KPIs, backlog, response times, SLA, charts",
        ),
        Binding(
            "right_square_bracket",
            "app.next_view(1)",
            "Next view",
            show=False,
            id="view.next",
            tooltip="Next view",
        ),
        Binding(
            "left_square_bracket",
            "app.next_view(-1)",
            "Prev view",
            show=False,
            id="view.prev",
            tooltip="Previous view",
        ),
        Binding(
            "slash",
            "search",
            "Search",
            id="list.search",
            tooltip="Full-text search (Japanese works without spaces)",
        ),
        Binding(
            "escape",
            "clear_search",
            "Clear",
            show=False,
            id="list.clear-search",
            tooltip="Leave the search results",
        ),
        Binding(
            "S",
            "app.toggle_sort",
            "Sort",
            show=False,
            id="list.sort",
            tooltip="Oldest waiting first / newest activity first",
        ),
        Binding(
            "O",
            "app.handover",
            "Hand over",
            show=False,
            id="team.handover",
            tooltip="Going away: hand all your open conversations to a colleague (申し送り)",
        ),
        Binding("q", "app.quit", "Quit", id="app.quit", tooltip="Quit mailtriage"),
    ]

    def compose(self) -> ComposeResult:
        yield ViewBar(id="viewbar")
        with Horizontal(id="body"):
            yield ViewSidebar(id="sidebar")
            with Vertical(id="main"):
                yield Static(id="list-header")
                yield ConversationList(self.app.load_rows, id="conversations")  # type: ignore[attr-defined]
                yield Input(placeholder="search: 請求書, refund, taro@example.jp …", id="search")
        yield Static(id="status")
        yield KeyFooter()

    def on_mount(self) -> None:
        self.query_one(ViewSidebar).saved = dict(self.app.config.ui.saved_searches)  # type: ignore[attr-defined]
        self.query_one("#search", Input).display = False
        self.query_one(ConversationList).focus()
        self._apply_width(self.size.width)

    def on_resize(self) -> None:
        self._apply_width(self.size.width)

    def _apply_width(self, width: int) -> None:
        narrow = width < NARROW
        self.set_class(narrow, "-narrow")
        self.query_one("#sidebar").display = not narrow
        self.query_one("#viewbar").display = narrow
        self.call_after_refresh(self.refresh_header)

    def refresh_header(self) -> None:
        listings, headers = self.query(ConversationList), self.query("#list-header")
        if listings and headers:  # else the app is closing and they are being removed
            headers.first(Static).update(header_text(listings.first().columns))

    def show_views(self, current: str, counts: dict[str, int], search: str | None) -> None:
        # A list load or an SLA count may land while the app closes and these go one by one.
        for bar in (*self.query(ViewSidebar), *self.query(ViewBar)):
            bar.show(current, counts, search)

    def show_status(self, text: str) -> None:
        self.query_one("#status", Static).update(Text(text, no_wrap=True, overflow="ellipsis"))

    def action_search(self) -> None:
        box = self.query_one("#search", Input)
        box.display = True
        box.focus()

    @on(Input.Submitted, "#search")
    def run_search(self, event: Input.Submitted) -> None:
        box = self.query_one("#search", Input)
        box.display = False
        self.query_one(ConversationList).focus()
        query = event.value.strip()
        self.app.search(query or None)  # type: ignore[attr-defined]

    def action_clear_search(self) -> None:
        box = self.query_one("#search", Input)
        if box.display:
            box.display = False
            self.query_one(ConversationList).focus()
            return
        self.app.search(None)  # type: ignore[attr-defined]

    @on(ViewSidebar.Chosen)
    def chosen(self, event: ViewSidebar.Chosen) -> None:
        self.app.show_view(event.view)  # type: ignore[attr-defined]

    @on(ViewSidebar.SearchChosen)
    def search_chosen(self, event: ViewSidebar.SearchChosen) -> None:
        self.app.search(event.query)  # type: ignore[attr-defined]

    @on(ConversationList.Opened)
    def opened(self, event: ConversationList.Opened) -> None:
        self.app.open_conversation(event.key)  # type: ignore[attr-defined]
