"""Other agents' presence, notes and events within a second: IDLE on the app folder.

One IMAP connection IDLEs on one mailbox, and the sync loop's is INBOX: it would read the app
folder only at its next wake-up, so "bob is viewing" could lag by minutes. This loop keeps a
third connection IDLE on the app folder and folds each change into the cache at once; the app
sees it through PRAGMA data_version like any other change. One loop per cache (an flock of its
own beside the sync leader's), so an agent's second terminal does not open another connection.
Quiet by design: the sync loop already tells the user when the server is unreachable.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import threading
from concurrent.futures import ThreadPoolExecutor

import imapclient

from mailtriage.config import AccountConfig
from mailtriage.errors import MailtriageError
from mailtriage.imap.appfolder import leave_selected, sync_app_folder
from mailtriage.imap.leader import SyncLeader
from mailtriage.imap.session import AccountSession
from mailtriage.store import CacheError

log = logging.getLogger(__name__)

IDLE_REFRESH = 9 * 60.0  # well inside RFC 2177's 30 minutes, as the sync loop does
MISSING_FOLDER_POLL = 1.0  # the folder appears with the team's first note or presence
BACKOFF_FIRST = 1.0
BACKOFF_MAX = 300.0
FOLLOWER_RETRY = 5.0


def team_lock(account: AccountConfig) -> SyncLeader:
    path = account.cache_path
    return SyncLeader(path.with_name(path.name + ".team"), "team watch")


def run_team_watch(
    account: AccountConfig,
    password: str,
    stop: threading.Event,
    *,
    idle_refresh: float = IDLE_REFRESH,
) -> None:
    """Until `stop` is set: read the app folder, IDLE on it, read again on every change."""
    leader = team_lock(account)
    session = AccountSession(account, password)
    backoff = BACKOFF_FIRST
    try:
        while not stop.is_set():
            if not leader.try_acquire():
                stop.wait(FOLLOWER_RETRY)  # another process on this cache does it for us
                continue
            try:
                client, store = session.connected()
                if not client.has_capability("IDLE"):
                    return  # the sync loop's polling reads the app folder on every pass
                sync_app_folder(client, store, account.app_folder)
                try:
                    client.select_folder(account.app_folder, readonly=True)
                except imapclient.exceptions.IMAPClientError:
                    if client.folder_exists(account.app_folder):
                        raise
                    stop.wait(MISSING_FOLDER_POLL)
                    continue
                # The app folder's own UIDs: its flag changes must never land on INBOX rows.
                session.idle(idle_refresh, stop, folder=account.app_folder)
                leave_selected(client)
                backoff = BACKOFF_FIRST
                continue
            except (MailtriageError, OSError, imapclient.exceptions.IMAPClientError) as exc:
                session.drop_client()
                log.info("team watch of %s: %s; retrying in %g s", account.name, exc, backoff)
            except (sqlite3.Error, CacheError) as exc:
                log.warning("team watch of %s: cache: %s", account.name, exc)
            stop.wait(backoff)
            backoff = min(backoff * 2, BACKOFF_MAX)
    finally:
        session.close()
        leader.release()


async def watch_team(account: AccountConfig, password: str) -> None:
    """run_team_watch on a thread of its own until cancelled (then stops within ~1 s)."""
    stop = threading.Event()
    executor = ThreadPoolExecutor(1, thread_name_prefix=f"team-{account.name}")
    future = asyncio.get_running_loop().run_in_executor(
        executor, run_team_watch, account, password, stop
    )
    try:
        await asyncio.shield(future)
    finally:
        stop.set()
        await asyncio.wait([future])
        executor.shutdown(wait=False)
