"""Servers that refuse custom keywords: status in folders, the rest in app-folder events.

A Dovecot whose ACL lacks the `w` right answers SELECT with PERMANENTFLAGS (\\Deleted \\Seen),
no `\\*`, and silently drops keyword stores: exactly the server this mode is for.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import shutil
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from mailtriage.devservers.dovecot import DovecotServer, find_dovecot
from mailtriage.imap.session import AccountSession
from mailtriage.triage import folders as tf
from support.mailfactory import SUPPORT, make_message
from triage.helpers import (
    actions_for,
    agent_config,
    conversation,
    copy_cache,
    hold_until_both_read,
    only_key,
    sync,
)

NOTICE = (
    "server refuses custom keywords: status kept in folders 対応中/対応済;"
    " assignee, priority and tags in the Mailtriage folder"
)
RACES = int(os.environ.get("MT_FOLDER_RACES", "10"))
FOLDERS = {"unhandled": "INBOX", "in-progress": "対応中", "done": "対応済"}


@pytest.fixture(scope="module")
def no_keywords_server() -> Iterator[DovecotServer]:
    if find_dovecot() is None:
        pytest.fail("Dovecot is not installed")
    # Not under pytest's 0700 tmp dirs: Dovecot's unprivileged processes must read it.
    directory = Path(tempfile.mkdtemp(prefix="mt-acl-", dir="/tmp"))
    directory.chmod(0o755)
    acl = directory / "global-acl"
    acl.write_text("* owner lrsitekxa\n")  # everything but w: no keywords, no \Flagged
    acl.chmod(0o644)
    server = DovecotServer(extra_config=f"mail_plugins = acl\nplugin {{\n  acl = vfile:{acl}\n}}\n")
    server.start()
    yield server
    server.stop()
    shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture
def make_account(no_keywords_server: DovecotServer, imap_account) -> Iterator:  # type: ignore[no-untyped-def]
    # The root conftest's ImapAccount (tests/triage has its own conftest module).
    account_type = type(imap_account)
    made: list = []  # type: ignore[type-arg]

    def make():  # type: ignore[no-untyped-def]
        s = no_keywords_server
        account = account_type(
            f"u{uuid.uuid4().hex[:10]}",
            secrets.token_urlsafe(12),
            s.host,
            s.imap_port,
            s.imaps_port,
            s.ca_file,
            s.lmtp_port,
        )
        s.add_user(account.username, account.password)
        made.append(account)
        return account

    yield make
    for account in made:
        account.close()


def seed_thread(account, prefix: str = "", *, customer_again: bool = True) -> None:  # type: ignore[no-untyped-def]
    """A question, our reply in Sent, and (customer_again) the customer's answer to it."""
    question, reply = f"<{prefix}q1@example.jp>", f"<{prefix}r1@example.co.jp>"
    account.append("INBOX", make_message(message_id=question, minutes=0))
    account.append(
        "Sent",
        make_message(
            subject="Re: ログインできません",
            sender=("サポート", SUPPORT),
            to=(("山田 太郎", "taro@example.jp"),),
            message_id=reply,
            in_reply_to=question,
            references=[question],
            minutes=10,
        ),
        flags=["\\Seen"],
    )
    if customer_again:
        account.append(
            "INBOX",
            make_message(
                subject="Re: ログインできません",
                message_id=f"<{prefix}q2@example.jp>",
                in_reply_to=reply,
                references=[question, reply],
                minutes=20,
            ),
        )


def counts(account) -> dict[str, int]:
    imap = account._append_client()
    return {
        name: imap.folder_status(name, [b"MESSAGES"])[b"MESSAGES"]
        for name in ("INBOX", "対応中", "対応済", "Sent")
    }


def test_keyword_refusing_server_is_detected_and_said_once(make_account, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    account = make_account()
    seed_thread(account)
    config = agent_config(tmp_path, account, "alice")
    support = config.accounts["support"]
    session = AccountSession(support, support.imap.resolve_password())
    try:
        session.sync()
        assert session.notice == NOTICE
        assert session.store is not None
        assert session.store.status_folders() == FOLDERS
    finally:
        session.close()
    # The status folders were created and are synced (empty so far).
    assert counts(account) == {"INBOX": 2, "対応中": 0, "対応済": 0, "Sent": 1}


async def test_status_change_moves_mail_and_other_agent_sees_it(
    make_account, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    account = make_account()
    seed_thread(account)
    alice = agent_config(tmp_path, account, "alice")
    bob = agent_config(tmp_path, account, "bob")
    await sync(alice)
    await sync(bob)
    key = only_key(alice)
    a = actions_for(alice)
    try:
        claimed = await a.claim(key)
        assert claimed.ok, claimed
        assert counts(account) == {"INBOX": 0, "対応中": 2, "対応済": 0, "Sent": 1}
        assert (await a.set_priority(key, "urgent")).ok
        assert (await a.set_tags(key, add=["vip", "billing"], remove=[])).ok
        assert (await a.set_tags(key, add=[], remove=["billing"])).ok
        mine = conversation(alice, key)
        assert (mine["status"], mine["assignee"], mine["priority"]) == (
            "in-progress",
            "alice",
            "urgent",
        )
        done = await a.set_status(key, "done")
        assert done.ok, done
        assert counts(account) == {"INBOX": 0, "対応中": 0, "対応済": 2, "Sent": 1}
    finally:
        await a.close()
    # Bob's cache (another process's view of the server) follows with a sync.
    await sync(bob)
    seen = conversation(bob, key)
    assert (seen["status"], seen["assignee"], seen["priority"]) == ("done", "alice", "urgent")
    assert seen["tags"] == ["vip"]
    assert seen["message_count"] == 3

    # A customer's new message reopens it (it lands in INBOX); the assignee stays.
    account.append(
        "INBOX",
        make_message(
            subject="Re: ログインできません",
            message_id="<q3@example.jp>",
            in_reply_to="<q2@example.jp>",
            references=["<q1@example.jp>", "<q2@example.jp>"],
            minutes=40,
        ),
    )
    await sync(bob)
    seen = conversation(bob, key)
    assert (seen["status"], seen["assignee"]) == ("unhandled", "alice")


async def test_second_claim_is_refused_from_events(make_account, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    account = make_account()
    account.append("INBOX", make_message(message_id="<one@example.jp>"))
    alice = agent_config(tmp_path, account, "alice")
    bob = agent_config(tmp_path, account, "bob")
    await sync(alice)
    await sync(bob)
    key = only_key(alice)
    a, b = actions_for(alice), actions_for(bob)
    try:
        assert (await a.claim(key)).ok
        lost = await b.claim(key)  # bob's cache is stale: the anchor is gone from INBOX
        assert not lost.ok and lost.conflict_with == "alice", lost
        again = await b.claim(key)  # now bob's cache knows
        assert not again.ok and again.conflict_with == "alice", again
    finally:
        await asyncio.gather(a.close(), b.close())


async def test_simultaneous_claims_on_status_folders(make_account, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    winners = {"alice": 0, "bob": 0}
    started = time.perf_counter()
    for n in range(RACES):
        account = make_account()
        account.append("INBOX", make_message(message_id=f"<fold{n}@example.jp>"))
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
        assert conversation(alice, key)["assignee"] == winner
        assert conversation(bob, key)["assignee"] == winner
        # One copy of the message, in 対応中.
        assert counts(account) == {"INBOX": 0, "対応中": 1, "対応済": 0, "Sent": 0}
    print(f"{RACES} races in {time.perf_counter() - started:.2f} s, winners {winners}")


def test_derive_from_folders_and_events() -> None:
    msgs = [
        tf.Located("対応済", True, 1.0, 1),
        tf.Located("Sent", False, 2.0, 1),
        tf.Located("対応済", True, 3.0, 2),
    ]
    events = [
        ("claimed", {"status": "in-progress", "assignee": "bob"}),
        ("tagged", {"add": ["a", "b"], "remove": []}),
        ("priority", {"priority": "urgent"}),
        ("tagged", {"add": [], "remove": ["a"]}),
        ("status", {"status": "done", "assignee": "bob"}),
    ]
    state = tf.derive(FOLDERS, msgs, events)
    assert (state.status, state.assignee, state.priority, state.tags) == (
        "done",
        "bob",
        "urgent",
        ["b"],
    )
    reopened = tf.derive(FOLDERS, [*msgs, tf.Located("INBOX", True, 4.0, 9)], events)
    assert (reopened.status, reopened.assignee) == ("unhandled", "bob")
    assert tf.notice(FOLDERS, "Mailtriage") == NOTICE


def test_cli_and_app_say_it_in_one_line(make_account, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    import asyncio
    import os
    import subprocess
    import sys

    from mailtriage.tui.app import make_app

    account = make_account()
    seed_thread(account)
    config = agent_config(tmp_path, account, "alice")
    env = dict(os.environ, MAILTRIAGE_CONFIG=str(config.path))
    done = subprocess.run(
        [sys.executable, "-m", "mailtriage", "sync", "-q"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr.strip() == f"mailtriage: support: {NOTICE}"

    async def run_app() -> list[str]:
        app = make_app(config, background_sync=False)
        async with app.run_test(size=(120, 35)) as pilot:
            await pilot.pause()
            return [n.message for n in app._notifications]

    assert NOTICE in asyncio.run(run_app())


async def test_own_reply_rule_holds_without_keywords(make_account, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    account = make_account()
    seed_thread(account, "o", customer_again=False)
    on = agent_config(tmp_path, account, "alice")
    off = agent_config(
        tmp_path, account, "bob", extra="\n[rules]\nown_reply_moves_to_in_progress = false\n"
    )
    await sync(on)
    await sync(off)
    key = only_key(on)
    assert conversation(on, key)["status"] == "in-progress"
    assert conversation(off, key)["status"] == "unhandled"
    # The customer writes again: unhandled for both, the reply is no longer the newest.
    account.append(
        "INBOX",
        make_message(
            message_id="<oq2@example.jp>",
            in_reply_to="<or1@example.co.jp>",
            references=["<oq1@example.jp>", "<or1@example.co.jp>"],
            minutes=20,
        ),
    )
    await sync(on)
    assert conversation(on, key)["status"] == "unhandled"
    assert counts(account)["INBOX"] == 2  # derived only: nothing was moved on the server
