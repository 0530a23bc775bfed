"""Escalate and de-escalate across two agents with separate caches, against a real Dovecot and
a real aiosmtpd: the note, tag, events, the forward with history and the holding reply."""

from __future__ import annotations

import email
import email.policy
import json

from escalation.helpers import agent, cli, conversation, view_keys
from mailtriage.sla.clock import sla_for
from mailtriage.triage.threads import short_id
from support.mailfactory import make_message
from triage.helpers import only_key, sync


def _parse(raw: bytes) -> email.message.EmailMessage:
    return email.message_from_bytes(raw, policy=email.policy.default)  # type: ignore[return-value]


async def test_escalate_forward_hold_then_deescalate_across_two_agents(
    tmp_path, imap_account, smtp_server, pki, capsys
) -> None:  # type: ignore[no-untyped-def]
    alice = agent(tmp_path, imap_account, smtp_server.port, pki.ca_cert, "alice")
    bob = agent(tmp_path, imap_account, smtp_server.port, pki.ca_cert, "bob")
    first = make_message(
        message_id="<esc1@example.jp>",
        subject="請求金額が違います",
        body="先月の請求が二重になっています。\n",
    )
    imap_account.append("INBOX", first)
    imap_account.append(
        "INBOX",
        make_message(
            message_id="<esc2@example.jp>",
            subject="Re: 請求金額が違います",
            in_reply_to="<esc1@example.jp>",
            references=["<esc1@example.jp>"],
            body="まだ返金されていません。\n",
            minutes=30,
        ),
    )
    await sync(alice)
    await sync(bob)
    key = only_key(alice)
    sid = short_id(key)

    code, out, err = await cli(
        capsys,
        alice,
        "escalate",
        sid,
        "billing",
        "--reason",
        "二重請求の確認が必要",
        "--forward",
        "--hold",
        "--answer-by",
        "12月1日(火)",
    )
    assert code == 0, err
    assert out.splitlines()[0] == f"{sid}: escalated to 経理部"
    assert "forward to billing@example.co.jp queued" in out
    assert out.count(": sent: ") == 2, out

    # Two separate mails: the forward (whole history) and the holding reply.
    by_rcpt = {tuple(m.rcpt_tos): _parse(m.data) for m in smtp_server.received}
    assert set(by_rcpt) == {("billing@example.co.jp",), ("taro@example.jp",)}
    fwd = by_rcpt[("billing@example.co.jp",)]
    text = fwd.get_body(("plain",)).get_content()
    assert "二重請求の確認が必要" in text
    assert "先月の請求が二重になっています。" in text and "まだ返金されていません。" in text
    assert text.index("先月の請求") < text.index("まだ返金")  # oldest first
    assert fwd["In-Reply-To"] is None and fwd["References"] is None
    assert sid in str(fwd["Subject"])
    hold = by_rcpt[("taro@example.jp",)]
    body = hold.get_body(("plain",)).get_content()
    assert "担当部署に確認中です" in body and "12月1日(火)までに回答いたします" in body
    assert hold["In-Reply-To"] == "<esc2@example.jp>"

    # The forward's Sent copy is filed Done + internal; the holding reply is a normal reply.
    imap = imap_account.client()
    imap.select_folder("Sent", readonly=True)
    sent = imap.fetch(imap.search("ALL"), ["FLAGS", "BODY.PEEK[HEADER.FIELDS (TO)]"])
    flags_by_to = {
        next(v for k, v in d.items() if k.startswith(b"BODY")).decode().strip(): set(d[b"FLAGS"])
        for d in sent.values()
    }
    fwd_flags = next(f for to, f in flags_by_to.items() if "billing@" in to)
    assert {b"mt:status/done", b"mt:tag/internal"} <= fwd_flags

    # Bob, on his own cache, sees the escalation after a sync: tag, view, note, events.
    await sync(bob)
    seen = conversation(bob, key)
    assert "escalated" in seen["tags"]
    assert view_keys(bob, "escalated") == [key]
    kinds = [e["kind"] for e in seen["timeline"]]
    assert kinds[:4] == ["noted", "tagged", "forwarded", "escalated"], kinds
    assert "replied" in kinds  # the holding reply, logged by the outbox
    note = seen["timeline"][0]
    assert note["text"] == "エスカレーション → 経理部 (billing): 二重請求の確認が必要 @carol"
    assert note["mentions"] == ["carol"]
    escalated = next(e for e in seen["timeline"] if e["kind"] == "escalated")
    assert escalated["details"]["to"] == "billing" and escalated["agent"] == "alice"
    assert escalated["details"]["forward"] == fwd["Message-ID"]
    forwarded = next(e for e in seen["timeline"] if e["kind"] == "forwarded")
    assert forwarded["details"]["to"] == "billing@example.co.jp"
    # The forward is its own (Done) conversation, never a message of the customer's.
    assert all(m["message_id"] != fwd["Message-ID"] for m in seen["messages"])
    assert key not in view_keys(bob, "done")

    # sla.escalated (20h) replaces the normal resolution target (45h) while escalated.
    from mailtriage.store import Store

    s = Store(bob.accounts["support"].cache_path, readonly=True)
    try:
        clock = sla_for(s.conn, [key], policy=bob.sla)[key]
        normal = sla_for(s.conn, [key], policy=alice.sla.__class__())[key]
    finally:
        s.close()
    assert clock.kind == "resolution"
    assert normal.remaining_seconds - clock.remaining_seconds == 25 * 3600

    # Bob de-escalates; Alice's cache sees it come back.
    code, out, err = await cli(
        capsys, bob, "deescalate", sid, "--json", "--note", "返金済みと回答あり"
    )
    assert code == 0, err
    assert json.loads(out)["ok"] is True
    await sync(alice)
    back = conversation(alice, key)
    assert "escalated" not in back["tags"]
    assert view_keys(alice, "escalated") == []
    last = back["timeline"][-1]
    assert (last["kind"], last["agent"], last["text"]) == (
        "deescalated",
        "bob",
        "返金済みと回答あり",
    )
    assert any(
        e["kind"] == "noted" and "エスカレーション解除" in e["text"] for e in back["timeline"]
    )
    # Again: refused, one line, exit 2.
    code, _, err = await cli(capsys, alice, "deescalate", sid, "--note", "x")
    assert code == 2 and err.strip() == f"mailtriage: {sid}: not escalated"


async def test_escalate_refuses_bad_input_before_touching_the_server(
    tmp_path, imap_account, smtp_server, pki, capsys
) -> None:  # type: ignore[no-untyped-def]
    alice = agent(tmp_path, imap_account, smtp_server.port, pki.ca_cert, "alice")
    imap_account.append("INBOX", make_message(message_id="<esc3@example.jp>"))
    await sync(alice)
    sid = short_id(only_key(alice))
    code, _, err = await cli(capsys, alice, "escalate", sid, "nobody", "--reason", "x")
    assert code == 2
    assert err.startswith("mailtriage: 'nobody' is neither a supervisor nor a department")
    assert "carol, billing, dev" in err
    # dev has members but no address: nothing to forward to.
    code, _, err = await cli(capsys, alice, "escalate", sid, "dev", "--reason", "x", "--forward")
    assert code == 2 and "dev has no address to forward to" in err
    code, _, err = await cli(
        capsys, alice, "escalate", sid, "carol", "--reason", "x", "--hold", "nope"
    )
    assert code == 2 and "no template named 'nope'" in err
    # Nothing reached the server: no note, no tag, no mail.
    assert conversation(alice, only_key(alice))["timeline"] == []
    assert smtp_server.received == []
    imap = imap_account.client()
    assert not imap.folder_exists("Mailtriage")
