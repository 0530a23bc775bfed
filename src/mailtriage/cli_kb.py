"""`mailtriage kb`: list, search, show and check the knowledge base from a shell."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import date
from typing import Any

from mailtriage.cli_options import add_json
from mailtriage.config import Config

EXIT_NOT_FOUND = 1
EXIT_USAGE = 2
COMMANDS = ("kb",)


def add_kb_commands(
    sub: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser
) -> None:
    p = sub.add_parser(
        "kb",
        parents=[common],
        help="the knowledge base: list, search, show, --check",
        description="Articles of the knowledge base ([kb] path in the config). Without a "
        "subcommand: every article. --check lists files that do not parse, broken links, "
        "stale articles (past their review date) and articles nobody inserted lately; it "
        "exits 2 when a file does not parse or a link is broken.",
    )
    p.add_argument("--check", action="store_true", help="check the articles (see above)")
    add_json(p)
    kb_sub = p.add_subparsers(dest="kb_command", metavar="SUBCOMMAND")
    s = kb_sub.add_parser(
        "search",
        parents=[common],
        help="articles matching every word, best first (any of them when none has all)",
        description='Words and "quoted phrases" match title, tags or text as substrings, '
        "Japanese without spaces; best first (title over tags over text).",
    )
    s.add_argument("text", nargs="+", help="what to look for")
    s.add_argument("--limit", type=int, default=20, metavar="N", help="at most N (default 20)")
    add_json(s, inherited=True)
    s = kb_sub.add_parser(
        "show", parents=[common], help="one article", description="Print one article."
    )
    s.add_argument("article", help="its id: the path in the KB without .md (faq/password)")
    add_json(s, inherited=True)


def article_json(article: Any, today: date, score: float | None = None) -> dict[str, Any]:
    data = {
        "id": article.ident,
        "title": article.title,
        "audience": article.audience,
        "tags": list(article.tags),
        "owner": article.owner,
        "url": article.url or None,
        "reviewed": article.reviewed.isoformat(),
        "review_by": article.review_by.isoformat(),
        "stale": article.stale(today),
        "path": str(article.path),
    }
    if score is not None:
        data["score"] = round(score, 3)
    return data


def _print_table(articles: list[Any], today: date) -> None:
    width = max((len(a.ident) for a in articles), default=0)
    for a in articles:
        marks = ("internal " if a.internal else "customer ") + (
            "STALE" if a.stale(today) else "     "
        )
        print(f"{a.ident:<{width}}  {marks}  {a.title}")


def run_kb_command(config: Config, accounts: list[str], args: argparse.Namespace) -> int:
    from mailtriage.kb.article import KbError
    from mailtriage.kb.base import open_kb

    try:
        kb = open_kb(config)
    except KbError as exc:
        print(f"mailtriage: kb: {exc}", file=sys.stderr)
        return EXIT_USAGE
    try:
        if args.check:
            return _check(config, kb, args.json)
        if args.kb_command == "search":
            return _search(kb, " ".join(args.text), args.limit, args.json)
        if args.kb_command == "show":
            return _show(kb, args.article, args.json)
        today = date.today()
        articles = kb.articles()
        if args.json:
            print(json.dumps([article_json(a, today) for a in articles], ensure_ascii=False))
        else:
            _print_table(articles, today)
        return 0
    finally:
        kb.close()


def _search(kb: Any, text: str, limit: int, as_json: bool) -> int:
    today = date.today()
    hits, every = kb.search(text, limit=limit)
    if as_json:
        print(
            json.dumps([article_json(h.article, today, h.score) for h in hits], ensure_ascii=False)
        )
    else:
        if hits and not every:
            print("kb: no article has every word; these have some of them:", file=sys.stderr)
            sys.stderr.flush()
        _print_table([h.article for h in hits], today)
    if not hits:
        print(f"kb: nothing matches {text!r}", file=sys.stderr)
        return EXIT_NOT_FOUND
    return 0


def _show(kb: Any, ident: str, as_json: bool) -> int:
    article = kb.get(ident.removesuffix(".md"))
    if article is None:
        print(f"mailtriage: kb: no article {ident!r} (see `mailtriage kb`)", file=sys.stderr)
        return EXIT_NOT_FOUND
    today = date.today()
    if as_json:
        data = article_json(article, today)
        data["body"] = article.body
        print(json.dumps(data, ensure_ascii=False))
        return 0
    print(f"# {article.title}")
    print(
        f"{article.audience} · owner {article.owner or '-'} · reviewed"
        f" {article.reviewed.isoformat()} · review by {article.review_by.isoformat()}"
        + (" (STALE)" if article.stale(today) else "")
    )
    if article.url:
        print(article.url)
    print()
    print(article.body.rstrip("\n"))
    return 0


def _check(config: Config, kb: Any, as_json: bool) -> int:
    from mailtriage.kb.check import check, team_usage

    assert config.kb is not None
    usage, notes = team_usage(config)
    report = check(kb, usage=usage, unused_days=config.kb.unused_days)
    report.notes += notes
    if as_json:
        data = {
            "articles": report.articles,
            "internal": report.internal,
            "findings": [f.as_dict() for f in report.findings],
            "notes": report.notes,
        }
        print(json.dumps(data, ensure_ascii=False))
    else:
        print(
            f"kb: {report.articles} articles ({report.internal} internal-only) in {kb.root};"
            f" {len(report.findings)} finding{'s' if len(report.findings) != 1 else ''}"
        )
        places = [f"{f.article}:{f.line}" if f.line else f.article for f in report.findings]
        width = max((len(p) for p in places), default=0)
        for f, where in zip(report.findings, places, strict=True):
            print(f"{f.kind:<13}  {where:<{width}}  {f.message}")
        for note in report.notes:
            print(f"note: {note}", file=sys.stderr)
    return EXIT_USAGE if report.must_fix else 0
