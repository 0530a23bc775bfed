"""Events logged under a conversation's old key, after another cache renamed it, on a real
Dovecot with three agents' caches.

A late, older message renames a conversation (its key is its earliest message's root). Bob's
cache has not seen that message yet, so he claims, replies and closes under the old key;
alice's cache renamed the conversation before his events arrived, and carol's cache was
built from scratch after the rename and never had the old key. For all three, every lookup
by key (KPIs: first response, resolution, resolver; the timeline; the last event; presence)
must see bob's work, and the status must be his.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mailtriage.sla.kpi import report
from mailtriage.store import Store, events, kpi
from mailtriage.triage.threads import conversation_key
from sla.helpers import ScriptedClock
from sla.test_kpi_server import customer, ours, t
from triage.helpers import actions_for, agent_config, sync

H = 3600.0
SUBJECT = "返金について"
TARO = ("山田 太郎", "taro@example.jp")
OLD = conversation_key("<b@example.jp>")  # the late reply's root, before the rename
NEW = conversation_key("<a@example.jp>")  # the late, older message's root


def key_of(store: Store, message_id: str) -> str:
    (key,) = store.conn.execute(
        "SELECT conversation FROM messages WHERE message_id = ?", (message_id,)
    ).fetchone()
    return str(key)


def check(config: Any) -> None:
    """Everything alice or carol should know about bob's work on the renamed conversation."""
    store = Store(config.accounts["support"].cache_path, readonly=True)
    try:
        assert key_of(store, "<c@example.jp>") == key_of(store, "<b@example.jp>") == NEW
        keys = {k for (k,) in store.conn.execute("SELECT DISTINCT conversation FROM app_events")}
        assert keys == {NEW}  # filed under the conversation's key now, whatever it was logged as
        (data,) = kpi.load(store.conn, [NEW]).values()
        assert [(e.kind, e.agent) for e in data.events] == [
            ("claimed", "bob"),
            ("replied", "bob"),
            ("status", "bob"),
        ]
        kinds = [e["kind"] for e in store.timeline(NEW)]
        assert kinds == ["claimed", "noted", "replied", "status"]
        last = events.last_event(store.conn, NEW, ["claimed"])
        assert last is not None and last["agent"] == "bob"
        conversation = store.get_conversation(NEW)
        assert conversation is not None
        assert (conversation["status"], conversation["assignee"]) == ("done", "bob")
        since, until = t(1, 0).timestamp(), t(16, 0).timestamp()
        data = report(store.conn, config.sla, since, until, by="agent", now=until)
        summary = data["summary"]
        assert (summary["conversations"], summary["resolved"]) == (1, 1)
        # B arrived Tue 09:00; bob's reply at 10:00, his Done at 11:00.
        assert summary["first_response"]["median"] == 1 * H
        assert summary["resolution"]["median"] == 2 * H
        (row,) = data["rows"]
        assert (row["agent"], row["first_responses"], row["resolved"]) == ("bob", 1, 1)
    finally:
        store.close()


async def test_events_under_the_old_key_after_a_rename_count_everywhere(
    tmp_path: Path, imap_account: Any, clock: ScriptedClock
) -> None:
    # The customer's follow-up C arrives first; it names B, which names A (never in INBOX).
    imap_account.append(
        "INBOX",
        customer("<c@example.jp>", t(13, 9, 30), f"Re: {SUBJECT}", "まだですか", "<b@example.jp>"),
    )
    alice = agent_config(tmp_path, imap_account, "alice")
    bob = agent_config(tmp_path, imap_account, "bob")
    carol = agent_config(tmp_path, imap_account, "carol")
    for config in (alice, bob):
        await sync(config)
    for config in (alice, bob):
        store = Store(config.accounts["support"].cache_path, readonly=True)
        assert key_of(store, "<c@example.jp>") == OLD
        store.close()

    # B, older than C, arrives late; alice's cache renames the conversation, bob's does not.
    raw = customer("<b@example.jp>", t(13, 9), SUBJECT, "返金してください", "<a@example.jp>")
    imap_account.append("INBOX", raw)
    await sync(alice)

    # Bob works under the old key: claim, a reply (Sent) he logs, Done; and he is viewing it.
    bob_actions = actions_for(bob)
    try:
        clock.now = t(13, 9, 40).timestamp()
        assert (await bob_actions.claim(OLD)).ok
        clock.now = t(13, 9, 50).timestamp()
        assert (await bob_actions.add_note(OLD, "返金は承認済み")).ok
        imap_account.append("Sent", ours("<r@x>", t(13, 10), SUBJECT, TARO, "<c@example.jp>"))
        clock.now = t(13, 10, 0, 1).timestamp()
        assert (await bob_actions.log_event(OLD, "replied", {"message_id": "<r@x>"})).ok
        clock.now = t(13, 11).timestamp()
        assert (await bob_actions.set_status(OLD, "done")).ok
        # Carol starts now: a cache built after the rename, which never had the old key.
        await sync(carol)
        await bob_actions.announce(OLD, "viewing")
        for config in (alice, carol):
            await sync(config)
            store = Store(config.accounts["support"].cache_path, readonly=True)
            try:
                (seen,) = events.presence(store.conn, NEW, exclude=config.agent, now=clock.now)
                assert (seen.agent, seen.activity) == ("bob", "viewing")
            finally:
                store.close()
    finally:
        await bob_actions.close()
    check(alice)
    check(carol)
