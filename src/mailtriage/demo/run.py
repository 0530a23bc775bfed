"""`mailtriage demo`: a real local IMAP server, a seeded bilingual mailbox, the real sync path.

Nothing to configure and nothing left behind: the server, its mail and the cache live in one
temp dir that is removed on exit.
"""

from __future__ import annotations

import os
import shutil
import ssl
import sys
import tempfile
import time
from pathlib import Path

from mailtriage.config import Config, load_config
from mailtriage.devservers.dovecot import DovecotServer, find_dovecot

DEMO_USER = "support"
DEMO_PASSWORD = "demo"
DEMO_ADDRESS = "support@example.co.jp"


def write_demo_config(directory: Path, server: DovecotServer) -> Path:
    path = directory / "config.toml"
    path.write_text(
        f"""# Written by `mailtriage demo`; removed when the demo exits.
[agent]
name = "alice"

[team]
members = ["alice", "bob", "carol"]
supervisors = ["carol"]

[accounts.demo]
address = "{DEMO_ADDRESS}"
cache_dir = "{directory / "cache"}"

[accounts.demo.imap]
host = "{server.host}"
port = {server.imaps_port}
security = "tls"
username = "{DEMO_USER}"
password_command = "echo {DEMO_PASSWORD}"
ca_file = "{server.ca_file}"
""",
        encoding="utf-8",
    )
    path.chmod(0o600)
    return path


def run_demo(*, conversations: int = 240, print_only: bool = False) -> int:
    import imapclient
    from mailtriage.demo.corpus import build_demo_corpus

    from mailtriage.demo.seed import seed_mailbox
    from mailtriage.sync_cli import run_sync

    if find_dovecot() is None:
        print(
            "mailtriage demo: Dovecot is not installed and could not be installed here; run "
            "`sudo apt-get install -y dovecot-imapd` (the embedded fallback server is not "
            "available yet)",
            file=sys.stderr,
        )
        return 1
    workdir = Path(tempfile.mkdtemp(prefix="mailtriage-demo-"))
    server = DovecotServer()
    try:
        started = time.perf_counter()
        server.start()
        server.add_user(DEMO_USER, DEMO_PASSWORD)
        corpus = build_demo_corpus(conversations=conversations)
        context = ssl.create_default_context(cafile=str(server.ca_file))
        with imapclient.IMAPClient(server.host, server.imaps_port, ssl_context=context) as client:
            client.login(DEMO_USER, DEMO_PASSWORD)
            seeded = seed_mailbox(client, corpus)
        print(
            f"demo: Dovecot on {server.host}:{server.imaps_port} (TLS), {seeded} messages seeded"
            f" in {time.perf_counter() - started:.1f} s",
            file=sys.stderr,
        )
        config_path = write_demo_config(workdir, server)
        os.environ["MAILTRIAGE_CONFIG"] = str(config_path)
        config = load_config(config_path)
        status = run_sync(config, list(config.accounts), as_json=False, quiet=False)
        if status:
            return status
        return _show(config, print_only)
    finally:
        server.stop()
        shutil.rmtree(workdir, ignore_errors=True)


def _show(config: Config, print_only: bool) -> int:
    from mailtriage.render_text import print_conversation_table
    from mailtriage.store import Store

    account = config.accounts["demo"]
    store = Store(account.cache_path, readonly=True)
    try:
        items = store.list_conversations("unhandled", agent=config.agent)
        counts = {
            v: store.count_conversations(v, agent=config.agent)
            for v in ("unhandled", "in-progress", "done", "mine", "urgent")
        }
    finally:
        store.close()
    print_conversation_table(items)
    print(
        "demo: "
        + ", ".join(f"{v} {n}" for v, n in counts.items())
        + " (the TUI arrives with the 'triage TUI' issue; this is `mailtriage ls`)",
        file=sys.stderr,
    )
    return 0
