"""Message bodies, fetched after the headers: prefetched newest first, or on demand.

Sync stores headers only (imap.sync); `messages.text` stays empty and `body_fetched` 0 until
a body is fetched here, parsed by `mime.parse_message` and written in one transaction per
batch. Search finds a message by its body only once the body is here.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator, Sequence
from itertools import groupby
from typing import TYPE_CHECKING

import imapclient

from mailtriage.config import AccountConfig
from mailtriage.imap.commands import examine_uidvalidity, uid_fetch_records
from mailtriage.imap.large import LARGE_MESSAGE, fetch_large_body
from mailtriage.imap.step_aside import step_aside
from mailtriage.store import Store

if TYPE_CHECKING:
    from mailtriage.mime.model import ParsedMessage

BODY_BATCH = 50
BATCH_BYTES = 16 * 1024 * 1024  # a batch of whole bodies stops growing here
PREFETCH_LIMIT = 200  # bodies fetched after each sync, newest first; 0 turns prefetch off
AHEAD_BYTES = 4 * BATCH_BYTES  # at most this much held by BodiesAhead until it is stored

Location = tuple[int, str, int, int]  # (rowid, mailbox, uidvalidity, uid)
# Makes a mailbox the selected one (read-only) and returns its UIDVALIDITY.
OpenFolder = Callable[[str], int]


def fetch_bodies(
    client: imapclient.IMAPClient,
    store: Store,
    locations: Sequence[Location],
    open_folder: OpenFolder | None = None,
) -> int:
    """Fetch, parse and store these bodies; return how many were stored.

    Each mailbox is opened with open_folder (default: EXAMINE it; a connection that keeps it
    selected between calls passes its own, see AccountSession.fetch_bodies).
    A mailbox whose UIDVALIDITY changed since is skipped: its next sync rebuilds it. A
    message above LARGE_MESSAGE gets its text's first part and its attachments' list only
    (imap.large); the others come whole, in batches of at most BODY_BATCH messages and
    BATCH_BYTES, so a batch of large-ish mail never holds hundreds of MB at once.
    """
    stored = 0
    # INBOX first: a connection that keeps it selected (the watch's) reads it before
    # another folder's SELECT ends that (see AccountSession._prefetch).
    ordered = sorted(locations, key=lambda loc: (loc[1] != "INBOX", loc[1], loc[2]))
    for (mailbox, uidvalidity), group in groupby(ordered, key=lambda loc: (loc[1], loc[2])):
        uids = [loc[3] for loc in group]
        opened = (open_folder or (lambda name: examine_uidvalidity(client, name)))(mailbox)
        if opened != uidvalidity:
            continue
        sizes = {
            f.uid: f.size or 0
            for f in uid_fetch_records(client, _uid_set(uids), ["UID", "RFC822.SIZE"])
        }
        for uid in uids:
            if sizes.get(uid, 0) > LARGE_MESSAGE:
                body = fetch_large_body(client, uid, sizes[uid])
                with store.atomic():
                    stored += store.set_body(
                        mailbox,
                        uidvalidity,
                        uid,
                        text=body.text,
                        text_from_html=body.text_from_html,
                        attachments=body.attachments,
                        warnings=body.warnings,
                        raw=None,
                    )
        whole = [u for u in uids if u in sizes and sizes[u] <= LARGE_MESSAGE]
        for chunk in _batches(whole, sizes):
            stored += _fetch_whole(client, store, mailbox, uidvalidity, chunk)
    return stored


def _uid_set(uids: Sequence[int]) -> str:
    return ",".join(str(u) for u in uids)


def _batches(uids: Sequence[int], sizes: dict[int, int]) -> Iterator[list[int]]:
    batch: list[int] = []
    total = 0
    for uid in uids:
        if batch and (len(batch) >= BODY_BATCH or total + sizes[uid] > BATCH_BYTES):
            yield batch
            batch, total = [], 0
        batch.append(uid)
        total += sizes[uid]
    if batch:
        yield batch


def _fetch_whole(
    client: imapclient.IMAPClient, store: Store, mailbox: str, uidvalidity: int, chunk: list[int]
) -> int:
    return _store_parsed(store, mailbox, uidvalidity, _fetch_parsed(client, chunk))


Parsed = list[tuple[int, bytes, "ParsedMessage"]]  # (uid, raw, parsed) of whole bodies


def _fetch_parsed(client: imapclient.IMAPClient, chunk: list[int]) -> Parsed:
    from mailtriage.mime import parse_message  # the heavy part; only when a body arrives

    response = uid_fetch_records(client, _uid_set(chunk), ["UID", "BODY.PEEK[]"])
    parsed: Parsed = []
    for f in response:
        if f.literal is not None and f.uid in chunk:
            step_aside()  # the app's backfill waits while the list the user sees reloads
            parsed.append((f.uid, f.literal, parse_message(f.literal)))
    return parsed


def _store_parsed(store: Store, mailbox: str, uidvalidity: int, parsed: Parsed) -> int:
    stored = 0
    with store.atomic():
        for uid, raw, message in parsed:
            stored += store.set_body(
                mailbox,
                uidvalidity,
                uid,
                text=message.text,
                text_from_html=message.text_from_html,
                attachments=[a.as_cached() for a in message.attachments],
                warnings=list(message.warnings),
                raw=raw,
            )
    return stored


def _since(days: int | None) -> float | None:
    return None if days is None else time.time() - days * 86400


class BodiesAhead:
    """Bodies a first sync fetches while its bulk load commits, for prefetch to store.

    At the end of a bulk load (imap.sync) SQLite builds the search index and the indexes,
    1-3 s at 100k messages with the GIL released, and the IMAP connection is idle. On a 100k
    maildir Dovecot's first body FETCH costs it 0.1-0.5 s (it reads the mailbox directory);
    with parsing and the round trips, prefetching 200 bodies after the sync took ~0.9 s of
    an initial sync's wall time. Here the reader thread fetches and parses the newest bodies
    meanwhile; prefetch() then still chooses what to store from the cache, stores those it
    finds here and fetches the rest, so the cache is what it would have been.
    """

    def __init__(self, limit: int, days: int | None = None):
        self.limit, self.days = limit, days
        self.bodies: dict[tuple[str, int, int], tuple[bytes, ParsedMessage]] = {}

    def choose(self, store: Store, mailbox: str, uidvalidity: int) -> list[int]:
        """On the storing thread, before the bulk load commits: the UIDs in `mailbox` that
        prefetch would choose now (the same query; ties in time broken alike)."""
        if self.limit <= 0 or self.days == 0:
            return []
        found = store.missing_bodies(self.limit, max_size=LARGE_MESSAGE, since=_since(self.days))
        return sorted(uid for _, box, valid, uid in found if (box, valid) == (mailbox, uidvalidity))

    def fetch(
        self, client: imapclient.IMAPClient, mailbox: str, uidvalidity: int, uids: list[int]
    ) -> None:
        """On the connection's thread, with `mailbox` selected: fetch and parse these bodies
        as fetch_bodies would (sizes first, then in batches), without storing them."""
        sizes = {
            f.uid: f.size or 0
            for f in uid_fetch_records(client, _uid_set(uids), ["UID", "RFC822.SIZE"])
        }
        whole = [u for u in uids if u in sizes and sizes[u] <= LARGE_MESSAGE]
        held = 0
        for chunk in _batches(whole, sizes):
            if held >= AHEAD_BYTES:
                break  # prefetch fetches the rest, a batch at a time
            for uid, raw, message in _fetch_parsed(client, chunk):
                self.bodies[(mailbox, uidvalidity, uid)] = (raw, message)
                held += len(raw)

    def store(self, store: Store, locations: Sequence[Location]) -> tuple[int, list[Location]]:
        """Store the bodies held here for these locations: (how many, the locations left)."""
        held: dict[tuple[str, int], Parsed] = {}
        left: list[Location] = []
        for location in locations:
            _, mailbox, uidvalidity, uid = location
            found = self.bodies.pop((mailbox, uidvalidity, uid), None)
            if found is None:
                left.append(location)
            else:
                held.setdefault((mailbox, uidvalidity), []).append((uid, *found))
        self.bodies.clear()
        stored = 0
        # One transaction: the search index does a merge step at each commit that touches
        # it, ~50 ms once a bulk load has filled it (200 bodies: 0.2 s in four, 8 ms in one).
        with store.atomic():
            for (mailbox, uidvalidity), parsed in held.items():
                stored += _store_parsed(store, mailbox, uidvalidity, parsed)
        return stored, left


def fetch_preview(client: imapclient.IMAPClient, uid: int, limit: int) -> str:
    """The text of the message's first `limit` bytes, parsed as if the message ended at the
    last line break in them; "" when that holds no text (a text part only after a large
    attachment, say). The selected mailbox must be the message's.

    A cut at a line break keeps what comes before it decodable: base64 and
    quoted-printable never span a line end, nor does a Shift_JIS or UTF-8 character, and an
    ISO-2022-JP line returns to ASCII before it ends. A multipart message cut short is
    parsed leniently (a missing closing boundary is only a defect). Mostly this is the
    beginning of the text the whole message shows; where the cut falls before the part a
    whole parse picks (an HTML alternative after a plain one saying "see the HTML"), it is
    what came before. Either way the whole text replaces it once stored.
    """
    from mailtriage.mime import parse_message

    records = uid_fetch_records(client, str(uid), ["UID", f"BODY.PEEK[]<0.{limit}>"])
    data = next((f.literal for f in records if f.uid == uid and f.literal is not None), b"")
    if len(data) >= limit and b"\n" in data:
        data = data[: data.rindex(b"\n") + 1]
    return parse_message(data).text


def prefetch(
    client: imapclient.IMAPClient,
    store: Store,
    limit: int = PREFETCH_LIMIT,
    days: int | None = None,
    ahead: BodiesAhead | None = None,
    open_folder: OpenFolder | None = None,
) -> int:
    """Bodies of the newest messages still without one, up to limit; with `days`
    (accounts.NAME.prefetch_days) only of messages dated within that many days. Those
    `ahead` already holds (fetched during the sync) are stored without asking the server;
    open_folder as for fetch_bodies."""
    if limit <= 0 or days == 0:
        return 0
    # A large message waits until it is opened: prefetch is for what is cheap to have ready.
    missing = store.missing_bodies(limit, max_size=LARGE_MESSAGE, since=_since(days))
    stored = 0
    if ahead is not None:
        stored, missing = ahead.store(store, missing)
    return stored + fetch_bodies(client, store, missing, open_folder)


def ensure_conversation_bodies(account: AccountConfig, reader: Store, key: str) -> None:
    """Before showing a conversation: fetch the bodies it still lacks, or say why not.

    Never raises for network trouble: the cached headers are still worth showing.
    """
    missing = reader.missing_bodies(conversation=key)
    if not missing:
        return
    from mailtriage.errors import MailtriageError
    from mailtriage.imap.connection import connect

    try:
        client = connect(account.imap, account.imap.resolve_password())
    except MailtriageError as exc:
        print(f"mailtriage: bodies not fetched: {exc}", file=sys.stderr)
        return
    writer = Store(account.cache_path)
    try:
        fetch_bodies(client, writer, missing)
    except (OSError, imapclient.exceptions.IMAPClientError) as exc:
        print(f"mailtriage: bodies not fetched: connection lost ({exc})", file=sys.stderr)
    finally:
        writer.close()
        try:
            client.logout()
        except (OSError, imapclient.exceptions.IMAPClientError):
            client.shutdown()
