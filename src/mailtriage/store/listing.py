"""Paged reads for the TUI's virtual list: all ids of a view at once, rows a page at a time.

Loading 100k keys is one indexed scan (tens of ms); a 128-row page is < 1 ms, so the list
never holds more than a few pages of rows in memory.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from typing import Any

from mailtriage.store.cache import VIEW_WHERE

SORTS = {
    # Unhandled: whoever has waited longest comes first, as in a helpdesk queue.
    "oldest": "last_ts ASC, key",
    "newest": "last_ts DESC, key",
}
DEFAULT_SORT = {"unhandled": "oldest"}
PAGE_SIZE = 128


def default_sort(view: str) -> str:
    return DEFAULT_SORT.get(view, "newest")


def view_keys(
    conn: sqlite3.Connection, view: str, *, agent: str | None, sort: str | None = None
) -> list[str]:
    where, _ = VIEW_WHERE[view]
    order = SORTS[sort or default_sort(view)]
    rows = conn.execute(
        f"SELECT key FROM conversations WHERE {where} ORDER BY {order}", {"agent": agent}
    )
    return [key for (key,) in rows]


def view_counts(conn: sqlite3.Connection, *, agent: str | None) -> dict[str, int]:
    """Every view's count in one pass over the conversations table."""
    columns = ", ".join(
        f"SUM(CASE WHEN {where} THEN 1 ELSE 0 END)" for where, _ in VIEW_WHERE.values()
    )
    row = conn.execute(f"SELECT {columns} FROM conversations", {"agent": agent}).fetchone()
    return {view: int(n or 0) for view, n in zip(VIEW_WHERE, row, strict=True)}


def conversation_rows(conn: sqlite3.Connection, keys: Sequence[str]) -> dict[str, dict[str, Any]]:
    """Rows for the list, keyed by conversation key (attachment/warning markers included)."""
    if not keys:
        return {}
    marks = ",".join("?" * len(keys))
    cursor = conn.execute(
        "SELECT c.key, c.short_id, c.subject, c.customer_name, c.customer_email, c.status,"
        " c.assignee, c.priority, c.tags, c.last_ts, c.first_ts, c.message_count, c.unread,"
        " EXISTS (SELECT 1 FROM messages m WHERE m.conversation = c.key"
        "         AND m.attachments != '[]') AS has_attachments,"
        " EXISTS (SELECT 1 FROM messages m WHERE m.conversation = c.key"
        "         AND m.warnings != '[]') AS has_warnings"
        f" FROM conversations c WHERE c.key IN ({marks})",
        list(keys),
    )
    names = [d[0] for d in cursor.description]
    out: dict[str, dict[str, Any]] = {}
    for values in cursor:
        row = dict(zip(names, values, strict=True))
        row["tags"] = json.loads(row["tags"])
        out[row["key"]] = row
    return out


def customer_history(
    conn: sqlite3.Connection, email: str, *, exclude: str | None = None, limit: int = 50
) -> list[dict[str, Any]]:
    """This customer's other conversations, newest first, so a colleague can cover."""
    cursor = conn.execute(
        "SELECT key, short_id, subject, status, assignee, last_ts, message_count"
        " FROM conversations WHERE customer_email = ? AND key != ? ORDER BY last_ts DESC"
        " LIMIT ?",
        (email, exclude or "", limit),
    )
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, values, strict=True)) for values in cursor]


def data_version(conn: sqlite3.Connection) -> int:
    """Changes when another connection (the sync worker, another process) commits."""
    (version,) = conn.execute("PRAGMA data_version").fetchone()
    return int(version)


def raw_message(conn: sqlite3.Connection, mailbox: str, uid: int) -> bytes | None:
    """The cached raw message (None until its body has been fetched)."""
    row = conn.execute(
        "SELECT raw FROM messages WHERE mailbox = ? AND uid = ? ORDER BY uidvalidity DESC",
        (mailbox, uid),
    ).fetchone()
    return row[0] if row and row[0] else None


def conversation_of(conn: sqlite3.Connection, message_ids: Sequence[str | None]) -> str | None:
    """The conversation these messages belong to now (after a merge, the survivor)."""
    for message_id in message_ids:
        if message_id:
            row = conn.execute(
                "SELECT conversation FROM thread_ids WHERE message_id = ?", (message_id,)
            ).fetchone()
            if row:
                return str(row[0])
    return None
