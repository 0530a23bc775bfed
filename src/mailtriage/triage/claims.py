"""Claims and triage changes as pure decisions over the anchor message's keywords.

A conversation's status and assignee live on one anchor message (its earliest customer
message), changed by compare-and-swap; the other messages follow. Everything here is pure so
the rules can be tested without a server; `imap.actions` does the I/O.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol, TypeVar

from mailtriage.triage.state import (
    KW_ASSIGNEE,
    KW_LATER,
    KW_NOREPLY,
    KW_PRIO,
    KW_STATUS,
    KW_TAG,
    STATUSES,
)

PRIORITIES = ("urgent", "normal")
KW_URGENT = f"{KW_PRIO}urgent"
# Tags become IMAP keywords: atoms only (no spaces, parentheses, %*"\]).
_TAG_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{0,39}$")
# When a double win leaves several status keywords on one message, the most advanced one
# counts, so every reader resolves the same way.
_STATUS_RANK = {s: i for i, s in enumerate(STATUSES)}


class AnchorCandidate(Protocol):
    @property
    def inbound(self) -> bool: ...
    @property
    def ts(self) -> float: ...
    @property
    def mailbox(self) -> str: ...
    @property
    def uid(self) -> int: ...


M = TypeVar("M", bound=AnchorCandidate)


def choose_anchor(messages: Sequence[M]) -> M:
    """The earliest customer message (they all live in INBOX), else the earliest message.

    Ordered by (Date, mailbox, UID), never by local insertion order, so every agent's cache
    picks the same message and all compare-and-swaps meet on it.
    """
    if not messages:
        raise ValueError("a conversation without messages has no anchor")
    inbound = [m for m in messages if m.inbound]
    return min(inbound or messages, key=lambda m: (m.ts, m.mailbox, m.uid))


def statuses_of(flags: Iterable[str]) -> list[str]:
    found = {f[len(KW_STATUS) :] for f in flags if f.startswith(KW_STATUS)}
    return sorted((s for s in found if s in _STATUS_RANK), key=_STATUS_RANK.__getitem__)


def status_of(flags: Iterable[str]) -> str | None:
    found = statuses_of(flags)
    return found[-1] if found else None


def assignees_of(flags: Iterable[str]) -> list[str]:
    return sorted({f[len(KW_ASSIGNEE) :] for f in flags if f.startswith(KW_ASSIGNEE)} - {""})


def assignee_of(flags: Iterable[str]) -> str | None:
    """Several assignee keywords only appear after a lost race; the smallest name wins."""
    names = assignees_of(flags)
    return names[0] if names else None


@dataclass(frozen=True)
class TriageView:
    """Status and assignee exactly as one message's keywords say (None: no keyword)."""

    status: str | None
    assignee: str | None

    @classmethod
    def of(cls, flags: Iterable[str]) -> TriageView:
        flags = list(flags)
        return cls(status_of(flags), assignee_of(flags))

    def describe(self) -> str:
        status = self.status or "unhandled"
        return f"{status}, assigned to {self.assignee}" if self.assignee else f"{status}, nobody"


def with_triage(flags: Iterable[str], status: str, assignee: str | None) -> list[str]:
    """The anchor's full new flag list: every other flag kept, status/assignee replaced."""
    kept = [
        f for f in flags if not f.startswith((KW_STATUS, KW_ASSIGNEE)) and f.lower() != "\\recent"
    ]
    kept.append(f"{KW_STATUS}{status}")
    if assignee:
        kept.append(f"{KW_ASSIGNEE}{assignee}")
    return sorted(set(kept))


def stale_triage_keywords(flags: Iterable[str], status: str, assignee: str | None) -> list[str]:
    """Status/assignee keywords on a follower message that the new state replaces."""
    keep = {f"{KW_STATUS}{status}", f"{KW_ASSIGNEE}{assignee}" if assignee else ""}
    return sorted(f for f in flags if f.startswith((KW_STATUS, KW_ASSIGNEE)) and f not in keep)


@dataclass(frozen=True)
class Plan:
    """What to write on the anchor, or why not to."""

    status: str
    assignee: str | None
    done_message: str
    refusal: str | None = None
    conflict_with: str | None = None
    noop: bool = False


def plan_claim(current: TriageView, agent: str) -> Plan:
    """Claim only takes a conversation nobody owns: taking over is `assign`'s job."""
    if current.assignee == agent:
        noop = current.status == "in-progress"
        return Plan("in-progress", agent, "already yours" if noop else "claimed", noop=noop)
    if current.assignee is not None:
        return Plan(
            "in-progress",
            agent,
            "",
            refusal=f"{current.assignee} has this ({current.status or 'unhandled'})",
            conflict_with=current.assignee,
        )
    return Plan("in-progress", agent, "claimed")


def plan_assign(current: TriageView, assignee: str | None) -> Plan:
    status = current.status or "unhandled"
    if assignee and status == "unhandled":
        # An owner means someone is on it; an unhandled-but-owned ticket helps nobody.
        status = "in-progress"
    noop = current.assignee == assignee and current.status == status
    done = f"assigned to {assignee}" if assignee else "unassigned"
    return Plan(status, assignee, done, noop=noop)


def plan_status(current: TriageView, status: str) -> Plan:
    if status not in STATUSES:
        raise ValueError(f"status must be one of {', '.join(STATUSES)}, got {status!r}")
    noop = current.status == status
    return Plan(status, current.assignee, f"marked {status}", noop=noop)


def tag_keyword(tag: str) -> str:
    """`later` and `no-reply` have their own keywords; any other tag is mt:tag/NAME."""
    if tag == "later":
        return KW_LATER
    if tag == "no-reply":
        return KW_NOREPLY
    if not _TAG_RE.match(tag):
        raise ValueError(
            f"tag {tag!r} is not allowed: use 1-40 lower-case letters, digits, '.', '_' or '-'"
        )
    return f"{KW_TAG}{tag}"


def priority_change(priority: str) -> tuple[list[str], list[str]]:
    """(keywords to add, keywords to remove) on every message of the conversation."""
    if priority not in PRIORITIES:
        raise ValueError(f"priority must be one of {', '.join(PRIORITIES)}, got {priority!r}")
    return ([KW_URGENT], []) if priority == "urgent" else ([], [KW_URGENT])
