"""The sync engine: bring the cache up to date with INBOX and Sent.

Blocking code, run on the account's own IMAP thread (see imap.account). Every batch is one
SQLite transaction, so a killed process leaves a consistent cache and the next run resumes
from what is already there; the mailbox state (UIDNEXT, HIGHESTMODSEQ) is written last, so an
interrupted run is simply repeated from the previous state.

What is fetched is chosen for what is cheap to parse (DESIGN.md §5): header fields as one
literal plus FLAGS/INTERNALDATE/RFC822.SIZE/MODSEQ atoms. Bodies come later (imap.bodies).

How changes are found, by capability:
- QRESYNC: `EXAMINE (QRESYNC (uidvalidity modseq))` reports expunges (VANISHED) and flag
  changes in the same round trip; new mail is `UID FETCH uidnext:*`.
- CONDSTORE: flags via `CHANGEDSINCE`; expunges and new mail by UID diff (`UID SEARCH ALL`),
  only when the message count or UIDNEXT says something moved.
- neither: UID diff plus a FLAGS refresh of every cached message, in batches.
"""

from __future__ import annotations

import contextlib
import gc
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import imapclient

from mailtriage.config import AccountConfig
from mailtriage.errors import ServerError
from mailtriage.imap.commands import Fetched, FetchLine, examine, uid_fetch_lines, uid_fetch_records
from mailtriage.imap.reported import Reported
from mailtriage.store import MessageRow, Store
from mailtriage.store.cache import MailboxState
from mailtriage.triage.threads import normalize_subject

if TYPE_CHECKING:
    from mailtriage.imap.bodies import BodiesAhead
    from mailtriage.mime.model import Address, ParsedMessage

FETCH_BATCH = 250  # the first batch; every batch is a multiple of it
MAX_FETCH_BATCH = 8000  # measured: 2000 -> 8000 cut 100k-sync SQL CPU by 18% (fewer commits)
FLAGS_BATCH = 2000
# A fetch of at least this many new messages (and no fewer than the cache already holds)
# stores its batches after the first BULK_AFTER messages as one bulk load (store.bulk):
# the newest mail still commits batch by batch and shows at once.
BULK_MIN = 10_000
BULK_AFTER = 1000
# Other writers of the cache (the app's actions, the team watcher) wait for a bulk load, up
# to SQLite's 30 s busy timeout: one that has run this long ends at its next batch (indexes
# built, committed; a few seconds more) and the rest is stored batch by batch. A whole
# initial sync of 100k messages took 37 s at load 9, most of it in the bulk load.
BULK_SECONDS = 15.0
# In the order of FolderSync.verified's tuple (uidvalidity, uidnext, highestmodseq, exists).
STATUS_ITEMS = [b"UIDVALIDITY", b"UIDNEXT", b"HIGHESTMODSEQ", b"MESSAGES"]

Progress = Callable[[str, int, int], None]
# Said of a folder another client deleted or renamed (CLI and watch lines).
GONE = (
    "is gone from the server (deleted or renamed by another client?); its cached mail was dropped"
)


@dataclass
class FolderReport:
    folder: str
    new: int = 0
    flag_changes: int = 0
    vanished: int = 0
    uidvalidity_reset: bool = False
    unchanged: bool = False
    missing: bool = False  # deleted or renamed on the server: its cached mail was dropped
    examined: bool = False  # this sync SELECTed it read-only (so it is selected now)


@dataclass
class SyncReport:
    account: str
    folders: list[FolderReport] = field(default_factory=list)
    seconds: float = 0.0
    bodies: int = 0  # prefetched after the sync

    @property
    def new(self) -> int:
        return sum(f.new for f in self.folders)

    @property
    def vanished(self) -> int:
        return sum(f.vanished for f in self.folders)

    @property
    def flag_changes(self) -> int:
        return sum(f.flag_changes for f in self.folders)


def uid_ranges(uids: Sequence[int]) -> list[str]:
    """Compress sorted UIDs into IMAP sequence-set pieces (1:5,7,9:12) to keep commands short."""
    pieces: list[str] = []
    start = prev = None
    for uid in uids:
        if start is None:
            start = prev = uid
        elif uid == prev + 1:  # type: ignore[operator]
            prev = uid
        else:
            pieces.append(f"{start}:{prev}" if start != prev else str(start))
            start = prev = uid
    if start is not None:
        pieces.append(f"{start}:{prev}" if start != prev else str(start))
    return pieces


def _chunks(items: Sequence[int], size: int) -> Iterator[Sequence[int]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def _growing_chunks(items: Sequence[int]) -> Iterator[Sequence[int]]:
    """Small first (the newest mail shows at once), then larger: FTS and SQLite write
    bigger transactions at half the cost per row."""
    start, size = 0, FETCH_BATCH
    while start < len(items):
        yield items[start : start + size]
        start += size
        size = min(size * 2, MAX_FETCH_BATCH)


@contextlib.contextmanager
def _cycle_collection_paused(large: bool) -> Iterator[None]:
    """Pause the cyclic garbage collector for a large fetch: its rows are plain tuples,
    lists and strings (no cycles), yet at 100k messages the collector spent 1.2 s of the
    storing process's CPU re-scanning them. Re-enabled at the end, which collects whatever
    cycles appeared meanwhile (the app's own, a few seconds' worth)."""
    if not large or not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def _internaldate(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        return datetime.strptime(text.strip(), "%d-%b-%Y %H:%M:%S %z")
    except ValueError:
        return None


def address_dicts(addresses: Iterable[Address]) -> list[dict[str, str]]:
    """An address list as the cache keeps it (to_json, cc_json)."""
    return [{"name": a.name, "email": a.email} for a in addresses]


def row_from_parsed(
    account: AccountConfig,
    mailbox: str,
    role: str,
    uidvalidity: int,
    fetched: Fetched,
    parsed: ParsedMessage,
    *,
    raw: bytes | None,
) -> MessageRow:
    """A cache row from decoded headers (and, when raw is given, the whole message)."""
    when = parsed.date or _internaldate(fetched.internaldate) or datetime.now(UTC)
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    from_addr = parsed.from_
    from_email = from_addr.email if from_addr else ""
    inbound = role != "sent" and from_email != account.address
    if inbound:
        # Web forms send From a fixed address with the customer in Reply-To: answer them.
        reply_to = [a for a in parsed.reply_to if a.email and a.email != account.address]
        counterpart = reply_to[0] if reply_to else from_addr
    else:
        counterpart = next((a for a in parsed.to if a.email != account.address), None)
    return MessageRow(
        mailbox=mailbox,
        uidvalidity=uidvalidity,
        uid=fetched.uid,
        message_id=parsed.message_id,
        in_reply_to=parsed.in_reply_to,
        references=parsed.references,
        subject=parsed.subject,
        norm_subject=normalize_subject(parsed.subject),
        from_name=from_addr.name if from_addr else "",
        from_email=from_email,
        to=address_dicts(parsed.to),
        cc=address_dicts(parsed.cc),
        date=when.isoformat(),
        ts=when.timestamp(),
        flags=fetched.flags or [],
        size=fetched.size if fetched.size is not None else len(raw or b""),
        inbound=inbound,
        counterpart_name=counterpart.name if counterpart else "",
        counterpart_email=counterpart.email if counterpart else "",
        text=parsed.text,
        text_from_html=parsed.text_from_html,
        attachments=[a.as_cached() for a in parsed.attachments],
        warnings=list(parsed.warnings),
        raw=raw,
        modseq=fetched.modseq,
        body_fetched=raw is not None,
    )


def find_folders(
    client: imapclient.IMAPClient, account: AccountConfig, *, keywords: bool | None = None
) -> list[tuple[str, str]]:
    """(folder, role) pairs to sync: INBOX and the Sent folder (special-use, else by name),
    plus the status folders (created if missing) when the server refuses custom keywords
    (keywords=None: ask it with a SELECT of INBOX; see triage.folders)."""
    from imapclient.imapclient import SENT

    from mailtriage.imap.condstore import keywords_allowed

    folders = [("INBOX", "inbox")]
    sent = account.sent_folder or client.find_special_folder(SENT)
    if sent:
        folders.append((sent, "sent"))
    if keywords is None:
        keywords = keywords_allowed(client, account.app_folder)
    if not keywords:
        for name in account.status_folders.values():
            if name != "INBOX":
                if not client.folder_exists(name):
                    client.create_folder(name)
                folders.append((name, "inbox"))
    return folders


@dataclass(frozen=True)
class Capabilities:
    condstore: bool
    qresync: bool

    @classmethod
    def of(cls, client: imapclient.IMAPClient) -> Capabilities:
        enable = client.has_capability("ENABLE")
        qresync = enable and client.has_capability("QRESYNC")
        condstore = qresync or client.has_capability("CONDSTORE")
        return cls(condstore=condstore, qresync=qresync)


def enable_extensions(client: imapclient.IMAPClient) -> Capabilities:
    """ENABLE what the server offers (once per connection) and say what is on."""
    caps = Capabilities.of(client)
    if caps.qresync:
        client.enable("QRESYNC")  # implies CONDSTORE (RFC 7162 3.2.3)
    elif caps.condstore and client.has_capability("ENABLE"):
        client.enable("CONDSTORE")
    return caps


def cache_is_whole(
    store: Store,
    folder: str,
    previous: MailboxState,
    seen: tuple[object, ...],
    verified: dict[str, tuple[object, ...]],
) -> bool:
    """Whether the server's state `seen`, (uidvalidity, uidnext, highestmodseq, exists) from a
    STATUS, SELECT or EXAMINE, is the one the cache was synced to, with every message cached.
    Without a HIGHESTMODSEQ a flag change could hide behind equal values: never whole then.
    A count that matched is remembered in `verified` (see FolderSync.verified)."""
    if seen[2] is None or seen[:3] != (
        previous.uidvalidity,
        previous.uidnext,
        previous.highestmodseq,
    ):
        return False
    if verified.get(folder) == seen:
        return True
    if store.count_uids(folder, previous.uidvalidity) != seen[3]:
        return False
    verified[folder] = seen
    return True


class FolderSync:
    def __init__(
        self,
        client: imapclient.IMAPClient,
        store: Store,
        account: AccountConfig,
        folder: str,
        role: str,
        progress: Progress | None = None,
        caps: Capabilities | None = None,
        verified: dict[str, tuple[object, ...]] | None = None,
        status_check: bool = False,
        ahead: BodiesAhead | None = None,
    ):
        self.client, self.store, self.account = client, store, account
        self.folder, self.role = folder, role
        self.progress = progress or (lambda folder, done, total: None)
        self.caps = caps or Capabilities.of(client)
        # Folder -> the server state (uidvalidity, uidnext, highestmodseq, exists) at which
        # this process last counted the cache complete. Counting 100k cached UIDs costs a few
        # ms, the whole of a no-change sync's budget inside the app (DESIGN.md §5: 5 ms);
        # the sync leader is the cache's only writer of messages, so the count still holds.
        self.verified = verified if verified is not None else {}
        # STATUS first (see _unchanged_by_status); only with this folder not selected here:
        # Dovecot answers STATUS of the selected mailbox from this session's view of it,
        # which after another client's rename is the old mailbox (test_imap_faults).
        self.status_check = status_check and self.caps.condstore
        self.ahead = ahead  # bodies to fetch while a bulk load commits (imap.bodies)

    def run(self) -> FolderReport:
        report = FolderReport(self.folder)
        previous = self.store.mailbox_state(self.folder)
        if self._unchanged_by_status(previous):
            report.unchanged = True
            return report
        resync = (
            (previous.uidvalidity, previous.highestmodseq)
            if self.caps.qresync and previous and previous.highestmodseq
            else None
        )
        # Read-only: syncing must never change \Seen or anything else on the server.
        report.examined = True
        try:
            examined = examine(self.client, self.folder, resync)
        except imapclient.exceptions.IMAPClientAbortError:
            raise
        except imapclient.exceptions.IMAPClientError:
            if self.folder == "INBOX" or self.client.folder_exists(self.folder):
                raise
            # Another client deleted or renamed it: its mail is gone from here on the server
            # too, and the other folders must still sync (new mail must not wait for Sent).
            with self.store.atomic():
                report.vanished = self.store.drop_mailbox(self.folder)
            report.missing = True
            return report
        info = examined.info
        try:
            uidvalidity = int(info[b"UIDVALIDITY"])
        except (KeyError, TypeError, ValueError) as exc:
            raise ServerError(f"IMAP: {self.folder} has no UIDVALIDITY; cannot cache it") from exc
        uidnext = info.get(b"UIDNEXT")
        highest = info.get(b"HIGHESTMODSEQ") if self.caps.condstore else None
        exists = int(info.get(b"EXISTS", 0))
        if previous and previous.uidvalidity != uidvalidity:
            with self.store.atomic():
                self.store.drop_mailbox(self.folder)
            report.uidvalidity_reset = True
            previous = resync = None
        state = MailboxState(self.folder, self.role, uidvalidity, uidnext, highest)
        seen = (uidvalidity, uidnext, highest, exists)
        if previous is not None and cache_is_whole(
            self.store, self.folder, previous, seen, self.verified
        ):
            # Nothing new, nothing expunged, no flag changed: the SELECT was the whole sync.
            report.unchanged = True
            return report
        self.verified.pop(self.folder, None)
        cached = self.store.count_uids(self.folder, uidvalidity)

        if resync is not None and previous is not None:
            self._apply_qresync(uidvalidity, examined.vanished, examined.changed, report)
            if previous.uidnext is not None and uidnext != previous.uidnext:
                self._fetch_new_since(uidvalidity, previous.uidnext, report)
            # Belt and braces: a count that disagrees means we missed something (an earlier
            # run died between batches); the UID diff below finds it.
            if self.store.count_uids(self.folder, uidvalidity) != exists:
                self._diff_and_fetch(uidvalidity, exists, report)
        else:
            if previous is None or previous.uidnext != uidnext or cached != exists:
                self._diff_and_fetch(uidvalidity, exists, report, refresh_flags=previous)
            elif cached:
                report.flag_changes = self._refresh_flags(uidvalidity, previous)

        with self.store.atomic():
            self.store.set_mailbox_state(state, time.time())
        return report

    def _unchanged_by_status(self, previous: MailboxState | None) -> bool:
        """Whether one STATUS proves nothing changed since `previous` (CONDSTORE servers).

        `EXAMINE (QRESYNC …)` costs Dovecot a re-read of the mailbox's index even when nothing
        changed (~85 ms of its CPU at 100k); STATUS of a small folder (Sent, the app folder)
        well under 1 ms. A big INBOX costs as much either way, so the session checks it on
        the connection that already has it selected (AccountSession). Every change moves
        HIGHESTMODSEQ (flags, expunges; RFC 7162 3.1) or UIDNEXT (new mail). Leaves the
        selection as it was: the watch loop selects what it IDLEs on itself.
        """
        if not (self.status_check and previous and previous.highestmodseq and previous.uidnext):
            return False
        try:
            status = self.client.folder_status(self.folder, STATUS_ITEMS)
            seen = tuple(int(status[item]) for item in STATUS_ITEMS)
        except imapclient.exceptions.IMAPClientAbortError:
            raise
        except (imapclient.exceptions.IMAPClientError, KeyError, TypeError, ValueError):
            return False  # a missing folder or an odd answer: EXAMINE says what happened
        return cache_is_whole(self.store, self.folder, previous, seen, self.verified)

    def apply_reported(self, previous: MailboxState, reported: Reported) -> FolderReport:
        """Bring the cache up to what the server reported about this folder while it stayed
        selected (see imap.reported), without selecting it again: on Dovecot a SELECT of a
        100k maildir costs 60-300 ms and the first body read after it 200-400 ms more.

        Flags first, then expunges, then new mail above UIDNEXT, whose FETCH answers with
        the flags as they are now. reported.highest, when the server said every change up to
        it was reported (imap.reported.highestmodseq), becomes the folder's HIGHESTMODSEQ;
        otherwise it stays: a later SELECT (QRESYNC) then reports these changes once more.
        """
        assert previous.uidnext is not None
        report = FolderReport(self.folder)
        uidvalidity = previous.uidvalidity
        self.verified.pop(self.folder, None)
        with self.store.atomic():
            if reported.flags:
                report.flag_changes = self.store.update_flags(
                    self.folder, uidvalidity, reported.flags
                )
            if reported.vanished:
                before = self.store.count_uids(self.folder, uidvalidity)
                self.store.delete_uids(self.folder, uidvalidity, sorted(reported.vanished))
                report.vanished = before - self.store.count_uids(self.folder, uidvalidity)
        uidnext = previous.uidnext
        if reported.exists:
            new = self._uids_since(uidvalidity, uidnext)
            self._fetch_new(uidvalidity, new, report)
            uidnext = max([uidnext, *(uid + 1 for uid in new)])
        highest = max(previous.highestmodseq or 0, reported.highest or 0) or None
        with self.store.atomic():
            self.store.set_mailbox_state(
                MailboxState(self.folder, self.role, uidvalidity, uidnext, highest), time.time()
            )
        report.unchanged = not (report.new or report.flag_changes or report.vanished)
        return report

    # -- QRESYNC --------------------------------------------------------------------------

    def _apply_qresync(
        self,
        uidvalidity: int,
        vanished: list[int],
        changed: list[Fetched],
        report: FolderReport,
    ) -> None:
        with self.store.atomic():
            if vanished:
                before = self.store.count_uids(self.folder, uidvalidity)
                self.store.delete_uids(self.folder, uidvalidity, vanished)
                report.vanished += before - self.store.count_uids(self.folder, uidvalidity)
            changes = {f.uid: (f.flags, f.modseq) for f in changed if f.flags is not None}
            if changes:
                report.flag_changes += self.store.update_flags(
                    self.folder,
                    uidvalidity,
                    changes,  # type: ignore[arg-type]
                )

    def _fetch_new_since(self, uidvalidity: int, uidnext: int, report: FolderReport) -> None:
        self._fetch_new(uidvalidity, self._uids_since(uidvalidity, uidnext), report)

    def _uids_since(self, uidvalidity: int, uidnext: int) -> list[int]:
        """UIDs from uidnext on that the cache lacks. Some may be cached already: a UID
        diff (search ALL) after the SELECT can fetch mail that arrived after it."""
        # `n:*` also matches the highest UID when every UID is below n (RFC 3501 6.4.8).
        found = uid_fetch_records(self.client, f"{uidnext}:*", ["UID"])
        cached = self.store.known_uids(self.folder, uidvalidity, uidnext)
        return sorted(f.uid for f in found if f.uid >= uidnext and f.uid not in cached)

    # -- UID diff (CONDSTORE or nothing) -----------------------------------------------------

    def _diff_and_fetch(
        self,
        uidvalidity: int,
        exists: int,
        report: FolderReport,
        refresh_flags: MailboxState | None = None,
    ) -> None:
        known = self.store.known_uids(self.folder, uidvalidity)
        server_uids = sorted(self.client.search("ALL")) if exists else []
        server_set = set(server_uids)
        vanished = sorted(known - server_set)
        if vanished:
            with self.store.atomic():
                self.store.delete_uids(self.folder, uidvalidity, vanished)
            report.vanished += len(vanished)
            known -= set(vanished)
        if known and refresh_flags is not None:
            report.flag_changes += self._refresh_flags(uidvalidity, refresh_flags, known)
        self._fetch_new(uidvalidity, [u for u in server_uids if u not in known], report)

    def _refresh_flags(
        self, uidvalidity: int, previous: MailboxState, known: set[int] | None = None
    ) -> int:
        items = ["UID", "FLAGS", "MODSEQ"] if self.caps.condstore else ["UID", "FLAGS"]
        if self.caps.condstore and previous.highestmodseq:
            # One round trip for every flag change since we last looked.
            batches: Any = [
                uid_fetch_records(
                    self.client,
                    "1:*",
                    items,
                    modifiers=[f"CHANGEDSINCE {previous.highestmodseq}"],
                )
            ]
        else:
            uids = sorted(known if known is not None else self._known(uidvalidity))
            batches = (
                uid_fetch_records(self.client, ",".join(uid_ranges(chunk)), items)
                for chunk in _chunks(uids, FLAGS_BATCH)
            )
        changed = 0
        for response in batches:
            changes = {f.uid: (f.flags, f.modseq) for f in response if f.flags is not None}
            if changes:
                with self.store.atomic():
                    changed += self.store.update_flags(
                        self.folder,
                        uidvalidity,
                        changes,  # type: ignore[arg-type]
                    )
        return changed

    def _known(self, uidvalidity: int) -> set[int]:
        return self.store.known_uids(self.folder, uidvalidity)

    # -- new messages ---------------------------------------------------------------------

    def _bulk_worthwhile(self, new: int) -> bool:
        # Rebuilding an index reads every cached row: worth it when the new ones are many
        # and at least as many as those already cached (a first sync, not Sent after INBOX).
        return new >= BULK_MIN and new >= self.store.message_count()

    def _fetch_new(self, uidvalidity: int, new: list[int], report: FolderReport) -> None:
        total = len(new)
        self.progress(self.folder, 0, total)
        if not total:
            return
        # Here, not at module level: it loads the mime package, which a no-change sync skips.
        from mailtriage.imap.headers import FETCH_ITEM
        from mailtriage.imap.parsing import Batch, Parser

        items = ["UID", "FLAGS", "INTERNALDATE", "RFC822.SIZE"]
        if self.caps.condstore:
            items.append("MODSEQ")
        items.append(FETCH_ITEM)  # last, so every atom arrives before the literal
        done = 0
        # Newest first, so an interrupted first sync already shows the mail that matters now.
        chunks = list(_growing_chunks(new[::-1]))
        batch = Batch(self.folder, self.role, uidvalidity)

        def fetch(chunk: Sequence[int]) -> list[FetchLine]:
            return uid_fetch_lines(self.client, ",".join(uid_ranges(sorted(chunk))), items)

        # Three stages: a reader thread fetches batch n+2 while the parser (a worker process
        # for large syncs, imap.parsing) decodes batch n+1 and this thread stores batch n.
        # Only the reader touches the connection until it has finished, so imapclient is
        # still used by one thread at a time.
        parser = Parser(self.account, total)
        bulk_from: int | None = BULK_AFTER if self._bulk_worthwhile(total) else None
        bulk = contextlib.ExitStack()
        bulk_until = 0.0

        def store(rows: list[MessageRow], size: int) -> None:
            nonlocal done, bulk_from, bulk_until
            if bulk_from is not None and done >= bulk_from:
                bulk.enter_context(self.store.bulk_load())
                bulk_from, bulk_until = None, time.monotonic() + BULK_SECONDS
            elif bulk_until and time.monotonic() > bulk_until:
                bulk.close()  # commits what it holds; batch by batch from here
                bulk_until = 0.0
            with self.store.atomic():
                self.store.insert_messages(rows)
            done += size
            report.new += len(rows)
            self.progress(self.folder, done, total)

        # Leaving `bulk` commits the bulk load (search and indexes built then); an exception
        # rolls it back to the batch committed before it.
        with (
            _cycle_collection_paused(total >= BULK_MIN),
            bulk,
            ThreadPoolExecutor(1, thread_name_prefix="imap-fetch") as reader,
        ):
            pending: Future[list[FetchLine]] | None = reader.submit(fetch, chunks[0])
            previous: tuple[Future[list[MessageRow]], int] | None = None
            try:
                for index, chunk in enumerate(chunks):
                    assert pending is not None
                    response = pending.result()
                    following = index + 1 < len(chunks)
                    pending = reader.submit(fetch, chunks[index + 1]) if following else None
                    current = parser.submit(batch, response, set(chunk))
                    if previous is not None:
                        store(previous[0].result(), previous[1])
                    previous = (current, len(chunk))
                if previous is not None:
                    store(previous[0].result(), previous[1])
                # The connection idles while the bulk load commits (SQLite, GIL released):
                # the reader fetches the bodies prefetch will want meanwhile.
                ahead = self.ahead if bulk_until else None
                uids = ahead.choose(self.store, self.folder, uidvalidity) if ahead else []
                if ahead is not None and uids:
                    pending = reader.submit(
                        ahead.fetch, self.client, self.folder, uidvalidity, uids
                    )
                bulk.close()
                if pending is not None:
                    pending.result()
                    pending = None
            finally:
                parser.close()
                if pending is not None:
                    # A failure here (disk full) must not leave a FETCH running on the
                    # connection; the caller decides what to do with the connection.
                    wait([pending])


def sync_account(
    client: imapclient.IMAPClient,
    store: Store,
    account: AccountConfig,
    progress: Progress | None = None,
    caps: Capabilities | None = None,
    inbox_last: bool = False,
    folders: list[tuple[str, str]] | None = None,
    verified: dict[str, tuple[object, ...]] | None = None,
    unchanged: str | None = None,
    ahead: BodiesAhead | None = None,
) -> SyncReport:
    """Sync INBOX and Sent (INBOX last with inbox_last: a change to it found meanwhile is
    then fetched last, just before IDLE); verified is a long-lived session's memo of folders
    it found complete (see FolderSync); unchanged, the kept folder the caller has just
    brought up to date in place (AccountSession._catch_up), is skipped; ahead, bodies a bulk
    load fetches while it commits, for the prefetch after the sync (imap.bodies.BodiesAhead)."""
    started = time.perf_counter()
    if caps is None:
        caps = enable_extensions(client)
    report = SyncReport(account.name)
    folders = list(folders or find_folders(client, account))
    if inbox_last:
        folders.reverse()
    # Nothing selected, so each folder's STATUS answers from the server (FolderSync); the
    # EXAMINE of a changed folder selects only that one, never one checked after it.
    status_check = client.has_capability("UNSELECT")
    if status_check and unchanged is None and client._imap.state == "SELECTED":
        client.unselect_folder()
    for folder, role in folders:
        if folder == unchanged:
            report.folders.append(FolderReport(folder, unchanged=True))
            continue
        report.folders.append(
            FolderSync(
                client, store, account, folder, role, progress, caps, verified, status_check, ahead
            ).run()
        )
    report.seconds = time.perf_counter() - started
    return report
