"""Derive a conversation's triage state from the IMAP keywords on its messages.

Keywords are the shared truth (DESIGN.md §2): `mt:status/in-progress`, `mt:assignee/alice`,
`mt:prio/urgent`, `mt:later`, `mt:noreply`, `mt:tag/<name>`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

STATUSES = ("unhandled", "in-progress", "done")
# How a status reads on screen, in the CLI and the app alike.
STATUS_LABELS = {"unhandled": "未対応", "in-progress": "対応中", "done": "対応済"}

KW_STATUS = "mt:status/"
KW_ASSIGNEE = "mt:assignee/"
KW_PRIO = "mt:prio/"
KW_TAG = "mt:tag/"
KW_LATER = "mt:later"
KW_NOREPLY = "mt:noreply"
SEEN = "\\Seen"

VIEWS = (
    "unhandled",
    "in-progress",
    "done",
    "mine",
    "urgent",
    "later",
    "no-reply",
    "escalated",
    "all",
)


@dataclass(frozen=True)
class MessageState:
    """What the state rules need to know about one message, oldest first."""

    flags: Sequence[str]
    inbound: bool


@dataclass
class ConversationState:
    status: str = "unhandled"
    assignee: str | None = None
    priority: str = "normal"
    tags: list[str] = field(default_factory=list)
    unread: int = 0


def _statuses(flags: Iterable[str]) -> list[str]:
    return [f[len(KW_STATUS) :] for f in flags if f.startswith(KW_STATUS)]


def _resolve_status(flags: Iterable[str]) -> str | None:
    """Several status keywords only follow a lost race; every reader picks the same one."""
    found = set(_statuses(flags)) & set(STATUSES)
    return max(found, key=STATUSES.index) if found else None


def _resolve_assignee(flags: Iterable[str]) -> str | None:
    names = sorted(
        f[len(KW_ASSIGNEE) :]
        for f in flags
        if f.startswith(KW_ASSIGNEE) and len(f) > len(KW_ASSIGNEE)
    )
    return names[0] if names else None


def derive_state(
    messages: Sequence[MessageState], *, reply_moves_to_in_progress: bool = False
) -> ConversationState:
    """Status and assignee from the anchor, then what happened after the last marking.

    The anchor is the earliest customer message (else the earliest message): claims are a
    compare-and-swap on it, so when it carries a status its status and assignee are the truth
    and a change half-propagated to the other messages cannot flip the conversation. Without
    a status on the anchor (mail marked by other tools), the newest marked message counts.

    Messages newer than every marked message are what nobody has triaged yet: a customer
    message reopens a Done conversation as Unhandled and keeps its assignee, as helpdesks do;
    with reply_moves_to_in_progress, our own reply moves Unhandled to In progress.
    """
    state = ConversationState()
    last_marked = -1
    newest_status: str | None = None
    newest_assignee: str | None = None
    for index, message in enumerate(messages):
        status = _resolve_status(message.flags)
        if status is not None:
            newest_status, last_marked = status, index
        assignee = _resolve_assignee(message.flags)
        if assignee:
            newest_assignee = assignee
    anchor = next((m for m in messages if m.inbound), messages[0] if messages else None)
    anchor_status = _resolve_status(anchor.flags) if anchor is not None else None
    if anchor is not None and anchor_status is not None:
        state.status, state.assignee = anchor_status, _resolve_assignee(anchor.flags)
    else:
        state.status, state.assignee = newest_status or "unhandled", newest_assignee
    for message in messages[last_marked + 1 :]:
        if message.inbound and state.status == "done":
            state.status = "unhandled"
        elif not message.inbound and state.status == "unhandled" and reply_moves_to_in_progress:
            state.status = "in-progress"
    tags: set[str] = set()
    for message in messages:
        for flag in message.flags:
            if flag.startswith(KW_PRIO) and flag[len(KW_PRIO) :] == "urgent":
                state.priority = "urgent"
            elif flag == KW_LATER:
                tags.add("later")
            elif flag == KW_NOREPLY:
                tags.add("no-reply")
            elif flag.startswith(KW_TAG) and len(flag) > len(KW_TAG):
                tags.add(flag[len(KW_TAG) :])
        if message.inbound and SEEN not in message.flags:
            state.unread += 1
    state.tags = sorted(tags)
    return state
