"""Headers first, bodies later (prefetch newest first, `show` on demand); one sync leader per
cache; readers notice commits through data_version."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from mailtriage.cli import main
from mailtriage.imap.leader import SyncLeader
from mailtriage.imap.session import AccountSession
from mailtriage.store import Store
from support.configs import write_config
from support.mailfactory import make_message
from sync.conftest import account_config


@pytest.mark.server
def test_prefetch_is_newest_first_and_show_fetches_the_rest(
    tmp_path: Path, imap_account, capsys
) -> None:  # type: ignore[no-untyped-def]
    imap_account.append_many(
        "INBOX",
        [
            make_message(
                subject=f"問い合わせ {i}",
                body=f"本文 {i} の詳細です。",
                message_id=f"<p{i}@example.jp>",
                sender=(f"客 {i}", f"c{i}@example.jp"),
                minutes=i,
            )
            for i in range(6)
        ],
    )
    account = account_config(tmp_path, imap_account)
    session = AccountSession(account, account.imap.resolve_password())
    assert session.sync(prefetch_limit=2).new == 6
    session.close()
    store = Store(account.cache_path, readonly=True)
    fetched = dict(store.conn.execute("SELECT message_id, body_fetched FROM messages"))
    assert fetched == {f"<p{i}@example.jp>": int(i >= 4) for i in range(6)}
    assert store.conn.execute(
        "SELECT text FROM messages WHERE message_id='<p0@example.jp>'"
    ).fetchone() == ("",)
    (conversation,) = store.search("問い合わせ 0")
    store.close()

    config = str(tmp_path / "config.toml")
    assert main(["show", conversation["id"], "--json", "--config", config]) == 0
    (message,) = json.loads(capsys.readouterr().out)["messages"]
    assert "本文 0 の詳細です。" in message["text"]
    store = Store(account.cache_path, readonly=True)
    assert store.search("本文 0 の詳細")  # the body is searchable once it is here
    store.close()


def test_one_leader_per_cache(tmp_path: Path) -> None:
    cache = tmp_path / "support.sqlite3"
    first, second = SyncLeader(cache, "sync --watch"), SyncLeader(cache, "sync")
    assert first.try_acquire()
    assert not second.try_acquire()
    assert second.holder().endswith("(sync --watch)")
    first.release()
    assert second.try_acquire()
    second.release()


def test_leader_lock_dies_with_its_process(tmp_path: Path) -> None:
    cache = tmp_path / "support.sqlite3"
    code = (
        "import sys, os; from pathlib import Path; from mailtriage.imap.leader import SyncLeader;"
        f"assert SyncLeader(Path({str(cache)!r}), 'sync').try_acquire(); os._exit(0)"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
    assert SyncLeader(cache, "sync").try_acquire()


def test_data_version_tells_a_reader_another_connection_committed(tmp_path: Path) -> None:
    path = tmp_path / "cache" / "a.sqlite3"
    writer = Store(path)
    reader = Store(path, readonly=True)
    before = reader.data_version()
    assert reader.data_version() == before  # its own reads change nothing
    with writer.atomic():
        writer.conn.execute(
            "INSERT INTO mailboxes (name, role, uidvalidity) VALUES ('X', 'inbox', 1)"
        )
    assert reader.data_version() != before
    writer.close()
    reader.close()


@pytest.mark.server
def test_second_one_shot_sync_steps_aside(tmp_path: Path, imap_account, capsys) -> None:  # type: ignore[no-untyped-def]
    config = write_config(tmp_path, imap_account)
    account = account_config(tmp_path, imap_account)
    leader = SyncLeader(account.cache_path, "sync --watch")
    assert leader.try_acquire()
    try:
        assert main(["sync", "--config", str(config)]) == 0
        assert "is already syncing this cache; nothing to do" in capsys.readouterr().out
    finally:
        leader.release()
