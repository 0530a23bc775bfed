"""The running TUI against a real Dovecot while the watch fills in bodies: new mail and another
agent's keyword reach the list as soon as they are in the cache (the watch's "listed" event),
not at the pace the change poll keeps while commits stream in, and before the bodies of the
slice they came with (routing, on "changed", still waits for those)."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path
from typing import Any

import pytest

import mailtriage.tui.app as app_module
from mailtriage.config import load_config
from mailtriage.imap.session import AccountSession
from mailtriage.tui.app import make_app
from mailtriage.tui.conversation_list import ConversationList
from support.configs import write_config
from support.mailfactory import make_message
from support.pilot import wait_until


class BodyGate:
    """Holds the watch before each slice of bodies while armed, one slice per release()."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.armed = threading.Event()
        self.waiting = threading.Event()  # the watch is held before a slice
        self._go = threading.Semaphore(0)
        prefetch = AccountSession._prefetch

        def held(session: AccountSession, *args: Any, **kwargs: Any) -> Any:
            if self.armed.is_set():
                self.waiting.set()
                self._go.acquire(timeout=30)  # never a hung watch if a test fails
                self.waiting.clear()
            return prefetch(session, *args, **kwargs)

        monkeypatch.setattr(AccountSession, "_prefetch", held)

    def release(self, slices: int = 1) -> None:
        for _ in range(slices):
            self._go.release()


class Commits(threading.Thread):
    """A commit every 20 ms that changes nothing the list shows, as body commits do."""

    def __init__(self, cache: Path) -> None:
        super().__init__(daemon=True)
        self.cache = cache
        self.stop = threading.Event()

    def run(self) -> None:
        conn = sqlite3.connect(self.cache, timeout=10)
        try:
            while not self.stop.wait(0.02):
                with conn:
                    # A body text changed (SQLite skips writing a value equal to the old).
                    conn.execute("UPDATE messages SET text = text || ' ' WHERE id = 1")
        finally:
            conn.close()


async def test_list_shows_new_mail_and_keywords_while_bodies_stream(
    tmp_path: Path, imap_account, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    # While commits stream, the poll shows them once per STREAM_GAP: a minute here, so only
    # the "listed" path can show anything within the test's timeouts.
    monkeypatch.setattr(app_module, "STREAM_GAP", 60.0)
    gate = BodyGate(monkeypatch)
    for i in range(3):
        imap_account.append(
            "INBOX", make_message(subject=f"件 {i}", message_id=f"<bf{i}@x.jp>", minutes=i)
        )
    config = load_config(write_config(tmp_path, imap_account))
    app = make_app(config)  # background sync on: the watch loop
    commits = Commits(config.accounts[next(iter(config.accounts))].cache_path)
    async with app.run_test(size=(120, 35)) as pilot:
        conversations = app.main.query_one(ConversationList)
        await wait_until(pilot, lambda: len(conversations.keys) == 3, timeout=10)
        await wait_until(pilot, lambda: "IDLE" in app.sync_state)
        commits.start()
        try:
            await wait_until(pilot, lambda: app._changed_polls >= app_module.STREAM_POLLS)
            gate.armed.set()
            imap_account.append(
                "INBOX", make_message(subject="新着", message_id="<bf-new@x.jp>", minutes=30)
            )
            await wait_until(pilot, gate.waiting.is_set)
            await wait_until(pilot, lambda: len(conversations.keys) == 4)
            assert gate.waiting.is_set()  # its body is not fetched yet ...
            assert app.sync_state == "syncing…"  # ... so no "changed" yet: nothing routed

            other = imap_account.client()
            other.select_folder("INBOX")
            uids = other.search(["HEADER", "Message-ID", "bf0@x.jp"])
            other.add_flags(uids, [b"mt:status/in-progress", b"mt:assignee/bob"])
            gate.release()  # the new message's body; the next pass finds the keyword
            await wait_until(pilot, lambda: len(conversations.keys) == 3)
            # Shown before the bodies of the pass that found it: its "changed" not said yet.
            assert gate.waiting.is_set()
            assert app.sync_state == "1 new"
            other.logout()
        finally:
            gate.armed.clear()
            gate.release(10)
            commits.stop.set()
            commits.join()
        await wait_until(pilot, lambda: "IDLE" in app.sync_state)
        assert app.counts["in-progress"] == 1
