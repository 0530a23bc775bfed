"""Derive a conversation's triage state from the IMAP keywords on its messages.

Keywords are the shared truth (DESIGN.md §2): `mt:status/in-progress`, `mt:assignee/alice`,
`mt:prio/urgent`, `mt:later`, `mt:noreply`, `mt:tag/<name>`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

STATUSES = ("unhandled", "in-progress", "done")
KW_STATUS = "mt:status/"
KW_ASSIGNEE = "mt:assignee/"
KW_PRIO = "mt:prio/"
KW_TAG = "mt:tag/"
KW_LATER = "mt:later"
KW_NOREPLY = "mt:noreply"
SEEN = "\\Seen"

VIEWS = ("unhandled", "in-progress", "done", "mine", "urgent", "later", "no-reply", "all")


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


def _keyword_value(flags: Iterable[str], prefix: str) -> str | None:
    for flag in flags:
        if flag.startswith(prefix) and len(flag) > len(prefix):
            return flag[len(prefix) :]
    return None


def derive_state(messages: Sequence[MessageState]) -> ConversationState:
    """Status and assignee come from the newest message that carries them.

    A customer message newer than a `done` marking reopens the conversation as unhandled and
    keeps its assignee, as helpdesks do: the new mail has no status keyword yet.
    """
    state = ConversationState()
    status_at = -1
    for index, message in enumerate(messages):
        status = _keyword_value(message.flags, KW_STATUS)
        if status in STATUSES:
            state.status, status_at = status, index
        assignee = _keyword_value(message.flags, KW_ASSIGNEE)
        if assignee:
            state.assignee = assignee
    if state.status == "done" and any(
        m.inbound and _keyword_value(m.flags, KW_STATUS) is None for m in messages[status_at + 1 :]
    ):
        state.status = "unhandled"
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
