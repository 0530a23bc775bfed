"""The real-server harness itself: Dovecot and aiosmtpd behave as the rest of the suite assumes."""

from __future__ import annotations

import socket
import ssl
import time
from datetime import UTC, datetime
from email.header import Header

import aiosmtplib
import imapclient
import pytest
from imapclient.exceptions import IMAPClientAbortError, LoginError
from imapclient.imapclient import ARCHIVE, DRAFTS, JUNK, SENT, TRASH

from mailtriage.devservers.dovecot import DovecotServer
from mailtriage.devservers.smtp import SmtpServer

pytestmark = pytest.mark.server

REQUIRED_CAPABILITIES = {b"CONDSTORE", b"QRESYNC", b"IDLE", b"MOVE", b"UIDPLUS", b"SPECIAL-USE"}
KEYWORDS = ("mt:status/in-progress", "mt:assignee/alice")


def simple_message(subject: str = "Hello", body: str = "Hi there.") -> bytes:
    return (
        f"From: Customer <customer@example.com>\r\nTo: support@example.com\r\n"
        f"Subject: {subject}\r\nMessage-ID: <{time.monotonic_ns()}@example.com>\r\n"
        f"\r\n{body}\r\n"
    ).encode()


def iso2022jp_message(message_id: str) -> bytes:
    subject = Header("お問い合わせ: 請求書について", "iso-2022-jp").encode()
    body = "いつもお世話になっております。\r\n.この行はドットで始まります\r\n".encode("iso2022_jp")
    head = (
        "From: =?ISO-2022-JP?B?GyRCOzNFRBsoQg==?= <yamada@example.jp>\r\n"
        "To: support@example.com\r\n"
        f"Subject: {subject}\r\n"
        f"Message-ID: <{message_id}>\r\n"
        "MIME-Version: 1.0\r\n"
        'Content-Type: text/plain; charset="ISO-2022-JP"\r\n'
        "Content-Transfer-Encoding: 7bit\r\n"
        "\r\n"
    ).encode("ascii")
    # A line that starts with "." checks SMTP dot-stuffing round-trips too.
    return head + body + b".\r\n..two dots\r\n"


def smtp_tls_context(ca_file) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(ca_file))


# IMAP -----------------------------------------------------------------------------------------


def test_plain_login_offers_starttls_and_works(imap_account):
    pre_login = imapclient.IMAPClient(imap_account.host, port=imap_account.port, ssl=False)
    try:
        assert b"STARTTLS" in pre_login.capabilities()
        pre_login.starttls(imap_account.ssl_context())
        pre_login.login(imap_account.username, imap_account.password)
        assert pre_login.select_folder("INBOX")[b"EXISTS"] == 0
    finally:
        pre_login.logout()

    imap = imap_account.client()
    assert imap.select_folder("INBOX", readonly=True)[b"EXISTS"] == 0


def test_tls_login_is_verified_against_the_test_ca(imap_account):
    imap = imap_account.client(tls=True)
    peer = imap.socket()
    assert isinstance(peer, ssl.SSLSocket)
    assert peer.getpeercert()["subjectAltName"] == (
        ("DNS", "localhost"),
        ("IP Address", "127.0.0.1"),
    )
    assert imap.select_folder("INBOX")[b"EXISTS"] == 0

    # The same connection without the test CA must fail: verification really happens.
    with pytest.raises(ssl.SSLCertVerificationError):
        imapclient.IMAPClient(
            imap_account.host,
            port=imap_account.tls_port,
            ssl=True,
            ssl_context=ssl.create_default_context(),
            timeout=5,
        )


def test_capabilities_after_login(imap_account):
    imap = imap_account.client(tls=True)
    caps = set(imap.capabilities())
    assert caps >= REQUIRED_CAPABILITIES, REQUIRED_CAPABILITIES - caps


def test_custom_keywords_are_stored_and_read_back(imap_account):
    uid = imap_account.append("INBOX", simple_message(), flags=[KEYWORDS[0]])
    imap = imap_account.client()
    selected = imap.select_folder("INBOX")
    assert b"\\*" in selected[b"PERMANENTFLAGS"]
    imap.add_flags([uid], [KEYWORDS[1]])

    other = imap_account.client()
    other.select_folder("INBOX", readonly=True)
    flags = other.fetch([uid], ["FLAGS"])[uid][b"FLAGS"]
    assert {kw.encode() for kw in KEYWORDS} <= set(flags)
    assert other.search(["KEYWORD", KEYWORDS[1]]) == [uid]

    imap.remove_flags([uid], [KEYWORDS[0]])
    assert set(other.get_flags([uid])[uid]) & {kw.encode() for kw in KEYWORDS} == {
        KEYWORDS[1].encode()
    }


def test_special_use_folders_exist_and_are_subscribed(imap_account):
    imap = imap_account.client()
    folders = {name: set(flags) for flags, _delim, name in imap.list_folders()}
    for name, flag in {
        "Drafts": DRAFTS,
        "Sent": SENT,
        "Trash": TRASH,
        "Junk": JUNK,
        "Archive": ARCHIVE,
    }.items():
        assert flag in folders[name], (name, folders[name])
        assert imap.find_special_folder(flag) == name
    subscribed = {name for _flags, _delim, name in imap.list_sub_folders()}
    assert {"Drafts", "Sent", "Trash", "Junk", "Archive"} <= subscribed


def test_append_returns_uids_and_keeps_internal_date(imap_account):
    when = datetime(2024, 3, 1, 9, 30, tzinfo=UTC)
    first = imap_account.append("INBOX", simple_message("one"), flags=["\\Seen"], when=when)
    second = imap_account.append("INBOX", simple_message("two"))
    assert second > first
    imap = imap_account.client()
    imap.select_folder("INBOX", readonly=True)
    data = imap.fetch([first], ["INTERNALDATE", "FLAGS"])[first]
    assert data[b"INTERNALDATE"].astimezone(UTC) == when
    assert b"\\Seen" in data[b"FLAGS"]


def test_append_many_uses_multiappend(imap_account):
    items = [simple_message(f"bulk {i}") for i in range(30)]
    items[3] = (items[3], ["\\Flagged", "mt:status/done"])
    uids = imap_account.append_many("Archive", items)
    assert len(uids) == 30
    assert uids == sorted(uids)
    imap = imap_account.client()
    assert imap.select_folder("Archive", readonly=True)[b"EXISTS"] == 30
    assert imap.search(["KEYWORD", "mt:status/done"]) == [uids[3]]
    assert imap.search(["FLAGGED"]) == [uids[3]]


def test_users_mailboxes_are_isolated(make_imap_account):
    alice, bob = make_imap_account(), make_imap_account()
    alice.append("INBOX", simple_message("for alice only"))
    alice_imap, bob_imap = alice.client(), bob.client()
    alice_imap.create_folder("Private")

    assert alice_imap.select_folder("INBOX", readonly=True)[b"EXISTS"] == 1
    assert bob_imap.select_folder("INBOX", readonly=True)[b"EXISTS"] == 0
    assert not bob_imap.folder_exists("Private")
    assert bob_imap.search(["SUBJECT", "alice"]) == []


def test_wrong_password_is_refused(imap_account):
    imap = imapclient.IMAPClient(imap_account.host, port=imap_account.port, ssl=False, timeout=10)
    try:
        with pytest.raises(LoginError):
            imap.login(imap_account.username, imap_account.password + "x")
        with pytest.raises(LoginError):
            imap.login("nobody-such", "pw")
    finally:
        imap.shutdown()


def test_capabilities_can_be_reduced_for_fallback_tests():
    with DovecotServer(capabilities="IMAP4rev1 IDLE UIDPLUS MOVE SPECIAL-USE LITERAL+") as server:
        server.add_user("old", "oldpw")
        imap = imapclient.IMAPClient(server.host, port=server.imap_port, ssl=False, timeout=10)
        try:
            imap.login("old", "oldpw")
            caps = set(imap.capabilities())
        finally:
            imap.logout()
    assert {b"IDLE", b"UIDPLUS", b"MOVE"} <= caps
    assert not caps & {b"CONDSTORE", b"QRESYNC"}


def test_restart_keeps_ports_users_and_mail():
    with DovecotServer() as server:
        server.add_user("keep", "keeppw")
        ports = (server.imap_port, server.imaps_port, server.lmtp_port)
        imap = imapclient.IMAPClient(server.host, port=server.imap_port, ssl=False, timeout=10)
        imap.login("keep", "keeppw")
        uidvalidity = imap.select_folder("INBOX")[b"UIDVALIDITY"]
        response = imap.append("INBOX", simple_message("survives"), flags=[KEYWORDS[0]])
        assert b"APPENDUID" in response

        server.restart()

        # Clients of the old process see the drop, as a real server restart would show them.
        with pytest.raises((IMAPClientAbortError, OSError)):
            imap.noop()
        assert (server.imap_port, server.imaps_port, server.lmtp_port) == ports
        again = imapclient.IMAPClient(server.host, port=server.imap_port, ssl=False, timeout=10)
        try:
            again.login("keep", "keeppw")
            assert again.select_folder("INBOX")[b"UIDVALIDITY"] == uidvalidity
            (uid,) = again.search(["SUBJECT", "survives"])
            assert KEYWORDS[0].encode() in again.get_flags([uid])[uid]
        finally:
            again.logout()
        root = server.root
    assert root is not None and not root.exists(), "a server-made dir is removed on stop"


def test_start_failure_reports_the_dovecot_log():
    server = DovecotServer()
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        # Preset ports are kept by start(), as restart() relies on.
        server.imap_port = squatter.getsockname()[1]
        with socket.socket() as a, socket.socket() as b:
            a.bind(("127.0.0.1", 0))
            b.bind(("127.0.0.1", 0))
            server.imaps_port, server.lmtp_port = a.getsockname()[1], b.getsockname()[1]
        try:
            with pytest.raises(RuntimeError, match="Address already in use"):
                server.start(timeout=5)
        finally:
            server.stop()


# SMTP -----------------------------------------------------------------------------------------


async def test_smtp_starttls_auth_keeps_raw_bytes(smtp_server: SmtpServer, pki):
    raw = iso2022jp_message("jp-1@example.jp")
    errors, _ = await aiosmtplib.send(
        raw,
        sender="yamada@example.jp",
        recipients=["support@example.com", "agent2@example.com"],
        hostname=smtp_server.host,
        port=smtp_server.port,
        username="agent",
        password="agentpw",
        start_tls=True,
        tls_context=smtp_tls_context(pki.ca_cert),
        timeout=10,
    )
    assert errors == {}
    (mail,) = smtp_server.received
    assert mail.data == raw
    assert b"\x1b$B" in mail.data
    assert mail.mail_from == "yamada@example.jp"
    assert mail.rcpt_tos == ["support@example.com", "agent2@example.com"]


async def test_smtp_refuses_auth_without_starttls(smtp_server: SmtpServer):
    with pytest.raises(aiosmtplib.SMTPException):
        await aiosmtplib.send(
            simple_message(),
            sender="a@example.com",
            recipients=["b@example.com"],
            hostname=smtp_server.host,
            port=smtp_server.port,
            username="agent",
            password="agentpw",
            start_tls=False,
            timeout=5,
        )
    assert smtp_server.received == []


async def test_smtp_bad_password_fails_fast(smtp_server: SmtpServer, pki):
    started = time.monotonic()
    with pytest.raises(aiosmtplib.SMTPAuthenticationError) as info:
        await aiosmtplib.send(
            simple_message(),
            sender="a@example.com",
            recipients=["b@example.com"],
            hostname=smtp_server.host,
            port=smtp_server.port,
            username="agent",
            password="wrong",
            start_tls=True,
            tls_context=smtp_tls_context(pki.ca_cert),
            timeout=10,
        )
    assert info.value.code == 535
    assert time.monotonic() - started < 3, "a refused AUTH must answer, not hang to the timeout"
    assert smtp_server.received == []


async def test_smtp_fail_next_gives_temporary_failures(smtp_server: SmtpServer, pki):
    smtp_server.fail_next = 1
    kwargs = dict(
        sender="a@example.com",
        recipients=["b@example.com"],
        hostname=smtp_server.host,
        port=smtp_server.port,
        username="agent",
        password="agentpw",
        start_tls=True,
        tls_context=smtp_tls_context(pki.ca_cert),
        timeout=10,
    )
    with pytest.raises(aiosmtplib.SMTPDataError) as info:
        await aiosmtplib.send(simple_message("first try"), **kwargs)
    assert info.value.code == 451
    assert smtp_server.received == []
    await aiosmtplib.send(simple_message("second try"), **kwargs)
    assert len(smtp_server.received) == 1
    assert smtp_server.fail_next == 0


async def test_smtp_delivers_into_dovecot_over_lmtp(smtp_to_dovecot: SmtpServer, imap_account, pki):
    raw = iso2022jp_message(f"lmtp-{imap_account.username}@example.jp")
    await aiosmtplib.send(
        raw,
        sender="yamada@example.jp",
        recipients=[imap_account.address],
        hostname=smtp_to_dovecot.host,
        port=smtp_to_dovecot.port,
        username="agent",
        password="agentpw",
        start_tls=True,
        tls_context=smtp_tls_context(pki.ca_cert),
        timeout=10,
    )
    imap = imap_account.client()
    imap.select_folder("INBOX", readonly=True)
    (uid,) = imap.search(["HEADER", "Message-ID", f"lmtp-{imap_account.username}@example.jp"])
    stored = imap.fetch([uid], ["BODY.PEEK[]"])[uid][b"BODY[]"]
    # LMTP prepends Return-Path, Delivered-To and Received; the rest is the sent bytes.
    assert stored.endswith(raw)
    assert f"Delivered-To: {imap_account.username}".encode() in stored
