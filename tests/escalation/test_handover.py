"""Away/handover across agents with separate caches on a real Dovecot: every open
conversation changes hands in one step, with the 申し送り, and the team sees who is away."""

from __future__ import annotations

import json

from escalation.helpers import agent, cli, conversation, store
from mailtriage.triage.handover import away_agents, handover_note
from support.mailfactory import make_message
from triage.helpers import actions_for, sync


async def test_handover_moves_open_conversations_with_the_note_and_marks_away(
    tmp_path, imap_account, smtp_server, pki, capsys
) -> None:  # type: ignore[no-untyped-def]
    alice = agent(tmp_path, imap_account, smtp_server.port, pki.ca_cert, "alice")
    bob = agent(tmp_path, imap_account, smtp_server.port, pki.ca_cert, "bob")
    carol = agent(tmp_path, imap_account, smtp_server.port, pki.ca_cert, "carol")
    for i in range(5):
        imap_account.append(
            "INBOX",
            make_message(
                message_id=f"<ho{i}@example.jp>",
                subject=f"問い合わせ {i}",
                sender=(f"顧客{i}", f"h{i}@example.jp"),
                minutes=i,
            ),
        )
    await sync(alice)
    s = store(alice)
    try:
        keys = [c["key"] for c in sorted(s.list_conversations("all"), key=lambda c: c["subject"])]
    finally:
        s.close()
    a = actions_for(alice)
    try:
        for key in keys[:4]:
            assert (await a.claim(key)).ok
        assert (await a.set_status(keys[3], "done")).ok  # done: stays alice's
    finally:
        await a.close()
    # Carol takes one of Alice's conversations on her own cache; Alice's is a sync behind.
    await sync(carol)
    c = actions_for(carol)
    try:
        assert (await c.assign(keys[2], "carol")).ok
    finally:
        await c.close()

    code, out, err = await cli(
        capsys,
        alice,
        "handover",
        "alice",
        "bob",
        "--note",
        "山田様は電話希望。請求の件は経理確認待ち",
    )
    assert code == 7, err  # one could not be handed over: someone changed it first
    assert out.strip() == "alice → bob: 2 of 3 open conversations handed over; alice is away"
    assert "not handed over:" in err and "carol" in err

    await sync(bob)
    handed = [conversation(bob, k) for k in keys[:2]]
    assert all(h["assignee"] == "bob" and h["status"] == "in-progress" for h in handed)
    for h in handed:
        note = handover_note(h["timeline"])
        assert note is not None and note["agent"] == "alice"
        assert note["text"] == "山田様は電話希望。請求の件は経理確認待ち"
        assert note["details"] == {"from": "alice", "to": "bob"}
    assert conversation(bob, keys[2])["assignee"] == "carol"
    done = conversation(bob, keys[3])
    assert (done["assignee"], done["status"]) == ("alice", "done")
    assert conversation(bob, keys[4])["assignee"] is None
    s = store(bob)
    try:
        assert away_agents(s.conn) == {"alice"}
    finally:
        s.close()
    code, out, _ = await cli(capsys, bob, "away", "--json")
    assert (code, json.loads(out)) == (0, ["alice"])

    # Alice is back; Carol's cache learns it at her next sync.
    code, out, _ = await cli(capsys, alice, "away", "--back", "alice")
    assert (code, out.strip()) == (0, "alice is back")
    await sync(carol)
    code, out, _ = await cli(capsys, carol, "away")
    assert (code, out.strip()) == (0, "nobody is away")
    # Bad input: one line, exit 2.
    code, _, err = await cli(capsys, bob, "handover", "bob", "zed", "--note", "x")
    assert code == 2 and "'zed' is not in team.members" in err
    code, _, err = await cli(capsys, bob, "handover", "bob", "carol", "--note", " ")
    assert code == 2 and "--note is empty" in err
