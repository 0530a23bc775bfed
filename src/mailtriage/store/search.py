"""Full-text search over the cache: a small query language compiled to one SQL statement.

Query syntax (README "Search"): words and "quoted phrases" match as substrings of the
subject, the sender's name and address, or the body, all on the same message; field filters
``from:`` ``to:`` ``subject:`` ``status:`` ``assignee:`` ``has:attachment`` ``before:`` and
``after:`` narrow it. Every part must match.

The FTS5 table uses the trigram tokenizer, and every indexed column ends in two newlines, so
any term, even of one or two characters (返金, 佐藤), is an index lookup (store.fts). Only a
short term that starts more than fts.MAX_SHORT_TERMS trigrams (a single common kana) falls
back to LIKE. Results come best first: FTS5's bm25 of the best-matching message, subject hits
weighing most, then the conversation with the most recent matching message.
"""

from __future__ import annotations

import re
import sqlite3
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Any

from mailtriage.store.fts import any_phrase, like_pattern, trigrams_starting

# bm25 column weights, in messages_fts column order (subject, sender, body): a word in the
# subject says more about what a conversation is than the same word deep in a quoted body.
_WEIGHTS = (10.0, 4.0, 1.0)
_TOKEN = re.compile(r'(?:([A-Za-z]+):)?(?:"([^"]*)"?|(\S+))')
_STATUS = {
    "unhandled": "unhandled",
    "未対応": "unhandled",
    "in-progress": "in-progress",
    "inprogress": "in-progress",
    "対応中": "in-progress",
    "done": "done",
    "対応済": "done",
}
_NOBODY = frozenset({"none", "nobody", "-"})
_ATTACHMENT = frozenset({"attachment", "attachments", "添付"})


@dataclass
class Query:
    """A parsed query: what the FTS index answers, and what plain SQL has to check."""

    fts: list[str] = field(default_factory=list)  # FTS5 query fragments, ANDed
    short: list[tuple[str | None, str]] = field(default_factory=list)  # (column, 1-2 chars)
    like: list[tuple[tuple[str, ...], str]] = field(default_factory=list)  # (columns, needle)
    message_sql: list[str] = field(default_factory=list)
    message_params: list[Any] = field(default_factory=list)
    conversation_sql: list[str] = field(default_factory=list)
    conversation_params: list[Any] = field(default_factory=list)

    @property
    def touches_messages(self) -> bool:
        return bool(self.fts or self.short or self.like or self.message_sql)

    @property
    def empty(self) -> bool:
        return not (self.touches_messages or self.conversation_sql)


def split_terms(text: str) -> list[str]:
    """Words and "quoted phrases", without the field filters (the KB's search uses it)."""
    terms = []
    for m in _TOKEN.finditer(text):
        value = m.group(2) if m.group(2) is not None else m.group(0)
        if value.strip():
            terms.append(value.strip())
    return terms


_TEXT_COLUMNS = ("m.subject", "m.text", "m.from_name", "m.from_email")
_FTS_COLUMN = {"subject": "subject", "from": "sender"}
_LIKE_COLUMNS = {
    "subject": ("m.subject",),
    "from": ("m.from_name", "m.from_email"),
    "to": ("m.to_json", "m.cc_json"),
}


def _day_start(value: str) -> float | None:
    """Epoch seconds at the start of an ISO date (local time), or of an ISO date-time."""
    try:
        if len(value) <= 10:
            moment = datetime.combine(date.fromisoformat(value), time())
        else:
            moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment.timestamp()  # naive means local time, as the user typed it


def parse_query(text: str) -> Query:
    query = Query()
    # SQLite ends an FTS5 string at a NUL ("unterminated string"); nobody searches for one.
    text = text.replace("\x00", " ")
    for m in _TOKEN.finditer(text):
        name, quoted, bare = (m.group(1) or "").lower(), m.group(2), m.group(3)
        value = quoted if quoted is not None else bare
        if name and not _filter(query, name, value):
            # Not one of ours ("Re:", "http:"...): the whole token is an ordinary term.
            value = m.group(0).replace('"', "") if quoted is not None else m.group(0)
            name = ""
        if not name and value:
            _term(query, value, None)
    return query


def _term(query: Query, value: str, column: str | None) -> None:
    if column is not None and column not in _FTS_COLUMN:
        query.like.append((_LIKE_COLUMNS[column], like_pattern(value)))
    elif len(value) >= 3:
        _fts(query, [value], column)
    else:
        query.short.append((column, value))


def _fts(query: Query, phrases: list[str], column: str | None) -> None:
    fragment = any_phrase(phrases)
    query.fts.append(f"{_FTS_COLUMN[column]} : {fragment}" if column else fragment)


def _resolve_short(conn: sqlite3.Connection, query: Query) -> bool:
    """Turn one- and two-character terms into index lookups; False if one occurs nowhere."""
    for column, value in query.short:
        terms = trigrams_starting(conn, "messages_fts_terms", value)
        if terms is None:
            query.like.append(
                (_LIKE_COLUMNS[column] if column else _TEXT_COLUMNS, like_pattern(value))
            )
        elif not terms:
            return False
        else:
            _fts(query, terms, column)
    query.short.clear()
    return True


def _filter(query: Query, name: str, value: str) -> bool:
    """Apply field filter name:value; False if name is not a filter or value makes no sense."""
    if name in ("from", "to", "subject"):
        if value:
            _term(query, value, name)
        return True
    if name == "status":
        query.conversation_sql.append("c.status = ?")
        query.conversation_params.append(_STATUS.get(value.lower(), value.lower()))
        return True
    if name == "assignee":
        if value.lower() in _NOBODY:
            query.conversation_sql.append("c.assignee IS NULL")
        else:
            query.conversation_sql.append("c.assignee = ?")
            query.conversation_params.append(value.lower())
        return True
    if name == "has" and value.lower() in _ATTACHMENT:
        query.message_sql.append("m.attachments != '[]'")
        return True
    if name in ("before", "after"):
        moment = _day_start(value)
        if moment is None:
            return False
        query.message_sql.append("m.ts < ?" if name == "before" else "m.ts >= ?")
        query.message_params.append(moment)
        return True
    return False


def _like_score(likes: list[tuple[tuple[str, ...], str]]) -> tuple[str, list[Any]]:
    parts: list[str] = []
    params: list[Any] = []
    for columns, needle in likes:
        if columns != _TEXT_COLUMNS:
            continue  # a field filter's hit says nothing about relevance
        subject, body, name, email = (f"({c} LIKE ? ESCAPE '\\')" for c in columns)
        weight_subject, weight_sender, weight_body = _WEIGHTS
        parts.append(
            f"{weight_subject} * {subject} + {weight_sender} * ({name} OR {email})"
            f" + {weight_body} * {body}"
        )
        params += [needle] * 4
    return (f"-({' + '.join(parts)})" if parts else "0"), params


def search_rows(
    conn: sqlite3.Connection, text: str, *, limit: int | None = None
) -> list[dict[str, Any]]:
    """Rows of the conversations table matching the query, best first."""
    compiled = _compile(conn, text, "c.*", limit)
    if compiled is None:
        return []
    cursor = conn.execute(*compiled)
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor]


def search_keys(conn: sqlite3.Connection, text: str, *, limit: int | None = None) -> list[str]:
    """Keys of the matching conversations, best first: what a list of every match needs."""
    compiled = _compile(conn, text, "c.key", limit)
    return [] if compiled is None else [key for (key,) in conn.execute(*compiled)]


def _compile(
    conn: sqlite3.Connection, text: str, select: str, limit: int | None
) -> tuple[str, list[Any]] | None:
    """One SQL statement and its parameters, or None when nothing can match."""
    query = parse_query(text)
    if query.empty or not _resolve_short(conn, query):
        return None
    params: list[Any] = []
    if query.touches_messages:
        where = list(query.message_sql)
        if query.fts:
            # bm25() only works in a query whose FROM is the FTS table alone; MATERIALIZED
            # stops SQLite from flattening it into the join below.
            prefix = (
                "WITH hits AS MATERIALIZED (SELECT rowid AS id, bm25(messages_fts, {}, {}, {})"
                " AS score FROM messages_fts WHERE messages_fts MATCH ?) ".format(*_WEIGHTS)
            )
            source = "hits JOIN messages m INDEXED BY messages_id_conversation_ts ON m.id = hits.id"
            params.append(" AND ".join(query.fts))
            score = "MIN(hits.score)"
        else:
            prefix = ""
            source = "messages m"
            # No index, no bm25: the same column weights, counted from the LIKE hits.
            score, score_params = _like_score(query.like)
            params += score_params
            score = f"MIN({score})"
        params += query.message_params
        for columns, needle in query.like:
            where.append("(" + " OR ".join(f"{c} LIKE ? ESCAPE '\\'" for c in columns) + ")")
            params += [needle] * len(columns)
        # A conversation ranks by its best hit, then by its most recent matching message.
        best = (
            f"(SELECT m.conversation AS key, {score} AS score, MAX(m.ts) AS ts FROM {source}"
            f" WHERE {' AND '.join(where) or '1'} GROUP BY m.conversation) best"
        )
        order = "best.score, best.ts DESC, best.key"
        if query.conversation_sql:
            # status:, assignee: filter before any limit.
            sql = (
                f"{prefix}SELECT {select} FROM {best} JOIN conversations c ON c.key = best.key"
                f" WHERE {' AND '.join(query.conversation_sql)}"
            )
            params += query.conversation_params
        elif select == "c.key":
            # The app's list of every match: no conversation row is read at all.
            sql = f"{prefix}SELECT best.key FROM {best}"
        else:
            # Rows only for the conversations that make the cut.
            sql = (
                f"{prefix}SELECT {select} FROM (SELECT best.* FROM {best} ORDER BY {order}"
                f"{' LIMIT ?' if limit is not None else ''}) best"
                " JOIN conversations c ON c.key = best.key"
            )
            if limit is not None:
                params.append(limit)
                limit = None
    else:
        sql = f"SELECT {select} FROM conversations c"
        order = "c.last_ts DESC, c.key"
        if query.conversation_sql:
            sql += " WHERE " + " AND ".join(query.conversation_sql)
            params += query.conversation_params
    sql += f" ORDER BY {order}"
    if limit is not None:
        sql += " LIMIT ?"
        params.append(limit)
    return sql, params
