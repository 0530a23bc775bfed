"""The running TUI against a real Dovecot: new mail and other agents' changes appear within
about a second without a keypress (IDLE), and the cursor stays put."""

from __future__ import annotations

import time
from pathlib import Path

from mailtriage.config import load_config
from mailtriage.tui.app import make_app
from mailtriage.tui.conversation_list import ConversationList
from support.configs import write_config
from support.mailfactory import make_message
from support.pilot import wait_until


async def test_new_mail_and_keyword_changes_arrive_live(tmp_path: Path, imap_account) -> None:  # type: ignore[no-untyped-def]
    for i in range(3):
        imap_account.append(
            "INBOX", make_message(subject=f"件 {i}", message_id=f"<l{i}@x.jp>", minutes=i)
        )
    config = load_config(write_config(tmp_path, imap_account))
    app = make_app(config)  # background sync on: the watch loop
    async with app.run_test(size=(120, 35)) as pilot:
        conversations = app.main.query_one(ConversationList)
        await wait_until(pilot, lambda: len(conversations.keys) == 3, timeout=10)
        await wait_until(pilot, lambda: "IDLE" in app.sync_state or "up to date" in app.sync_state)
        await pilot.press("j")
        key = conversations.current_key

        imap_account.append(
            "INBOX", make_message(subject="新着", message_id="<new@x.jp>", minutes=30)
        )
        new_seconds = await wait_until(pilot, lambda: len(conversations.keys) == 4)
        assert conversations.current_key == key

        other = imap_account.client()
        other.select_folder("INBOX")
        uids = other.search(["HEADER", "Message-ID", "l0@x.jp"])
        other.add_flags(uids, [b"mt:status/in-progress", b"mt:assignee/bob"])
        change_seconds = await wait_until(pilot, lambda: len(conversations.keys) == 3)
        assert conversations.current_key == key
        assert app.counts["in-progress"] == 1
        print(
            f"new mail visible after {new_seconds:.2f} s, keyword change after"
            f" {change_seconds:.2f} s"
        )


async def test_server_down_app_still_works_and_says_why(tmp_path: Path, imap_account) -> None:  # type: ignore[no-untyped-def]
    import socket

    imap_account.append("INBOX", make_message(subject="cached", message_id="<c0@x.jp>"))
    config = load_config(write_config(tmp_path, imap_account))
    # fill the cache while the server is reachable, then point the app at a dead port
    app = make_app(config)
    async with app.run_test(size=(120, 35)) as pilot:
        conversations = app.main.query_one(ConversationList)
        await wait_until(pilot, lambda: len(conversations.keys) == 1, timeout=10)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead = s.getsockname()[1]
    config = load_config(write_config(tmp_path, imap_account, port=dead))
    app = make_app(config)
    async with app.run_test(size=(120, 35)) as pilot:
        conversations = app.main.query_one(ConversationList)
        await wait_until(pilot, lambda: "offline" in app.sync_state)
        assert "connection refused" in app.sync_state
        assert len(conversations.keys) == 1  # the cache still serves the list
        await pilot.press("enter")
        await pilot.pause()
        assert app.screen.conversation["subject"] == "cached"  # type: ignore[attr-defined]


async def test_another_agents_presence_shows_within_a_second(tmp_path: Path, imap_account) -> None:  # type: ignore[no-untyped-def]
    from mailtriage.imap.account import AccountSync
    from mailtriage.imap.actions import AccountActions

    imap_account.append("INBOX", make_message(subject="見てます", message_id="<p0@x.jp>"))
    config = load_config(write_config(tmp_path, imap_account))
    bob_dir = tmp_path / "bob"
    bob_dir.mkdir()
    bob = load_config(write_config(bob_dir, imap_account, agent="bob")).accounts["support"]
    syncer = AccountSync(bob, bob.imap.resolve_password())
    await syncer.sync()
    await syncer.close()
    app = make_app(config)
    async with app.run_test(size=(120, 35)) as pilot:
        conversations = app.main.query_one(ConversationList)
        await wait_until(pilot, lambda: len(conversations.keys) == 1, timeout=10)
        key = conversations.current_key
        assert key is not None
        bob_actions = AccountActions(bob, bob.imap.resolve_password(), "bob")
        try:
            # bob's first item creates the app folder; the app's IDLE on it starts after that
            await bob_actions.announce(key, "viewing")
            await wait_until(
                pilot, lambda: (conversations.row(0) or {}).get("presence") == "viewing"
            )
            await pilot.pause(0.3)  # the app folder's IDLE is in place again
            started = time.monotonic()
            await bob_actions.announce(key, "replying")
            announced = time.monotonic() - started
            seen = await wait_until(
                pilot, lambda: (conversations.row(0) or {}).get("presence") == "replying"
            )
            await bob_actions.clear()
            gone = await wait_until(
                pilot, lambda: (conversations.row(0) or {}).get("presence") is None
            )
        finally:
            await bob_actions.close()
    # Without the app folder's IDLE this waits for the next wake-up (poll_interval, 60 s): the
    # timeout above is the test; the figure (0.7 s unloaded) is for README, not an assertion.
    print(
        f"presence shown {seen:.2f} s after bob's APPEND ({announced:.2f} s), cleared {gone:.2f} s"
    )


async def test_a_closed_reader_is_freed(tmp_path: Path, imap_account, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Opening a conversation tells the team (presence, with a heartbeat task that outlives
    the call). That task was made in the reader's context, which holds the reader (Textual's
    active_message_pump): every reader ever opened stayed in memory, and every full garbage
    collection walked all of them."""
    import gc
    import weakref

    from mailtriage.tui import app as app_module
    from mailtriage.tui.reader import ReaderScreen

    # Start-up's objects are frozen at once, so the readers below are all collectable.
    monkeypatch.setattr(app_module, "FREEZE_AFTER", 0.01)
    imap_account.append("INBOX", make_message(subject="読む", message_id="<fr0@x.jp>"))
    config = load_config(write_config(tmp_path, imap_account))
    app = make_app(config)
    readers: weakref.WeakSet[ReaderScreen] = weakref.WeakSet()

    def presence_busy() -> bool:
        return any(w.group == "presence" and not w.is_finished for w in app.workers)

    async with app.run_test(size=(120, 35)) as pilot:
        conversations = app.main.query_one(ConversationList)
        await wait_until(pilot, lambda: len(conversations.keys) == 1, timeout=10)
        for _ in range(3):
            await pilot.press("enter")
            await wait_until(pilot, lambda: isinstance(app.screen, ReaderScreen))
            readers.add(app.screen)  # type: ignore[arg-type]
            await wait_until(pilot, lambda: app._actions is not None and not presence_busy())
            assert app._actions._heartbeat is not None  # the team is being told
            await pilot.press("q")
            await wait_until(pilot, lambda: not isinstance(app.screen, ReaderScreen))
            await wait_until(pilot, lambda: not presence_busy())
        await pilot.pause()
        gc.collect()
        assert len(readers) == 0
