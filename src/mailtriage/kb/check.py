"""`mailtriage kb --check`: files that do not parse, broken links, stale and unused articles.

Links are checked on disk only (never fetched: no network): a relative link or a root-relative
"/faq/x.md" must name a file inside the KB, an article link a file that parses. Usage comes
from the team's kb-used events in each account's cache (`mailtriage sync` brings them).
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from mailtriage.kb.article import Article
from mailtriage.kb.base import KnowledgeBase

_LINK = re.compile(r"(?<!!)\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
_IMAGE = re.compile(r"!\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")


@dataclass(frozen=True)
class Finding:
    kind: str  # "error", "broken-link", "internal-link", "stale", "unused"
    article: str  # ident
    line: int
    message: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "article": self.article,
            "line": self.line,
            "message": self.message,
        }


@dataclass
class Report:
    articles: int
    internal: int
    findings: list[Finding] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # e.g. a missing cache: usage unknown

    @property
    def must_fix(self) -> bool:
        return any(f.kind in ("error", "broken-link") for f in self.findings)


def links(body: str) -> list[tuple[int, str]]:
    """(line in the body, target) of every Markdown link and image."""
    found = []
    for number, line in enumerate(body.splitlines(), start=1):
        for pattern in (_LINK, _IMAGE):
            found += [(number, m.group(1)) for m in pattern.finditer(line)]
    return found


def resolve_link(root: Path, article: Article, target: str) -> Path | None:
    """The file a local link points at, or None for a URL, mailto: or #anchor."""
    if _SCHEME.match(target) or target.startswith(("#", "//")):
        return None
    target = target.split("#", 1)[0].split("?", 1)[0]
    if not target:
        return None
    if target.startswith("/"):
        return root / target.lstrip("/")
    return article.path.parent / target


def _body_offset(article: Article) -> int:
    """Lines before the body in the file (front-matter), so findings name the file's line."""
    try:
        text = article.path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return 0
    lines = text.splitlines()
    closing = next((i for i, line in enumerate(lines[1:], 1) if line.strip() == "---"), 0)
    skipped = 0
    for line in lines[closing + 1 :]:
        if line.strip():
            break
        skipped += 1
    return closing + 1 + skipped


def check(
    kb: KnowledgeBase,
    *,
    today: date | None = None,
    usage: dict[str, tuple[int, float]] | None = None,
    unused_days: int = 90,
    now: float | None = None,
) -> Report:
    today = today or date.today()
    now = time.time() if now is None else now
    articles = kb.articles()
    by_path = {a.path.resolve(): a for a in articles}
    root = kb.root.resolve()
    report = Report(len(articles), sum(a.internal for a in articles))
    for ident, message in kb.errors():
        report.findings.append(Finding("error", ident, 0, message))
    broken_files = {Path(str(kb.root / ident) + ".md").resolve() for ident, _ in kb.errors()}
    for article in articles:
        offset = _body_offset(article)
        for line, target in links(article.body):
            path = resolve_link(kb.root, article, target)
            if path is None:
                continue
            where = line + offset
            resolved = path.resolve()
            if not resolved.is_relative_to(root):
                report.findings.append(
                    Finding("broken-link", article.ident, where, f"{target!r} is outside the KB")
                )
            elif not resolved.exists():
                report.findings.append(
                    Finding("broken-link", article.ident, where, f"{target!r}: no such file")
                )
            elif resolved in broken_files:
                report.findings.append(
                    Finding(
                        "broken-link",
                        article.ident,
                        where,
                        f"{target!r}: that article does not parse (see its error)",
                    )
                )
            elif not article.internal and resolved in by_path and by_path[resolved].internal:
                report.findings.append(
                    Finding(
                        "internal-link",
                        article.ident,
                        where,
                        f"customer-facing, but links to internal-only {by_path[resolved].ident}",
                    )
                )
        if article.stale(today):
            owner = f", owner {article.owner}" if article.owner else ""
            report.findings.append(
                Finding(
                    "stale",
                    article.ident,
                    0,
                    f"review was due {article.review_by.isoformat()}"
                    f" (last reviewed {article.reviewed.isoformat()}{owner})",
                )
            )
    if usage is not None:
        cutoff = now - unused_days * 86400
        # Only customer-facing articles can go into a reply: internal ones are read, not used.
        for article in (a for a in articles if not a.internal):
            count, last = usage.get(article.ident, (0, 0.0))
            if last < cutoff:
                when = (
                    f"last {datetime.fromtimestamp(last).date().isoformat()}"
                    if count
                    else "never inserted"
                )
                report.findings.append(
                    Finding(
                        "unused",
                        article.ident,
                        0,
                        f"not inserted into a reply in {unused_days} days ({when})",
                    )
                )
    order = {"error": 0, "broken-link": 1, "internal-link": 2, "stale": 3, "unused": 4}
    report.findings.sort(key=lambda f: (order[f.kind], f.article, f.line))
    return report


def team_usage(config: Any) -> tuple[dict[str, tuple[int, float]] | None, list[str]]:
    """Usage merged over every account's cache (None when no cache could be read), and notes
    for caches that are missing."""
    from mailtriage.store import Store
    from mailtriage.store.cache import CacheError
    from mailtriage.store.events import kb_usage

    merged: dict[str, tuple[int, float]] = {}
    notes: list[str] = []
    read = 0
    for name, account in config.accounts.items():
        try:
            store = Store(account.cache_path, readonly=True)
        except CacheError as exc:
            notes.append(f"usage of account {name} unknown: {exc}")
            continue
        read += 1
        try:
            for ident, (n, last) in kb_usage(store.conn).items():
                old = merged.get(ident, (0, 0.0))
                merged[ident] = (old[0] + n, max(old[1], last))
        finally:
            store.close()
    return (merged if read else None), notes
