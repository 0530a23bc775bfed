"""The durable outbox: one SQLite file per account, outside the disposable cache.

A reply is committed here (synchronous=FULL, so fsync'd) with its Message-ID and exact bytes
before any SMTP traffic, and every step after that is recorded before the next begins; the
state column says what a restarted process may safely do next.

States:
    queued     waiting for send_at (the undo window, a scheduled send, or a retry backoff)
    sending    a deliverer took it; `stage` says how far SMTP got
    submitted  the SMTP server accepted it (250 after DATA); Sent/\\Answered/status remain
    done       all steps finished
    held       check-then-send found a change (`reason`); needs force or cancel
    failed     permanent SMTP refusal, or an uncertain crash (`reason`); retry by hand
    cancelled  the agent cancelled it before it was sent
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

STATES = ("queued", "sending", "submitted", "done", "held", "failed", "cancelled")
ACTIVE = ("queued", "sending", "submitted", "held", "failed")
# Stages of an SMTP attempt; only "data" (DATA sent, answer not recorded) is uncertain.
STAGES = ("", "connect", "data")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox (
    id INTEGER PRIMARY KEY,
    message_id TEXT NOT NULL UNIQUE,
    conversation_key TEXT,
    subject TEXT NOT NULL,
    mail_from TEXT NOT NULL,
    recipients TEXT NOT NULL,
    raw BLOB NOT NULL,
    meta TEXT NOT NULL,
    state TEXT NOT NULL,
    stage TEXT NOT NULL DEFAULT '',
    send_at REAL NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    reason TEXT,
    force INTEGER NOT NULL DEFAULT 0,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL,
    sent_at REAL
);
CREATE INDEX IF NOT EXISTS outbox_due ON outbox(state, send_at);
"""


@dataclass(frozen=True)
class OutboxItem:
    id: int
    message_id: str
    conversation_key: str | None
    subject: str
    mail_from: str
    recipients: tuple[str, ...]
    raw: bytes
    meta: dict[str, Any]  # status_after_send, template, in_reply_to, snapshot, agent
    state: str
    stage: str
    send_at: float
    attempts: int
    reason: str | None
    force: bool
    created_at: float
    updated_at: float
    sent_at: float | None

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "message_id": self.message_id,
            "conversation": self.conversation_key,
            "subject": self.subject,
            "to": list(self.recipients),
            "state": self.state,
            "stage": self.stage or None,
            "send_at": self.send_at,
            "attempts": self.attempts,
            "reason": self.reason,
            "created_at": self.created_at,
            "sent_at": self.sent_at,
            "status_after_send": self.meta.get("status_after_send"),
        }


def outbox_path(directory: Path, account: str) -> Path:
    return directory / f"{account}.outbox.sqlite3"


class OutboxStore:
    """All SQL of the outbox. One connection; callers serialise access (the Outbox does)."""

    def __init__(self, path: Path):
        self.path = path
        from mailtriage.files import private_file, tighten_sqlite_sidecars

        # Created 0600 in a 0700 directory before SQLite writes a byte: unsent replies are
        # private mail.
        private_file(path)
        self.conn = sqlite3.connect(path, timeout=30, isolation_level=None)
        self.conn.execute("PRAGMA journal_mode = WAL")
        self.conn.execute("PRAGMA synchronous = FULL")
        self.conn.executescript(_SCHEMA)
        tighten_sqlite_sidecars(path)

    def close(self) -> None:
        self.conn.close()

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            yield self.conn
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        self.conn.execute("COMMIT")

    def add(
        self,
        *,
        message_id: str,
        conversation_key: str | None,
        subject: str,
        mail_from: str,
        recipients: list[str],
        raw: bytes,
        meta: dict[str, Any],
        send_at: float,
        force: bool = False,
    ) -> OutboxItem:
        now = time.time()
        with self._tx() as c:
            cur = c.execute(
                "INSERT INTO outbox (message_id, conversation_key, subject, mail_from,"
                " recipients, raw, meta, state, send_at, force, created_at, updated_at)"
                " VALUES (?,?,?,?,?,?,?,'queued',?,?,?,?)",
                (
                    message_id,
                    conversation_key,
                    subject,
                    mail_from,
                    json.dumps(recipients),
                    raw,
                    json.dumps(meta, ensure_ascii=False),
                    send_at,
                    int(force),
                    now,
                    now,
                ),
            )
            rowid = cur.lastrowid
        item = self.get(int(rowid or 0))
        assert item is not None
        return item

    def get(self, item_id: int) -> OutboxItem | None:
        rows = self._select("WHERE id = ?", (item_id,))
        return rows[0] if rows else None

    def by_message_id(self, message_id: str) -> OutboxItem | None:
        rows = self._select("WHERE message_id = ?", (message_id,))
        return rows[0] if rows else None

    def items(self, states: tuple[str, ...] = STATES) -> list[OutboxItem]:
        marks = ",".join("?" * len(states))
        return self._select(f"WHERE state IN ({marks}) ORDER BY send_at, id", states)

    def due(self, now: float) -> list[OutboxItem]:
        """Work a deliverer may take: queued and due, plus anything a crash left mid-way."""
        return self._select(
            "WHERE (state = 'queued' AND send_at <= ?) OR state IN ('sending', 'submitted')"
            " ORDER BY send_at, id",
            (now,),
        )

    def transition(
        self, item_id: int, from_states: tuple[str, ...], to_state: str, **fields: Any
    ) -> bool:
        """Compare-and-set on state, so an item is never taken twice (two processes, or a
        cancel racing the deliverer); False when the item was no longer in from_states."""
        assert to_state in STATES
        sets = ["state = ?", "updated_at = ?"]
        params: list[Any] = [to_state, time.time()]
        for name, value in fields.items():
            assert name in {"stage", "send_at", "attempts", "reason", "force", "sent_at", "meta"}
            sets.append(f"{name} = ?")
            params.append(json.dumps(value, ensure_ascii=False) if name == "meta" else value)
        marks = ",".join("?" * len(from_states))
        with self._tx() as c:
            cur = c.execute(
                f"UPDATE outbox SET {', '.join(sets)} WHERE id = ? AND state IN ({marks})",
                (*params, item_id, *from_states),
            )
            return cur.rowcount == 1

    def _select(self, where: str, params: Any) -> list[OutboxItem]:
        cursor = self.conn.execute(f"SELECT * FROM outbox {where}", params)
        names = [d[0] for d in cursor.description]
        out = []
        for row in cursor:
            r = dict(zip(names, row, strict=True))
            r["recipients"] = tuple(json.loads(r["recipients"]))
            r["meta"] = json.loads(r["meta"])
            r["force"] = bool(r["force"])
            out.append(OutboxItem(**r))
        return out
