"""Writing a batch of new messages: thread them, insert them, index them, in a few statements.

An initial sync of 100k messages spent most of its SQL time on per-message queries (thread
lookups, the subject fallback, one INSERT each). Here a batch costs one lookup per 500 ids,
one per 500 subject-fallback pairs, one executemany and one FTS INSERT … SELECT; threading
decisions are made in memory with exactly the rules a message-at-a-time insert follows
(tests/unit/test_store.py checks one batch against messages one by one).

Runs inside the caller's transaction (Store.atomic): nothing here is visible until it commits.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from mailtriage.triage.threads import conversation_key, thread_root

if TYPE_CHECKING:
    from mailtriage.store.cache import MessageRow

CHUNK = 500  # ids per IN (...): far below SQLite's variable limit, still few round trips

_INSERT = (
    "INSERT INTO messages (mailbox, uidvalidity, uid, message_id, in_reply_to, refs, subject,"
    " norm_subject, from_name, from_email, to_json, cc_json, date, ts, flags, modseq, size,"
    " inbound, counterpart_name, counterpart_email, text, text_from_html, attachments,"
    " warnings, raw, conversation, body_fetched) VALUES"
    " (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


# The search index's view of new rows (those after a rowid): store.search relies on the two
# newlines after each column (one- and two-character terms), as the UPDATE trigger does.
FTS_INSERT = (
    "INSERT INTO messages_fts (rowid, subject, sender, body) SELECT id,"
    " subject || char(10, 10), from_name || ' ' || from_email || char(10, 10),"
    " text || char(10, 10) FROM messages WHERE id > ?"
)


def last_id(conn: sqlite3.Connection) -> int:
    (found,) = conn.execute("SELECT COALESCE(MAX(id), 0) FROM messages").fetchone()
    return int(found)


def _json(value: list[object]) -> str:
    # Most lists here are empty (cc, warnings, attachments of a header-only row).
    return json.dumps(value, ensure_ascii=False) if value else "[]"


def _chunks(items: Sequence[object], size: int = CHUNK) -> Iterable[Sequence[object]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def row_ids(row: MessageRow) -> list[str]:
    """The ids a message ties to its conversation: references, in-reply-to, its own."""
    ids = [*row.references, *row.in_reply_to]
    if row.message_id:
        ids.append(row.message_id)
    return list(dict.fromkeys(ids))


def fallback_pair(row: MessageRow) -> tuple[str, str] | None:
    # Only for messages that reference nothing, and only with the same correspondent:
    # "お問い合わせ" from two customers is two tickets.
    if row.references or row.in_reply_to or not row.norm_subject or not row.counterpart_email:
        return None
    return row.norm_subject, row.counterpart_email


@dataclass
class Inserted:
    """What a batch added: the conversation keys it touched, and its rows by key (oldest
    first) for conversations that did not exist before the batch."""

    touched: set[str]
    new_conversations: dict[str, list[MessageRow]]


class BatchInsert:
    def __init__(
        self,
        conn: sqlite3.Connection,
        merge: Callable[[list[str]], str],
        *,
        index_search: bool = True,
    ):
        self.conn = conn
        self.index_search = index_search  # False: a bulk load indexes its rows at the end
        self._merge_sql = merge
        self.thread: dict[str, str] = {}  # Message-ID -> conversation, db and this batch
        self.added: dict[str, str] = {}  # the part of `thread` still to write
        self.fallback: dict[tuple[str, str], tuple[float, str]] = {}  # newest (ts, key)
        self.pending: list[tuple[MessageRow, str]] = []  # rows not yet inserted
        self.keys: dict[int, str] = {}  # index in the batch -> conversation key
        self.merged: set[str] = set()  # survivors: their rows are partly in the cache

    def run(self, rows: Sequence[MessageRow]) -> Inserted:
        fresh = self._uncached(sorted(rows, key=lambda r: (r.ts, r.uid)))
        if not fresh:
            return Inserted(set(), {})
        before = last_id(self.conn)
        ids_per_row = [row_ids(row) for row in fresh]
        self._load_thread_ids({i for ids in ids_per_row for i in ids})
        self._load_fallbacks({p for row in fresh if (p := fallback_pair(row)) is not None})
        for index, (row, ids) in enumerate(zip(fresh, ids_per_row, strict=True)):
            existing = list(dict.fromkeys(self.thread[i] for i in ids if i in self.thread))
            if len(existing) > 1:
                key = self._merge(existing)
            elif existing:
                key = existing[0]
            else:
                pair = fallback_pair(row)
                found = self.fallback.get(pair) if pair is not None else None
                key = (
                    found[1]
                    if found is not None
                    else conversation_key(
                        thread_root(row.message_id, row.references, row.in_reply_to)
                        or f"<uid:{row.mailbox}:{row.uidvalidity}:{row.uid}>"
                    )
                )
            for message_id in ids:
                if message_id not in self.thread:
                    self.thread[message_id] = self.added[message_id] = key
            # Any message can be the one a later reference-less message falls back to.
            pair = (row.norm_subject, row.counterpart_email)
            if pair not in self.fallback or self.fallback[pair][0] <= row.ts:
                self.fallback[pair] = (row.ts, key)
            self.keys[index] = key
            self.pending.append((row, key))
        self._flush()
        self.conn.executemany(
            "INSERT INTO thread_ids (message_id, conversation) VALUES (?, ?)"
            " ON CONFLICT (message_id) DO NOTHING",
            list(self.added.items()),
        )
        if self.index_search:
            # Rows inserted by this one writer inside one transaction have consecutive ids.
            self.conn.execute(FTS_INSERT, (before,))
        touched = set(self.keys.values())
        existed = self._existing_conversations(touched) | self.merged
        new: dict[str, list[MessageRow]] = {key: [] for key in touched - existed}
        for index, row in enumerate(fresh):
            if self.keys[index] in new:
                new[self.keys[index]].append(row)
        return Inserted(touched, new)

    def _uncached(self, rows: Sequence[MessageRow]) -> list[MessageRow]:
        """Rows not in the cache yet, in their order (a resumed sync may fetch a UID twice;
        a UID twice in one batch: the first one counts, as with INSERT OR IGNORE)."""
        uids: dict[tuple[str, int], set[int]] = {}
        for row in rows:
            uids.setdefault((row.mailbox, row.uidvalidity), set()).add(row.uid)
        seen: set[tuple[str, int, int]] = set()
        for (mailbox, uidvalidity), wanted in uids.items():
            for chunk in _chunks(sorted(wanted)):
                marks = ",".join("?" * len(chunk))
                seen.update(
                    (mailbox, uidvalidity, uid)
                    for (uid,) in self.conn.execute(
                        "SELECT uid FROM messages WHERE mailbox=? AND uidvalidity=?"
                        f" AND uid IN ({marks})",
                        [mailbox, uidvalidity, *chunk],
                    )
                )
        fresh: list[MessageRow] = []
        for row in rows:
            where = (row.mailbox, row.uidvalidity, row.uid)
            if where not in seen:
                seen.add(where)
                fresh.append(row)
        return fresh

    def _load_thread_ids(self, ids: set[str]) -> None:
        for chunk in _chunks(sorted(ids)):
            marks = ",".join("?" * len(chunk))
            self.thread.update(
                self.conn.execute(
                    "SELECT message_id, conversation FROM thread_ids"
                    f" WHERE message_id IN ({marks})",
                    chunk,
                )
            )

    def _load_fallbacks(self, pairs: set[tuple[str, str]]) -> None:
        # The newest cached message per pair, through the (norm_subject, counterpart_email,
        # ts) index: one probe per pair, 500 pairs per statement.
        for chunk in _chunks(sorted(pairs)):
            values = ",".join("(?, ?)" for _ in chunk)
            params = [value for pair in chunk for value in pair]  # type: ignore[union-attr]
            for subject, email, ts, key in self.conn.execute(
                f"WITH wanted (s, e) AS (VALUES {values})"
                " SELECT wanted.s, wanted.e, m.ts, m.conversation FROM wanted"
                " JOIN messages m ON m.id = (SELECT id FROM messages WHERE norm_subject ="
                " wanted.s AND counterpart_email = wanted.e ORDER BY ts DESC LIMIT 1)",
                params,
            ):
                self.fallback[(subject, email)] = (ts, key)

    def _merge(self, keys: list[str]) -> str:
        """A message proves several conversations are one: the SQL merge, on the rows
        inserted so far, then the same renaming in this batch's memory."""
        self._flush()
        survivor = self._merge_sql(keys)
        self.merged.add(survivor)
        losers = set(keys) - {survivor}
        for mapping in (self.thread, self.added, self.keys):
            for name, key in mapping.items():
                if key in losers:
                    mapping[name] = survivor  # type: ignore[index]
        for pair, (ts, key) in self.fallback.items():
            if key in losers:
                self.fallback[pair] = (ts, survivor)
        return survivor

    def _flush(self) -> None:
        if not self.pending:
            return
        self.conn.executemany(
            _INSERT,
            [
                (
                    row.mailbox,
                    row.uidvalidity,
                    row.uid,
                    row.message_id,
                    _json(row.in_reply_to),  # type: ignore[arg-type]
                    _json(row.references),  # type: ignore[arg-type]
                    row.subject,
                    row.norm_subject,
                    row.from_name,
                    row.from_email,
                    _json(row.to),  # type: ignore[arg-type]
                    _json(row.cc),  # type: ignore[arg-type]
                    row.date,
                    row.ts,
                    _json(row.flags),  # type: ignore[arg-type]
                    row.modseq,
                    row.size,
                    int(row.inbound),
                    row.counterpart_name,
                    row.counterpart_email,
                    row.text,
                    int(row.text_from_html),
                    _json(row.attachments),  # type: ignore[arg-type]
                    _json(row.warnings),  # type: ignore[arg-type]
                    row.raw,
                    key,
                    int(row.body_fetched),
                )
                for row, key in self.pending
            ],
        )
        self.pending.clear()

    def _existing_conversations(self, keys: set[str]) -> set[str]:
        found: set[str] = set()
        for chunk in _chunks(sorted(keys)):
            marks = ",".join("?" * len(chunk))
            found.update(
                k
                for (k,) in self.conn.execute(
                    f"SELECT key FROM conversations WHERE key IN ({marks})", chunk
                )
            )
        return found
