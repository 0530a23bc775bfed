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

import imapclient

from mailtriage.config import AccountConfig
from mailtriage.imap.commands import examine_uidvalidity, uid_fetch_records
from mailtriage.imap.large import LARGE_MESSAGE, fetch_large_body
from mailtriage.store import Store

BODY_BATCH = 50
BATCH_BYTES = 16 * 1024 * 1024  # a batch of whole bodies stops growing here
PREFETCH_LIMIT = 200  # bodies fetched after each sync, newest first; 0 turns prefetch off

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
    ordered = sorted(locations, key=lambda loc: (loc[1], loc[2]))
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
    from mailtriage.mime import parse_message  # the heavy part; only when a body arrives

    response = uid_fetch_records(client, _uid_set(chunk), ["UID", "BODY.PEEK[]"])
    parsed = [
        (f.uid, f.literal, parse_message(f.literal))
        for f in response
        if f.literal is not None and f.uid in chunk
    ]
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


def prefetch(
    client: imapclient.IMAPClient,
    store: Store,
    limit: int = PREFETCH_LIMIT,
    days: int | None = None,
) -> int:
    """Bodies of the newest messages still without one, up to limit; with `days`
    (accounts.NAME.prefetch_days) only of messages dated within that many days."""
    if limit <= 0 or days == 0:
        return 0
    since = None if days is None else time.time() - days * 86400
    # A large message waits until it is opened: prefetch is for what is cheap to have ready.
    missing = store.missing_bodies(limit, max_size=LARGE_MESSAGE, since=since)
    return fetch_bodies(client, store, missing)


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
