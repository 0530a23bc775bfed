"""The explainable urgency/sentiment scorer, in Japanese and English."""

from __future__ import annotations

import pytest

from mailtriage.rules.score import score_conversation, score_text


def conv(*texts: str, subject: str = "", replies_after: int | None = None) -> dict:
    messages = [{"inbound": True, "subject": subject, "text": text} for text in texts]
    if replies_after is not None:
        messages.insert(replies_after, {"inbound": False, "text": "ご連絡ありがとうございます"})
    return {"subject": subject, "messages": messages}


@pytest.mark.parametrize(
    ("text", "value", "reasons"),
    [
        ("大至急ご対応ください", 3, ["urgent: 大至急"]),  # not also 至急
        ("至急、返金をお願いします", 5, ["urgent: 至急", "refund: 返金"]),
        ("解約したいです。クレームです", 4, ["cancellation: 解約", "complaint: クレーム"]),
        ("激怒しています。弁護士に相談します", 7, ["legal: 弁護士", "anger: 激怒"]),
        ("急ぎませんので、お手すきの際にご確認ください", 0, ["no rush: 急ぎません, お手すきの際"]),
        ("Please refund me ASAP", 5, ["urgent: asap", "refund: refund"]),
        ("This is UNACCEPTABLE.", 2, ["complaint: unacceptable"]),
        ("Not urgent, whenever convenient", 0, ["no rush: not urgent, whenever convenient"]),
        ("ｒｅｆｕｎｄ please", 2, ["refund: refund"]),  # full-width letters fold
        ("the asapx tool", 0, []),  # whole words only in English
        ("ログインできません", 0, []),
    ],
)
def test_lexicon_hits(text: str, value: int, reasons: list[str]) -> None:
    score = score_conversation(conv(text))
    assert (score.value, list(score.reasons)) == (value, reasons)
    assert max(0, sum(p for p, _ in score_text(text))) == value


def test_follow_ups_count_since_our_last_reply() -> None:
    score = score_conversation(conv("質問です", "まだですか", "返事をください", "いつですか"))
    assert score.reasons == ("3rd follow-up",) and score.value == 6
    answered = score_conversation(conv("質問です", "まだですか", replies_after=1))
    assert answered.reasons == () and answered.value == 0


def test_an_auto_ack_does_not_end_the_wait() -> None:
    c = conv("質問です", "まだですか")
    c["messages"].insert(1, {"inbound": False, "auto": True, "text": "自動応答"})
    assert score_conversation(c).reasons == ("1st follow-up",)


def test_exclamation_density_and_shouting() -> None:
    ja = score_conversation(conv("早く！！！対応して！！"))
    assert ja.reasons == ("5 exclamation marks (45.5/100 chars)",) and ja.value == 2
    en = score_conversation(conv("WHERE IS MY ORDER? THIS TAKES FOREVER!"))
    assert en.reasons == ("shouting: WHERE, ORDER, THIS",)


def test_quoted_text_does_not_count() -> None:
    score = score_conversation(conv("ありがとうございます\n> 返金は至急対応いたします"))
    assert score.value == 0


def test_summary_reads_like_the_reasons() -> None:
    score = score_conversation(conv("至急お願いします", "まだですか", "まだですか", subject="返金"))
    assert score.summary == "2nd follow-up; urgent: 至急; refund: 返金"  # biggest first
    assert score.value == 9 and score.urgent
