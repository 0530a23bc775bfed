"""Views with live counts: a sidebar when wide, one header line when narrow (80x24)."""

from __future__ import annotations

from dataclasses import dataclass

from rich.cells import cell_len
from rich.text import Text
from textual.events import Click
from textual.message import Message
from textual.widget import Widget
from textual.widgets import Static

from mailtriage.tui.views import VIEWS


class ViewSidebar(Static):
    """A static list: views change by key (1–8, [ and ]) or click, focus stays on the list."""

    @dataclass
    class Chosen(Message):
        view: str

    @dataclass
    class SearchChosen(Message):
        query: str

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.counts: dict[str, int] = {}
        self.current = "unhandled"
        self.search: str | None = None
        self.saved: dict[str, str] = {}

    def show(self, current: str, counts: dict[str, int], search: str | None = None) -> None:
        self.current, self.counts, self.search = current, counts, search
        self.update(self._render_views())

    def _render_views(self) -> Text:
        text = Text(no_wrap=True, overflow="ellipsis")
        width = max(10, self.size.width - 2) if self.size.width else 22
        for view in VIEWS:
            known = self.counts.get(view.id)
            count = "-" if known is None else str(known)  # not counted yet
            label = f"{view.key} {view.japanese} {view.label}"
            if cell_len(label) + len(count) + 1 > width:
                label = f"{view.key} {view.japanese}"
            pad = max(1, width - cell_len(label) - len(count))
            style = "bold reverse" if view.id == self.current and not self.search else ""
            text.append(f"{label}{' ' * pad}{count}\n", style=style)
        if self.saved:
            text.append("\nSaved searches\n", style="bold")
            for name, query in self.saved.items():
                style = "bold reverse" if self.search == query else ""
                text.append(f"/ {name}\n", style=style)
        if self.search and self.search not in self.saved.values():
            text.append(f"\n/ {self.search}\n", style="bold reverse")
        return text

    def on_resize(self) -> None:
        self.update(self._render_views())

    def on_click(self, event: Click) -> None:
        if 0 <= event.y < len(VIEWS):
            self.post_message(self.Chosen(VIEWS[event.y].id))
            return
        saved = event.y - len(VIEWS) - 2  # a blank line and the "Saved searches" title
        if 0 <= saved < len(self.saved):
            self.post_message(self.SearchChosen(list(self.saved.values())[saved]))


class ViewBar(Widget):
    """The narrow form: `[1]未対応 25  2 対応中 18 …` on one line."""

    DEFAULT_CSS = "ViewBar { height: 1; }"

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.counts: dict[str, int] = {}
        self.current = "unhandled"
        self.search: str | None = None

    def show(self, current: str, counts: dict[str, int], search: str | None = None) -> None:
        self.current, self.counts, self.search = current, counts, search
        self.refresh()

    def render(self) -> Text:
        text = Text(no_wrap=True, overflow="ellipsis")
        if self.search:
            text.append(f" / {self.search} ", style="bold reverse")
            text.append("  Esc clears")
            return text
        parts = []
        for view in VIEWS:
            known = self.counts.get(view.id)
            count = "-" if known is None else known
            parts.append((f"{view.key}{view.short}{count} ", view.id == self.current))
        # Too many views for the width (80 columns): start late enough that the current one
        # shows, behind a "…", instead of cutting it off at the end.
        width = self.size.width
        current = next((i for i, (_, on) in enumerate(parts) if on), 0)

        def fits(first: int) -> bool:
            shown = parts[first : current + 1]
            return (1 if first else 0) + sum(cell_len(p) for p, _ in shown) <= width

        first = 0
        while width > 0 and first < current and not fits(first):
            first += 1
        if first:
            text.append("…")
        for part, on in parts[first:]:
            text.append(part[:-1], style="bold reverse" if on else "")
            text.append(" ")
        return text
