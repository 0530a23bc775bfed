"""`?`: every key that works where you are, generated from the live bindings (so a remapped key
shows as remapped), with its binding id for `[ui.keymap]` in the config."""

from __future__ import annotations

from typing import ClassVar

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import Static


def binding_rows(screen: Screen[object]) -> list[tuple[str, str, str]]:
    """(keys, what it does, binding id) for every binding active on `screen`."""
    seen: dict[str, list[str]] = {}
    details: dict[str, tuple[str, str]] = {}
    for key, active in screen.active_bindings.items():
        binding = active.binding
        ident = binding.id or binding.action
        seen.setdefault(ident, []).append(screen.app.get_key_display(binding) or key)
        details[ident] = (binding.tooltip or binding.description, binding.id or "")
    return [(", ".join(dict.fromkeys(keys)), *details[ident]) for ident, keys in seen.items()]


def bindings_table(rows: list[tuple[str, str, str]]) -> Table:
    table = Table(box=None, expand=True, pad_edge=False, header_style="bold")
    table.add_column("Key", no_wrap=True)
    table.add_column("Does")
    table.add_column("Binding id (config: [ui.keymap])", no_wrap=True, style="dim")
    for keys, does, binding_id in rows:
        table.add_row(Text(keys), Text(does), Text(binding_id))
    return table


class HelpScreen(ModalScreen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(
            "escape,q,question_mark",
            "app.pop_screen",
            "Close",
            id="help.close",
            tooltip="Close help",
        ),
    ]

    def __init__(self, for_screen: Screen[object]):
        super().__init__()
        self.rows = binding_rows(for_screen)

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help"):
            yield Static(Text("Keys here  (Esc closes)", style="bold"))
            yield Static(bindings_table(self.rows))
