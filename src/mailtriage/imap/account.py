"""Async face of one account: one IMAP connection owned by one thread (imapclient is blocking
and not thread-safe), with the cache writer on that same thread."""

from __future__ import annotations

import asyncio
import contextlib
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import imapclient

from mailtriage.config import AccountConfig
from mailtriage.errors import NetworkError
from mailtriage.imap.connection import connect
from mailtriage.imap.sync import Progress, SyncReport, sync_account
from mailtriage.store import Store


class AccountSync:
    def __init__(self, account: AccountConfig, password: str):
        self.account = account
        self._password = password
        self._executor = ThreadPoolExecutor(1, thread_name_prefix=f"imap-{account.name}")
        self._client: imapclient.IMAPClient | None = None
        self._store: Store | None = None

    async def _call(self, fn: Any, *args: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(self._executor, fn, *args)

    async def sync(self, progress: Progress | None = None) -> SyncReport:
        return await self._call(self._sync, progress)

    async def close(self) -> None:
        await self._call(self._close)
        self._executor.shutdown(wait=True)

    def _sync(self, progress: Progress | None) -> SyncReport:
        if self._store is None:
            self._store = Store(self.account.cache_path)
        if self._client is None:
            self._client = connect(self.account.imap, self._password)
        try:
            return sync_account(self._client, self._store, self.account, progress)
        except (OSError, imapclient.exceptions.IMAPClientError) as exc:
            # The connection is unusable after a mid-command failure: drop it, keep the cache.
            self._drop_client()
            server = self.account.imap
            raise NetworkError(
                f"IMAP {server.host}:{server.port}: connection lost during sync ({exc});"
                " what was fetched is kept, the next sync resumes"
            ) from exc

    def _drop_client(self) -> None:
        if self._client is not None:
            with contextlib.suppress(OSError):
                self._client.shutdown()
            self._client = None

    def _close(self) -> None:
        if self._client is not None:
            with contextlib.suppress(OSError, imapclient.exceptions.IMAPClientError):
                self._client.logout()
            self._drop_client()
        if self._store is not None:
            self._store.close()
            self._store = None
