"""The watch keeps INBOX selected and syncs it in place, against a real Dovecot.

On a 100k maildir every EXAMINE costs Dovecot 60-300 ms and the first body read after it
200-400 ms more, which kept another agent's keyword out of the cache for over a second while
the watch backfilled bodies. So the watch's connection selects INBOX once and then learns of
other clients' changes from what the server reports on it (IDLE, NOOP, and the answers to its
own body FETCHes). Each test here has another client flag, expunge and deliver while the
connection is busy, checks that no EXAMINE/SELECT was sent, and that the cache ends exactly as
the server is (as a sync from scratch sees it)."""

from __future__ import annotations

import dataclasses
import json
import threading
from collections.abc import Callable
from pathlib import Path

import imapclient
import pytest

from mailtriage.config import AccountConfig
from mailtriage.imap.commands import uid_fetch, uid_fetch_lines, uid_fetch_records
from mailtriage.imap.reported import Reported
from mailtriage.imap.session import AccountSession
from mailtriage.imap.watch import PREFETCH_SLICE
from support.mailfactory import make_message
from sync.conftest import account_config
from sync.test_quiet_checks import commands_sent
from sync.test_watch import ARRIVED, ASSIGNED, PUSH_LIMIT, Watcher, cached, until

pytestmark = pytest.mark.server

SELECTS = {"EXAMINE", "SELECT"}


def server_view(client: imapclient.IMAPClient) -> dict[int, list[str]]:
    """INBOX as the server has it: uid -> sorted flags (\\Recent is per session)."""
    client.select_folder("INBOX", readonly=True)
    uids = client.search("ALL")
    found = client.fetch(uids, ["FLAGS"]) if uids else {}
    names = {uid: [f.decode() for f in item[b"FLAGS"]] for uid, item in found.items()}
    return {
        uid: sorted(f for f in flags if f.lower() != "\\recent") for uid, flags in names.items()
    }


def cache_view(account: AccountConfig) -> dict[int, list[str]]:
    rows = cached(account, "SELECT uid, flags FROM messages WHERE mailbox='INBOX'")
    return {uid: sorted(json.loads(flags)) for uid, flags in rows}


def during_first(session: AccountSession, word: str, change: Callable[[], None]) -> list[bool]:
    """Run change() right after the session's connection sends its first command whose
    arguments contain word (e.g. the first body FETCH), while the server answers it."""
    client, _ = session.connected()
    imap = client._imap
    original = imap._command
    done: list[bool] = []

    def send(name: str, *args: object) -> object:
        tag = original(name, *args)
        if not done and any(word in str(a) for a in args):
            done.append(True)
            change()
        return tag

    imap._command = send  # type: ignore[method-assign]
    return done


def seed(imap_account, count: int) -> list[int]:  # type: ignore[no-untyped-def]
    return imap_account.append_many(
        "INBOX",
        [
            make_message(body=f"本文 {i}", message_id=f"<k{i}@example.jp>", minutes=i)
            for i in range(count)
        ],
    )


def test_changes_during_a_body_backfill_reach_the_cache_without_a_select(
    tmp_path: Path, imap_account
) -> None:  # type: ignore[no-untyped-def]
    uids = seed(imap_account, 2 * PREFETCH_SLICE + 10)
    account = account_config(tmp_path, imap_account)
    session = AccountSession(account, account.imap.resolve_password())
    other = imap_account.client()
    other.select_folder("INBOX")
    try:
        session.sync(prefetch_limit=0, inbox_last=True)
        assert session.select_for_idle("INBOX") is False  # kept: no EXAMINE needed

        def change() -> None:
            other.add_flags([uids[0]], [b"mt:assignee/bob"])
            other.delete_messages([uids[1]])
            other.expunge()
            imap_account.append("INBOX", make_message(message_id="<late@example.jp>"))

        done = during_first(session, "BODY.PEEK[]", change)
        with commands_sent(session) as sent:
            first = session.sync(prefetch_limit=PREFETCH_SLICE, inbox_last=True, backfill=True)
            second = session.sync(prefetch_limit=PREFETCH_SLICE, inbox_last=True, backfill=True)
            assert session.select_for_idle("INBOX") is False
        assert done, "no body FETCH was sent"
        assert not SELECTS & set(sent), sent
        assert first.bodies == PREFETCH_SLICE
        # Reported along with the body FETCH's answer (or the NOOP after it), applied by
        # the next pass: one keyword, one expunge, one new message.
        assert (first.flag_changes + second.flag_changes) == 1
        assert (first.vanished + second.vanished) == 1
        assert (first.new + second.new) == 1
        assert cached(account, ASSIGNED, uids[0])
        assert cache_view(account) == server_view(other)
    finally:
        session.close()
        other.logout()
    # The state written in place is the server's: a new connection finds nothing to do.
    fresh = AccountSession(account, account.imap.resolve_password())
    try:
        with commands_sent(fresh) as sent:
            report = fresh.sync()
        assert all(f.unchanged for f in report.folders), report
        assert "EXAMINE" not in sent, sent  # its SELECT of INBOX matched the cache
    finally:
        fresh.close()


def test_new_mail_and_expunges_reported_in_idle_are_applied_in_place(
    tmp_path: Path, imap_account
) -> None:  # type: ignore[no-untyped-def]
    uids = seed(imap_account, 5)
    account = account_config(tmp_path, imap_account)
    session = AccountSession(account, account.imap.resolve_password())
    other = imap_account.client()
    other.select_folder("INBOX")
    try:
        session.sync(inbox_last=True)
        assert session.select_for_idle("INBOX") is False
        other.delete_messages([uids[2]])
        other.expunge()
        new = imap_account.append("INBOX", make_message(message_id="<n1@example.jp>"))
        other.noop()
        other.add_flags([new], [b"mt:prio/urgent"])
        with commands_sent(session) as sent:
            assert session.idle(5.0, threading.Event()) is True
            report = session.sync(inbox_last=True)
            assert session.select_for_idle("INBOX") is False
        assert not SELECTS & set(sent), sent
        assert report.vanished == 1 and report.new == 1, report
        assert cache_view(account) == server_view(other)
        assert "mt:prio/urgent" in cache_view(account)[new]
    finally:
        session.close()
        other.logout()


def test_flag_changes_reported_with_a_fetch_answer_are_kept_not_dropped(
    tmp_path: Path, imap_account
) -> None:  # type: ignore[no-untyped-def]
    """uid_fetch_lines reads answers itself: a flag change the server reports among them
    must reach imaplib's untagged responses (as imaplib would file it), not vanish."""
    uids = seed(imap_account, 3)
    watcher = imap_account.client()
    watcher.enable("QRESYNC")
    watcher.select_folder("INBOX", readonly=True)
    other = imap_account.client()
    other.select_folder("INBOX")
    other.add_flags([uids[0]], [b"mt:tag/x"])
    try:
        answer = uid_fetch_records(watcher, str(uids[1]), ["UID", "BODY.PEEK[]"])
        assert [r.uid for r in answer] == [uids[1]] and answer[0].literal
        filed = watcher._imap.untagged_responses.get("FETCH", [])
        assert any(b"mt:tag/x" in line for line in filed), watcher._imap.untagged_responses
        # With FLAGS asked for (new mail's headers), an unsolicited flags-only line is filed
        # too, and not returned as if it were a message of the answer.
        watcher._imap.untagged_responses = {}
        other.add_flags([uids[0]], [b"mt:tag/y"])
        answer = uid_fetch_records(
            watcher, str(uids[2]), ["UID", "FLAGS", "INTERNALDATE", "BODY.PEEK[HEADER]"]
        )
        assert [r.uid for r in answer] == [uids[2]]
        filed = watcher._imap.untagged_responses.get("FETCH", [])
        assert any(b"mt:tag/y" in line for line in filed), watcher._imap.untagged_responses
    finally:
        watcher.logout()
        other.logout()


async def test_watch_backfilling_bodies_takes_changes_and_ends_equal_to_the_server(
    tmp_path: Path, imap_account
) -> None:  # type: ignore[no-untyped-def]
    """End to end: a burst of new mail starts a backfill of several slices; another client
    sets a keyword, expunges and delivers as soon as the first of it is in the cache."""
    seed(imap_account, 3)
    account = account_config(tmp_path, imap_account)
    other = imap_account.client()
    other.select_folder("INBOX")
    async with Watcher(account) as watcher:
        await watcher.wait_for("idle")
        burst = imap_account.append_many(
            "INBOX",
            [
                make_message(body=f"後続 {i}", message_id=f"<burst{i}@example.jp>", minutes=9 + i)
                for i in range(3 * PREFETCH_SLICE)
            ],
        )
        await until(lambda: bool(cached(account, ARRIVED, burst[-1])), PUSH_LIMIT)
        other.noop()
        other.add_flags([burst[0]], [b"mt:assignee/bob"])
        other.delete_messages([burst[1]])
        other.expunge()
        late = imap_account.append("INBOX", make_message(message_id="<late2@example.jp>"))
        await until(lambda: bool(cached(account, ASSIGNED, burst[0])), PUSH_LIMIT)
        await until(lambda: bool(cached(account, ARRIVED, late)), PUSH_LIMIT)
        await until(lambda: cache_view(account) == server_view(other), PUSH_LIMIT)
        # and every body arrived (the backfill went on around the changes)
        await until(
            lambda: not cached(account, "SELECT 1 FROM messages WHERE body_fetched=0"),
            PUSH_LIMIT,
        )
    other.logout()


def test_new_mail_check_skips_what_the_cache_already_holds_above_uidnext(
    tmp_path: Path, imap_account
) -> None:  # type: ignore[no-untyped-def]
    """A UID diff after a SELECT can cache mail that arrived after it, above the UIDNEXT the
    SELECT reported and the cache keeps: looking for new mail from there must not fetch
    (and insert) those again."""
    uids = seed(imap_account, 4)
    account = account_config(tmp_path, imap_account)
    session = AccountSession(account, account.imap.resolve_password())
    try:
        session.sync(inbox_last=True)
        assert session.select_for_idle("INBOX") is False
        _, store = session.connected()
        state = store.mailbox_state("INBOX")
        assert state is not None
        with store.atomic():
            store.set_mailbox_state(dataclasses.replace(state, uidnext=uids[1]), 0.0)
        new = imap_account.append("INBOX", make_message(message_id="<above@example.jp>"))
        assert session.idle(5.0, threading.Event()) is True
        report = session.sync(inbox_last=True)
        assert report.new == 1, report
        assert sorted(cache_view(account)) == [*uids, new]
    finally:
        session.close()


def test_a_structure_fetch_keeps_the_flag_changes_filed_before_and_reported_with_it(
    imap_account,
) -> None:  # type: ignore[no-untyped-def]
    # large.fetch_large_body reads a structure through imaplib's parser (uid_fetch), which
    # hands out every filed FETCH line as an answer: a keyword reported on a kept connection
    # would be gone, while the HIGHESTMODSEQ filed with it moved on.
    uids = seed(imap_account, 3)
    client, other = imap_account.client(), imap_account.client()
    try:
        client.enable("QRESYNC")  # as the watch's connection: changes come with their UID
        client.select_folder("INBOX", readonly=True)
        other.select_folder("INBOX")
        other.add_flags([uids[0]], [b"mt:first"])
        uid_fetch_lines(client, str(uids[2]), ["UID", "BODY.PEEK[HEADER]"])  # files it
        other.add_flags([uids[1]], [b"mt:second"])
        got = uid_fetch(client, str(uids[2]), ["BODYSTRUCTURE", "BODY.PEEK[HEADER]"])
        assert list(got) == [uids[2]]
        assert b"BODYSTRUCTURE" in got[uids[2]]
        reported = Reported()
        reported.add_untagged(client._imap.untagged_responses)
        assert sorted(reported.flags) == uids[:2]
        assert "mt:first" in reported.flags[uids[0]][0]
        assert "mt:second" in reported.flags[uids[1]][0]
    finally:
        client.logout()
        other.logout()
