"""Async face of one account, for the TUI and `sync --watch`.

Two blocking sessions, each owned by its own thread (imapclient is blocking and not
thread-safe; an SQLite connection belongs to its thread):
- the sync session: `sync()` and the long-running `watch()`, which IDLEs on INBOX;
- the body session: `fetch_body()`. A second connection, because a body the user opens must
  not wait for IDLE to be interrupted (DONE, re-SELECT, re-IDLE) or, worse, behind a running
  sync batch of up to 2,000 messages; on loopback it answers in a few milliseconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from mailtriage.config import AccountConfig
from mailtriage.errors import MailtriageError
from mailtriage.imap.large import LARGE_MESSAGE
from mailtriage.imap.session import AccountSession
from mailtriage.imap.sync import Progress, SyncReport
from mailtriage.imap.watch import SyncEvent, run_watch

__all__ = ["AccountSync", "SyncEvent"]

# An opened message above PREVIEW_ABOVE bytes (RFC822.SIZE) shows its first PREVIEW_BYTES
# while the whole of it is fetched, parsed and stored (fetch_body): at 1 MB that took
# ~150 ms, at 5 MB ~0.6 s (the parse and the search index's trigger), its beginning a few
# ms. Below it the whole body is stored within the 100 ms an open may take.
PREVIEW_ABOVE = 256 * 1024
PREVIEW_BYTES = 64 * 1024


class AccountSync:
    def __init__(self, account: AccountConfig, password: str):
        self.account = account
        self._password = password
        self._executor = ThreadPoolExecutor(1, thread_name_prefix=f"imap-{account.name}")
        self._body_executor = ThreadPoolExecutor(1, thread_name_prefix=f"body-{account.name}")
        self._session = AccountSession(account, password)
        self._bodies = AccountSession(account, password)

    async def _call(self, executor: ThreadPoolExecutor, fn: Any, *args: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(executor, fn, *args)

    async def sync(self, progress: Progress | None = None) -> SyncReport:
        """One sync of INBOX and Sent (raises MailtriageError subclasses on trouble).

        Shares the sync thread with watch(): while watch() runs, a sync() waits for it to
        end, so an app that watches needs no sync() of its own.
        """
        return await self._call(self._executor, self._session.sync, progress)

    async def watch(self, on_event: Callable[[SyncEvent], None]) -> None:
        """Sync, then keep the cache current (IDLE/poll) until cancelled.

        Never raises for network or cache trouble: each becomes a SyncEvent and a retry with
        backoff. on_event runs on the worker thread; keep it cheap (the TUI wraps it with
        app.call_from_thread). Only one process leads the sync of a cache; the others report
        who leads and take over when it stops.
        """
        stop = threading.Event()
        # Its own session: watch() drops and re-opens connections as it recovers.
        future = asyncio.get_running_loop().run_in_executor(
            self._executor, run_watch, self.account, self._password, on_event, stop
        )
        try:
            await asyncio.shield(future)
        finally:
            stop.set()
            # Let the loop notice (≤ 1 s) and close its connection and leader lock.
            await asyncio.wait([future])

    async def warm_bodies(self) -> None:
        """Open the body connection and make INBOX's first body fetch cheap now (see
        AccountSession.warm_bodies). Quiet on trouble: the watch reports the server's state,
        and the first fetch_body() says what went wrong where the text would be."""
        with contextlib.suppress(MailtriageError):
            await self._call(self._body_executor, self._bodies.warm_bodies)

    async def fetch_body(
        self, message_rowid: int, on_preview: Callable[[str, int], None] | None = None
    ) -> None:
        """Fetch and store the body of one cached message now, if it is still missing.

        on_preview, when given, is called (on the body thread) with the text of the first
        PREVIEW_BYTES of a message above PREVIEW_ABOVE, and the message's size, before the
        whole of it is fetched:
        parsing and indexing 5 MB took 0.6 s, its first screens a few milliseconds.

        Raises MailtriageError (NetworkError, AuthError, …) when the server cannot be reached,
        so the caller can say so where the text would be.
        """
        await self._call(self._body_executor, self._fetch_body, message_rowid, on_preview)

    def _fetch_body(self, rowid: int, on_preview: Callable[[str, int], None] | None) -> None:
        location = self._bodies.cache().message_location(rowid)
        if location is None or location[3]:
            return
        mailbox, uidvalidity, uid, _, size = location
        where = (rowid, mailbox, uidvalidity, uid)
        # Above LARGE_MESSAGE only the text's first part is fetched anyway (imap.large).
        if on_preview is not None and PREVIEW_ABOVE < size <= LARGE_MESSAGE:
            text = self._bodies.fetch_preview(where, PREVIEW_BYTES)
            if text:
                on_preview(text, size)
        self._bodies.fetch_bodies([where])

    async def save_attachment(
        self, mailbox: str, uid: int, attachment: dict[str, Any], directory: Path
    ) -> Path:
        """Download an attachment of a message too large to cache, streamed to a new file
        in directory; see AccountSession.save_attachment for what it raises."""
        return await self._call(  # type: ignore[no-any-return]
            self._body_executor, self._bodies.save_attachment, mailbox, uid, attachment, directory
        )

    async def close(self) -> None:
        await self._call(self._executor, self._session.close)
        await self._call(self._body_executor, self._bodies.close)
        self._executor.shutdown(wait=True)
        self._body_executor.shutdown(wait=True)
