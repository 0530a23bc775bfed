"""The cached app folder: events, notes and presence (DESIGN.md §2), and team rule settings.

The server's app folder is the truth; these rows are what `imap.appfolder` fetched from it.
Every function takes the Store's connection, so readers (TUI, CLI) and writers (sync, actions)
share one set of queries.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

# An announcing process refreshes every PRESENCE_REFRESH seconds; a dead one's presence is
# ignored PRESENCE_TTL seconds after its last refresh (the issue asks for < 2 minutes).
PRESENCE_REFRESH = 30.0
PRESENCE_TTL = 90.0

EVENT_KINDS = (
    "claimed",
    "assigned",
    "status",
    "priority",
    "tagged",
    "replied",
    "noted",
    "reviewed",
    "reopened",
    "kb-used",  # a KB article went into a reply (details: article, title, how)
    "rated",  # a CSAT rating came back by mail (sla.csat)
    # escalation and handover (triage.escalation, triage.handover)
    "escalated",
    "deescalated",
    "forwarded",
    "handover",
    "away",
)
ACTIVITIES = ("viewing", "replying")


@dataclass(frozen=True)
class EventRow:
    uidvalidity: int
    uid: int
    event_id: str
    conversation: str
    kind: str
    agent: str
    ts: float
    text: str = ""
    details: dict[str, Any] = field(default_factory=dict)
    mentions: tuple[str, ...] = ()


@dataclass(frozen=True)
class PresenceRow:
    uidvalidity: int
    uid: int
    agent: str
    conversation: str
    activity: str  # "" once the agent cleared it
    since: float
    ts: float


@dataclass(frozen=True)
class Presence:
    agent: str
    activity: str
    since: float  # epoch seconds the agent started this activity on this conversation


# -- writes (app folder sync) -------------------------------------------------------------


def folder_state(conn: sqlite3.Connection, name: str) -> tuple[int, int] | None:
    row = conn.execute(
        "SELECT uidvalidity, uidnext FROM app_folder_state WHERE name=?", (name,)
    ).fetchone()
    return (int(row[0]), int(row[1])) if row else None


def set_folder_state(conn: sqlite3.Connection, name: str, uidvalidity: int, uidnext: int) -> None:
    conn.execute(
        "INSERT INTO app_folder_state (name, uidvalidity, uidnext) VALUES (?, ?, ?)"
        " ON CONFLICT (name) DO UPDATE SET uidvalidity=excluded.uidvalidity,"
        " uidnext=MAX(excluded.uidnext, CASE WHEN uidvalidity=excluded.uidvalidity"
        " THEN uidnext ELSE 0 END)",
        (name, uidvalidity, uidnext),
    )


def forget_folder(conn: sqlite3.Connection, name: str) -> None:
    """The folder's UIDVALIDITY changed: its UIDs mean nothing now; refetch everything."""
    conn.execute("DELETE FROM app_events")
    conn.execute("DELETE FROM app_presence")
    conn.execute("DELETE FROM app_folder_state WHERE name=?", (name,))


def insert_events(conn: sqlite3.Connection, rows: Iterable[EventRow]) -> int:
    count = 0
    for r in rows:
        cursor = conn.execute(
            "INSERT OR IGNORE INTO app_events (uidvalidity, uid, event_id, conversation, kind,"
            " agent, ts, text, details, mentions) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                r.uidvalidity,
                r.uid,
                r.event_id,
                r.conversation,
                r.kind,
                r.agent,
                r.ts,
                r.text,
                json.dumps(r.details, ensure_ascii=False),
                json.dumps(list(r.mentions)),
            ),
        )
        count += cursor.rowcount
    return count


def insert_presence(conn: sqlite3.Connection, rows: Iterable[PresenceRow]) -> int:
    count = 0
    for r in rows:
        cursor = conn.execute(
            "INSERT OR IGNORE INTO app_presence (uidvalidity, uid, agent, conversation,"
            " activity, since, ts) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (r.uidvalidity, r.uid, r.agent, r.conversation, r.activity, r.since, r.ts),
        )
        count += cursor.rowcount
    return count


def stale_presence_uids(
    conn: sqlite3.Connection, uidvalidity: int, agent: str, keep_uid: int | None, before: float
) -> list[int]:
    """Presence messages to delete on the server: this agent's superseded ones, and anyone's
    long expired ones (a process that died leaves its last one behind)."""
    rows = conn.execute(
        "SELECT uid FROM app_presence WHERE uidvalidity=? AND uid != ? AND (agent=? OR ts < ?)",
        (uidvalidity, keep_uid or 0, agent, before),
    )
    return [int(uid) for (uid,) in rows]


def forget_presence(conn: sqlite3.Connection, uidvalidity: int, uids: Iterable[int]) -> None:
    conn.executemany(
        "DELETE FROM app_presence WHERE uidvalidity=? AND uid=?",
        [(uidvalidity, uid) for uid in uids],
    )


# -- reads --------------------------------------------------------------------------------


def rekey_events(conn: sqlite3.Connection, old: Sequence[str], new: str) -> None:
    """A conversation merged into or renamed to `new`: its cached events and presence follow,
    so lookups by key (KPIs, review state, the last event) keep finding them. The server's
    items keep the key they were logged under; file_orphans files those fetched later."""
    marks = ",".join("?" * len(old))
    for table in ("app_events", "app_presence"):
        conn.execute(
            f"UPDATE {table} SET conversation=? WHERE conversation IN ({marks})", [new, *old]
        )


def file_orphans(conn: sqlite3.Connection, keys: Iterable[str]) -> dict[str, str]:
    """File events and presence logged under a key no cached conversation has under the
    conversation that key belongs to; return {old key: conversation}.

    An agent whose cache has not seen the late message that renamed (or merged) a
    conversation still logs under the key it knows. That key is the hash of one of the
    conversation's ids (its old root, or a subject-fallback message's own id), and thread_ids
    maps every id to its conversation, so the owner is found by hashing them: one pass over
    thread_ids, only when a newly fetched item names an unknown key. A key nothing here
    hashes to (mail not synced yet) stays as it is; the batch that brings that mail adopts
    it (store.ingest).
    """
    from mailtriage.triage.threads import conversation_key

    unknown = set()
    for key in set(keys):
        if conn.execute("SELECT 1 FROM conversations WHERE key=?", (key,)).fetchone() is None:
            unknown.add(key)
    if not unknown:
        return {}
    owners: dict[str, str] = {}
    for message_id, conversation in conn.execute("SELECT message_id, conversation FROM thread_ids"):
        key = conversation_key(message_id)
        if key in unknown and key != conversation:
            owners[key] = conversation
    for old, conversation in owners.items():
        rekey_events(conn, [old], conversation)
    return owners


def conversation_aliases(conn: sqlite3.Connection, key: str) -> set[str]:
    """Every key this conversation was known by.

    Events carry the key the conversation had when they were logged; when a later message
    proves two threads are one, the cache merges them under one key, and another agent's cache
    may still log under the old one. A conversation's keys are the hashes of its messages'
    ids (root or subject-fallback), all of which thread_ids maps to the survivor, so the
    aliases can be derived instead of stored.
    """
    from mailtriage.triage.threads import conversation_key

    ids = conn.execute("SELECT message_id FROM thread_ids WHERE conversation=?", (key,))
    return {key} | {conversation_key(mid) for (mid,) in ids}


def timeline(conn: sqlite3.Connection, key: str) -> list[dict[str, Any]]:
    """Notes and events of one conversation, oldest first.

    Each: {"kind", "agent", "time" (epoch s), "text", "details", "mentions"}; a note is the
    kind "noted" with its text.
    """
    keys = sorted(conversation_aliases(conn, key))
    marks = ",".join("?" * len(keys))
    rows = conn.execute(
        "SELECT kind, agent, ts, text, details, mentions FROM app_events"
        f" WHERE conversation IN ({marks}) ORDER BY ts, uidvalidity, uid",
        keys,
    )
    return [
        {
            "kind": kind,
            "agent": agent,
            "time": ts,
            "text": text,
            "details": json.loads(details),
            "mentions": json.loads(mentions),
        }
        for kind, agent, ts, text, details, mentions in rows
    ]


def last_event(conn: sqlite3.Connection, key: str, kinds: Iterable[str]) -> dict[str, Any] | None:
    """The newest event of these kinds on a conversation: {"kind", "agent", "time", "details"}."""
    kinds = list(kinds)
    marks = ",".join("?" * len(kinds))
    row = conn.execute(
        "SELECT kind, agent, ts, details FROM app_events WHERE conversation=?"
        f" AND kind IN ({marks}) ORDER BY ts DESC LIMIT 1",
        (key, *kinds),
    ).fetchone()
    if row is None:
        return None
    return {"kind": row[0], "agent": row[1], "time": row[2], "details": json.loads(row[3])}


def mentions_of(conn: sqlite3.Connection, agent: str, since: float = 0.0) -> list[dict[str, Any]]:
    """Notes that @mention agent, newest first: {"conversation", "agent", "time", "text"}."""
    rows = conn.execute(
        "SELECT conversation, agent, ts, text FROM app_events WHERE kind='noted' AND ts >= ?"
        " AND EXISTS (SELECT 1 FROM json_each(mentions) WHERE value = ?) ORDER BY ts DESC",
        (since, agent),
    )
    return [{"conversation": c, "agent": a, "time": t, "text": x} for c, a, t, x in rows]


def _current_presence(
    conn: sqlite3.Connection, exclude: str | None, now: float | None, ttl: float
) -> list[tuple[str, str, str, float]]:
    """(agent, conversation, activity, since) of each agent's newest, unexpired presence."""
    now = time.time() if now is None else now
    rows = conn.execute(
        "SELECT agent, conversation, activity, since, MAX(ts) FROM app_presence GROUP BY agent"
    ).fetchall()
    return [
        (agent, conversation, activity, since)
        for agent, conversation, activity, since, ts in rows
        if activity and agent != exclude and now - ts <= ttl
    ]


def presence(
    conn: sqlite3.Connection,
    key: str,
    *,
    exclude: str | None = None,
    now: float | None = None,
    ttl: float = PRESENCE_TTL,
) -> list[Presence]:
    """Who else is on this conversation right now, longest first."""
    found = [
        Presence(agent, activity, since)
        for agent, conversation, activity, since in _current_presence(conn, exclude, now, ttl)
        if conversation == key
    ]
    return sorted(found, key=lambda p: (p.since, p.agent))


def presence_all(
    conn: sqlite3.Connection,
    *,
    exclude: str | None = None,
    now: float | None = None,
    ttl: float = PRESENCE_TTL,
) -> dict[str, list[Presence]]:
    """conversation key -> who is on it, for the list."""
    grouped: dict[str, list[Presence]] = {}
    for agent, conversation, activity, since in _current_presence(conn, exclude, now, ttl):
        grouped.setdefault(conversation, []).append(Presence(agent, activity, since))
    return grouped


# -- settings -----------------------------------------------------------------------------


def get_setting(conn: sqlite3.Connection, name: str) -> str | None:
    row = conn.execute("SELECT value FROM settings WHERE name=?", (name,)).fetchone()
    return str(row[0]) if row else None


def set_setting(conn: sqlite3.Connection, name: str, value: str) -> bool:
    """True when the value changed."""
    if get_setting(conn, name) == value:
        return False
    conn.execute(
        "INSERT INTO settings (name, value) VALUES (?, ?)"
        " ON CONFLICT (name) DO UPDATE SET value=excluded.value",
        (name, value),
    )
    return True


# -- knowledge base usage -----------------------------------------------------------------


def kb_usage(conn: sqlite3.Connection) -> dict[str, tuple[int, float]]:
    """article id → (times inserted into a reply, when last), from the team's kb-used events."""
    rows = conn.execute(
        "SELECT json_extract(details, '$.article'), count(*), max(ts) FROM app_events"
        " WHERE kind = 'kb-used' GROUP BY 1"
    )
    return {str(ident): (int(n), float(ts)) for ident, n, ts in rows if ident}
