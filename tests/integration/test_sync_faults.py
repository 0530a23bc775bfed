"""A killed sync loses nothing and duplicates nothing: every batch is one transaction."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from mailtriage.config import load_config
from mailtriage.imap.sync import FETCH_BATCH
from support.configs import write_config
from support.mailfactory import make_message


def test_sigkill_mid_sync_then_resume(tmp_path: Path, imap_account) -> None:  # type: ignore[no-untyped-def]
    total = FETCH_BATCH * 8
    imap_account.append_many(
        "INBOX",
        [
            make_message(subject=f"件名 {i}", message_id=f"<k{i}@example.jp>", minutes=i)
            for i in range(total)
        ],
    )
    config_path = write_config(tmp_path, imap_account)
    cache = load_config(config_path).accounts["support"].cache_path
    env = dict(os.environ, MAILTRIAGE_CONFIG=str(config_path))
    proc = subprocess.Popen(
        [sys.executable, "-m", "mailtriage", "sync", "-q"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 60
    committed = 0
    while time.monotonic() < deadline and proc.poll() is None:
        if cache.exists():
            try:
                with sqlite3.connect(cache, timeout=1) as db:
                    committed = db.execute("SELECT COUNT(*) FROM messages").fetchone()[0]
            except sqlite3.OperationalError:
                committed = 0
        if committed >= FETCH_BATCH:
            break
        time.sleep(0.01)
    assert proc.poll() is None, "sync finished before it could be killed: raise `total`"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    with sqlite3.connect(cache) as db:
        partial = db.execute("SELECT COUNT(*) FROM messages").fetchone()[0]
        # whole batches only: no half-written batch is visible
        assert partial % FETCH_BATCH == 0 and 0 < partial < total
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"

    done = subprocess.run(
        [sys.executable, "-m", "mailtriage", "sync", "-q"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert f"support: {total - partial} new" in done.stdout
    with sqlite3.connect(cache) as db:
        assert db.execute("SELECT COUNT(*) FROM messages").fetchone()[0] == total
        assert db.execute("SELECT COUNT(DISTINCT uid) FROM messages").fetchone()[0] == total
        assert db.execute("SELECT COUNT(*) FROM conversations").fetchone()[0] == total
