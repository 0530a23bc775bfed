"""Supervisor review across agents (separate configs, caches and outboxes) on real Dovecot +
aiosmtpd: alice submits, carol approves or returns, bob (not a supervisor) cannot decide."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

import pytest

from compose.helpers import make_config, only_conversation, outbox, parse, templates
from mailtriage.cli import main
from mailtriage.compose import review
from mailtriage.compose.message import to_bytes
from mailtriage.compose.reply import prepare_reply
from mailtriage.compose.templates import find_template
from mailtriage.store import Store
from mailtriage.store import events as ev
from mailtriage.store.review import awaiting_review, conversations_awaiting_review
from support.mailfactory import make_message
from triage.helpers import sync

EDIT = "ご不便をおかけして申し訳ございません。担当より本日中にご連絡いたします。"


def _drafts(imap_account) -> list[tuple[list[str], bytes]]:  # type: ignore[no-untyped-def]
    imap = imap_account.client()
    imap.select_folder("Drafts", readonly=True)
    uids = imap.search("ALL")
    data = imap.fetch(uids, ["FLAGS", "BODY.PEEK[]"]) if uids else {}
    return [([f.decode() for f in d[b"FLAGS"]], d[b"BODY[]"]) for d in data.values()]


@pytest.fixture
async def team(tmp_path: Path, imap_account, smtp_server, pki):  # type: ignore[no-untyped-def]
    imap_account.append(
        "INBOX", make_message(message_id="<q1@example.jp>", subject="ログインできません")
    )
    configs = {
        name: make_config(tmp_path, imap_account, smtp_server.port, pki.ca_cert, agent=name)
        for name in ("alice", "bob", "carol")
    }
    for config in configs.values():
        await sync(config)
    return configs


async def _submit(alice):  # type: ignore[no-untyped-def]
    conversation = only_conversation(alice)
    template = find_template(templates(), "acknowledge", "ja")
    prepared = prepare_reply(alice, "support", conversation, template)
    edited = prepared.message.with_body(prepared.message.body.replace("\n\n", f"\n\n{EDIT}\n\n", 1))
    item = await review.submit_for_review(
        alice, "support", edited, prepared.message.body, snapshot=prepared.snapshot
    )
    return conversation["key"], edited, item


def _awaiting(config, key: str) -> bool:  # type: ignore[no-untyped-def]
    store = Store(config.accounts["support"].cache_path, readonly=True)
    try:
        return awaiting_review(store.conn, key) and key in conversations_awaiting_review(store.conn)
    finally:
        store.close()


async def test_alice_submits_carol_approves_sent_exactly_once(
    team, imap_account, smtp_server
) -> None:  # type: ignore[no-untyped-def]
    alice, bob, carol = team["alice"], team["bob"], team["carol"]
    key, edited, submitted = await _submit(alice)

    ((flags, raw),) = _drafts(imap_account)
    assert {"\\Draft", review.PENDING} <= set(flags)
    assert parse(raw)["X-Mailtriage-Review-Author"] == "alice"
    assert parse(raw)["X-Mailtriage-Conversation"] == key
    assert smtp_server.received == []

    await sync(carol)
    assert _awaiting(carol, key)
    (pending,) = await review.pending_reviews(carol, "support")
    assert pending.id == submitted.id and pending.author == "alice"
    assert pending.template == "ja/acknowledge"
    diff = pending.diff()
    assert diff.startswith("--- a/ja/acknowledge\n+++ b/draft-")
    assert f"+{EDIT}\n" in diff
    assert not any(line.startswith("-") and not line.startswith("---") for line in diff.split("\n"))

    with pytest.raises(review.ReviewError, match="bob is not a supervisor"):
        await review.approve(bob, "support", pending.id)
    with pytest.raises(review.ReviewError, match="not a supervisor"):
        await review.return_to_author(bob, "support", pending.id, "no")

    box = outbox(carol)
    decision = await review.approve(carol, "support", pending.id, outbox=box, send_at=time.time())
    assert decision.review.state == "approved" and decision.warning is None
    with pytest.raises(review.ReviewError, match="already approved"):
        await review.approve(carol, "support", pending.id, outbox=box)
    first = await box.deliver_due()
    again = await box.deliver_due(now=time.time() + 3600)
    await box.close()
    assert [r.state for r in first] == ["done"] and again == []

    (mail,) = smtp_server.received
    assert mail.data.replace(b"\r\n", b"\n") == to_bytes(edited)[0].replace(b"\r\n", b"\n")
    assert b"X-Mailtriage-Review" not in mail.data
    assert mail.rcpt_tos == ["taro@example.jp"]
    ((flags, _),) = _drafts(imap_account)
    assert review.APPROVED in flags and review.PENDING not in flags
    assert "mt:review/by/carol" in flags

    await sync(alice)
    assert not _awaiting(alice, key)
    store = Store(alice.accounts["support"].cache_path, readonly=True)
    try:
        kinds = [
            (e["kind"], e["agent"], e["details"].get("state")) for e in ev.timeline(store.conn, key)
        ]
    finally:
        store.close()
    assert ("reviewed", "alice", "pending") in kinds
    assert ("reviewed", "carol", "approved") in kinds
    assert ("replied", "carol", None) in kinds
    assert await review.pending_reviews(alice, "support") == []


async def test_carol_returns_with_a_note_alice_sees_it(team, imap_account, smtp_server) -> None:  # type: ignore[no-untyped-def]
    alice, carol = team["alice"], team["carol"]
    key, _, submitted = await _submit(alice)
    await sync(carol)
    decision = await review.return_to_author(
        carol, "support", submitted.id, "敬語を見直してください"
    )
    assert decision.review.state == "returned" and decision.outbox_item is None
    with pytest.raises(review.ReviewError, match="already returned"):
        await review.approve(carol, "support", submitted.id)
    ((flags, _),) = _drafts(imap_account)
    assert review.RETURNED in flags and review.PENDING not in flags

    await sync(alice)
    assert not _awaiting(alice, key)
    store = Store(alice.accounts["support"].cache_path, readonly=True)
    try:
        (mention,) = ev.mentions_of(store.conn, "alice")
    finally:
        store.close()
    assert mention["agent"] == "carol" and "敬語を見直してください" in mention["text"]
    assert await review.pending_reviews(carol, "support") == []
    assert smtp_server.received == []


def test_cli_lists_shows_diff_and_refuses_non_supervisor(
    team, smtp_server, capsys: pytest.CaptureFixture[str]
) -> None:  # type: ignore[no-untyped-def]
    alice, bob, carol = team["alice"], team["bob"], team["carol"]
    _, _, submitted = asyncio.run(_submit(alice))
    capsys.readouterr()
    assert main(["review", "--config", str(carol.path), "--json"]) == 0
    (row,) = json.loads(capsys.readouterr().out)
    assert row["id"] == submitted.id and row["author"] == "alice" and row["state"] == "pending"
    assert main(["review", "show", submitted.id[:5], "--config", str(carol.path)]) == 0
    shown = capsys.readouterr().out
    assert "--- a/ja/acknowledge" in shown and f"+{EDIT}" in shown
    assert main(["review", "approve", submitted.id, "--config", str(bob.path)]) == 1
    assert "bob is not a supervisor" in capsys.readouterr().err
    assert smtp_server.received == []
