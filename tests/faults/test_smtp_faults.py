"""Fault matrix, SMTP side: what session 1 left open (a stalled submission server, a refused
port). The cuts at each SMTP stage, 4xx, bad password and kill -9 mid-send are in
tests/compose/test_send_faults.py."""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path

import pytest

from compose.helpers import make_config, only_conversation, outbox
from compose.test_send import _folder_ids
from mailtriage.compose.reply import prepare_reply
from mailtriage.compose.templates import find_template
from mailtriage.config import Config
from support.mailfactory import make_message
from sync.proxy import FaultProxy
from triage.helpers import sync

pytestmark = pytest.mark.server


def _with_smtp_timeout(config: Config, seconds: float) -> Config:
    account = config.accounts["support"]
    assert account.smtp is not None
    smtp = dataclasses.replace(account.smtp, timeout=seconds)
    accounts = dict(config.accounts, support=dataclasses.replace(account, smtp=smtp))
    return dataclasses.replace(config, accounts=accounts)


async def test_stalled_smtp_server_times_out_then_delivers_once(
    tmp_path: Path, imap_account, smtp_server, pki
) -> None:  # type: ignore[no-untyped-def]
    from compose.helpers import templates

    with FaultProxy(smtp_server.port) as proxy:
        imap_account.append("INBOX", make_message(message_id="<q1@example.jp>"))
        config = make_config(tmp_path, imap_account, proxy.port, pki.ca_cert)
        config = _with_smtp_timeout(config, 1)
        await sync(config)
        reply = prepare_reply(
            config,
            "support",
            only_conversation(config),
            find_template(templates(), "acknowledge", "ja"),
        )
        box = outbox(config)
        proxy.stalled.set()  # not a byte, not even the greeting
        item, _ = box.enqueue(reply.message, send_at=time.time(), snapshot=reply.snapshot)
        started = time.monotonic()
        (result,) = await box.deliver_due()
        assert time.monotonic() - started < 10
        assert result.state == "queued", result
        reason = box.get(item.id).reason
        assert "\n" not in reason and "SMTP 127.0.0.1" in reason, reason
        assert box.get(item.id).raw  # the reply is intact
        assert smtp_server.received == []
        proxy.stalled.clear()
        proxy.drop_all()  # the stalled connection is gone; a fresh one flows
        (result,) = await box.deliver_due()
        await box.close()
    assert result.state == "done", result
    assert len(smtp_server.received) == 1
    assert _folder_ids(imap_account, "Sent") == [item.message_id]
