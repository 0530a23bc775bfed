"""Writing a batch of new messages: thread them, insert them, index them, in a few statements.

An initial sync of 100k messages spent most of its SQL time on per-message queries (thread
lookups, the subject fallback, one INSERT each). Here a batch costs one lookup per 500 ids,
one per 500 subject-fallback pairs, one executemany and one FTS INSERT … SELECT; threading
decisions are made in memory with exactly the rules a message-at-a-time insert follows
(tests/unit/test_store.py checks one batch against messages one by one).

Runs inside the caller's transaction (Store.atomic): nothing here is visible until it commits.

Conversations are a function of the set of messages, not of the order they arrive in (a cache
rebuilt from the server, newest batch first, groups and keys exactly as the one that saw the
mail arrive): the connected components of two kinds of links —
- a message and every id it names (its own Message-ID, References, In-Reply-To), so replies,
  self-references, cycles and duplicate Message-IDs all join one conversation;
- the subject fallback: a message that references nothing and another with the same
  normalized subject and correspondent that is not newer (ts ≤) than it.
Both only ever add links, so a late message can only merge conversations, never split one.
A conversation's key is that of its earliest message (by ts, mailbox, uid): the hash of the
root it names (first reference, else In-Reply-To, else its own id). Messages arriving in time
order keep the key the first message gave; otherwise the conversation is renamed, and the
events logged under the old key still belong to it: cached ones move with the rename, and
ones fetched later under a key this cache no longer (or never) had are filed under the
conversation whose id that key hashes (store.events.file_orphans, README "How keys map").
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from mailtriage.store.events import rekey_events
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


# What json.dumps(value, ensure_ascii=False) does, minus building an encoder per call: that
# was half the cost of encoding 700k lists in an initial sync of 100k messages.
_encode = json.JSONEncoder(ensure_ascii=False).encode


def json_list(value: list[Any] | str) -> str:
    """A list as the cache stores it (JSON text); text is taken as already encoded (the parse
    worker encodes a row's address lists there, off the core that writes SQLite)."""
    if value.__class__ is str:
        return value  # type: ignore[return-value]
    # Most lists here are empty (cc, warnings, attachments of a header-only row).
    return _encode(value) if value else "[]"


def _chunks(items: Sequence[object], size: int = CHUNK) -> Iterable[Sequence[object]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def row_ids(row: MessageRow) -> list[str]:
    """The ids a message ties to its conversation: references, in-reply-to, its own."""
    ids = [*row.references, *row.in_reply_to]
    if row.message_id:
        ids.append(row.message_id)
    return list(dict.fromkeys(ids))


def root_key(
    message_id: str | None,
    references: list[str],
    in_reply_to: list[str],
    where: tuple[str, int, int],
) -> str:
    """The key a conversation whose earliest message is this one has."""
    mailbox, uidvalidity, uid = where
    root = thread_root(message_id, references, in_reply_to)
    return conversation_key(root or f"<uid:{mailbox}:{uidvalidity}:{uid}>")


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
        self.renamed: dict[str, str] = {}  # a key merged or renamed away -> its successor

    def run(self, rows: Sequence[MessageRow]) -> Inserted:
        # The order conversation keys are defined by (see the module docstring).
        fresh = self._uncached(sorted(rows, key=lambda r: (r.ts, r.mailbox, r.uid)))
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
                if found is not None and found[0] <= row.ts:
                    key = found[1]
                else:
                    # A newer message with the subject is no fallback target; any older one
                    # in another conversation is found by _link_subjects below.
                    key = root_key(
                        row.message_id,
                        row.references,
                        row.in_reply_to,
                        (row.mailbox, row.uidvalidity, row.uid),
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
        self._link_subjects(fresh, before)
        self._canonical_keys(set(self.keys.values()) | self.merged)
        self._adopt_events()
        if self.index_search:
            # Rows inserted by this one writer inside one transaction have consecutive ids.
            self.conn.execute(FTS_INSERT, (before,))
        # Merges can reach conversations this batch adds nothing to: refresh those too.
        touched = set(self.keys.values()) | self.merged
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

    def _link_subjects(self, fresh: Sequence[MessageRow], before: int) -> None:
        """Merge the conversations the subject fallback links, wherever their messages are.

        Per pair (normalized subject, correspondent), conversation X is linked to Y when Y
        has a reference-less message no older than X's oldest one with that pair; the
        per-message fallback above only looked at the newest message it knew of. So with
        the newest reference-less message of the pair at time P, every conversation with a
        message of the pair at or before P is one.
        """
        self._flush()
        # (oldest ts, newest reference-less ts) per pair and conversation: from this batch
        # in memory, and from the cache only for pairs it held before the batch (the index
        # answers that without reading a row; at an initial sync few pairs span batches).
        stats: dict[tuple[str, str], dict[str, tuple[float, float | None]]] = {}
        for index, row in enumerate(fresh):
            if not (row.norm_subject and row.counterpart_email):
                continue
            key = self.keys[index]
            groups = stats.setdefault((row.norm_subject, row.counterpart_email), {})
            oldest, plain = groups.get(key, (row.ts, None))
            if fallback_pair(row) is not None:
                plain = row.ts if plain is None else max(plain, row.ts)
            groups[key] = (min(oldest, row.ts), plain)
        for chunk in _chunks(sorted(stats)):
            values = ",".join("(?, ?)" for _ in chunk)
            params = [value for pair in chunk for value in pair]  # type: ignore[union-attr]
            older = self.conn.execute(
                f"WITH wanted (s, e) AS (VALUES {values}) SELECT DISTINCT s, e FROM wanted"
                " WHERE EXISTS (SELECT 1 FROM messages m WHERE m.norm_subject = s"
                " AND m.counterpart_email = e AND m.id <= ?)",
                [*params, before],
            ).fetchall()
            for start in range(0, len(older), CHUNK):
                part = older[start : start + CHUNK]
                values = ",".join("(?, ?)" for _ in part)
                for pair in part:
                    stats[pair] = {}
                for subject, email, key, oldest, plain in self.conn.execute(
                    f"WITH wanted (s, e) AS (VALUES {values})"
                    " SELECT m.norm_subject, m.counterpart_email, m.conversation, MIN(m.ts),"
                    " MAX(CASE WHEN m.refs = '[]' AND m.in_reply_to = '[]' THEN m.ts END)"
                    " FROM wanted JOIN messages m ON m.norm_subject = wanted.s"
                    " AND m.counterpart_email = wanted.e GROUP BY 1, 2, 3",
                    [value for pair in part for value in pair],
                ):
                    stats[(subject, email)][key] = (oldest, plain)
        for groups in stats.values():
            if len(groups) < 2:
                continue
            newest_plain = max((p for _, p in groups.values() if p is not None), default=None)
            if newest_plain is None:
                continue
            linked = [key for key, (oldest, _) in groups.items() if oldest <= newest_plain]
            if len(linked) > 1:
                self._merge([self._current(k) for k in linked])

    def _current(self, key: str) -> str:
        return self.renamed.get(key, key)

    def _canonical_keys(self, keys: set[str]) -> None:
        """Give each conversation the key of its earliest message (module docstring).

        Only conversations that had messages before this batch or were merged can be off:
        one this batch created was created by its earliest message (rows go oldest first).
        """
        suspects = sorted(self._existing_conversations(keys) | (self.merged & keys))
        for chunk in _chunks(suspects):
            marks = ",".join("?" * len(chunk))
            rows = self.conn.execute(
                "SELECT conversation, message_id, refs, in_reply_to, mailbox, uidvalidity, uid"
                " FROM (SELECT *, ROW_NUMBER() OVER (PARTITION BY conversation"
                " ORDER BY ts, mailbox, uid) AS n FROM messages"
                f" WHERE conversation IN ({marks})) WHERE n = 1",
                chunk,
            ).fetchall()
            for key, message_id, refs, irt, mailbox, uidvalidity, uid in rows:
                wanted = root_key(
                    message_id, json.loads(refs), json.loads(irt), (mailbox, uidvalidity, uid)
                )
                if wanted != key:
                    self._rename(key, wanted)

    def _adopt_events(self) -> None:
        """Events the server logged under a key this cache's conversation never had (it was
        built from mail in another order): file them under the conversation now, as a merge
        or rename does. Such a key is the hash of one of the conversation's ids, added to
        the cache by this batch (earlier batches adopted theirs)."""
        orphans = {
            key
            for (key,) in self.conn.execute(
                "SELECT DISTINCT conversation FROM app_events WHERE conversation NOT IN"
                " (SELECT key FROM conversations)"
            )
        }
        if not orphans:
            return
        for message_id, key in self.added.items():
            old = conversation_key(message_id)
            if old in orphans and old != key:
                rekey_events(self.conn, [old], key)

    def _rename(self, old: str, new: str) -> None:
        (taken,) = self.conn.execute(
            "SELECT COUNT(*) FROM messages WHERE conversation = ?", (new,)
        ).fetchone()
        if taken:  # only if two roots hash alike: then they are one conversation
            survivor = self._merge([old, new])
            if survivor == new:
                return
            old = survivor
        self.conn.execute("UPDATE messages SET conversation=? WHERE conversation=?", (new, old))
        self.conn.execute("UPDATE thread_ids SET conversation=? WHERE conversation=?", (new, old))
        self.conn.execute("DELETE FROM conversations WHERE key=?", (old,))
        rekey_events(self.conn, [old], new)
        self._relabel({old}, new)
        self.merged.discard(old)
        self.merged.add(new)  # partly in the cache: its row is rebuilt from all its messages

    def _relabel(self, losers: set[str], survivor: str) -> None:
        for mapping in (self.thread, self.added, self.keys):
            for name, key in mapping.items():
                if key in losers:
                    mapping[name] = survivor  # type: ignore[index]
        for pair, (ts, key) in self.fallback.items():
            if key in losers:
                self.fallback[pair] = (ts, survivor)
        for loser in losers:
            self.renamed[loser] = survivor
        for name, key in self.renamed.items():
            if key in losers:
                self.renamed[name] = survivor

    def _merge(self, keys: list[str]) -> str:
        """A message proves several conversations are one: the SQL merge, on the rows
        inserted so far, then the same renaming in this batch's memory."""
        self._flush()
        keys = list(dict.fromkeys(keys))
        if len(keys) < 2:
            return keys[0]
        survivor = self._merge_sql(keys)
        self.merged.add(survivor)
        losers = set(keys) - {survivor}
        self.merged -= losers
        self._relabel(losers, survivor)
        return survivor

    def _flush(self) -> None:
        if not self.pending:
            return
        # Rows from the parse worker share one flags list per distinct set (imap.parsing):
        # encode each once.
        flag_texts: dict[int, str] = {}

        def flags_text(flags: list[str]) -> str:
            text = flag_texts.get(id(flags))
            if text is None:
                text = flag_texts[id(flags)] = json_list(flags)
            return text

        self.conn.executemany(
            _INSERT,
            [
                (
                    row.mailbox,
                    row.uidvalidity,
                    row.uid,
                    row.message_id,
                    json_list(row.in_reply_to),
                    json_list(row.references),
                    row.subject,
                    row.norm_subject,
                    row.from_name,
                    row.from_email,
                    json_list(row.to),
                    json_list(row.cc),
                    row.date,
                    row.ts,
                    flags_text(row.flags),
                    row.modseq,
                    row.size,
                    int(row.inbound),
                    row.counterpart_name,
                    row.counterpart_email,
                    row.text,
                    int(row.text_from_html),
                    json_list(row.attachments),
                    json_list(row.warnings),
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
