"""One account's IMAP connection and cache writer, blocking, owned by one thread.

imapclient is blocking and not thread-safe, and an SQLite connection belongs to its thread, so
every method here runs on the thread that made the session. `AccountSync` (imap.account) puts
this behind async methods; the one-shot CLI drives it from plain threads, which keeps asyncio
out of a no-change `mailtriage sync`.
"""

from __future__ import annotations

import contextlib
import select
import sqlite3
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import imapclient

from mailtriage.config import AccountConfig
from mailtriage.errors import MailtriageError, NetworkError
from mailtriage.imap.bodies import (
    PREFETCH_LIMIT,
    BodiesAhead,
    Location,
    fetch_bodies,
    fetch_preview,
    prefetch,
)
from mailtriage.imap.commands import examine_uidvalidity, uid_fetch_records
from mailtriage.imap.connection import connect
from mailtriage.imap.large import DownloadWriteError
from mailtriage.imap.reported import CHANGE_KEYS, Reported
from mailtriage.imap.sync import (
    Capabilities,
    FolderReport,
    FolderSync,
    Progress,
    SyncReport,
    cache_is_whole,
    enable_extensions,
    find_folders,
    sync_account,
)
from mailtriage.store import Store

# A readable socket that yields no complete line this many times in a row has hit EOF:
# imapclient's idle_check() swallows EOF and returns [] (TLS records without data do too,
# but never many times in a row).
_EMPTY_WAKEUPS_MEAN_EOF = 20

NETWORK_ERRORS = (OSError, imapclient.exceptions.IMAPClientError)


class CacheWriteError(MailtriageError):
    """The cache refused a write (disk full, read-only, damaged); the batch rolled back."""


class AccountSession:
    def __init__(self, account: AccountConfig, password: str):
        self.account = account
        self._password = password
        self.client: imapclient.IMAPClient | None = None
        self.store: Store | None = None
        self.caps: Capabilities | None = None
        self.folders: list[tuple[str, str]] | None = None  # (name, role), found once
        self._verified: dict[str, tuple[object, ...]] = {}  # see FolderSync.verified
        # The folder selected on this connection whose every change since its SELECT is in
        # the cache or in self._reported (checked at select time; since then every change
        # the server reported, during IDLE, NOOP or our own FETCHes, was applied or kept
        # there), else None. Such a folder is synced in place (_catch_up): a no-change sync
        # is one NOOP. A STATUS or EXAMINE of a 100k INBOX makes Dovecot reopen it, ~90 ms of
        # its CPU, and the first body read after it 200-400 ms more.
        self._clean: str | None = None
        self._reported = Reported()
        # (connection, mailbox, UIDVALIDITY, imaplib's tag counter) when the last body fetch
        # left that mailbox selected and nothing else was sent since: the next body fetch
        # reads it without another EXAMINE (see fetch_bodies).
        self._bodies_at: tuple[object, str, int, int] | None = None
        # Said once per account at the first sync when the server refuses custom keywords
        # (status in folders; triage.folders), else None.
        self.notice: str | None = None

    def cache(self) -> Store:
        if self.store is None:
            self._verified = {}
            self.store = Store(self.account.cache_path)
            self.store.relax_durability()
        return self.store

    def _ensure(self) -> tuple[imapclient.IMAPClient, Store]:
        self.cache()
        assert self.store is not None
        if self.client is None:
            self.client = connect(self.account.imap, self._password)
            self.caps = enable_extensions(self.client)
        return self.client, self.store

    def connected(self) -> tuple[imapclient.IMAPClient, Store]:
        """The connection (opened now if needed) and the cache, for loops built on a session."""
        return self._ensure()

    def _lost(self, exc: BaseException, doing: str) -> NetworkError:
        # The connection is unusable after a mid-command failure: drop it, keep the cache.
        self.drop_client()
        server = self.account.imap
        return NetworkError(
            f"IMAP {server.host}:{server.port}: connection lost during {doing} ({exc});"
            " what was fetched is kept, the next sync resumes"
        )

    def sync(
        self,
        progress: Progress | None = None,
        *,
        prefetch_limit: int = PREFETCH_LIMIT,
        inbox_last: bool = False,
        backfill: bool = False,
        on_listed: Callable[[SyncReport], None] | None = None,
    ) -> SyncReport:
        """Sync, then fetch bodies newest first: as many as arrived now (up to the limit),
        or with backfill (a long-running watch) up to the limit of those still missing.
        on_listed(report) runs once the headers, flags and expunges are committed and before
        the bodies are fetched (report.bodies is 0 then)."""
        client, store = self._ensure()
        clean, self._clean = self._clean, None
        just_selected = False
        try:
            if self.folders is None:
                # A LIST per sync would be a third of a no-change sync inside the app.
                from mailtriage.imap.condstore import keywords_allowed
                from mailtriage.triage.folders import notice

                # Its SELECT opens INBOX anyway: it doubles as INBOX's no-change check.
                selected = client.select_folder("INBOX")
                allowed = keywords_allowed(client, self.account.app_folder, selected=selected)
                if self._selected(client) and self._matches_cache("INBOX", selected):
                    clean, just_selected = "INBOX", True
                self.folders = find_folders(client, self.account, keywords=allowed)
                store.set_status_folders(None if allowed else dict(self.account.status_folders))
                self.notice = (
                    None
                    if allowed
                    else notice(self.account.status_folders, self.account.app_folder)
                )
            # Imported here: it loads the email package, which a no-change sync never needs.
            from mailtriage.imap.appfolder import sync_team_state

            sync_team_state(client, store, self.account)
            ahead = BodiesAhead(prefetch_limit, self.account.prefetch_days)
            # A NOOP right after the SELECT would only cost Dovecot its first full look at
            # a 100k INBOX (~85 ms of its CPU, measured) to learn nothing new.
            caught = (
                self._catch_up(client, store, clean, ask=not just_selected)
                if clean is not None
                else None
            )
            if caught is None:
                clean = None  # reading the app folder deselected it, or only a SELECT can tell
                self._reported = Reported()  # the SELECTs below report everything since
            report = sync_account(
                client,
                store,
                self.account,
                progress,
                self.caps,
                inbox_last,
                self.folders,
                self._verified,
                unchanged=clean,
                ahead=ahead,
            )
            if caught is not None:
                report.folders = [caught if f.folder == clean else f for f in report.folders]
            store.apply_folder_state()  # status folders only: a no-op with keywords
            if any(f.missing for f in report.folders):
                self.folders = None  # look again next time (a renamed Sent may be back)
            clean = self._kept_after(client, store, report, clean)
            if on_listed is not None:
                on_listed(report)
            wanted = prefetch_limit if backfill else min(prefetch_limit, report.new)
            report.bodies, clean = self._prefetch(client, store, wanted, clean, ahead)
            self._clean = clean
        except NETWORK_ERRORS as exc:
            raise self._lost(exc, "sync") from exc
        except sqlite3.OperationalError as exc:
            raise CacheWriteError(
                # A batch, or during an initial sync's bulk load everything after its first
                # 1,000 messages: either way what was committed before stays whole.
                f"cache {store.path}: {exc}; it is consistent (what this sync had not"
                " committed rolled back), sync again once that is fixed"
            ) from exc
        return report

    def _kept_after(
        self, client: imapclient.IMAPClient, store: Store, report: SyncReport, clean: str | None
    ) -> str | None:
        """The folder still clean after sync_account: the kept one unless another folder was
        SELECTed meanwhile; after a full sync, INBOX when it was examined last with QRESYNC
        (its EXAMINE reported everything since the cache's state, and every later change
        is reported on this connection)."""
        if clean is not None:
            return None if any(f.examined for f in report.folders) else clean
        last = report.folders[-1] if report.folders else None
        if (
            last is not None
            and last.folder == "INBOX"
            and last.examined
            and not last.missing
            and self.caps is not None
            and self.caps.qresync
            and self._selected(client)
            and store.mailbox_state("INBOX") is not None
        ):
            return "INBOX"
        return None

    def _prefetch(
        self,
        client: imapclient.IMAPClient,
        store: Store,
        wanted: int,
        clean: str | None,
        ahead: BodiesAhead,
    ) -> tuple[int, str | None]:
        """prefetch() that reads the kept folder's bodies without selecting it again (the
        first body read after a SELECT of a 100k maildir costs Dovecot 200-400 ms); another
        folder's SELECT ends the kept selection. Returns (bodies stored, clean folder)."""
        days = self.account.prefetch_days
        state = store.mailbox_state(clean) if clean is not None else None
        if state is None:
            return prefetch(client, store, wanted, days, ahead=ahead), None
        kept = clean

        def open_folder(mailbox: str) -> int:
            nonlocal kept
            if mailbox == kept:
                return state.uidvalidity
            kept = None
            return examine_uidvalidity(client, mailbox)

        return prefetch(client, store, wanted, days, ahead=ahead, open_folder=open_folder), kept

    def _catch_up(
        self, client: imapclient.IMAPClient, store: Store, folder: str, *, ask: bool
    ) -> FolderReport | None:
        """Apply what the server reported about the kept selection of folder (IDLE, the
        answers to our FETCHes and, with ask, a NOOP now): flags, expunges, new mail. None
        when only a new SELECT can tell (the folder is no longer selected, an EXPUNGE by
        message number, a FETCH without UID)."""
        if not self._selected(client):
            return None
        reported, self._reported = self._reported, Reported()
        reported.add_untagged(client._imap.untagged_responses)
        if ask:
            client.noop()  # imaplib files what it reports, and its HIGHESTMODSEQ
            reported.add_untagged(client._imap.untagged_responses)
        client._imap.untagged_responses = {}
        state = store.mailbox_state(folder)
        if reported.unknown or state is None or state.uidnext is None:
            return None
        if not reported and reported.highest in (None, state.highestmodseq):
            return FolderReport(folder, unchanged=True)
        role = dict(self.folders or []).get(folder, "inbox")
        sync = FolderSync(
            client, store, self.account, folder, role, caps=self.caps, verified=self._verified
        )
        return sync.apply_reported(state, reported)

    def fetch_bodies(self, locations: Sequence[Location]) -> int:
        """Fetch and store these bodies, leaving the last mailbox read selected.

        A body the user opens must arrive within 100 ms. On Dovecot with a 100k maildir, the
        first FETCH of a message after an EXAMINE costs 100-500 ms of the server's time
        (it re-reads the mailbox's uid list and directory), later ones about 1 ms. So the
        mailbox stays selected between calls; changes other clients make meanwhile are
        reported to this connection and cost nothing here.
        """
        reused = False

        def open_folder(mailbox: str) -> int:
            nonlocal reused
            uidvalidity, reused = self._select_for_bodies(client, mailbox)
            return uidvalidity

        while True:
            client, store = self._ensure()
            self._clean = None  # it EXAMINEs each folder it reads
            try:
                stored = fetch_bodies(client, store, locations, open_folder)
                break
            except NETWORK_ERRORS as exc:
                if not reused:  # _lost and drop_client forget the kept selection
                    raise self._lost(exc, "body fetch") from exc
                # A kept selection can end under us (Dovecot says BYE when another client
                # deletes the mailbox): once more on a new connection, as a fresh EXAMINE
                # would have found it.
                self.drop_client()
                reused = False
        if self._bodies_at is not None and self._bodies_at[0] is client:
            self._keep_selected(client, *self._bodies_at[1:3])
        return stored

    def _select_for_bodies(self, client: imapclient.IMAPClient, mailbox: str) -> tuple[int, bool]:
        """mailbox's UIDVALIDITY with mailbox selected on client (read-only), and whether the
        selection the last body fetch left was reused (no EXAMINE sent)."""
        kept = self._bodies_at
        if kept is not None and kept[:2] == (client, mailbox) and kept[3] == _tag(client):
            return kept[2], True
        uidvalidity = examine_uidvalidity(client, mailbox)
        self._bodies_at = (client, mailbox, uidvalidity, -1)
        return uidvalidity, False

    def fetch_preview(self, location: Location, limit: int) -> str:
        """The text of a message's first `limit` bytes (imap.bodies.fetch_preview), to show
        while all of it is fetched, parsed and stored; "" when there is none to show.

        Never raises for the network: the fetch of the whole body that follows reconnects
        and says what went wrong."""
        _, mailbox, uidvalidity, uid = location
        client, _ = self._ensure()
        self._clean = None
        try:
            if self._select_for_bodies(client, mailbox)[0] != uidvalidity:
                return ""
            text = fetch_preview(client, uid, limit)
        except NETWORK_ERRORS:
            self.drop_client()
            return ""
        self._keep_selected(client, mailbox, uidvalidity)
        return text

    def _keep_selected(self, client: imapclient.IMAPClient, mailbox: str, uidvalidity: int) -> None:
        """mailbox stays selected on client for the next body fetch, as long as nothing else
        is sent on the connection meanwhile (imaplib's tag counter says)."""
        # Unsolicited EXISTS/EXPUNGE/FETCH lines pile up in imaplib while a mailbox stays
        # selected; nothing here reads them.
        client._imap.untagged_responses = {}
        self._bodies_at = (client, mailbox, uidvalidity, _tag(client))

    def warm_bodies(self, mailbox: str = "INBOX") -> None:
        """Connect and select mailbox for body fetches now, and read its newest message's
        first byte: Dovecot's first FETCH in a big maildir costs hundreds of ms, which the
        user's first open would otherwise wait for."""
        client, store = self._ensure()
        newest = store.newest_uid(mailbox)
        if newest is None:
            return
        uidvalidity, uid = newest
        self._clean = None
        try:
            if examine_uidvalidity(client, mailbox) != uidvalidity:
                return
            uid_fetch_records(client, str(uid), ["UID", "RFC822.SIZE", "BODY.PEEK[]<0.1>"])
        except NETWORK_ERRORS as exc:
            raise self._lost(exc, "body connection warm-up") from exc
        self._keep_selected(client, mailbox, uidvalidity)

    def save_attachment(
        self, mailbox: str, uid: int, attachment: dict[str, Any], directory: Path
    ) -> Path:
        """Download an attachment of a message too large to cache (imap.large) into directory.

        Raises NetworkError when the connection fails, LookupError when the message is no
        longer the one cached (expunged, or its folder's UIDVALIDITY changed), OSError when
        the file cannot be written.
        """
        from mailtriage.imap.large import save_part

        client, store = self._ensure()
        self._clean = None  # it EXAMINEs the message's folder
        try:
            uidvalidity = examine_uidvalidity(client, mailbox)
            if uid not in store.known_uids(mailbox, uidvalidity):
                raise LookupError(f"{mailbox} changed on the server; sync, then save again")
            return save_part(client, uid, attachment, directory)
        except DownloadWriteError as exc:
            raise OSError(f"could not write to {directory}: {exc}") from exc
        except NETWORK_ERRORS as exc:
            raise self._lost(exc, "attachment download") from exc

    def select_for_idle(self, folder: str = "INBOX") -> bool:
        """EXAMINE folder so IDLE watches it; True when the server's state already differs
        from the cache's (a change between the sync and now, which IDLE would never report),
        so a sync must come first. When the folder is kept selected and in the cache (see
        _clean) nothing is sent: True then if the server reported changes not yet applied."""
        client, _ = self._ensure()
        if self._clean == folder and self._selected(client):
            # Selected and in the cache, but for what the server reported since: that
            # needs a sync (in place, see _catch_up) first.
            return bool(self._reported) or _pending_change(client)
        self._clean = None
        self._reported = Reported()
        try:
            info = client.select_folder(folder, readonly=True)
        except NETWORK_ERRORS as exc:
            raise self._lost(exc, f"EXAMINE {folder}") from exc
        if not self._matches_cache(folder, info):
            return True
        self._clean = folder
        return False

    def _matches_cache(self, folder: str, info: dict[bytes, Any]) -> bool:
        """Whether a SELECT/EXAMINE answer says the server holds what the cache has."""
        assert self.store is not None and self.client is not None
        state = self.store.mailbox_state(folder)
        if state is None or self.caps is None or not self.caps.condstore:
            return False  # without MODSEQ a flag change would go unnoticed
        seen = (
            info.get(b"UIDVALIDITY"),
            info.get(b"UIDNEXT"),
            info.get(b"HIGHESTMODSEQ"),
            int(info.get(b"EXISTS", 0)),
        )
        if not cache_is_whole(self.store, folder, state, seen, self._verified):
            return False
        # The SELECT's own EXISTS/FLAGS lines: from here on, any such line is a change.
        self.client._imap.untagged_responses = {}
        self._reported = Reported()
        return True

    def _selected(self, client: imapclient.IMAPClient) -> bool:
        # Only a server with UNSELECT deselects without selecting something else (see
        # appfolder.leave_selected), so only there does "still selected" mean "same folder".
        return client._imap.state == "SELECTED" and bool(client.has_capability("UNSELECT"))

    @property
    def can_idle(self) -> bool:
        client, _ = self._ensure()
        return bool(client.has_capability("IDLE"))

    def idle(
        self,
        seconds: float,
        stop: threading.Event,
        on_flags: Callable[[int], None] | None = None,
        folder: str = "INBOX",
    ) -> bool:
        """IDLE on the selected mailbox (`folder`, selected by select_for_idle; a folder the
        cache has no state for, such as the app folder, ends IDLE at any flag change).

        Flag and keyword changes the server reports with their UID (a QRESYNC server must
        send it, RFC 7162 3.2.4) are written to the cache at once, without leaving IDLE, and
        on_flags(how many changed) is called: re-syncing after every such notice cost a
        second at 100k. Returns True when the server reported anything else (new mail, an
        expunge, flags without a UID), which needs a sync; False when `seconds` passed or
        stop was set. Checks stop once a second, so cancelling takes at most that long.
        On a clean folder (see _clean) those other changes are kept for the sync to apply
        in place; one is already waiting: True at once.
        """
        client, store = self._ensure()
        clean, self._clean = self._clean, None
        kept = clean == folder
        if kept:
            self._reported.add_untagged(client._imap.untagged_responses)
            if self._reported:
                self._clean = clean
                return True
        state = store.mailbox_state(folder)
        deadline = time.monotonic() + seconds
        sock = client.socket()
        # idle_check() leaves the socket blocking without a timeout; later reads need it back.
        timeout = sock.gettimeout()

        def handle(responses: Sequence[tuple[object, ...]]) -> bool:
            news = Reported()
            news.add_parsed(responses)
            flags, news.flags = news.flags, {}
            if flags and state is not None:
                with store.atomic():
                    changed = store.update_flags(folder, state.uidvalidity, flags)
                if changed and on_flags is not None:
                    on_flags(changed)
            if kept:
                self._reported.merge(news)
            # Without a [HIGHESTMODSEQ] the folder's HIGHESTMODSEQ stays as it was: the next
            # SELECT asks for changes since then and finds these flags already in place.
            return news.structural or (bool(flags) and state is None)

        try:
            client.idle()
            # A notice sent along with "+ idling" already sits in imaplib's read buffer,
            # where select() cannot see it.
            changed = handle(_buffered_responses(client))
            empty = 0
            while not changed and not stop.is_set() and time.monotonic() < deadline:
                if not select.select([sock], [], [], 1.0)[0]:
                    continue
                responses = client.idle_check(timeout=0)
                if responses:
                    empty = 0
                    changed = handle(responses)
                    continue
                empty += 1
                if empty >= _EMPTY_WAKEUPS_MEAN_EOF:
                    raise imapclient.exceptions.IMAPClientAbortError("server closed the connection")
            sock.settimeout(timeout)
            # Changes that arrived between the last check and DONE: a quiet IDLE keeps the
            # folder clean (see _clean), so none may be dropped here.
            changed = handle(client.idle_done()[1]) or changed
            # imaplib filed the same lines once more while reading up to DONE's answer.
            client._imap.untagged_responses = {}
        except NETWORK_ERRORS as exc:
            raise self._lost(exc, "IDLE") from exc
        except BaseException:
            # A cache error mid-IDLE: the connection is still idling and of no further use.
            self.drop_client()
            raise
        finally:
            with contextlib.suppress(OSError):
                sock.settimeout(timeout)
        if kept:
            self._clean = clean  # flag changes applied, the rest kept in self._reported
        return changed

    def drop_client(self) -> None:
        self._clean = None
        self._reported = Reported()
        self._bodies_at = None
        if self.client is not None:
            with contextlib.suppress(OSError):
                self.client.shutdown()
            self.client = None

    def close(self) -> None:
        if self.client is not None:
            with contextlib.suppress(*NETWORK_ERRORS):
                self.client.logout()
            self.drop_client()
        if self.store is not None:
            self.store.close()
            self.store = None


def _tag(client: imapclient.IMAPClient) -> int:
    """imaplib's counter of commands sent on this connection."""
    return int(client._imap.tagnum)


def _pending_change(client: imapclient.IMAPClient) -> bool:
    return any(key in client._imap.untagged_responses for key in CHANGE_KEYS)


def _buffered_responses(client: imapclient.IMAPClient) -> list[tuple[object, ...]]:
    """Complete lines already read from the socket into imaplib's buffer, parsed."""
    from imapclient.imapclient import _parse_untagged_response

    sock = client.socket()
    timeout = sock.gettimeout()
    sock.setblocking(False)
    responses = []
    try:
        while True:
            try:
                line = client._imap._get_line()
            except (OSError, imapclient.exceptions.IMAPClientAbortError):
                break  # nothing more buffered (imaplib reports EAGAIN as EOF)
            responses.append(_parse_untagged_response(line))
    finally:
        sock.settimeout(timeout)
    return responses
