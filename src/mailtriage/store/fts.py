"""FTS5 trigram helpers shared by the mail search (store.search) and the KB index
(store.kb_index): phrases, LIKE patterns, and one- and two-character terms.

A term of three or more characters is an index lookup under the trigram tokenizer. One or two
characters (common in Japanese: 返金, 傘) have no trigram of their own, but when every indexed
column ends in two newlines (PADDING), each occurrence starts at least one trigram: the term
becomes an OR of the trigrams in the index's vocabulary (an fts5vocab 'row' table) that start
with it, which is an index lookup too. Only a term that starts more than MAX_SHORT_TERMS
trigrams (a single common kana) is left to a LIKE scan by the caller.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable

MAX_SHORT_TERMS = 400
# Appended to every indexed column so a short term at a column's very end starts a trigram.
PADDING = "\n\n"


def fts_phrase(text: str) -> str:
    """text as one FTS5 phrase (a substring of 3+ characters under the trigram tokenizer)."""
    return '"' + text.replace('"', '""') + '"'


def any_phrase(texts: Iterable[str]) -> str:
    """An FTS5 expression matching any of texts, parenthesised when there are several."""
    phrases = [fts_phrase(t) for t in texts]
    return phrases[0] if len(phrases) == 1 else "(" + " OR ".join(phrases) + ")"


def like_pattern(text: str) -> str:
    """text as a LIKE pattern (with ESCAPE '\\') matching it anywhere."""
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def trigrams_starting(conn: sqlite3.Connection, vocabulary: str, value: str) -> list[str] | None:
    """The trigrams in fts5vocab table `vocabulary` that start with value (folded as the
    index folds), or None when there are more than MAX_SHORT_TERMS (the caller scans instead).
    An empty list means value occurs nowhere in the index."""
    if not vocabulary.isidentifier():  # a table name in SQL text: only our own constants
        raise ValueError(f"not a table name: {vocabulary!r}")
    needle = value.lower()
    terms = [
        term
        for (term,) in conn.execute(
            f"SELECT term FROM {vocabulary} WHERE term >= ? AND term < ? LIMIT ?",
            (needle, needle + "\U0010ffff", MAX_SHORT_TERMS + 1),
        )
    ]
    return None if len(terms) > MAX_SHORT_TERMS else terms
