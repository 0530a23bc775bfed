"""Triage keys against a real Dovecot: the TUI changes state on the server, and a lost race
names the winner."""

from __future__ import annotations

from pathlib import Path

from mailtriage.config import load_config
from mailtriage.imap.account import AccountSync
from mailtriage.imap.actions import AccountActions
from mailtriage.store import Store, listing
from mailtriage.tui.app import make_app
from mailtriage.tui.conversation_list import ConversationList
from mailtriage.tui.pickers import Picker
from support.configs import write_config
from support.mailfactory import make_message


async def seeded(tmp_path: Path, imap_account, agent: str = "alice"):  # type: ignore[no-untyped-def]
    for i in range(3):
        imap_account.append(
            "INBOX",
            make_message(subject=f"問い合わせ {i}", message_id=f"<t{i}@example.jp>", minutes=i),
        )
    directory = tmp_path / agent
    directory.mkdir()
    config = load_config(write_config(directory, imap_account, agent=agent))
    account = config.accounts["support"]
    syncer = AccountSync(account, account.imap.resolve_password())
    await syncer.sync()
    await syncer.close()
    return config


def server_keywords(imap_account, message_id: str) -> set[str]:  # type: ignore[no-untyped-def]
    client = imap_account.client()
    client.select_folder("INBOX", readonly=True)
    (uid,) = client.search(["HEADER", "Message-ID", message_id])
    return {f.decode() for f in client.get_flags([uid])[uid]}


async def test_claim_key_changes_server_state(tmp_path: Path, imap_account) -> None:  # type: ignore[no-untyped-def]
    config = await seeded(tmp_path, imap_account)
    app = make_app(config, background_sync=False)
    async with app.run_test(size=(120, 35)) as pilot:
        conversations = app.main.query_one(ConversationList)
        first = conversations.current_key
        assert conversations.row(0)["subject"] == "問い合わせ 0"
        await pilot.press("c")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert first not in conversations.keys  # left Unhandled
        assert any("claimed" in n.message for n in app._notifications)
        row = app.load_rows([first])[first]
        assert (row["status"], row["assignee"]) == ("in-progress", "alice")
    assert {"mt:status/in-progress", "mt:assignee/alice"} <= server_keywords(
        imap_account, "t0@example.jp"
    )


async def test_assign_and_status_pickers(tmp_path: Path, imap_account) -> None:  # type: ignore[no-untyped-def]
    config = await seeded(tmp_path, imap_account)
    app = make_app(config, background_sync=False)
    async with app.run_test(size=(120, 35)) as pilot:
        conversations = app.main.query_one(ConversationList)
        key = conversations.current_key
        await pilot.press("a")
        await pilot.pause()
        assert isinstance(app.screen, Picker)
        await pilot.press("j", "enter")  # alice (me), bob
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert app.load_rows([key])[key]["assignee"] == "bob"
        await pilot.press("8")  # All, so the conversation stays visible whatever its status
        conversations.cursor = conversations.keys.index(key)
        await pilot.press("s")
        await pilot.pause()
        await pilot.press("end", "enter")  # unhandled, in-progress, done: the last
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert app.load_rows([key])[key]["status"] == "done"
    keywords = server_keywords(imap_account, "t0@example.jp")
    assert {"mt:assignee/bob", "mt:status/done"} <= keywords


async def test_lost_claim_names_the_winner(tmp_path: Path, imap_account) -> None:  # type: ignore[no-untyped-def]
    alice = await seeded(tmp_path, imap_account, "alice")
    bob_dir = tmp_path / "bob"
    bob_dir.mkdir()
    bob = load_config(write_config(bob_dir, imap_account, agent="bob"))
    bob_account = bob.accounts["support"]
    syncer = AccountSync(bob_account, bob_account.imap.resolve_password())
    await syncer.sync()
    await syncer.close()
    store = Store(bob_account.cache_path, readonly=True)
    key = listing.view_keys(store.conn, "unhandled", agent="bob")[0]
    store.close()
    bob_actions = AccountActions(bob_account, bob_account.imap.resolve_password(), "bob")
    assert (await bob_actions.claim(key)).ok
    await bob_actions.close()

    app = make_app(alice, background_sync=False)  # alice's cache has not seen bob's claim
    async with app.run_test(size=(120, 35)) as pilot:
        conversations = app.main.query_one(ConversationList)
        assert conversations.current_key == key
        await pilot.press("c")
        await app.workers.wait_for_complete()
        await pilot.pause()
        errors = [n for n in app._notifications if n.severity == "error"]
        assert errors and "bob" in errors[-1].message
        row = app.load_rows([key])[key]
        assert (row["status"], row["assignee"]) == ("in-progress", "bob")
    keywords = server_keywords(imap_account, "t0@example.jp")
    assert "mt:assignee/bob" in keywords and "mt:assignee/alice" not in keywords


async def test_priority_tags_later_unread_and_bulk(tmp_path: Path, imap_account) -> None:  # type: ignore[no-untyped-def]
    config = await seeded(tmp_path, imap_account)
    app = make_app(config, background_sync=False)
    async with app.run_test(size=(120, 35)) as pilot:
        conversations = app.main.query_one(ConversationList)
        await pilot.press("8")
        key = conversations.current_key  # the cursor stays on t0 across views
        assert conversations.row(conversations.cursor)["subject"] == "問い合わせ 0"

        async def settle() -> dict:  # type: ignore[type-arg]
            await app.workers.wait_for_complete()
            await pilot.pause()
            return app.load_rows([key])[key]

        await pilot.press("p")
        await pilot.pause()
        await pilot.press("home", "enter")  # urgent
        assert (await settle())["priority"] == "urgent"
        await pilot.press("t")
        await pilot.pause()
        for ch in "+billing":
            await pilot.press(ch)
        await pilot.press("enter")
        assert (await settle())["tags"] == ["billing"]
        await pilot.press("z")
        assert (await settle())["tags"] == ["billing", "later"]
        await pilot.press("z")
        assert (await settle())["tags"] == ["billing"]
        unread = (await settle())["unread"]
        await pilot.press("u")
        assert (await settle())["unread"] == (0 if unread else 1)

        # bulk: select two with x, claim both
        await pilot.press("1")
        first, second = conversations.keys[:2]
        await pilot.press("x", "x", "c")
        await app.workers.wait_for_complete()
        await pilot.pause()
        rows = app.load_rows([first, second])
        assert {(r["status"], r["assignee"]) for r in rows.values()} == {("in-progress", "alice")}
        assert conversations.selected == set()
    keywords = server_keywords(imap_account, "t0@example.jp")
    assert {"mt:prio/urgent", "mt:tag/billing"} <= keywords and "mt:later" not in keywords


async def test_note_key_and_timeline_and_presence(tmp_path: Path, imap_account) -> None:  # type: ignore[no-untyped-def]
    from mailtriage.tui.reader import ReaderScreen, TimelineView

    config = await seeded(tmp_path, imap_account)
    bob_dir = tmp_path / "bob"
    bob_dir.mkdir()
    bob = load_config(write_config(bob_dir, imap_account, agent="bob"))
    bob_account = bob.accounts["support"]
    syncer = AccountSync(bob_account, bob_account.imap.resolve_password())
    await syncer.sync()
    await syncer.close()
    app = make_app(config, background_sync=False)
    async with app.run_test(size=(120, 35)) as pilot:
        conversations = app.main.query_one(ConversationList)
        key = conversations.current_key
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, ReaderScreen)
        await pilot.press("n")
        await pilot.pause()
        app.screen.query_one("Input").value = "返金は経理確認待ち @bob"
        await pilot.press("enter")
        await app.workers.wait_for_complete()
        await pilot.pause(0.5)
        reader = app.screen
        assert isinstance(reader, ReaderScreen)
        notes = [str(v.render()) for v in reader.query(TimelineView)]
        assert any("返金は経理確認待ち" in n and "alice" in n for n in notes)

        # bob opens it elsewhere: alice sees "bob is viewing" after her next team sync
        bob_actions = AccountActions(
            bob_account,
            bob_account.imap.resolve_password(),
            "bob",
            members=("alice", "bob", "carol"),
        )
        await bob_actions.announce(key, "viewing")
        actions = await app.get_actions()
        await actions.sync_team()
        reader.load(keep_scroll=True)
        await pilot.pause()
        title = str(reader.query_one("#reader-title").render())
        assert "bob is viewing" in title
        assert app.load_rows([key])[key]["presence"] == "viewing"  # the list's "v" marker
        await bob_actions.close()

    # the note reached the server: bob's fresh cache has it after a sync
    syncer = AccountSync(bob_account, bob_account.imap.resolve_password())
    await syncer.sync()
    await syncer.close()
    store = Store(bob_account.cache_path, readonly=True)
    timeline = store.timeline(key)
    store.close()
    assert any(e["kind"] == "noted" and "@bob" in e["text"] for e in timeline)


async def test_a_dead_agents_presence_leaves_the_list_on_its_own(
    tmp_path: Path, imap_account
) -> None:  # type: ignore[no-untyped-def]
    import time

    from mailtriage.store import events as ev

    config = await seeded(tmp_path, imap_account)
    app = make_app(config, background_sync=False)
    app.presence_sweep = 0.2
    async with app.run_test(size=(120, 35)) as pilot:
        conversations = app.main.query_one(ConversationList)
        key = conversations.current_key
        # bob's process announced, then died: its last item expires in about a second
        other = Store(config.accounts["support"].cache_path)
        with other.atomic():
            last = time.time() - ev.PRESENCE_TTL + 1.0
            ev.insert_presence(
                other.conn, [ev.PresenceRow(1, 99, "bob", key, "viewing", last, last)]
            )
        other.close()

        def shown() -> str | None:
            return (conversations.row(conversations.cursor) or {}).get("presence")

        for _ in range(40):
            if shown() == "viewing":
                break
            await pilot.pause(0.05)
        assert shown() == "viewing"
        for _ in range(80):  # no commit happens from here on: only the sweep can redraw
            if shown() is None:
                break
            await pilot.pause(0.05)
        assert shown() is None
