"""Very large test messages (tens to hundreds of MB), for the suite and bench/large_message.

Two shapes a stranger really sends: a short note with a huge attachment (base64, 76-column
lines), and a message whose text/plain part itself is huge (a pasted log). The attachment's
bytes are seeded, so a saved copy can be checked against its SHA-256.
"""

from __future__ import annotations

import base64
import hashlib
import random
from dataclasses import dataclass

NOTE = "お世話になっております。\nログのアーカイブを添付します。ご確認ください。\n"


@dataclass
class LargeMessage:
    raw: bytes
    attachment_sha256: str | None  # of the decoded attachment, None without one
    attachment_size: int


def _head(subject: str, message_id: str, content_type: str) -> bytes:
    return (
        "From: 山田 太郎 <taro@example.jp>\r\n"
        "To: support@example.jp\r\n"
        f"Subject: {subject}\r\n"
        f"Message-ID: {message_id}\r\n"
        "Date: Tue, 24 Nov 2026 09:00:00 +0900\r\n"
        "MIME-Version: 1.0\r\n"
        f"Content-Type: {content_type}\r\n"
    ).encode()


def _b64_lines(data: bytes) -> bytes:
    return base64.encodebytes(data).replace(b"\n", b"\r\n")


def with_attachment(
    size: int, *, subject: str = "ログ添付", message_id: str = "<big-attach@example.jp>"
) -> LargeMessage:
    """A short text part and an attachment of size bytes (base64 on the wire: ~1.35×)."""
    data = random.Random(size).randbytes(size)
    boundary = "big-boundary-1"
    raw = b"".join(
        [
            _head(subject, message_id, f'multipart/mixed; boundary="{boundary}"'),
            b"\r\n",
            f"--{boundary}\r\n".encode(),
            b"Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n",
            NOTE.replace("\n", "\r\n").encode(),
            f"--{boundary}\r\n".encode(),
            b'Content-Type: application/zip; name="logs.zip"\r\n'
            b"Content-Transfer-Encoding: base64\r\n"
            b'Content-Disposition: attachment; filename="logs.zip"\r\n\r\n',
            _b64_lines(data),
            f"--{boundary}--\r\n".encode(),
        ]
    )
    return LargeMessage(raw, hashlib.sha256(data).hexdigest(), size)


def huge_text(
    size: int,
    *,
    subject: str = "ログ貼り付け",
    message_id: str = "<big-text@example.jp>",
    charset: str = "utf-8",
    html: bool = False,
) -> LargeMessage:
    """A single text part of about size bytes: numbered lines of Japanese and English.

    charset "iso-2022-jp" (7bit on the wire) or "cp932" (sent as Shift_JIS, as Outlook
    does) give the shapes Japanese mail arrives in; html=True an HTML-only message whose
    lines are paragraphs, which the app converts to text.
    """
    lines = []
    total = 0
    number = 0
    while total < size:
        text = f"{number:08d} エラー: 接続がタイムアウトしました (timeout after 30 s)"
        line = (f"<p>{text}</p>" if html else text) + "\r\n"
        encoded = line.encode(charset)
        lines.append(encoded)
        total += len(encoded)
        number += 1
    body = b"".join(lines)
    if html:
        body = b"<html><body>\r\n" + body + b"</body></html>\r\n"
    label = "shift_jis" if charset == "cp932" else charset
    kind = "html" if html else "plain"
    head = _head(subject, message_id, f"text/{kind}; charset={label}")
    encoding = "7bit" if charset == "iso-2022-jp" else "8bit"
    return LargeMessage(
        head + f"Content-Transfer-Encoding: {encoding}\r\n\r\n".encode() + body, None, 0
    )
