"""Fault matrix, processes: an agent with two terminals on one cache, and the TUI's own view
of a server that says BYE. Real processes, real Dovecot."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from mailtriage.config import load_config
from mailtriage.devservers.dovecot import DovecotServer
from mailtriage.tui.app import make_app
from mailtriage.tui.conversation_list import ConversationList
from support.configs import write_config, write_config_via_proxy
from support.mailfactory import make_message
from support.pilot import wait_until
from sync.conftest import new_account
from sync.proxy import FaultProxy

pytestmark = pytest.mark.server

MAILTRIAGE = [sys.executable, "-m", "mailtriage"]


def test_two_processes_on_one_cache_while_mail_arrives(tmp_path: Path, imap_account) -> None:  # type: ignore[no-untyped-def]
    """`sync --watch` in one terminal; claim, note, ls and a one-shot sync in the other, all
    at once, while the customer writes: nobody sees 'database is locked', nothing is lost."""
    total = 600
    imap_account.append_many(
        "INBOX",
        [
            make_message(message_id=f"<t{i}@x.jp>", subject=f"件 {i}", minutes=i)
            for i in range(total)
        ],
    )
    path = write_config(tmp_path, imap_account)
    cache = load_config(path).accounts["support"].cache_path
    env = dict(os.environ, MAILTRIAGE_CONFIG=str(path))
    watch = subprocess.Popen(
        [*MAILTRIAGE, "sync", "--watch"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert watch.stdout is not None
        assert f"support: {total} new" in watch.stdout.readline()
        listed = subprocess.run(
            [*MAILTRIAGE, "ls", "--json"], env=env, capture_output=True, text=True, timeout=60
        )
        assert listed.returncode == 0, listed.stderr
        keys = [item["id"] for item in json.loads(listed.stdout)][:6]
        assert len(keys) == 6
        # The other terminal, all at once: actions write the same cache the watch leads.
        others = [
            subprocess.Popen(
                [*MAILTRIAGE, *args],
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for args in (
                ["claim", keys[0]],
                ["note", keys[1], "電話で確認済み"],
                ["status", keys[2], "done"],
                ["sync"],
                ["ls", "--json"],
                ["search", "件"],
            )
        ]
        for i in range(20):  # the customer keeps writing meanwhile
            imap_account.append("INBOX", make_message(message_id=f"<n{i}@x.jp>", minutes=700 + i))
        for proc in others:
            _, err = proc.communicate(timeout=60)
            assert proc.returncode == 0, (proc.args, err)
            assert "locked" not in err and "Traceback" not in err, err
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            with sqlite3.connect(cache) as db:
                (count,) = db.execute("SELECT COUNT(*) FROM messages").fetchone()
            if count == total + 20:
                break
            time.sleep(0.1)
    finally:
        watch.send_signal(signal.SIGINT)
        _, err = watch.communicate(timeout=15)
    assert watch.returncode == 130, err  # SIGINT: "interrupted; the cache is consistent"
    assert "Traceback" not in err and "locked" not in err, err
    with sqlite3.connect(cache) as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        (count,) = db.execute("SELECT COUNT(*) FROM messages").fetchone()
        (distinct,) = db.execute("SELECT COUNT(DISTINCT uid) FROM messages").fetchone()
    assert count == distinct == total + 20
    shown = subprocess.run(
        [*MAILTRIAGE, "show", keys[0], "--json"], env=env, capture_output=True, text=True
    )
    assert shown.returncode == 0, shown.stderr
    assert json.loads(shown.stdout)["assignee"] == "alice"


async def test_tui_says_bye_in_one_line_and_comes_back(
    tmp_path: Path, dovecot: DovecotServer
) -> None:
    imap = new_account(dovecot)
    imap.append("INBOX", make_message(message_id="<c0@x.jp>"))
    with FaultProxy(dovecot.imap_port) as proxy:
        path = write_config_via_proxy(tmp_path, imap, proxy)
        config = load_config(path)
        app = make_app(config)
        async with app.run_test(size=(120, 35)) as pilot:
            conversations = app.main.query_one(ConversationList)
            await wait_until(pilot, lambda: len(conversations.keys) == 1, timeout=10)
            await wait_until(pilot, lambda: "IDLE" in app.sync_state)
            proxy.inject_bye()
            await wait_until(pilot, lambda: "offline" in app.sync_state)
            assert "BYE" in app.sync_state and "\n" not in app.sync_state
            status = str(app.main.query_one("#status").render())
            assert "offline" in status
            await wait_until(pilot, lambda: "IDLE" in app.sync_state, timeout=10)
            imap.append("INBOX", make_message(message_id="<c1@x.jp>", subject="戻った"))
            await wait_until(pilot, lambda: len(conversations.keys) == 2, timeout=10)
