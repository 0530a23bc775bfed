"""Opening a message whose body is not cached yet, against a real Dovecot: the text shows as
soon as it is fetched (the app's poll of the cache is switched off here, so nothing else
could show it), a large one shows its beginning first and then all of it, and either way
the body is in the search index afterwards."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from mailtriage.config import load_config
from mailtriage.devservers.largemail import huge_text
from mailtriage.tui import app as app_module
from mailtriage.tui.app import BodyPreview, MailtriageApp, make_app
from mailtriage.tui.conversation_list import ConversationList
from mailtriage.tui.reader import ReaderScreen
from support.configs import write_config
from support.mailfactory import make_message
from support.pilot import screen_text, wait_until

BODY = "お世話になっております。\n返金コード QZ7-1148 の件でご連絡しました。\n"


def no_prefetch(config: Path) -> Path:
    """Bodies are fetched only when a message is opened (accounts.NAME.prefetch_days = 0)."""
    text = config.read_text(encoding="utf-8")
    config.write_text(text.replace("cache_dir = ", "prefetch_days = 0\ncache_dir = ", 1))
    return config


async def start_without_polls(pilot: Any, app: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    """The list once synced; from then on nothing refreshes screens from the cache: neither
    the data_version poll (CHANGE_POLL, long before start) nor sync events nor the presence
    sweep. Only a direct message from the body fetch can show a body."""
    listing = app.main.query_one(ConversationList)
    await wait_until(pilot, lambda: len(listing.keys) == 1, timeout=20)
    await wait_until(pilot, lambda: app.syncer is not None, timeout=10)
    monkeypatch.setattr(app, "check_for_changes", lambda: None)
    monkeypatch.setattr(app, "sweep_presence", lambda: None)
    (fetched,) = app.store.conn.execute("SELECT body_fetched FROM messages").fetchone()
    assert fetched == 0  # the open below fetches it
    return listing


def search_finds(app: Any, listing: Any, key: str, query: str) -> Any:
    app.search(query)
    return lambda: listing.keys == [key]


@pytest.fixture
def polls_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(app_module, "CHANGE_POLL", 3600.0)
    monkeypatch.setattr(app_module, "PRESENCE_SWEEP", 3600.0)


async def test_an_uncached_body_shows_when_fetched_and_is_searchable(
    tmp_path: Path, imap_account: Any, polls_off: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    imap_account.append(
        "INBOX", make_message(subject="未取得の本文", message_id="<od0@x.jp>", body=BODY)
    )
    app = make_app(load_config(no_prefetch(write_config(tmp_path, imap_account))))
    async with app.run_test(size=(120, 35)) as pilot:
        listing = await start_without_polls(pilot, app, monkeypatch)
        key = listing.current_key
        await pilot.press("enter")
        await wait_until(pilot, lambda: isinstance(app.screen, ReaderScreen))
        await wait_until(pilot, lambda: "QZ7-1148" in screen_text(app), timeout=10)
        assert "fetching the text" not in screen_text(app)
        (fetched,) = app.store.conn.execute("SELECT body_fetched FROM messages").fetchone()
        assert fetched == 1

        await pilot.press("q")
        await wait_until(pilot, lambda: not isinstance(app.screen, ReaderScreen))
        # Only the body holds this: found through the search index.
        await wait_until(pilot, search_finds(app, listing, key, "QZ7-1148"))


async def test_a_large_uncached_body_shows_its_beginning_then_all_of_it(
    tmp_path: Path, imap_account: Any, polls_off: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    message = huge_text(600 * 1024, subject="長いログ", message_id="<od1@x.jp>")
    imap_account.append("INBOX", message.raw)
    body = message.raw.split(b"\r\n\r\n", 1)[1]
    last = body.rstrip(b"\r\n").rsplit(b"\r\n", 1)[1].decode()[:8]  # "00007651", say
    app = make_app(load_config(no_prefetch(write_config(tmp_path, imap_account))))
    previews: list[BodyPreview] = []
    shown_with_preview: list[str] = []
    original = MailtriageApp.on_body_preview

    def on_body_preview(self: MailtriageApp, preview: BodyPreview) -> None:
        previews.append(preview)
        original(self, preview)
        # What the terminal shows once the preview is painted: the whole body cannot be
        # shown before this runs (its completion is handled on this same loop).
        self.screen.call_after_refresh(lambda: shown_with_preview.append(screen_text(self)))

    # On the class: Textual finds message handlers there.
    monkeypatch.setattr(MailtriageApp, "on_body_preview", on_body_preview)
    async with app.run_test(size=(120, 35)) as pilot:
        listing = await start_without_polls(pilot, app, monkeypatch)
        key = listing.current_key
        await pilot.press("enter")
        await wait_until(pilot, lambda: bool(shown_with_preview), timeout=10)
        first = shown_with_preview[0]
        assert "00000002 エラー" in first
        assert "of 600 kB; the rest is on its way" in first, first
        assert len(previews) == 1 and last not in previews[0].text

        await wait_until(pilot, lambda: "long text: " in screen_text(app), timeout=20)
        assert "on its way" not in screen_text(app)
        assert app.previews == {}
        (text,) = app.store.conn.execute("SELECT text FROM messages").fetchone()
        assert text.rstrip("\n").endswith("(timeout after 30 s)")
        assert text.rstrip("\n").rsplit("\n", 1)[1].startswith(last)

        await pilot.press("q")
        await wait_until(pilot, lambda: not isinstance(app.screen, ReaderScreen))
        # The last line was never in the preview: the whole body is indexed.
        await wait_until(pilot, search_finds(app, listing, key, last))
