"""`mailtriage demo`: a real local IMAP server, a seeded bilingual mailbox, the real sync path.

Nothing to configure and nothing left behind: the server, its mail and the cache live in temp
dirs that are removed on exit.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import ssl
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from mailtriage.config import Config, load_config
from mailtriage.devservers.dovecot import DovecotServer, find_dovecot
from mailtriage.devservers.embedded import EmbeddedImapServer, pymap_available

DEMO_USER = "support"
DEMO_PASSWORD = "demo"
DEMO_ADDRESS = "support@example.co.jp"


class DemoUnavailable(Exception):
    pass


@dataclass
class DemoServer:
    description: str
    host: str
    port: int
    security: str
    ca_file: Path
    sent_folder: str | None
    smtp_port: int | None = None  # a local SMTP server that accepts replies (nothing leaves)


@contextlib.contextmanager
def demo_smtp(pki_dir: Path) -> Iterator[int | None]:
    """aiosmtpd on loopback with STARTTLS + AUTH: replies take the real send path and land in
    Sent; nothing is delivered anywhere else. None when aiosmtpd is not installed."""
    try:
        from mailtriage.devservers.smtp import SmtpServer
    except ImportError:
        yield None
        return
    server = SmtpServer(
        tls_cert=pki_dir / "server.pem",
        tls_key=pki_dir / "server.key",
        users={DEMO_USER: DEMO_PASSWORD},
    )
    server.start()
    try:
        yield server.port
    finally:
        server.stop()


@contextlib.contextmanager
def demo_server(choice: str = "auto") -> Iterator[DemoServer]:
    """Dovecot when installed; the embedded pymap server otherwise (or when asked)."""
    if choice in ("auto", "dovecot") and find_dovecot():
        dovecot = DovecotServer()
        try:
            dovecot.start()
            dovecot.add_user(DEMO_USER, DEMO_PASSWORD)
            with demo_smtp(dovecot.ca_file.parent) as smtp_port:
                yield DemoServer(
                    f"Dovecot on {dovecot.host}:{dovecot.imaps_port} (TLS)",
                    dovecot.host,
                    dovecot.imaps_port,
                    "tls",
                    dovecot.ca_file,
                    None,
                    smtp_port,
                )
        finally:
            dovecot.stop()
        return
    if choice == "dovecot":
        raise DemoUnavailable("Dovecot is not installed: sudo apt-get install -y dovecot-imapd")
    if not pymap_available():
        raise DemoUnavailable(
            "neither Dovecot nor the embedded server is available: run "
            "`sudo apt-get install -y dovecot-imapd`, or `pip install pymap`"
        )
    embedded = EmbeddedImapServer(DEMO_USER, DEMO_PASSWORD)
    try:
        embedded.start()
        assert embedded.root is not None
        with demo_smtp(embedded.root) as smtp_port:
            yield DemoServer(
                f"embedded pure-Python IMAP server (pymap) on {embedded.host}:{embedded.port}"
                + (" as asked" if choice == "embedded" else ", because Dovecot is not installed")
                + " (reduced: no CONDSTORE/IDLE push guarantees)",
                embedded.host,
                embedded.port,
                "starttls",
                embedded.ca_file,
                "Sent",
                smtp_port,
            )
    finally:
        embedded.stop()


def kb_dir() -> Path:
    """The shipped example knowledge base (kb/ in a checkout, _data/kb when installed)."""
    from mailtriage.resources import data_dir

    return data_dir("kb")


def write_demo_config(directory: Path, server: DemoServer) -> Path:
    sent = f'sent_folder = "{server.sent_folder}"\n' if server.sent_folder else ""
    smtp = (
        f"""
[accounts.demo.smtp]
host = "{server.host}"
port = {server.smtp_port}
security = "starttls"
username = "{DEMO_USER}"
password_command = "echo {DEMO_PASSWORD}"
ca_file = "{server.ca_file}"
"""
        if server.smtp_port
        else ""
    )
    path = directory / "config.toml"
    path.write_text(
        f"""# Written by `mailtriage demo`; removed when the demo exits.
[agent]
name = "alice"

[team]
members = ["alice", "bob", "carol"]
supervisors = ["carol"]

[departments.billing]
label = "経理部"
address = "billing@example.co.jp"
members = ["carol"]

[departments.dev]
label = "開発チーム"
members = ["bob"]

[accounts.demo]
address = "{DEMO_ADDRESS}"
cache_dir = "{directory / "cache"}"
{sent}
[kb]
path = "{kb_dir()}"

[accounts.demo.imap]
host = "{server.host}"
port = {server.port}
security = "{server.security}"
username = "{DEMO_USER}"
password_command = "echo {DEMO_PASSWORD}"
ca_file = "{server.ca_file}"
{smtp}""",
        encoding="utf-8",
    )
    path.chmod(0o600)
    return path


def seed(server: DemoServer, conversations: int) -> int:
    import imapclient

    from mailtriage.demo.corpus import build_demo_corpus
    from mailtriage.demo.seed import seed_mailbox

    context = ssl.create_default_context(cafile=str(server.ca_file))
    tls = server.security == "tls"
    with imapclient.IMAPClient(
        server.host, server.port, ssl=tls, ssl_context=context if tls else None, timeout=30
    ) as client:
        if not tls:
            client.starttls(context)
        client.login(DEMO_USER, DEMO_PASSWORD)
        return seed_mailbox(client, build_demo_corpus(conversations=conversations))


def run_demo(
    *,
    conversations: int = 240,
    print_only: bool = False,
    server_choice: str = "auto",
    open_app: Callable[[Config], int] | None = None,
) -> int:
    from mailtriage.sync_cli import run_sync

    workdir = Path(tempfile.mkdtemp(prefix="mailtriage-demo-"))
    try:
        with demo_server(server_choice) as server:
            started = time.perf_counter()
            seeded = seed(server, conversations)
            print(
                f"demo: {server.description}; {seeded} messages seeded in "
                f"{time.perf_counter() - started:.1f} s",
                file=sys.stderr,
            )
            config_path = write_demo_config(workdir, server)
            os.environ["MAILTRIAGE_CONFIG"] = str(config_path)
            config = load_config(config_path)
            status = run_sync(config, list(config.accounts), as_json=False, quiet=False)
            if status:
                return status
            if open_app is not None and not print_only:
                return open_app(config)
            return print_unhandled(config)
    except DemoUnavailable as exc:
        print(f"mailtriage demo: {exc}", file=sys.stderr)
        return 1
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def print_unhandled(config: Config) -> int:
    from mailtriage.render_text import print_conversation_table
    from mailtriage.store import Store

    account = config.accounts["demo"]
    store = Store(account.cache_path, readonly=True)
    try:
        items = store.list_conversations("unhandled", agent=config.agent)
        counts = {
            view: store.count_conversations(view, agent=config.agent)
            for view in ("all", "unhandled", "in-progress", "done", "mine", "urgent")
        }
    finally:
        store.close()
    print_conversation_table(items)
    print("demo: " + ", ".join(f"{v} {n}" for v, n in counts.items()), file=sys.stderr)
    return 0
