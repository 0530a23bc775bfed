"""The virtual conversation list: Line API over SQLite pages (STYLE.md, toolong's pattern).

Holds every key of the view (cheap) and renders only the visible rows, loading rows a page at
a time through `loader`. 100k conversations cost one key list, not 100k widgets.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from rich.segment import Segment
from textual.binding import Binding, BindingType
from textual.geometry import Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

from mailtriage.store.listing import PAGE_SIZE
from mailtriage.tui.rows import Column, layout, render_row

Loader = Callable[[Sequence[str]], dict[str, dict[str, Any]]]
MAX_PAGES = 16


class ConversationList(ScrollView, can_focus=True):
    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "conversation-list--cursor",
        "conversation-list--unread",
        "conversation-list--urgent",
        "conversation-list--done",
        "conversation-list--selected",
        "conversation-list--dim",
        "conversation-list--due-soon",
    }
    DEFAULT_CSS = """
    ConversationList {
        height: 1fr;
        scrollbar-size-vertical: 1;
        overflow-x: hidden;
    }
    ConversationList > .conversation-list--cursor { background: $primary 40%; }
    ConversationList:focus > .conversation-list--cursor { background: $primary 70%; }
    ConversationList > .conversation-list--unread { text-style: bold; }
    ConversationList > .conversation-list--urgent { color: $error; }
    ConversationList > .conversation-list--done { color: $text-muted; }
    ConversationList > .conversation-list--selected { background: $accent 30%; }
    ConversationList > .conversation-list--dim { color: $text-muted; }
    ConversationList > .conversation-list--due-soon { color: $warning; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(
            "j,down",
            "cursor_down",
            "Down",
            show=False,
            id="list.down",
            tooltip="Move to the next conversation",
        ),
        Binding(
            "k,up",
            "cursor_up",
            "Up",
            show=False,
            id="list.up",
            tooltip="Move to the previous conversation",
        ),
        Binding(
            "g,home",
            "cursor_top",
            "Top",
            show=False,
            id="list.top",
            tooltip="Jump to the first conversation",
        ),
        Binding(
            "G,end",
            "cursor_bottom",
            "Bottom",
            show=False,
            id="list.bottom",
            tooltip="Jump to the last conversation",
        ),
        Binding(
            "pagedown,ctrl+f",
            "page_down",
            "Page down",
            show=False,
            id="list.page-down",
            tooltip="One screen down",
        ),
        Binding(
            "pageup,ctrl+b",
            "page_up",
            "Page up",
            show=False,
            id="list.page-up",
            tooltip="One screen up",
        ),
        Binding("enter", "open", "Open", id="list.open", tooltip="Read the conversation"),
        Binding(
            "x",
            "toggle_select",
            "Select",
            show=False,
            id="list.select",
            tooltip="Select for a bulk action (assign/status on many at once)",
        ),
    ]

    # repaint=False: a cursor move repaints two lines (watch_cursor), not the whole list.
    cursor: reactive[int] = reactive(0, always_update=True, repaint=False)

    @dataclass
    class Highlighted(Message):
        key: str | None

    @dataclass
    class Opened(Message):
        key: str

    def __init__(self, loader: Loader, *, name: str | None = None, id: str | None = None):
        super().__init__(name=name, id=id)
        self._loader = loader
        self.keys: list[str] = []
        self.selected: set[str] = set()
        self._pages: OrderedDict[int, dict[str, dict[str, Any]]] = OrderedDict()
        self._columns: list[Column] = layout(80)
        self._layout_width = 80
        self.now: float | None = None  # fixed clock for snapshots; None means time.time()

    # -- data --------------------------------------------------------------------------------

    def set_keys(self, keys: list[str], *, keep: str | None = None, steady: bool = False) -> None:
        """Replace the list's contents, keeping the cursor on `keep` (default: the current
        conversation) when it is still there.

        steady: the same view refreshed; when rows came or went above the cursor, scroll by as
        many so its conversation stays on the same screen line instead of the rows jumping
        under the reader's eye (new mail arriving above, others' claims removing rows).
        """
        current = keep if keep is not None else self.current_key
        before = self.cursor
        self.keys = keys
        self._pages.clear()
        if self.selected:  # a set of 100k keys costs ~5 ms: only when something is selected
            self.selected &= set(keys)
        index = self._index_of(current)
        self.virtual_size = Size(self.size.width, len(keys))
        if steady and index is not None and index != before:
            self.scroll_to(y=self.scroll_offset.y + index - before, animate=False, immediate=True)
        self.cursor = index if index is not None else min(self.cursor, max(0, len(keys) - 1))
        self.refresh()

    def _index_of(self, key: str | None) -> int | None:
        if key is None:
            return None
        try:
            return self.keys.index(key)
        except ValueError:
            return None

    def invalidate(self) -> None:
        """Rows changed (not the order): drop cached pages and repaint."""
        self._pages.clear()
        self.refresh()

    @property
    def current_key(self) -> str | None:
        if 0 <= self.cursor < len(self.keys):
            return self.keys[self.cursor]
        return None

    def row(self, index: int) -> dict[str, Any] | None:
        if not 0 <= index < len(self.keys):
            return None
        page = index // PAGE_SIZE
        rows = self._pages.get(page)
        if rows is None:
            rows = self._loader(self.keys[page * PAGE_SIZE : (page + 1) * PAGE_SIZE])
            self._pages[page] = rows
            if len(self._pages) > MAX_PAGES:
                self._pages.popitem(last=False)
        else:
            self._pages.move_to_end(page)
        return rows.get(self.keys[index])

    # -- rendering ---------------------------------------------------------------------------

    def on_resize(self) -> None:
        self.virtual_size = Size(self.scrollable_content_region.width, len(self.keys))

    @property
    def columns(self) -> list[Column]:
        # The scrollbar appears after the first resize, so lay out for the width we paint.
        width = self.scrollable_content_region.width
        if width != self._layout_width:
            self._columns, self._layout_width = layout(width), width
            # Lines already painted used the old layout; the scrollbar does not resize us.
            self.refresh()
        return self._columns

    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        index = scroll_y + y
        width = self.scrollable_content_region.width
        base = self.rich_style
        row = self.row(index)
        if row is None:
            return Strip.blank(width, base)
        key = self.keys[index]
        style = base
        if row["unread"]:
            style += self.get_component_rich_style("conversation-list--unread")
        if row["status"] == "done":
            style += self.get_component_rich_style("conversation-list--done")
        if key in self.selected:
            style += self.get_component_rich_style("conversation-list--selected")
        if index == self.cursor:
            style += self.get_component_rich_style("conversation-list--cursor")
        urgent = self.get_component_rich_style("conversation-list--urgent")
        dim = self.get_component_rich_style("conversation-list--dim")
        due_soon = self.get_component_rich_style("conversation-list--due-soon")
        segments = []
        for text, column in render_row(
            row, self._columns, selected=key in self.selected, now=self.now
        ):
            piece_style = style
            sla_state = getattr(row.get("sla"), "state", None)
            if (column == "prio" and row["priority"] == "urgent") or (
                column == "sla" and sla_state == "overdue"
            ):
                piece_style = style + urgent
            elif column == "sla" and sla_state == "due-soon":
                piece_style = style + due_soon
            elif column in ("id", "age", "count", "flags") and index != self.cursor:
                piece_style = style + dim
            segments.append(Segment(text, piece_style))
        strip = Strip(segments)
        return strip.crop(scroll_x, scroll_x + width).extend_cell_length(width, style)

    # -- cursor ------------------------------------------------------------------------------

    def watch_cursor(self, old: int, new: int) -> None:
        if self.keys:
            clamped = max(0, min(new, len(self.keys) - 1))
            if clamped != new:
                self.cursor = clamped
                return
        self.refresh_line(old - int(self.scroll_offset.y))
        self.refresh_line(new - int(self.scroll_offset.y))
        self._scroll_cursor_into_view()
        self.post_message(self.Highlighted(self.current_key))

    def _scroll_cursor_into_view(self) -> None:
        top = int(self.scroll_offset.y)
        height = self.scrollable_content_region.height
        if height <= 0:
            return
        if self.cursor < top:
            self.scroll_to(y=self.cursor, animate=False, immediate=True)
        elif self.cursor >= top + height:
            self.scroll_to(y=self.cursor - height + 1, animate=False, immediate=True)

    def action_cursor_down(self) -> None:
        if self.cursor < len(self.keys) - 1:
            self.cursor += 1

    def action_cursor_up(self) -> None:
        if self.cursor > 0:
            self.cursor -= 1

    def action_cursor_top(self) -> None:
        self.cursor = 0

    def action_cursor_bottom(self) -> None:
        self.cursor = max(0, len(self.keys) - 1)

    def action_page_down(self) -> None:
        page = max(1, self.scrollable_content_region.height - 1)
        self.cursor = min(len(self.keys) - 1, self.cursor + page) if self.keys else 0

    def action_page_up(self) -> None:
        page = max(1, self.scrollable_content_region.height - 1)
        self.cursor = max(0, self.cursor - page)

    def action_open(self) -> None:
        if self.current_key:
            self.post_message(self.Opened(self.current_key))

    def action_toggle_select(self) -> None:
        key = self.current_key
        if key is None:
            return
        self.selected.symmetric_difference_update({key})
        self.refresh_line(self.cursor - int(self.scroll_offset.y))
        self.action_cursor_down()

    def on_click(self, event: Any) -> None:
        index = int(self.scroll_offset.y) + event.y
        if 0 <= index < len(self.keys):
            if index == self.cursor and getattr(event, "chain", 1) >= 2:
                self.action_open()
            self.cursor = index
