"""The escalate dialog (`e`): to whom, why, and whether to forward the conversation or send
the customer a holding reply. It only collects the choice; the app does the work
(triage.escalation), so the dialog never touches the network.

On a conversation that is already escalated the first choice is "back to the queue"
(de-escalate), which takes the text as its note.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Checkbox, Input, OptionList, Static
from textual.widgets.option_list import Option

from mailtriage.triage.departments import Target

DEESCALATE = "-"  # the option id of "back to the queue"


@dataclass(frozen=True)
class EscalateRequest:
    target: Target | None  # None: de-escalate
    text: str  # the reason (escalate) or the note (de-escalate)
    forward: bool = False
    hold: bool = False


def target_label(target: Target) -> str:
    if target.kind == "supervisor":
        return f"{target.name}  (supervisor)"
    parts = [f"{target.label}  ({target.name})"]
    if target.address:
        parts.append(f"→ {target.address}")
    if target.members:
        parts.append(" ".join(f"@{m}" for m in target.members))
    return "  ".join(parts)


class EscalateScreen(ModalScreen[EscalateRequest | None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="escalate.cancel", tooltip="Escalate nothing"),
        Binding("ctrl+s", "submit", "Escalate", id="escalate.submit", tooltip="Escalate as chosen"),
    ]

    def __init__(
        self,
        sid: str,
        targets: list[Target],
        *,
        escalated: bool = False,
        can_send: bool = True,
    ):
        super().__init__()
        self.sid = sid
        self.targets = {t.name: t for t in targets}
        self.escalated = escalated
        self.can_send = can_send
        options = [Option(Text(target_label(t)), id=t.name) for t in targets]
        if escalated:
            options.insert(0, Option(Text("↩ back to the queue (de-escalate)"), id=DEESCALATE))
        self.options = OptionList(*options, id="escalate-targets")
        self.reason = Input(placeholder="why (an internal note; @name mentions)", id="reason")
        self.forward = Checkbox("Forward the conversation to the department", id="forward")
        self.hold = Checkbox("Holding reply to the customer (担当部署に確認中です…)", id="hold")
        self.error = Static(id="escalate-error")

    def compose(self) -> ComposeResult:
        with Vertical(classes="picker", id="escalate"):
            yield Static(Text(f"Escalate {self.sid}: to whom?"), classes="picker-title")
            yield self.options
            yield self.reason
            yield self.forward
            yield self.hold
            yield self.error
            yield Static(Text("Enter in the reason or ctrl+s escalates · Esc cancels", style="dim"))

    def on_mount(self) -> None:
        self.options.highlighted = 0 if self.targets or self.escalated else None
        self._follow_target()
        self.options.focus()

    def chosen_target(self) -> str | None:
        index = self.options.highlighted
        if index is None:
            return None
        option = self.options.get_option_at_index(index)
        return option.id

    @on(OptionList.OptionHighlighted)
    def _highlighted(self) -> None:
        self._follow_target()

    @on(OptionList.OptionSelected)
    def _selected(self) -> None:
        self.reason.focus()

    def _follow_target(self) -> None:
        """Forwarding needs the department's address; both need SMTP; de-escalating neither."""
        name = self.chosen_target()
        target = self.targets.get(name or "")
        self.forward.disabled = not (self.can_send and target is not None and target.address)
        self.hold.disabled = not self.can_send or target is None
        if self.forward.disabled:
            self.forward.value = False
        if self.hold.disabled:
            self.hold.value = False
        placeholder = (
            "what came back (an internal note)"
            if name == DEESCALATE
            else "why (an internal note; @name mentions)"
        )
        self.reason.placeholder = placeholder

    @on(Input.Submitted, "#reason")
    def _submitted(self) -> None:
        self.action_submit()

    def action_submit(self) -> None:
        name = self.chosen_target()
        text = " ".join(self.reason.value.split())
        if name is None:
            self._refuse("Choose a supervisor or a department first.")
            return
        if not text:
            self._refuse("Write why: it goes into the internal note.")
            self.reason.focus()
            return
        if name == DEESCALATE:
            self.dismiss(EscalateRequest(None, text))
            return
        self.dismiss(
            EscalateRequest(
                self.targets[name], text, forward=self.forward.value, hold=self.hold.value
            )
        )

    def _refuse(self, why: str) -> None:
        self.error.update(Text(why, style="bold"))

    def action_cancel(self) -> None:
        self.dismiss(None)
