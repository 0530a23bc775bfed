"""Two agents, separate configs and caches, one shared Dovecot mailbox."""

from __future__ import annotations

import shutil
import threading
from pathlib import Path
from typing import Any

from mailtriage.config import Config, load_config
from mailtriage.imap.account import AccountSync
from mailtriage.imap.actions import AccountActions
from mailtriage.store import Store
from support.configs import write_config


def agent_config(base: Path, imap_account, agent: str, **kwargs: Any) -> Config:  # type: ignore[no-untyped-def]
    directory = base / agent
    directory.mkdir(parents=True, exist_ok=True)
    return load_config(write_config(directory, imap_account, agent=agent, **kwargs))


def copy_cache(source: Config, target: Config) -> None:
    """A second agent's cache without a second sync (a closed WAL cache is one file)."""
    src = source.accounts["support"].cache_path
    dst = target.accounts["support"].cache_path
    dst.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(src, dst)
    dst.chmod(0o600)


def anchor_assignees(imap_account) -> list[str]:  # type: ignore[no-untyped-def]
    """Assignee keywords on the single message of a one-message INBOX, read raw."""
    imap = imap_account._append_client()  # the account's helper connection, already open
    imap.select_folder("INBOX", readonly=True)
    (flags,) = imap.get_flags(imap.search("ALL")).values()
    return sorted(f.decode()[len("mt:assignee/") :] for f in flags if f.startswith(b"mt:assignee/"))


async def sync(config: Config) -> None:
    account = config.accounts["support"]
    syncer = AccountSync(account, account.imap.resolve_password())
    try:
        await syncer.sync()
    finally:
        await syncer.close()


def actions_for(config: Config) -> AccountActions:
    account = config.accounts["support"]
    return AccountActions(account, account.imap.resolve_password(), config.agent)


def conversation(config: Config, key: str) -> dict:
    store = Store(config.accounts["support"].cache_path, readonly=True)
    try:
        found = store.get_conversation(key)
    finally:
        store.close()
    assert found is not None
    return found


def only_key(config: Config) -> str:
    store = Store(config.accounts["support"].cache_path, readonly=True)
    try:
        (item,) = store.list_conversations("all")
    finally:
        store.close()
    return item["key"]


def hold_until_both_read(*actions: AccountActions) -> None:
    """Both racers read the anchor (same modseq) before either stores: a real race, not a
    start-up jitter lottery (TESTING-NOTES.md)."""
    barrier = threading.Barrier(len(actions), timeout=10)
    for a in actions:
        fired = threading.Event()

        def once(fired: threading.Event = fired) -> None:
            if not fired.is_set():
                fired.set()
                barrier.wait()

        a.before_store = once
