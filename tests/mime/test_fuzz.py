"""Mutation fuzzing of the corpus: parse_message must never raise and always return str fields."""

from __future__ import annotations

import random
from pathlib import Path

from mailtriage.mime import Address, ParsedMessage, parse_headers, parse_message

CORPUS = sorted((Path(__file__).parent / "corpus").glob("*.eml"))
INTERESTING = [
    b"\r\n",
    b"\r\n\r\n",
    b"=?",
    b"?=",
    b"=?UTF-8?B?",
    b"=?iso-2022-jp?B?GyRC",
    b"\x1b$B",
    b"\x1b(B",
    b"--",
    b"boundary=",
    b"Content-Type: multipart/mixed; boundary=x\r\n",
    b"Content-Transfer-Encoding: base64\r\n",
    b"filename*0*=utf-8''%E3",
    b"charset=",
    b";",
    b'"',
    b"\\",
    b"<",
    b">",
    b"\x00",
    b"\xff",
    b"\x82\xa0",
    b"\x1b]52;c;",
]


def _mutate(data: bytes, rng: random.Random) -> bytes:
    buf = bytearray(data)
    for _ in range(rng.randint(1, 8)):
        op = rng.randrange(5)
        pos = rng.randint(0, len(buf))
        if op == 0 and buf:
            del buf[pos : pos + rng.randint(1, 64)]
        elif op == 1:
            buf[pos:pos] = rng.choice(INTERESTING)
        elif op == 2 and buf:
            buf[min(pos, len(buf) - 1)] = rng.randrange(256)
        elif op == 3 and buf:
            start = rng.randint(0, len(buf) - 1)
            buf[pos:pos] = buf[start : start + rng.randint(1, 200)]
        else:
            buf = buf[: rng.randint(0, len(buf))]
    return bytes(buf)


def _check(parsed: ParsedMessage) -> None:
    assert isinstance(parsed, ParsedMessage)
    assert isinstance(parsed.subject, str)
    assert isinstance(parsed.text, str)
    assert isinstance(parsed.text_from_html, bool)
    assert parsed.message_id is None or isinstance(parsed.message_id, str)
    assert all(isinstance(i, str) for i in parsed.in_reply_to + parsed.references)
    assert all(isinstance(w, str) for w in parsed.warnings)
    addrs = parsed.to + parsed.cc + parsed.reply_to + ([parsed.from_] if parsed.from_ else [])
    for a in addrs:
        assert isinstance(a, Address) and isinstance(a.name, str) and isinstance(a.email, str)
    for att in parsed.attachments:
        assert isinstance(att.filename, str) and isinstance(att.size, int)
    assert parsed.date is None or parsed.date.tzinfo is not None
    # every string must be storable and printable: no lone surrogates
    for s in [parsed.subject, parsed.text, *(a.name for a in addrs)]:
        s.encode("utf-8")


def test_mutated_corpus_never_raises() -> None:
    rng = random.Random(20250203)
    seeds = [p.read_bytes() for p in CORPUS]
    for _ in range(400):
        data = _mutate(rng.choice(seeds), rng)
        _check(parse_message(data))
        _check(parse_headers(data.split(b"\r\n\r\n", 1)[0]))


def test_random_bytes_never_raise() -> None:
    rng = random.Random(7)
    for _ in range(100):
        data = bytes(rng.randrange(256) for _ in range(rng.randint(0, 400)))
        _check(parse_message(data))
