"""Derive a conversation's triage state from the IMAP keywords on its messages.

Keywords are the shared truth (DESIGN.md §2): `mt:status/in-progress`, `mt:assignee/alice`,
`mt:prio/urgent`, `mt:later`, `mt:noreply`, `mt:tag/<name>`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache

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


@dataclass(frozen=True)
class _Marks:
    """What one message's flags say, as derive_state reads them."""

    status: str | None
    assignee: str | None
    urgent: bool
    tags: frozenset[str]
    seen: bool


@lru_cache(maxsize=4096)
def _marks(flags: tuple[str, ...]) -> _Marks:
    # A mailbox has few distinct flag sets (87 in 100k messages of the bench corpus), and an
    # initial sync derives every conversation once: reading each set once halves that.
    tags: set[str] = set()
    urgent = False
    for flag in flags:
        if flag.startswith(KW_PRIO) and flag[len(KW_PRIO) :] == "urgent":
            urgent = True
        elif flag == KW_LATER:
            tags.add("later")
        elif flag == KW_NOREPLY:
            tags.add("no-reply")
        elif flag.startswith(KW_TAG) and len(flag) > len(KW_TAG):
            tags.add(flag[len(KW_TAG) :])
    return _Marks(
        _resolve_status(flags), _resolve_assignee(flags), urgent, frozenset(tags), SEEN in flags
    )


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
    marks = [_marks(tuple(m.flags)) for m in messages]
    last_marked = -1
    newest_status: str | None = None
    newest_assignee: str | None = None
    for index, mark in enumerate(marks):
        if mark.status is not None:
            newest_status, last_marked = mark.status, index
        if mark.assignee:
            newest_assignee = mark.assignee
    anchor = next((i for i, m in enumerate(messages) if m.inbound), 0 if messages else None)
    anchor_mark = marks[anchor] if anchor is not None else None
    if anchor_mark is not None and anchor_mark.status is not None:
        state.status, state.assignee = anchor_mark.status, anchor_mark.assignee
    else:
        state.status, state.assignee = newest_status or "unhandled", newest_assignee
    for message in messages[last_marked + 1 :]:
        if message.inbound and state.status == "done":
            state.status = "unhandled"
        elif not message.inbound and state.status == "unhandled" and reply_moves_to_in_progress:
            state.status = "in-progress"
    tags: set[str] = set()
    for message, mark in zip(messages, marks, strict=True):
        state.priority = "urgent" if mark.urgent else state.priority
        tags |= mark.tags
        if message.inbound and not mark.seen:
            state.unread += 1
    state.tags = sorted(tags)
    return state
