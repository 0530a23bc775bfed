"""Finding changes by capability: QRESYNC, and the fallback without CONDSTORE/QRESYNC.

Each runs through a FaultProxy that records what the client sent, so the tests prove which
commands were used, against a real Dovecot.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from mailtriage.config import AccountConfig
from mailtriage.devservers.dovecot import DovecotServer
from mailtriage.imap.session import AccountSession
from mailtriage.store import Store
from support.mailfactory import make_message
from sync.conftest import account_config, new_account, via_proxy
from sync.proxy import FaultProxy

pytestmark = pytest.mark.server


def seed(imap, count: int = 30) -> list[int]:  # type: ignore[no-untyped-def]
    return imap.append_many(
        "INBOX",
        [
            make_message(subject=f"件名 {i}", message_id=f"<c{i}@example.jp>", minutes=i)
            for i in range(count)
        ],
    )


def sync(account: AccountConfig, **kw: object):  # type: ignore[no-untyped-def]
    session = AccountSession(account, account.imap.resolve_password())
    try:
        return session.sync(**kw)  # type: ignore[arg-type]
    finally:
        session.close()


def change_everything(imap, uids: list[int]) -> None:  # type: ignore[no-untyped-def]
    """Another agent: keywords on two messages, one expunged, one new."""
    other = imap.client()
    other.select_folder("INBOX")
    other.add_flags(uids[:2], [b"mt:status/in-progress", b"mt:assignee/bob"])
    other.delete_messages([uids[5]])
    other.expunge()
    imap.append("INBOX", make_message(subject="新着", message_id="<new@example.jp>"))


def assert_cache_matches(account: AccountConfig, uids: list[int]) -> None:
    store = Store(account.cache_path, readonly=True)
    rows = dict(store.conn.execute("SELECT uid, flags FROM messages WHERE mailbox='INBOX'"))
    assert uids[5] not in rows
    assert len(rows) == len(uids)  # one expunged, one new
    assert "mt:assignee/bob" in rows[uids[0]] and "mt:assignee/bob" in rows[uids[1]]
    assert "mt:assignee/bob" not in rows[uids[2]]
    assert store.count_conversations("in-progress") == 2
    store.close()


def test_qresync_finds_everything_in_the_select(tmp_path: Path, dovecot: DovecotServer) -> None:
    imap = new_account(dovecot)
    uids = seed(imap)
    with FaultProxy(dovecot.imap_port) as proxy:
        account = via_proxy(tmp_path, imap, proxy)
        assert sync(account).new == 30
        change_everything(imap, uids)
        del proxy.sent[:]
        report = sync(account)
        assert (report.new, report.flag_changes, report.vanished) == (1, 2, 1)
        sent = bytes(proxy.sent)
        assert b"ENABLE QRESYNC" in sent
        assert b"(QRESYNC (" in sent
        assert b"SEARCH" not in sent  # expunges came as VANISHED, no UID diff needed
        del proxy.sent[:]
        again = sync(account)
        assert all(f.unchanged for f in again.folders)
        assert b"FETCH" not in bytes(proxy.sent)  # nothing changed: the SELECTs were all
    assert_cache_matches(account, uids)


def test_fallback_without_condstore_or_qresync(
    tmp_path: Path, reduced_dovecot: DovecotServer
) -> None:
    imap = new_account(reduced_dovecot)
    uids = seed(imap)
    with FaultProxy(reduced_dovecot.imap_port) as proxy:
        account = via_proxy(tmp_path, imap, proxy)
        assert sync(account).new == 30
        change_everything(imap, uids)
        report = sync(account)
        assert (report.new, report.flag_changes, report.vanished) == (1, 2, 1)
        again = sync(account)
        assert (again.new, again.flag_changes, again.vanished) == (0, 0, 0)
        sent = bytes(proxy.sent).upper()
    for word in (b"CHANGEDSINCE", b"QRESYNC", b"CONDSTORE", b"MODSEQ", b"UNCHANGEDSINCE"):
        assert word not in sent, word
    assert b"UID SEARCH ALL" in sent or b"SEARCH ALL" in sent
    assert_cache_matches(account, uids)


def test_a_running_session_counts_the_cache_once_per_server_state(
    tmp_path: Path, dovecot: DovecotServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Inside the app a no-change sync is the SELECTs alone: the count of cached UIDs that
    proves the cache complete is taken once per server state, not on every wake-up."""
    imap = new_account(dovecot)
    seed(imap, 5)
    account = account_config(tmp_path, imap)
    session = AccountSession(account, account.imap.resolve_password())
    try:
        assert session.sync(prefetch_limit=0).new == 5
        counted: list[str] = []
        store = session.cache()
        real = store.count_uids
        monkeypatch.setattr(
            store, "count_uids", lambda folder, uv: counted.append(folder) or real(folder, uv)
        )
        for _ in range(3):
            report = session.sync(prefetch_limit=0)
            assert all(f.unchanged for f in report.folders)
        assert sorted(counted) == sorted({f for f, _ in session.folders or []})  # once each
        imap.append("INBOX", make_message(message_id="<late@example.jp>"))
        assert session.sync(prefetch_limit=0).new == 1  # a new state is looked at afresh
    finally:
        session.close()
    imap.close()
