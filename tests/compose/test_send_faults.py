"""SMTP trouble at each stage, check-then-send, undo, and kill -9 mid-send: never twice."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from compose.helpers import make_config, only_conversation, outbox, parse, templates
from compose.proxy import FlakyProxy
from compose.test_send import _folder_ids
from mailtriage.compose.reply import prepare_reply
from mailtriage.compose.templates import find_template
from mailtriage.smtp.outbox import CRASH_ENV
from support.mailfactory import make_message
from triage.helpers import sync


async def _prepared(tmp_path: Path, imap_account, port: int, pki):  # type: ignore[no-untyped-def]
    imap_account.append("INBOX", make_message(message_id="<q1@example.jp>"))
    config = make_config(tmp_path, imap_account, port, pki.ca_cert)
    await sync(config)
    conversation = only_conversation(config)
    reply = prepare_reply(
        config, "support", conversation, find_template(templates(), "acknowledge", "ja")
    )
    return config, conversation, reply


async def test_451_then_success_delivers_exactly_once(
    tmp_path: Path, imap_account, smtp_server, pki
) -> None:  # type: ignore[no-untyped-def]
    config, _, reply = await _prepared(tmp_path, imap_account, smtp_server.port, pki)
    smtp_server.fail_next = 1
    box = outbox(config)
    item, _ = box.enqueue(reply.message, send_at=time.time(), snapshot=reply.snapshot)
    (first,) = await box.deliver_due()
    assert first.state == "queued" and "451" in first.message
    assert box.get(item.id).reason.startswith("SMTP 127.0.0.1")
    (second,) = await box.deliver_due()
    await box.close()
    assert second.state == "done"
    assert len(smtp_server.received) == 1
    assert _folder_ids(imap_account, "Sent") == [item.message_id]


async def test_disconnects_before_data_are_retried_to_one_delivery(
    tmp_path: Path, imap_account, smtp_server, pki
) -> None:  # type: ignore[no-untyped-def]
    proxy = FlakyProxy(smtp_server.port)
    try:
        config, _, reply = await _prepared(tmp_path, imap_account, proxy.port, pki)
        box = outbox(config)
        item, _ = box.enqueue(reply.message, send_at=time.time(), snapshot=reply.snapshot)
        # 0: closed before the greeting; 1: after EHLO; 2: after STARTTLS; 3: in the handshake
        for cut in (0, 1, 2, 3):
            proxy.close_after, proxy.failures = cut, 1
            (result,) = await box.deliver_due()
            assert result.state == "queued", (cut, result)
        (result,) = await box.deliver_due()
        await box.close()
        assert result.state == "done"
        assert box.get  # the item is done; exactly one copy reached the server
        assert len(smtp_server.received) == 1
        assert parse(smtp_server.received[0].data)["Message-ID"] == item.message_id
    finally:
        proxy.close()


async def test_permanent_refusal_fails_with_reason_and_keeps_the_reply(
    tmp_path: Path, imap_account, smtp_server, pki
) -> None:  # type: ignore[no-untyped-def]
    config, _, reply = await _prepared(tmp_path, imap_account, smtp_server.port, pki)
    smtp_server.users["agent"] = "changed"  # the configured password no longer works
    box = outbox(config)
    item, _ = box.enqueue(reply.message, send_at=time.time(), snapshot=reply.snapshot)
    (result,) = await box.deliver_due()
    assert result.state == "failed"
    assert "login as 'agent' refused" in box.get(item.id).reason
    assert box.get(item.id).raw  # the reply is intact for a retry
    smtp_server.users["agent"] = "agentpw"
    assert box.retry(item.id)
    (result,) = await box.deliver_due()
    await box.close()
    assert result.state == "done" and len(smtp_server.received) == 1


async def test_undo_window_and_cancel(tmp_path: Path, imap_account, smtp_server, pki) -> None:  # type: ignore[no-untyped-def]
    config, _, reply = await _prepared(tmp_path, imap_account, smtp_server.port, pki)
    box = outbox(config)
    item, _ = box.enqueue(reply.message, snapshot=reply.snapshot)  # default: 10 s from now
    assert 9 < item.send_at - time.time() <= 10
    assert await box.deliver_due() == []
    assert [i.id for i in box.pending()] == [item.id]
    assert box.cancel(item.id)
    assert await box.deliver_due(now=time.time() + 60) == []
    assert box.pending() == []
    assert not box.cancel(item.id)
    await box.close()
    assert smtp_server.received == []


async def test_new_customer_message_holds_the_send_until_forced(
    tmp_path: Path, imap_account, smtp_server, pki
) -> None:  # type: ignore[no-untyped-def]
    config, _, reply = await _prepared(tmp_path, imap_account, smtp_server.port, pki)
    imap_account.append(
        "INBOX",
        make_message(
            message_id="<q2@example.jp>",
            subject="Re: ログインできません",
            in_reply_to="<q1@example.jp>",
            references=["<q1@example.jp>"],
            body="追記です。パスワードを変えても駄目でした。\n",
            minutes=5,
        ),
    )
    box = outbox(config)
    item, _ = box.enqueue(reply.message, send_at=time.time(), snapshot=reply.snapshot)
    (result,) = await box.deliver_due()
    assert result.state == "held"
    assert "the customer wrote again (taro@example.jp, <q2@example.jp>)" in result.message
    assert smtp_server.received == []
    assert box.retry(item.id, force=True)
    (result,) = await box.deliver_due()
    await box.close()
    assert result.state == "done" and len(smtp_server.received) == 1


async def test_claim_by_someone_else_holds_the_send(
    tmp_path: Path, imap_account, smtp_server, pki
) -> None:  # type: ignore[no-untyped-def]
    config, _, reply = await _prepared(tmp_path, imap_account, smtp_server.port, pki)
    imap = imap_account.client()
    imap.select_folder("INBOX")
    imap.add_flags(imap.search("ALL"), ["mt:assignee/bob", "mt:status/in-progress"])
    box = outbox(config)
    box.enqueue(reply.message, send_at=time.time(), snapshot=reply.snapshot)
    (result,) = await box.deliver_due()
    await box.close()
    assert result.state == "held"
    assert "bob claimed it meanwhile" in result.message
    assert smtp_server.received == []


def _send_in_subprocess(config_path: Path, conversation_id: str, crash_at: str) -> int:
    env = dict(os.environ, **{CRASH_ENV: crash_at})
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "mailtriage",
            "--config",
            str(config_path),
            "reply",
            conversation_id,
            "--template",
            "acknowledge",
            "--send",
        ],
        env=env,
        capture_output=True,
        timeout=60,
        check=False,
    )
    return done.returncode


async def test_kill_9_between_smtp_and_append_sends_once(
    tmp_path: Path, imap_account, smtp_server, pki
) -> None:  # type: ignore[no-untyped-def]
    config, conversation, _ = await _prepared(tmp_path, imap_account, smtp_server.port, pki)
    assert _send_in_subprocess(config.path, conversation["id"], "submitted") == -9
    assert len(smtp_server.received) == 1
    assert _folder_ids(imap_account, "Sent") == []
    box = outbox(config)
    (result,) = await box.deliver_due()  # the restart: finishes, does not resend
    assert result.state == "done"
    assert await box.deliver_due() == []
    await box.close()
    assert len(smtp_server.received) == 1
    message_id = parse(smtp_server.received[0].data)["Message-ID"]
    assert _folder_ids(imap_account, "Sent") == [message_id]


async def test_kill_9_before_the_acceptance_is_recorded_is_never_resent_blindly(
    tmp_path: Path, imap_account, smtp_server, pki
) -> None:  # type: ignore[no-untyped-def]
    config, conversation, _ = await _prepared(tmp_path, imap_account, smtp_server.port, pki)
    assert _send_in_subprocess(config.path, conversation["id"], "smtp-accepted") == -9
    box = outbox(config)
    (result,) = await box.deliver_due()
    (item,) = box.pending()
    await box.close()
    assert result.state == "failed" and "may have been sent" in item.reason
    assert len(smtp_server.received) == 1


async def test_one_smtp_connection_for_a_run_replaced_when_dropped_or_after_a_451(
    tmp_path: Path, imap_account, smtp_server, pki
) -> None:  # type: ignore[no-untyped-def]
    from collections import Counter
    from dataclasses import replace

    proxy = FlakyProxy(smtp_server.port)
    config, _, reply = await _prepared(tmp_path, imap_account, proxy.port, pki)
    box = outbox(config)

    def queue(*numbers: int, at: float = 0) -> None:
        for n in numbers:  # no snapshot: the check-then-send would hold the 2nd reply
            box.enqueue(replace(reply.message, message_id=f"<s{n}@example.jp>"), send_at=at)

    try:
        queue(0, 1, 2)
        queue(3, at=time.time() + 2)  # due soon (a notice run's next slot): kept open
        assert [r.state for r in await box.deliver_due()] == ["done"] * 3
        assert (proxy.connections, smtp_server.logins) == (1, 1)  # one login for the run
        proxy.drop_all()  # the server hangs up on the kept connection
        (result,) = await box.deliver_due(now=time.time() + 3)
        assert result.state == "done" and box.get(result.item_id).attempts == 1  # no failure
        assert (proxy.connections, smtp_server.logins) == (2, 2)  # replaced at once
        # nothing else due: hung up, so the next reply logs in again
        queue(4)
        assert [r.state for r in await box.deliver_due()] == ["done"]
        assert smtp_server.logins == 3
        smtp_server.fail_next = 1  # a 451 to DATA: that message waits, the connection goes
        queue(5, 6)
        assert [r.state for r in await box.deliver_due()] == ["queued", "done"]
        assert smtp_server.logins == 5  # one for the 451, a fresh one after it
        assert [r.state for r in await box.deliver_due()] == ["done"]  # the retry, reused
        assert smtp_server.logins == 5
    finally:
        await box.close()
        proxy.close()
    sent = Counter(parse(m.data)["Message-ID"] for m in smtp_server.received)
    assert sent == {f"<s{n}@example.jp>": 1 for n in range(7)}
