"""The outgoing message: headers, threading, charsets, attachments, and no header injection."""

from __future__ import annotations

import email
import email.policy
from datetime import datetime
from pathlib import Path

import pytest

from mailtriage.compose.message import (
    Addr,
    AttachmentFile,
    ComposeError,
    build_forward,
    build_reply,
    choose_charset,
    encoding_warnings,
    from_address,
    header_text,
    to_bytes,
)
from mailtriage.mime.parse import parse_message

SENDER = from_address("support@example.co.jp", "Example Support")
NOW = datetime.fromisoformat("2026-11-21T10:00:00+09:00")


def _conv(**original: object) -> dict:
    first = {
        "message_id": "<q1@example.jp>",
        "from": {"name": "山田 太郎", "email": "taro@example.jp"},
        "to": [{"name": "", "email": "support@example.co.jp"}],
        "cc": [{"name": "鈴木", "email": "suzuki@example.jp"}],
        "date": "2026-11-20T09:00:00+09:00",
        "subject": "ログインできません",
        "inbound": True,
        "text": "ログインできません。\n",
    }
    ours = {"message_id": "<r1@example.co.jp>", "inbound": False, "text": "受付", "from": {}}
    second = dict(first, message_id="<q2@example.jp>", subject="Re: ログインできません")
    second.update(original)
    return {
        "id": "K3F9Q2AB",
        "key": "k" * 40,
        "subject": "ログインできません",
        "customer": first["from"],
        "messages": [first, ours, second],
    }


def _parsed(raw: bytes) -> email.message.EmailMessage:
    return email.message_from_bytes(raw, policy=email.policy.default)  # type: ignore[return-value]


def test_reply_headers_and_threading() -> None:
    msg = build_reply(_conv(), sender=SENDER, body="本文", now=NOW, signature="署名")
    raw, warnings = to_bytes(msg)
    assert warnings == []
    assert b"\r\n" in raw and b"\n" not in raw.replace(b"\r\n", b"")
    parsed = _parsed(raw)
    assert parsed["In-Reply-To"] == "<q2@example.jp>"
    assert parsed["References"] == "<q1@example.jp> <r1@example.co.jp> <q2@example.jp>"
    assert parsed["Subject"] == "Re: ログインできません"
    assert parsed["To"] == "山田 太郎 <taro@example.jp>"
    assert parsed["Cc"] is None
    assert parsed["Date"] == "Sat, 21 Nov 2026 10:00:00 +0900"
    assert parsed["Message-ID"].endswith("@example.co.jp>")
    assert "format=flowed" not in parsed["Content-Type"]
    body = parsed.get_content()
    assert body.startswith("本文\n\n-- \n署名\n")
    assert (
        "2026年11月20日(金) 09:00、山田 太郎 <taro@example.jp> さんは書きました:\n> ログイン"
        in body
    )


def test_reply_all_adds_others_but_never_ourselves() -> None:
    msg = build_reply(_conv(), sender=SENDER, body="x", reply_all=True, now=NOW)
    assert [a.email for a in msg.to] == ["taro@example.jp"]
    assert [a.email for a in msg.cc] == ["suzuki@example.jp"]
    assert msg.recipients() == ["taro@example.jp", "suzuki@example.jp"]


def test_reply_goes_to_reply_to_when_set() -> None:
    conv = _conv(reply_to=[{"name": "", "email": "desk@example.jp"}])
    assert [a.email for a in build_reply(conv, sender=SENDER, body="x").to] == ["desk@example.jp"]


def test_forward_quotes_the_original() -> None:
    msg = build_forward(
        _conv(), sender=SENDER, to=[Addr("", "dev@example.co.jp")], body="見てください"
    )
    assert msg.subject == "Fwd: ログインできません" and msg.in_reply_to is None
    assert "---------- 転送メッセージ ----------" in msg.body
    assert "ログインできません。" in msg.body


@pytest.mark.parametrize(
    "hostile",
    [
        "件名\r\nBcc: victim@example.org",
        "x\nBcc: victim@example.org",
        "x\rBcc: victim@example.org",
        "x\u2028Bcc: victim@example.org",
        "x\x00\x1b[2JBcc: victim@example.org",
        "=?utf-8?q?a=0D=0ABcc:_victim@example.org?=",
    ],
)
def test_no_header_injection_from_subject_or_names(hostile: str) -> None:
    conv = _conv(subject=hostile, **{"from": {"name": hostile, "email": "taro@example.jp"}})
    conv["customer"] = conv["messages"][2]["from"]
    msg = build_reply(conv, sender=from_address("support@example.co.jp", hostile), body="b")
    raw, _ = to_bytes(msg)
    parsed = _parsed(raw)
    assert parsed["Bcc"] is None
    header_block = raw.split(b"\r\n\r\n", 1)[0]
    names = [
        line.split(b":", 1)[0] for line in header_block.split(b"\r\n") if line[:1] not in b" \t"
    ]
    assert b"Bcc" not in names
    assert "\n" not in str(parsed["Subject"]) and "\r" not in str(parsed["From"])


@pytest.mark.parametrize(
    "address", ["taro@example.jp\r\nBcc: x@y.z", "a b@example.jp", "<x@y>", "x@", "no-at"]
)
def test_bad_addresses_are_refused(address: str) -> None:
    with pytest.raises(ComposeError):
        Addr("", address)


def test_bad_message_ids_and_header_names_are_refused() -> None:
    msg = build_reply(_conv(), sender=SENDER, body="b")
    with pytest.raises(ComposeError):
        type(msg)(**{**msg.__dict__, "in_reply_to": "<a@b>\r\nX: y"})
    with pytest.raises(ComposeError):
        type(msg)(**{**msg.__dict__, "headers": (("X-Bad\r\nBcc", "v"),)})


def test_header_text() -> None:
    assert header_text(" a\r\n\tb\u202ec ") == "a b c"


def test_iso2022jp_round_trip() -> None:
    msg = build_reply(
        _conv(),
        sender=from_address("support@example.co.jp", "サポート"),
        body="山田様\n高橋です。〜です。",
        charset="iso-2022-jp",
        now=NOW,
    )
    raw, warnings = to_bytes(msg)
    assert warnings == []
    assert raw.isascii()  # 7bit: headers encoded-words, body JIS escapes
    assert b'charset="iso-2022-jp"' in raw
    assert b"=?iso-2022-jp?" in raw
    parsed = parse_message(raw)
    assert parsed.subject == "Re: ログインできません"
    assert parsed.from_.name == "サポート"
    assert parsed.text.startswith("山田様\n高橋です。")


def test_iso2022jp_unencodable_falls_back_to_utf8_with_a_warning() -> None:
    msg = build_reply(_conv(), sender=SENDER, body="①番の手順～です 髙橋 😀", charset="iso-2022-jp")
    warnings = encoding_warnings(msg)
    assert warnings and "① (U+2460)" in warnings[0] and "😀" in warnings[0]
    raw, sent_warnings = to_bytes(msg)
    assert sent_warnings == warnings
    assert "髙 (U+9AD9)" in warnings[0]
    assert parse_message(raw).text.startswith("①番の手順～です 髙橋 😀")


def test_charset_per_recipient_domain() -> None:
    domains = ["docomo.ne.jp"]
    assert choose_charset([Addr("", "a@docomo.ne.jp")], "utf-8", domains) == "iso-2022-jp"
    assert choose_charset([Addr("", "a@mail.docomo.ne.jp")], "utf-8", domains) == "iso-2022-jp"
    assert choose_charset([Addr("", "a@notdocomo.ne.jp")], "utf-8", domains) == "utf-8"


def test_attachments_from_files(tmp_path: Path) -> None:
    path = tmp_path / "請求書.pdf"
    path.write_bytes(b"%PDF-1.4 fake")
    msg = build_reply(
        _conv(), sender=SENDER, body="添付します", attachments=[AttachmentFile.from_path(path)]
    )
    parsed = parse_message(to_bytes(msg)[0])
    (att,) = parsed.attachments
    assert (att.filename, att.content_type, att.size) == ("請求書.pdf", "application/pdf", 13)
    with pytest.raises(ComposeError, match="cannot attach"):
        AttachmentFile.from_path(tmp_path / "missing.pdf")


def test_from_display_name_with_agent() -> None:
    addr = from_address("support@example.co.jp", "Support", "Alice")
    assert (addr.name, addr.email) == ("Alice (Support)", "support@example.co.jp")
