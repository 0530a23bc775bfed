"""The per-account SQLite cache.

Disposable by design (DESIGN.md §2): everything here can be rebuilt from the server. One
connection per thread; the sync engine is the only writer.
"""

from __future__ import annotations

import json
import sqlite3
import sys
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mailtriage.store.events import rekey_events
from mailtriage.store.version import SCHEMA_VERSION
from mailtriage.triage.state import MessageState, derive_state
from mailtriage.triage.threads import (
    MIN_PREFIX,
    normalize_short_id,
    short_id,
    thread_root,
)

if TYPE_CHECKING:
    import threading

_MESSAGE_COLUMNS = (
    "message_id, mailbox, uid, from_name, from_email, to_json, cc_json, date, subject, flags,"
    " inbound, text, text_from_html, attachments, warnings"
)
_LIGHT_COLUMNS = _MESSAGE_COLUMNS.replace(" text,", " NULL AS text,") + ", body_fetched"


PAGE_SIZE = 8192  # a new cache's; see Store._ensure_schema


class CacheError(Exception):
    """The cache cannot be used; the message says why and what to do."""


@dataclass(slots=True)
class MessageRow:
    """One message as the sync engine hands it to the cache.

    Slotted: an initial sync builds 100k of them from the parse worker's tuples, and that
    took 0.46 s with a __dict__ each (0.16 s slotted). to, cc, attachments and warnings are
    only ever stored: as lists, or as the JSON text the cache keeps (imap.parsing encodes
    them in its worker, off the core that writes SQLite)."""

    mailbox: str
    uidvalidity: int
    uid: int
    message_id: str | None
    in_reply_to: list[str]
    references: list[str]
    subject: str
    norm_subject: str
    from_name: str
    from_email: str
    to: list[dict[str, str]] | str
    cc: list[dict[str, str]] | str
    date: str
    ts: float
    flags: list[str]
    size: int
    inbound: bool
    counterpart_name: str
    counterpart_email: str
    text: str
    text_from_html: bool
    attachments: list[dict[str, Any]] | str
    warnings: list[str] | str
    raw: bytes | None
    modseq: int | None = None
    body_fetched: bool = True  # False: headers only; text/attachments/raw arrive later


@dataclass(frozen=True)
class MailboxState:
    name: str
    role: str
    uidvalidity: int
    uidnext: int | None
    highestmodseq: int | None


VIEW_WHERE = {
    "unhandled": ("status = 'unhandled' AND tags NOT LIKE '%\"no-reply\"%'", False),
    "in-progress": ("status = 'in-progress'", False),
    "done": ("status = 'done'", False),
    "mine": ("assignee = :agent AND status != 'done'", True),
    "urgent": ("priority = 'urgent' AND status != 'done'", False),
    "later": ("tags LIKE '%\"later\"%' AND status != 'done'", False),
    "no-reply": ("tags LIKE '%\"no-reply\"%'", False),
    "escalated": ("tags LIKE '%\"escalated\"%' AND status != 'done'", False),
    "all": ("1", False),
}


def _create_private(path: Path) -> None:
    """Create the cache file 0600 in a 0700 directory before SQLite opens it, so mail is
    never readable by others (SQLite gives -wal and -shm the same mode)."""
    from mailtriage.files import private_file, tighten_sqlite_sidecars

    private_file(path)
    tighten_sqlite_sidecars(path)


@lru_cache(maxsize=4096)
def _derived(
    marks: tuple[tuple[tuple[str, ...], bool], ...], own_reply_rule: bool
) -> tuple[str, str | None, str, str, int]:
    """A conversation's (status, assignee, priority, tags as JSON, unread) from its messages'
    (flags, inbound), oldest first. Most conversations are one or two messages with one of a
    few flag sets: an initial sync of 100k messages derives ~66k of them, mostly alike."""
    state = derive_state(
        [MessageState(flags=flags, inbound=inbound) for flags, inbound in marks],
        reply_moves_to_in_progress=own_reply_rule,
    )
    return state.status, state.assignee, state.priority, json.dumps(state.tags), state.unread


class Store:
    def __init__(self, path: Path, *, readonly: bool = False):
        self.path = path
        if not readonly:
            _create_private(path)
        elif not path.exists():
            raise CacheError(f"no cache at {path}: run `mailtriage sync` first")
        try:
            self.conn = sqlite3.connect(path, timeout=30, isolation_level=None)
            self._ensure_schema(readonly)
        except sqlite3.DatabaseError as exc:
            raise CacheError(
                f"cache {path} is unreadable ({exc}); it is disposable: delete it and run "
                "`mailtriage sync`"
            ) from exc

    def _ensure_schema(self, readonly: bool) -> None:
        # user_version mirrors the applied migrations, so the common path (schema current)
        # never imports sqlite-utils: that import alone costs ~90 ms of every command.
        (version,) = self.conn.execute("PRAGMA user_version").fetchone()
        if version == SCHEMA_VERSION:
            return
        if version > SCHEMA_VERSION:
            raise CacheError(
                f"cache {self.path} was written by a newer mailtriage (schema {version}); "
                "delete it and run `mailtriage sync`"
            )
        if readonly:
            raise CacheError(f"cache {self.path} needs an upgrade: run `mailtriage sync`")
        if version == 0:
            # A new cache (the page size of an existing one stays as it is): an initial
            # sync of 100k messages writes ~200 MB, and with 8 kB pages its SQLite work
            # took ~10% less CPU than with the default 4 kB (fewer pages to split, to
            # write to the WAL and to checkpoint).
            self.conn.execute(f"PRAGMA page_size = {PAGE_SIZE}")
        from sqlite_utils import Database

        from mailtriage.store.schema import migrations

        if version > 0:
            # Some upgrades rebuild an index (0004: search): a minute at 100k messages.
            print(
                f"mailtriage: upgrading the cache {self.path} (schema {version} to"
                f" {SCHEMA_VERSION}); large caches take up to a minute",
                file=sys.stderr,
                flush=True,
            )
        db = Database(self.conn)
        db.enable_wal()
        migrations.apply(db)
        self.conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    @property
    def schema_version(self) -> int:
        return SCHEMA_VERSION

    def close(self) -> None:
        self._checkpointed(wait=True)
        self.conn.close()

    @contextmanager
    def atomic(self) -> Iterator[None]:
        """One transaction; nested use becomes a savepoint."""
        if self.conn.in_transaction:
            name = f"sp{id(self)}_{self._depth}"
            self._depth += 1
            self.conn.execute(f"SAVEPOINT {name}")
            try:
                yield
            except BaseException:
                self.conn.execute(f"ROLLBACK TO SAVEPOINT {name}")
                self.conn.execute(f"RELEASE SAVEPOINT {name}")
                raise
            else:
                self.conn.execute(f"RELEASE SAVEPOINT {name}")
            finally:
                self._depth -= 1
            return
        self._checkpointed()
        # IMMEDIATE: take the write lock now, not halfway through a batch.
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            if self.conn.in_transaction:
                self.conn.execute("ROLLBACK")
            raise
        else:
            self.conn.execute("COMMIT")

    _depth = 0
    _bulk = False  # inside bulk_load: search indexing waits for its end

    @contextmanager
    def bulk_load(self) -> Iterator[None]:
        """One transaction for many insert_messages() calls (a folder's first sync), with
        the indexes nothing reads while inserting built once at the end (store.bulk).
        Nested atomic() blocks inside it become savepoints."""
        from mailtriage.store.bulk import (
            WAL_AUTOCHECKPOINT,
            bulk_transaction,
            checkpoint_in_background,
        )

        self._checkpointed(wait=True)
        # Its COMMIT leaves the WAL as it is; a thread copies it into the database after
        # (store.bulk.checkpoint_in_background). Until that thread is done, this
        # connection's commits do not checkpoint either (see _checkpointed).
        self.conn.execute("PRAGMA wal_autocheckpoint = 0")
        try:
            with bulk_transaction(self.conn):
                self._bulk = True
                try:
                    yield
                finally:
                    self._bulk = False
        except BaseException:
            self.conn.execute(f"PRAGMA wal_autocheckpoint = {WAL_AUTOCHECKPOINT}")
            raise
        self._checkpointer = checkpoint_in_background(self.path)

    _checkpointer: threading.Thread | None = None  # a bulk load's checkpoint, still running

    def _checkpointed(self, *, wait: bool = False) -> None:
        """Once a bulk load's background checkpoint is over (waiting for it with wait),
        commits on this connection checkpoint again as SQLite's default does."""
        thread = self._checkpointer
        if thread is None or (thread.is_alive() and not wait):
            return
        thread.join()
        self._checkpointer = None
        from mailtriage.store.bulk import WAL_AUTOCHECKPOINT

        self.conn.execute(f"PRAGMA wal_autocheckpoint = {WAL_AUTOCHECKPOINT}")

    # -- mailbox sync state ---------------------------------------------------------------

    def mailbox_state(self, name: str) -> MailboxState | None:
        row = self.conn.execute(
            "SELECT name, role, uidvalidity, uidnext, highestmodseq FROM mailboxes WHERE name=?",
            (name,),
        ).fetchone()
        return MailboxState(*row) if row else None

    def set_mailbox_state(self, state: MailboxState, synced_at: float) -> None:
        self.conn.execute(
            "INSERT INTO mailboxes (name, role, uidvalidity, uidnext, highestmodseq, synced_at)"
            " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (name) DO UPDATE SET role=excluded.role,"
            " uidvalidity=excluded.uidvalidity, uidnext=excluded.uidnext,"
            " highestmodseq=excluded.highestmodseq, synced_at=excluded.synced_at",
            (
                state.name,
                state.role,
                state.uidvalidity,
                state.uidnext,
                state.highestmodseq,
                synced_at,
            ),
        )

    def known_uids(self, mailbox: str, uidvalidity: int, first: int = 0) -> set[int]:
        """The cached UIDs of mailbox (from `first` on: a range of the unique index)."""
        rows = self.conn.execute(
            "SELECT uid FROM messages WHERE mailbox=? AND uidvalidity=? AND uid >= ?",
            (mailbox, uidvalidity, first),
        )
        return {uid for (uid,) in rows}

    def drop_mailbox(self, mailbox: str) -> int:
        """Forget a mailbox whose UIDVALIDITY changed: its UIDs no longer mean anything."""
        keys = self._conversations_of("mailbox = ?", (mailbox,))
        count = self.conn.execute("DELETE FROM messages WHERE mailbox=?", (mailbox,)).rowcount
        self.conn.execute("DELETE FROM mailboxes WHERE name=?", (mailbox,))
        self.refresh_conversations(keys)
        return count

    # -- writes from sync -----------------------------------------------------------------

    def insert_messages(self, rows: Sequence[MessageRow]) -> set[str]:
        """Insert new messages, thread them, and return the conversation keys touched.

        Set-wise (store.ingest); conversations this batch creates are derived from the rows
        in hand, the others re-read from the cache.
        """
        from mailtriage.store.ingest import BatchInsert

        inserted = BatchInsert(self.conn, self._merge, index_search=not self._bulk).run(rows)
        new = inserted.new_conversations
        self._write_conversations(
            {
                key: [
                    (
                        r.message_id,
                        r.references,
                        r.in_reply_to,
                        r.subject,
                        r.flags,
                        r.inbound,
                        r.ts,
                        r.date,
                        r.counterpart_name,
                        r.counterpart_email,
                    )
                    for r in messages
                ]
                for key, messages in new.items()
            }
        )
        self.refresh_conversations(inserted.touched - new.keys())
        return inserted.touched

    def _merge(self, keys: list[str]) -> str:
        """Join conversations a new message proves are one; the earliest one's key survives."""
        marks = ",".join("?" * len(keys))
        firsts = dict(
            self.conn.execute(
                f"SELECT conversation, MIN(ts) FROM messages WHERE conversation IN ({marks})"
                " GROUP BY conversation",
                keys,
            ).fetchall()
        )
        survivor = min(keys, key=lambda k: (firsts.get(k, float("inf")), k))
        losers = [k for k in keys if k != survivor]
        lmarks = ",".join("?" * len(losers))
        self.conn.execute(
            f"UPDATE messages SET conversation=? WHERE conversation IN ({lmarks})",
            [survivor, *losers],
        )
        self.conn.execute(
            f"UPDATE thread_ids SET conversation=? WHERE conversation IN ({lmarks})",
            [survivor, *losers],
        )
        self.conn.execute(f"DELETE FROM conversations WHERE key IN ({lmarks})", losers)
        rekey_events(self.conn, losers, survivor)
        return survivor

    def update_flags(
        self, mailbox: str, uidvalidity: int, changes: dict[int, tuple[list[str], int | None]]
    ) -> int:
        """Apply FLAGS (and MODSEQ) changes; return how many messages really changed."""
        touched: list[str] = []
        for uid, (flags, modseq) in changes.items():
            found = self.conn.execute(
                "UPDATE messages SET flags=?, modseq=COALESCE(?, modseq)"
                " WHERE mailbox=? AND uidvalidity=? AND uid=? AND flags != ?"
                " RETURNING conversation",
                (
                    json.dumps(flags, ensure_ascii=False),
                    modseq,
                    mailbox,
                    uidvalidity,
                    uid,
                    json.dumps(flags, ensure_ascii=False),
                ),
            ).fetchall()
            touched.extend(c for (c,) in found)
        self.refresh_conversations(set(touched))
        return len(touched)

    def delete_uids(self, mailbox: str, uidvalidity: int, uids: Iterable[int]) -> set[str]:
        touched: set[str] = set()
        for uid in uids:
            found = self.conn.execute(
                "DELETE FROM messages WHERE mailbox=? AND uidvalidity=? AND uid=?"
                " RETURNING conversation",
                (mailbox, uidvalidity, uid),
            ).fetchall()
            touched.update(c for (c,) in found)
        self.refresh_conversations(touched)
        return touched

    def _conversations_of(self, where: str, params: Sequence[Any]) -> set[str]:
        return {
            c
            for (c,) in self.conn.execute(
                f"SELECT DISTINCT conversation FROM messages WHERE {where}", params
            )
        }

    def refresh_conversations(self, keys: Iterable[str]) -> None:
        """Recompute the derived conversation rows from their messages.

        Set-wise: one SELECT and one executemany per 500 keys, because an initial sync
        touches one conversation per message and a query per key dominated it.
        """
        pending = sorted(set(keys))
        for start in range(0, len(pending), 500):
            chunk = pending[start : start + 500]
            marks = ",".join("?" * len(chunk))
            grouped: dict[str, list[Any]] = {key: [] for key in chunk}
            loads = json.loads
            for conv, mid, refs, irt, subject, flags, *rest in self.conn.execute(
                "SELECT conversation, message_id, refs, in_reply_to, subject, flags, inbound, ts,"
                " date, counterpart_name, counterpart_email FROM messages"
                f" WHERE conversation IN ({marks}) ORDER BY conversation, ts, id",
                chunk,
            ):
                grouped[conv].append((mid, loads(refs), loads(irt), subject, loads(flags), *rest))
            empty = [(key,) for key, messages in grouped.items() if not messages]
            if empty:
                self.conn.executemany("DELETE FROM conversations WHERE key=?", empty)
                self.conn.executemany("DELETE FROM thread_ids WHERE conversation=?", empty)
            self._write_conversations({k: m for k, m in grouped.items() if m})

    def _write_conversations(self, grouped: dict[str, list[tuple[Any, ...]]]) -> None:
        """Conversation rows from their messages, oldest first, each as (message_id,
        references, in_reply_to, subject, flags, inbound, ts, date, counterpart_name,
        counterpart_email) with the lists decoded."""
        self.conn.executemany(
            "INSERT OR REPLACE INTO conversations (key, short_id, root_message_id, subject,"
            " customer_name, customer_email, status, assignee, priority, tags, first_ts,"
            " last_ts, last_message_at, message_count, unread)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [self._conversation_row(key, messages) for key, messages in grouped.items()],
        )

    def _conversation_row(self, key: str, messages: list[Any]) -> tuple[Any, ...]:
        first = messages[0]
        root = thread_root(first[0], first[1], first[2]) or key
        customer = next((m for m in messages if m[5]), first)
        status, assignee, priority, tags, unread = _derived(
            tuple((tuple(m[4]), bool(m[5])) for m in messages), self.own_reply_rule()
        )
        return (
            key,
            short_id(key),
            root,
            first[3],
            customer[8],
            customer[9],
            status,
            assignee,
            priority,
            tags,
            first[6],
            messages[-1][6],
            messages[-1][7],
            len(messages),
            unread,
        )

    # -- reads ----------------------------------------------------------------------------

    def list_conversations(
        self, view: str = "unhandled", *, agent: str | None = None, limit: int | None = None
    ) -> list[dict[str, Any]]:
        where, needs_agent = VIEW_WHERE[view]
        if needs_agent and not agent:
            raise ValueError("the 'mine' view needs an agent name")
        sql = f"SELECT * FROM conversations WHERE {where} ORDER BY last_ts DESC, key"
        params: dict[str, Any] = {"agent": agent}
        if limit is not None:
            sql += " LIMIT :limit"
            params["limit"] = limit
        return [self._conversation_dict(r) for r in self._rows(sql, params)]

    def count_conversations(self, view: str, *, agent: str | None = None) -> int:
        where, _ = VIEW_WHERE[view]
        (count,) = self.conn.execute(
            f"SELECT COUNT(*) FROM conversations WHERE {where}", {"agent": agent}
        ).fetchone()
        return int(count)

    def resolve_id(self, typed: str) -> list[str]:
        """Conversation keys whose short id starts with what the user typed."""
        prefix = normalize_short_id(typed)
        if len(prefix) < MIN_PREFIX:
            return []
        return [
            k
            for (k,) in self.conn.execute(
                "SELECT key FROM conversations WHERE short_id >= ? AND short_id < ?"
                " ORDER BY short_id",
                (prefix, prefix + "\x7f"),
            )
        ]

    def get_conversation(self, key: str, *, texts: bool = True) -> dict[str, Any] | None:
        """The conversation and its messages, oldest first. texts=False leaves each message's
        text None and says instead whether it is fetched ("body_fetched": a text is written
        once, when its body arrives), for the reader's cheap check whether anything changed.
        (SQLite's length() of a text reads all of it.)"""
        rows = self._rows("SELECT * FROM conversations WHERE key = :key", {"key": key})
        if not rows:
            return None
        conversation = self._conversation_dict(rows[0])
        # Every column _message_dict reads, never `raw`: the reader reloads at every commit
        # to the cache, and copying a 5 MB message's bytes each time was pure waste.
        columns = _MESSAGE_COLUMNS if texts else _LIGHT_COLUMNS
        messages = self._rows(
            f"SELECT {columns} FROM messages WHERE conversation = :key ORDER BY ts, id",
            {"key": key},
        )
        conversation["messages"] = []
        for row in messages:
            message = self._message_dict(row)
            if not texts:
                message["body_fetched"] = bool(row["body_fetched"])
            conversation["messages"].append(message)
        return conversation

    def conversation_status(self, key: str) -> str | None:
        """The derived status the list shows (None: not cached)."""
        row = self.conn.execute("SELECT status FROM conversations WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def search(self, query: str, *, limit: int | None = None) -> list[dict[str, Any]]:
        """Conversations matching query, best first (syntax: store.search, README "Search")."""
        from mailtriage.store.search import search_rows

        return [self._conversation_dict(r) for r in search_rows(self.conn, query, limit=limit)]

    def raw_message(self, mailbox: str, uidvalidity: int, uid: int) -> bytes | None:
        row = self.conn.execute(
            "SELECT raw FROM messages WHERE mailbox=? AND uidvalidity=? AND uid=?",
            (mailbox, uidvalidity, uid),
        ).fetchone()
        return row[0] if row else None

    # -- bodies fetched after the headers ------------------------------------------------

    def count_uids(self, mailbox: str, uidvalidity: int) -> int:
        (count,) = self.conn.execute(
            "SELECT COUNT(*) FROM messages WHERE mailbox=? AND uidvalidity=?",
            (mailbox, uidvalidity),
        ).fetchone()
        return int(count)

    def missing_bodies(
        self,
        limit: int | None = None,
        *,
        conversation: str | None = None,
        max_size: int | None = None,
        since: float | None = None,
    ) -> list[tuple[int, str, int, int]]:
        """(rowid, mailbox, uidvalidity, uid) of messages still without a body, newest first
        (only those of at most max_size bytes, and dated since `since`, when given)."""
        sql = "SELECT id, mailbox, uidvalidity, uid FROM messages WHERE body_fetched = 0"
        params: list[Any] = []
        if since is not None:
            sql += " AND ts >= ?"
            params.append(since)
        if max_size is not None:
            sql += " AND size <= ?"
            params.append(max_size)
        if conversation is not None:
            sql += " AND conversation = ?"
            params.append(conversation)
        # Ties broken by id, as the (ts) index orders them anyway: imap.bodies.BodiesAhead
        # chooses with this query before the index exists and must choose alike.
        sql += " ORDER BY ts DESC, id DESC"
        if limit is not None:
            sql += " LIMIT ?"
            params.append(limit)
        return [tuple(r) for r in self.conn.execute(sql, params)]  # type: ignore[misc]

    def newest_uid(self, mailbox: str) -> tuple[int, int] | None:
        """(uidvalidity, highest cached UID) of mailbox as last synced, or None."""
        row = self.conn.execute(
            "SELECT m.uidvalidity, MAX(m.uid) FROM messages m JOIN mailboxes b"
            " ON b.name = m.mailbox AND b.uidvalidity = m.uidvalidity WHERE m.mailbox = ?",
            (mailbox,),
        ).fetchone()
        return (int(row[0]), int(row[1])) if row and row[1] is not None else None

    def message_location(self, rowid: int) -> tuple[str, int, int, bool, int] | None:
        """(mailbox, uidvalidity, uid, body_fetched, size) of a cached message."""
        row = self.conn.execute(
            "SELECT mailbox, uidvalidity, uid, body_fetched, size FROM messages WHERE id=?",
            (rowid,),
        ).fetchone()
        return (row[0], row[1], row[2], bool(row[3]), row[4]) if row else None

    def set_body(
        self,
        mailbox: str,
        uidvalidity: int,
        uid: int,
        *,
        text: str,
        text_from_html: bool,
        attachments: list[dict[str, Any]],
        warnings: list[str],
        raw: bytes | None,
    ) -> bool:
        """Fill in a message's body; False if it is gone (expunged or never cached).

        raw is None for a message too large to keep (imap.large): its attachments then name
        the server section they are downloaded from."""
        cursor = self.conn.execute(
            "UPDATE messages SET text=?, text_from_html=?, attachments=?, warnings=?, raw=?,"
            " body_fetched=1 WHERE mailbox=? AND uidvalidity=? AND uid=?",
            (
                text,
                int(text_from_html),
                json.dumps(attachments, ensure_ascii=False),
                json.dumps(warnings, ensure_ascii=False),
                raw,
                mailbox,
                uidvalidity,
                uid,
            ),
        )
        return cursor.rowcount > 0

    def relax_durability(self) -> None:
        """For the bulk sync writer: WAL without an fsync per commit.

        A crash still leaves a consistent database (whole transactions only); a power cut may
        lose the last few batches, which the next sync fetches again. Per connection, so
        writers of data that must survive (the outbox) keep full durability.
        """
        self.conn.execute("PRAGMA synchronous = NORMAL")
        # Inserts land at random places in the Message-ID and conversation-key indexes; with
        # SQLite's default 2 MB page cache a 100k-message sync spent most of its SQL time
        # re-reading index pages.
        self.conn.execute("PRAGMA cache_size = -65536")

    def data_version(self) -> int:
        """Changes when another connection commits: cheap polling for readers (TUI, CLI)."""
        (version,) = self.conn.execute("PRAGMA data_version").fetchone()
        return int(version)

    def message_count(self) -> int:
        (count,) = self.conn.execute("SELECT COUNT(*) FROM messages").fetchone()
        return int(count)

    def stats(self) -> dict[str, int]:
        (messages,) = self.conn.execute("SELECT COUNT(*) FROM messages").fetchone()
        (conversations,) = self.conn.execute("SELECT COUNT(*) FROM conversations").fetchone()
        return {"messages": messages, "conversations": conversations}

    def _rows(self, sql: str, params: Any) -> list[dict[str, Any]]:
        cursor = self.conn.execute(sql, params)
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor]

    @staticmethod
    def _conversation_dict(row: dict[str, Any]) -> dict[str, Any]:
        return {
            "id": row["short_id"],
            "key": row["key"],
            "subject": row["subject"],
            "customer": {"name": row["customer_name"], "email": row["customer_email"]},
            "status": row["status"],
            "assignee": row["assignee"],
            "priority": row["priority"],
            "tags": json.loads(row["tags"]),
            "last_message_at": row["last_message_at"],
            "message_count": row["message_count"],
            "unread": row["unread"],
        }

    @staticmethod
    def _message_dict(row: dict[str, Any]) -> dict[str, Any]:
        return {
            "message_id": row["message_id"],
            "mailbox": row["mailbox"],
            "uid": row["uid"],
            "from": {"name": row["from_name"], "email": row["from_email"]},
            "to": json.loads(row["to_json"]),
            "cc": json.loads(row["cc_json"]),
            "date": row["date"],
            "subject": row["subject"],
            "flags": json.loads(row["flags"]),
            "inbound": bool(row["inbound"]),
            "text": row["text"],
            "text_from_html": bool(row["text_from_html"]),
            "attachments": json.loads(row["attachments"]),
            "warnings": json.loads(row["warnings"]),
        }

    # -- triage actions (imap.actions) ----------------------------------------------------

    def conversation_messages(self, key: str) -> list[dict[str, Any]]:
        """Where a conversation's messages live on the server, with their cached flags."""
        return self._rows(
            "SELECT mailbox, uidvalidity, uid, ts, inbound, flags, modseq FROM messages"
            " WHERE conversation = :key ORDER BY ts, mailbox, uid",
            {"key": key},
        )

    # -- app folder: events, notes, presence, team rules (store.events) -------------------

    _own_reply_rule: bool | None = None

    def own_reply_rule(self) -> bool:
        """Whether an agent's own reply moves Unhandled to In progress.

        The sync records the configured rule (default on); a cache nobody synced with a
        config (a test fill, an old file) derives neutrally, as derive_state does.
        """
        if self._own_reply_rule is None:
            from mailtriage.store import events

            value = events.get_setting(self.conn, "own_reply_moves_to_in_progress")
            self._own_reply_rule = value == "1"
        return self._own_reply_rule

    def set_own_reply_rule(self, enabled: bool) -> None:
        """Record the team's rule in the cache; every conversation is re-derived if it changed."""
        from mailtriage.store import events

        with self.atomic():
            changed = events.set_setting(
                self.conn, "own_reply_moves_to_in_progress", "1" if enabled else "0"
            )
            self._own_reply_rule = enabled
            if changed:
                self.refresh_conversations(
                    k for (k,) in self.conn.execute("SELECT key FROM conversations")
                )
                self.apply_folder_state()

    def timeline(self, key: str) -> list[dict[str, Any]]:
        """Notes and events of a conversation, oldest first (see store.events.timeline)."""
        from mailtriage.store import events

        return events.timeline(self.conn, key)

    def presence(self, key: str, *, exclude: str | None = None) -> list[Any]:
        """Who else is viewing/replying to it now: [Presence(agent, activity, since)]."""
        from mailtriage.store import events

        return events.presence(self.conn, key, exclude=exclude)

    # -- status folders (triage.folders): servers that refuse custom keywords -------------

    def set_status_folders(self, folders: dict[str, str] | None) -> bool:
        """Record the fallback mode (None: keywords work); True when it changed."""
        from mailtriage.store import events
        from mailtriage.triage import folders as tf

        value = json.dumps(folders or {}, ensure_ascii=False, sort_keys=True)
        with self.atomic():
            changed = events.set_setting(self.conn, tf.SETTING, value)
        if changed:
            self.apply_folder_state()
            if not folders:
                with self.atomic():
                    self.refresh_conversations(
                        k for (k,) in self.conn.execute("SELECT key FROM conversations")
                    )
        return changed

    def status_folders(self) -> dict[str, str] | None:
        from mailtriage.store import events
        from mailtriage.triage import folders as tf

        value = events.get_setting(self.conn, tf.SETTING)
        found = json.loads(value) if value else None
        return {str(k): str(v) for k, v in found.items()} if found else None

    def apply_folder_state(self, keys: Iterable[str] | None = None) -> int:
        """In status-folder mode, re-derive status/assignee/priority/tags from where the
        messages are and the app-folder events (refresh_conversations derives from keywords,
        so call this after it); a no-op otherwise. Returns how many rows it rewrote."""
        from mailtriage.triage import folders as tf

        folders = self.status_folders()
        if not folders:
            return 0
        wanted = None if keys is None else set(keys)
        located: dict[str, list[tf.Located]] = {}
        for conv, mailbox, inbound, ts, uid in self.conn.execute(
            "SELECT conversation, mailbox, inbound, ts, uid FROM messages"
        ):
            if wanted is None or conv in wanted:
                located.setdefault(conv, []).append(tf.Located(mailbox, bool(inbound), ts, uid))
        happened: dict[str, list[tuple[str, dict[str, Any]]]] = {}
        for conv, kind, details in self.conn.execute(
            "SELECT conversation, kind, details FROM app_events"
            " WHERE kind IN ('claimed','assigned','status','priority','tagged')"
            " ORDER BY ts, uidvalidity, uid"
        ):
            if conv in located:
                happened.setdefault(conv, []).append((kind, json.loads(details)))
        rows = []
        for conv, messages in located.items():
            state = tf.derive(
                folders,
                messages,
                happened.get(conv, []),
                reply_moves_to_in_progress=self.own_reply_rule(),
            )
            rows.append(
                (state.status, state.assignee, state.priority, json.dumps(state.tags), conv)
            )
        with self.atomic():
            self.conn.executemany(
                "UPDATE conversations SET status=?, assignee=?, priority=?, tags=? WHERE key=?",
                rows,
            )
        return len(rows)
