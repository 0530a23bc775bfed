"""Events, notes and presence through the app folder, against a real Dovecot: two agents with
separate caches (and, for presence, a separate process killed with SIGKILL)."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

from mailtriage.store import Store
from mailtriage.store import events as ev
from support.mailfactory import make_message
from triage.helpers import actions_for, conversation, only_key, sync

HERE = Path(__file__).resolve().parent


def _store(config) -> Store:  # type: ignore[no-untyped-def]
    return Store(config.accounts["support"].cache_path, readonly=True)


def _timeline(config, key: str) -> list[dict]:  # type: ignore[no-untyped-def]
    store = _store(config)
    try:
        return store.timeline(key)
    finally:
        store.close()


async def _seeded(two_agents, imap_account):  # type: ignore[no-untyped-def]
    alice, bob = two_agents
    imap_account.append("INBOX", make_message(message_id="<team1@example.jp>"))
    await sync(alice)
    await sync(bob)
    return alice, bob, only_key(alice)


async def test_events_and_notes_reach_the_other_agent_and_never_look_like_mail(
    two_agents, imap_account
) -> None:  # type: ignore[no-untyped-def]
    alice, bob, key = await _seeded(two_agents, imap_account)
    a = actions_for(alice)
    a.members = ("alice", "bob", "carol")
    try:
        assert (await a.claim(key)).ok
        assert (await a.set_tags(key, add=["billing"])).ok
        noted = await a.add_note(key, "請求の件 @bob please check; cc x@carol.example")
        assert (await a.set_seen(key, True)).ok  # not an event
    finally:
        await a.close()
    assert noted.ok and noted.message.endswith("note added (mentions @bob)"), noted
    # Alice's own cache has them at once: each action syncs the app folder after logging.
    assert [e["kind"] for e in _timeline(alice, key)] == ["claimed", "tagged", "noted"]
    assert _timeline(bob, key) == []
    await sync(bob)
    events = _timeline(bob, key)
    assert [(e["kind"], e["agent"]) for e in events] == [
        ("claimed", "alice"),
        ("tagged", "alice"),
        ("noted", "alice"),
    ]
    assert events[0]["details"] == {"assignee": "alice", "status": "in-progress"}
    assert events[1]["details"] == {"add": ["billing"], "remove": []}
    note = events[2]
    assert note["text"] == "請求の件 @bob please check; cc x@carol.example"
    assert note["mentions"] == ["bob"]
    assert abs(note["time"] - time.time()) < 30
    store = _store(bob)
    try:
        assert [m["text"] for m in ev.mentions_of(store.conn, "bob")] == [note["text"]]
        # The app folder is not customer mail: still one conversation of one message.
        (only,) = store.list_conversations("all")
        assert only["message_count"] == 1
    finally:
        store.close()
    imap = imap_account.client()
    assert imap.folder_status("Mailtriage", [b"MESSAGES"])[b"MESSAGES"] == 3
    assert imap.folder_status("INBOX", [b"MESSAGES"])[b"MESSAGES"] == 1


async def test_conflict_says_who_won_and_when(two_agents, imap_account) -> None:  # type: ignore[no-untyped-def]
    alice, bob, key = await _seeded(two_agents, imap_account)
    a, b = actions_for(alice), actions_for(bob)
    try:
        assert (await a.claim(key)).ok
        # Bob's cache is a sync behind and does not know Alice's event yet.
        lost = await b.claim(key)
        again = await b.claim(key)  # now from a refreshed cache: a plain refusal
    finally:
        await a.close()
        await b.close()
    assert not lost.ok and lost.conflict_with == "alice"
    assert re.search(r"alice .*\(alice claimed this \d+ s ago\)$", lost.message), lost.message
    assert re.search(r"alice has this .*\(alice claimed this \d+ s ago\)$", again.message)


async def test_rebuilt_cache_keeps_notes_and_events(two_agents, imap_account) -> None:  # type: ignore[no-untyped-def]
    alice, bob, key = await _seeded(two_agents, imap_account)
    a = actions_for(alice)
    try:
        assert (await a.set_priority(key, "urgent")).ok
        assert (await a.add_note(key, "VIP customer")).ok
    finally:
        await a.close()
    await sync(bob)
    before = _timeline(bob, key)
    assert [e["kind"] for e in before] == ["priority", "noted"]
    path = bob.accounts["support"].cache_path
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    await sync(bob)
    assert _timeline(bob, key) == before
    assert conversation(bob, key)["priority"] == "urgent"


async def test_a_failed_event_append_keeps_the_action_and_is_retried(
    two_agents, imap_account
) -> None:  # type: ignore[no-untyped-def]
    alice, bob, key = await _seeded(two_agents, imap_account)
    a = actions_for(alice)
    good = a.account
    # Dovecot refuses to create a 300-character mailbox: a real server-side failure.
    a.account = replace(good, app_folder="x" * 300)
    try:
        claimed = await a.claim(key)
        assert claimed.ok and claimed.warning and "not logged" in claimed.warning, claimed
        assert a.unlogged_events == 1
        a.account = good
        tagged = await a.set_tags(key, add=["vip"])
        assert tagged.ok and tagged.warning is None
        assert a.unlogged_events == 0
    finally:
        await a.close()
    assert conversation(alice, key)["assignee"] == "alice"  # the claim stood throughout
    await sync(bob)
    assert [e["kind"] for e in _timeline(bob, key)] == ["claimed", "tagged"]


async def test_presence_is_seen_then_expires_after_kill_9(two_agents, imap_account) -> None:  # type: ignore[no-untyped-def]
    alice, bob, key = await _seeded(two_agents, imap_account)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(HERE.parent), *sys.path]))
    proc = subprocess.Popen(
        [sys.executable, str(HERE / "presence_agent.py"), str(alice.path), key, "replying"],
        stdout=subprocess.PIPE,
        env=env,
    )
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == b"announced"
        await sync(bob)
        store = _store(bob)
        try:
            (seen,) = store.presence(key, exclude="bob")
            assert (seen.agent, seen.activity) == ("alice", "replying")
            assert time.time() - seen.since < 30
            assert store.presence(key, exclude="alice") == []  # nobody else is there
        finally:
            store.close()
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    # The dead process never said goodbye; its presence ages out on its own.
    await sync(bob)
    store = _store(bob)
    try:
        assert len(store.presence(key, exclude="bob")) == 1
        later = time.time() + ev.PRESENCE_TTL + 1
        assert ev.presence(store.conn, key, exclude="bob", now=later) == []
        assert ev.PRESENCE_TTL < 120
    finally:
        store.close()


async def test_clear_and_refresh_keep_one_presence_message_per_agent(
    two_agents, imap_account
) -> None:  # type: ignore[no-untyped-def]
    alice, bob, key = await _seeded(two_agents, imap_account)
    a, b = actions_for(alice), actions_for(bob)
    try:
        await a.announce(key, "viewing")
        await b.announce(key, "viewing")
        await a.announce(key, "replying")
        await b.sync_team()
        store = _store(bob)
        try:
            assert [(p.agent, p.activity) for p in store.presence(key, exclude="bob")] == [
                ("alice", "replying")
            ]
        finally:
            store.close()
        await a.clear()
        await b.sync_team()
        store = _store(bob)
        try:
            assert store.presence(key, exclude="bob") == []
        finally:
            store.close()
    finally:
        await a.close()
        await b.close()
    imap = imap_account.client()
    # Superseded presence is deleted: one (cleared) item per agent remains.
    assert imap.folder_status("Mailtriage", [b"MESSAGES"])[b"MESSAGES"] == 2


async def test_cli_note_prints_and_reports_mentions(two_agents, imap_account, capsys) -> None:  # type: ignore[no-untyped-def]
    import asyncio
    import json

    from mailtriage.cli import main
    from mailtriage.triage.threads import short_id

    alice, _, key = await _seeded(two_agents, imap_account)
    sid = short_id(key)
    argv = ["note", "--config", str(alice.path), sid, "refund", "approved,", "@bob", "sends", "it"]
    assert await asyncio.to_thread(main, argv) == 0
    assert capsys.readouterr().out.strip() == f"{sid}: note added (mentions @bob)"
    argv = ["note", "--config", str(alice.path), "--json", sid, "second"]
    assert await asyncio.to_thread(main, argv) == 0
    timeline = json.loads(capsys.readouterr().out)["conversation"]["timeline"]
    assert [(e["kind"], e["text"]) for e in timeline] == [
        ("noted", "refund approved, @bob sends it"),
        ("noted", "second"),
    ]
    assert await asyncio.to_thread(main, ["note", "--config", str(alice.path), sid]) == 2


async def test_own_reply_rule_is_configurable(tmp_path, imap_account) -> None:  # type: ignore[no-untyped-def]
    from support.mailfactory import SUPPORT
    from triage.helpers import agent_config

    imap_account.append("INBOX", make_message(message_id="<rule1@example.jp>", minutes=0))
    imap_account.append(
        "Sent",
        make_message(
            subject="Re: ログインできません",
            sender=("サポート", SUPPORT),
            to=(("山田 太郎", "taro@example.jp"),),
            message_id="<rule-r1@example.co.jp>",
            in_reply_to="<rule1@example.jp>",
            references=["<rule1@example.jp>"],
            minutes=10,
        ),
    )
    on = agent_config(tmp_path, imap_account, "alice")
    off = agent_config(
        tmp_path, imap_account, "bob", extra="\n[rules]\nown_reply_moves_to_in_progress = false\n"
    )
    await sync(on)
    await sync(off)
    key = only_key(on)
    assert conversation(on, key)["status"] == "in-progress"
    assert conversation(off, key)["status"] == "unhandled"
    # Changing the rule re-derives the whole cache at the next sync.
    alice_off = agent_config(
        tmp_path, imap_account, "alice", extra="\n[rules]\nown_reply_moves_to_in_progress = false\n"
    )
    await sync(alice_off)
    assert conversation(on, key)["status"] == "unhandled"
