"""The header fields sync fetches, parsed without building an `email` Message.

`BODY.PEEK[HEADER.FIELDS (...)]` returns only the named fields, already well formed by the
server, so splitting them is a few byte operations. Every value is then decoded by the same
functions `mime.parse_headers` uses (one decoding truth); only the BytesParser round trip,
which costs ~10x the decoding itself, is skipped. tests/sync/test_headers.py checks the two
agree on the whole mime golden corpus.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from functools import lru_cache
from typing import TypeVar

from mailtriage.mime.headers import (
    clean,
    decode_encoded_words,
    decode_unstructured,
    parse_addresses,
    parse_date,
    parse_ids,
    raw_text,
)
from mailtriage.mime.model import Address, ParsedMessage

T = TypeVar("T")

FIELDS = (
    "DATE",
    "FROM",
    "TO",
    "CC",
    "REPLY-TO",
    "SUBJECT",
    "MESSAGE-ID",
    "IN-REPLY-TO",
    "REFERENCES",
)
FETCH_ITEM = f"BODY.PEEK[HEADER.FIELDS ({' '.join(FIELDS)})]"

# A field starts at the beginning of a line that is not a continuation (RFC 5322 2.2.3).
_FIELD_START = re.compile(rb"(?m)^(?=[^ \t\r\n])")
# Fields that may repeat and are joined, exactly as mime.parse does.
_JOINED = frozenset({"to", "cc", "references"})


_ADDR = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]+@[A-Za-z0-9.-]+"
# The forms nearly all mail uses: bare addr-spec, phrase <addr>, "quoted" <addr>. A phrase
# here holds no RFC 5322 special but ".", so email._parseaddr would read it as atoms joined
# by single spaces; anything else goes to mime's parser.
_BARE = re.compile(rf"({_ADDR})")
_PHRASE = re.compile(rf'([^"<>(),;:\\@\[\]]*?)[ \t]*<({_ADDR})>')
_QUOTED = re.compile(rf'"([^"\\\r\n]*)"[ \t]*<({_ADDR})>')
_LWS = re.compile(r"[ \t\r\n]+")


def _fast_addresses(raw: bytes) -> tuple[tuple[Address, ...], tuple[str, ...]] | None:
    text, warnings = raw_text(raw)
    items = [text.strip(" \t")] if '"' in text else [i.strip(" \t") for i in text.split(",")]
    found: list[Address] = []
    for item in items:
        if bare := _BARE.fullmatch(item):
            name, addr = "", bare.group(1)
        elif quoted := _QUOTED.fullmatch(item):
            name, addr = quoted.group(1).strip(), quoted.group(2)
        elif phrase := _PHRASE.fullmatch(item):
            name, addr = " ".join(a for a in _LWS.split(phrase.group(1)) if a), phrase.group(2)
        else:
            return None
        local, _, domain = addr.rpartition("@")
        if not local or not domain:
            return None
        display, more = decode_encoded_words(name)
        warnings.extend(more)
        found.append(Address(name=clean(display.strip()), email=clean(f"{local}@{domain.lower()}")))
    return tuple(found), tuple(warnings)


@lru_cache(maxsize=8192)
def _addresses(raw: bytes) -> tuple[tuple[Address, ...], tuple[str, ...]]:
    # A support mailbox repeats its senders and its own address on nearly every message, and
    # address parsing (email._parseaddr, char by char) is most of the header cost.
    fast = _fast_addresses(raw)
    if fast is not None:
        return fast
    found, warns = parse_addresses(raw)
    return tuple(found), tuple(warns)


@lru_cache(maxsize=4096)
def _unstructured(raw: bytes) -> tuple[str, tuple[str, ...]]:
    text, warns = decode_unstructured(raw)
    return text, tuple(warns)


# "Tue, 20 Nov 2026 09:00:00 +0900", what nearly every mailer writes; anything else (zone
# names, two-digit years, comments) goes to mime's parse_date.
_COMMON_DATE = re.compile(
    rb"(?:[A-Z][a-z]{2}, ?)?(\d{1,2}) ([A-Z][a-z]{2}) (\d{4})"
    rb" (\d\d):(\d\d)(?::(\d\d))? ([+-])(\d\d)(\d\d)"
)
_MONTHS = {
    m: i
    for i, m in enumerate(
        (
            b"Jan",
            b"Feb",
            b"Mar",
            b"Apr",
            b"May",
            b"Jun",
            b"Jul",
            b"Aug",
            b"Sep",
            b"Oct",
            b"Nov",
            b"Dec",
        ),
        1,
    )
}


@lru_cache(maxsize=64)
def _zone(sign: bytes, hours: int, minutes: int) -> timezone | None:
    if sign == b"-" and hours == minutes == 0:
        return None  # "-0000": UTC, local zone unknown (RFC 5322 3.3), as parse_date says
    offset = timedelta(hours=hours, minutes=minutes)
    return timezone(-offset if sign == b"-" else offset)


def _date(raw: bytes) -> tuple[datetime | None, list[str]]:
    found = _COMMON_DATE.fullmatch(raw.strip(b" \t\r\n"))
    month = _MONTHS.get(found.group(2)) if found else None
    if found is None or month is None or int(found.group(8)) >= 24 or found.group(3) < b"1000":
        return parse_date(raw)
    day, year, hour, minute = (int(found.group(i)) for i in (1, 3, 4, 5))
    second = int(found.group(6) or 0)
    zone = _zone(found.group(7), int(found.group(8)), int(found.group(9)))
    try:
        return datetime(year, month, day, hour, minute, second, tzinfo=zone or UTC), []
    except ValueError:
        return parse_date(raw)  # 31 Feb and the like: let mime word the warning


def split_fields(block: bytes) -> dict[str, bytes]:
    """Field name (lower case) -> raw value bytes, as `email`'s raw_items() would give them."""
    fields: dict[str, bytes] = {}
    for chunk in _FIELD_START.split(block):
        name, colon, value = chunk.partition(b":")
        if not colon:
            continue
        key = name.lower().decode("ascii", "surrogateescape")
        value = value.lstrip(b" \t").rstrip(b"\r\n")
        if key in fields:
            if key in _JOINED:
                fields[key] += b", " + value
            continue
        fields[key] = value
    return fields


def parse_header_fields(block: bytes) -> ParsedMessage:
    """What `mime.parse_headers(block)` returns for these fields, minus its parser cost."""
    result = ParsedMessage()
    if not block.strip():
        result.warnings.append("empty message")
        return result
    fields = split_fields(block)
    warnings = result.warnings

    def guarded(name: str, fn: Callable[[bytes], T], fallback: Callable[[str], T]) -> T | None:
        raw = fields.get(name)
        if raw is None:
            return None
        try:
            return fn(raw)
        except Exception:
            warnings.append(f"{name} header could not be parsed; kept raw")
            return fallback(clean(raw_text(raw)[0]) if raw else "")

    def unstructured(raw: bytes) -> str:
        text, warns = _unstructured(raw)
        warnings.extend(f"Subject: {w}" for w in warns)
        return text

    def addresses(label: str) -> Callable[[bytes], list[Address]]:
        def run(raw: bytes) -> list[Address]:
            found, warns = _addresses(raw)
            warnings.extend(f"{label}: {w}" for w in warns)
            return list(found)

        return run

    def raw_address(text: str) -> list[Address]:
        return [Address(name=text, email="")] if text else []

    def no_ids(_text: str) -> list[str]:
        return []

    def date(raw: bytes) -> object:
        value, warns = _date(raw)
        warnings.extend(warns)
        return value

    result.subject = guarded("subject", unstructured, lambda t: t) or ""
    senders = guarded("from", addresses("From"), raw_address) or []
    result.from_ = senders[0] if senders else None
    result.to = guarded("to", addresses("To"), raw_address) or []
    result.cc = guarded("cc", addresses("Cc"), raw_address) or []
    result.reply_to = guarded("reply-to", addresses("Reply-To"), raw_address) or []
    message_ids = guarded("message-id", parse_ids, no_ids) or []
    result.message_id = message_ids[0] if message_ids else None
    result.in_reply_to = guarded("in-reply-to", parse_ids, no_ids) or []
    result.references = guarded("references", parse_ids, no_ids) or []
    parsed_date = guarded("date", date, lambda _t: None)
    if "date" not in fields:
        warnings.append("Date header missing")
    result.date = parsed_date if isinstance(parsed_date, datetime) else None
    result.warnings = list(dict.fromkeys(warnings))
    return result
