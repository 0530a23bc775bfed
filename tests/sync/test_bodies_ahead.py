"""A first sync's bulk load fetches the bodies prefetch will want while it commits
(imap.bodies.BodiesAhead), against a real Dovecot: the same cache as prefetch after the sync,
the fetch really overlaps the commit, and a connection cut in it loses nothing."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from mailtriage.errors import NetworkError
from mailtriage.imap import bodies, sync
from mailtriage.imap.session import AccountSession
from mailtriage.store import Store
from support.mailfactory import make_message
from sync.conftest import account_config, via_proxy
from sync.proxy import FaultProxy
from sync.test_bulk import TOTAL, _contents, _seed, _whole

pytestmark = pytest.mark.server

PREFETCH = 300  # more than the batch before the bulk load: some bodies come from inside it
SENT = 2  # newer than all of INBOX: prefetch wants them, and they are not in the bulk load


def _seed_both(imap) -> None:  # type: ignore[no-untyped-def]
    _seed(imap)
    for i in range(SENT):
        imap.append(
            "Sent",
            make_message(
                subject=f"Re: 返金のお願い {i}",
                sender=("Support", "support@example.jp"),
                to=(("山田 太郎", "taro@example.jp"),),
                body=f"返信 {i}\n",
                minutes=TOTAL + i,
            ),
        )


def _sync(account, limit: int = PREFETCH):  # type: ignore[no-untyped-def]
    session = AccountSession(account, account.imap.resolve_password())
    try:
        return session.sync(prefetch_limit=limit)
    finally:
        session.close()


def test_bodies_fetched_while_the_bulk_load_commits_give_the_same_cache(
    tmp_path: Path, imap_account, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    _seed_both(imap_account)
    seen_mid_commit: list[int] = []  # messages a second process sees while bodies come ahead
    ahead_uids: list[int] = []
    fetch_ahead = bodies.BodiesAhead.fetch

    def noting_ahead(self, client, mailbox, uidvalidity, uids):  # type: ignore[no-untyped-def]
        reader = Store(account.cache_path, readonly=True)
        try:
            seen_mid_commit.append(reader.message_count())
        finally:
            reader.close()
        ahead_uids.extend(uids)
        return fetch_ahead(self, client, mailbox, uidvalidity, uids)

    after: list[list[str]] = []  # per fetch_bodies call after the sync: its mailboxes
    fetch_after = bodies.fetch_bodies

    def noting_after(client, store, locations, open_folder=None):  # type: ignore[no-untyped-def]
        after.append(sorted({loc[1] for loc in locations}))
        return fetch_after(client, store, locations, open_folder)

    monkeypatch.setattr(bodies.BodiesAhead, "fetch", noting_ahead)
    monkeypatch.setattr(bodies, "fetch_bodies", noting_after)
    monkeypatch.setattr(sync, "BULK_AFTER", sync.FETCH_BATCH)
    caches = []
    for name, threshold in (("prefetch after", 10**9), ("fetched ahead", 2)):
        monkeypatch.setattr(sync, "BULK_MIN", threshold)
        (tmp_path / name).mkdir()
        account = account_config(tmp_path / name, imap_account)
        after.clear()
        report = _sync(account)
        assert (report.new, report.bodies) == (TOTAL + SENT, PREFETCH)
        assert _whole(account.cache_path) == TOTAL + SENT
        caches.append(_contents(account.cache_path))
    # Ahead: the newest INBOX bodies, fetched while the bulk load was still uncommitted (a
    # reader saw only the batch before it); after the sync only Sent's were fetched.
    assert seen_mid_commit == [sync.FETCH_BATCH]
    assert len(ahead_uids) == PREFETCH
    assert after == [["Sent"]]
    assert caches[0] == caches[1]
    store = Store(account.cache_path, readonly=True)
    try:
        assert len(store.missing_bodies()) == TOTAL + SENT - PREFETCH
        # A body stored after the sync is searchable (the reply threads into its request).
        assert len(store.search("返信 1")) == 1
    finally:
        store.close()


def _bodied(account, mailbox: str) -> list[tuple[str, int, int]]:  # type: ignore[no-untyped-def]
    with sqlite3.connect(account.cache_path) as db:
        return db.execute(
            "SELECT mailbox, uidvalidity, uid FROM messages WHERE body_fetched = 1 AND mailbox = ?",
            (mailbox,),
        ).fetchall()


def _missing(account) -> set[tuple[str, int, int]]:  # type: ignore[no-untyped-def]
    store = Store(account.cache_path, readonly=True)
    try:
        return {
            (mailbox, uidvalidity, uid) for _, mailbox, uidvalidity, uid in store.missing_bodies()
        }
    finally:
        store.close()


def test_connection_cut_while_fetching_ahead_then_resume(
    tmp_path: Path, imap_account, dovecot, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    _seed_both(imap_account)
    monkeypatch.setattr(sync, "BULK_MIN", 2)
    monkeypatch.setattr(sync, "BULK_AFTER", sync.FETCH_BATCH)
    (tmp_path / "clean").mkdir()
    clean = account_config(tmp_path / "clean", imap_account)
    _sync(clean)
    with FaultProxy(dovecot.imap_port) as proxy:
        # The first whole-body FETCH of the sync is the one sent while the bulk load commits.
        proxy.cut_after_client_sends = b"BODY.PEEK[])"
        account = via_proxy(tmp_path, imap_account, proxy)
        with pytest.raises(NetworkError, match="connection lost during sync") as lost:
            _sync(account)
        assert "\n" not in str(lost.value)
        # The bulk load committed on its own thread meanwhile: every header is there.
        assert _whole(account.cache_path) == TOTAL
        report = _sync(account)
    # The next sync fetches what is left (Sent) and, as any sync, prefetches as many bodies
    # as it found new mail: nothing was stored twice or lost.
    assert (report.new, report.bodies) == (SENT, SENT)
    assert _whole(account.cache_path) == TOTAL + SENT
    assert _missing(account) == _missing(clean) | {
        ("INBOX", uidvalidity, uid) for _, uidvalidity, uid in _bodied(clean, "INBOX")
    }
