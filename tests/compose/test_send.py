"""Reply end to end: Dovecot INBOX -> sync -> template -> outbox -> real aiosmtpd -> Sent."""

from __future__ import annotations

import time
from pathlib import Path

from compose.helpers import make_config, only_conversation, outbox, parse, templates
from mailtriage.compose.reply import prepare_reply
from mailtriage.compose.templates import find_template
from support.mailfactory import make_message
from triage.helpers import sync


def _folder_ids(imap_account, folder: str) -> list[str]:  # type: ignore[no-untyped-def]
    imap = imap_account.client()
    imap.select_folder(folder, readonly=True)
    uids = imap.search("ALL")
    if not uids:
        return []
    return [d[b"ENVELOPE"].message_id.decode() for d in imap.fetch(uids, ["ENVELOPE"]).values()]


def _flags(imap_account, message_id: str) -> list[str]:  # type: ignore[no-untyped-def]
    imap = imap_account.client()
    imap.select_folder("INBOX", readonly=True)
    (uid,) = imap.search(["HEADER", "Message-ID", message_id])
    return [f.decode() for f in imap.get_flags([uid])[uid]]


async def _ready(tmp_path: Path, imap_account, smtp_server, pki, **kw):  # type: ignore[no-untyped-def]
    imap_account.append(
        "INBOX", make_message(message_id="<q1@example.jp>", subject="ログインできません")
    )
    config = make_config(tmp_path, imap_account, smtp_server.port, pki.ca_cert, **kw)
    await sync(config)
    conversation = only_conversation(config)
    template = find_template(templates(), "acknowledge", "ja")
    return config, conversation, prepare_reply(config, "support", conversation, template)


async def test_reply_is_sent_once_threaded_saved_and_answered(
    tmp_path: Path, imap_account, smtp_server, pki
) -> None:  # type: ignore[no-untyped-def]
    config, _, reply = await _ready(tmp_path, imap_account, smtp_server, pki)
    box = outbox(config)
    item, warnings = box.enqueue(reply.message, send_at=time.time(), snapshot=reply.snapshot)
    assert warnings == []
    results = await box.deliver_due()
    await box.close()
    assert [r.state for r in results] == ["done"], results

    (mail,) = smtp_server.received
    assert mail.rcpt_tos == ["taro@example.jp"]
    assert mail.mail_from == "support@example.co.jp"
    msg = parse(mail.data)
    assert msg["Message-ID"] == item.message_id
    assert msg["In-Reply-To"] == "<q1@example.jp>"
    assert msg["References"] == "<q1@example.jp>"
    assert msg["Subject"] == "Re: ログインできません"
    assert str(msg["From"]) == "Example Support <support@example.co.jp>"
    assert msg.get_content_charset() == "utf-8"
    body = msg.get_content()
    assert body.startswith("山田 太郎 様\n")
    assert "> ログインできません。" in body

    assert _folder_ids(imap_account, "Sent") == [item.message_id]
    flags = _flags(imap_account, "<q1@example.jp>")
    assert "\\Answered" in flags
    assert "mt:status/in-progress" in flags  # the template's status_after_send
    again = outbox(config)
    assert again.get(item.id).state == "done"
    assert again.pending() == []
    await again.close()
