"""What an article may put into a reply, and the check that nothing internal leaves.

Every reply is mail to someone outside the team, so an internal-only article can never be
inserted, whatever screen asks; and a message that contains a passage of an internal-only
article (pasted by hand, say) is refused with the article and line named: by the compose
screen when the agent sends or submits for review, and by the outbox (InternalTextGuard) for
every message to a customer, whichever path queues it (`reply --send`, review approval,
notices, acknowledgements, holding replies).
"""

from __future__ import annotations

import logging
import re
import time
from dataclasses import dataclass
from typing import Any

from mailtriage.errors import MailtriageError
from mailtriage.kb.article import Article, markdown_to_text
from mailtriage.kb.base import KnowledgeBase
from mailtriage.kb.check import resolve_link
from mailtriage.store import kb_index

log = logging.getLogger(__name__)
HOW = ("excerpt", "link")
# A passage shorter than this says too little to call it a leak ("手順", "Steps:").
_MIN_PASSAGE = {"cjk": 12, "latin": 30}
_SPACE = re.compile(r"\s+")


class InsertRefused(Exception):
    """The article cannot go into a reply; the message says why."""


def _customer_link(kb: KnowledgeBase, article: Article):  # type: ignore[no-untyped-def]
    """[text](target) inside an excerpt: a KB article becomes its public page, or just its
    text when it has none (a customer cannot open our files); a URL stays as "text (url)"."""

    def link(text: str, target: str) -> str:
        path = resolve_link(kb.root, article, target)
        if path is None:
            return text if text == target else f"{text} ({target})"
        resolved = path.resolve()
        for other in kb.articles():
            if other.path.resolve() == resolved:
                if other.url and not other.internal:
                    return f"{text} ({other.url})"
                break
        return text

    return link


def reply_text(kb: KnowledgeBase, article: Article, how: str) -> str:
    """The text to insert into a reply; InsertRefused for an internal-only article, or for a
    link when the article has no public URL."""
    if how not in HOW:
        raise ValueError(f"how must be one of {', '.join(HOW)}")
    if article.internal:
        raise InsertRefused(
            f"{article.title!r} is internal-only: it can never go into a customer reply"
        )
    if how == "link":
        if not article.url:
            raise InsertRefused(
                f"{article.title!r} has no public URL (add url: to its front-matter);"
                " insert an excerpt instead"
            )
        return f"{article.title}\n{article.url}\n"
    return markdown_to_text(article.excerpt_markdown(), _customer_link(kb, article))


def _normal(text: str) -> str:
    return _SPACE.sub(" ", text).strip().casefold()


def _long_enough(passage: str) -> bool:
    cjk = sum(1 for ch in passage if ord(ch) > 0x2E80)
    return cjk >= _MIN_PASSAGE["cjk"] or len(passage) >= _MIN_PASSAGE["latin"]


@dataclass(frozen=True)
class Leak:
    article: Article
    line: int  # line of the article's body
    passage: str

    def describe(self) -> str:
        return (
            f"the text contains internal-only KB article {self.article.ident!r}"
            f" (its line {self.line}: {self.passage[:60]!r})"
        )


class InternalTextError(MailtriageError):
    """A message to a customer carries a passage of an internal-only article: not queued."""

    exit_code = 7  # held, as a reply whose conversation changed

    def __init__(self, leak: Leak):
        self.leak = leak
        super().__init__(f"not sent: {leak.describe()}; remove it first")


def _passages(kb: KnowledgeBase) -> list[tuple[Article, int, str, str]]:
    """(article, line, normalised passage, line as written) of every internal-only article."""
    found = []
    for article in kb.articles():
        if not article.internal:
            continue
        text = markdown_to_text(article.body)
        for number, line in enumerate(text.splitlines(), start=1):
            passage = _normal(line.lstrip("-*0123456789. "))
            if _long_enough(passage):
                found.append((article, number, passage, line.strip()))
    return found


def _leaks(passages: list[tuple[Article, int, str, str]], body: str) -> list[Leak]:
    haystack = _normal(body)
    leaks: dict[str, Leak] = {}
    for article, number, passage, line in passages:
        if article.ident not in leaks and passage in haystack:
            leaks[article.ident] = Leak(article, number, line)
    return list(leaks.values())


def internal_leaks(kb: KnowledgeBase, body: str) -> list[Leak]:
    """Passages of internal-only articles that appear in a reply body (one per article)."""
    return _leaks(_passages(kb), body)


class InternalTextGuard:
    """The outbox's check: the passages of the configured KB's internal-only articles, read
    again when the files changed (looked at no more than every REFRESH seconds, so a run of
    200 notices does not stat the KB 200 times)."""

    REFRESH = 2.0

    def __init__(self, settings: Any):  # config.KbConfig
        self.settings = settings
        self._passages: list[tuple[Article, int, str, str]] | None = None
        self._fingerprint: str | None = None
        self._checked = 0.0

    def _current(self) -> list[tuple[Article, int, str, str]]:
        now = time.monotonic()
        if self._passages is None or now - self._checked >= self.REFRESH:
            from mailtriage.kb.article import KbError

            try:
                # Opened and closed here: the outbox is used from more than one thread.
                kb = KnowledgeBase.from_settings(self.settings)
            except KbError as exc:
                # As in the compose screen: a missing KB directory must not block every
                # message; what it said before (if anything) still counts.
                log.warning("internal-text check without the knowledge base: %s", exc)
                return self._passages or []
            try:
                # Not kb.changes: the index is shared, so another process (the app) may have
                # taken in a change already; what counts is whether we have seen it.
                fingerprint = kb_index.internal_fingerprint(kb.conn)
                if self._passages is None or fingerprint != self._fingerprint:
                    self._passages, self._fingerprint = _passages(kb), fingerprint
            finally:
                kb.close()
            self._checked = now
        return self._passages

    def check(self, text: str) -> None:
        """Raise InternalTextError for the first internal-only article text contains."""
        leaks = _leaks(self._current(), text)
        if leaks:
            raise InternalTextError(leaks[0])
