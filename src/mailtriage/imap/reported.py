"""What the server reported about the selected mailbox on one connection, not yet in the cache.

A connection that keeps a mailbox selected (the watch's INBOX) learns of other clients'
changes from unsolicited responses: `* n EXISTS` (new mail), `* VANISHED uids` (expunges,
once QRESYNC is enabled), `* n FETCH (UID u FLAGS (...) MODSEQ (m))` (flag changes). The
server reports each change once, so they are gathered here from wherever they arrived (IDLE,
NOOP, the answers to our own FETCHes) until the sync engine applies them
(FolderSync.apply_reported). `unknown` marks what only a new SELECT can sort out: an EXPUNGE
by message number (no QRESYNC), a FETCH without UID.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

import imapclient

from mailtriage.imap.commands import _FLAGS, _HIGHESTMODSEQ, _MODSEQ, _UID, parse_uid_set

FlagChange = tuple[list[str], int | None]  # (flags, modseq)
# imaplib's keys for the responses that say the selected mailbox changed.
CHANGE_KEYS = ("EXISTS", "EXPUNGE", "FETCH", "VANISHED")


@dataclass
class Reported:
    flags: dict[int, FlagChange] = field(default_factory=dict)  # uid -> latest reported
    vanished: set[int] = field(default_factory=set)
    exists: bool = False  # new mail may have arrived: look above UIDNEXT
    unknown: bool = False
    # The highest [HIGHESTMODSEQ n] the server sent (Dovecot, QRESYNC on: after a command
    # that reported changes): every change up to n was reported by then.
    highest: int | None = None

    def __bool__(self) -> bool:
        return bool(self.flags or self.vanished or self.exists or self.unknown)

    @property
    def structural(self) -> bool:
        """Anything beyond flag changes (which IDLE applies in place)."""
        return bool(self.vanished or self.exists or self.unknown)

    def merge(self, other: Reported) -> None:
        self.flags.update(other.flags)
        self.vanished |= other.vanished
        self.exists |= other.exists
        self.unknown |= other.unknown
        self._saw_highest(other.highest)

    def _saw_highest(self, value: int | None) -> None:
        if value is not None and (self.highest is None or value > self.highest):
            self.highest = value

    def add_parsed(self, responses: Sequence[tuple[object, ...]]) -> None:
        """imapclient's parsed untagged responses (IDLE); raises IMAPClientAbortError at BYE."""
        for response in responses:
            if response and response[0] == b"BYE":
                raise imapclient.exceptions.IMAPClientAbortError(
                    "server said BYE: " + _text(response[1:])
                )
            if response and response[0] == b"OK" and len(response) > 1:
                self._saw_highest(highestmodseq(response[1]))
            elif response and response[0] == b"VANISHED":
                self._add_vanished(b" ".join(_bytes(part) for part in response[1:]))
            elif len(response) >= 2 and response[1] == b"EXISTS":
                self.exists = True
            elif len(response) >= 2 and response[1] == b"EXPUNGE":
                self.unknown = True
            elif len(response) >= 2 and response[1] == b"FETCH":
                found = _parsed_flags(response)
                if found is None:
                    self.unknown = True
                else:
                    self.flags[found[0]] = found[1]

    def add_untagged(self, untagged: dict[str, list[object]]) -> None:
        """The changes among imaplib's untagged responses (as imaplib files them, and
        commands.uid_fetch_lines too), removed from there."""
        for data in untagged.pop("HIGHESTMODSEQ", []):
            if isinstance(data, bytes) and data.strip().isdigit():
                self._saw_highest(int(data))
        if untagged.pop("EXISTS", None):
            self.exists = True
        if untagged.pop("EXPUNGE", None):
            self.unknown = True
        for data in untagged.pop("VANISHED", []):
            if isinstance(data, bytes):
                self._add_vanished(data)
        for data in untagged.pop("FETCH", []):
            found = _line_flags(data[0] if isinstance(data, tuple) else data)
            if found is None:
                self.unknown = True
            else:
                self.flags[found[0]] = found[1]

    def _add_vanished(self, text: bytes) -> None:
        text = re.sub(rb"\(EARLIER\)", b"", text, flags=re.IGNORECASE).strip()
        try:
            self.vanished.update(parse_uid_set(text))
        except ValueError:
            self.unknown = True


def highestmodseq(text: object) -> int | None:
    """The n of a `[HIGHESTMODSEQ n]` response code in text, else None."""
    found = _HIGHESTMODSEQ.search(_bytes(text))
    return int(found.group(1)) if found else None


def _bytes(part: object) -> bytes:
    return part if isinstance(part, bytes) else str(part).encode("ascii", "replace")


def _line_flags(data: object) -> tuple[int, FlagChange] | None:
    """(uid, (flags, modseq)) of imaplib's `n (UID u FLAGS (...) MODSEQ (m))`, else None."""
    if not isinstance(data, bytes):
        return None
    uid, flags, modseq = _UID.search(data), _FLAGS.search(data), _MODSEQ.search(data)
    if uid is None or flags is None:
        return None
    return int(uid.group(1)), (
        _names(flags.group(1).split()),
        int(modseq.group(1)) if modseq else None,
    )


def _parsed_flags(response: tuple[object, ...]) -> tuple[int, FlagChange] | None:
    """(uid, (flags, modseq)) of imapclient's `(n, b"FETCH", (b"UID", u, b"FLAGS", (...),
    b"MODSEQ", (m,)))`, else None."""
    items = response[2] if len(response) > 2 else None
    if not isinstance(items, tuple):
        return None
    found = dict(zip(items[::2], items[1::2], strict=False))
    uid, flags, modseq = found.get(b"UID"), found.get(b"FLAGS"), found.get(b"MODSEQ")
    if not isinstance(uid, int) or not isinstance(flags, tuple):
        return None
    if isinstance(modseq, tuple):
        modseq = modseq[0] if modseq else None
    return uid, (_names(flags), modseq if isinstance(modseq, int) else None)


def _names(flags: Sequence[object]) -> list[str]:
    # \Recent belongs to one session (RFC 3501 2.3.2); sync never stores it either.
    decoded = (f.decode("ascii", "replace") if isinstance(f, bytes) else str(f) for f in flags)
    return sorted(f for f in decoded if f.lower() != "\\recent")


def _text(parts: Sequence[object]) -> str:
    return " ".join(p.decode("utf-8", "replace") if isinstance(p, bytes) else str(p) for p in parts)
