"""A large first sync stores its later batches as one bulk load (store.bulk), against a real
Dovecot: the same cache as batch by batch; killed or out of disk mid-way, the cache is the last
commit before it (indexes and search whole, readers unaffected) and the next sync completes
it with nothing lost or twice."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from mailtriage.imap import sync
from mailtriage.imap.session import AccountSession, CacheWriteError
from mailtriage.store import Store, bulk
from support.configs import write_config
from support.mailfactory import make_message
from sync.conftest import account_config
from sync.test_faults import one_sync

pytestmark = pytest.mark.server

HERE = Path(__file__).parent
TOTAL = 1200  # batches of 250, 500, 450: one before the bulk load, two inside it


def _seed(imap) -> None:  # type: ignore[no-untyped-def]
    imap.append_many(
        "INBOX",
        [
            make_message(
                subject="最初のお問い合わせ"
                if i == 0
                else f"返金のお願い {i}"
                if i % 2
                else f"請求書 {i}",
                message_id=f"<b{i}@example.jp>",
                references=[f"<b{i - 1}@example.jp>"] if i % 3 == 1 else (),
                minutes=i,
            )
            for i in range(TOTAL)
        ],
    )


@pytest.fixture
def bulk_soon(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sync, "BULK_MIN", 2)
    monkeypatch.setattr(sync, "BULK_AFTER", sync.FETCH_BATCH)


def _contents(path: Path) -> tuple[object, ...]:
    with sqlite3.connect(path) as db:
        return tuple(
            db.execute(sql).fetchall()
            for sql in (
                "SELECT * FROM messages ORDER BY id",
                "SELECT * FROM conversations ORDER BY key",
                "SELECT * FROM thread_ids ORDER BY message_id",
                "SELECT rowid, * FROM messages_fts ORDER BY rowid",
                "SELECT type, name, sql FROM sqlite_master ORDER BY name",
            )
        )


def _whole(path: Path) -> int:
    """The cache is consistent: every index there, search covers every row, no orphan."""
    fresh = Store(path.parent / "fresh.sqlite3")
    wanted = fresh.conn.execute("SELECT name, sql FROM sqlite_master ORDER BY name").fetchall()
    fresh.close()
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert db.execute("SELECT name, sql FROM sqlite_master ORDER BY name").fetchall() == wanted
        (count,) = db.execute("SELECT COUNT(*) FROM messages").fetchone()
        (distinct,) = db.execute(
            "SELECT COUNT(*) FROM (SELECT DISTINCT mailbox, uidvalidity, uid FROM messages)"
        ).fetchone()
        assert distinct == count
        assert db.execute("SELECT COUNT(*) FROM messages_fts").fetchone()[0] == count
        (orphans,) = db.execute(
            "SELECT COUNT(*) FROM messages WHERE conversation NOT IN (SELECT key FROM"
            " conversations)"
        ).fetchone()
        assert orphans == 0
    return int(count)


def test_bulk_load_gives_the_same_cache_as_batch_by_batch(
    tmp_path: Path, imap_account, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    _seed(imap_account)
    in_bulk: list[bool] = []  # per batch stored: inside a bulk load?
    stored = Store.insert_messages

    def noting(self: Store, rows):  # type: ignore[no-untyped-def]
        in_bulk.append(self._bulk)
        return stored(self, rows)

    monkeypatch.setattr(Store, "insert_messages", noting)
    caches, paths = [], []
    # The third sync's bulk load runs out of time after its first batch (BULK_SECONDS):
    # it commits there and stores the last batch on its own.
    for name, threshold, seconds in (("batches", 10**9, 10.0), ("bulk", 2, 10.0), ("cut", 2, 0)):
        monkeypatch.setattr(sync, "BULK_MIN", threshold)
        monkeypatch.setattr(sync, "BULK_AFTER", sync.FETCH_BATCH)
        monkeypatch.setattr(sync, "BULK_SECONDS", seconds)
        (tmp_path / name).mkdir()
        account = account_config(tmp_path / name, imap_account)
        in_bulk.clear()
        assert one_sync(account) == TOTAL
        assert _whole(account.cache_path) == TOTAL
        caches.append(_contents(account.cache_path))
        paths.append(list(in_bulk))
    assert paths == [[False] * 3, [False, True, True], [False, True, False]]
    assert caches[0] == caches[1] == caches[2]


def test_sigkill_mid_bulk_load_then_resume(tmp_path: Path, imap_account) -> None:  # type: ignore[no-untyped-def]
    _seed(imap_account)
    config_path = write_config(tmp_path, imap_account)
    account = account_config(tmp_path, imap_account)
    env = dict(
        os.environ,
        MAILTRIAGE_CONFIG=str(config_path),
        PYTHONPATH=os.pathsep.join([str(HERE.parent), *sys.path]),
    )
    proc = subprocess.Popen(
        [sys.executable, str(HERE / "bulk_agent.py")], env=env, stdout=subprocess.PIPE
    )
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == b"in bulk"
        # Mid-bulk, a reader (the app, a second process) sees the first batch, searchable.
        reader = Store(account.cache_path, readonly=True)
        try:
            assert reader.message_count() == sync.FETCH_BATCH
            assert reader.list_conversations("all", limit=1)[0]["subject"] == "返金のお願い 1199"
            assert [c["subject"] for c in reader.search("返金のお願い 1197")] == [
                "返金のお願い 1197"
            ]
        finally:
            reader.close()
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    assert _whole(account.cache_path) == sync.FETCH_BATCH  # the batch before the bulk load
    assert one_sync(account) == TOTAL - sync.FETCH_BATCH
    assert _whole(account.cache_path) == TOTAL
    store = Store(account.cache_path, readonly=True)
    try:
        # The oldest message, stored in the killed bulk load's place by the second sync.
        assert [c["subject"] for c in store.search("最初のお問い合わせ")] == ["最初のお問い合わせ"]
        (thread,) = [
            c for c in store.list_conversations("all") if c["subject"] == "返金のお願い 1197"
        ]
        assert thread["message_count"] == 2  # 1198 references it
    finally:
        store.close()


def test_disk_full_mid_bulk_load_rolls_back_to_the_batch_before(
    tmp_path: Path, imap_account, bulk_soon: None, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    _seed(imap_account)
    account = account_config(tmp_path, imap_account)
    stored = Store.insert_messages

    def fill_the_disk_in_bulk(self: Store, rows):  # type: ignore[no-untyped-def]
        if self._bulk:
            # A tiny "disk" from here on: SQLite itself refuses the bulk load's pages.
            (pages,) = self.conn.execute("PRAGMA page_count").fetchone()
            self.conn.execute(f"PRAGMA max_page_count = {pages + 5}")
        return stored(self, rows)

    monkeypatch.setattr(Store, "insert_messages", fill_the_disk_in_bulk)
    session = AccountSession(account, account.imap.resolve_password())
    try:
        with pytest.raises(CacheWriteError, match="full") as full:
            session.sync(prefetch_limit=0)
        assert "\n" not in str(full.value)
    finally:
        session.close()
    assert _whole(account.cache_path) == sync.FETCH_BATCH
    monkeypatch.setattr(Store, "insert_messages", stored)
    assert one_sync(account) == TOTAL - sync.FETCH_BATCH
    assert _whole(account.cache_path) == TOTAL


def _rows_in_file(path: Path) -> int:
    """Messages in the database file itself, the WAL ignored (0 before the first
    checkpoint: the file does not even hold the schema then)."""
    with sqlite3.connect(f"file:{path}?immutable=1", uri=True) as db:
        if not db.execute("SELECT 1 FROM sqlite_master WHERE name = 'messages'").fetchone():
            return 0
        return int(db.execute("SELECT COUNT(*) FROM messages").fetchone()[0])


def test_bulk_load_commits_without_its_checkpoint_and_a_thread_does_it(
    tmp_path: Path, imap_account, bulk_soon: None, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    _seed(imap_account)
    account = account_config(tmp_path, imap_account)
    started: list[tuple[int, threading.Thread]] = []  # (rows in the file then, the thread)
    in_background = bulk.checkpoint_in_background

    def noting(path: Path) -> threading.Thread:
        before = _rows_in_file(path)
        thread = in_background(path)
        started.append((before, thread))
        return thread

    monkeypatch.setattr(bulk, "checkpoint_in_background", noting)
    session = AccountSession(account, account.imap.resolve_password())
    try:
        session.sync(prefetch_limit=0)
        ((before, thread),) = started
        assert before < TOTAL  # the bulk load's COMMIT left its pages in the WAL
        thread.join(30)
        store = session.cache()
        # The thread copied them, not the last connection's close: the store is open.
        assert _rows_in_file(account.cache_path) == TOTAL
        with store.atomic():  # its commits checkpoint as SQLite's default does again
            pass
        assert store._checkpointer is None
        assert store.conn.execute("PRAGMA wal_autocheckpoint").fetchone()[0] == 1000
    finally:
        session.close()
    assert _whole(account.cache_path) == TOTAL
