"""Reads for the auto-acknowledgement pass (compose.autoack): which conversations may get one,
and how many a sender got lately. Keywords on the server are the truth (`mt:auto-ack*` on a
conversation's first customer message, `mt:auto-replied` on our Sent copy); these read the
cached flags, so a pass with nothing new costs one indexed query.
"""

from __future__ import annotations

import sqlite3

# `mt:auto-ack` (sent) or `mt:auto-ack/none` (decided not to): either way, decided.
DECIDED_PATTERN = '%"mt:auto-ack%'
AUTO_REPLIED_PATTERN = '%"mt:auto-replied"%'


def candidates(conn: sqlite3.Connection, since: float) -> list[str]:
    """Unhandled conversations that began after `since`, with no reply of ours (automatic or
    not) and no auto-acknowledgement decision yet, oldest first."""
    rows = conn.execute(
        "SELECT c.key FROM conversations AS c WHERE c.status = 'unhandled' AND c.first_ts >= ?"
        " AND NOT EXISTS (SELECT 1 FROM messages AS m WHERE m.conversation = c.key"
        "   AND (m.inbound = 0 OR m.flags LIKE ?))"
        " ORDER BY c.first_ts",
        (since, DECIDED_PATTERN),
    )
    return [key for (key,) in rows]


def auto_replies_to(conn: sqlite3.Connection, address: str, since: float) -> int:
    """Our automatic replies (Sent copies marked `mt:auto-replied`) to `address` since."""
    row = conn.execute(
        "SELECT COUNT(*) FROM messages WHERE inbound = 0 AND lower(counterpart_email) = ?"
        " AND ts >= ? AND flags LIKE ?",
        (address.lower(), since, AUTO_REPLIED_PATTERN),
    ).fetchone()
    return int(row[0])
