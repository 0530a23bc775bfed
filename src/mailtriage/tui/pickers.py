"""Small modal choosers: assign to…, status…, priority…, tags…. Each dismisses with the
choice (or None on Esc), so the caller decides what to do with it."""

from __future__ import annotations

from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, OptionList, Static
from textual.widgets.option_list import Option


class Picker(ModalScreen[str | None]):
    """Pick one of `choices` ((value, label) pairs) with j/k/Enter, or by its first key."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q", "cancel", "Cancel", id="picker.cancel", tooltip="Choose nothing"),
        Binding("j", "down", "Down", show=False, id="picker.down", tooltip="Next choice"),
        Binding("k", "up", "Up", show=False, id="picker.up", tooltip="Previous choice"),
    ]

    def __init__(self, title: str, choices: list[tuple[str, str]], current: str | None = None):
        super().__init__()
        self.title_text = title
        self.choices = choices
        self.current = current
        # Held, not queried: keys typed while the app quits can reach us after unmount.
        self.options = OptionList(
            *(Option(label, id=value) for value, label in choices), id="choices"
        )

    def compose(self) -> ComposeResult:
        with Vertical(classes="picker"):
            yield Static(self.title_text, classes="picker-title")
            yield self.options

    def on_mount(self) -> None:
        options = self.options
        values = [value for value, _ in self.choices]
        if self.current in values:
            options.highlighted = values.index(self.current)
        options.focus()

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
            yield Static(self.title_text, classes="picker-title")
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
