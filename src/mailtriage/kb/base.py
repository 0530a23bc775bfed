"""The knowledge base as the app and the CLI use it: the directory, its index, search and
suggestions. Opening it brings the index up to date with the files (cheap when nothing
changed: one stat per file)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from mailtriage import __version__
from mailtriage.kb.article import Article, parse_article
from mailtriage.kb.terms import conversation_text, weighted_terms
from mailtriage.store import kb_index
from mailtriage.store.search import split_terms

SUGGEST_TERMS = 12  # the conversation's strongest terms that the KB knows
PREFILL_TERMS = 3  # of those, how many go into the search line


@dataclass(frozen=True)
class Hit:
    article: Article
    score: float
    matched: tuple[str, ...] = ()


class KnowledgeBase:
    def __init__(self, root: Path, index_path: Path, *, review_days: int = 180):
        self.root = root
        self.review_days = review_days
        if not root.is_dir():
            from mailtriage.kb.article import KbError

            raise KbError(root, 0, "the KB directory does not exist", "create it or fix [kb] path")
        # A new mailtriage may parse differently: its version is part of what the index is for.
        settings = f"review_days={review_days} mailtriage={__version__}"
        self.conn = kb_index.open_index(index_path, root.resolve(), settings)
        self.changes = self.refresh()

    @classmethod
    def from_config(cls, config: Any) -> KnowledgeBase:
        return cls.from_settings(config.kb)

    @classmethod
    def from_settings(cls, kb: Any) -> KnowledgeBase:
        """From config.kb (a KbConfig)."""
        return cls(kb.path, kb.index_path, review_days=kb.review_days)

    def close(self) -> None:
        self.conn.close()

    def refresh(self) -> kb_index.Changes:
        def parse(path: Path, data: bytes) -> Article:
            from mailtriage.kb.article import KbError, article_ident

            try:
                text = data.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise KbError(path, 0, f"not UTF-8 ({exc.reason} at byte {exc.start})") from None
            return parse_article(
                text, path, article_ident(self.root, path), review_days=self.review_days
            )

        return kb_index.refresh(self.conn, self.root, parse)

    # -- reads ------------------------------------------------------------------------------

    def _article(self, row: dict[str, Any]) -> Article:
        return Article(
            ident=row["ident"],
            path=Path(row["path"]),
            title=row["title"],
            body=row["body"],
            audience=row["audience"],
            reviewed=date.fromisoformat(row["reviewed"]),
            review_by=date.fromisoformat(row["review_by"]),
            tags=tuple(row["tags"]),
            owner=row["owner"],
            url=row["url"],
        )

    def articles(self) -> list[Article]:
        return [self._article(r) for r in kb_index.all_articles(self.conn)]

    def get(self, ident: str) -> Article | None:
        row = kb_index.get_article(self.conn, ident)
        return self._article(row) if row else None

    def errors(self) -> list[tuple[str, str]]:
        return kb_index.errors(self.conn)

    def search(self, text: str, *, limit: int | None = 50) -> tuple[list[Hit], bool]:
        """(hits, every): articles with every term, best first; when none has them all,
        those with any of them (every=False), so one wrong word does not empty the list."""
        terms = split_terms(text)
        if not terms:
            return [Hit(a, 0.0) for a in self.articles()[:limit]], True
        rows = kb_index.search(self.conn, terms, every=True, limit=limit)
        every = True
        if not rows and len(terms) > 1:
            rows = kb_index.search(self.conn, terms, every=False, limit=limit)
            every = False
        return [Hit(self._article(r), -float(r["score"])) for r in rows], every

    # -- suggestions for a conversation -----------------------------------------------------

    def conversation_terms(self, conversation: dict[str, Any]) -> dict[str, float]:
        """The conversation's terms that some article contains, weighted by how much they say
        (occurrences, subject, rarity in the KB), strongest first."""
        subject, text = conversation_text(conversation)
        weights = weighted_terms(subject, text)
        total = max(1, kb_index.count(self.conn))
        known: dict[str, float] = {}
        # The frequent candidates first: the cap keeps the df lookups few on long mail.
        for term in sorted(weights, key=lambda t: (-weights[t], -len(t), t))[:60]:
            df = kb_index.document_frequency(self.conn, term)
            if df:
                known[term] = weights[term] * math.log(1 + total / df)
        ranked = sorted(known, key=lambda t: (-known[t], -len(t), t))
        return {t: round(known[t], 3) for t in ranked[:SUGGEST_TERMS]}

    def prefill(self, conversation: dict[str, Any]) -> str:
        """The strongest few terms for the search line; a piece of a term already chosen
        (二重 of 二重請求) adds nothing there."""
        chosen: list[str] = []
        for term in self.conversation_terms(conversation):
            if not any(term in c or c in term for c in chosen):
                chosen.append(term)
            if len(chosen) == PREFILL_TERMS:
                break
        return " ".join(chosen)

    def suggest(self, conversation: dict[str, Any], *, limit: int = 20) -> list[Hit]:
        """Articles ranked by the conversation's text: each term an article contains counts
        its weight, three times in the title, twice in the tags; a tag the customer wrote
        counts once more."""
        terms = self.conversation_terms(conversation)
        subject, text = conversation_text(conversation)
        haystack = f"{subject}\n{text}".casefold()
        candidates: dict[str, dict[str, Any]] = {}
        if terms:
            for row in kb_index.search(self.conn, list(terms), every=False, limit=200):
                candidates[row["ident"]] = row
        for row in kb_index.all_articles(self.conn):
            if row["ident"] not in candidates and any(
                t.casefold() in haystack for t in row["tags"]
            ):
                candidates[row["ident"]] = row
        hits: list[Hit] = []
        for row in candidates.values():
            title, tags, body = (
                row["title"].casefold(),
                "\n".join(row["tags"]).casefold(),
                row["body"].casefold(),
            )
            score = 0.0
            matched = []
            for term, weight in terms.items():
                needle = term.casefold()
                factor = (
                    3 if needle in title else 2 if needle in tags else 1 if needle in body else 0
                )
                if factor:
                    score += weight * factor
                    matched.append(term)
            score += sum(1.0 for t in row["tags"] if t.casefold() in haystack)
            if score > 0:
                hits.append(Hit(self._article(row), round(score, 3), tuple(matched)))
        hits.sort(key=lambda h: (-h.score, h.article.title, h.article.ident))
        return hits[:limit]


def open_kb(config: Any) -> KnowledgeBase:
    """The configured KB; KbError when [kb] is missing or its directory is not there."""
    from mailtriage.kb.article import KbError

    if config.kb is None:
        raise KbError(
            config.path or "configuration",
            0,
            "no knowledge base configured",
            'add [kb] path = "kb" (a directory of Markdown articles) to the config',
        )
    return KnowledgeBase.from_config(config)
