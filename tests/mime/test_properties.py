"""Property tests: whatever the bytes or MIME tree, the decoder answers and the screen is safe.

Two generators: plain random bytes (with the corpus's interesting fragments mixed in), and
random MIME trees built the way hostile or broken mailers build them (any charset label, any
transfer encoding, duplicate or missing boundaries, message/rfc822 nesting, escape sequences
and bidi controls in every header and body). For each, parse_message and parse_headers must
return, and no display string may carry a control after sanitize_for_terminal.
"""

from __future__ import annotations

import base64
import os
import quopri
import re

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mailtriage.mime import ParsedMessage, parse_headers, parse_message, sanitize_for_terminal

# `make fuzz` runs these long and random (MAILTRIAGE_FUZZ_EXAMPLES, as tests/fuzz); the suite
# runs them short and derandomized, so CI sees the same examples every run.
SETTINGS = settings(
    max_examples=int(os.environ.get("MAILTRIAGE_FUZZ_EXAMPLES", "200")),
    derandomize="MAILTRIAGE_FUZZ_EXAMPLES" not in os.environ,
    deadline=None,
    database=None,  # no .hypothesis/ directory in the work tree
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
# What must never reach a terminal: C0 but \n and \t, DEL, C1 (ESC is C0), bidi controls.
FORBIDDEN = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c]")

HOSTILE = [
    "\x1b[2J",
    "\x1b]52;c;ZWNobyBwd25lZA==\x07",
    "\x1b]8;;https://evil.example/\x1b\\",
    "\x9b31m",
    "\x9d0;title\x9c",
    "\x1bP+q\x1b\\",
    "\u202e",
    "\u2066",
    "\r",
    "\x00",
    "\x07",
    "[bold red]",
    "[/]",
    "[link=https://evil.example]x[/link]",
    "請求書",
    "①㈱髙",
    "ｶﾀｶﾅ",
    "\ud800",
]
CHARSETS = [
    "utf-8",
    "iso-2022-jp",
    "shift_jis",
    "euc-jp",
    "cp932",
    "iso-8859-1",
    "utf-16",
    "x-unknown",
    "bogus-charset",
    "",
]
ENCODINGS = ["7bit", "8bit", "base64", "quoted-printable", "binary", "x-uuencode", "b@se64"]
SUBTYPES = ["mixed", "alternative", "related", "report", "digest", "signed"]
LEAF_TYPES = [
    "text/plain",
    "text/html",
    "text/calendar",
    "image/png",
    "application/pdf",
    "message/delivery-status",
    "text/rfc822-headers",
    "application/octet-stream",
]

hostile_text = st.lists(st.one_of(st.sampled_from(HOSTILE), st.text(max_size=12)), max_size=8).map(
    "".join
)


def _encode(text: str, charset: str) -> bytes:
    try:
        return text.encode(charset or "utf-8", "replace")
    except (LookupError, UnicodeError):
        return text.encode("utf-8", "surrogatepass")


@st.composite
def header_value(draw: st.DrawFn) -> bytes:
    text = draw(hostile_text)
    charset = draw(st.sampled_from(CHARSETS))
    data = _encode(text, charset)
    style = draw(st.sampled_from(["raw", "b", "q", "broken"]))
    if style == "raw":
        return data.replace(b"\r", b" ").replace(b"\n", b" ")
    if style == "b":
        return b"=?" + charset.encode() + b"?B?" + base64.b64encode(data) + b"?="
    if style == "q":
        return b"=?" + charset.encode() + b"?Q?" + quopri.encodestring(data, header=True) + b"?="
    return b"=?" + charset.encode() + b"?B?" + base64.b64encode(data)[:-3]


@st.composite
def leaf(draw: st.DrawFn) -> bytes:
    ctype = draw(st.sampled_from(LEAF_TYPES))
    charset = draw(st.sampled_from(CHARSETS))
    cte = draw(st.sampled_from(ENCODINGS))
    body = _encode(draw(hostile_text), charset)
    if draw(st.booleans()):
        body = draw(st.binary(max_size=64)) + body
    if cte == "base64":
        body = base64.encodebytes(body)
        if draw(st.booleans()):
            body = body[: max(len(body) - draw(st.integers(0, 5)), 0)]  # truncated
    elif cte == "quoted-printable":
        body = quopri.encodestring(body)
    headers = [b"Content-Type: " + ctype.encode() + b"; charset=" + charset.encode()]
    headers.append(b"Content-Transfer-Encoding: " + cte.encode())
    if draw(st.booleans()):
        name = header_value() if draw(st.booleans()) else st.just(b"a/../../etc/passwd")
        headers.append(
            b"Content-Disposition: "
            + draw(st.sampled_from([b"attachment", b"inline", b"bogus"]))
            + b'; filename="'
            + draw(name).replace(b'"', b"")
            + b'"'
        )
    if draw(st.booleans()):
        headers.append(b"Content-ID: <" + draw(st.sampled_from([b"a@b", b"", b"x y"])) + b">")
    return b"\r\n".join(headers) + b"\r\n\r\n" + body


def _multipart(children: list[bytes], subtype: str, boundary: bytes, close: bool) -> bytes:
    head = b"Content-Type: multipart/" + subtype.encode() + b'; boundary="' + boundary + b'"'
    body = b"preamble\r\n"
    for child in children:
        body += b"--" + boundary + b"\r\n" + child + b"\r\n"
    if close:
        body += b"--" + boundary + b"--\r\n"
    return head + b"\r\n\r\n" + body


@st.composite
def multipart(draw: st.DrawFn, children: st.SearchStrategy[list[bytes]]) -> bytes:
    # The same boundary at every depth is legal-looking and confuses naive splitters.
    boundary = draw(st.sampled_from([b"b", b"=_x", b"----=_Part_0", b"", b"a b"]))
    return _multipart(
        draw(children), draw(st.sampled_from(SUBTYPES)), boundary, close=draw(st.booleans())
    )


@st.composite
def rfc822(draw: st.DrawFn, inner: st.SearchStrategy[bytes]) -> bytes:
    return (
        b"Content-Type: message/rfc822\r\n\r\nSubject: "
        + draw(header_value())
        + b"\r\n"
        + (draw(inner))
    )


mime_tree = st.recursive(
    leaf(),
    lambda children: st.one_of(
        multipart(st.lists(children, min_size=0, max_size=4)), rfc822(children)
    ),
    max_leaves=8,
)


@st.composite
def message(draw: st.DrawFn) -> bytes:
    headers = [
        b"From: " + draw(header_value()) + b" <" + draw(st.sampled_from([b"a@b.c", b"x"])) + b">",
        b"To: " + draw(header_value()) + b" <support@example.co.jp>",
        b"Subject: " + draw(header_value()),
        b"Date: " + draw(st.sampled_from([b"Mon, 03 Feb 2025 10:15:00 +0900", b"garbage", b""])),
        b"Message-ID: <" + draw(st.sampled_from([b"m@x", b"", b"\x1b[2J@x"])) + b">",
    ]
    if draw(st.booleans()):  # a malformed line somewhere in the block
        bad = draw(st.sampled_from([b"X Bad: 1", b"no colon", b"Subj\rect: x", b"X-\xff: y"]))
        headers.insert(draw(st.integers(0, len(headers))), bad)
    return b"\r\n".join(headers) + b"\r\nMIME-Version: 1.0\r\n" + draw(mime_tree)


def _display_strings(parsed: ParsedMessage) -> list[str]:
    addresses = parsed.to + parsed.cc + parsed.reply_to + ([parsed.from_] if parsed.from_ else [])
    return [
        parsed.subject,
        parsed.text,
        *(a.name for a in addresses),
        *(a.email for a in addresses),
        *(a.filename for a in parsed.attachments),
        *(a.content_type for a in parsed.attachments),
        *parsed.warnings,
        parsed.message_id or "",
        *parsed.references,
    ]


def _assert_safe(parsed: ParsedMessage) -> None:
    assert isinstance(parsed, ParsedMessage)
    for value in _display_strings(parsed):
        assert isinstance(value, str)
        value.encode("utf-8")  # no lone surrogates: storable and printable
        shown = sanitize_for_terminal(value)
        assert not FORBIDDEN.search(shown), repr(shown)
        assert sanitize_for_terminal(shown) == shown


@SETTINGS
@given(st.binary(max_size=2048))
def test_random_bytes_never_raise_nor_leak(data: bytes) -> None:
    _assert_safe(parse_message(data))
    _assert_safe(parse_headers(data))


@SETTINGS
@given(
    st.lists(
        st.sampled_from(
            [
                *(h.encode("utf-8", "surrogatepass") for h in HOSTILE),
                b"\r\n",
                b"\r\n\r\n",
                b": ",
                b"Content-Type: multipart/mixed; boundary=b\r\n",
                b"--b\r\n",
                b"=?utf-8?B?",
                b"?=",
            ]
        )
        | st.binary(max_size=16),
        max_size=40,
    ).map(b"".join)
)
def test_fragment_soup_never_raises_nor_leaks(data: bytes) -> None:
    _assert_safe(parse_message(data))


@SETTINGS
@given(message())
def test_random_mime_trees_never_raise_nor_leak(data: bytes) -> None:
    parsed = parse_message(data)
    _assert_safe(parsed)
    head = data.split(b"\r\n\r\n", 1)[0]
    _assert_safe(parse_headers(head))


@SETTINGS
@given(hostile_text)
def test_sanitize_leaves_no_control_and_is_idempotent(text: str) -> None:
    shown = sanitize_for_terminal(text)
    assert not FORBIDDEN.search(shown)
    assert sanitize_for_terminal(shown) == shown
    shown.encode("utf-8")


# Fragments ids are made of, and those that must push parse_ids off its shortcut: folds
# inside an id, brackets, non-ASCII, controls Python's str.split() calls whitespace.
ID_FRAGMENTS = [b"<", b">", b" ", b"\t", b"\r\n ", b"\r\n", b"a", b"@", b"x.y", b"(", b")"]
ID_FRAGMENTS += [b",", b'"', b"\x1c", b"\x00", b"\x0b", b"\x7f", b"\xff", "返".encode()]


@SETTINGS
@given(st.lists(st.sampled_from(ID_FRAGMENTS), max_size=16))
def test_parse_ids_shortcut_agrees_with_the_general_path(fragments: list[bytes]) -> None:
    from mailtriage.mime.headers import ids_in, parse_ids

    raw = b"".join(fragments)
    assert parse_ids(raw) == ids_in(raw)
