"""Status folders: triage state when the server refuses custom keywords.

Some servers answer SELECT with PERMANENTFLAGS lacking `\\*` (no new keywords; an ACL without
the `w` right does this on Dovecot, and then a keyword STORE is silently dropped). Then:

- status is the folder a conversation's messages live in (`accounts.NAME.status_folders`,
  default unhandled = INBOX, in-progress = 対応中, done = 対応済): the newest customer message
  that sits in a status folder decides, so a customer's new message in INBOX reopens a
  conversation filed as done (the assignee stays);
- a status change is a UID MOVE of the conversation's messages (Sent copies stay put);
- assignee, priority and tags come from the newest events in the app folder.

A claim cannot be a compare-and-swap on a keyword; the anchor move is the lock instead (see
imap.actions). Everything here is pure; the cache calls `derive` when the mode is on.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from mailtriage.triage.state import STATUSES

SETTING = "status_folders"  # cache setting: JSON {status: folder} while the mode is on


def notice(folders: Mapping[str, str], app_folder: str) -> str:
    """The one line said at startup and sync."""
    shown = "/".join(folders[s] for s in STATUSES if s != "unhandled")
    return (
        f"server refuses custom keywords: status kept in folders {shown};"
        f" assignee, priority and tags in the {app_folder} folder"
    )


def status_of_folder(folders: Mapping[str, str], mailbox: str) -> str | None:
    for status, name in folders.items():
        if name == mailbox:
            return status
    return None


@dataclass(frozen=True)
class Located:
    mailbox: str
    inbound: bool
    ts: float
    uid: int = 0


@dataclass
class FolderState:
    status: str = "unhandled"
    assignee: str | None = None
    priority: str = "normal"
    tags: list[str] = field(default_factory=list)


def deciding_message(folders: Mapping[str, str], messages: Sequence[Located]) -> Located | None:
    """The message whose folder is the status (and which a claim moves first)."""
    filed = [m for m in messages if status_of_folder(folders, m.mailbox) is not None]
    pool = [m for m in filed if m.inbound] or filed
    return max(pool, key=lambda m: (m.ts, m.mailbox, m.uid)) if pool else None


def derive(
    folders: Mapping[str, str],
    messages: Sequence[Located],
    events: Iterable[tuple[str, dict[str, Any]]],
    *,
    reply_moves_to_in_progress: bool = False,
) -> FolderState:
    """State from where the messages are plus the events (kind, details), oldest first.

    With reply_moves_to_in_progress, our reply newer than every customer message shows an
    Unhandled conversation as In progress, as derive_state does with keywords (derived, not
    moved: the messages stay where they are until someone files them).
    """
    state = FolderState()
    decider = deciding_message(folders, messages)
    if decider is not None:
        state.status = status_of_folder(folders, decider.mailbox) or "unhandled"
    if state.status == "unhandled" and reply_moves_to_in_progress and messages:
        newest = max(messages, key=lambda m: (m.ts, not m.inbound))
        if not newest.inbound:
            state.status = "in-progress"
    tags: set[str] = set()
    for kind, details in events:
        if kind in ("claimed", "assigned", "status") and "assignee" in details:
            value = details.get("assignee")
            state.assignee = str(value) if value else None
        elif kind == "priority" and details.get("priority"):
            state.priority = str(details["priority"])
        elif kind == "tagged":
            tags.update(str(t) for t in details.get("add", []))
            tags.difference_update(str(t) for t in details.get("remove", []))
    state.tags = sorted(tags)
    return state
