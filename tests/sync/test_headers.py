"""One decoding truth: the sync's header path agrees with mime.parse_headers, field by field."""

from __future__ import annotations

import itertools
import re
from pathlib import Path

import pytest

from mailtriage.demo.corpus import build_demo_corpus
from mailtriage.imap.commands import parse_fetches
from mailtriage.imap.headers import FIELDS, _date, _fast_addresses, parse_header_fields
from mailtriage.mime import parse_headers
from mailtriage.mime.headers import parse_addresses, parse_date

CORPUS = Path(__file__).parent.parent / "mime" / "corpus"
_FIELD = re.compile(rb"(?m)^(?=[^ \t\r\n])")
_WANTED = {f.lower().encode() for f in FIELDS}


def _as_server_sends(raw: bytes) -> bytes:
    """What BODY.PEEK[HEADER.FIELDS (...)] returns: the chosen fields, then a blank line."""
    head = re.split(rb"\r?\n\r?\n", raw, maxsplit=1)[0] + b"\n"
    kept = [
        chunk.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
        for chunk in _FIELD.split(head)
        if chunk.split(b":", 1)[0].lower() in _WANTED
    ]
    return b"".join(kept) + b"\r\n"


def _messages() -> list[bytes]:
    return [p.read_bytes() for p in sorted(CORPUS.glob("*.eml"))] + [
        m.raw for m in build_demo_corpus(conversations=80)
    ]


@pytest.mark.parametrize(
    "field",
    ["subject", "from_", "to", "cc", "reply_to", "message_id", "in_reply_to", "references"],
)
def test_header_fields_match_parse_headers(field: str) -> None:
    blocks = [_as_server_sends(raw) for raw in _messages()]
    assert len(blocks) > 100
    for block in blocks:
        assert getattr(parse_header_fields(block), field) == getattr(parse_headers(block), field)


def test_dates_and_warnings_match_parse_headers() -> None:
    for raw in _messages():
        block = _as_server_sends(raw)
        fast, reference = parse_header_fields(block), parse_headers(block)
        assert (fast.date, fast.warnings) == (reference.date, reference.warnings)


NAMES = [
    b"",
    b"Taro",
    b"Taro  Yamada",
    b"Taro.Y Jr",
    b'"Yamada, Taro"',
    '"山田 太郎"'.encode(),
    "山田\u3000太郎".encode(),
    b"=?UTF-8?B?5bGx55Sw?= =?UTF-8?B?5aSq6YOO?=",
    b"=?iso-2022-jp?B?GyRCOzNFRBsoQg==?=",
    b'"a\\"b"',
    b"(comment) x",
    b"x;y",
]
ADDRESSES = [b"taro@Example.JP", b"a.b+c@x.co.jp", b"weird@", b"@x", b"a@b@c", b"x y@z"]


def test_fast_address_path_agrees_with_mime() -> None:
    cases = {b"", b"a@b,,c@d", b"undisclosed-recipients:;", b"Taro <a@b>,\r\n Jiro <c@d>"}
    for name, addr in itertools.product(NAMES, ADDRESSES):
        cases |= {name + b" <" + addr + b">", addr, name + b"<" + addr + b">, " + addr}
    taken = 0
    for case in cases:
        fast = _fast_addresses(case)
        if fast is None:
            continue  # left to mime's parser
        taken += 1
        found, warnings = parse_addresses(case)
        assert (list(fast[0]), list(fast[1])) == (found, warnings), case
    assert taken >= 30
    common = [
        b"support@example.co.jp",
        '"山田 太郎" <taro@example.jp>'.encode(),
        b"=?UTF-8?B?5bGx55Sw?= <taro@example.jp>, Bob Stone <bob@example.com>",
    ]
    assert all(_fast_addresses(c) is not None for c in common)


def test_fetch_reader_handles_literals_atoms_and_unsolicited_fetches() -> None:
    data = [
        (b"1 (UID 7 FLAGS (\\Seen mt:later) RFC822.SIZE 120 MODSEQ (9) BODY[] {5}", b"hello"),
        b")",
        b"2 (FLAGS (\\Deleted))",  # unsolicited, no UID: ignored
        b"3 (UID 9 FLAGS () MODSEQ (11))",
    ]
    first, second = parse_fetches(data)
    assert (first.uid, first.flags, first.size, first.modseq, first.literal) == (
        7,
        ["\\Seen", "mt:later"],
        120,
        9,
        b"hello",
    )
    assert (second.uid, second.flags, second.modseq, second.literal) == (9, [], 11, None)


@pytest.mark.parametrize(
    "raw",
    [
        b"Tue, 20 Nov 2026 09:00:00 +0900",
        b"20 Nov 2026 09:00 -0000",
        b"Tue, 2 Nov 2026 09:00:00 -0530",
        b" Tue, 20 Nov 2026 09:00:00 +0000\r\n",
        b"Mon, 31 Feb 2026 09:00:00 +0000",  # impossible day: mime words the warning
        b"Tue, 20 Nov 2026 09:00:00 +2400",  # impossible offset
        b"Tue, 20 Nov 0099 00:00:00 +0900",  # two-digit-year rules
        b"Tue, 20 Nov 2026 09:00:00 JST",
    ],
)
def test_fast_date_path_agrees_with_mime(raw: bytes) -> None:
    assert _date(raw) == parse_date(raw)
