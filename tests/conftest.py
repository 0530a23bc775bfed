"""Shared fixtures: a real Dovecot per test session (per xdist worker), accounts, SMTP servers."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from mailtriage.devservers.dovecot import DovecotServer, find_dovecot
from mailtriage.devservers.pki import TestPKI, make_test_pki
from mailtriage.devservers.smtp import SmtpServer
from support.imap_account import ImapAccount

DOVECOT_INSTALL = "sudo apt-get update && sudo apt-get install -y dovecot-imapd dovecot-lmtpd"
SMTP_USERS = {"agent": "agentpw"}


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
