"""A 20 MB attachment, built here rather than committed: decoded whole, listed, extractable."""

from __future__ import annotations

import base64
import hashlib
import random

from mailtriage.mime import extract_attachment, parse_headers, parse_message

SIZE = 20 * 1024 * 1024


def _message() -> tuple[bytes, bytes]:
    payload = random.Random(20).randbytes(SIZE)
    encoded = base64.encodebytes(payload).replace(b"\n", b"\r\n")
    raw = (
        b"From: =?UTF-8?B?" + base64.b64encode("山田 太郎".encode()) + b"?= <taro@example.jp>\r\n"
        b"To: support@example.co.jp\r\n"
        b"Subject: =?UTF-8?B?" + base64.b64encode("ログの送付".encode()) + b"?=\r\n"
        b"Date: Mon, 03 Feb 2025 10:15:00 +0900\r\n"
        b"Message-ID: <big@example.jp>\r\n"
        b"MIME-Version: 1.0\r\n"
        b'Content-Type: multipart/mixed; boundary="big"\r\n\r\n'
        b"--big\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
        + "ログを添付します。\r\n".encode()
        + b"--big\r\nContent-Type: application/gzip\r\n"
        b"Content-Disposition: attachment;\r\n filename*=utf-8''%E3%83%AD%E3%82%B0.tar.gz\r\n"
        b"Content-Transfer-Encoding: base64\r\n\r\n" + encoded + b"--big--\r\n"
    )
    return raw, payload


def test_twenty_megabyte_attachment() -> None:
    raw, payload = _message()
    assert len(raw) > 27_000_000
    parsed = parse_message(raw)
    assert parsed.subject == "ログの送付"
    assert parsed.from_ is not None and parsed.from_.name == "山田 太郎"
    assert parsed.text == "ログを添付します。"
    assert parsed.warnings == []
    (attachment,) = parsed.attachments
    assert (attachment.filename, attachment.content_type) == ("ログ.tar.gz", "application/gzip")
    assert attachment.size == SIZE
    assert attachment.inline is False
    data = extract_attachment(raw, attachment.part_index)
    assert hashlib.sha256(data).digest() == hashlib.sha256(payload).digest()
    assert parse_headers(raw.split(b"\r\n\r\n", 1)[0]).subject == "ログの送付"
