"""Auto-acknowledgement loop prevention (RFC 3834)."""

from __future__ import annotations

import pytest

from mailtriage.compose.autoreply import may_auto_reply

OURS = "support@example.co.jp"


def _ask(headers: dict[str, str], sender: str = "taro@example.jp", **kw: object) -> bool:
    args = {"already_acknowledged": False, "replies_to_sender_today": 0, **kw}
    return may_auto_reply(headers, sender, ours=OURS, **args)[0]  # type: ignore[arg-type]


def test_ordinary_customer_mail_gets_one() -> None:
    assert _ask({"Subject": "help"})
    assert _ask({"Auto-Submitted": "no"})


@pytest.mark.parametrize(
    "headers",
    [
        {"Auto-Submitted": "auto-replied"},
        {"auto-submitted": "auto-generated"},
        {"Precedence": "bulk"},
        {"Precedence": "list"},
        {"List-Id": "<x.example.jp>"},
        {"List-Unsubscribe": "<mailto:u@example.jp>"},
        {"X-Auto-Response-Suppress": "All"},
    ],
)
def test_automatic_mail_gets_none(headers: dict[str, str]) -> None:
    assert not _ask(headers)


@pytest.mark.parametrize(
    "sender",
    [
        "",
        "MAILER-DAEMON@example.jp",
        "no-reply@shop.example",
        "noreply@x.jp",
        "do-not-reply@x.jp",
        "postmaster@x.jp",
        "list-bounces@x.jp",
        OURS,
    ],
)
def test_senders_that_take_no_replies(sender: str) -> None:
    assert not _ask({}, sender)


def test_once_per_conversation_and_rate_limited() -> None:
    assert not _ask({}, already_acknowledged=True)
    assert not _ask({}, replies_to_sender_today=3)
    assert _ask({}, replies_to_sender_today=2)
