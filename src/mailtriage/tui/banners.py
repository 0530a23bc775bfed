"""What the reader shows above the thread: the handover note (申し送り) and the escalation in
force, from the conversation's events, so the colleague who takes over sees them first."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from rich.text import Text

from mailtriage.mime import sanitize_for_terminal
from mailtriage.triage.escalation import escalation_of
from mailtriage.triage.handover import handover_note
from mailtriage.tui.rows import one_line

# Events whose text (a reason, a note) is shown under their line in the thread.
TEXT_EVENTS = ("escalated", "deescalated", "handover", "forwarded")


def _when(ts: float) -> str:
    return datetime.fromtimestamp(ts).strftime("%Y-%m-%d %H:%M")


def team_banner(timeline: list[dict[str, Any]]) -> Text | None:
    parts: list[Text] = []
    handed = handover_note(timeline)
    if handed is not None:
        d = handed.get("details") or {}
        line = Text()
        line.append(" 申し送り ", style="bold reverse")
        line.append(
            f" {one_line(str(d.get('from', '?')))} → {one_line(str(d.get('to', '?')))}"
            f"  {_when(float(handed['time']))}\n",
            style="bold",
        )
        line.append(sanitize_for_terminal(handed.get("text") or "").rstrip())
        parts.append(line)
    escalated = escalation_of(timeline)
    if escalated is not None:
        d = escalated.get("details") or {}
        line = Text()
        line.append(" エスカレーション中 ", style="bold reverse")
        target = one_line(str(d.get("label") or d.get("to") or "?"))
        line.append(
            f" → {target} by {one_line(escalated['agent'])}  {_when(float(escalated['time']))}\n",
            style="bold",
        )
        line.append(sanitize_for_terminal(escalated.get("text") or "").rstrip())
        parts.append(line)
    if not parts:
        return None
    return Text("\n").join(parts)


def event_text(event: dict[str, Any]) -> str:
    """The reason or note an escalation/handover event carries ("" for other kinds)."""
    if event["kind"] not in TEXT_EVENTS:
        return ""
    return sanitize_for_terminal(event.get("text") or "").rstrip()
