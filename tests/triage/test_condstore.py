"""The raw conditional STORE wrapper against Dovecot, and the no-CONDSTORE fallback."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import imapclient
import pytest

from mailtriage.devservers.dovecot import DovecotServer
from mailtriage.imap.condstore import read_flags, uid_store_unchanged_since
from support.mailfactory import make_message
from triage.helpers import (
    actions_for,
    agent_config,
    conversation,
    copy_cache,
    hold_until_both_read,
    only_key,
    sync,
)


def _condstore_client(imap_account) -> imapclient.IMAPClient:  # type: ignore[no-untyped-def]
    client = imap_account.client()
    client.enable("CONDSTORE")
    client.select_folder("INBOX")
    return client


def test_stale_modseq_is_refused_with_modified_and_fresh_one_applies(imap_account) -> None:  # type: ignore[no-untyped-def]
    uids = imap_account.append_many("INBOX", [make_message(), make_message(), make_message()])
    client = _condstore_client(imap_account)
    before = read_flags(client, uids, modseq=True)
    stale = before[uids[0]][1]
    assert stale is not None
    client.add_flags([uids[1]], [b"mt:tag/x"])  # changes uid 2 behind our back
    result = uid_store_unchanged_since(client, uids, stale, ["mt:status/done"], "+FLAGS")
    # One STORE over several UIDs is not atomic: the unchanged ones were applied.
    assert result.modified == {uids[1]}
    assert result.applied(uids[0]) and result.applied(uids[2])
    assert "mt:status/done" in result.fetched[uids[0]][0]
    after = read_flags(client, uids, modseq=True)
    assert "mt:status/done" not in after[uids[1]][0]
    assert after[uids[0]][1] > stale  # type: ignore[operator]
    fresh = after[uids[1]][1]
    ok = uid_store_unchanged_since(client, [uids[1]], fresh, ["mt:assignee/alice"], "FLAGS")  # type: ignore[arg-type]
    assert ok.modified == frozenset()
    # FLAGS replaces everything but \\Recent, which only the server sets.
    assert [f for f in ok.fetched[uids[1]][0] if f != "\\Recent"] == ["mt:assignee/alice"]
    with pytest.raises(ValueError):
        uid_store_unchanged_since(client, uids, 1, ["x"], "REPLACE")


@pytest.fixture(scope="module")
def old_dovecot() -> Iterator[DovecotServer]:
    with DovecotServer(capabilities="IMAP4rev1 IDLE UIDPLUS MOVE SPECIAL-USE LITERAL+") as server:
        yield server


def _old_account(server: DovecotServer, name: str) -> SimpleNamespace:
    account = SimpleNamespace(
        username=name,
        password="pw-" + name,
        host=server.host,
        port=server.imap_port,
        tls_port=server.imaps_port,
        ca_file=server.ca_file,
    )
    server.add_user(account.username, account.password)
    return account


def _raw(account: SimpleNamespace) -> imapclient.IMAPClient:
    client = imapclient.IMAPClient(account.host, port=account.port, ssl=False, timeout=10)
    client.login(account.username, account.password)
    return client


async def test_without_condstore_simultaneous_claims_still_resolve_to_one(
    tmp_path: Path, old_dovecot: DovecotServer
) -> None:
    for n in range(5):
        account = _old_account(old_dovecot, f"old{n}")
        raw = _raw(account)
        try:
            raw.append("INBOX", make_message(message_id=f"<old{n}@example.jp>"))
            alice = agent_config(tmp_path / str(n), account, "alice")
            bob = agent_config(tmp_path / str(n), account, "bob")
            await sync(alice)
            copy_cache(alice, bob)
            key = only_key(alice)
            a, b = actions_for(alice), actions_for(bob)
            hold_until_both_read(a, b)
            try:
                ra, rb = await asyncio.gather(a.claim(key), b.claim(key))
                assert not a.condstore and not b.condstore
            finally:
                await asyncio.gather(a.close(), b.close())
            assert ra.ok != rb.ok, (ra, rb)
            winner, loser = ("alice", rb) if ra.ok else ("bob", ra)
            # Both stores landed; the documented tie-break (smallest name) decides.
            assert winner == "alice"
            assert loser.conflict_with == "alice" and "alice" in loser.message
            await sync(bob)
            assert conversation(bob, key)["assignee"] == "alice"
            raw.select_folder("INBOX", readonly=True)
            (flags,) = raw.get_flags(raw.search("ALL")).values()
            assert b"mt:assignee/bob" not in flags  # the loser withdrew its keyword
        finally:
            raw.logout()
