"""A folder's first sync of many messages as one transaction, indexes built at the end.

At 100k messages half the SQL time of an initial sync was COMMIT rewriting index pages:
every batch adds rows at random places in the Message-ID, short-id and list-order indexes,
so each commit wrote most of their pages again, and the search index merged its segments
batch after batch. Here the batches after the first few (which commit on their own, so the
newest mail shows at once) go into one transaction that drops the indexes no insert reads,
leaves the search index alone, and at the end indexes the new rows in one statement and
builds each dropped index with one sort.

DDL is transactional in SQLite, so this needs no repair step: a process killed mid-way
leaves the cache as the last commit before the bulk load (indexes and search included), the
mailbox state is not advanced, and the next sync fetches the rest again. Readers (the app, a
second process) keep reading that committed snapshot in WAL mode until the commit.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from mailtriage.store.ingest import FTS_INSERT, last_id

# Indexes no insert, thread lookup or conversation refresh reads (the list views, search
# and short ids do): updated row by row they were most of the random index writes.
DEFERRED_INDEXES = (
    "messages_message_id",
    "messages_id_conversation_ts",
    "messages_body_missing",
    "conversations_short_id",
    "conversations_status",
    "conversations_last",
)


@contextmanager
def bulk_transaction(conn: sqlite3.Connection) -> Iterator[None]:
    """BEGIN, drop the deferred indexes, run the body (inserts without search indexing),
    then index the new rows, rebuild the indexes and COMMIT; any exception rolls it all
    back, the dropped indexes with it."""
    if conn.in_transaction:
        raise RuntimeError("a bulk load is its own transaction; one is already open")
    conn.execute("BEGIN IMMEDIATE")
    try:
        marks = ",".join("?" * len(DEFERRED_INDEXES))
        dropped = conn.execute(
            f"SELECT name, sql FROM sqlite_master WHERE type = 'index' AND name IN ({marks})",
            DEFERRED_INDEXES,
        ).fetchall()
        for name, _sql in dropped:
            conn.execute(f"DROP INDEX {name}")
        before = last_id(conn)
        yield
        conn.execute(FTS_INSERT, (before,))
        for _name, sql in dropped:
            conn.execute(sql)
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


# SQLite's default: a commit that leaves the WAL above this many pages checkpoints it.
WAL_AUTOCHECKPOINT = 1000


def checkpoint_in_background(path: Path) -> threading.Thread:
    """Copy the WAL into the database on a thread of its own, with its own connection.

    A bulk load of 100k messages leaves ~200 MB in the WAL; its COMMIT's checkpoint took
    0.4-0.9 s of an initial sync's wall time, after everything else had finished. A PASSIVE
    checkpoint runs beside readers and the writer (SQLite releases the GIL), so the sync
    stores Sent and the prefetched bodies meanwhile. Store.close() waits for it; a process
    killed mid-way loses nothing (the WAL stays until the next checkpoint)."""

    def run() -> None:
        try:
            conn = sqlite3.connect(path, timeout=30)
            try:
                conn.execute("PRAGMA wal_checkpoint(PASSIVE)")
            finally:
                conn.close()
        except sqlite3.Error:
            # Only an optimisation: the next commit or close checkpoints instead.
            logging.getLogger(__name__).debug("background checkpoint failed", exc_info=True)

    thread = threading.Thread(target=run, name="cache-checkpoint", daemon=True)
    thread.start()
    return thread
