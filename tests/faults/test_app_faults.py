"""Fault-matrix cells that had a CLI or watch test but none in the running app (or none at
all): a TLS handshake failure, a certificate for another host, a refused login that comes
right again. Each against a real Dovecot: one line in the app's status, one in the CLI, and
recovery where the fault clears by itself."""

from __future__ import annotations

import json
from pathlib import Path

from mailtriage.config import load_config
from mailtriage.devservers.dovecot import DovecotServer
from mailtriage.devservers.pki import TestPKI
from mailtriage.tui.app import make_app
from mailtriage.tui.conversation_list import ConversationList
from security.helpers import run_cli
from security.test_tls import wrong_name_dovecot, wrong_name_pki  # noqa: F401 (fixtures)
from support.configs import write_config, write_config_via_proxy
from support.mailfactory import make_message
from support.pilot import wait_until
from sync.conftest import new_account
from sync.proxy import FaultProxy


def one_line(text: str) -> str:
    lines = [line for line in text.splitlines() if line.strip()]
    assert len(lines) == 1, text
    return lines[0]


async def test_tls_handshake_failure_one_line_in_cli_and_app_then_fixed(
    tmp_path: Path, imap_account
) -> None:  # type: ignore[no-untyped-def]
    """security = "tls" pointed at the server's plaintext port (a common config slip)."""
    imap_account.append("INBOX", make_message(message_id="<h0@x.jp>"))
    path = write_config(tmp_path, imap_account, port=imap_account.port)
    done = run_cli("--config", str(path), "sync", "-q")
    assert done.returncode == 4, done.stderr
    line = one_line(done.stderr)
    assert f"IMAP 127.0.0.1:{imap_account.port}: TLS handshake failed" in line
    assert "did not answer in TLS" in line and "accounts.support.imap.port" in line

    app = make_app(load_config(path))
    async with app.run_test(size=(120, 35)) as pilot:
        await wait_until(pilot, lambda: "TLS handshake failed" in app.sync_state)
        assert "\n" not in app.sync_state and "did not answer in TLS" in app.sync_state

    # Fixed in the config: the next sync fetches the mail, once.
    path = write_config(tmp_path, imap_account)
    done = run_cli("--config", str(path), "sync", "-q")
    assert done.returncode == 0, done.stderr
    done = run_cli("--config", str(path), "ls", "--json")
    assert len(json.loads(done.stdout)) == 1


async def test_certificate_for_another_host_in_the_app(
    tmp_path: Path,
    wrong_name_dovecot: DovecotServer,  # noqa: F811
    wrong_name_pki: TestPKI,  # noqa: F811
) -> None:
    imap = new_account(wrong_name_dovecot)
    path = write_config(tmp_path, imap, ca_file=wrong_name_pki.ca_cert)
    app = make_app(load_config(path))
    async with app.run_test(size=(120, 35)) as pilot:
        await wait_until(pilot, lambda: "certificate is for another host" in app.sync_state)
        assert "\n" not in app.sync_state
        assert "accounts.support.imap.host" in app.sync_state
    done = run_cli("--config", str(path), "sync", "-q")
    assert done.returncode == 4
    assert "certificate is for another host" in one_line(done.stderr)


async def test_app_says_a_refused_login_in_one_line_and_recovers(
    tmp_path: Path, dovecot: DovecotServer
) -> None:
    """The agent's password changed on the server while the app ran, then came back."""
    imap = new_account(dovecot)
    imap.append("INBOX", make_message(message_id="<p0@x.jp>"))
    with FaultProxy(dovecot.imap_port) as proxy:
        path = write_config_via_proxy(tmp_path, imap, proxy)
        app = make_app(load_config(path))
        async with app.run_test(size=(120, 35)) as pilot:
            conversations = app.main.query_one(ConversationList)
            await wait_until(pilot, lambda: len(conversations.keys) == 1)
            await wait_until(pilot, lambda: "IDLE" in app.sync_state)
            dovecot.add_user(imap.username, "a-new-password")
            proxy.drop_all()
            await wait_until(pilot, lambda: "refused" in app.sync_state)
            assert "\n" not in app.sync_state and "retrying in" in app.sync_state
            assert f"login as '{imap.username}' refused" in app.sync_state
            assert len(conversations.keys) == 1  # the cache still serves the list
            dovecot.add_user(imap.username, imap.password)
            await wait_until(pilot, lambda: "IDLE" in app.sync_state, timeout=20)
            imap.append("INBOX", make_message(message_id="<p1@x.jp>", subject="戻りました"))
            await wait_until(pilot, lambda: len(conversations.keys) == 2)


async def test_presence_sweep_right_after_opening_a_conversation(build_app) -> None:  # type: ignore[no-untyped-def]
    """The presence sweep refreshes the top screen, which may be pushed but not composed yet:
    that raised NoMatches '#reader-title' (seen once in the 10,000-recipient test under
    load; ReaderScreen.data_changed now waits for its widgets)."""
    from mailtriage.tui.reader import ReaderScreen

    app = build_app()
    async with app.run_test(size=(120, 35)) as pilot:
        key = app.main.query_one(ConversationList).current_key
        app.push_screen(ReaderScreen(key))
        app._presence_seen = object()  # someone's presence changed since the last look
        app.sweep_presence()  # before the reader's on_mount: must not touch its widgets
        await pilot.pause()
        assert isinstance(app.screen, ReaderScreen) and app.screen.conversation is not None
