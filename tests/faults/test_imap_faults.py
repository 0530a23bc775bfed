"""Fault matrix, IMAP side: the rows session 1 did not cover (docs/faults.md has the table).

Each test breaks something real (a Dovecot mailbox, the TCP stream through FaultProxy, the
process), then checks the four promises: no crash, one line saying why, recovery once the
fault clears, and a cache with nothing lost or duplicated.
"""

from __future__ import annotations

import dataclasses
import socket
import sqlite3
from pathlib import Path

import pytest

from mailtriage.cli import main
from mailtriage.config import load_config
from mailtriage.devservers.dovecot import DovecotServer
from mailtriage.errors import NetworkError
from mailtriage.imap.session import AccountSession
from mailtriage.imap.sync import GONE
from mailtriage.store import Store
from mailtriage.store.events import timeline
from support.configs import write_config
from support.mailfactory import SUPPORT, make_message
from sync.conftest import account_config, new_account, via_proxy, with_poll
from sync.proxy import FaultProxy
from sync.test_watch import Watcher, cached, until
from triage.helpers import actions_for, anchor_assignees, only_key

pytestmark = pytest.mark.server


def integrity(cache: Path) -> tuple[int, int]:
    """(messages, distinct (mailbox, uid)) after an integrity check: equal means no dupes."""
    with sqlite3.connect(cache) as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        (count,) = db.execute("SELECT COUNT(*) FROM messages").fetchone()
        (distinct,) = db.execute(
            "SELECT COUNT(*) FROM (SELECT DISTINCT mailbox, uid FROM messages)"
        ).fetchone()
        (fts,) = db.execute("SELECT COUNT(*) FROM messages_fts").fetchone()
        assert fts == count
    return count, distinct


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_refused_then_the_server_comes_up(tmp_path: Path, dovecot: DovecotServer, capsys) -> None:  # type: ignore[no-untyped-def]
    imap = new_account(dovecot)
    imap.append("INBOX", make_message())
    port = _free_port()
    path = write_config(tmp_path, imap, port=port)  # TLS, through the proxy once it is up
    assert main(["sync", "--config", str(path)]) == NetworkError.exit_code
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "connection refused" in err and "Traceback" not in err
    with FaultProxy(dovecot.imaps_port, port=port):  # the server is back on the same port
        assert main(["sync", "--config", str(path)]) == 0
    assert "support: 1 new" in capsys.readouterr().out


def _outgoing_config(tmp_path: Path, imap):  # type: ignore[no-untyped-def]
    """An account whose Sent folder is a plain folder ("Outgoing"), which Dovecot does not
    re-create on its own the way it does its special-use Sent."""
    path = write_config(tmp_path, imap)
    text = path.read_text().replace(
        "[accounts.support.imap]", 'sent_folder = "Outgoing"\n\n[accounts.support.imap]'
    )
    path.write_text(text)
    return load_config(path)


async def test_sent_folder_deleted_then_recreated_by_another_client(
    tmp_path: Path, imap_account, capsys
) -> None:  # type: ignore[no-untyped-def]
    other = imap_account.client()
    other.create_folder("Outgoing")
    imap_account.append("INBOX", make_message(message_id="<q1@x.jp>"))
    reply = make_message(
        subject="Re: ログインできません",
        sender=("サポート", SUPPORT),
        to=(("山田 太郎", "taro@example.jp"),),
        message_id="<r1@x.jp>",
        in_reply_to="<q1@x.jp>",
        references=["<q1@x.jp>"],
        minutes=5,
    )
    imap_account.append("Outgoing", reply)
    config = _outgoing_config(tmp_path, imap_account)
    args = ["sync", "--config", str(config.path)]
    assert main(args) == 0
    key = only_key(config)
    capsys.readouterr()

    other.delete_folder("Outgoing")
    # Before any sync notices: a claim still wins on the anchor (INBOX) and says so.
    actions = actions_for(config)
    try:
        result = await actions.claim(key)
    finally:
        await actions.close()
    assert result.ok, result
    assert anchor_assignees(imap_account) == ["alice"]

    imap_account.append("INBOX", make_message(message_id="<q2@x.jp>", subject="別件", minutes=9))
    assert main(args) == 0  # new mail still arrives while Outgoing is gone
    out = capsys.readouterr().out
    assert out.count("\n") == 1
    assert "support: 1 new" in out and f"Outgoing {GONE}" in out
    cache = config.accounts["support"].cache_path
    assert cached(config.accounts["support"], "SELECT mailbox FROM messages WHERE uid>0") == [
        ("INBOX",),
        ("INBOX",),
    ]

    other.create_folder("Outgoing")  # the fault clears: someone restores the folder
    imap_account.append("Outgoing", reply)
    assert main(args) == 0
    assert "support: 1 new" in capsys.readouterr().out
    assert integrity(cache) == (3, 3)


async def test_sent_renamed_away_and_autocreated(tmp_path: Path, imap_account) -> None:  # type: ignore[no-untyped-def]
    """Dovecot re-creates its special-use Sent after a rename: a new UIDVALIDITY, not an error."""
    imap_account.append("INBOX", make_message(message_id="<q1@x.jp>"))
    imap_account.append("Sent", make_message(message_id="<r1@x.jp>", subject="Re: x"))
    account = account_config(tmp_path, imap_account)
    session = AccountSession(account, account.imap.resolve_password())
    try:
        assert session.sync().new == 2
        imap_account.client().rename_folder("Sent", "Old-Sent")
        report = session.sync()
        (sent,) = [f for f in report.folders if f.folder == "Sent"]
        assert sent.uidvalidity_reset or sent.missing
        assert report.new == 0
    finally:
        session.close()
    assert integrity(account.cache_path) == (1, 1)


async def test_connection_cut_right_after_the_claim_store(
    tmp_path: Path, dovecot: DovecotServer
) -> None:
    """The server applied the claim, the client never heard: the retry must see its own
    claim, say "claimed" once, and leave one assignee on the server."""
    imap = new_account(dovecot)
    imap.append("INBOX", make_message(message_id="<q1@x.jp>"))
    with FaultProxy(dovecot.imap_port) as proxy:
        path = write_config(
            tmp_path, imap, security="insecure-plaintext", port=proxy.port, ca_file=None
        )
        config = load_config(path)
        assert main(["sync", "-q", "--config", str(path)]) == 0
        key = only_key(config)
        proxy.cut_after_client_sends = b"UNCHANGEDSINCE"
        actions = actions_for(config)
        try:
            result = await actions.claim(key)
            assert proxy.cut_after_client_sends is None  # the cut happened
            assert result.ok and result.message.endswith("claimed"), result
            again = await actions.claim(key)
            assert again.ok, again
        finally:
            await actions.close()
        assert main(["sync", "-q", "--config", str(path)]) == 0  # the app folder's events too
    assert anchor_assignees(imap) == ["alice"]
    store = Store(config.accounts["support"].cache_path, readonly=True)
    try:
        kinds = [e["kind"] for e in timeline(store.conn, key)]
    finally:
        store.close()
    assert kinds.count("claimed") == 1, kinds  # the history has the claim, once


async def test_garbage_from_the_server_during_idle(tmp_path: Path, dovecot: DovecotServer) -> None:
    imap = new_account(dovecot)
    imap.append("INBOX", make_message())
    with FaultProxy(dovecot.imap_port) as proxy:
        account = via_proxy(tmp_path, imap, proxy)
        async with Watcher(account) as watcher:
            await watcher.wait_for("idle")
            mark = len(watcher.events)
            proxy.inject(b"\x00\xff)(* 9 FETCH (((\x1b[2J garbage\r\n* BAD\r\n)\r\n")
            trouble = await watcher.wait_for("offline", after=mark)
            assert "\n" not in trouble.message and "retrying in" in trouble.message
            await watcher.wait_for("idle", after=mark + 1)
            imap.append("INBOX", make_message(message_id="<after@x.jp>"))
            await until(
                lambda: cached(
                    account, "SELECT 1 FROM messages WHERE message_id=?", "<after@x.jp>"
                ),
                timeout=5,
            )
    assert integrity(account.cache_path) == (2, 2)


async def test_stall_during_watch_goes_offline_then_recovers(
    tmp_path: Path, dovecot: DovecotServer
) -> None:
    """No bytes at all (a dead NAT, a hung server): a short configurable timeout, one line,
    and new mail once bytes flow again. The issue's 60 s stall, scaled to a 1 s timeout."""
    imap = new_account(dovecot)
    imap.append("INBOX", make_message())
    with FaultProxy(dovecot.imap_port) as proxy:
        account = via_proxy(tmp_path, imap, proxy)
        account = with_poll(
            dataclasses.replace(account, imap=dataclasses.replace(account.imap, timeout=1)), 1
        )
        async with Watcher(account) as watcher:
            await watcher.wait_for("idle")
            mark = len(watcher.events)
            proxy.stalled.set()
            imap.append("INBOX", make_message(message_id="<stalled@x.jp>"))
            stalled = await watcher.wait_for("offline", after=mark)
            assert "timed out" in stalled.message or "timeout" in stalled.message
            assert "\n" not in stalled.message
            proxy.stalled.clear()
            await until(
                lambda: cached(
                    account, "SELECT 1 FROM messages WHERE message_id=?", "<stalled@x.jp>"
                ),
                timeout=15,
            )
    assert integrity(account.cache_path) == (2, 2)


def test_slow_link_still_syncs(tmp_path: Path, dovecot: DovecotServer) -> None:
    imap = new_account(dovecot)
    imap.append_many(
        "INBOX", [make_message(message_id=f"<s{i}@x.jp>", minutes=i) for i in range(20)]
    )
    with FaultProxy(dovecot.imap_port) as proxy:
        proxy.delay = 0.05  # every chunk from the server waits: an SSH hop over a bad link
        account = via_proxy(tmp_path, imap, proxy)
        session = AccountSession(account, account.imap.resolve_password())
        try:
            assert session.sync().new == 20
            assert session.sync().new == 0
        finally:
            session.close()
    assert integrity(account.cache_path) == (20, 20)
