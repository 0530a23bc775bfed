"""The KB index: Japanese and English search, ranking, suggestions from a conversation, and
rebuilding when files change."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from kb.helpers import article, conversation, copy_shipped, open_kb


def idents(hits) -> list[str]:  # type: ignore[no-untyped-def]
    return [h.article.ident for h in hits]


def test_japanese_substring_search_without_spaces(tmp_path: Path) -> None:
    kb = open_kb(copy_shipped(tmp_path), tmp_path)
    hits, every = kb.search("ログイン")
    assert every and idents(hits)[0] == "ja/troubleshooting/login-lockout"  # in its title
    assert "ja/faq/password-reset" in idents(hits)  # only in its tags and text
    # two characters: no trigram of their own, found through the index vocabulary
    hits, _ = kb.search("返金")
    assert set(idents(hits)) == {"ja/faq/refund-policy", "internal/refund-approval"}
    # inside a word: 文字化け is part of 「日本語が文字化けする」
    assert idents(kb.search("文字化")[0]) == ["ja/troubleshooting/csv-export-mojibake"]


def test_english_search_is_case_insensitive_and_every_word_counts(tmp_path: Path) -> None:
    kb = open_kb(copy_shipped(tmp_path), tmp_path)
    hits, every = kb.search("RATE limit")
    assert every and idents(hits) == ["en/troubleshooting/api-rate-limit"]
    hits, every = kb.search('"single sign-on"')
    assert idents(hits) == ["en/product/sso-saml"]
    # no article has both words: the ones with either, flagged as such
    hits, every = kb.search("SAML 請求書")
    assert not every
    assert set(idents(hits)) == {"en/product/sso-saml", "ja/faq/invoice-reissue"}
    assert kb.search("zzzzqqq")[0] == []


@pytest.mark.parametrize(
    ("term", "titles", "bodies"),
    [
        # a trigram phrase; and two characters, through the index vocabulary
        ("quota", ("Other", "Other too", "Quota limits"), ("the word quota once", "nothing")),
        ("返金", ("その他", "その他も", "返金の条件"), ("返金について一度だけ", "なし")),
    ],
)
def test_title_outranks_tags_outranks_body(
    tmp_path: Path, term: str, titles: tuple[str, str, str], bodies: tuple[str, str]
) -> None:
    root = tmp_path / "kb"
    article(root, "a-body", titles[0], bodies[0] + "\n")
    article(root, "b-tags", titles[1], bodies[1] + "\n", extra=f"tags: [{term}]\n")
    article(root, "c-title", titles[2], bodies[1] + "\n")
    kb = open_kb(root, tmp_path)
    assert idents(kb.search(term)[0]) == ["c-title", "b-tags", "a-body"]
    assert idents(kb.search(f"{term} {bodies[1]}")[0]) == ["c-title", "b-tags"]
    kb.close()


def test_suggestions_follow_the_conversation(tmp_path: Path) -> None:
    kb = open_kb(copy_shipped(tmp_path), tmp_path)
    login = conversation(
        "Minato Drive にログインできない",
        "本日朝からログインできなくなりました。「認証に失敗しました（E401）」と表示されます。",
    )
    assert idents(kb.suggest(login))[0] == "ja/troubleshooting/login-lockout"
    assert kb.prefill(login).split()[0] == "ログイン"
    refund = conversation(
        "解約後も請求されています", "先月解約したのに請求されています。返金をお願いします。"
    )
    ranked = idents(kb.suggest(refund))
    assert ranked[0] == "ja/faq/refund-policy"
    assert "internal/refund-approval" in ranked[:3]  # shown (marked); never insertable
    sso = conversation("SSO setup fails", "Okta says Invalid audience when we test SAML sign-in.")
    assert idents(kb.suggest(sso))[0] == "en/product/sso-saml"
    csv = conversation("CSVエクスポートが文字化けします", "ExcelでCSVを開くと文字化けします。")
    assert idents(kb.suggest(csv))[0] == "ja/troubleshooting/csv-export-mojibake"
    # quoted text is not what the customer asks now
    quoted = conversation("Re: hello", "> 返金 返金 返金\nThanks, the API works now.")
    assert "ja/faq/refund-policy" not in idents(kb.suggest(quoted))


def test_index_follows_the_files(tmp_path: Path) -> None:
    root = tmp_path / "kb"
    path = article(root, "faq/one", "請求書について", "再発行できます。\n")
    kb = open_kb(root, tmp_path)
    assert kb.changes.added == 1
    assert idents(kb.search("再発行")[0]) == ["faq/one"]
    # edited: the new text is found, the old is gone
    path.write_text(path.read_text(encoding="utf-8").replace("再発行", "宛名変更"), "utf-8")
    os.utime(path, ns=(1, 1))
    assert kb.refresh().updated == 1
    assert kb.search("再発行")[0] == [] and idents(kb.search("宛名変更")[0]) == ["faq/one"]
    # touched but the same text (git checkout): not parsed again
    os.utime(path, ns=(2, 2))
    changes = kb.refresh()
    assert (changes.updated, changes.unchanged) == (0, 1)
    # a new file that does not parse: kept as an error, not a result
    bad = root / "faq" / "bad.md"
    bad.write_text("---\ntitel: x\n---\n", encoding="utf-8")
    assert kb.refresh().added == 1
    assert [ident for ident, _ in kb.errors()] == ["faq/bad"]
    assert "faq/bad" not in idents(kb.search("")[0])
    # removed
    path.unlink()
    assert kb.refresh().removed == 1
    assert kb.search("宛名変更")[0] == []
    kb.close()
    # a second process reuses the index
    again = open_kb(root, tmp_path)
    assert not again.changes.any and again.changes.unchanged == 1


def test_damaged_index_is_rebuilt(tmp_path: Path) -> None:
    root = tmp_path / "kb"
    article(root, "x", "Refunds", "text\n")
    index = tmp_path / "index" / "kb-index.sqlite3"
    index.parent.mkdir()
    index.write_bytes(b"this is not sqlite" * 100)
    kb = open_kb(root, tmp_path)
    assert idents(kb.search("refund")[0]) == ["x"]


def test_one_and_two_character_terms_use_the_index_vocabulary(tmp_path: Path) -> None:
    from mailtriage.store import fts

    root = tmp_path / "kb"
    article(root, "umbrella", "傘の忘れ物", "受付でお預かりします。\n")
    article(root, "end-of-title", "ご返金", "手続きの流れ\n")  # 返金 ends the title
    article(root, "end-of-tags", "Other", "nothing\n", extra="tags: [お問い合わせ, 返金]\n")
    article(root, "body", "Policy", "全額返金は購入後 30 日以内です。SSO は対象外。\n")
    kb = open_kb(root, tmp_path)
    # each short term is an index lookup: the trigrams that start with it are in the index
    assert fts.trigrams_starting(kb.conn, "kb_fts_terms", "返金")
    assert idents(kb.search("傘")[0]) == ["umbrella"]  # one character, in the title
    # at the very end of a column too (the index pads each column)
    assert set(idents(kb.search("返金")[0])) == {"end-of-title", "end-of-tags", "body"}
    assert set(idents(kb.search("金")[0])) == {"end-of-title", "end-of-tags", "body"}
    assert kb.search("虹")[0] == []  # starts no trigram: occurs nowhere
    # mixed: a short and a long term, both must match; then any of them when none has both
    hits, every = kb.search("返金 SSO")
    assert every and idents(hits) == ["body"]
    hits, every = kb.search("傘 sso")
    assert not every and set(idents(hits)) == {"umbrella", "body"}
    hits, every = kb.search("虹 傘")
    assert not every and idents(hits) == ["umbrella"]
    # the suggestions count articles with a short term through the same path
    from mailtriage.store import kb_index

    assert kb_index.document_frequency(kb.conn, "返金") == 3
    assert kb_index.document_frequency(kb.conn, "虹") == 0
    kb.close()


def test_very_common_short_terms_fall_back_to_like(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mailtriage.store import fts

    kb = open_kb(copy_shipped(tmp_path), tmp_path)
    queries = ("返金", "金 ログイン", "返金 SAML", "虹 SAML")
    expected = [set(idents(kb.search(q)[0])) for q in queries]
    monkeypatch.setattr(fts, "MAX_SHORT_TERMS", 1)
    assert fts.trigrams_starting(kb.conn, "kb_fts_terms", "返金") is None
    # the same articles (scored from the LIKE hits instead of bm25)
    assert [set(idents(kb.search(q)[0])) for q in queries] == expected
    assert expected[0] == {"ja/faq/refund-policy", "internal/refund-approval"}
    kb.close()


def test_an_index_of_the_previous_version_is_rebuilt(tmp_path: Path) -> None:
    import sqlite3

    root = tmp_path / "kb"
    article(root, "x", "ご返金", "text\n")
    open_kb(root, tmp_path).close()
    index = tmp_path / "index" / "kb-index.sqlite3"
    with sqlite3.connect(index) as conn:  # as version 1 left it: no padding, no vocabulary
        conn.execute("DROP TABLE kb_fts_terms")
        conn.execute("PRAGMA user_version = 1")
    kb = open_kb(root, tmp_path)
    assert kb.changes.added == 1
    assert idents(kb.search("返金")[0]) == ["x"]
    kb.close()
