"""Fill a cache straight from the demo corpus, without a server: fast, deterministic TUI tests.

Rows are built by the sync engine's own build_row from what a FETCH would have returned, so
the cache looks exactly as after a real sync.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from mailtriage.config import Config, parse_config
from mailtriage.demo.corpus import build_demo_corpus
from mailtriage.imap.commands import Fetched
from mailtriage.imap.sync import row_from_parsed
from mailtriage.mime import parse_message
from mailtriage.store import Store

FIXED_NOW = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


def demo_config(directory: Path, agent: str = "alice") -> Config:
    return parse_config(
        {
            "agent": {"name": agent},
            "team": {"members": ["alice", "bob", "carol"], "supervisors": ["carol"]},
            "accounts": {
                "demo": {
                    "address": "support@example.co.jp",
                    "cache_dir": str(directory / "cache"),
                    "imap": {
                        "host": "127.0.0.1",
                        "port": 1,
                        "username": "support",
                        "password_command": "echo demo",
                        # tls: never contacted (no sync in these tests), and a plaintext
                        # account would put its start-up warning into every snapshot.
                        "security": "tls",
                    },
                }
            },
        }
    )


def fill_cache(config: Config, *, conversations: int = 60, seed: int = 7) -> int:
    account = config.accounts["demo"]
    corpus = build_demo_corpus(now=FIXED_NOW, conversations=conversations, seed=seed)
    store = Store(account.cache_path)
    store.set_own_reply_rule(config.accounts["demo"].own_reply_moves_to_in_progress)
    rows = []
    for uid, message in enumerate(corpus, start=1):
        role = "sent" if message.mailbox == "Sent" else "inbox"
        fetched = Fetched(
            uid=uid,
            flags=list(message.flags),
            internaldate=None,
            size=len(message.raw),
            modseq=None,
            literal=message.raw,
        )
        rows.append(
            row_from_parsed(
                account,
                message.mailbox,
                role,
                1,
                fetched,
                parse_message(message.raw),
                raw=message.raw,
            )
        )
    with store.atomic():
        store.insert_messages(rows)
    store.close()
    return len(rows)
