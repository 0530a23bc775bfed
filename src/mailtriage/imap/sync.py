"""The sync engine: bring the cache up to date with INBOX and Sent.

Blocking code, run on the account's own IMAP thread (see imap.account). Every batch is one
SQLite transaction, so a killed process leaves a consistent cache and the next run resumes
from what is already there.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import imapclient
from imapclient.imapclient import SENT

from mailtriage.config import AccountConfig
from mailtriage.errors import ServerError
from mailtriage.imap.commands import uid_fetch
from mailtriage.mime import ParsedMessage, parse_message
from mailtriage.store import MessageRow, Store
from mailtriage.store.cache import MailboxState
from mailtriage.triage.threads import normalize_subject

FETCH_BATCH = 250
FLAGS_BATCH = 2000

Progress = Callable[[str, int, int], None]


@dataclass
class FolderReport:
    folder: str
    new: int = 0
    flag_changes: int = 0
    vanished: int = 0
    uidvalidity_reset: bool = False
    unchanged: bool = False


@dataclass
class SyncReport:
    account: str
    folders: list[FolderReport] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def new(self) -> int:
        return sum(f.new for f in self.folders)

    @property
    def vanished(self) -> int:
        return sum(f.vanished for f in self.folders)

    @property
    def flag_changes(self) -> int:
        return sum(f.flag_changes for f in self.folders)


def _decode_flags(flags: Iterable[bytes | str]) -> list[str]:
    return sorted(f.decode("ascii", "replace") if isinstance(f, bytes) else f for f in flags)


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


def build_row(
    account: AccountConfig,
    mailbox: str,
    role: str,
    uidvalidity: int,
    uid: int,
    data: dict[bytes, Any],
) -> MessageRow:
    raw: bytes = data.get(b"BODY[]") or b""
    parsed: ParsedMessage = parse_message(raw)
    internal = data.get(b"INTERNALDATE")
    when = parsed.date or (internal if isinstance(internal, datetime) else None)
    if when is None:
        when = datetime.now(UTC)
    elif when.tzinfo is None:
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
    modseq = data.get(b"MODSEQ")
    return MessageRow(
        mailbox=mailbox,
        uidvalidity=uidvalidity,
        uid=uid,
        message_id=parsed.message_id,
        in_reply_to=parsed.in_reply_to,
        references=parsed.references,
        subject=parsed.subject,
        norm_subject=normalize_subject(parsed.subject),
        from_name=from_addr.name if from_addr else "",
        from_email=from_email,
        to=[{"name": a.name, "email": a.email} for a in parsed.to],
        cc=[{"name": a.name, "email": a.email} for a in parsed.cc],
        date=when.isoformat(),
        ts=when.timestamp(),
        flags=_decode_flags(data.get(b"FLAGS", ())),
        size=int(data.get(b"RFC822.SIZE") or len(raw)),
        inbound=inbound,
        counterpart_name=counterpart.name if counterpart else "",
        counterpart_email=counterpart.email if counterpart else "",
        text=parsed.text,
        text_from_html=parsed.text_from_html,
        attachments=[
            {
                "filename": a.filename,
                "content_type": a.content_type,
                "size": a.size,
                "inline": a.inline,
                "part": a.part_index,
            }
            for a in parsed.attachments
        ],
        warnings=list(parsed.warnings),
        raw=raw,
        modseq=modseq[0] if isinstance(modseq, tuple | list) else modseq,
    )


def find_folders(client: imapclient.IMAPClient, account: AccountConfig) -> list[tuple[str, str]]:
    """(folder, role) pairs to sync: INBOX and the Sent folder (special-use, else by name)."""
    folders = [("INBOX", "inbox")]
    sent = account.sent_folder or client.find_special_folder(SENT)
    if sent:
        folders.append((sent, "sent"))
    return folders


class FolderSync:
    def __init__(
        self,
        client: imapclient.IMAPClient,
        store: Store,
        account: AccountConfig,
        folder: str,
        role: str,
        progress: Progress | None = None,
    ):
        self.client, self.store, self.account = client, store, account
        self.folder, self.role = folder, role
        self.progress = progress or (lambda folder, done, total: None)
        self.condstore = client.has_capability("CONDSTORE")

    def run(self) -> FolderReport:
        report = FolderReport(self.folder)
        # Read-only SELECT: syncing must never change \Seen or anything else on the server.
        info = self.client.select_folder(self.folder, readonly=True)
        try:
            uidvalidity = int(info[b"UIDVALIDITY"])
        except (KeyError, TypeError, ValueError) as exc:
            raise ServerError(f"IMAP: {self.folder} has no UIDVALIDITY; cannot cache it") from exc
        uidnext = info.get(b"UIDNEXT")
        highest = info.get(b"HIGHESTMODSEQ") if self.condstore else None
        exists = int(info.get(b"EXISTS", 0))
        previous = self.store.mailbox_state(self.folder)
        if previous and previous.uidvalidity != uidvalidity:
            with self.store.atomic():
                self.store.drop_mailbox(self.folder)
            report.uidvalidity_reset = True
            previous = None
        state = MailboxState(self.folder, self.role, uidvalidity, uidnext, highest)
        known = self.store.known_uids(self.folder, uidvalidity)
        if (
            previous
            and highest is not None
            and previous.highestmodseq == highest
            and previous.uidnext == uidnext
            and len(known) == exists
        ):
            # Nothing new, nothing expunged, no flag changed: the SELECT was the whole sync.
            report.unchanged = True
            return report

        server_uids = sorted(self.client.search("ALL")) if exists else []
        server_set = set(server_uids)
        vanished = sorted(known - server_set)
        if vanished:
            with self.store.atomic():
                self.store.delete_uids(self.folder, uidvalidity, vanished)
            report.vanished = len(vanished)
            known -= set(vanished)

        if known:
            report.flag_changes = self._refresh_flags(uidvalidity, sorted(known), previous)

        new = [uid for uid in server_uids if uid not in known]
        self._fetch_new(uidvalidity, new, report)

        with self.store.atomic():
            self.store.set_mailbox_state(state, time.time())
        return report

    def _refresh_flags(
        self, uidvalidity: int, known: list[int], previous: MailboxState | None
    ) -> int:
        changes: dict[int, tuple[list[str], int | None]] = {}
        items = ["FLAGS", "MODSEQ"] if self.condstore else ["FLAGS"]
        if self.condstore and previous and previous.highestmodseq:
            # One round trip for every flag change since we last looked.
            response = uid_fetch(
                self.client,
                f"1:{known[-1]}",
                items,
                modifiers=[f"CHANGEDSINCE {previous.highestmodseq}"],
            )
            batches = [response]
        else:
            batches = (
                uid_fetch(self.client, ",".join(uid_ranges(chunk)), items)
                for chunk in _chunks(known, FLAGS_BATCH)
            )
        known_set = set(known)
        for response in batches:
            for uid, data in response.items():
                if uid not in known_set:
                    continue
                modseq = data.get(b"MODSEQ")
                changes[uid] = (
                    _decode_flags(data.get(b"FLAGS", ())),
                    modseq[0] if isinstance(modseq, tuple | list) else modseq,
                )
        if not changes:
            return 0
        with self.store.atomic():
            return self.store.update_flags(self.folder, uidvalidity, changes)

    def _fetch_new(self, uidvalidity: int, new: list[int], report: FolderReport) -> None:
        total = len(new)
        self.progress(self.folder, 0, total)
        items = ["BODY.PEEK[]", "FLAGS", "INTERNALDATE", "RFC822.SIZE"]
        if self.condstore:
            items.append("MODSEQ")
        done = 0
        # Newest first, so an interrupted first sync already shows the mail that matters now.
        for chunk in _chunks(new[::-1], FETCH_BATCH):
            response = uid_fetch(self.client, ",".join(uid_ranges(sorted(chunk))), items)
            rows = [
                build_row(self.account, self.folder, self.role, uidvalidity, uid, data)
                for uid, data in response.items()
                if b"BODY[]" in data
            ]
            with self.store.atomic():
                self.store.insert_messages(rows)
            done += len(chunk)
            report.new += len(rows)
            self.progress(self.folder, done, total)


def sync_account(
    client: imapclient.IMAPClient,
    store: Store,
    account: AccountConfig,
    progress: Progress | None = None,
) -> SyncReport:
    started = time.perf_counter()
    if client.has_capability("CONDSTORE") and client.has_capability("ENABLE"):
        client.enable("CONDSTORE")
    report = SyncReport(account.name)
    for folder, role in find_folders(client, account):
        report.folders.append(FolderSync(client, store, account, folder, role, progress).run())
    report.seconds = time.perf_counter() - started
    return report
