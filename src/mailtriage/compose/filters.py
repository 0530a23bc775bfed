"""The small functions templates may call as filters. Pure and individually tested."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

_JAPANESE = re.compile("[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uff66-\uff9f]")
_REPLY_PREFIX = re.compile(
    r"^\s*(?:(?:re|fwd?|aw|sv|wg)\s*(?:\[\d+\])?\s*[:：]|返信\s*[:：]|転送\s*[:：])\s*",
    re.IGNORECASE,
)
_WEEKDAYS_JA = "月火水木金土日"


def has_japanese(text: str) -> bool:
    return bool(_JAPANESE.search(text or ""))


def family_name(name: str) -> str:
    """The family name of a Japanese name written family-first ("山田 太郎" -> "山田").

    A name without a space or in Latin letters is returned whole: guessing which part is the
    family name of "Taro Yamada" or "山田太郎" would address the customer wrongly.
    """
    name = " ".join((name or "").replace("\u3000", " ").split())
    if not name:
        return ""
    parts = name.split(" ")
    if len(parts) >= 2 and has_japanese(parts[0]):
        return parts[0]
    return name


def honorific(customer: Mapping[str, Any], language: str = "ja") -> str:
    """How to address the customer: "山田 太郎 様", "お客様", "Taro Yamada", "there"."""
    name = str(customer.get("name") or "").strip()
    if language == "ja":
        return f"{name} 様" if name else "お客様"
    return name or "there"


def quote(text: str, prefix: str = "> ") -> str:
    """Each line prefixed; already-quoted lines get ">" without a space (">> " stays tidy)."""
    out = []
    for line in (text or "").rstrip("\n").split("\n"):
        if line.startswith(">"):
            out.append(">" + line)
        else:
            out.append((prefix + line).rstrip())
    return "\n".join(out)


def _as_datetime(value: datetime | str) -> datetime:
    return value if isinstance(value, datetime) else datetime.fromisoformat(str(value))


def date_ja(value: datetime | str, with_time: bool = False) -> str:
    """2026年11月20日(金) [09:00]."""
    d = _as_datetime(value)
    text = f"{d.year}年{d.month}月{d.day}日({_WEEKDAYS_JA[d.weekday()]})"
    return f"{text} {d:%H:%M}" if with_time else text


def date_en(value: datetime | str, with_time: bool = False) -> str:
    """Friday, 20 November 2026 [09:00]."""
    d = _as_datetime(value)
    text = f"{d:%A}, {d.day} {d:%B %Y}"
    return f"{text} {d:%H:%M}" if with_time else text


def date_for(value: datetime | str, language: str, with_time: bool = False) -> str:
    return date_ja(value, with_time) if language == "ja" else date_en(value, with_time)


def strip_reply_prefix(subject: str) -> str:
    """ "Re: RE: 返信: x" -> "x"."""
    subject = subject or ""
    while True:
        stripped = _REPLY_PREFIX.sub("", subject, count=1)
        if stripped == subject:
            return subject.strip()
        subject = stripped


def reply_subject(subject: str) -> str:
    return f"Re: {strip_reply_prefix(subject)}"


def forward_subject(subject: str) -> str:
    return f"Fwd: {strip_reply_prefix(subject)}"


FILTERS: dict[str, Callable[..., Any]] = {
    "family_name": family_name,
    "honorific": honorific,
    "quote": quote,
    "date_ja": date_ja,
    "date_en": date_en,
    "date_for": date_for,
    "strip_reply_prefix": strip_reply_prefix,
    "reply_subject": reply_subject,
}
