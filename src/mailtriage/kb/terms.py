"""Search terms from a conversation's text, without a word segmenter.

Japanese has no spaces, but the words that say what a support mail is about are mostly
written in kanji (返金, 請求書) or katakana (ログイン, パスワード), while hiragana carries the
grammar and politeness (できません, いただけますか). So runs of kanji and of katakana are the
candidate terms (long kanji compounds also give their two-character words), and Latin words
of three or more letters; greetings and closing formulas are dropped.
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

_LATIN = re.compile(r"[A-Za-z][A-Za-z0-9_-]{2,}")
_KANJI = re.compile(r"[\u4e00-\u9fff\u3005]{2,}")  # 々 continues a kanji word
_KATAKANA = re.compile(r"[\u30a1-\u30fa\u30fc]{2,}")
_STOP_EN = frozenset(
    [
        "the",
        "and",
        "you",
        "your",
        "for",
        "with",
        "this",
        "that",
        "have",
        "has",
        "was",
        "were",
        "are",
        "our",
        "not",
        "but",
        "can",
        "could",
        "would",
        "will",
        "please",
        "thanks",
        "thank",
        "hello",
        "dear",
        "regards",
        "best",
        "from",
        "sent",
        "subject",
        "any",
        "all",
        "get",
        "got",
        "into",
        "out",
        "about",
        "there",
        "here",
        "when",
        "what",
        "which",
        "who",
        "how",
        "why",
        "also",
        "just",
        "been",
        "being",
        "did",
        "does",
        "done",
        "kind",
        "team",
        "support",
        "sincerely",
        "morning",
        "afternoon",
        "evening",
        "today",
        "yesterday",
        "tomorrow",
    ]
)
_STOP_JA = frozenset(
    [
        "世話",
        "何卒",
        "宜敷",
        "以上",
        "失礼",
        "連絡",
        "返信",
        "株式会社",
        "会社",
        "担当",
        "本日",
        "今回",
        "先日",
        "今後",
        "確認",
        "対応",
        "問合",
        "問い合",
        "様",
        "弊社",
        "御社",
        "貴社",
        "件名",
        "送信",
        "日時",
        "宛先",
        "署名",
        "電話",
        "住所",
        "氏名",
        "名前",
        "先程",
        "早速",
        "大変",
        "恐縮",
        "お願",
        "願い",
        "申し訳",
        "幸い",
        "可能",
        "場合",
        "状況",
        "内容",
        "以下",
        "下記",
        "上記",
    ]
)
_STOP_KATAKANA = frozenset({"サポート", "メール", "チーム"})


def _kanji_terms(run: str) -> list[str]:
    if len(run) <= 3:
        return [run]
    # 請求書再発行 → the compound and its two-character words (請求, 求書, 書再, 再発, 発行):
    # those that no article contains are dropped later by document frequency.
    return [run, *(run[i : i + 2] for i in range(len(run) - 1))]


def unquoted(text: str) -> str:
    """The text without quoted lines ("> …"): they repeat what the thread already said."""
    return "\n".join(line for line in text.splitlines() if not line.lstrip().startswith(">"))


def extract(text: str) -> Counter[str]:
    """term → how often it occurs (Latin terms lower-cased)."""
    counts: Counter[str] = Counter()
    for line in unquoted(text).splitlines():
        for word in _LATIN.findall(line):
            word = word.lower()
            if word not in _STOP_EN:
                counts[word] += 1
        for run in _KANJI.findall(line):
            for term in _kanji_terms(run):
                if term not in _STOP_JA:
                    counts[term] += 1
        for run in _KATAKANA.findall(line):
            if run not in _STOP_KATAKANA:
                counts[run] += 1
    return counts


def conversation_text(conversation: dict[str, Any], *, messages: int = 3) -> tuple[str, str]:
    """(subject, text of the last few customer messages) — what the customer is asking."""
    inbound = [m for m in conversation.get("messages", []) if m.get("inbound", True)]
    chosen = (inbound or conversation.get("messages", []))[-messages:]
    text = "\n".join(unquoted(m.get("text") or "") for m in chosen)
    return conversation.get("subject") or "", text


def weighted_terms(subject: str, text: str) -> dict[str, float]:
    """term → weight: occurrences (at most 3 count) plus a bonus for being in the subject."""
    body = extract(text)
    title = extract(subject)
    weights: dict[str, float] = {}
    for term in set(body) | set(title):
        weights[term] = min(body.get(term, 0), 3) + (2.0 if term in title else 0.0)
    return weights
