"""Forget a customer locally (a GDPR-style erasure request): every cached trace, gone from disk.

"Gone" means gone from the file, not just from queries: rows are deleted with
`secure_delete` (freed pages are zeroed), the FTS index is rebuilt (FTS5 otherwise keeps
deleted tokens in its segments until a merge), and the database is vacuumed and its WAL
truncated (the WAL holds old page images). The server's mail is never touched here; what
remains there is reported by the caller (cli_admin).
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path

# Outbox states that are not in flight: safe to delete (a "done" row is a sent reply whose
# copy is in the server's Sent folder; "sending"/"submitted" are still being delivered).
FORGETTABLE_OUTBOX = ("queued", "held", "failed", "cancelled", "done")


@dataclass
class ForgetReport:
    conversations: int = 0
    messages: int = 0
    events: int = 0  # notes, history, review events of those conversations
    outbox: int = 0
    outbox_in_flight: int = 0  # left alone: being delivered right now
    log_lines: int = 0
    conversation_keys: list[str] = field(default_factory=list)


def _matches(email: str) -> tuple[str, tuple[str, ...]]:
    """SQL matching a message that has `email` as sender, counterpart, To or Cc."""
    like = f'%"{email}"%'
    return (
        "lower(from_email) = ? OR lower(counterpart_email) = ?"
        " OR lower(to_json) LIKE ? OR lower(cc_json) LIKE ?",
        (email, email, like, like),
    )


def forget_in_cache(path: Path, email: str) -> ForgetReport:
    """Delete every conversation in which `email` wrote or was written to, with its messages,
    search index rows, thread ids, events, notes and presence."""
    email = email.strip().lower()
    report = ForgetReport()
    conn = sqlite3.connect(path, timeout=30, isolation_level=None)
    try:
        conn.execute("PRAGMA secure_delete = ON")
        where, params = _matches(email)
        conn.execute("BEGIN IMMEDIATE")
        try:
            keys = {
                key
                for (key,) in conn.execute(
                    f"SELECT DISTINCT conversation FROM messages WHERE {where}", params
                )
            }
            keys |= {
                key
                for (key,) in conn.execute(
                    "SELECT key FROM conversations WHERE lower(customer_email) = ?", (email,)
                )
            }
            for key in sorted(keys):
                report.messages += conn.execute(
                    "DELETE FROM messages WHERE conversation = ?", (key,)
                ).rowcount
                conn.execute("DELETE FROM thread_ids WHERE conversation = ?", (key,))
                report.events += conn.execute(
                    "DELETE FROM app_events WHERE conversation = ?", (key,)
                ).rowcount
                conn.execute("DELETE FROM app_presence WHERE conversation = ?", (key,))
                report.conversations += conn.execute(
                    "DELETE FROM conversations WHERE key = ?", (key,)
                ).rowcount
            # A stray message outside any remaining conversation (should not exist).
            report.messages += conn.execute(f"DELETE FROM messages WHERE {where}", params).rowcount
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        report.conversation_keys = sorted(keys)
        # Rebuild from the remaining rows: drops every token of the deleted ones.
        conn.execute("INSERT INTO messages_fts (messages_fts) VALUES ('rebuild')")
        _scrub_file(conn)
    finally:
        conn.close()
    return report


def forget_in_outbox(path: Path, email: str) -> tuple[int, int]:
    """Delete the outbox rows addressed to `email` that are not being delivered; returns
    (deleted, left in flight)."""
    if not path.exists():
        return 0, 0
    email = email.strip().lower()
    conn = sqlite3.connect(path, timeout=30, isolation_level=None)
    try:
        conn.execute("PRAGMA secure_delete = ON")
        rows = conn.execute("SELECT id, recipients, state FROM outbox").fetchall()
        mine = [(i, s) for i, r, s in rows if email in (a.lower() for a in json.loads(r))]
        gone = [i for i, s in mine if s in FORGETTABLE_OUTBOX]
        conn.executemany("DELETE FROM outbox WHERE id = ?", [(i,) for i in gone])
        _scrub_file(conn)
    finally:
        conn.close()
    return len(gone), len(mine) - len(gone)


def forget_in_log(path: Path, email: str) -> int:
    """Drop log lines that mention `email`; returns how many."""
    if not path.exists():
        return 0
    email = email.strip().lower()
    lines = path.read_text(encoding="utf-8", errors="replace").splitlines(keepends=True)
    kept = [line for line in lines if email not in line.lower()]
    if len(kept) != len(lines):
        path.write_text("".join(kept), encoding="utf-8")
    return len(lines) - len(kept)


def _scrub_file(conn: sqlite3.Connection) -> None:
    """Rewrite the file without free pages and empty the WAL, so no deleted byte survives."""
    conn.execute("VACUUM")
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
