"""The KB picker (`K` in the reader, ctrl+k in compose): search pre-filled from the
conversation, suggestions ranked by its text, a Markdown preview, and Enter / ctrl+l to put an
excerpt / the public link into the reply.

The picker refuses an internal-only article itself (so the agent sees why at once), but it
is not the guard: ComposeScreen.insert_kb asks kb.insert.reply_text again, which refuses
whatever screen or key asked.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any, ClassVar

from rich.text import Text
from textual import events, on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Input, Markdown, OptionList, Static
from textual.widgets.option_list import Option

from mailtriage.kb.base import Hit, KnowledgeBase
from mailtriage.mime.sanitize import sanitize_for_terminal
from mailtriage.tui.rows import one_line


@dataclass(frozen=True)
class KbChoice:
    ident: str
    how: str  # "excerpt" or "link"


def hit_label(hit: Hit, today: date) -> Text:
    article = hit.article
    label = Text(no_wrap=True, overflow="ellipsis")
    if article.internal:
        label.append("[internal] ", style="bold magenta")
    if article.stale(today):
        label.append("[stale] ", style="bold yellow")
    label.append(one_line(article.title))
    label.append(f"  {article.ident}", style="dim")
    return label


class KbScreen(ModalScreen[KbChoice | None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Close", id="kb.close", tooltip="Close the KB, insert nothing"),
        Binding(
            "enter",
            "choose('excerpt')",
            "Insert excerpt",
            id="kb.insert-excerpt",
            tooltip="Insert the article's excerpt into the reply (customer-facing articles only)",
        ),
        Binding(
            "ctrl+l",
            "choose('link')",
            "Insert link",
            id="kb.insert-link",
            tooltip="Insert the article's title and public URL into the reply",
        ),
        Binding(
            "pagedown",
            "preview_page(1)",
            "Preview down",
            show=False,
            id="kb.preview-down",
            tooltip="Scroll the preview down",
        ),
        Binding(
            "pageup",
            "preview_page(-1)",
            "Preview up",
            show=False,
            id="kb.preview-up",
            tooltip="Scroll the preview up",
        ),
    ]

    def __init__(
        self,
        kb: KnowledgeBase,
        *,
        conversation: dict[str, Any] | None = None,
        today: date | None = None,
        purpose: str = "reply",
    ):
        super().__init__()
        self.kb = kb
        self.conversation = conversation
        self.today = today or date.today()
        self.purpose = purpose  # "reply": compose is open; "reader": a reply opens after
        self.prefilled = kb.prefill(conversation) if conversation else ""
        self.hits: list[Hit] = []
        self.heading = ""
        self.options = OptionList(id="kb-results")
        self.query_box = Input(
            value=self.prefilled, placeholder="search the KB (日本語 OK)", id="kb-query"
        )

    def compose(self) -> ComposeResult:
        with Vertical(id="kb-picker"):
            yield Static(id="kb-title")
            yield self.query_box
            with Horizontal(id="kb-body"):
                yield self.options
                with VerticalScroll(id="kb-preview-scroll"):
                    yield Static(id="kb-meta")
                    yield Markdown(id="kb-preview", open_links=False)
            yield Static(
                Text(
                    "Enter insert excerpt · ctrl+l insert link · ↑↓ choose · PgUp/PgDn preview"
                    " · Esc close",
                    style="dim",
                    no_wrap=True,
                    overflow="ellipsis",
                ),
                id="kb-keys",
            )

    def on_mount(self) -> None:
        self.run_search(self.prefilled)
        self.query_box.focus()

    # -- searching --------------------------------------------------------------------------

    @on(Input.Changed, "#kb-query")
    def query_changed(self, event: Input.Changed) -> None:
        self.run_search(event.value)

    def run_search(self, text: str) -> None:
        if self.conversation is not None and text.strip() == self.prefilled.strip():
            # Untouched: the articles ranked by the whole conversation, not just these words.
            self.hits = self.kb.suggest(self.conversation)
            self.heading = "Suggested for this conversation"
            if not self.hits:
                self.hits, _ = self.kb.search("")
                self.heading = "No suggestion: every article"
        else:
            self.hits, every = self.kb.search(text)
            self.heading = (
                "Every article"
                if not text.strip()
                else "Matching every word"
                if every
                else "No article has every word; these have some"
            )
        title = Text(no_wrap=True, overflow="ellipsis")
        title.append("Knowledge base", style="bold")
        title.append(f" · {self.heading} ({len(self.hits)})")
        self.query_one("#kb-title", Static).update(title)
        self.options.clear_options()
        self.options.add_options(
            Option(hit_label(hit, self.today), id=hit.article.ident) for hit in self.hits
        )
        if self.hits:
            self.options.highlighted = 0
        else:
            self.show_preview(None)

    @on(OptionList.OptionHighlighted, "#kb-results")
    def highlighted(self, event: OptionList.OptionHighlighted) -> None:
        self.show_preview(self.current)

    @property
    def current(self) -> Hit | None:
        index = self.options.highlighted
        if index is None or not 0 <= index < len(self.hits):
            return None
        return self.hits[index]

    def show_preview(self, hit: Hit | None) -> None:
        meta = Text()
        preview = self.query_one("#kb-preview", Markdown)
        if hit is None:
            meta.append("Nothing found.", style="dim")
            self.query_one("#kb-meta", Static).update(meta)
            preview.update("")
            return
        a = hit.article
        meta.append(one_line(a.title) + "\n", style="bold")
        if a.internal:
            meta.append("internal-only: never inserted into a reply\n", style="bold magenta")
        else:
            meta.append("customer-facing\n", style="green")
        due = f"review by {a.review_by.isoformat()}"
        meta.append(f"owner {one_line(a.owner or '-')} · reviewed {a.reviewed.isoformat()} · ")
        meta.append(due, style="bold yellow" if a.stale(self.today) else "")
        if a.stale(self.today):
            meta.append(" (stale)", style="bold yellow")
        meta.append("\n")
        if a.url:
            meta.append(one_line(a.url) + "\n", style="underline")
        if a.tags:
            meta.append(" ".join(f"#{one_line(t)}" for t in a.tags) + "\n", style="dim")
        self.query_one("#kb-meta", Static).update(meta)
        preview.update(sanitize_for_terminal(a.body))
        self.query_one("#kb-preview-scroll", VerticalScroll).scroll_home(animate=False)

    # -- keys -------------------------------------------------------------------------------

    def on_key(self, event: events.Key) -> None:
        # ↑/↓ move the list while the search line has focus.
        if event.key in ("up", "down"):
            if event.key == "up":
                self.options.action_cursor_up()
            else:
                self.options.action_cursor_down()
            event.stop()

    @on(Input.Submitted, "#kb-query")
    @on(OptionList.OptionSelected, "#kb-results")
    def enter_pressed(self) -> None:
        self.action_choose("excerpt")

    def action_preview_page(self, direction: int) -> None:
        scroll = self.query_one("#kb-preview-scroll", VerticalScroll)
        if direction > 0:
            scroll.scroll_page_down(animate=False)
        else:
            scroll.scroll_page_up(animate=False)

    def action_choose(self, how: str) -> None:
        from mailtriage.kb.insert import InsertRefused, reply_text

        hit = self.current
        if hit is None:
            self.notify("No article chosen.", severity="warning")
            return
        try:
            reply_text(self.kb, hit.article, how)
        except InsertRefused as exc:
            self.notify(str(exc), severity="error", markup=False)
            return
        self.dismiss(KbChoice(hit.article.ident, how))

    def action_cancel(self) -> None:
        self.dismiss(None)
