"""Message bodies, fetched after the headers: prefetched newest first, or on demand.

Sync stores headers only (imap.sync); `messages.text` stays empty and `body_fetched` 0 until
a body is fetched here, parsed by `mime.parse_message` and written in one transaction per
batch. Search finds a message by its body only once the body is here.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from itertools import groupby

import imapclient

from mailtriage.config import AccountConfig
from mailtriage.imap.commands import examine, uid_fetch_records
from mailtriage.store import Store

BODY_BATCH = 50
PREFETCH_LIMIT = 200  # bodies fetched after each sync, newest first; 0 turns prefetch off

Location = tuple[int, str, int, int]  # (rowid, mailbox, uidvalidity, uid)


def fetch_bodies(client: imapclient.IMAPClient, store: Store, locations: Sequence[Location]) -> int:
    """Fetch, parse and store these bodies; return how many were stored.

    A mailbox whose UIDVALIDITY changed since is skipped: its next sync rebuilds it.
    """
    from mailtriage.mime import parse_message  # the heavy part; only when a body arrives

    stored = 0
    ordered = sorted(locations, key=lambda loc: (loc[1], loc[2]))
    for (mailbox, uidvalidity), group in groupby(ordered, key=lambda loc: (loc[1], loc[2])):
        uids = [loc[3] for loc in group]
        info = examine(client, mailbox).info
        if int(info.get(b"UIDVALIDITY", -1)) != uidvalidity:
            continue
        for start in range(0, len(uids), BODY_BATCH):
            chunk = uids[start : start + BODY_BATCH]
            response = uid_fetch_records(
                client, ",".join(str(u) for u in chunk), ["UID", "BODY.PEEK[]"]
            )
            parsed = [
                (f.uid, f.literal, parse_message(f.literal))
                for f in response
                if f.literal is not None and f.uid in chunk
            ]
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


def prefetch(client: imapclient.IMAPClient, store: Store, limit: int = PREFETCH_LIMIT) -> int:
    """Bodies of the newest messages still without one, up to limit."""
    if limit <= 0:
        return 0
    return fetch_bodies(client, store, store.missing_bodies(limit))


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
