"""Shared fixtures: a real Dovecot per test session (per xdist worker), accounts, SMTP servers."""

from __future__ import annotations

import contextlib
import re
import secrets
import ssl
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from itertools import islice
from pathlib import Path

import imapclient
import pytest

from mailtriage.devservers.dovecot import DovecotServer, find_dovecot
from mailtriage.devservers.pki import TestPKI, make_test_pki
from mailtriage.devservers.smtp import SmtpServer

DOVECOT_INSTALL = "sudo apt-get update && sudo apt-get install -y dovecot-imapd dovecot-lmtpd"
SMTP_USERS = {"agent": "agentpw"}
MULTIAPPEND_BATCH = 1000

_APPENDUID = re.compile(rb"\[APPENDUID \d+ ([0-9:,]+)\]", re.IGNORECASE)

# (raw message, flags) or (raw message, flags, internal date)
AppendItem = bytes | tuple[bytes, Sequence[str]] | tuple[bytes, Sequence[str], datetime | None]


def _parse_uid_set(text: bytes) -> list[int]:
    uids: list[int] = []
    for part in text.decode().split(","):
        first, _, last = part.partition(":")
        low, high = int(first), int(last or first)
        uids.extend(range(min(low, high), max(low, high) + 1))
    return uids


def _appended_uids(response: bytes) -> list[int]:
    match = _APPENDUID.search(response)
    if match is None:
        raise AssertionError(f"server sent no APPENDUID (is UIDPLUS off?): {response!r}")
    return _parse_uid_set(match.group(1))


@dataclass
class ImapAccount:
    """A fresh Dovecot user; clients made here are logged out at the end of the test."""

    username: str
    password: str
    host: str
    port: int
    tls_port: int
    ca_file: Path
    lmtp_port: int
    _clients: list[imapclient.IMAPClient] = field(default_factory=list, repr=False)
    _helper: imapclient.IMAPClient | None = field(default=None, repr=False)

    @property
    def address(self) -> str:
        return f"{self.username}@localhost"

    def ssl_context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(self.ca_file))

    def client(self, tls: bool = False) -> imapclient.IMAPClient:
        if tls:
            imap = imapclient.IMAPClient(
                self.host, port=self.tls_port, ssl=True, ssl_context=self.ssl_context(), timeout=30
            )
        else:
            # imapclient defaults to ssl=True, even on port 143-style plain listeners.
            imap = imapclient.IMAPClient(self.host, port=self.port, ssl=False, timeout=30)
        imap.login(self.username, self.password)
        self._clients.append(imap)
        return imap

    def _append_client(self) -> imapclient.IMAPClient:
        if self._helper is None:
            self._helper = self.client()
        return self._helper

    def append(
        self,
        folder: str,
        raw: bytes,
        flags: Sequence[str] = (),
        when: datetime | None = None,
    ) -> int:
        """APPEND one message and return its UID (from UIDPLUS APPENDUID)."""
        response = self._append_client().append(folder, raw, flags=tuple(flags), msg_time=when)
        (uid,) = _appended_uids(response)
        return uid

    def append_many(self, folder: str, items: Iterable[AppendItem]) -> list[int]:
        """MULTIAPPEND in batches (≈ 14x faster than one APPEND each); returns UIDs in order."""
        imap = self._append_client()
        uids: list[int] = []
        iterator = iter(items)
        while batch := list(islice(iterator, MULTIAPPEND_BATCH)):
            msgs = []
            for item in batch:
                if isinstance(item, bytes):
                    msgs.append({"msg": item})
                    continue
                raw, flags, *rest = item
                msg: dict[str, object] = {"msg": raw, "flags": tuple(flags)}
                if rest and rest[0] is not None:
                    msg["date"] = rest[0]
                msgs.append(msg)
            # imapclient's multiappend returns (typ, data) without checking typ itself.
            typ, data = imap.multiappend(folder, msgs)
            if typ != "OK":
                raise AssertionError(f"MULTIAPPEND to {folder!r} failed: {typ} {data!r}")
            uids.extend(_appended_uids(data[0]))
        return uids

    def close(self) -> None:
        clients, self._clients, self._helper = self._clients, [], None
        for imap in clients:
            try:
                imap.logout()
            except Exception:
                # A test may have left it broken on purpose; it only needs to go away.
                with contextlib.suppress(Exception):
                    imap.shutdown()


@pytest.fixture(scope="session")
def dovecot() -> Iterator[DovecotServer]:
    # Session scope is per process, so each xdist worker gets its own server and ports.
    if find_dovecot() is None:
        pytest.fail(
            f"Dovecot is not installed; the real-server tests need it. Run: {DOVECOT_INSTALL}"
        )
    server = DovecotServer()
    try:
        server.start()
    except RuntimeError as exc:
        server.stop()
        pytest.fail(
            f"Dovecot did not start ({exc}).\nIf packages are missing, run: {DOVECOT_INSTALL}"
        )
    yield server
    server.stop()


@pytest.fixture
def make_imap_account(dovecot: DovecotServer) -> Iterator[Callable[[], ImapAccount]]:
    """Factory for tests that need several users; all their clients close at teardown."""
    accounts: list[ImapAccount] = []

    def make() -> ImapAccount:
        account = ImapAccount(
            username=f"u{uuid.uuid4().hex[:10]}",
            password=secrets.token_urlsafe(12),
            host=dovecot.host,
            port=dovecot.imap_port,
            tls_port=dovecot.imaps_port,
            ca_file=dovecot.ca_file,
            lmtp_port=dovecot.lmtp_port,
        )
        dovecot.add_user(account.username, account.password)
        accounts.append(account)
        return account

    yield make
    for account in accounts:
        account.close()


@pytest.fixture
def imap_account(make_imap_account: Callable[[], ImapAccount]) -> ImapAccount:
    return make_imap_account()


@pytest.fixture(scope="session")
def pki(tmp_path_factory: pytest.TempPathFactory) -> TestPKI:
    return make_test_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture
def smtp_server(pki: TestPKI) -> Iterator[SmtpServer]:
    with SmtpServer(tls_cert=pki.cert, tls_key=pki.key, users=SMTP_USERS, lmtp=None) as server:
        yield server


@pytest.fixture
def smtp_to_dovecot(pki: TestPKI, dovecot: DovecotServer) -> Iterator[SmtpServer]:
    lmtp = (dovecot.host, dovecot.lmtp_port)
    with SmtpServer(tls_cert=pki.cert, tls_key=pki.key, users=SMTP_USERS, lmtp=lmtp) as server:
        yield server


@pytest.fixture(autouse=True)
def isolated_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep every test away from the real user's config, cache and agent identity."""
    for var, sub in (
        ("XDG_CONFIG_HOME", "config"),
        ("XDG_CACHE_HOME", "cache"),
        ("XDG_DATA_HOME", "data"),
        ("XDG_STATE_HOME", "state"),
    ):
        path = tmp_path / "xdg" / sub
        path.mkdir(parents=True)
        monkeypatch.setenv(var, str(path))
    monkeypatch.delenv("MAILTRIAGE_CONFIG", raising=False)
    monkeypatch.delenv("MAILTRIAGE_AGENT", raising=False)
