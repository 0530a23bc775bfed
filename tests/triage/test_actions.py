"""Claims and triage changes against a real Dovecot, two agents with separate caches."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from mailtriage.store import Store
from support.mailfactory import SUPPORT, make_message
from triage.helpers import (
    actions_for,
    agent_config,
    anchor_assignees,
    conversation,
    copy_cache,
    hold_until_both_read,
    only_key,
    sync,
)

RACE_BATCHES, RACE_ROUNDS = 5, 10


def seed_thread(imap_account) -> None:  # type: ignore[no-untyped-def]
    imap_account.append("INBOX", make_message(message_id="<q1@example.jp>", minutes=0))
    imap_account.append(
        "Sent",
        make_message(
            subject="Re: ログインできません",
            sender=("サポート", SUPPORT),
            to=(("山田 太郎", "taro@example.jp"),),
            message_id="<r1@example.co.jp>",
            in_reply_to="<q1@example.jp>",
            references=["<q1@example.jp>"],
            minutes=10,
        ),
        flags=["\\Seen"],
    )
    imap_account.append(
        "INBOX",
        make_message(
            subject="Re: ログインできません",
            message_id="<q2@example.jp>",
            in_reply_to="<r1@example.co.jp>",
            references=["<q1@example.jp>", "<r1@example.co.jp>"],
            minutes=20,
        ),
    )


async def test_claim_is_seen_by_the_other_agent_after_sync(two_agents, imap_account) -> None:  # type: ignore[no-untyped-def]
    alice, bob = two_agents
    seed_thread(imap_account)
    await sync(alice)
    await sync(bob)
    key = only_key(alice)
    actions = actions_for(alice)
    try:
        result = await actions.claim(key)
    finally:
        await actions.close()
    assert result.ok, result
    assert result.message.endswith("claimed")
    # Alice's own cache shows it at once, without a sync.
    mine = conversation(alice, key)
    assert (mine["status"], mine["assignee"]) == ("in-progress", "alice")
    assert all("mt:assignee/alice" in m["flags"] for m in mine["messages"])
    assert conversation(bob, key)["assignee"] is None
    await sync(bob)
    theirs = conversation(bob, key)
    assert (theirs["status"], theirs["assignee"]) == ("in-progress", "alice")


async def test_second_claim_is_refused_and_names_the_owner(two_agents, imap_account) -> None:  # type: ignore[no-untyped-def]
    alice, bob = two_agents
    seed_thread(imap_account)
    await sync(alice)
    key = only_key(alice)
    a = actions_for(alice)
    try:
        assert (await a.claim(key)).ok
    finally:
        await a.close()
    await sync(bob)
    b = actions_for(bob)
    try:
        lost = await b.claim(key)
        again = await b.claim(key)
    finally:
        await b.close()
    assert not lost.ok
    assert (lost.conflict_with, lost.reason) == ("alice", "conflict")
    assert "alice has this" in lost.message
    assert not again.ok  # refusing does not change anything on the server


async def test_change_since_last_sync_is_refused_not_overwritten(two_agents, imap_account) -> None:  # type: ignore[no-untyped-def]
    alice, bob = two_agents
    seed_thread(imap_account)
    await sync(alice)
    await sync(bob)
    key = only_key(alice)
    b = actions_for(bob)
    a = actions_for(alice)
    try:
        assert (await b.claim(key)).ok
        # Alice still sees it unowned and marks it done: that decision is out of date.
        result = await a.set_status(key, "done")
    finally:
        await a.close()
        await b.close()
    assert not result.ok
    assert result.conflict_with == "bob"
    assert "bob" in result.message and "since your last sync" in result.message
    # The refusal refreshed Alice's cache to the server's truth.
    mine = conversation(alice, key)
    assert (mine["status"], mine["assignee"]) == ("in-progress", "bob")


@pytest.mark.parametrize("batch", range(RACE_BATCHES))
async def test_simultaneous_claims_have_exactly_one_winner(
    batch: int, tmp_path: Path, make_imap_account
) -> None:  # type: ignore[no-untyped-def]
    """RACE_BATCHES x RACE_ROUNDS = 50 races, in batches so xdist spreads them."""
    winners = {"alice": 0, "bob": 0}
    started = time.perf_counter()
    for n in range(RACE_ROUNDS):
        # A fresh mailbox each round: Dovecot's double-win quirk lives on fresh mailboxes.
        account = make_imap_account()
        account.append("INBOX", make_message(message_id=f"<race{batch}.{n}@example.jp>"))
        # Plain IMAP on loopback: the race is the same, and 50 TLS handshakes are not.
        alice = agent_config(tmp_path / str(n), account, "alice", security="insecure-plaintext")
        bob = agent_config(tmp_path / str(n), account, "bob", security="insecure-plaintext")
        await sync(alice)
        copy_cache(alice, bob)
        key = only_key(alice)
        a, b = actions_for(alice), actions_for(bob)
        hold_until_both_read(a, b)
        try:
            ra, rb = await asyncio.gather(a.claim(key), b.claim(key))
        finally:
            await asyncio.gather(a.close(), b.close())
        assert ra.ok != rb.ok, (n, ra, rb)
        winner, loser = ("alice", rb) if ra.ok else ("bob", ra)
        winners[winner] += 1
        assert loser.conflict_with == winner, (n, loser)
        assert winner in loser.message
        # Both caches were updated from the server by the actions themselves.
        assert conversation(alice, key)["assignee"] == winner
        assert conversation(bob, key)["assignee"] == winner
        # And the server holds exactly one owner on the anchor.
        assert anchor_assignees(account) == [winner]
    print(f"{RACE_ROUNDS} races in {time.perf_counter() - started:.2f} s, winners {winners}")


async def test_cache_deleted_and_rebuilt_keeps_all_state(two_agents, imap_account) -> None:  # type: ignore[no-untyped-def]
    alice, _ = two_agents
    seed_thread(imap_account)
    imap_account.append("INBOX", make_message(subject="Invoice", message_id="<i1@example.com>"))
    await sync(alice)
    store = Store(alice.accounts["support"].cache_path, readonly=True)
    keys = {c["subject"]: c["key"] for c in store.list_conversations("all")}
    store.close()
    login, invoice = keys["ログインできません"], keys["Invoice"]
    a = actions_for(alice)
    try:
        assert (await a.assign(login, "bob")).ok
        assert (await a.set_priority(login, "urgent")).ok
        assert (await a.set_tags(login, add=["billing", "later"])).ok
        assert (await a.set_tags(login, remove=["later"])).ok
        assert (await a.set_status(invoice, "done")).ok
        assert (await a.set_seen(invoice, True)).ok
    finally:
        await a.close()
    before = {k: _state(conversation(alice, k)) for k in (login, invoice)}
    assert before[login] == ("in-progress", "bob", "urgent", ["billing"], 2)
    assert before[invoice] == ("done", None, "normal", [], 0)
    cache = alice.accounts["support"].cache_path
    for path in cache.parent.glob(cache.name + "*"):
        path.unlink()
    await sync(alice)
    assert {k: _state(conversation(alice, k)) for k in (login, invoice)} == before


def _state(c: dict) -> tuple:
    return (c["status"], c["assignee"], c["priority"], c["tags"], c["unread"])


async def test_customer_reply_reopens_done_and_keeps_assignee(two_agents, imap_account) -> None:  # type: ignore[no-untyped-def]
    alice, _ = two_agents
    seed_thread(imap_account)
    await sync(alice)
    key = only_key(alice)
    a = actions_for(alice)
    try:
        assert (await a.claim(key)).ok
        assert (await a.set_status(key, "done")).ok
    finally:
        await a.close()
    assert conversation(alice, key)["status"] == "done"
    imap_account.append(
        "INBOX",
        make_message(
            subject="Re: ログインできません",
            body="またできません。",
            message_id="<q3@example.jp>",
            references=["<q1@example.jp>", "<r1@example.co.jp>", "<q2@example.jp>"],
            minutes=60,
        ),
    )
    await sync(alice)
    reopened = conversation(alice, key)
    assert (reopened["status"], reopened["assignee"]) == ("unhandled", "alice")


async def test_unknown_conversation(two_agents, imap_account) -> None:  # type: ignore[no-untyped-def]
    alice, _ = two_agents
    seed_thread(imap_account)
    await sync(alice)
    a = actions_for(alice)
    try:
        result = await a.claim("0" * 40)
    finally:
        await a.close()
    assert (result.ok, result.reason) == (False, "not-found")
