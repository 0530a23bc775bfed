"""Small modal choosers: assign to…, status…, priority…, tags…. Each dismisses with the
choice (or None on Esc), so the caller decides what to do with it."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual import events, on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, OptionList, Static
from textual.widgets.option_list import Option


def fuzzy_match(query: str, text: str) -> bool:
    """Every character of the query, in order, somewhere in the text (case-insensitive)."""
    position = 0
    lowered = text.casefold()
    for ch in query.casefold():
        if ch.isspace():
            continue
        position = lowered.find(ch, position)
        if position < 0:
            return False
        position += 1
    return True


class Picker(ModalScreen[str | None]):
    """Pick one of `choices` ((value, label) pairs) with j/k/Enter; a filterable picker has a
    search line on top (type to narrow, ↑/↓ to move, Enter to choose)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q", "cancel", "Cancel", id="picker.cancel", tooltip="Choose nothing"),
        Binding("j", "down", "Down", show=False, id="picker.down", tooltip="Next choice"),
        Binding("k", "up", "Up", show=False, id="picker.up", tooltip="Previous choice"),
    ]

    def __init__(
        self,
        title: str,
        choices: list[tuple[str, str]],
        current: str | None = None,
        *,
        filterable: bool = False,
    ):
        super().__init__()
        self.title_text = title
        self.choices = choices
        self.current = current
        self.shown = list(choices)
        # Held, not queried: keys typed while the app quits can reach us after unmount.
        self.options = OptionList(
            *(Option(Text(label), id=value) for value, label in choices), id="choices"
        )
        self.filter = (
            Input(placeholder="type to filter", id="picker-filter") if filterable else None
        )

    def compose(self) -> ComposeResult:
        with Vertical(classes="picker"):
            yield Static(Text(self.title_text), classes="picker-title")
            if self.filter is not None:
                yield self.filter
            yield self.options

    def on_mount(self) -> None:
        values = [value for value, _ in self.choices]
        if self.current in values:
            self.options.highlighted = values.index(self.current)
        (self.filter or self.options).focus()

    @on(Input.Changed, "#picker-filter")
    def narrow(self, event: Input.Changed) -> None:
        self.shown = [(v, label) for v, label in self.choices if fuzzy_match(event.value, label)]
        self.options.clear_options()
        self.options.add_options(Option(Text(label), id=value) for value, label in self.shown)

        if self.shown:
            self.options.highlighted = 0

    @on(Input.Submitted, "#picker-filter")
    def submit_filter(self) -> None:
        index = self.options.highlighted
        if index is not None and 0 <= index < len(self.shown):
            self.dismiss(self.shown[index][0])

    def on_key(self, event: events.Key) -> None:
        # Up/down move the list while the filter line has focus.
        if self.filter is not None and self.filter.has_focus and event.key in ("up", "down"):
            move = (
                self.options.action_cursor_up
                if event.key == "up"
                else (self.options.action_cursor_down)
            )
            move()
            event.stop()

    @on(OptionList.OptionSelected)
    def chosen(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)

    def action_cancel(self) -> None:
        self.dismiss(None)

    def action_down(self) -> None:
        self.options.action_cursor_down()

    def action_up(self) -> None:
        self.options.action_cursor_up()


class TextPrompt(ModalScreen[str | None]):
    """One line of text; Enter returns it, Esc returns None."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="prompt.cancel", tooltip="Change nothing"),
    ]

    def __init__(self, title: str, placeholder: str = "", value: str = ""):
        super().__init__()
        self.title_text, self.placeholder, self.value = title, placeholder, value

    def compose(self) -> ComposeResult:
        with Vertical(classes="picker"):
            yield Static(Text(self.title_text), classes="picker-title")
            yield Input(value=self.value, placeholder=self.placeholder, id="prompt")

    def on_mount(self) -> None:
        box = next(iter(self.query(Input)), None)
        if box is not None:
            box.focus()

    @on(Input.Submitted)
    def submitted(self, event: Input.Submitted) -> None:
        self.dismiss(event.value.strip() or None)

    def action_cancel(self) -> None:
        self.dismiss(None)


def tag_prompt(current: list[str]) -> TextPrompt:
    """`+billing -later`: tags to add and remove, space separated."""
    shown = " ".join(f"#{t}" for t in current) or "none"
    return TextPrompt(f"Tags now: {shown}", "+billing -later  (later, no-reply are tags too)")


def parse_tag_changes(text: str) -> tuple[list[str], list[str]]:
    """'+a -b c' → (['a', 'c'], ['b']): a bare word adds."""
    add: list[str] = []
    remove: list[str] = []
    for word in text.split():
        if word.startswith("-"):
            remove.append(word[1:])
        else:
            add.append(word.removeprefix("+"))
    return [t for t in add if t], [t for t in remove if t]
