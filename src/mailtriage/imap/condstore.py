"""The compare-and-swap every claim goes through: `UID STORE … (UNCHANGEDSINCE m)` (RFC 7162).

imapclient 4.1 has no public UNCHANGEDSINCE, so the raw command is wrapped here, once. Two
server facts shape it (TESTING-NOTES.md): a stale store is answered by a tagged **OK** carrying
`[MODIFIED uids]`, not by NO; and a store over several UIDs is applied to the unchanged ones
only, so callers make one anchor message the unit of atomicity.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import imapclient
from imapclient.response_parser import parse_fetch_response

STORE_MODES = ("FLAGS", "+FLAGS", "-FLAGS")
_MODIFIED = re.compile(rb"\[MODIFIED ([0-9:,]+)\]", re.IGNORECASE)

FlagsAndModseq = tuple[list[str], int | None]


@dataclass(frozen=True)
class ConditionalStoreResult:
    """What the server said: which UIDs it refused, and the flags it reported for the rest."""

    modified: frozenset[int]
    fetched: dict[int, FlagsAndModseq]

    def applied(self, uid: int) -> bool:
        return uid not in self.modified


def parse_uid_set(text: str) -> set[int]:
    """`2:4,7` → {2, 3, 4, 7}; either end of a range may come first (RFC 3501 allows 4:2)."""
    uids: set[int] = set()
    for part in text.split(","):
        first, _, last = part.partition(":")
        low, high = int(first), int(last or first)
        uids.update(range(min(low, high), max(low, high) + 1))
    return uids


def parse_modified(response_text: bytes | str | None) -> set[int]:
    """The UIDs in a tagged response's `[MODIFIED …]` code; empty when everything applied."""
    if response_text is None:
        return set()
    if isinstance(response_text, str):
        response_text = response_text.encode("ascii", "replace")
    match = _MODIFIED.search(response_text)
    return parse_uid_set(match.group(1).decode("ascii")) if match else set()


def decode_flags(flags: Iterable[bytes | str]) -> list[str]:
    return sorted(f.decode("ascii", "replace") if isinstance(f, bytes) else f for f in flags)


def _modseq(value: object) -> int | None:
    if isinstance(value, tuple | list):
        value = value[0] if value else None
    return int(value) if isinstance(value, int) else None


def uid_store_unchanged_since(
    client: imapclient.IMAPClient,
    uids: Sequence[int],
    unchangedsince: int,
    flags: Sequence[str],
    mode: str = "FLAGS",
) -> ConditionalStoreResult:
    """Store `flags` on `uids` only where their MODSEQ is still ≤ unchangedsince.

    Needs CONDSTORE enabled on the connection and a mailbox selected read-write. `\\Recent`
    is the server's to set, so it is dropped from a FLAGS replacement.
    """
    if mode not in STORE_MODES:
        raise ValueError(f"mode must be one of {STORE_MODES}, got {mode!r}")
    if not uids:
        raise ValueError("no UIDs to store")
    wanted = [f for f in flags if f.lower() != "\\recent"]
    uid_set = ",".join(str(u) for u in uids)
    imap = client._imap  # no public UNCHANGEDSINCE in imapclient 4.1
    # Leftover FETCH responses from earlier commands would be mistaken for this store's.
    imap.untagged_responses.pop("FETCH", None)
    tag = imap._command(
        "UID",
        "STORE",
        uid_set,
        f"(UNCHANGEDSINCE {int(unchangedsince)})",
        mode,
        "(" + " ".join(wanted) + ")",
    )
    typ, data = imap._command_complete("STORE", tag)
    if typ != "OK":
        raise imapclient.exceptions.IMAPClientError(f"conditional UID STORE refused: {data!r}")
    modified = parse_modified(data[0] if data else None)
    _, fetch_data = imap._untagged_response(typ, data, "FETCH")
    fetched: dict[int, FlagsAndModseq] = {}
    for uid, item in parse_fetch_response(fetch_data, False, True).items():
        if b"FLAGS" in item:
            fetched[uid] = (decode_flags(item[b"FLAGS"]), _modseq(item.get(b"MODSEQ")))
    return ConditionalStoreResult(frozenset(modified), fetched)


def read_flags(
    client: imapclient.IMAPClient, uids: Sequence[int], *, modseq: bool
) -> dict[int, FlagsAndModseq]:
    """FLAGS (and MODSEQ when the server has CONDSTORE) of `uids` in the selected mailbox."""
    if not uids:
        return {}
    items = "(FLAGS MODSEQ)" if modseq else "(FLAGS)"
    imap = client._imap
    # Unsolicited FETCHes from earlier commands would mix older flags into this answer.
    imap.untagged_responses.pop("FETCH", None)
    tag = imap._command("UID", "FETCH", ",".join(str(u) for u in uids), items)
    typ, data = imap._command_complete("FETCH", tag)
    if typ != "OK":
        raise imapclient.exceptions.IMAPClientError(f"UID FETCH failed: {data!r}")
    _, fetch_data = imap._untagged_response(typ, data, "FETCH")
    wanted = set(uids)
    return {
        uid: (decode_flags(item.get(b"FLAGS", ())), _modseq(item.get(b"MODSEQ")))
        for uid, item in parse_fetch_response(fetch_data, False, True).items()
        if uid in wanted and b"FLAGS" in item
    }


def keywords_allowed(
    client: imapclient.IMAPClient,
    probe_folder: str | None = None,
    folder: str = "INBOX",
    selected: dict[bytes, Any] | None = None,
) -> bool:
    """Whether the server lets us create keywords: `\\*` in PERMANENTFLAGS at SELECT.

    SELECT, not EXAMINE: Dovecot answers PERMANENTFLAGS () on a read-only mailbox. A server
    that sends no PERMANENTFLAGS at all allows everything (RFC 3501 7.1). Some servers omit
    `\\*` yet keep keywords (pymap); with probe_folder (the app's own folder) a missing `\\*`
    is checked by appending a probe item with a keyword there, reading it back and deleting
    it. Leaves no particular mailbox selected. `selected`: the answer to a SELECT of folder
    the caller just made.
    """
    info = selected if selected is not None else client.select_folder(folder)
    permanent = info.get(b"PERMANENTFLAGS")
    if permanent is None or b"\\*" in tuple(permanent):
        return True
    if probe_folder is None:
        return False
    from mailtriage.imap.appfolder import keyword_survives

    return keyword_survives(client, probe_folder)


def uid_move(client: imapclient.IMAPClient, uids: list[int], folder: str) -> dict[int, int]:
    """UID MOVE (or COPY + \\Deleted + UID EXPUNGE without MOVE) from the selected mailbox.

    Returns {old UID: new UID} for what this command really moved, from COPYUID (UIDPLUS):
    a UID that another session moved or expunged first is simply absent (Dovecot answers OK,
    or NO [EXPUNGEISSUED] when the expunge lands while it copies).
    """
    if not uids:
        return {}
    imap = client._imap
    imap.untagged_responses.pop("COPYUID", None)
    seq = ",".join(str(u) for u in uids)
    target = client._normalise_folder(folder)
    command = "MOVE" if client.has_capability("MOVE") else "COPY"
    typ, data = imap.uid(command, seq, target)
    if typ == "NO" and b"EXPUNGEISSUED" in b" ".join(d for d in data if isinstance(d, bytes)):
        # Another session expunged (moved) it while we copied: we moved nothing.
        imap.untagged_responses.pop("COPYUID", None)
        return {}
    if typ != "OK":
        raise imapclient.exceptions.IMAPClientError(f"UID {command} failed: {data!r}")
    moved: dict[int, int] = {}
    for text in imap.untagged_responses.pop("COPYUID", []) + [d for d in data if d]:
        raw = text.decode() if isinstance(text, bytes) else str(text)
        match = re.search(r"(?:COPYUID )?\d+ ([0-9:,]+) ([0-9:,]+)", raw)
        if match:
            moved.update(zip(_uid_set(match.group(1)), _uid_set(match.group(2)), strict=False))
    if command == "COPY" and moved:
        client.add_flags(list(moved), [b"\\Deleted"], silent=True)
        client.uid_expunge(list(moved))
    return moved


def _uid_set(text: str) -> list[int]:
    out: list[int] = []
    for part in text.split(","):
        first, _, last = part.partition(":")
        low, high = int(first), int(last or first)
        out.extend(range(min(low, high), max(low, high) + 1))
    return out
