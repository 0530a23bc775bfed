"""Auto-acknowledgement wired to the cache, the server and the outbox (real Dovecot + aiosmtpd):
one per conversation, never in a loop with another auto-responder, once across agents."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from email.message import EmailMessage
from email.policy import SMTP
from pathlib import Path

import pytest

from compose.helpers import make_config, outbox, parse
from mailtriage.compose.autoack import auto_acknowledge
from mailtriage.store import Store
from mailtriage.store import events as ev
from support.mailfactory import make_message
from triage.helpers import sync

BOT = ("Out of Office", "taro@example.jp")
AUTO_ACK = 'auto_ack = "acknowledge"\nauto_ack_per_sender_per_day = 1\n'


def _bot_reply(ours: EmailMessage, n: int, *, threaded: bool, header: bool) -> bytes:
    """What an auto-responder answers to our message."""
    msg = EmailMessage(policy=SMTP)
    msg["From"] = f"{BOT[0]} <{BOT[1]}>"
    msg["To"] = "support@example.co.jp"
    msg["Subject"] = f"不在通知 {n}" if not threaded else f"Re: {ours['Subject']}"
    msg["Date"] = datetime.now(UTC)
    msg["Message-ID"] = f"<bot{n}@example.jp>"
    if threaded:
        msg["In-Reply-To"] = ours["Message-ID"]
        msg["References"] = ours["Message-ID"]
    if header:
        msg["Auto-Submitted"] = "auto-replied"
    msg.set_content("ただいま不在にしております。\n")
    return msg.as_bytes()


async def _round(config) -> None:  # type: ignore[no-untyped-def]
    await sync(config)
    box = outbox(config)
    try:
        await auto_acknowledge(config, "support", box)
        await box.deliver_due()
        assert [i.reason for i in box.items()] == [None] * len(box.items())
    finally:
        await box.close()


@pytest.mark.parametrize(
    ("threaded", "header"),
    [(True, True), (True, False), (False, False)],
    ids=["vacation-responder", "threaded-without-header", "new-thread-each-time"],
)
async def test_loop_with_another_auto_responder_stops_after_one_message(
    tmp_path: Path, imap_account, smtp_server, pki, threaded: bool, header: bool
) -> None:  # type: ignore[no-untyped-def]
    config = make_config(tmp_path, imap_account, smtp_server.port, pki.ca_cert, compose=AUTO_ACK)
    now = datetime.now(UTC)
    imap_account.append("INBOX", make_message(message_id="<q1@example.jp>", date=now))
    answered = 0
    for n in range(4):
        await _round(config)
        for mail in smtp_server.received[answered:]:
            imap_account.append(
                "INBOX", _bot_reply(parse(mail.data), n, threaded=threaded, header=header)
            )
        answered = len(smtp_server.received)
    await sync(config)

    (mail,) = smtp_server.received
    ack = parse(mail.data)
    assert ack["Auto-Submitted"] == "auto-replied"
    assert ack["In-Reply-To"] == "<q1@example.jp>"
    assert mail.rcpt_tos == ["taro@example.jp"]

    store = Store(config.accounts["support"].cache_path, readonly=True)
    try:
        every = [store.get_conversation(c["key"]) for c in store.list_conversations("all")]
        (detail,) = [
            c
            for c in every
            if c and any(m["message_id"] == "<q1@example.jp>" for m in c["messages"])
        ]
        # Keyed by the conversation key at send time: when the bot's mail later merges threads
        # the cache may pick another key (a store/threading matter, reported to the lead).
        keys = {row[0] for row in store.conn.execute("SELECT conversation FROM app_events")}
        replied = [e for k in keys for e in ev.timeline(store.conn, k) if e["kind"] == "replied"]
    finally:
        store.close()
    # Not a first response: the conversation stays Unhandled and the original unanswered.
    assert detail["status"] == "unhandled"
    original = next(m for m in detail["messages"] if m["message_id"] == "<q1@example.jp>")
    assert "mt:auto-ack" in original["flags"] and "\\Answered" not in original["flags"]
    sent = next(m for m in detail["messages"] if m["mailbox"] != "INBOX")
    assert "mt:auto-replied" in sent["flags"]
    (event,) = replied
    assert event["details"]["auto"] == "auto-replied"


async def test_automatic_mail_gets_none_and_off_by_default(
    tmp_path: Path, imap_account, smtp_server, pki
) -> None:  # type: ignore[no-untyped-def]
    now = datetime.now(UTC)
    imap_account.append("INBOX", make_message(message_id="<q1@example.jp>", date=now))
    off = make_config(tmp_path / "off", imap_account, smtp_server.port, pki.ca_cert)
    await sync(off)
    assert await auto_acknowledge(off, "support") == []

    imap_account.append(
        "INBOX",
        make_message(
            message_id="<n1@shop.example>",
            sender=("Shop", "no-reply@shop.example"),
            subject="ご注文確認",
            date=now,
        ),
    )
    config = make_config(tmp_path, imap_account, smtp_server.port, pki.ca_cert, compose=AUTO_ACK)
    await sync(config)
    box = outbox(config)
    results = await auto_acknowledge(config, "support", box)
    await box.deliver_due()
    await sync(config)
    assert await auto_acknowledge(config, "support", box) == []  # decided: never asked again
    await box.close()
    reasons = sorted((r.sent, r.reason) for r in results)
    assert reasons == [(False, "no-reply@shop.example does not take replies"), (True, "")]
    assert [m.rcpt_tos for m in smtp_server.received] == [["taro@example.jp"]]


async def test_two_agents_racing_send_one_ack(
    tmp_path: Path, imap_account, smtp_server, pki
) -> None:  # type: ignore[no-untyped-def]
    imap_account.append("INBOX", make_message(message_id="<q1@example.jp>", date=datetime.now(UTC)))
    configs = [
        make_config(
            tmp_path, imap_account, smtp_server.port, pki.ca_cert, agent=a, compose=AUTO_ACK
        )
        for a in ("alice", "bob")
    ]
    for config in configs:
        await sync(config)
    boxes = [outbox(c) for c in configs]
    results = await asyncio.gather(
        *(auto_acknowledge(c, "support", b) for c, b in zip(configs, boxes, strict=True))
    )
    for box in boxes:
        await box.deliver_due()
        await box.close()
    assert sorted(r.sent for rs in results for r in rs) == [False, True]
    assert len(smtp_server.received) == 1


async def test_sync_watch_acknowledges_new_mail_with_no_app_open(
    tmp_path: Path, imap_account, smtp_server, pki
) -> None:  # type: ignore[no-untyped-def]
    import time

    from support.watch_process import SyncWatch

    config = make_config(tmp_path, imap_account, smtp_server.port, pki.ca_cert, compose=AUTO_ACK)
    assert config.path is not None
    with SyncWatch(config.path) as watcher:
        imap_account.append(
            "INBOX", make_message(message_id="<w1@example.jp>", date=datetime.now(UTC))
        )
        deadline = time.monotonic() + 15
        while not smtp_server.received and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
        (mail,) = smtp_server.received
        assert parse(mail.data)["In-Reply-To"] == "<w1@example.jp>"
    out, err = watcher.out, watcher.err
    assert "auto-ack" in out and "sent" in out, (out, err)
    assert watcher.returncode == 130 and "the cache is consistent" in err, err  # as for ^C
    assert len(smtp_server.received) == 1


async def test_a_rule_acknowledges_with_its_own_template(
    tmp_path: Path, imap_account, smtp_server, pki
) -> None:  # type: ignore[no-untyped-def]
    from mailtriage.config import load_config

    config = make_config(tmp_path, imap_account, smtp_server.port, pki.ca_cert)
    assert not config.compose.auto_ack  # only the rule asks for acknowledgements
    assert config.path is not None
    rule = '\n[[rules.rule]]\nname = "quotes"\nsubject = "見積"\nack = "acknowledge"\n'
    config.path.write_text(config.path.read_text(encoding="utf-8") + rule, encoding="utf-8")
    config = load_config(config.path)
    now = datetime.now(UTC)
    imap_account.append(
        "INBOX", make_message(subject="お見積りのお願い", message_id="<a1@example.jp>", date=now)
    )
    imap_account.append(
        "INBOX", make_message(subject="ログインできません", message_id="<a2@example.jp>", date=now)
    )
    await _round(config)
    (mail,) = smtp_server.received
    ack = parse(mail.data)
    assert ack["In-Reply-To"] == "<a1@example.jp>"
    assert ack["Auto-Submitted"] == "auto-replied"


def _with_rule(config, ack: str):  # type: ignore[no-untyped-def]
    from mailtriage.config import load_config

    assert config.path is not None
    rule = f'\n[[rules.rule]]\nname = "quotes"\nsubject = "見積"\nack = "{ack}"\n'
    config.path.write_text(config.path.read_text(encoding="utf-8") + rule, encoding="utf-8")
    return load_config(config.path)


SHIPPED = (
    "acknowledge, apology, escalation, holding, notice-outage, refund, request-info,"
    " resolved, shipping-delay"
)


def test_a_misspelt_ack_template_stops_the_app_and_sync_watch_at_start(
    tmp_path: Path, imap_account, smtp_server, pki, capsys: pytest.CaptureFixture[str]
) -> None:  # type: ignore[no-untyped-def]
    import os
    import subprocess
    import sys

    from mailtriage.cli import main
    from mailtriage.compose.ack_templates import check_templates
    from mailtriage.config import ConfigError

    config = _with_rule(make_config(tmp_path, imap_account, smtp_server.port, pki.ca_cert), "ackn")
    with pytest.raises(ConfigError) as caught:
        check_templates(config)
    line = str(caught.value)
    assert line == (
        f"{config.path}: rules.rule[0].ack: rule 'quotes' acknowledges with template 'ackn',"
        f" which does not exist (templates: {SHIPPED}) (fix: use one of those names, or add"
        " the template to a [templates] dirs directory)"
    )
    now = datetime.now(UTC)
    imap_account.append("INBOX", make_message(subject="お見積り", message_id="<m1@x.jp>", date=now))
    # the app: refused before it opens (exit 2, the one line)
    assert main(["--config", str(config.path)]) == 2
    assert capsys.readouterr().err == f"mailtriage: config error: {line}\n"
    # sync --watch as a real process: refused at once, nothing synced, nothing sent
    done = subprocess.run(
        [sys.executable, "-m", "mailtriage", "sync", "--watch"],
        env=dict(os.environ, MAILTRIAGE_CONFIG=str(config.path)),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr == f"mailtriage: config error: {line}\n"
    assert not config.accounts["support"].cache_path.exists()
    assert smtp_server.received == []


@pytest.mark.parametrize("ack", ["quote-ack", "ja/quote-ack"], ids=["by-name", "by-key"])
def test_a_rule_ack_from_the_users_own_template_dir_is_accepted(
    tmp_path: Path, imap_account, smtp_server, pki, ack: str
) -> None:  # type: ignore[no-untyped-def]
    from mailtriage.compose.ack_templates import check_templates
    from mailtriage.config import ConfigError, load_config

    own = tmp_path / "my-templates"
    own.mkdir()
    (own / "quote-ack.txt.j2").write_text(
        '---\nname = "quote-ack"\ndescription = "見積受付"\nlanguage = "ja"\n---\n'
        "お見積りのご依頼を承りました。\n",
        encoding="utf-8",
    )
    config = make_config(tmp_path, imap_account, smtp_server.port, pki.ca_cert)
    assert config.path is not None
    text = config.path.read_text(encoding="utf-8")
    config.path.write_text(f'{text}\n[templates]\ndirs = ["{own}"]\n', encoding="utf-8")
    config = _with_rule(config, ack)
    check_templates(config)  # no error
    # compose.auto_ack is checked the same way
    assert config.path is not None
    text = config.path.read_text(encoding="utf-8")
    config.path.write_text(text.replace("[compose]\n", '[compose]\nauto_ack = "nope"\n'), "utf-8")
    with pytest.raises(ConfigError, match=r"compose.auto_ack: auto_ack names template 'nope'"):
        check_templates(load_config(config.path))
