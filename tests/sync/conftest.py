"""Helpers for the sync tests: configs through a FaultProxy, a reduced-capability Dovecot."""

from __future__ import annotations

import dataclasses
import secrets
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from mailtriage.config import AccountConfig, load_config
from mailtriage.devservers.dovecot import DovecotServer
from support.configs import write_config, write_config_via_proxy
from support.imap_account import ImapAccount
from sync.proxy import FaultProxy

# What Dovecot offers minus CONDSTORE and QRESYNC (the fallback server).
NO_CONDSTORE = (
    "IMAP4rev1 LITERAL+ SASL-IR LOGIN-REFERRALS ID ENABLE IDLE SORT SORT=DISPLAY"
    " THREAD=REFERENCES THREAD=REFS THREAD=ORDEREDSUBJECT MULTIAPPEND URL-PARTIAL CATENATE"
    " UNSELECT CHILDREN NAMESPACE UIDPLUS LIST-EXTENDED I18NLEVEL=1 ESEARCH ESORT SEARCHRES"
    " WITHIN CONTEXT=SEARCH LIST-STATUS BINARY MOVE SNIPPET=FUZZY PREVIEW=FUZZY SPECIAL-USE"
)
NO_IDLE = NO_CONDSTORE.replace(" IDLE", "")
# CONDSTORE without QRESYNC: a selected mailbox's expunges arrive as `* n EXPUNGE` (by
# message number), never VANISHED, and the server sends no [HIGHESTMODSEQ] after SELECT.
CONDSTORE_ONLY = NO_CONDSTORE + " CONDSTORE"


def new_account(server: DovecotServer) -> ImapAccount:
    account = ImapAccount(
        username=f"u{uuid.uuid4().hex[:10]}",
        password=secrets.token_urlsafe(12),
        host=server.host,
        port=server.imap_port,
        tls_port=server.imaps_port,
        ca_file=server.ca_file,
        lmtp_port=server.lmtp_port,
    )
    server.add_user(account.username, account.password)
    return account


def account_config(directory: Path, imap: ImapAccount, **kwargs: object) -> AccountConfig:
    """The "support" account; port= and security= pick a path (e.g. through a proxy)."""
    config = load_config(write_config(directory, imap, **kwargs))  # type: ignore[arg-type]
    return config.accounts["support"]


def via_proxy(directory: Path, imap: ImapAccount, proxy: FaultProxy, **kw: object) -> AccountConfig:
    return load_config(write_config_via_proxy(directory, imap, proxy, **kw)).accounts["support"]


def with_poll(account: AccountConfig, seconds: float) -> AccountConfig:
    return dataclasses.replace(account, poll_interval=seconds)


def running(capabilities: str | None = None) -> Iterator[DovecotServer]:
    """A Dovecot of its own (offering only `capabilities`, when given), for a fixture."""
    server = DovecotServer(capabilities=capabilities)
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def reduced_dovecot() -> Iterator[DovecotServer]:
    yield from running(NO_CONDSTORE)


@pytest.fixture(scope="session")
def no_idle_dovecot() -> Iterator[DovecotServer]:
    yield from running(NO_IDLE)


@pytest.fixture(scope="session")
def condstore_only_dovecot() -> Iterator[DovecotServer]:
    yield from running(CONDSTORE_ONLY)


@pytest.fixture
def own_dovecot() -> Iterator[DovecotServer]:
    """A private server for destructive tests (restart, stop): the session one is shared."""
    yield from running()
