"""Header decoding that survives what real mailers send.

The ``email`` header registry decodes each RFC 2047 encoded-word on its own and with Python's
strict codecs, which breaks Japanese subjects split mid-character across encoded-words and
ISO-2022-JP words carrying NEC extended characters. So the raw header bytes are decoded here:
8-bit bytes first (UTF-8, else the Japanese detector), then encoded-words, joining adjacent
words of the same charset into one byte string before decoding.
"""

from __future__ import annotations

import binascii
import re
from datetime import UTC, datetime, timedelta
from email.utils import getaddresses, parsedate_to_datetime
from urllib.parse import unquote_to_bytes

from .charsets import decode_8bit_header, decode_text
from .model import Address

_ENCODED_WORD = re.compile(r"=\?([^?\s]+)\?([bBqQ])\?([^?\s]*)\?=")
_SURROGATES = re.compile("[\ud800-\udfff]")
_FOLD = re.compile(rb"\r?\n(?=[ \t])")
_NOT_BASE64 = re.compile(r"[^A-Za-z0-9+/]")
_LINE_BREAKS = re.compile(r"[\r\n]+")
_WHITESPACE = re.compile(r"\s+")
_QUOTED_PAIR = re.compile(r"\\(.)")
_EXTENDED_NAME = re.compile(r"([^*]+)\*(?:(\d+)\*?|)")


def clean(s: str) -> str:
    """Replace lone surrogates so the string can always be encoded, stored and printed."""
    return _SURROGATES.sub("\ufffd", s)


def raw_to_bytes(value: str) -> bytes:
    """Recover the original bytes of a header value read by ``BytesParser``.

    BytesParser decodes with ASCII + surrogateescape, so this round-trips exactly; anything
    else (a header set from a str) is encoded as UTF-8.
    """
    try:
        return value.encode("ascii", "surrogateescape")
    except UnicodeEncodeError:
        return value.encode("utf-8", "surrogateescape")


def unfold(value: bytes) -> bytes:
    return _FOLD.sub(b"", value).strip(b" \t\r\n")


def raw_text(value: bytes) -> tuple[str, list[str]]:
    """Unfolded header bytes as text, with 8-bit bytes decoded but encoded-words left alone."""
    return decode_8bit_header(unfold(value))


def _decode_word_payload(enc: str, payload: str) -> bytes | None:
    if enc in "qQ":
        return binascii.a2b_qp(payload.encode("ascii", "replace"), header=True)
    cleaned = _NOT_BASE64.sub("", payload)
    if len(cleaned) % 4 == 1:
        cleaned = cleaned[:-1]  # a lone trailing sextet carries no whole byte
    try:
        return binascii.a2b_base64(cleaned + "=" * (-len(cleaned) % 4))
    except binascii.Error:
        return None


def decode_encoded_words(text: str) -> tuple[str, list[str]]:
    """Decode RFC 2047 encoded-words in already-unfolded header text."""
    warnings: list[str] = []
    out: list[str] = []
    pending: bytearray | None = None
    pending_charset = ""
    pos = 0

    def flush() -> None:
        nonlocal pending
        if pending is not None:
            decoded, warns = decode_text(bytes(pending), pending_charset)
            out.append(decoded)
            warnings.extend(warns)
            pending = None

    for m in _ENCODED_WORD.finditer(text):
        between = text[pos : m.start()]
        # RFC 2047 6.2: whitespace between adjacent encoded-words is not displayed.
        if pending is None or between.strip(" \t\r\n"):
            flush()
            out.append(between)
        charset = m.group(1).split("*", 1)[0].lower()
        payload = _decode_word_payload(m.group(2), m.group(3))
        if payload is None:
            flush()
            out.append(m.group(0))
            warnings.append("undecodable encoded-word kept as is")
        elif pending is not None and charset == pending_charset:
            pending += payload
        else:
            flush()
            pending = bytearray(payload)
            pending_charset = charset
        pos = m.end()
    flush()
    out.append(text[pos:])
    return "".join(out), warnings


def decode_unstructured(raw: bytes) -> tuple[str, list[str]]:
    """Subject and other free-text headers: 8-bit bytes, then encoded-words."""
    text, warnings = raw_text(raw)
    decoded, more = decode_encoded_words(text)
    decoded = _LINE_BREAKS.sub(" ", decoded)
    return clean(decoded), warnings + more


def parse_addresses(raw: bytes) -> tuple[list[Address], list[str]]:
    """Parse an address-list header into Address objects; never raises.

    8-bit bytes are decoded before address parsing because CP932 trail bytes can be 0x5C
    (backslash), which would otherwise escape the closing quote of a display name.
    """
    text, warnings = raw_text(raw)
    charset_warnings = list(warnings)
    result: list[Address] = []
    for name, addr in getaddresses([text]):
        name = name.strip()
        addr = addr.strip()
        if not name and not addr:
            continue
        display, more = decode_encoded_words(name)
        warnings.extend(more)
        email = _canonical_addr(addr)
        if not email and addr:
            warnings.append("unparseable address")
            display = display or addr
        result.append(Address(name=clean(display.strip()), email=clean(email)))
    if not result and text.strip() and ":;" not in text:
        display, more = decode_encoded_words(text)
        result.append(Address(name=clean(display.strip()), email=""))
        warnings.extend([*more, "unparseable address"])
    if "unparseable address" in warnings:
        lone = _LONE_MAILBOX.fullmatch(text.strip())
        if lone and _canonical_addr(lone.group(2)):
            # One mailbox whose display name has unquoted specials ("[x]", ":"): getaddresses
            # split it apart, but its angle brackets say unambiguously where the address is.
            display, more = decode_encoded_words(lone.group(1).strip())
            address = Address(name=clean(display.strip()), email=_canonical_addr(lone.group(2)))
            return [address], [
                *charset_warnings,
                *more,
                "display name has unquoted special characters",
            ]
    return result, warnings


# No comma, quote or angle bracket in the name: those would make it a list, not one mailbox.
_LONE_MAILBOX = re.compile(r'([^<>",]*)\s*<([^<>\s,]+)>', re.DOTALL)


def _canonical_addr(addr: str) -> str:
    local, at, domain = addr.rpartition("@")
    if not at or not local or not domain or any(c.isspace() for c in addr):
        return ""
    return f"{local}@{domain.lower()}"


_ID_IN_BRACKETS = re.compile(r"<([^<>]*)>")
# Bracketed ids of printable ASCII (no brackets inside), separated by spaces or folds.
_PLAIN_IDS = re.compile(rb"[ \t\r\n]*(?:<[\x21-\x3b\x3d\x3f-\x7e]+>[ \t\r\n]*)+")
_COMMENT = re.compile(r"\([^()]*\)")


def parse_ids(raw: bytes) -> list[str]:
    """Canonical message ids ("<local@domain>") from Message-ID, In-Reply-To or References.

    Whitespace inside ids is removed (folding inside an id happens in the wild); ids without
    angle brackets are accepted when they look like local@domain; everything else is noise.
    """
    if _PLAIN_IDS.fullmatch(raw):
        # What nearly every mailer sends, for which ids_in() gives exactly these (a test
        # compares the two): a third of its cost, at 160k id fields in an initial sync.
        return list(dict.fromkeys(raw.decode("ascii").split()))
    return ids_in(raw)


def ids_in(raw: bytes) -> list[str]:
    """parse_ids for any header value (parse_ids takes a shortcut for the plain ones)."""
    text = unfold(raw).decode("ascii", "replace")
    ids: list[str] = []
    bracketed = [_WHITESPACE.sub("", m) for m in _ID_IN_BRACKETS.findall(text)]
    if bracketed:
        ids = [i for i in bracketed if i and "\ufffd" not in i]
    else:
        for token in _COMMENT.sub(" ", text).split():
            token = token.strip("<>,;\"'")
            if "@" in token and "\ufffd" not in token and token.count("@") == 1:
                ids.append(token)
    seen: set[str] = set()
    out: list[str] = []
    for i in ids:
        canonical = f"<{i}>"
        if canonical not in seen:
            seen.add(canonical)
            out.append(canonical)
    return out


# Zone names parsedate does not know but Japanese mailers send.
_ZONE_NAMES = [(re.compile(r"\bJST\b"), "+0900"), (re.compile(r"\bKST\b"), "+0900")]


def parse_date(raw: bytes) -> tuple[datetime | None, list[str]]:
    text = unfold(raw).decode("ascii", "replace").strip()
    if not text:
        return None, ["Date header empty"]
    for zone, offset in _ZONE_NAMES:
        text = zone.sub(offset, text)
    try:
        dt = parsedate_to_datetime(text)
    except (ValueError, TypeError, IndexError, OverflowError):
        return None, ["Date header unparseable"]
    if dt.tzinfo is None:
        # "-0000" (RFC 5322 3.3): UTC, local zone unknown.
        dt = dt.replace(tzinfo=UTC)
    elif dt.utcoffset() is not None and abs(dt.utcoffset() or timedelta()) >= timedelta(hours=24):
        return None, ["Date header has an impossible zone offset"]
    return dt, []


def parse_params(raw: bytes) -> tuple[dict[str, str], list[str]]:
    """Parameters of Content-Type/Content-Disposition, with RFC 2231 and encoded-words.

    Handles continuations (``name*0*=``), charset'lang'percent-encoding with any charset this
    package can decode (ISO-2022-JP included), quoted encoded-words (non-standard, but what
    many mailers send) and raw 8-bit values.
    """
    text, warnings = raw_text(raw)
    simple: dict[str, str] = {}
    extended: dict[str, dict[int, tuple[bool, str]]] = {}
    for piece in _split_params(text)[1:]:
        name, eq, value = piece.partition("=")
        if not eq:
            continue
        name = name.strip().lower()
        value = value.strip()
        if len(value) >= 2 and value[0] == '"':
            value = _QUOTED_PAIR.sub(r"\1", value[1:-1] if value.endswith('"') else value[1:])
        m = _EXTENDED_NAME.fullmatch(name)
        if m:
            base = m.group(1)
            index = int(m.group(2)) if m.group(2) is not None else 0
            extended.setdefault(base, {})[index] = (name.endswith("*"), value)
        else:
            simple.setdefault(name, value)
    result: dict[str, str] = {}
    for name, value in simple.items():
        decoded, more = decode_encoded_words(value)
        result[name] = decoded
        warnings.extend(more)
    for name, segments in extended.items():
        charset = ""
        data = bytearray()
        for index in sorted(segments):
            is_encoded, value = segments[index]
            if is_encoded:
                if index == 0 and value.count("'") >= 2:
                    charset, _lang, value = value.split("'", 2)
                data += unquote_to_bytes(value)
            else:
                data += value.encode("utf-8", "surrogateescape")
        decoded, more = decode_text(bytes(data), charset or None)
        warnings.extend(more)
        result[name] = decoded  # RFC 2231 wins over a plain parameter of the same name
    return {k: clean(v) for k, v in result.items()}, warnings


def _split_params(text: str) -> list[str]:
    parts: list[str] = []
    current: list[str] = []
    in_quotes = False
    escaped = False
    for ch in text:
        if escaped:
            current.append(ch)
            escaped = False
        elif ch == "\\" and in_quotes:
            current.append(ch)
            escaped = True
        elif ch == '"':
            current.append(ch)
            in_quotes = not in_quotes
        elif ch == ";" and not in_quotes:
            parts.append("".join(current))
            current = []
        else:
            current.append(ch)
    parts.append("".join(current))
    return parts


__all__ = [
    "clean",
    "decode_encoded_words",
    "decode_unstructured",
    "parse_addresses",
    "parse_date",
    "parse_ids",
    "parse_params",
    "raw_to_bytes",
]
