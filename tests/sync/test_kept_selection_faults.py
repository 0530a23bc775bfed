"""The watch's kept INBOX against what can go wrong around it, on a real Dovecot.

test_kept_selection covers the common case (a keyword, an expunge and new mail while a body
FETCH runs, on a QRESYNC server). Here: a server with CONDSTORE but no QRESYNC (expunges by
message number), a keyword on mail that arrives in the same burst, a flag set on a message
that is then expunged, a keyword cleared, body text that looks like server responses, a BYE
in the middle of a backfill, a sync that dies while applying in place (before its state is
stored), a keyword reported before new mail is read and then cleared, and the app's body
connection storing bodies beside the watch's. Each ends with the cache equal to the server,
and a fresh connection (QRESYNC from the stored HIGHESTMODSEQ) finding the same: the stored
state must never claim more than what was applied."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

import imapclient
import pytest

from mailtriage.config import AccountConfig
from mailtriage.devservers.dovecot import DovecotServer
from mailtriage.errors import NetworkError
from mailtriage.imap.session import AccountSession
from mailtriage.imap.sync import FolderSync
from mailtriage.imap.watch import PREFETCH_SLICE
from mailtriage.store import Store
from support.imap_account import ImapAccount
from support.mailfactory import make_message
from sync.conftest import account_config, new_account, via_proxy
from sync.proxy import FaultProxy
from sync.test_kept_selection import SELECTS, cache_view, during_first, seed, server_view
from sync.test_quiet_checks import commands_sent

pytestmark = pytest.mark.server


def stored_modseq(account: AccountConfig) -> int | None:
    store = Store(account.cache_path, readonly=True)
    try:
        state = store.mailbox_state("INBOX")
    finally:
        store.close()
    assert state is not None
    return state.highestmodseq


def server_modseq(client: imapclient.IMAPClient) -> int:
    return int(client.folder_status("INBOX", [b"HIGHESTMODSEQ"])[b"HIGHESTMODSEQ"])


def assert_fresh_connection_agrees(account: AccountConfig, other: imapclient.IMAPClient) -> None:
    """A new session syncs from the stored state (QRESYNC where offered); the cache must
    then still be the server's. Were the stored HIGHESTMODSEQ ahead of what was applied,
    the change in between would never be reported again, and this would fail."""
    fresh = AccountSession(account, account.imap.resolve_password())
    try:
        fresh.sync(inbox_last=True)
    finally:
        fresh.close()
    assert cache_view(account) == server_view(other)


def kept(account: AccountConfig) -> AccountSession:
    """A session that synced INBOX (headers only) and keeps it selected."""
    session = AccountSession(account, account.imap.resolve_password())
    try:
        session.sync(prefetch_limit=0, inbox_last=True)
        assert session.select_for_idle("INBOX") is False  # kept: no EXAMINE needed
    except BaseException:
        session.close()
        raise
    return session


def backfill(session: AccountSession) -> None:
    """Two watch passes (sync + a slice of bodies) and its pre-IDLE check."""
    for _ in range(2):
        session.sync(prefetch_limit=PREFETCH_SLICE, inbox_last=True, backfill=True)
    if session.select_for_idle("INBOX"):
        session.sync(prefetch_limit=PREFETCH_SLICE, inbox_last=True, backfill=True)


def burst(imap_account: ImapAccount, other: imapclient.IMAPClient, uids: list[int]) -> Callable:
    """Another client's changes, made while the session's body FETCH is being answered."""

    def change() -> None:
        other.add_flags([uids[0]], [b"mt:assignee/bob"])  # set
        other.remove_flags([uids[3]], [b"mt:prio/urgent", b"\\Seen"])  # cleared
        other.add_flags([uids[2]], [b"mt:tag/gone"])  # set, then expunged
        other.delete_messages([uids[1], uids[2]])
        other.expunge()
        new = imap_account.append("INBOX", make_message(message_id="<same-burst@example.jp>"))
        other.noop()
        other.add_flags([new], [b"mt:assignee/carol"])  # a keyword on mail not yet cached

    return change


def prepared(imap_account: ImapAccount, count: int) -> tuple[list[int], imapclient.IMAPClient]:
    uids = seed(imap_account, count)
    other = imap_account.client()
    other.select_folder("INBOX")
    other.add_flags([uids[3]], [b"mt:prio/urgent", b"\\Seen"])
    return uids, other


def test_condstore_without_qresync_keeps_inbox_and_misses_nothing(
    tmp_path: Path, condstore_only_dovecot: DovecotServer
) -> None:
    imap_account = new_account(condstore_only_dovecot)
    uids, other = prepared(imap_account, 2 * PREFETCH_SLICE + 10)
    account = account_config(tmp_path, imap_account)
    session = kept(account)
    try:
        assert session.caps is not None and session.caps.condstore and not session.caps.qresync
        done = during_first(session, "BODY.PEEK[]", burst(imap_account, other, uids))
        backfill(session)
        assert done, "no body FETCH was sent"
        assert cache_view(account) == server_view(other)
        assert "mt:assignee/carol" in cache_view(account)[max(cache_view(account))]
        # Without [HIGHESTMODSEQ] reports, the stored value stays at one a SELECT gave.
        assert (stored_modseq(account) or 0) <= server_modseq(other)
        # Kept again, and a later keyword during IDLE still reaches the cache.
        assert session.select_for_idle("INBOX") is False
        other.select_folder("INBOX")  # server_view left it read-only
        other.add_flags([uids[4]], [b"mt:assignee/alice"])
        session.idle(3.0, threading.Event())
        session.sync(inbox_last=True)
        assert "mt:assignee/alice" in cache_view(account)[uids[4]]
    finally:
        session.close()
    assert_fresh_connection_agrees(account, other)
    other.logout()


def test_keyword_on_mail_of_the_same_burst_flag_then_expunge_and_a_cleared_keyword(
    tmp_path: Path, imap_account: ImapAccount
) -> None:
    uids, other = prepared(imap_account, 2 * PREFETCH_SLICE + 10)
    account = account_config(tmp_path, imap_account)
    session = kept(account)
    try:
        done = during_first(session, "BODY.PEEK[]", burst(imap_account, other, uids))
        with commands_sent(session) as sent:
            backfill(session)
        assert done, "no body FETCH was sent"
        assert not SELECTS & set(sent), sent  # all of it applied in place
        view = cache_view(account)
        assert view == server_view(other)
        assert uids[2] not in view and "mt:prio/urgent" not in view[uids[3]]
        assert "mt:assignee/carol" in view[max(view)]
        assert (stored_modseq(account) or 0) <= server_modseq(other)
    finally:
        session.close()
    assert_fresh_connection_agrees(account, other)
    other.logout()


LOOKALIKE = (
    "* 1 FETCH (UID 1 FLAGS (mt:fake \\Deleted) MODSEQ (999999))\n"
    "* VANISHED 1:999\n"
    "* 3 EXPUNGE\n"
    "* 9 EXISTS\n"
    "A0001 OK [HIGHESTMODSEQ 999999] Fetch completed.\n"
    "BODY[] {12}\n"
)


def test_body_text_that_looks_like_server_responses_changes_nothing(
    tmp_path: Path, imap_account: ImapAccount
) -> None:
    """A body (and a subject) quoting IMAP lines arrives inside a literal: none of it may be
    read as a flag change, an expunge, new mail or a HIGHESTMODSEQ."""
    uids = imap_account.append_many(
        "INBOX",
        [
            make_message(
                subject="Re: FLAGS (mt:fake) UID 1 MODSEQ (999999)",
                body=LOOKALIKE * 3,
                message_id=f"<look{i}@example.jp>",
                minutes=i,
            )
            for i in range(6)
        ],
    )
    account = account_config(tmp_path, imap_account)
    other = imap_account.client()
    other.select_folder("INBOX")
    session = kept(account)
    try:
        done = during_first(
            session, "BODY.PEEK[]", lambda: other.add_flags([uids[1]], [b"mt:assignee/bob"])
        )
        backfill(session)
        assert done, "no body FETCH was sent"
        assert cache_view(account) == server_view(other)
        assert (stored_modseq(account) or 0) <= server_modseq(other)
        bodies = [r[0] for r in _rows(account, "SELECT text FROM messages WHERE body_fetched=1")]
        assert len(bodies) == len(uids) and all("VANISHED 1:999" in text for text in bodies)
    finally:
        session.close()
    assert_fresh_connection_agrees(account, other)
    other.logout()


def _rows(account: AccountConfig, sql: str) -> list[tuple]:
    store = Store(account.cache_path, readonly=True)
    try:
        return store.conn.execute(sql).fetchall()
    finally:
        store.close()


def test_bye_in_the_middle_of_a_backfill_loses_no_reported_change(
    tmp_path: Path, imap_account: ImapAccount
) -> None:
    """Changes reported to the kept connection, then BYE before they were applied: the
    next connection must find them (the stored state was not moved past them)."""
    uids, other = prepared(imap_account, 2 * PREFETCH_SLICE + 10)
    with FaultProxy(imap_account.port) as proxy:
        account = via_proxy(tmp_path, imap_account, proxy)
        session = kept(account)
        try:
            change = burst(imap_account, other, uids)

            def change_then_bye() -> None:
                change()
                proxy.inject_bye()

            done = during_first(session, "BODY.PEEK[]", change_then_bye)
            # The FETCH's answer may be read whole before the BYE: a later command fails.
            with pytest.raises(NetworkError):
                for _ in range(3):
                    session.sync(prefetch_limit=PREFETCH_SLICE, inbox_last=True, backfill=True)
                    session.select_for_idle("INBOX")
            assert done
            backfill(session)  # a new connection
            assert cache_view(account) == server_view(other)
            assert (stored_modseq(account) or 0) <= server_modseq(other)
        finally:
            session.close()
        assert_fresh_connection_agrees(account, other)
    other.logout()


class Killed(BaseException):
    """Stands for the process dying at that point (nothing after it runs)."""


@pytest.mark.parametrize("dies_at", ["flags", "new mail"])
def test_a_sync_that_dies_while_applying_in_place_leaves_a_state_to_resume_from(
    tmp_path: Path, imap_account: ImapAccount, monkeypatch: pytest.MonkeyPatch, dies_at: str
) -> None:
    """apply_reported writes flags and expunges, then fetches new mail, then the state: dying
    before the flags are written, or after them but before the new mail, must leave a
    HIGHESTMODSEQ and UIDNEXT from which a fresh connection finds every change."""
    uids, other = prepared(imap_account, 2 * PREFETCH_SLICE + 10)
    account = account_config(tmp_path, imap_account)
    session = kept(account)
    try:
        # Reported with the body FETCH's answer, kept for the next pass to apply.
        done = during_first(session, "BODY.PEEK[]", burst(imap_account, other, uids))
        session.sync(prefetch_limit=PREFETCH_SLICE, inbox_last=True, backfill=True)
        assert done
        before = cache_view(account)

        def killed(*args: object) -> None:
            raise Killed

        if dies_at == "flags":
            monkeypatch.setattr(Store, "update_flags", killed)
        else:
            monkeypatch.setattr(FolderSync, "_fetch_new", killed)
        with pytest.raises(Killed):
            session.sync(inbox_last=True)
        monkeypatch.undo()
        session.drop_client()
        if dies_at == "flags":
            assert cache_view(account) == before  # nothing written
        else:  # the flags and the expunge landed; the new message did not
            assert uids[2] not in cache_view(account)
            assert len(cache_view(account)) == len(server_view(other)) - 1
    finally:
        session.close()
    assert_fresh_connection_agrees(account, other)
    other.logout()


def before_first(session: AccountSession, changes: dict[str, Callable[[], None]]) -> list[str]:
    """Run changes[word]() just before the session's connection sends its first command whose
    arguments contain word: the server has then made the change before it reads the
    command, so whatever it reports about it comes with that command's answer."""
    client, _ = session.connected()
    imap = client._imap
    original = imap._command
    done: list[str] = []

    def send(name: str, *args: object) -> object:
        for word, change in changes.items():
            if word not in done and any(word in str(a) for a in args):
                done.append(word)
                change()
        return original(name, *args)

    imap._command = send  # type: ignore[method-assign]
    return done


def test_a_keyword_reported_before_new_mail_is_read_is_not_applied_over_a_newer_state(
    tmp_path: Path, imap_account: ImapAccount
) -> None:
    """New mail is applied in place: its UIDs are listed (UID FETCH n:* (UID)), then its
    headers and flags are read. A keyword another client sets on it in between is reported
    with the first answer (and filed for the next pass); if it is cleared before the
    headers are read, those show it gone. The keyword filed earlier must not be put back
    over the newer state."""
    _, other = prepared(imap_account, 4)
    account = account_config(tmp_path, imap_account)
    session = AccountSession(account, account.imap.resolve_password())
    try:
        session.sync(inbox_last=True)
        assert session.select_for_idle("INBOX") is False
        new = imap_account.append("INBOX", make_message(message_id="<between@example.jp>"))
        assert session.idle(5.0, threading.Event()) is True  # its EXISTS
        other.noop()
        done = before_first(
            session,
            {
                ":*": lambda: other.add_flags([new], [b"mt:assignee/bob"]),
                "HEADER.FIELDS": lambda: other.remove_flags([new], [b"mt:assignee/bob"]),
            },
        )
        with commands_sent(session) as sent:
            report = session.sync(inbox_last=True)
            session.sync(inbox_last=True)  # applies what the first one's FETCHes reported
        assert done == [":*", "HEADER.FIELDS"], done
        assert not SELECTS & set(sent), sent
        assert report.new == 1
        assert cache_view(account) == server_view(other)
        assert "mt:assignee/bob" not in cache_view(account)[new]
    finally:
        session.close()
    assert_fresh_connection_agrees(account, other)
    other.logout()


def test_the_body_connection_and_the_watch_store_each_body_under_its_own_message(
    tmp_path: Path, imap_account: ImapAccount
) -> None:
    """The app's on-demand body connection keeps INBOX selected too (AccountSession
    .fetch_bodies), beside the watch's: while another client expunges and delivers, each
    stores bodies, and every stored body must be its own row's message."""
    uids, other = prepared(imap_account, 2 * PREFETCH_SLICE + 10)
    account = account_config(tmp_path, imap_account)
    watch = kept(account)
    reader = AccountSession(account, account.imap.resolve_password())
    try:
        _, store = reader.connected()
        wanted = store.missing_bodies()
        reader.fetch_bodies(wanted[:3])  # the body connection's kept selection, as in the app

        def change() -> None:
            other.delete_messages(uids[-12:-6])
            other.expunge()
            imap_account.append("INBOX", make_message(message_id="<during@example.jp>"))
            # the body connection reads on from its kept selection meanwhile
            reader.fetch_bodies(wanted[3:20])

        done = during_first(watch, "BODY.PEEK[]", change)
        backfill(watch)
        reader.fetch_bodies(store.missing_bodies())
        assert done
        assert cache_view(account) == server_view(other)
        rows = _rows(account, "SELECT message_id, raw FROM messages WHERE body_fetched=1")
        assert len(rows) == len(server_view(other))
        for message_id, raw in rows:
            assert f"Message-ID: {message_id}".encode() in raw, message_id
    finally:
        reader.close()
        watch.close()
    assert_fresh_connection_agrees(account, other)
    other.logout()
