"""Named, transactional migrations. Append new ones; never edit one that has shipped."""

from __future__ import annotations

import sqlite3

from sqlite_utils import Database
from sqlite_utils.migrations import Migrations

migrations = Migrations("mailtriage")


def _execute_script(db: Database, script: str) -> None:
    """Run statements one by one: executescript() would COMMIT the migration's transaction."""
    pending = ""
    for line in script.splitlines(keepends=True):
        pending += line
        if sqlite3.complete_statement(pending):
            db.execute(pending)
            pending = ""
    if pending.strip():
        raise ValueError(f"incomplete SQL statement in migration: {pending[:60]!r}")


@migrations(name="0001_initial")
def m0001_initial(db: Database) -> None:
    _execute_script(
        db,
        """
        CREATE TABLE mailboxes (
            name TEXT PRIMARY KEY,
            role TEXT NOT NULL,             -- inbox | sent
            uidvalidity INTEGER NOT NULL,
            uidnext INTEGER,
            highestmodseq INTEGER,
            synced_at REAL
        );
        CREATE TABLE messages (
            id INTEGER PRIMARY KEY,
            mailbox TEXT NOT NULL,
            uidvalidity INTEGER NOT NULL,
            uid INTEGER NOT NULL,
            message_id TEXT,
            in_reply_to TEXT NOT NULL DEFAULT '[]',
            refs TEXT NOT NULL DEFAULT '[]',
            subject TEXT NOT NULL DEFAULT '',
            norm_subject TEXT NOT NULL DEFAULT '',
            from_name TEXT NOT NULL DEFAULT '',
            from_email TEXT NOT NULL DEFAULT '',
            to_json TEXT NOT NULL DEFAULT '[]',
            cc_json TEXT NOT NULL DEFAULT '[]',
            date TEXT NOT NULL,             -- ISO 8601 with offset
            ts REAL NOT NULL,               -- epoch seconds, for ordering
            flags TEXT NOT NULL DEFAULT '[]',
            modseq INTEGER,
            size INTEGER NOT NULL DEFAULT 0,
            inbound INTEGER NOT NULL,
            counterpart_name TEXT NOT NULL DEFAULT '',
            counterpart_email TEXT NOT NULL DEFAULT '',
            text TEXT NOT NULL DEFAULT '',
            text_from_html INTEGER NOT NULL DEFAULT 0,
            attachments TEXT NOT NULL DEFAULT '[]',
            warnings TEXT NOT NULL DEFAULT '[]',
            raw BLOB,
            conversation TEXT NOT NULL,
            UNIQUE (mailbox, uidvalidity, uid)
        );
        CREATE INDEX messages_conversation ON messages (conversation, ts);
        CREATE INDEX messages_message_id ON messages (message_id);
        CREATE INDEX messages_subject_fallback ON messages (norm_subject, counterpart_email);

        -- Every Message-ID seen (own or referenced) -> its conversation, so replies that
        -- arrive before their parents still join the right conversation.
        CREATE TABLE thread_ids (
            message_id TEXT PRIMARY KEY,
            conversation TEXT NOT NULL
        ) WITHOUT ROWID;
        CREATE INDEX thread_ids_conversation ON thread_ids (conversation);

        CREATE TABLE conversations (
            key TEXT PRIMARY KEY,
            short_id TEXT NOT NULL,
            root_message_id TEXT NOT NULL,
            subject TEXT NOT NULL,
            customer_name TEXT NOT NULL,
            customer_email TEXT NOT NULL,
            status TEXT NOT NULL,
            assignee TEXT,
            priority TEXT NOT NULL,
            tags TEXT NOT NULL,
            first_ts REAL NOT NULL,
            last_ts REAL NOT NULL,
            last_message_at TEXT NOT NULL,
            message_count INTEGER NOT NULL,
            unread INTEGER NOT NULL
        ) WITHOUT ROWID;
        CREATE INDEX conversations_short_id ON conversations (short_id);
        CREATE INDEX conversations_status ON conversations (status, last_ts);
        CREATE INDEX conversations_last ON conversations (last_ts);

        -- Trigram so Japanese substrings match without a word segmenter.
        CREATE VIRTUAL TABLE messages_fts USING fts5 (
            subject, sender, body, tokenize = 'trigram'
        );
        CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages BEGIN
            INSERT INTO messages_fts (rowid, subject, sender, body)
            VALUES (new.id, new.subject, new.from_name || ' ' || new.from_email, new.text);
        END;
        CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages BEGIN
            DELETE FROM messages_fts WHERE rowid = old.id;
        END;
        CREATE TRIGGER messages_fts_update AFTER UPDATE OF subject, from_name, from_email, text
        ON messages BEGIN
            DELETE FROM messages_fts WHERE rowid = old.id;
            INSERT INTO messages_fts (rowid, subject, sender, body)
            VALUES (new.id, new.subject, new.from_name || ' ' || new.from_email, new.text);
        END;
        """,
    )
