"""Build test messages as raw bytes, the way real mailers write them."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from email.header import Header
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, formataddr

SUPPORT = "support@example.co.jp"
_counter = itertools.count(1)
BASE_TIME = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


def new_message_id(domain: str = "example.jp") -> str:
    return f"<m{next(_counter)}.{id(_counter)}@{domain}>"


def make_message(
    *,
    subject: str = "ログインできません",
    sender: tuple[str, str] = ("山田 太郎", "taro@example.jp"),
    to: Sequence[tuple[str, str]] = (("", SUPPORT),),
    body: str = "お世話になっております。\nログインできません。\n",
    message_id: str | None = None,
    in_reply_to: str | None = None,
    references: Sequence[str] = (),
    date: datetime | None = None,
    minutes: int = 0,
) -> bytes:
    msg = EmailMessage(policy=SMTP)
    msg["Subject"] = subject
    msg["From"] = formataddr(sender)
    msg["To"] = ", ".join(formataddr(a) for a in to)
    msg["Date"] = format_datetime(date or BASE_TIME + timedelta(minutes=minutes))
    msg["Message-ID"] = message_id or new_message_id()
    if in_reply_to:
        msg["In-Reply-To"] = in_reply_to
    if references:
        msg["References"] = " ".join(references)
    msg.set_content(body)
    return msg.as_bytes()


def make_iso2022jp_message(
    *,
    subject: str,
    sender_name: str,
    sender_email: str,
    body: str,
    message_id: str,
    minutes: int = 0,
) -> bytes:
    """The classic Japanese mail: 7bit ISO-2022-JP body, encoded-word headers."""
    subject_h = Header(subject, "iso-2022-jp").encode()
    name_h = Header(sender_name, "iso-2022-jp").encode()
    headers = (
        f"From: {name_h} <{sender_email}>\r\n"
        f"To: {SUPPORT}\r\n"
        f"Subject: {subject_h}\r\n"
        f"Date: {format_datetime(BASE_TIME + timedelta(minutes=minutes))}\r\n"
        f"Message-ID: {message_id}\r\n"
        "MIME-Version: 1.0\r\n"
        'Content-Type: text/plain; charset="ISO-2022-JP"\r\n'
        "Content-Transfer-Encoding: 7bit\r\n\r\n"
    )
    return headers.encode("ascii") + body.replace("\n", "\r\n").encode("iso-2022-jp")
