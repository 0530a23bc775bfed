"""The triage keys, shared by the list and the reader: one definition, one id per action."""

from __future__ import annotations

from textual.binding import Binding, BindingType

TRIAGE_BINDINGS: list[BindingType] = [
    Binding(
        "c",
        "app.triage('claim')",
        "Claim",
        id="triage.claim",
        tooltip="Assign to me and mark in progress (atomic on the server)",
    ),
    Binding(
        "a", "app.triage('assign')", "Assign", id="triage.assign", tooltip="Assign to a team member"
    ),
    Binding(
        "s",
        "app.triage('status')",
        "Status",
        id="triage.status",
        tooltip="Set the status: unhandled, in progress, done",
    ),
    Binding(
        "p",
        "app.triage('priority')",
        "Priority",
        show=False,
        id="triage.priority",
        tooltip="Urgent or normal",
    ),
    Binding(
        "t",
        "app.triage('tags')",
        "Tags",
        show=False,
        id="triage.tags",
        tooltip="Add or remove tags (+billing -later)",
    ),
    Binding(
        "z",
        "app.triage('later')",
        "Later",
        show=False,
        id="triage.later",
        tooltip="Snooze: toggle 'reply later' (後で返信)",
    ),
    Binding(
        "u",
        "app.triage('unread')",
        "Unread",
        show=False,
        id="triage.unread",
        tooltip="Toggle read/unread for everyone",
    ),
    Binding(
        "r",
        "app.reply('reply')",
        "Reply",
        id="compose.reply",
        tooltip="Reply from a template (suggested by the conversation's text)",
    ),
    Binding(
        "R",
        "app.reply('reply-all')",
        "Reply all",
        show=False,
        id="compose.reply-all",
        tooltip="Reply to everyone on the last customer message",
    ),
    Binding(
        "f",
        "app.reply('forward')",
        "Forward",
        show=False,
        id="compose.forward",
        tooltip="Forward the last customer message",
    ),
    Binding(
        "n",
        "app.note",
        "Note",
        show=False,
        id="triage.note",
        tooltip="Internal note for the team (@name mentions); never sent to the customer",
    ),
    Binding(
        "e",
        "app.escalate",
        "Escalate",
        show=False,
        id="triage.escalate",
        tooltip="Escalate to a supervisor or department (note, forward, holding reply);"
        " de-escalate an escalated one",
    ),
]
