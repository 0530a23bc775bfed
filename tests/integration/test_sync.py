"""Sync against a real Dovecot: initial, incremental, expunge, UIDVALIDITY, flags, faults."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest
from imapclient.imapclient import SENT

from mailtriage.cli import main
from mailtriage.config import Config, load_config
from mailtriage.errors import AuthError, NetworkError, TlsError
from mailtriage.imap.account import AccountSync
from mailtriage.imap.sync import SyncReport
from mailtriage.store import Store
from mailtriage.triage.threads import conversation_key, short_id
from support.configs import write_config
from support.mailfactory import SUPPORT, make_iso2022jp_message, make_message


async def sync(config: Config) -> SyncReport:
    account = config.accounts["support"]
    syncer = AccountSync(account, account.imap.resolve_password())
    try:
        return await syncer.sync()
    finally:
        await syncer.close()


def open_store(config: Config) -> Store:
    return Store(config.accounts["support"].cache_path, readonly=True)


def seed_thread(imap_account) -> None:  # type: ignore[no-untyped-def]
    """A customer asks, support answers (in Sent), the customer follows up; plus a stranger."""
    imap_account.append("INBOX", make_message(message_id="<q1@example.jp>", minutes=0))
    imap_account.append(
        "Sent",
        make_message(
            subject="Re: ログインできません",
            sender=("サポート", SUPPORT),
            to=(("山田 太郎", "taro@example.jp"),),
            body="パスワードを再設定してください。",
            message_id="<r1@example.co.jp>",
            in_reply_to="<q1@example.jp>",
            references=["<q1@example.jp>"],
            minutes=10,
        ),
        flags=["\\Seen"],
    )
    imap_account.append(
        "INBOX",
        make_message(
            subject="Re: ログインできません",
            body="できました。",
            message_id="<q2@example.jp>",
            in_reply_to="<r1@example.co.jp>",
            references=["<q1@example.jp>", "<r1@example.co.jp>"],
            minutes=20,
        ),
    )
    imap_account.append(
        "INBOX",
        make_message(
            subject="Invoice copy please",
            sender=("Bob Stone", "bob@example.com"),
            body="Could you resend invoice 1234?",
            message_id="<i1@example.com>",
            minutes=30,
        ),
    )


@pytest.fixture
def config(tmp_path: Path, imap_account) -> Config:  # type: ignore[no-untyped-def]
    return load_config(write_config(tmp_path, imap_account))


async def test_initial_sync_builds_conversations(config: Config, imap_account) -> None:  # type: ignore[no-untyped-def]
    seed_thread(imap_account)
    report = await sync(config)
    assert report.new == 4
    assert {f.folder for f in report.folders} == {"INBOX", "Sent"}
    store = open_store(config)
    convs = {c["subject"]: c for c in store.list_conversations("all")}
    assert set(convs) == {"ログインできません", "Invoice copy please"}
    login = convs["ログインできません"]
    assert login["id"] == short_id(conversation_key("<q1@example.jp>"))
    assert login["message_count"] == 3
    assert login["customer"] == {"name": "山田 太郎", "email": "taro@example.jp"}
    # Our reply moved it to In progress (rules.own_reply_moves_to_in_progress, default on);
    # the customer's follow-up only reopens Done conversations.
    assert login["status"] == "in-progress"
    assert login["unread"] == 2
    full = store.get_conversation(login["key"])
    assert full is not None
    assert [m["message_id"] for m in full["messages"]] == [
        "<q1@example.jp>",
        "<r1@example.co.jp>",
        "<q2@example.jp>",
    ]
    assert [m["inbound"] for m in full["messages"]] == [True, False, True]
    assert "パスワードを再設定" in full["messages"][1]["text"]


async def test_sync_never_marks_mail_read(config: Config, imap_account) -> None:  # type: ignore[no-untyped-def]
    uid = imap_account.append("INBOX", make_message())
    await sync(config)
    client = imap_account.client()
    client.select_folder("INBOX", readonly=True)
    assert b"\\Seen" not in client.get_flags([uid])[uid]


async def test_incremental_new_mail_and_nothing_changed(config: Config, imap_account) -> None:  # type: ignore[no-untyped-def]
    seed_thread(imap_account)
    await sync(config)
    again = await sync(config)
    assert (again.new, again.flag_changes, again.vanished) == (0, 0, 0)
    assert all(f.unchanged for f in again.folders)
    imap_account.append(
        "INBOX",
        make_message(
            subject="Re: Invoice copy please",
            sender=("Bob Stone", "bob@example.com"),
            body="Any news?",
            message_id="<i2@example.com>",
            in_reply_to="<i1@example.com>",
            references=["<i1@example.com>"],
            minutes=40,
        ),
    )
    third = await sync(config)
    assert third.new == 1
    invoice = next(
        c
        for c in open_store(config).list_conversations("all")
        if c["subject"] == "Invoice copy please"
    )
    assert invoice["message_count"] == 2


async def test_flag_and_keyword_changes_by_another_client(config: Config, imap_account) -> None:  # type: ignore[no-untyped-def]
    seed_thread(imap_account)
    await sync(config)
    other = imap_account.client()
    other.select_folder("INBOX")
    uids = other.search(["HEADER", "Message-ID", "q1@example.jp"])
    other.add_flags(uids, [b"mt:status/in-progress", b"mt:assignee/bob", b"\\Seen"])
    report = await sync(config)
    assert report.flag_changes == 1
    store = open_store(config)
    (conv,) = [c for c in store.list_conversations("in-progress")]
    assert (conv["subject"], conv["assignee"], conv["unread"]) == ("ログインできません", "bob", 1)
    assert store.count_conversations("mine", agent="bob") == 1
    assert store.count_conversations("unhandled") == 1


async def test_expunge_removes_messages_and_empty_conversations(
    config: Config, imap_account
) -> None:  # type: ignore[no-untyped-def]
    seed_thread(imap_account)
    await sync(config)
    other = imap_account.client()
    other.select_folder("INBOX")
    invoice = other.search(["HEADER", "Message-ID", "i1@example.com"])
    follow_up = other.search(["HEADER", "Message-ID", "q2@example.jp"])
    other.delete_messages(invoice + follow_up)
    other.expunge()
    report = await sync(config)
    assert report.vanished == 2
    store = open_store(config)
    (conv,) = store.list_conversations("all")
    assert (conv["subject"], conv["message_count"]) == ("ログインできません", 2)


async def test_uidvalidity_change_rebuilds_that_folder(config: Config, imap_account) -> None:  # type: ignore[no-untyped-def]
    seed_thread(imap_account)
    await sync(config)
    other = imap_account.client()
    sent = other.find_special_folder(SENT)
    other.select_folder(sent)
    raw = other.fetch(other.search("ALL"), ["BODY.PEEK[]"])
    other.close_folder()
    other.delete_folder(sent)
    other.create_folder(sent)
    for data in raw.values():
        other.append(sent, data[b"BODY[]"], flags=[b"\\Seen"])
    report = await sync(config)
    (sent_report,) = [f for f in report.folders if f.folder == sent]
    assert sent_report.uidvalidity_reset
    assert sent_report.new == 1
    login = next(
        c
        for c in open_store(config).list_conversations("all")
        if c["subject"] == "ログインできません"
    )
    assert login["message_count"] == 3  # no duplicates, nothing lost


async def test_japanese_iso2022jp_subject_and_search(config: Config, imap_account, capsys) -> None:  # type: ignore[no-untyped-def]
    imap_account.append(
        "INBOX",
        make_iso2022jp_message(
            subject="請求書再発行のお願い",
            sender_name="佐藤 花子",
            sender_email="hanako@example.jp",
            body="いつもお世話になっております。\n請求書の再発行をお願いいたします。\n",
            message_id="<jis1@example.jp>",
        ),
    )
    await sync(config)
    assert main(["search", "再発行", "--json", "--config", str(config.path)]) == 0
    (item,) = json.loads(capsys.readouterr().out)
    assert item["subject"] == "請求書再発行のお願い"
    assert item["customer"] == {"name": "佐藤 花子", "email": "hanako@example.jp"}


async def test_plain_and_starttls_modes(tmp_path: Path, imap_account) -> None:  # type: ignore[no-untyped-def]
    imap_account.append("INBOX", make_message())
    for security in ("starttls", "insecure-plaintext"):
        directory = tmp_path / security
        directory.mkdir()
        config = load_config(write_config(directory, imap_account, security=security))
        assert (await sync(config)).new == 1


async def test_wrong_password(tmp_path: Path, imap_account) -> None:  # type: ignore[no-untyped-def]
    config = load_config(write_config(tmp_path, imap_account, password="wrong"))
    with pytest.raises(AuthError, match=r"login as .* refused"):
        await sync(config)


async def test_untrusted_certificate(tmp_path: Path, imap_account) -> None:  # type: ignore[no-untyped-def]
    config = load_config(write_config(tmp_path, imap_account, ca_file=None))
    with pytest.raises(TlsError, match=r"certificate not trusted.*ca_file"):
        await sync(config)


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def test_server_down(tmp_path: Path, imap_account) -> None:  # type: ignore[no-untyped-def]
    config = load_config(write_config(tmp_path, imap_account, port=_closed_port()))
    with pytest.raises(NetworkError, match="connection refused"):
        await sync(config)


async def test_web_form_customer_comes_from_reply_to(config: Config, imap_account) -> None:  # type: ignore[no-untyped-def]
    raw = make_message(
        subject="お問い合わせフォーム",
        sender=("Webフォーム", "form@example.co.jp"),
        message_id="<form1@example.co.jp>",
    )
    reply_to = b"Reply-To: =?utf-8?b?5pyo5p2RIOWSsg==?= <saki@example.jp>\r\n"
    raw = reply_to + raw
    imap_account.append("INBOX", raw)
    await sync(config)
    (conv,) = open_store(config).list_conversations("all")
    assert conv["customer"] == {"name": "木村 咲", "email": "saki@example.jp"}
