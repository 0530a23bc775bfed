"""The header fields sync fetches, parsed without building an `email` Message.

`BODY.PEEK[HEADER.FIELDS (...)]` returns only the named fields, already well formed by the
server, so splitting them is a few byte operations. Every value is then decoded by the same
functions `mime.parse_headers` uses (one decoding truth); only the BytesParser round trip,
which costs ~10x the decoding itself, is skipped. tests/sync/test_headers.py checks the two
agree on the whole mime golden corpus.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone
from functools import lru_cache

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


def _raw_address(text: str) -> list[Address]:
    return [Address(name=text, email="")] if text else []


def _kept_raw(name: str, raw: bytes, warnings: list[str]) -> str:
    warnings.append(f"{name} header could not be parsed; kept raw")
    return clean(raw_text(raw)[0]) if raw else ""


def _address_field(
    fields: dict[str, bytes], name: str, label: str, warnings: list[str]
) -> list[Address]:
    raw = fields.get(name)
    if raw is None:
        return []
    try:
        found, warns = _addresses(raw)
    except Exception:
        return _raw_address(_kept_raw(name, raw, warnings))
    if warns:
        warnings.extend(f"{label}: {w}" for w in warns)
    return list(found)


def _id_field(fields: dict[str, bytes], name: str, warnings: list[str]) -> list[str]:
    raw = fields.get(name)
    if raw is None:
        return []
    try:
        return parse_ids(raw)
    except Exception:
        _kept_raw(name, raw, warnings)
        return []


def parse_header_fields(block: bytes) -> ParsedMessage:
    """What `mime.parse_headers(block)` returns for these fields, minus its parser cost.

    A field that cannot be parsed is kept raw with a warning, in the order the fields are
    read here (subject, from, to, cc, reply-to, the ids, date), as parse_headers words it.
    Plain functions, not closures made per call: an initial sync calls this 100k times."""
    result = ParsedMessage()
    if not block.strip():
        result.warnings.append("empty message")
        return result
    fields = split_fields(block)
    warnings: list[str] = []
    raw = fields.get("subject")
    if raw is not None:
        try:
            subject, warns = _unstructured(raw)
        except Exception:
            subject = _kept_raw("subject", raw, warnings)
        else:
            if warns:
                warnings.extend(f"Subject: {w}" for w in warns)
        result.subject = subject
    senders = _address_field(fields, "from", "From", warnings)
    result.from_ = senders[0] if senders else None
    result.to = _address_field(fields, "to", "To", warnings)
    result.cc = _address_field(fields, "cc", "Cc", warnings)
    result.reply_to = _address_field(fields, "reply-to", "Reply-To", warnings)
    message_ids = _id_field(fields, "message-id", warnings)
    result.message_id = message_ids[0] if message_ids else None
    result.in_reply_to = _id_field(fields, "in-reply-to", warnings)
    result.references = _id_field(fields, "references", warnings)
    raw = fields.get("date")
    if raw is None:
        warnings.append("Date header missing")
    else:
        try:
            parsed_date, warns = _date(raw)
        except Exception:
            _kept_raw("date", raw, warnings)
        else:
            warnings.extend(warns)
            result.date = parsed_date if isinstance(parsed_date, datetime) else None
    if warnings:
        result.warnings = list(dict.fromkeys(warnings))
    return result
