"""parse_message / parse_headers / extract_attachment: raw RFC 5322 bytes to ParsedMessage.

``email`` with ``policy.default`` parses the MIME structure; header values, parameters and
payload charsets are decoded by ``headers`` and ``charsets`` from the raw bytes, because the
stdlib's own decoding loses Japanese text (see those modules). Every step that can fail on
hostile input is fenced so one bad header or part costs a warning, not the message.
"""

from __future__ import annotations

import binascii
import dataclasses
import functools
import re
from collections import Counter
from collections.abc import Callable
from datetime import datetime
from email import errors, policy
from email.message import Message
from email.parser import BytesParser
from email.policy import EmailPolicy
from typing import TypeVar

from .charsets import decode_text, detect
from .headers import (
    clean,
    decode_unstructured,
    parse_addresses,
    parse_date,
    parse_ids,
    parse_params,
    raw_text,
    raw_to_bytes,
)
from .html2text import html_to_text
from .model import Address, Attachment, ParsedMessage

T = TypeVar("T")

_MAX_DEPTH = 40
# Bytes written back out for an attached message: keep the sender's folding untouched.
_AS_BYTES_POLICY = policy.default.clone(refold_source="none", max_line_length=0)
# A text/plain alternative that only tells you to look at the HTML one.
_STUB_HINT = re.compile(r"html", re.IGNORECASE)
_STUB_WORDS = re.compile(
    r"message|e-?mail|client|view|support|display|browser|メール|表示|形式|閲覧", re.IGNORECASE
)
_VIEW_ONLINE = re.compile(
    r"(?:view|read|open|see)\b.{0,40}\b(?:browser|online|web)|ブラウザ|ウェブ版|Web版",
    re.IGNORECASE,
)
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""", re.I)
_BOUNDARY_LINE = re.compile(rb"^--([\x21-\x7e]{1,70}?)(?:--)?[ \t]*\r?$", re.MULTILINE)
_NOT_BASE64 = re.compile(rb"[^A-Za-z0-9+/]")
_NOT_BASE64_OR_PAD = re.compile(r"[^A-Za-z0-9+/=]")
_WHITESPACE = re.compile(rb"\s+")
# A header block with nothing to mend (the common case): fields and folds, then a blank line.
_CLEAN_HEAD = re.compile(
    rb"(?:From [^\r\n]*\r?\n)?(?:(?:[\x21-\x39\x3b-\x7e]+:|[ \t])[^\r\n]*\r?\n)*(?:\r?\n|\Z)"
)
_FIELD_LINE = re.compile(rb"[\x21-\x39\x3b-\x7e]+:")
_SPACED_NAME = re.compile(rb"([\x21-\x39\x3b-\x7e]+)[ \t]+:")


# --- a policy.default that does not re-parse the same header over and over -----------------
#
# Message.get_content_type(), get_boundary() and get_payload() re-parse Content-Type or
# Content-Transfer-Encoding through the header registry on every call, and the parser and the
# walk below call them about twenty times per message: that was most of parse_message's time.
# Those methods only ever use str() of the header object, so for headers simple enough that
# str() is known in advance it is built directly, and everything else is parsed once and
# memoised. Results stay exactly policy.default's, including its quirks on broken headers
# (compat32 would answer differently there).

_TOKEN = r"[!#$&+\-.0-9A-Z^_`a-z{|}~]+"  # RFC 2045 token, minus the RFC 2231 * ' %
_QUOTED = r'"[!#-\[\]-~]+"'  # no space, backslash or quote, so it needs no re-quoting
_SIMPLE_CTYPE = re.compile(rf"{_TOKEN}/{_TOKEN}(?:;[ \t]*{_TOKEN}=(?:{_TOKEN}|{_QUOTED}))*")
_SIMPLE_PARAM = re.compile(rf"[ \t]*({_TOKEN})=\"?([^\"]+)\"?")
_SIMPLE_TOKEN = re.compile(_TOKEN)
_LINE_BREAK = re.compile(r"\n|\r")  # what EmailPolicy.header_fetch_parse unfolds


def _simple_ctype_str(value: str) -> str | None:
    """str() of policy.default's Content-Type header for a plain value; None if not plain.

    The header object renders as the verbatim type, then parameters re-serialised as
    ``; name="value"`` joined by ``"; "``. Duplicate names and encoded-words change that, so
    they take the slow path.
    """
    if not _SIMPLE_CTYPE.fullmatch(value) or "=?" in value:
        return None
    head, _, rest = value.partition(";")
    if not rest:
        return head
    params = [_SIMPLE_PARAM.fullmatch(piece) for piece in rest.split(";")]
    names = {m.group(1).lower() for m in params if m}
    if len(names) != len(params):
        return None
    return head + "; " + "; ".join(f'{m.group(1)}="{m.group(2)}"' for m in params if m)


@functools.lru_cache(maxsize=1024)
def _fetch_header(name: str, value: str) -> object:
    # Header objects are immutable, so one can be shared by every message that has it.
    value = "".join(_LINE_BREAK.split(value))
    lower = name.lower()
    if lower == "content-type":
        simple = _simple_ctype_str(value)
        if simple is not None:
            return simple
    elif lower == "content-transfer-encoding" and _SIMPLE_TOKEN.fullmatch(value):
        return value
    return policy.default.header_factory(name, value)


class _FastPolicy(EmailPolicy):
    def header_fetch_parse(self, name: str, value: str) -> object:
        if hasattr(value, "name"):
            return value
        return _fetch_header(name, value)


_PARSE_POLICY = _FastPolicy()


class _RescuedBoundary(errors.MessageDefect):
    """Marks a multipart that _rescue_boundaries re-split."""


class _Compat32Fallback(errors.MessageDefect):
    """Marks a message that policy.default could not parse."""


class _HeaderLineDefect(errors.MessageDefect):
    """A header line repair_header_block mended; str() is the warning."""


_DEFECT_WARNINGS: dict[type[errors.MessageDefect], str] = {
    errors.StartBoundaryNotFoundDefect: "multipart boundary not found",
    errors.CloseBoundaryNotFoundDefect: "multipart closing boundary missing",
    errors.NoBoundaryInMultipartDefect: "multipart without a boundary parameter",
    errors.InvalidBase64PaddingDefect: "base64 data truncated or badly padded",
    errors.InvalidBase64CharactersDefect: "base64 data has invalid characters",
    errors.InvalidBase64LengthDefect: "base64 data truncated",
    errors.MissingHeaderBodySeparatorDefect: "no blank line after the headers",
    _Compat32Fallback: "MIME structure parsed with the lenient compat32 parser",
}


def parse_message(raw: bytes) -> ParsedMessage:
    """Parse a whole message. Never raises, whatever the bytes."""
    return _parse_safely(raw, headers_only=False)


def parse_headers(raw_header_bytes: bytes) -> ParsedMessage:
    """Parse a header block only: ``text`` is empty and there are no attachments. Never raises."""
    return _parse_safely(raw_header_bytes, headers_only=True)


def extract_attachment(raw: bytes, part_index: int) -> bytes:
    """The decoded payload of the part at ``part_index`` (its position in ``msg.walk()``).

    An attached message (message/rfc822) comes back as message bytes. Raises IndexError if
    the message has no such part.
    """
    msg = _load(_as_bytes(raw), headers_only=False)
    for index, part in enumerate(msg.walk()):
        if index == part_index:
            return _payload(part)
    raise IndexError(f"message has no part {part_index}")


def _as_bytes(raw: object) -> bytes:
    if isinstance(raw, bytes):
        return raw
    if isinstance(raw, bytearray | memoryview):
        return bytes(raw)
    if isinstance(raw, str):
        return raw.encode("utf-8", "surrogateescape")
    return b""


def _parse_safely(raw: bytes, *, headers_only: bool) -> ParsedMessage:
    data = _as_bytes(raw)
    try:
        return _parse(data, headers_only=headers_only)
    except Exception as exc:  # the last fence: a message must never take the app down
        why = str(exc) if isinstance(exc, TooDeep) else type(exc).__name__
        warning = f"message could not be parsed ({why}); shown as raw text"
        if headers_only:
            return ParsedMessage(warnings=[warning])
        # The header block alone usually parses: keep the subject and sender for the list.
        head = _parse_safely(re.split(rb"\r?\n\r?\n", data, maxsplit=1)[0], headers_only=True)
        return dataclasses.replace(head, text=clean(detect(data)[0]), warnings=[warning])


# The stdlib parser's cost grows with nesting (≈ 5 ms a level here) until it hits the
# recursion limit near 1,000 levels: a 10,000-deep message took 10 s to end as raw text.
# Real mail nests a few levels; a hundred multipart containers is already absurd.
MAX_MULTIPARTS = 100
_BOUNDARY_PARAM = re.compile(rb"boundary\s*\*?\d*\*?\s*=", re.IGNORECASE)


class TooDeep(ValueError):
    """More multipart containers than MAX_MULTIPARTS: not parsed as MIME at all."""


def _load(data: bytes, *, headers_only: bool) -> Message:
    if not headers_only and len(_BOUNDARY_PARAM.findall(data, 0)) > MAX_MULTIPARTS:
        raise TooDeep(f"more than {MAX_MULTIPARTS} nested MIME parts")
    data, repairs = repair_header_block(data)
    try:
        msg = BytesParser(policy=_PARSE_POLICY).parsebytes(data, headersonly=headers_only)
    except Exception:
        # policy.default's header registry can raise while the parser inspects a malformed
        # Content-Type; compat32 reads parameters the old, lenient way.
        msg = BytesParser(policy=policy.compat32).parsebytes(data, headersonly=headers_only)
        msg.defects.append(_Compat32Fallback())
    msg.defects.extend(_HeaderLineDefect(text) for text in repairs)
    if not headers_only:
        _rescue_boundaries(msg)
    return msg


def repair_header_block(data: bytes) -> tuple[bytes, list[str]]:
    """Mend the top-level header block line by line so one bad line costs one warning.

    The stdlib parser ends the headers at the first line that is neither ``name:`` nor a
    continuation, and a bare CR counts as a line end there: one such line pushes every
    following header (Subject, Date, Content-Type...) into the body. Here a bare CR becomes a
    space, a line whose name has an illegal character is dropped, a name with space before
    its colon (RFC 5322 obs-syntax) is kept, and a line with no name joins the field above,
    as a lost fold would. A bad line is only treated as a header when a real header follows
    it before the blank line; otherwise it is where the body starts (no separator).
    """
    match = _CLEAN_HEAD.match(data)
    # split + len is C speed; a [^\n]{999} regex search took 15 ms on a 200 KB header block
    if match is not None and max(map(len, data[: match.end()].split(b"\n"))) <= 999:
        return data, []
    lines = data.split(b"\n")
    end = next((i for i, line in enumerate(lines) if line in (b"", b"\r")), len(lines))
    starts = [i for i in range(end) if _FIELD_LINE.match(lines[i]) or _SPACED_NAME.match(lines[i])]
    last_field = starts[-1] if starts else -1
    warnings: list[str] = []
    out: list[bytes] = []
    for number, line in enumerate(lines[:end], 1):
        index = number - 1
        if len(line.rstrip(b"\r")) > 998:
            warnings.append(f"header line {number} longer than 998 bytes")
        if index == 0 and line.startswith(b"From "):
            out.append(line)  # mbox separator: the stdlib parser knows it
            continue
        body = line[:-1] if line.endswith(b"\r") else line
        if b"\r" in body:
            warnings.append(f"header line {number}: bare CR read as a space")
            line = body.replace(b"\r", b" ") + line[len(body) :]
        if line[:1] in (b" ", b"\t") or _FIELD_LINE.match(line):
            out.append(line)
        elif index > last_field:
            return _join_lines(out, lines[index:]), warnings  # the body starts here
        elif (spaced := _SPACED_NAME.match(line)) is not None:
            warnings.append(f"header line {number}: space before the colon removed")
            out.append(spaced.group(1) + b":" + line[spaced.end() :])
        elif b":" in line:
            warnings.append(f"header line {number} dropped: illegal character in the field name")
        elif out:
            warnings.append(f"header line {number} has no field name; joined to the one above")
            out.append(b" " + line)
        else:
            warnings.append(f"header line {number} dropped: no field name")
    return _join_lines(out, lines[end:]), warnings


def _join_lines(head: list[bytes], rest: list[bytes]) -> bytes:
    return b"\n".join(head + rest)


def _rescue_boundaries(msg: Message) -> None:
    """Re-split a multipart whose declared boundary never appears, using the one that does.

    Mailers that rewrite the header but not the body (or quote the parameter wrongly) leave a
    multipart whose whole body is one opaque string. Doing this inside ``_load`` keeps part
    indices identical between parse_message and extract_attachment.
    """
    for part in list(msg.walk()):
        if part.is_multipart() or not _safe(part.get_content_maintype, "").startswith("multipart"):
            continue
        # get_payload() without decode=True would turn 8-bit bytes into U+FFFD
        data = _safe(lambda part=part: part.get_payload(decode=True), None)
        if not isinstance(data, bytes):
            continue
        candidates = _BOUNDARY_LINE.findall(data)
        if not candidates:
            continue
        # most_common keeps first-seen order among ties: the same input gives the same parse
        # on every run and every machine (a set's order would follow the hash seed).
        boundary = Counter(candidates).most_common(1)[0][0]
        wrapper = b'Content-Type: multipart/mixed; boundary="' + boundary + b'"\r\n\r\n' + data
        sub = BytesParser(policy=_PARSE_POLICY).parsebytes(wrapper)
        subparts = sub.get_payload()
        if sub.is_multipart() and isinstance(subparts, list) and subparts:
            part.set_payload(subparts)
            part.defects.append(_RescuedBoundary())


def _children(part: Message) -> list[Message]:
    payload = part.get_payload() if part.is_multipart() else None
    return [c for c in payload if isinstance(c, Message)] if isinstance(payload, list) else []


def _safe(fn: Callable[[], T], default: T) -> T:
    try:
        return fn()
    except Exception:
        return default


def _raw_header(part: Message, name: str) -> bytes | None:
    for key, value in part.raw_items():
        if key.lower() == name:
            return raw_to_bytes(value)
    return None


def _raw_header_map(part: Message) -> dict[str, list[str]]:
    """Every raw header value by lower-cased name, in order: one pass instead of one per lookup."""
    found: dict[str, list[str]] = {}
    for key, value in part.raw_items():
        found.setdefault(key.lower(), []).append(value)
    return found


def _parse(data: bytes, *, headers_only: bool) -> ParsedMessage:
    result = ParsedMessage()
    if not data.strip():
        result.warnings.append("empty message")
        return result
    msg = _load(data, headers_only=headers_only)
    _fill_headers(msg, result)
    if not headers_only:
        # Only the full parse reports them: parse_headers must answer like the sync's header
        # fetch, which reads the server's copy of a few fields and never sees the others.
        result.warnings.extend(str(d) for d in msg.defects if isinstance(d, _HeaderLineDefect))
        _fill_body(msg, result)
        _collect_defects(msg, result)
    result.warnings = list(dict.fromkeys(result.warnings))
    return result


def _fill_headers(msg: Message, result: ParsedMessage) -> None:
    warnings = result.warnings
    headers = _raw_header_map(msg)

    def guarded(name: str, fn: Callable[[bytes], T], fallback: Callable[[str], T]) -> T | None:
        values = headers.get(name)
        if not values:
            return None
        if name in ("to", "cc", "references"):
            raw = b", ".join(raw_to_bytes(v) for v in values)
        else:
            raw = raw_to_bytes(values[0])
        try:
            return fn(raw)
        except Exception:
            warnings.append(f"{name} header could not be parsed; kept raw")
            text = clean(raw_text(raw)[0]) if raw else ""
            return fallback(text)

    def unstructured(raw: bytes) -> str:
        text, warns = decode_unstructured(raw)
        warnings.extend(f"Subject: {w}" for w in warns)
        return text

    def addresses(label: str) -> Callable[[bytes], list[Address]]:
        def run(raw: bytes) -> list[Address]:
            found, warns = parse_addresses(raw)
            warnings.extend(f"{label}: {w}" for w in warns)
            return found

        return run

    def raw_address(text: str) -> list[Address]:
        return [Address(name=text, email="")] if text else []

    def no_ids(_text: str) -> list[str]:
        return []

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

    def date(raw: bytes) -> object:
        value, warns = parse_date(raw)
        warnings.extend(warns)
        return value

    parsed_date = guarded("date", date, lambda _t: None)
    if "date" not in headers:
        warnings.append("Date header missing")
    result.date = parsed_date if isinstance(parsed_date, datetime) else None


# --- body and attachments ------------------------------------------------------------------


class _Walk:
    """State shared while walking one message's parts."""

    def __init__(self, msg: Message, result: ParsedMessage) -> None:
        self.index = {id(p): i for i, p in enumerate(msg.walk())}
        self.result = result
        # The walk asks about the same part many times; the parts do not change meanwhile.
        self._headers: dict[int, dict[str, list[str]]] = {}
        self._ctypes: dict[int, str] = {}
        self._params: dict[tuple[int, str], dict[str, str]] = {}

    def warn(self, part: Message, text: str) -> None:
        self.result.warnings.append(f"part {self.index.get(id(part), '?')}: {text}")

    def raw_header(self, part: Message, name: str) -> bytes | None:
        headers = self._headers.get(id(part))
        if headers is None:
            headers = self._headers[id(part)] = _raw_header_map(part)
        values = headers.get(name)
        return raw_to_bytes(values[0]) if values else None

    def content_type(self, part: Message) -> str:
        ctype = self._ctypes.get(id(part))
        if ctype is None:
            ctype = self._ctypes[id(part)] = _safe(part.get_content_type, "text/plain")
        return ctype

    def params(self, part: Message, header: str) -> dict[str, str]:
        key = (id(part), header)
        params = self._params.get(key)
        if params is None:
            # Warnings are given once: _parse drops repeats of a warning anyway.
            params = self._params[key] = _params(part, header, self)
        return params


def _fill_body(msg: Message, result: ParsedMessage) -> None:
    walk = _Walk(msg, result)
    body = _body_of(msg, walk, 0)
    if body is not None:
        result.text, result.text_from_html = clean(body[0]), body[1]
    _collect_attachments(msg, walk, 0, in_related=False)


def _disposition(part: Message, walk: _Walk) -> str:
    raw = walk.raw_header(part, "content-disposition")
    if not raw:
        return ""
    return raw.split(b";", 1)[0].strip().decode("ascii", "replace").lower()


def _params(part: Message, header: str, walk: _Walk) -> dict[str, str]:
    raw = walk.raw_header(part, header)
    if not raw:
        return {}
    try:
        params, warns = parse_params(raw)
    except Exception:
        walk.warn(part, f"{header} parameters unparseable")
        return {}
    for w in warns:
        walk.warn(part, w)
    return params


def _filename(part: Message, walk: _Walk) -> str:
    name = walk.params(part, "content-disposition").get("filename", "")
    if not name:
        name = walk.params(part, "content-type").get("name", "")
    return name.strip()


def _is_attachment(part: Message, walk: _Walk) -> bool:
    return _disposition(part, walk) == "attachment" or bool(_filename(part, walk))


def _payload(part: Message) -> bytes:
    if part.is_multipart() and _safe(part.get_content_maintype, "") == "message":
        inner = part.get_payload()
        if isinstance(inner, list) and inner:
            return b"".join(
                _safe(lambda m=m: m.as_bytes(policy=_AS_BYTES_POLICY), b"") for m in inner
            )
        return b""
    if _transfer_encoding(part) == "base64":
        raw = part.get_payload()
        if isinstance(raw, str):
            return _lenient_b64decode(raw_to_bytes(raw))
    payload = part.get_payload(decode=True)
    if isinstance(payload, bytes):
        return payload
    raw = part.get_payload()
    return raw_to_bytes(raw) if isinstance(raw, str) else b""


def _transfer_encoding(part: Message) -> str:
    raw = _raw_header(part, "content-transfer-encoding") or b""
    return raw.strip().decode("ascii", "replace").lower()


def _lenient_b64decode(data: bytes) -> bytes:
    """Decode base64 keeping every whole byte of a truncated or damaged payload.

    The stdlib gives up on a payload whose length is not a multiple of four and returns the
    base64 text itself; a cut-off message should still show what arrived.
    """
    cleaned = _NOT_BASE64.sub(b"", data)
    if len(cleaned) % 4 == 1:
        cleaned = cleaned[:-1]
    return binascii.a2b_base64(cleaned + b"=" * (-len(cleaned) % 4))


def _text_of(part: Message, walk: _Walk, ctype: str) -> tuple[str, bool]:
    data = _safe(lambda: _payload(part), b"")
    charset = walk.params(part, "content-type").get("charset") or None
    is_html = ctype == "text/html"
    if is_html and charset is None:
        m = _META_CHARSET.search(data[:4096])
        if m:
            charset = m.group(1).decode("ascii")
    text, warns = decode_text(data, charset)
    for w in warns:
        walk.warn(part, w)
    if is_html:
        return html_to_text(text), True
    return text.replace("\r\n", "\n"), False


def _is_stub(text: str, richer: str = "") -> bool:
    stripped = text.strip()
    if not stripped:
        return True
    if len(stripped) >= 300:
        return False
    if _STUB_HINT.search(stripped) and _STUB_WORDS.search(stripped):
        return True
    # "View this email in your browser" alone is not enough: a short real answer may say it
    # too, so it only counts as a stub when the HTML part carries much more.
    return bool(_VIEW_ONLINE.search(stripped)) and len(richer.strip()) > 3 * len(stripped)


def _body_of(part: Message, walk: _Walk, depth: int) -> tuple[str, bool] | None:
    if depth > _MAX_DEPTH:
        walk.warn(part, "nested too deeply; ignored")
        return None
    ctype = walk.content_type(part)
    if part.is_multipart():
        children = _children(part)
        if ctype.startswith("message/"):
            return None  # a forwarded message is listed as an attachment
        if ctype == "multipart/alternative":
            return _pick_alternative(children, walk, depth)
        if ctype == "multipart/related":
            root = _related_root(part, children, walk)
            return _body_of(root, walk, depth + 1) if root is not None else None
        pieces: list[tuple[str, bool]] = []
        for child in children:
            if _is_attachment(child, walk):
                continue
            found = _body_of(child, walk, depth + 1)
            if found is not None and found[0].strip():
                pieces.append(found)
        if not pieces:
            return None
        return "\n\n".join(p[0].strip("\n") for p in pieces), any(p[1] for p in pieces)
    if _is_attachment(part, walk):
        return None
    if ctype in ("text/plain", "text/html"):
        return _text_of(part, walk, ctype)
    if ctype.startswith("multipart/"):
        walk.warn(part, "multipart could not be split; shown as text")
        return _text_of(part, walk, "text/plain")
    return None


def _pick_alternative(children: list[Message], walk: _Walk, depth: int) -> tuple[str, bool] | None:
    plain: tuple[str, bool] | None = None
    rich: tuple[str, bool] | None = None
    for child in children:
        if _is_attachment(child, walk):
            continue
        found = _body_of(child, walk, depth + 1)
        if found is None:
            continue
        if not found[1] and plain is None:
            plain = found
        elif found[1] and found[0].strip():
            rich = found  # RFC 2046: later alternatives are the richer ones
    if plain is not None and not _is_stub(plain[0], rich[0] if rich else ""):
        return plain
    return rich or plain


def _related_root(part: Message, children: list[Message], walk: _Walk) -> Message | None:
    start = walk.params(part, "content-type").get("start", "").strip().strip("<>")
    if start:
        for child in children:
            if (_content_id(child, walk) or "") == start:
                return child
    return children[0] if children else None


def _content_id(part: Message, walk: _Walk) -> str | None:
    raw = walk.raw_header(part, "content-id")
    if raw is None:
        return None
    value = _WHITESPACE.sub(b"", raw).strip(b"<>").decode("ascii", "replace")
    return clean(value) or None


def _collect_attachments(part: Message, walk: _Walk, depth: int, *, in_related: bool) -> None:
    if depth > _MAX_DEPTH:
        return
    ctype = walk.content_type(part)
    is_message = ctype.startswith("message/") and part.is_multipart()
    if part.is_multipart() and not is_message:
        for child in _children(part):
            _collect_attachments(child, walk, depth + 1, in_related=ctype == "multipart/related")
        return
    filename = _filename(part, walk)
    disposition = _disposition(part, walk)
    is_body_text = ctype in ("text/plain", "text/html") or ctype.startswith("multipart/")
    if not (disposition == "attachment" or filename or not is_body_text or is_message):
        return
    content_id = _content_id(part, walk)
    size = len(_safe(lambda: _payload(part), b""))
    inline = disposition == "inline" or (not disposition and in_related and content_id is not None)
    walk.result.attachments.append(
        Attachment(
            filename=filename,
            content_type=ctype,
            size=size,
            inline=inline,
            content_id=content_id,
            part_index=walk.index.get(id(part), -1),
        )
    )


def _collect_defects(msg: Message, result: ParsedMessage) -> None:
    for index, part in enumerate(msg.walk()):
        rescued = any(isinstance(d, _RescuedBoundary) for d in part.defects)
        for defect in part.defects:
            text = _DEFECT_WARNINGS.get(type(defect))
            if text is None:
                continue
            if rescued and isinstance(defect, errors.StartBoundaryNotFoundDefect):
                text += "; split at the boundary found in the body"
            result.warnings.append(f"part {index}: {text}" if index else text)
        if _b64_truncated(part):
            result.warnings.append(f"part {index}: base64 data truncated")


def _b64_truncated(part: Message) -> bool:
    if part.is_multipart() or _transfer_encoding(part) != "base64":
        return False
    raw = part.get_payload()
    if not isinstance(raw, str):
        return False
    cleaned = _NOT_BASE64_OR_PAD.sub("", raw)
    return len(cleaned) % 4 != 0
