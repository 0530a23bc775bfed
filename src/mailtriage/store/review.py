"""Cheap reads of the review state for the list and the reader ("awaiting review").

The truth is the draft's keyword in Drafts (compose.review); these read the "reviewed"
events the app folder sync already brought into the cache, so they cost one indexed query
and no network. A submission logs details.state "pending"; a decision "approved"/"returned".
"""

from __future__ import annotations

import json
import sqlite3
from typing import Any


def review_state(conn: sqlite3.Connection, key: str) -> dict[str, Any] | None:
    """The newest review event of a conversation: {"state", "review", "author", "agent",
    "time", "note"?}, or None when it was never submitted for review."""
    row = conn.execute(
        "SELECT agent, ts, details FROM app_events WHERE conversation=? AND kind='reviewed'"
        " ORDER BY ts DESC LIMIT 1",
        (key,),
    ).fetchone()
    if row is None:
        return None
    details = json.loads(row[2])
    return dict(details, agent=row[0], time=row[1])


def awaiting_review(conn: sqlite3.Connection, key: str) -> bool:
    found = review_state(conn, key)
    return found is not None and found.get("state") == "pending"


def conversations_awaiting_review(conn: sqlite3.Connection) -> set[str]:
    """Every conversation whose newest review event is a submission (for list badges)."""
    rows = conn.execute(
        "SELECT conversation, json_extract(details, '$.state') FROM app_events AS e"
        " WHERE kind='reviewed' AND ts = (SELECT MAX(ts) FROM app_events"
        " WHERE kind='reviewed' AND conversation=e.conversation)"
    )
    return {key for key, state in rows if state == "pending"}
