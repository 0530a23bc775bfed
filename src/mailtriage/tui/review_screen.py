"""Supervisor review (`v`): drafts awaiting review, the diff against the template they came
from, approve (it then goes through the outbox, exactly once) or return with a note."""

from __future__ import annotations

from typing import Any, ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.screen import Screen
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from mailtriage.mime import sanitize_for_terminal
from mailtriage.tui.footer import KeyFooter
from mailtriage.tui.rows import one_line


def render_diff(diff: str, body: str) -> Text:
    """The unified diff coloured by line; the whole draft when it matches its template."""
    text = Text()
    if not diff:
        text.append("Unchanged from the template (or written freely):\n\n", style="dim")
        text.append(sanitize_for_terminal(body))
        return text
    for line in sanitize_for_terminal(diff).splitlines():
        style = "green" if line.startswith("+") else "red" if line.startswith("-") else ""
        text.append(line + "\n", style=style)
    return text


class ReviewScreen(Screen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(
            "a",
            "approve",
            "Approve",
            id="review.approve",
            tooltip="Approve: the reply is queued and sent after the undo window",
        ),
        Binding(
            "t",
            "return_draft",
            "Return",
            id="review.return",
            tooltip="Return to the author with a note",
        ),
        Binding("q,escape", "app.pop_screen", "Back", id="review.back", tooltip="Back"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.items: list[Any] = []

    def compose(self) -> ComposeResult:
        yield Static("Awaiting review", id="reader-title")
        with Horizontal(id="reader-body"):
            yield OptionList(id="reviews")
            with VerticalScroll(id="review-diff"):
                yield Static(id="diff")
        yield Static(id="status")
        yield KeyFooter()

    def on_mount(self) -> None:
        self.query_one(OptionList).focus()
        self.load()
        self.app.update_status()  # type: ignore[attr-defined]

    def show_status(self, text: str) -> None:
        self.query_one("#status", Static).update(Text(text, no_wrap=True, overflow="ellipsis"))

    @work(exclusive=True, group="reviews", exit_on_error=False, description="loading reviews")
    async def load(self) -> None:
        from mailtriage.compose import review

        app: Any = self.app
        self.items = await review.pending_reviews(app.config, app.account.name)
        options = self.query_one(OptionList)
        options.clear_options()
        for item in self.items:
            label = (
                f"{item.id}  {item.conversation_id}  {one_line(item.author)}  "
                f"{one_line(item.subject)}"
            )
            options.add_option(Option(Text(label), id=item.id))

        title = f"Awaiting review: {len(self.items)}"
        if not review.is_supervisor(app.config):
            title += "  (you can read them; only supervisors approve or return)"
        self.query_one("#reader-title", Static).update(Text(title, style="bold"))
        if self.items:
            options.highlighted = 0
        else:
            self.query_one("#diff", Static).update(Text("Nothing awaits review.", style="dim"))

    @on(OptionList.OptionHighlighted)
    def highlighted(self, event: OptionList.OptionHighlighted) -> None:
        item = self._current()
        if item is not None:
            head = Text(
                f"To: {', '.join(item.to)}\nSubject: {one_line(item.subject)}\n\n", style="bold"
            )
            self.query_one("#diff", Static).update(head + render_diff(item.diff(), item.body))

    def _current(self) -> Any:
        index = self.query_one(OptionList).highlighted
        if index is None or not 0 <= index < len(self.items):
            return None
        return self.items[index]

    def _may_decide(self) -> bool:
        """Supervisors only; said at once, before any server or SMTP traffic."""
        from mailtriage.roles import is_supervisor

        config = self.app.config  # type: ignore[attr-defined]
        if is_supervisor(config):
            return True
        who = ", ".join(config.supervisors) or "nobody yet (set team.supervisors)"
        self.notify(
            f"{config.agent} is not a supervisor: only {who} can approve or return a reply",
            severity="error",
        )
        return False

    def action_approve(self) -> None:
        item = self._current()
        if item is not None and self._may_decide():
            self.decide(item, None)

    def action_return_draft(self) -> None:
        from mailtriage.tui.pickers import TextPrompt

        item = self._current()
        if item is None or not self._may_decide():
            return
        self.app.push_screen(
            TextPrompt(f"Return {item.id} to {item.author}: why?", "敬語を見直してください …"),
            lambda note: note and self.decide(item, note),
        )

    @work(group="reviews", exit_on_error=False, description="deciding a review")
    async def decide(self, item: Any, note: str | None) -> None:
        from mailtriage.compose import review
        from mailtriage.errors import MailtriageError

        app: Any = self.app
        try:
            if note is None:
                outbox = await app.get_outbox()
                decision = await review.approve(app.config, app.account.name, item, outbox=outbox)
                app.deliver_loop()
            else:
                decision = await review.return_to_author(app.config, app.account.name, item, note)
        except MailtriageError as exc:  # ReviewError; InternalTextError from the outbox
            self.notify(str(exc), severity="error", timeout=12, markup=False)
            return
        self.notify(decision.message)
        if decision.warning:
            self.notify(decision.warning, severity="warning")
        self.load()
