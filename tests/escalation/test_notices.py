"""Proactive notices against a real aiosmtpd and Dovecot: 200 separate, personalised messages
with an SMTP fault midway, exactly once, and replies that land in the queue."""

from __future__ import annotations

import asyncio
import email
import email.policy
import json
from datetime import UTC, datetime
from email.utils import getaddresses

from escalation.helpers import agent, cli, store, view_keys
from support.mailfactory import make_message
from triage.helpers import sync

COUNT = 200


def _parse(raw: bytes) -> email.message.EmailMessage:
    return email.message_from_bytes(raw, policy=email.policy.default)  # type: ignore[return-value]


def _csv(tmp_path, count: int):  # type: ignore[no-untyped-def]
    path = tmp_path / "customers.csv"
    rows = ["email,name,plan"]
    rows += [
        f"c{i:03d}@example.jp,顧客 {i:03d},{'ゴールド' if i % 2 else 'ベーシック'}"
        for i in range(count)
    ]
    rows.append("C000@EXAMPLE.JP,重複,x")  # the same customer again: sent once
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


async def test_200_notices_with_an_smtp_fault_midway_exactly_once(
    tmp_path, imap_account, smtp_server, pki, capsys
) -> None:  # type: ignore[no-untyped-def]
    alice = agent(tmp_path, imap_account, smtp_server.port, pki.ca_cert, "alice")
    await sync(alice)
    path = _csv(tmp_path, COUNT)
    argv = (
        "notice",
        "notice-outage",
        "--to-csv",
        str(path),
        "--rate",
        "100/s",
        "--set",
        "incident=決済システムの障害",
        "--set",
        "eta=本日18時頃",
    )

    async def fault_midway() -> None:
        while len(smtp_server.received) < COUNT // 2:
            await asyncio.sleep(0.005)
        smtp_server.fail_next = 2  # two 451s in a row, mid-run

    fault = asyncio.create_task(fault_midway())
    code, out, err = await cli(capsys, alice, *argv)
    await fault
    assert code == 0, err
    assert smtp_server.fail_next == 0  # the faults really happened
    assert out.startswith(f"notice: {COUNT} of {COUNT} sent, 0 failed")
    progress = [line for line in err.splitlines() if line.startswith("notice: ")]
    assert len(progress) >= 10 and progress[-1].startswith(f"notice: {COUNT}/{COUNT} sent")
    assert any("2 retried" in line for line in progress), progress

    # Exactly 200, one per customer, each to that customer alone, personalised.
    assert len(smtp_server.received) == COUNT
    # over one SMTP connection, replaced after each of the two 451s
    assert smtp_server.logins == 3
    rcpts = [tuple(m.rcpt_tos) for m in smtp_server.received]
    assert all(len(r) == 1 for r in rcpts)
    assert {r[0].lower() for r in rcpts} == {f"c{i:03d}@example.jp" for i in range(COUNT)}
    ids = set()
    for m in smtp_server.received:
        msg = _parse(m.data)
        assert len(getaddresses([str(msg["To"])])) == 1 and msg["Cc"] is None
        (addr,) = m.rcpt_tos
        number = addr[1:4]
        body = msg.get_body(("plain",)).get_content()
        assert f"顧客 {number} 様" in body and "決済システムの障害" in body and "本日18時頃" in body
        ids.add(msg["Message-ID"])
    assert len(ids) == COUNT

    # Saved to Sent, filed Done + notice.
    imap = imap_account.client()
    imap.select_folder("Sent", readonly=True)
    flags = imap.get_flags(imap.search("ALL"))
    assert len(flags) == COUNT
    assert all({b"mt:status/done", b"mt:tag/notice"} <= set(f) for f in flags.values())

    # The same command again: nothing is sent twice.
    code, out, _ = await cli(capsys, alice, *argv)
    assert code == 0 and len(smtp_server.received) == COUNT
    assert out.startswith(f"notice: {COUNT} of {COUNT} sent ({COUNT} by an earlier run)")

    # Each notice is a conversation (Done); a customer's answer puts it in the queue.
    await sync(alice)
    assert len(view_keys(alice, "done")) == COUNT
    first = _parse(smtp_server.received[0].data)
    customer = smtp_server.received[0].rcpt_tos[0]
    imap_account.append(
        "INBOX",
        make_message(
            subject=f"Re: {first['Subject']}",
            sender=("顧客", customer),
            in_reply_to=first["Message-ID"],
            references=[first["Message-ID"]],
            body="いつ復旧しますか？\n",
            date=datetime.now(UTC),  # after the notice: it reopens the conversation
        ),
    )
    await sync(alice)
    (queued,) = view_keys(alice, "unhandled")
    s = store(alice)
    try:
        conv = s.get_conversation(queued)
    finally:
        s.close()
    assert conv is not None and conv["message_count"] == 2 and "notice" in conv["tags"]
    assert [m["inbound"] for m in conv["messages"]] == [False, True]


async def test_notice_dry_run_shows_three_and_the_count_and_sends_nothing(
    tmp_path, imap_account, smtp_server, pki, capsys
) -> None:  # type: ignore[no-untyped-def]
    alice = agent(tmp_path, imap_account, smtp_server.port, pki.ca_cert, "alice")
    for i in range(5):
        imap_account.append(
            "INBOX",
            make_message(
                subject="注文が届きません",
                sender=(f"顧客{i}", f"d{i}@example.jp"),
                message_id=f"<late{i}@example.jp>",
            ),
        )
    imap_account.append("INBOX", make_message(subject="ログイン", sender=("他", "x@example.jp")))
    await sync(alice)
    code, out, err = await cli(
        capsys, alice, "notice", "notice-outage", "--to-search", "届きません", "--dry-run"
    )
    assert code == 0, err
    assert out.count("=== ") == 3 and "=== 1/5  To: 顧客" in out
    assert "5 messages would be sent" in out and "Nothing was sent" in out
    code, out, _ = await cli(
        capsys,
        alice,
        "notice",
        "en/notice-outage",
        "--to-search",
        "届きません",
        "--dry-run",
        "--json",
    )
    data = json.loads(out)
    assert data["count"] == 5 and len(data["first"]) == 3
    assert data["first"][0]["subject"] == "Important: service disruption"
    assert smtp_server.received == []
    # Bad input: one line, exit 2, nothing queued.
    bad = tmp_path / "bad.csv"
    bad.write_text("email,name\nok@example.jp,A\nnot an address,B\n", encoding="utf-8")
    code, _, err = await cli(capsys, alice, "notice", "notice-outage", "--to-csv", str(bad))
    assert code == 2 and err.strip().startswith(f"mailtriage: {bad}:3: not a usable email address")
    code, _, err = await cli(
        capsys, alice, "notice", "notice-outage", "--to-tag", "none-such", "--rate", "5/s"
    )
    assert code == 2 and "no recipients" in err
    code, _, err = await cli(
        capsys, alice, "notice", "notice-outage", "--to-tag", "x", "--rate", "fast"
    )
    assert code == 2 and "--rate 'fast'" in err
    assert smtp_server.received == []
