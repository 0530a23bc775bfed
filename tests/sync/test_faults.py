"""Faults against a real Dovecot: a cut stream, a restart, a stall, BYE, a changed password and
a full disk. After each the cache is consistent (whole batches only), the next sync resumes
without duplicates, and what happened is one line."""

from __future__ import annotations

import dataclasses
import sqlite3
from pathlib import Path

import pytest

from mailtriage.config import AccountConfig
from mailtriage.devservers.dovecot import DovecotServer
from mailtriage.errors import NetworkError
from mailtriage.imap.session import AccountSession, CacheWriteError
from mailtriage.imap.sync import FETCH_BATCH
from mailtriage.store import Store
from support.mailfactory import make_message
from sync.conftest import account_config, new_account, via_proxy
from sync.proxy import FaultProxy
from sync.test_watch import Watcher, cached, until

pytestmark = pytest.mark.server

TOTAL = 1000
ARRIVED = "SELECT 1 FROM messages WHERE message_id=?"


def seed(imap) -> None:  # type: ignore[no-untyped-def]
    imap.append_many(
        "INBOX",
        [
            make_message(subject=f"件名 {i}", message_id=f"<f{i}@example.jp>", minutes=i)
            for i in range(TOTAL)
        ],
    )


def consistent_count(account: AccountConfig) -> int:
    with sqlite3.connect(account.cache_path) as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        count = db.execute("SELECT COUNT(*) FROM messages").fetchone()[0]
        assert db.execute("SELECT COUNT(DISTINCT uid) FROM messages").fetchone()[0] == count
        (fts,) = db.execute("SELECT COUNT(*) FROM messages_fts").fetchone()
        assert fts == count  # the search index moves with its batch
        (orphans,) = db.execute(
            "SELECT COUNT(*) FROM messages WHERE conversation NOT IN (SELECT key FROM"
            " conversations)"
        ).fetchone()
        assert orphans == 0
    assert count % FETCH_BATCH == 0  # whole batches only
    return int(count)


def one_sync(account: AccountConfig) -> int:
    session = AccountSession(account, account.imap.resolve_password())
    try:
        return session.sync(prefetch_limit=0).new
    finally:
        session.close()


def test_stream_cut_mid_fetch_then_resume(tmp_path: Path, dovecot: DovecotServer) -> None:
    imap = new_account(dovecot)
    seed(imap)
    with FaultProxy(dovecot.imap_port) as proxy:
        proxy.cut_after = 300_000  # well into the header batches
        account = via_proxy(tmp_path, imap, proxy)
        with pytest.raises(NetworkError) as lost:
            one_sync(account)
        assert "\n" not in str(lost.value)
        assert "connection lost during sync" in str(lost.value)
        partial = consistent_count(account)
        assert 0 < partial < TOTAL
        proxy.cut_after = None
        assert one_sync(account) == TOTAL - partial
    assert consistent_count(account) == TOTAL


def test_stall_times_out_with_one_line(tmp_path: Path, dovecot: DovecotServer) -> None:
    imap = new_account(dovecot)
    imap.append("INBOX", make_message())
    with FaultProxy(dovecot.imap_port) as proxy:
        account = via_proxy(tmp_path, imap, proxy)
        account = dataclasses.replace(account, imap=dataclasses.replace(account.imap, timeout=1))
        session = AccountSession(account, account.imap.resolve_password())
        assert session.sync().new == 1
        proxy.stalled.set()
        imap.append("INBOX", make_message(message_id="<late@example.jp>"))
        with pytest.raises(NetworkError, match="timed out"):
            session.sync()
        proxy.stalled.clear()
        assert session.sync().new == 1  # reconnects on the next call
        session.close()


def test_disk_full_rolls_back_the_batch_then_resumes(
    tmp_path: Path, dovecot: DovecotServer
) -> None:
    imap = new_account(dovecot)
    seed(imap)
    account = account_config(tmp_path, imap)
    session = AccountSession(account, account.imap.resolve_password())
    store = session.cache()
    (pages,) = store.conn.execute("PRAGMA page_count").fetchone()
    # A tiny "disk": room for the first batch or two, not for the whole mailbox.
    store.conn.execute(f"PRAGMA max_page_count = {pages + 120}")
    with pytest.raises(CacheWriteError, match="full") as full:
        session.sync(prefetch_limit=0)
    assert "\n" not in str(full.value)
    assert "it is consistent (what this sync had not committed rolled back)" in str(full.value)
    partial = consistent_count(account)
    assert partial < TOTAL
    store.conn.execute("PRAGMA max_page_count = 1073741823")
    assert session.sync(prefetch_limit=0).new == TOTAL - partial
    session.close()
    assert consistent_count(account) == TOTAL


async def test_watch_survives_bye_and_a_password_change(
    tmp_path: Path, dovecot: DovecotServer
) -> None:
    imap = new_account(dovecot)
    imap.append("INBOX", make_message())
    with FaultProxy(dovecot.imap_port) as proxy:
        account = via_proxy(tmp_path, imap, proxy)
        async with Watcher(account) as watcher:
            await watcher.wait_for("idle")
            mark = len(watcher.events)
            proxy.inject_bye()
            offline = await watcher.wait_for("offline", after=mark)
            assert "BYE" in offline.message and "retrying in" in offline.message
            await watcher.wait_for("idle", after=mark)

            mark = len(watcher.events)
            dovecot.add_user(imap.username, "a-new-password")  # the agent's password expired
            proxy.drop_all()
            refused = await watcher.wait_for("error", after=mark)
            assert "refused" in refused.message and "retrying in" in refused.message
            dovecot.add_user(imap.username, imap.password)
            await watcher.wait_for("idle", after=len(watcher.events), timeout=15)
            imap.append("INBOX", make_message(message_id="<after@example.jp>"))
            await until(
                lambda: cached(
                    account, "SELECT 1 FROM messages WHERE message_id=?", "<after@example.jp>"
                ),
                timeout=5,
            )


async def test_watch_rides_out_a_server_restart(tmp_path: Path, own_dovecot: DovecotServer) -> None:
    imap = new_account(own_dovecot)
    imap.append("INBOX", make_message())
    account = account_config(tmp_path, imap)
    async with Watcher(account) as watcher:
        await watcher.wait_for("idle")
        mark = len(watcher.events)
        imap.close()
        own_dovecot.restart()
        await watcher.wait_for("offline", after=mark)
        await watcher.wait_for("idle", after=mark + 1, timeout=20)
        imap.append("INBOX", make_message(message_id="<restart@example.jp>"))
        await until(
            lambda: cached(
                account, "SELECT 1 FROM messages WHERE message_id=?", "<restart@example.jp>"
            ),
            timeout=5,
        )
    assert Store(account.cache_path, readonly=True).stats()["messages"] == 2
