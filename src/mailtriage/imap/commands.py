"""IMAP commands imapclient does not offer in the form we need, and a lean FETCH reader.

imapclient 4.1's fetch() filters its result through int() of each requested id, so a UID
range such as "1:5000" raises ValueError after the server answered (TESTING-NOTES.md). Ranges
keep commands short for 100k mailboxes, so we issue UID FETCH ourselves. Its general response
parser costs more than the server takes to send the data, so metadata FETCHes are read with
the few regexes below: every item we ask for is an atom, a parenthesised list of atoms, a
quoted date or one literal.
"""

from __future__ import annotations

import imaplib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import imapclient

_UID = re.compile(rb"\bUID (\d+)")
_FLAGS = re.compile(rb"\bFLAGS \(([^)]*)\)")
_INTERNALDATE = re.compile(rb'\bINTERNALDATE "([^"]*)"')
_SIZE = re.compile(rb"\bRFC822\.SIZE (\d+)")
_MODSEQ = re.compile(rb"\bMODSEQ \((\d+)\)")
_RECORD_START = re.compile(rb"^\d+ \(")
_LITERAL_AT_END = re.compile(rb"\{(\d+)\}\r?\n$")
_IS_FETCH = re.compile(rb"\* \d+ FETCH ")
# A FETCH's item list holding only UID/FLAGS/MODSEQ, "(UID 5 FLAGS (x) MODSEQ (7))": when
# more was asked for, the server reporting a flag change, not an answer (see _flags_only).
_FLAGS_ONLY = re.compile(rb"\((?:\s*(?:UID \d+|FLAGS \([^)]*\)|MODSEQ \(\d+\)))+\s*\)\s*\Z")
_HIGHESTMODSEQ = re.compile(rb"\[HIGHESTMODSEQ (\d+)\]", re.IGNORECASE)


@dataclass(slots=True)
class Fetched:
    """One FETCH response: what sync asked for, still undecoded."""

    uid: int
    flags: list[str] | None
    internaldate: str | None
    size: int | None
    modseq: int | None
    literal: bytes | None


def _flags(meta: bytes) -> list[str] | None:
    found = _FLAGS.search(meta)
    return None if found is None else _flag_list(found.group(1))


def _flag_list(flags: bytes) -> list[str]:
    return list(_flag_set(flags))


@lru_cache(maxsize=1024)
def _flag_set(flags: bytes) -> tuple[str, ...]:
    # A mailbox has few distinct flag sets (87 in the bench's 100k messages).
    # \Recent belongs to one session (RFC 3501 2.3.2): keeping it would make every
    # re-read by a new connection look like a flag change.
    return tuple(
        sorted(f.decode("ascii", "replace") for f in flags.split() if f.lower() != b"\\recent")
    )


# The items a CONDSTORE sync asks for, in the order Dovecot sends them: one match instead of
# five searches (~3 µs a message at 100k). Any other order or set (MODSEQ after the
# literal, no MODSEQ) takes the item-by-item path below.
_SYNC_ITEMS = re.compile(
    rb"\* \d+ FETCH \(UID (\d+) FLAGS \(([^)]*)\) INTERNALDATE \"([^\"]*)\""
    rb" RFC822\.SIZE (\d+) MODSEQ \((\d+)\) BODY\["
)


def _record(meta: bytes, literal: bytes | None) -> Fetched | None:
    common = _SYNC_ITEMS.match(meta)
    if common is not None:
        uid, flags, date, size, modseq = common.groups()
        return Fetched(
            uid=int(uid),
            flags=_flag_list(flags),
            internaldate=date.decode("ascii", "replace"),
            size=int(size),
            modseq=int(modseq),
            literal=literal,
        )
    uid = _UID.search(meta)
    if uid is None:
        return None  # an unsolicited FETCH without UID: nothing we can key it by
    date = _INTERNALDATE.search(meta)
    size = _SIZE.search(meta)
    modseq = _MODSEQ.search(meta)
    return Fetched(
        uid=int(uid.group(1)),
        flags=_flags(meta),
        internaldate=date.group(1).decode("ascii", "replace") if date else None,
        size=int(size.group(1)) if size else None,
        modseq=int(modseq.group(1)) if modseq else None,
        literal=literal,
    )


def parse_fetches(data: Sequence[Any]) -> list[Fetched]:
    """imaplib's FETCH data (lines, and (line, literal) pairs) -> Fetched records.

    A response with a literal arrives as (prefix, literal) followed by the rest of its line
    (usually just ")"); the rest is folded into the prefix before the regexes run.
    """
    records: list[Fetched] = []
    meta = b""
    literal: bytes | None = None
    open_record = False
    for item in data:
        if isinstance(item, tuple):
            if open_record:
                _append(records, meta, literal)
            meta, literal, open_record = item[0], item[1], True
        elif isinstance(item, bytes):
            if open_record and not _RECORD_START.match(item):
                meta += item
                continue
            if open_record:
                _append(records, meta, literal)
            meta, literal, open_record = item, None, True
    if open_record:
        _append(records, meta, literal)
    return records


def _append(records: list[Fetched], meta: bytes, literal: bytes | None) -> None:
    record = _record(meta, literal)
    if record is not None:
        records.append(record)


def _run(client: imapclient.IMAPClient, name: str, *args: str) -> tuple[str, list[Any]]:
    imap = client._imap  # the documented way in: imapclient exposes no raw command
    tag = imap._command(*args)
    typ, data = imap._command_complete(name, tag)
    if typ != "OK":
        raise imapclient.exceptions.IMAPClientError(f"{name} failed: {data!r}")
    return typ, data


FetchLine = tuple[bytes, bytes | None]  # one FETCH response: its line(s) and its literal


def uid_fetch_lines(
    client: imapclient.IMAPClient,
    uid_set: str,
    items: Sequence[str],
    modifiers: Sequence[str] = (),
) -> list[FetchLine]:
    """UID FETCH read straight off the connection's buffered file, undecoded.

    imaplib's response loop costs ~100 µs a message (regex dispatch, untagged bookkeeping),
    more than parsing the headers themselves; here a message is two readline()s and a read().
    records() decodes the lines, wherever that is cheapest (a large sync does it in its parse
    worker, imap.parsing).

    What the server reports meanwhile about the selected mailbox is filed among imaplib's
    untagged responses, keyed as imaplib keys them: EXISTS, VANISHED, EXPUNGE; a FETCH of
    flags alone when more was asked for (another client's change, not an answer); the flags
    that came along with an answer we did not ask flags of (a copy, without the literal); and
    the tagged OK's [HIGHESTMODSEQ n] (reported.Reported.highest). A connection that keeps a
    mailbox selected must see every change once (AccountSession), and the server never
    repeats one.
    """
    args = ["UID", "FETCH", uid_set, "(" + " ".join(items) + ")"]
    if modifiers:
        args.append("(" + " ".join(modifiers) + ")")
    imap = client._imap
    asked_flags = "FLAGS" in items
    asked_more = _asks_beyond_flags(items)
    tag = imap._command(*args)
    readline, read = imap.file.readline, imap.file.read
    lines: list[FetchLine] = []
    while True:
        line = readline()
        if not line.endswith(b"\n"):
            raise imaplib.IMAP4.abort("connection closed during FETCH")
        if line.startswith(tag):
            imap.tagged_commands.pop(tag, None)
            status = line[len(tag) + 1 :].split(b" ", 1)[0]
            if status != b"OK":
                raise imapclient.exceptions.IMAPClientError(
                    f"UID FETCH failed: {line.decode('utf-8', 'replace').strip()}"
                )
            code = _HIGHESTMODSEQ.search(line)
            if code is not None:  # filed as imaplib files a tagged reply's response code
                imap._append_untagged("HIGHESTMODSEQ", code.group(1))
            return lines
        literal: bytes | None = None
        marker = _LITERAL_AT_END.search(line)
        while marker is not None:
            size = int(marker.group(1))
            data = read(size)
            if len(data) != size:
                raise imaplib.IMAP4.abort("connection closed inside a literal")
            literal = data if literal is None else literal
            rest = readline()
            if not rest.endswith(b"\n"):
                raise imaplib.IMAP4.abort("connection closed during FETCH")
            line += rest
            marker = _LITERAL_AT_END.search(rest)
        if line.startswith(b"* BYE"):
            raise imaplib.IMAP4.abort(line.decode("utf-8", "replace").strip())
        fetch = _IS_FETCH.match(line)
        if fetch is None:
            _file_untagged(imap, line)
            continue
        if literal is None and asked_more and _FLAGS_ONLY.match(line, fetch.end()):
            _file_untagged(imap, line)  # only flags: a change, not an answer
            continue
        if not asked_flags and b"FLAGS (" in line:
            # A flag change reported along with the answer: filed without the literal.
            _file_untagged(imap, fetch.group(0) + b"(" + _flags_part(line) + b")")
        lines.append((line, literal))


def _asks_beyond_flags(items: Sequence[str]) -> bool:
    """More than flags asked for: a FETCH line with flags alone is then a change, not an answer."""
    return any(item not in ("UID", "FLAGS", "MODSEQ") for item in items)


def _flags_only(data: object) -> bool:
    """imaplib's data of a FETCH line, `12 (UID 5 FLAGS (x))`, that holds flags alone."""
    return isinstance(data, bytes) and _FLAGS_ONLY.match(data, data.find(b"(")) is not None


def _file_untagged(imap: imaplib.IMAP4, line: bytes) -> None:
    """File an untagged line among imaplib's untagged responses, keyed as imaplib does."""
    line = line.rstrip(b"\r\n")
    found = imaplib.Untagged_response.match(line)
    data2 = None
    if found is None:
        found = imaplib.Untagged_status.match(line)
        if found is None:
            return
        data2 = found.group("data2")
    data = found.group("data") or b""
    if data2:
        data = data + b" " + data2
    kind = found.group("type").decode("ascii")
    imap._append_untagged(kind, data)
    code = imaplib.Response_code.match(data) if kind in ("OK", "NO", "BAD") else None
    if code is not None:  # `* OK [HIGHESTMODSEQ n]`, filed under its code as well
        imap._append_untagged(code.group("type").decode("ascii"), code.group("data"))


def _flags_part(line: bytes) -> bytes:
    """`UID n FLAGS (...) MODSEQ (m)` of a FETCH line that carries more."""
    found = (pattern.search(line) for pattern in (_UID, _FLAGS, _MODSEQ))
    return b" ".join(item.group(0) for item in found if item is not None)


def records(lines: Sequence[FetchLine]) -> list[Fetched]:
    """Fetched records of FETCH lines; a FETCH without UID is dropped (nothing to key it by)."""
    found = (_record(line, literal) for line, literal in lines)
    return [record for record in found if record is not None]


def uid_fetch_records(
    client: imapclient.IMAPClient,
    uid_set: str,
    items: Sequence[str],
    modifiers: Sequence[str] = (),
) -> list[Fetched]:
    """UID FETCH of atoms and one literal, decoded (see uid_fetch_lines)."""
    return records(uid_fetch_lines(client, uid_set, items, modifiers))


def uid_fetch(
    client: imapclient.IMAPClient,
    uid_set: str,
    items: Sequence[str],
    modifiers: Sequence[str] = (),
) -> dict[int, dict[bytes, Any]]:
    """UID FETCH parsed by imapclient's general parser (for anything beyond metadata).

    Another client's flag changes, filed before this command (uid_fetch_lines) or reported
    along with its answer, stay filed: on a connection that keeps its mailbox selected they
    are the only report of that change (reported.Reported), and imaplib would hand them out
    here as answers and forget them.
    """
    from imapclient.response_parser import parse_fetch_response

    imap = client._imap
    earlier = imap.untagged_responses.pop("FETCH", [])
    args = ["UID", "FETCH", uid_set, "(" + " ".join(items) + ")"]
    if modifiers:
        args.append("(" + " ".join(modifiers) + ")")
    try:
        typ, data = _run(client, "FETCH", *args)
        typ, data = imap._untagged_response(typ, data, "FETCH")
    finally:
        if earlier:
            imap.untagged_responses["FETCH"] = earlier + imap.untagged_responses.get("FETCH", [])
    if _asks_beyond_flags(items):
        changes = [d for d in data if _flags_only(d)]
        if changes:
            data = [d for d in data if not _flags_only(d)]
            imap.untagged_responses.setdefault("FETCH", []).extend(changes)
    return parse_fetch_response(data, client.normalise_times, True)


@dataclass
class Examined:
    """A read-only SELECT, with what QRESYNC (RFC 7162 3.2.5) reported along with it."""

    info: dict[bytes, Any]
    vanished: list[int]
    changed: list[Fetched]


def parse_uid_set(text: bytes | str) -> list[int]:
    if isinstance(text, bytes):
        text = text.decode("ascii", "replace")
    uids: list[int] = []
    for part in text.strip().split(","):
        if not part:
            continue
        first, _, last = part.partition(":")
        low, high = int(first), int(last or first)
        uids.extend(range(min(low, high), max(low, high) + 1))
    return uids


def examine(
    client: imapclient.IMAPClient, folder: str, qresync: tuple[int, int] | None = None
) -> Examined:
    """EXAMINE folder, with (QRESYNC (uidvalidity modseq)) when given (after ENABLE QRESYNC)."""
    imap = client._imap
    if qresync is None:
        info = client.select_folder(folder, readonly=True)
        imap.untagged_responses = {}  # read into info; see below
        return Examined(info, [], [])
    # As imaplib's own select() does: stale EXISTS/UIDNEXT from an earlier SELECT would
    # otherwise be read as this mailbox's.
    imap.untagged_responses = {}
    imap.is_readonly = True
    name = client._normalise_folder(folder)
    if isinstance(name, bytes):
        name = name.decode("ascii")
    _run(client, "EXAMINE", "EXAMINE", name, f"(QRESYNC ({qresync[0]} {qresync[1]}))")
    imap.state = "SELECTED"
    untagged = imap.untagged_responses
    vanished: list[int] = []
    for line in untagged.pop("VANISHED", []):
        if isinstance(line, bytes):
            vanished += parse_uid_set(line.replace(b"(EARLIER)", b"").strip())
    changed = parse_fetches([d for d in untagged.pop("FETCH", []) if d is not None])
    info = client._process_select_response(untagged)
    # All read: from here on, an EXISTS, VANISHED or FETCH line there is a new change.
    imap.untagged_responses = {}
    return Examined(info, vanished, changed)


def examine_uidvalidity(client: imapclient.IMAPClient, folder: str) -> int:
    """EXAMINE folder; its UIDVALIDITY (-1 if the server gave none)."""
    return int(examine(client, folder).info.get(b"UIDVALIDITY", -1))
