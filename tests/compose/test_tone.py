"""Tone hints: each rule in tone_rules.toml fires where it should and stays quiet otherwise."""

from __future__ import annotations

from pathlib import Path

import pytest

from mailtriage.compose import tone

NAME = {"name": "山田 太郎"}


def _rules(body: str, language: str = "ja", customer: dict | None = NAME) -> list[str]:
    return [h.rule for h in tone.check(body, language=language, customer=customer)]


@pytest.mark.parametrize(
    ("body", "rule"),
    [
        ("山田様\nこちらを確認してください。", "ja-imperative"),
        ("山田様\nすぐに再起動しなさい。", "ja-imperative"),
        ("山田様\n仕様ですので、ご理解ください。", "ja-condescending"),
        ("山田様\nそれは常識です。", "ja-condescending"),
        ("山田様\n後ほどご連絡いたします。", "ja-vague"),
        ("山田様\n少しお待ちいただけますでしょうか。", "ja-vague"),
        ("山田様\n申し訳ございません。\n重ねて申し訳ございません。", "ja-apology-overuse"),
        ("山田様\n恐れ入りますが、ご確認を。お手数ですが、ご返信を。", "ja-cushion-overuse"),
        ("山田様\n原因は［原因を記入］です。", "ja-placeholder"),
        ("こちらをご確認いただけますでしょうか。", "missing-name"),
    ],
)
def test_japanese_rules_fire(body: str, rule: str) -> None:
    assert rule in _rules(body)


@pytest.mark.parametrize(
    "body",
    [
        "山田 太郎 様\nご確認をお願いいたします。",
        "山田様\nお気軽にお問い合わせください。",  # お〜ください is polite
        "山田様\n2営業日以内にご連絡いたします。",
        "山田様\n後ほど、11月20日(金)にご連絡いたします。",  # vague word, but dated
        "山田様\n申し訳ございません。",  # one apology is right
        "山田様\n確認中です。\n> 確認してください\n-- \n当然署名",  # quote and signature skipped
    ],
)
def test_japanese_rules_stay_quiet(body: str) -> None:
    assert _rules(body) == []


@pytest.mark.parametrize(
    ("body", "rule"),
    [
        ("Hello Taro,\nYou must restart the app.", "en-imperative"),
        ("Hello Taro,\nSend us the log.", "en-imperative"),
        ("Hello Taro,\nObviously the button is on the left.", "en-condescending"),
        ("Hello Taro,\nWe will reply soon.", "en-vague"),
        ("Hello Taro,\nSorry. We apologise. Sorry again.", "en-apology-overuse"),
        ("Hello Taro,\nThe cause: [cause here].", "en-placeholder"),
        ("Hello,\nThanks.", "missing-name"),
    ],
)
def test_english_rules_fire(body: str, rule: str) -> None:
    assert rule in _rules(body, "en", {"name": "Taro"})


def test_english_quiet_and_dated() -> None:
    assert (
        _rules(
            "Hello Taro,\nWe will reply within 2 days, as soon as we can.", "en", {"name": "Taro"}
        )
        == []
    )


def test_hint_points_at_line_and_text() -> None:
    (hint,) = tone.check("山田様\n\nこれを確認してください。", language="ja", customer=NAME)
    assert (hint.line, hint.text, hint.category) == (3, "てください", "命令口調")
    assert hint.suggestion


def test_rules_file_is_validated(tmp_path: Path) -> None:
    bad = tmp_path / "r.toml"
    bad.write_text(
        '[[rules]]\nid="x"\nlanguage="ja"\ncategory="c"\nkind="pattern"\n'
        'pattern="("\nmessage="m"\n',
        "utf-8",
    )
    with pytest.raises(tone.RuleError, match="bad regular expression"):
        tone.load_rules(bad)
    assert len(tone.load_rules()) >= 10
