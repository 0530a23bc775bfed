"""The parser's header shortcut must answer exactly as policy.default does.

Message.get_content_type(), get_boundary() and get_payload() only use str() of a fetched
header, so str() (or the exception raised) is what has to agree.
"""

from __future__ import annotations

import random
from email import policy

import pytest

from mailtriage.mime.parse import _PARSE_POLICY

CASES = [
    ("Content-Type", "text/plain"),
    ("Content-Type", "Text/HTML; charset=UTF-8"),
    ("Content-Type", 'multipart/alternative;\r\n\tboundary="----=_NextPart_000_0EB3_01DA.CC49"'),
    ("Content-Type", 'multipart/report; report-type=delivery-status;\tboundary="a/b"'),
    ("Content-Type", "text/plain; charset=us-ascii; charset=utf-8"),
    ("Content-Type", "text/plain; Charset=a; charset=b"),
    ("Content-Type", 'text/plain; name="=?UTF-8?B?w6k=?="'),
    ("Content-Type", "text/plain; name*=utf-8''%C3%A9"),
    ("Content-Type", 'text/plain; name="a b"'),
    ("Content-Type", 'text/plain; name=""'),
    ("Content-Type", 'text/plain; name="a\\"b"'),
    ("Content-Type", "text/plain;"),
    ("Content-Type", "text/plain (comment); charset=x"),
    ("Content-Type", "text"),
    ("Content-Type", ""),
    ("Content-Type", "text/plain; charset=\udce9"),
    ("Content-Transfer-Encoding", "base64"),
    ("Content-Transfer-Encoding", "Quoted-Printable"),
    ("Content-Transfer-Encoding", "base64 (comment)"),
    ("Content-Transfer-Encoding", ""),
]
PIECES = [
    *("text", "plain", "/", ";", " ", "\t", "=", '"', "charset", "UTF-8", "boundary", "-=_P.1"),
    *("name", "*", "'", "%", "=?", "?=", "(", ")", "\\", ",", "\r\n ", "é", "\udce9", ":", "?"),
]
PARAM_VALUES = [
    *("UTF-8", '"UTF-8"', '"----=_Part.1"', "a", '"a b"', '""', '"=?x?="', '"a\\"b"', "a*b"),
    *('"%41"', "'x'", '"é"', '"a/b"', "a(b)", "a b", '"x" y'),
]


def _answer(pol: policy.Policy, name: str, value: str) -> tuple[str, str]:
    try:
        return "ok", str(pol.header_fetch_parse(name, value))
    except Exception as exc:
        return "raised", type(exc).__name__


def _random_cases(count: int) -> list[tuple[str, str]]:
    """Half free-form noise, half well-formed values with a near miss here and there."""
    rng = random.Random(2031)
    cases = []
    for _ in range(count):
        if rng.random() < 0.5:
            name = rng.choice(["Content-Type", "content-transfer-encoding"])
            cases.append((name, "".join(rng.choice(PIECES) for _ in range(rng.randint(1, 12)))))
            continue
        value = rng.choice(["text/plain", "Text/HTML", "multipart/mixed", "a/b"])
        for _ in range(rng.randint(0, 3)):
            value += ";" + rng.choice(["", " ", "\t", " \t", "\r\n "])
            value += rng.choice(["charset", "Charset", "boundary", "name", "x-a"]) + "="
            value += rng.choice(PARAM_VALUES)
        cases.append(("Content-Type", value))
    return cases


@pytest.mark.parametrize(("name", "value"), CASES)
def test_matches_policy_default(name: str, value: str) -> None:
    assert _answer(_PARSE_POLICY, name, value) == _answer(policy.default, name, value)


def test_matches_policy_default_on_random_values() -> None:
    differ = [
        (name, value)
        for name, value in _random_cases(2000)
        if _answer(_PARSE_POLICY, name, value) != _answer(policy.default, name, value)
    ]
    assert differ == []


def test_plain_headers_skip_the_registry() -> None:
    for value in ("text/plain; charset=UTF-8", 'multipart/mixed; boundary="----=_Part_1.2"'):
        assert type(_PARSE_POLICY.header_fetch_parse("Content-Type", value)) is str
