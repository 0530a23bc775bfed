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


@migrations(name="0002_body_fetched")
def m0002_body_fetched(db: Database) -> None:
    # Sync stores headers first and bodies later (prefetch or on demand); rows written before
    # this migration always carried their body, hence the default.
    _execute_script(
        db,
        """
        ALTER TABLE messages ADD COLUMN body_fetched INTEGER NOT NULL DEFAULT 1;
        CREATE INDEX messages_body_missing ON messages (ts) WHERE body_fetched = 0;
        -- Store.insert_messages indexes each batch with one INSERT … SELECT: per-row trigger
        -- indexing was 3x slower and the largest cost of an initial sync.
        DROP TRIGGER messages_fts_insert;
        -- The subject fallback asks for the newest match: without ts it sorted every match.
        DROP INDEX messages_subject_fallback;
        CREATE INDEX messages_subject_fallback ON messages (norm_subject, counterpart_email, ts);
        """,
    )


@migrations(name="0003_app_folder")
def m0003_app_folder(db: Database) -> None:
    # The app folder (DESIGN.md §2) holds events, notes and presence as small messages; these
    # tables cache it, keyed like messages by (uidvalidity, uid), so a rebuild refetches it.
    _execute_script(
        db,
        """
        CREATE TABLE app_events (
            uidvalidity INTEGER NOT NULL,
            uid INTEGER NOT NULL,
            event_id TEXT NOT NULL,         -- the Message-ID: one event, however often seen
            conversation TEXT NOT NULL,
            kind TEXT NOT NULL,             -- claimed | assigned | status | noted | ...
            agent TEXT NOT NULL,
            ts REAL NOT NULL,               -- epoch seconds, the writer's clock
            text TEXT NOT NULL DEFAULT '',
            details TEXT NOT NULL DEFAULT '{}',
            mentions TEXT NOT NULL DEFAULT '[]',
            PRIMARY KEY (uidvalidity, uid)
        );
        CREATE UNIQUE INDEX app_events_event_id ON app_events (event_id);
        CREATE INDEX app_events_conversation ON app_events (conversation, ts);
        CREATE TABLE app_presence (
            uidvalidity INTEGER NOT NULL,
            uid INTEGER NOT NULL,
            agent TEXT NOT NULL,
            conversation TEXT NOT NULL,     -- '' with activity '' when the agent cleared it
            activity TEXT NOT NULL,
            since REAL NOT NULL,
            ts REAL NOT NULL,               -- last refresh; stale after presence TTL
            PRIMARY KEY (uidvalidity, uid)
        );
        CREATE INDEX app_presence_agent ON app_presence (agent, ts);
        CREATE TABLE app_folder_state (
            name TEXT PRIMARY KEY,
            uidvalidity INTEGER NOT NULL,
            uidnext INTEGER NOT NULL
        );
        -- Team rules that change derived state (e.g. own reply -> in progress); written by
        -- whoever syncs with a config, read by every writer so all processes derive alike.
        CREATE TABLE settings (
            name TEXT PRIMARY KEY,
            value TEXT NOT NULL
        );
        """,
    )


@migrations(name="0004_search_short_terms")
def m0004_search_short_terms(db: Database) -> None:
    # One- and two-character terms (返金, 佐藤, "ok") have no trigram of their own, and a LIKE
    # over every message took ~1 s at 100k. Every occurrence of such a term starts some
    # trigram once each column ends in two newlines, so store.search finds the trigrams that
    # start with it in the index's vocabulary and ORs them. Rebuilt here from the cached rows.
    _execute_script(
        db,
        """
        DROP TRIGGER messages_fts_update;
        CREATE TRIGGER messages_fts_update AFTER UPDATE OF subject, from_name, from_email, text
        ON messages BEGIN
            DELETE FROM messages_fts WHERE rowid = old.id;
            INSERT INTO messages_fts (rowid, subject, sender, body)
            VALUES (new.id, new.subject || char(10, 10),
                    new.from_name || ' ' || new.from_email || char(10, 10),
                    new.text || char(10, 10));
        END;
        DELETE FROM messages_fts;
        INSERT INTO messages_fts (rowid, subject, sender, body)
        SELECT id, subject || char(10, 10), from_name || ' ' || from_email || char(10, 10),
               text || char(10, 10) FROM messages;
        CREATE VIRTUAL TABLE messages_fts_terms USING fts5vocab (messages_fts, 'row');
        -- A hit's conversation without reading its row: the key is the row's last column,
        -- behind the body, and reading it cost a search with 8,000 hits half its time.
        CREATE INDEX messages_id_conversation ON messages (id, conversation);
        """,
    )


@migrations(name="0005_search_hit_ts")
def m0005_search_hit_ts(db: Database) -> None:
    # A search ranks conversations by their best hit, then by their most recent matching
    # message: with the hit's time in the index beside its conversation, the app's list of
    # every matching key needs neither the message rows nor the conversations table (16,620
    # hits at 100k: 66 -> 49 ms CPU).
    _execute_script(
        db,
        """
        DROP INDEX messages_id_conversation;
        CREATE INDEX messages_id_conversation_ts ON messages (id, conversation, ts);
        """,
    )
