"""What an article may put into a reply, and the check that nothing internal leaves.

Every reply is mail to someone outside the team, so an internal-only article can never be
inserted, whatever screen asks; and at send time a reply that contains a passage of an
internal-only article (pasted by hand, say) is held with the article and line named.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from mailtriage.kb.article import Article, markdown_to_text
from mailtriage.kb.base import KnowledgeBase
from mailtriage.kb.check import resolve_link

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


def internal_leaks(kb: KnowledgeBase, body: str) -> list[Leak]:
    """Passages of internal-only articles that appear in a reply body (one per article)."""
    haystack = _normal(body)
    leaks = []
    for article in kb.articles():
        if not article.internal:
            continue
        text = markdown_to_text(article.body)
        for number, line in enumerate(text.splitlines(), start=1):
            passage = _normal(line.lstrip("-*0123456789. "))
            if _long_enough(passage) and passage in haystack:
                leaks.append(Leak(article, number, line.strip()))
                break
    return leaks
