"""KB usage through a real Dovecot: alice inserts an article in the app, the kb-used event
goes to the server's app folder, and bob's separate cache sees it after a sync (his
`kb --check` no longer calls the article unused; his reader shows the event)."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from kb.helpers import copy_shipped, until
from kb.test_kb_tui import app_ready
from mailtriage.cli import main
from mailtriage.config import Config
from mailtriage.store import Store, listing
from mailtriage.tui.app import make_app
from mailtriage.tui.compose_screen import ComposeScreen
from mailtriage.tui.kb_screen import KbScreen
from mailtriage.tui.pickers import Picker
from mailtriage.tui.reader import ReaderScreen
from support.mailfactory import make_message
from triage.helpers import agent_config, sync

pytestmark = pytest.mark.server


def timeline_kinds(config: Config, key: str) -> list[dict]:
    store = Store(config.accounts["support"].cache_path, readonly=True)
    try:
        return [e for e in store.timeline(key) if e["kind"] == "kb-used"]
    finally:
        store.close()


async def test_inserting_an_article_is_counted_for_the_team(tmp_path: Path, imap_account) -> None:  # type: ignore[no-untyped-def]
    root = copy_shipped(tmp_path)
    extra = f'\n[kb]\npath = "{root}"\n'
    alice = agent_config(tmp_path, imap_account, "alice", extra=extra)
    bob = agent_config(tmp_path, imap_account, "bob", extra=extra)
    imap_account.append(
        "INBOX",
        make_message(
            subject="パスワード再設定メールが届きません",
            body="お世話になっております。\nパスワードの再設定メールが届きません。\n",
            message_id="<pw1@example.jp>",
        ),
    )
    await sync(alice)
    await sync(bob)
    app = make_app(alice, background_sync=False)
    async with app.run_test(size=(120, 35)) as pilot:
        await app_ready(app, pilot)
        key = app.main.query_one("#conversations").current_key
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, ReaderScreen) and app.screen.is_mounted)
        await pilot.pause()
        await pilot.press("r")
        await until(pilot, lambda: isinstance(app.screen, Picker))
        await pilot.press("home", "enter")
        await until(pilot, lambda: isinstance(app.screen, ComposeScreen))
        await pilot.pause()
        await pilot.press("ctrl+k")
        await until(pilot, lambda: isinstance(app.screen, KbScreen) and app.screen.is_mounted)
        await pilot.pause()
        assert isinstance(app.screen, KbScreen)
        assert app.screen.current.article.ident == "ja/faq/password-reset"  # type: ignore[union-attr]
        await pilot.press("enter")
        started = time.monotonic()
        while not timeline_kinds(alice, key):
            assert time.monotonic() - started < 10, "the kb-used event never reached the cache"
            await pilot.pause(0.1)
        await app.workers.wait_for_complete()
        # Let the app show the new event before it closes (a reload racing the teardown of
        # its screens is not what this test is about).
        await until(pilot, lambda: app._data_version == listing.data_version(app.store.conn))
        await pilot.pause(0.3)
    assert not [n for n in app._notifications if "not logged" in n.message]

    await sync(bob)  # another machine, another cache: only the server connects them
    (event,) = timeline_kinds(bob, key)
    assert event["agent"] == "alice"
    assert event["details"] == {
        "article": "ja/faq/password-reset",
        "how": "excerpt",
        "title": "パスワードの再設定方法",
    }


async def test_check_counts_usage_from_the_synced_cache(
    tmp_path: Path, imap_account, capsys
) -> None:  # type: ignore[no-untyped-def]
    from triage.helpers import actions_for

    root = copy_shipped(tmp_path)
    extra = f'\n[kb]\npath = "{root}"\n'
    alice = agent_config(tmp_path, imap_account, "alice", extra=extra)
    bob = agent_config(tmp_path, imap_account, "bob", extra=extra)
    imap_account.append("INBOX", make_message(message_id="<l1@example.jp>"))
    await sync(alice)
    await sync(bob)

    def unused() -> set[str]:
        assert main(["kb", "--check", "--json", "--config", str(bob.path)]) == 0
        data = json.loads(capsys.readouterr().out)
        return {f["article"] for f in data["findings"] if f["kind"] == "unused"}

    assert "ja/troubleshooting/login-lockout" in unused()
    store = Store(alice.accounts["support"].cache_path, readonly=True)
    (row,) = store.search("ログイン")
    store.close()
    actions = actions_for(alice)
    try:
        result = await actions.log_event(
            row["key"], "kb-used", {"article": "ja/troubleshooting/login-lockout", "how": "link"}
        )
    finally:
        await actions.close()
    assert result.ok, result.message
    assert "ja/troubleshooting/login-lockout" in unused()  # bob has not synced yet
    await sync(bob)
    assert "ja/troubleshooting/login-lockout" not in unused()
