"""Front-matter parsing: what an article says, and one precise error (file:line) when not."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from kb.helpers import SHIPPED
from mailtriage.kb.article import KbError, load_article, markdown_to_text, parse_article

GOOD = """---
title: "パスワードの再設定方法"
tags: [パスワード, password]
audience: customer-facing   # shown to customers
reviewed: 2026-10-20
review_every: 26w
owner: alice
url: https://help.example.jp/pw#reset
---
## 手順

本文です。
"""


def parse(text: str, path: str = "kb/faq/pw.md"):  # type: ignore[no-untyped-def]
    return parse_article(text, Path(path), "faq/pw")


def test_every_field_is_read() -> None:
    a = parse(GOOD)
    assert a.title == "パスワードの再設定方法"
    assert a.tags == ("パスワード", "password")
    assert a.audience == "customer-facing" and not a.internal
    assert a.reviewed == date(2026, 10, 20)
    assert a.review_by == date(2027, 4, 20)  # 26 weeks later
    assert a.owner == "alice"
    assert a.url == "https://help.example.jp/pw#reset"
    assert a.body.startswith("## 手順")


def test_block_list_and_review_by_and_default_interval() -> None:
    text = "---\ntitle: X\ntags:\n  - a\n  - 'b c'\naudience: internal\nreviewed: 2026-01-01\n---\n"
    a = parse_article(text, Path("x.md"), "x", review_days=30)
    assert a.tags == ("a", "b c") and a.internal
    assert a.review_by == date(2026, 1, 31)
    assert a.stale(date(2026, 2, 1)) and not a.stale(date(2026, 1, 31))
    b = parse(GOOD.replace("review_every: 26w", "review_by: 2026-12-01"))
    assert b.review_by == date(2026, 12, 1)


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (("title:", "titel:"), "kb/faq/pw.md:2: unknown key 'titel' (fix: use one of title,"),
        (
            ("audience: customer-facing   # shown to customers", "audience: public"),
            "kb/faq/pw.md:4: audience: 'public' is not one of internal / customer-facing",
        ),
        (
            ("reviewed: 2026-10-20", "reviewed: 20.10.2026"),
            "kb/faq/pw.md:5: reviewed: '20.10.2026' is not a date (fix: write YYYY-MM-DD)",
        ),
        (
            ("review_every: 26w", "review_every: often"),
            "kb/faq/pw.md:6: review_every: 'often' is not a period",
        ),
        (("url: https://", "url: ftp://"), "kb/faq/pw.md:8: url: 'ftp://help.example.jp/pw#reset'"),
        (("tags: [パスワード, password]", "tags: [a, b"), "kb/faq/pw.md:3: tags: unclosed list"),
        (("owner: alice", "this is not yaml"), "kb/faq/pw.md:7: not a 'key: value' line"),
        (("owner: alice", "title: again"), "kb/faq/pw.md:7: 'title' given twice"),
    ],
)
def test_bad_front_matter_names_file_and_line(change: tuple[str, str], expected: str) -> None:
    with pytest.raises(KbError) as caught:
        parse(GOOD.replace(*change))
    assert str(caught.value).startswith(expected)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("# no front-matter\n", "kb/faq/pw.md:1: no front-matter"),
        ("---\ntitle: x\n", "kb/faq/pw.md:1: front-matter never ends"),
        (
            "---\ntitle: x\nreviewed: 2026-01-01\n---\n",
            "kb/faq/pw.md:1: front-matter has no 'audience' (fix: add audience: internal)",
        ),
    ],
)
def test_missing_parts(text: str, expected: str) -> None:
    with pytest.raises(KbError, match="^" + expected.replace("(", r"\(").replace(")", r"\)")):
        parse(text)


def test_not_utf8_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "sjis.md"
    path.write_bytes("---\ntitle: 返金\n".encode("shift_jis"))
    with pytest.raises(KbError, match=rf"^{path}: not UTF-8"):
        load_article(tmp_path, path)


def test_excerpt_stops_at_more_or_second_heading() -> None:
    a = parse(GOOD.replace("本文です。", "本文です。\n\n## 次の節\n\n続き"))
    assert a.excerpt_markdown().strip() == "## 手順\n\n本文です。"
    b = parse(GOOD.replace("本文です。", "前半\n<!-- more -->\n後半"))
    assert "前半" in b.excerpt_markdown() and "後半" not in b.excerpt_markdown()


def test_markdown_to_text_for_mail() -> None:
    text = markdown_to_text("## 見出し\n\n**太字** と `code` と [ヘルプ](https://h.example/x)\n")
    assert text == "【見出し】\n\n太字 と code と ヘルプ (https://h.example/x)\n"
    assert markdown_to_text("# Title\n").strip() == "Title"


def test_every_shipped_article_parses() -> None:
    files = [p for p in SHIPPED.rglob("*.md") if p.name != "README.md"]
    articles = [load_article(SHIPPED, p) for p in files]
    assert len(articles) >= 10
    assert any(a.internal for a in articles) and any(not a.internal for a in articles)
    assert any(a.ident.startswith("ja/") for a in articles)
    assert any(a.ident.startswith("en/") for a in articles)


def test_shipped_japanese_articles_are_polite() -> None:
    """Customer-facing Japanese articles pass the tone check (敬語): the only hint allowed is
    the missing addressee, which the reply around the excerpt provides."""
    from mailtriage.compose import tone

    for path in sorted((SHIPPED / "ja").rglob("*.md")):
        a = load_article(SHIPPED, path)
        hints = tone.check(markdown_to_text(a.body), language="ja")
        assert not [h for h in hints if h.line], (a.ident, [h.message for h in hints])
