"""Quoted text and signatures are found, in English and Japanese mail."""

from __future__ import annotations

from mailtriage.mime.quoting import split_body


def kinds(text: str) -> list[tuple[str, int]]:
    return [(b.kind, len(b.lines)) for b in split_body(text)]


def test_plain_text_is_one_block() -> None:
    assert kinds("Hello\nthere") == [("text", 2)]


def test_angle_quotes_and_attribution() -> None:
    text = "Thanks!\n\nOn Mon, 3 Nov 2026 at 10:00, Bob <b@example.com> wrote:\n> hi\n> there\n"
    assert kinds(text) == [("text", 2), ("quote", 3)]


def test_japanese_attribution_and_fullwidth_quote() -> None:
    text = (
        "承知しました。\n\n2026年11月20日(金) 9:00 山田 太郎 <taro@example.jp>:\n"
        "＞ ログインできません\n"
    )
    assert kinds(text) == [("text", 2), ("quote", 2)]


def test_outlook_original_message_quotes_the_rest() -> None:
    text = "了解です。\n-----Original Message-----\nFrom: a\nSubject: b\n\nbody"
    assert kinds(text) == [("text", 1), ("quote", 5)]
    assert kinds("ok\n-----元のメッセージ-----\n差出人: a") == [("text", 1), ("quote", 2)]


def test_signature_after_dash_dash() -> None:
    text = "Please see attached.\n\n-- \nAnn Lee\nExample Corp\n"
    assert kinds(text) == [("text", 2), ("signature", 3)]


def test_japanese_ruled_signature() -> None:
    text = (
        "よろしくお願いいたします。\n━━━━━━━━━━\n株式会社ミナト 佐藤\nTEL 03-0000-0000\n━━━━━━━━━━"
    )
    assert kinds(text) == [("text", 1), ("signature", 4)]


def test_long_tail_after_rule_is_not_a_signature() -> None:
    body = "intro\n-----\n" + "\n".join(f"line {i}" for i in range(40))
    assert kinds(body) == [("text", 42)]
