"""What a watch does when nothing (or something elsewhere) changes, against a real Dovecot:
a no-change sync never EXAMINEs (a STATUS per folder; a NOOP for the INBOX it keeps selected),
and the team watch's IDLE on the app folder never mistakes that folder's UIDs for INBOX's."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from mailtriage.imap.session import AccountSession
from support.mailfactory import make_message
from sync.conftest import account_config
from sync.test_watch import cached


@contextmanager
def commands_sent(session: AccountSession) -> Iterator[list[str]]:
    """The names of the IMAP commands the session's connection sends meanwhile."""
    client, _ = session.connected()
    imap = client._imap
    sent: list[str] = []
    original = imap._command

    def record(name: str, *args: object) -> object:
        sent.append(name)
        return original(name, *args)

    imap._command = record  # type: ignore[method-assign]
    try:
        yield sent
    finally:
        del imap._command


def flags_of(account, uid: int) -> str:  # type: ignore[no-untyped-def]
    ((flags,),) = cached(account, "SELECT flags FROM messages WHERE mailbox='INBOX' AND uid=?", uid)
    return flags


async def test_a_no_change_sync_selects_nothing_and_a_change_is_still_found(
    tmp_path: Path, imap_account
) -> None:  # type: ignore[no-untyped-def]
    imap_account.append("INBOX", make_message(message_id="<s1@x.jp>"))
    imap_account.append("Sent", make_message(message_id="<s2@x.jp>", subject="Re: x"))
    account = account_config(tmp_path, imap_account)
    session = AccountSession(account, account.imap.resolve_password())
    try:
        assert session.sync().new == 2
        with commands_sent(session) as sent:
            report = session.sync()
        assert all(f.unchanged for f in report.folders)
        # EXAMINE (QRESYNC …) of a big mailbox costs Dovecot 60-140 ms at 100k; STATUS < 1 ms.
        assert "EXAMINE" not in sent and "SELECT" not in sent, sent
        assert sent.count("STATUS") >= 2, sent

        other = imap_account.client()
        other.select_folder("INBOX")
        other.add_flags([1], [b"$label1"])  # only HIGHESTMODSEQ moves
        report = session.sync()
        assert report.flag_changes == 1
        assert "$label1" in flags_of(account, 1)
        other.delete_messages([1])
        other.expunge()
        assert session.sync().vanished == 1
        other.logout()
        # The watch's select before IDLE: equal to the cache, so straight to IDLE.
        assert session.select_for_idle("INBOX") is False
        with commands_sent(session) as sent:
            assert session.sync().new == 0
            assert session.select_for_idle("INBOX") is False
        # INBOX: one NOOP on the selected folder; Sent and the app folder: STATUS.
        assert sent.count("NOOP") == 1 and not {"EXAMINE", "SELECT"} & set(sent), sent
        # INBOX stays selected: mail arriving now is reported when IDLE starts.
        imap_account.append("INBOX", make_message(message_id="<s3@x.jp>", minutes=5))
        assert session.idle(5.0, threading.Event()) is True
        assert session.sync().new == 1
    finally:
        session.close()


async def test_app_folder_flag_changes_never_touch_inbox_rows(tmp_path: Path, imap_account) -> None:  # type: ignore[no-untyped-def]
    """The team watch IDLEs on the app folder, whose UIDs overlap INBOX's: a flag change
    there (another agent's presence item being deleted) was written onto the INBOX row
    with that UID. Deterministic: the change is made between EXAMINE and IDLE, and Dovecot
    delivers it when IDLE starts."""
    imap_account.append("INBOX", make_message(message_id="<t1@x.jp>"), flags=["$label1"])
    account = account_config(tmp_path, imap_account)
    setup = imap_account.client()
    setup.create_folder(account.app_folder)
    setup.logout()
    imap_account.append(account.app_folder, make_message(message_id="<item@x.jp>"))
    session = AccountSession(account, account.imap.resolve_password())
    try:
        session.sync()
        before = flags_of(account, 1)
        assert "$label1" in before
        client, _ = session.connected()
        client.select_folder(account.app_folder, readonly=True)
        other = imap_account.client()
        other.select_folder(account.app_folder)
        other.add_flags([1], [b"\\Flagged"])  # app folder UID 1, like INBOX's only message
        other.logout()
        # A flag change in a folder the cache keeps no rows for ends IDLE (re-read it).
        assert session.idle(5.0, threading.Event(), folder=account.app_folder) is True
    finally:
        session.close()
    assert flags_of(account, 1) == before
