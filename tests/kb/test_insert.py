"""What may go into a reply: excerpts and links of customer-facing articles only; pasted
passages of internal-only articles are found before sending."""

from __future__ import annotations

from pathlib import Path

import pytest

from kb.helpers import article, copy_shipped, open_kb
from mailtriage.kb.insert import InsertRefused, internal_leaks, reply_text


def test_internal_only_is_refused_both_ways(tmp_path: Path) -> None:
    kb = open_kb(copy_shipped(tmp_path), tmp_path)
    secret = kb.get("internal/refund-approval")
    assert secret is not None and secret.internal
    for how in ("excerpt", "link"):
        with pytest.raises(InsertRefused, match="internal-only"):
            reply_text(kb, secret, how)


def test_excerpt_is_plain_text_up_to_more(tmp_path: Path) -> None:
    kb = open_kb(copy_shipped(tmp_path), tmp_path)
    text = reply_text(kb, kb.get("ja/faq/password-reset"), "excerpt")  # type: ignore[arg-type]
    assert text.startswith("【パスワードの再設定手順】\n")
    assert "1. ログイン画面の「パスワードをお忘れの方」をクリックします。" in text
    assert "迷惑メール" not in text  # after <!-- more -->
    assert "#" not in text and "<!--" not in text


def test_links_to_articles_become_public_pages_or_plain_text(tmp_path: Path) -> None:
    kb = open_kb(copy_shipped(tmp_path), tmp_path)
    text = reply_text(kb, kb.get("ja/troubleshooting/login-lockout"), "excerpt")  # type: ignore[arg-type]
    assert "ロックは30分後に自動で解除されます" in text
    root = tmp_path / "kb"
    article(root, "a", "A", "See [B](b.md), [C](c.md) and [site](https://x.example/).\n")
    article(root, "b", "B", "b\n", extra="url: https://help.example/b\n")
    article(root, "c", "C", "c\n", audience="internal")
    kb.refresh()
    text = reply_text(kb, kb.get("a"), "excerpt")  # type: ignore[arg-type]
    assert text == "See B (https://help.example/b), C and site (https://x.example/).\n"


def test_link_needs_a_public_url(tmp_path: Path) -> None:
    kb = open_kb(copy_shipped(tmp_path), tmp_path)
    assert reply_text(kb, kb.get("en/faq/password-reset"), "link") == (  # type: ignore[arg-type]
        "Resetting your password\nhttps://help.minato-drive.example.jp/en/password-reset\n"
    )
    with pytest.raises(InsertRefused, match="no public URL"):
        reply_text(kb, kb.get("ja/faq/refund-policy"), "link")  # type: ignore[arg-type]


def test_pasted_internal_text_is_found(tmp_path: Path) -> None:
    kb = open_kb(copy_shipped(tmp_path), tmp_path)
    body = (
        "山田様\n\nお問い合わせありがとうございます。\n"
        "10,000円以上、または年間契約の途中解約:   スーパーバイザー（carol）の承認が必要。\n"
    )
    (leak,) = internal_leaks(kb, body)
    assert leak.article.ident == "internal/refund-approval"
    assert "スーパーバイザー" in leak.passage
    # a customer-facing excerpt, or ordinary words an internal article also uses, are fine
    fine = reply_text(kb, kb.get("ja/faq/refund-policy"), "excerpt")  # type: ignore[arg-type]
    assert internal_leaks(kb, "山田様\n\n返金の承認についてご連絡いたします。\n" + fine) == []
