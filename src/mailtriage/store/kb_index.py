"""The KB's local index: one SQLite file with the parsed articles and an FTS5 trigram index.

Disposable like the cache: it is rebuilt from the Markdown files whenever they change (size and
mtime first, then a content hash, so a `git checkout` that touches every file re-parses only
the ones whose text changed). A different index version or KB directory starts it afresh.

Searching follows the mail search (store.search) through the same helpers (store.fts): terms
of three or more characters are FTS5 trigram phrases (any language, no word segmenter); shorter
ones (common in Japanese: 返金, 傘) become the trigrams of the index's vocabulary that start
with them, because every indexed column ends in fts.PADDING; only a short term that starts too
many trigrams is a LIKE scan. bm25 weighs the title over the tags over the body.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import sqlite3
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from mailtriage.store.fts import PADDING, any_phrase, fts_phrase, like_pattern, trigrams_starting

# 2: columns indexed with fts.PADDING, and the kb_fts_terms vocabulary.
INDEX_VERSION = 2
# bm25 weights in kb_fts column order (title, tags, body).
WEIGHTS = (10.0, 6.0, 1.0)
_FIELDS = ("title", "tags", "body")
_SCHEMA = """
CREATE TABLE IF NOT EXISTS kb_meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS kb_articles (
    id INTEGER PRIMARY KEY,
    ident TEXT NOT NULL UNIQUE,
    path TEXT NOT NULL,
    mtime_ns INTEGER NOT NULL,
    size INTEGER NOT NULL,
    sha256 TEXT NOT NULL,
    title TEXT NOT NULL DEFAULT '',
    tags TEXT NOT NULL DEFAULT '',      -- one per line
    audience TEXT NOT NULL DEFAULT 'internal',
    reviewed TEXT NOT NULL DEFAULT '',
    review_by TEXT NOT NULL DEFAULT '',
    owner TEXT NOT NULL DEFAULT '',
    url TEXT NOT NULL DEFAULT '',
    body TEXT NOT NULL DEFAULT '',
    error TEXT                          -- set: the file does not parse, never a result
);
CREATE VIRTUAL TABLE IF NOT EXISTS kb_fts USING fts5 (
    title, tags, body, content = 'kb_articles', content_rowid = 'id', tokenize = 'trigram'
);
CREATE VIRTUAL TABLE IF NOT EXISTS kb_fts_terms USING fts5vocab (kb_fts, 'row');
"""
_COLUMNS = "id, ident, path, title, tags, audience, reviewed, review_by, owner, url, body"


@dataclass(frozen=True)
class Parsed:
    """What the indexer needs from a parsed file (kb.article.Article satisfies it)."""

    ident: str
    title: str
    tags: tuple[str, ...]
    audience: str
    reviewed: date
    review_by: date
    owner: str
    url: str
    body: str


@dataclass(frozen=True)
class Changes:
    added: int = 0
    updated: int = 0
    removed: int = 0
    unchanged: int = 0

    @property
    def any(self) -> bool:
        return bool(self.added or self.updated or self.removed)


def open_index(path: Path, root: Path, settings: str) -> sqlite3.Connection:
    """The index for KB directory `root`; a file built for another directory, other settings
    (the review interval), another index version, or a damaged one is deleted and rebuilt."""
    path.parent.mkdir(parents=True, exist_ok=True)
    wanted = {"root": str(root), "settings": settings}
    conn = sqlite3.connect(path, timeout=30, isolation_level=None)
    try:
        (version,) = conn.execute("PRAGMA user_version").fetchone()
        if version == INDEX_VERSION:
            if dict(conn.execute("SELECT name, value FROM kb_meta")) == wanted:
                return conn
        elif version == 0 and not conn.execute("SELECT 1 FROM sqlite_master").fetchone():
            return _create(conn, wanted)
    except sqlite3.DatabaseError:
        pass
    conn.close()
    for suffix in ("", "-wal", "-shm"):
        Path(str(path) + suffix).unlink(missing_ok=True)
    return _create(sqlite3.connect(path, timeout=30, isolation_level=None), wanted)


def _create(conn: sqlite3.Connection, meta: dict[str, str]) -> sqlite3.Connection:
    conn.execute("PRAGMA journal_mode=WAL")
    with _atomic(conn):
        for statement in _SCHEMA.split(";"):
            if statement.strip():
                conn.execute(statement)
        conn.executemany("INSERT OR REPLACE INTO kb_meta (name, value) VALUES (?, ?)", meta.items())
        conn.execute(f"PRAGMA user_version = {INDEX_VERSION}")
    return conn


@contextlib.contextmanager
def _atomic(conn: sqlite3.Connection) -> Iterator[None]:
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def markdown_files(root: Path) -> Iterator[Path]:
    """Every *.md below root, skipping hidden directories (.git) and README.md at the top."""
    for directory, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(files):
            if name.endswith(".md") and not name.startswith("."):
                path = Path(directory, name)
                if path.parent == root and name.lower() == "readme.md":
                    continue
                yield path


def refresh(
    conn: sqlite3.Connection, root: Path, parse: Callable[[Path, bytes], Parsed]
) -> Changes:
    """Bring the index in line with the files under root. `parse` raises ValueError for a bad
    file; its message is kept (and shown by `kb --check`), the file is just not searchable."""
    known = {
        ident: (row_id, mtime, size, sha)
        for row_id, ident, mtime, size, sha in conn.execute(
            "SELECT id, ident, mtime_ns, size, sha256 FROM kb_articles"
        )
    }
    seen: set[str] = set()
    added = updated = unchanged = 0
    with _atomic(conn):
        for path in markdown_files(root):
            ident = path.relative_to(root).with_suffix("").as_posix()
            seen.add(ident)
            try:
                info = path.stat()
            except OSError:
                continue
            old = known.get(ident)
            if old is not None and old[1] == info.st_mtime_ns and old[2] == info.st_size:
                unchanged += 1
                continue
            try:
                data = path.read_bytes()
            except OSError as exc:
                data, error = b"", f"{path}: cannot read: {exc.strerror or exc}"
            else:
                error = None
            sha = hashlib.sha256(data).hexdigest()
            if old is not None and old[3] == sha and error is None:
                conn.execute(
                    "UPDATE kb_articles SET mtime_ns=?, size=? WHERE id=?",
                    (info.st_mtime_ns, info.st_size, old[0]),
                )
                unchanged += 1
                continue
            parsed = None
            if error is None:
                try:
                    parsed = parse(path, data)
                except ValueError as exc:  # the parser's own error, with file and line
                    error = str(exc)
            if old is not None:
                _delete(conn, old[0])
                updated += 1
            else:
                added += 1
            _insert(conn, ident, path, info.st_mtime_ns, info.st_size, sha, parsed, error)
        removed = 0
        for ident, (row_id, *_) in known.items():
            if ident not in seen:
                _delete(conn, row_id)
                removed += 1
    return Changes(added, updated, removed, unchanged)


def _insert(
    conn: sqlite3.Connection,
    ident: str,
    path: Path,
    mtime: int,
    size: int,
    sha: str,
    parsed: Parsed | None,
    error: str | None,
) -> None:
    if parsed is None:
        conn.execute(
            "INSERT INTO kb_articles (ident, path, mtime_ns, size, sha256, error)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (ident, str(path), mtime, size, sha, error or "unreadable"),
        )
        return
    tags = "\n".join(parsed.tags)
    cursor = conn.execute(
        "INSERT INTO kb_articles (ident, path, mtime_ns, size, sha256, title, tags, audience,"
        " reviewed, review_by, owner, url, body) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            ident,
            str(path),
            mtime,
            size,
            sha,
            parsed.title,
            tags,
            parsed.audience,
            parsed.reviewed.isoformat(),
            parsed.review_by.isoformat(),
            parsed.owner,
            parsed.url,
            parsed.body,
        ),
    )
    conn.execute(
        "INSERT INTO kb_fts (rowid, title, tags, body) VALUES (?, ?, ?, ?)",
        (cursor.lastrowid, *_indexed(parsed.title, tags, parsed.body)),
    )


def _indexed(*columns: str) -> tuple[str, ...]:
    """What kb_fts indexes of each column: the text and fts.PADDING (short terms at its end)."""
    return tuple(c + PADDING for c in columns)


def _delete(conn: sqlite3.Connection, row_id: int) -> None:
    row = conn.execute(
        "SELECT title, tags, body, error FROM kb_articles WHERE id=?", (row_id,)
    ).fetchone()
    if row is not None and row[3] is None:
        # External-content FTS: the delete must repeat the indexed values.
        conn.execute(
            "INSERT INTO kb_fts (kb_fts, rowid, title, tags, body) VALUES ('delete', ?, ?, ?, ?)",
            (row_id, *_indexed(row[0], row[1], row[2])),
        )
    conn.execute("DELETE FROM kb_articles WHERE id=?", (row_id,))


# -- reads --------------------------------------------------------------------------------


def _row(cursor: sqlite3.Cursor) -> list[dict[str, Any]]:
    names = [d[0] for d in cursor.description]
    rows = [dict(zip(names, row, strict=True)) for row in cursor]
    for row in rows:
        row["tags"] = tuple(t for t in row["tags"].split("\n") if t)
    return rows


def all_articles(conn: sqlite3.Connection) -> list[dict[str, Any]]:
    return _row(
        conn.execute(f"SELECT {_COLUMNS} FROM kb_articles WHERE error IS NULL ORDER BY ident")
    )


def get_article(conn: sqlite3.Connection, ident: str) -> dict[str, Any] | None:
    rows = _row(
        conn.execute(
            f"SELECT {_COLUMNS} FROM kb_articles WHERE ident=? AND error IS NULL", (ident,)
        )
    )
    return rows[0] if rows else None


def errors(conn: sqlite3.Connection) -> list[tuple[str, str]]:
    """(ident, message) of every file that does not parse."""
    return list(
        conn.execute("SELECT ident, error FROM kb_articles WHERE error IS NOT NULL ORDER BY ident")
    )


def _short_score(terms: list[str]) -> tuple[str, list[Any]]:
    """A bm25-like score (negative is better) from LIKE hits of short terms."""
    parts: list[str] = []
    params: list[Any] = []
    for term in terms:
        needle = like_pattern(term)
        parts.append(
            " + ".join(
                f"{w} * (a.{f} LIKE ? ESCAPE '\\')" for w, f in zip(WEIGHTS, _FIELDS, strict=True)
            )
        )
        params += [needle] * len(_FIELDS)
    return (f"-({' + '.join(parts)})" if parts else "0"), params


def _fts_expression(conn: sqlite3.Connection, term: str) -> str | None:
    """term as an FTS5 expression: its phrase, or for one or two characters the trigrams that
    start with it ("" if none: the term occurs nowhere); None if it needs a LIKE scan."""
    if len(term) >= 3:
        return fts_phrase(term)
    trigrams = trigrams_starting(conn, "kb_fts_terms", term)
    if trigrams is None:
        return None
    return any_phrase(trigrams) if trigrams else ""


def search(
    conn: sqlite3.Connection, terms: list[str], *, every: bool = True, limit: int | None = None
) -> list[dict[str, Any]]:
    """Articles matching every term (`every`) or any of them, best first; each row gets a
    `score` (lower is better). Case-insensitive for ASCII, substring in any language."""
    terms = [t for t in terms if t.strip()]
    if not terms:
        return []
    indexed: list[str] = []
    short: list[str] = []  # terms left to LIKE
    for term in terms:
        expression = _fts_expression(conn, term)
        if expression is None:
            short.append(term)
        elif expression:
            indexed.append(expression)
        elif every:
            return []  # a term that occurs nowhere: no article has every term
    if not indexed and not short:
        return []
    params: list[Any] = []
    prefix = ""
    source = "kb_articles a"
    where: list[str] = ["a.error IS NULL"]
    score = "0"
    if indexed:
        joiner = " AND " if every else " OR "
        prefix = (
            "WITH hits AS MATERIALIZED (SELECT rowid AS id, bm25(kb_fts, {}, {}, {}) AS score"
            " FROM kb_fts WHERE kb_fts MATCH ?) ".format(*WEIGHTS)
        )
        params.append(joiner.join(indexed))
        source = (
            "hits JOIN kb_articles a ON a.id = hits.id"
            if every or not short
            else ("kb_articles a LEFT JOIN hits ON a.id = hits.id")
        )
        score = "COALESCE(hits.score, 0)"
    short_score, short_params = _short_score(short)
    params += short_params
    conditions = [
        "(" + " OR ".join(f"a.{f} LIKE ? ESCAPE '\\'" for f in _FIELDS) + ")" for _ in short
    ]
    condition_params = [like_pattern(t) for t in short for _ in _FIELDS]
    if every:
        where += conditions
        params += condition_params
    elif short:
        any_of = [*conditions, *(["hits.id IS NOT NULL"] if indexed else [])]
        where.append("(" + " OR ".join(any_of) + ")")
        params += condition_params
    sql = (
        f"{prefix}SELECT {', '.join('a.' + c for c in _COLUMNS.split(', '))},"
        f" {score} + {short_score} AS score FROM {source} WHERE {' AND '.join(where)}"
        " ORDER BY score, a.title, a.ident"
    )
    if limit is not None:
        sql += " LIMIT ?"
        params.append(limit)
    return _row(conn.execute(sql, params))


def document_frequency(conn: sqlite3.Connection, term: str) -> int:
    """How many articles contain term (the suggestions leave out words no article has)."""
    expression = _fts_expression(conn, term)
    if expression == "":
        return 0
    if expression is not None:
        (count,) = conn.execute(
            "SELECT count(*) FROM kb_fts WHERE kb_fts MATCH ?", (expression,)
        ).fetchone()
    else:
        needle = like_pattern(term)
        (count,) = conn.execute(
            "SELECT count(*) FROM kb_articles WHERE error IS NULL AND ("
            + " OR ".join(f"{f} LIKE ? ESCAPE '\\'" for f in _FIELDS)
            + ")",
            [needle] * len(_FIELDS),
        ).fetchone()
    return int(count)


def internal_fingerprint(conn: sqlite3.Connection) -> str:
    """Changes whenever an internal-only article is added, edited, removed or made
    customer-facing (kb.insert re-reads their passages only then)."""
    (value,) = conn.execute(
        "SELECT group_concat(ident || ':' || sha256, ' ') FROM (SELECT ident, sha256"
        " FROM kb_articles WHERE error IS NULL AND audience != 'customer-facing' ORDER BY ident)"
    ).fetchone()
    return value or ""


def count(conn: sqlite3.Connection) -> int:
    (n,) = conn.execute("SELECT count(*) FROM kb_articles WHERE error IS NULL").fetchone()
    return int(n)
