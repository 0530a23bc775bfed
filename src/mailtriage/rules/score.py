"""A local, explainable urgency/sentiment score: lexicon hits, follow-ups, exclamation marks.

No network and no model: every point comes with the reason that earned it ("urgent: 至急",
"2nd follow-up"), so an agent can see why a conversation was raised and disagree. The
lexicons are data (lexicons/*.toml); a team can read and extend them.
"""

from __future__ import annotations

import re
import tomllib
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

LEXICON_DIR = Path(__file__).with_name("lexicons")
# Where the scorer suggests raising priority (rules use their own `score_at_least`).
URGENT_AT = 5
_QUOTED = re.compile(r"^\s*[>＞|]")
_CAPS_WORD = re.compile(r"\b[A-Z]{4,}\b")


@dataclass(frozen=True)
class Category:
    name: str
    label: str
    weight: int
    terms: tuple[str, ...]


@dataclass(frozen=True)
class Score:
    value: int
    reasons: tuple[str, ...]  # one per contribution, biggest first

    @property
    def urgent(self) -> bool:
        return self.value >= URGENT_AT

    @property
    def summary(self) -> str:
        """One line for a column or a tooltip: "urgent: 至急; 2nd follow-up"."""
        return "; ".join(self.reasons)


def _normal(text: str) -> str:
    return unicodedata.normalize("NFKC", text).casefold()


@cache
def lexicon(directory: Path = LEXICON_DIR) -> tuple[Category, ...]:
    categories: dict[str, Category] = {}
    for path in sorted(directory.glob("*.toml")):
        data = tomllib.loads(path.read_text(encoding="utf-8"))
        for name, table in data.items():
            found = categories.get(name)
            terms = tuple(_normal(t) for t in table.get("terms", ()))
            if found is None:
                categories[name] = Category(
                    name, str(table.get("label", name)), int(table.get("weight", 1)), terms
                )
            else:
                categories[name] = Category(name, found.label, found.weight, found.terms + terms)
    return tuple(categories.values())


@cache
def _matcher(directory: Path = LEXICON_DIR) -> tuple[re.Pattern[str], dict[str, Category]]:
    """One alternation, longest terms first, so an overlap goes to the longer term."""
    owner: dict[str, Category] = {}
    for category in lexicon(directory):
        for term in category.terms:
            owner.setdefault(term, category)
    parts = []
    for term in sorted(owner, key=len, reverse=True):
        escaped = re.escape(term)
        # Whole words for ASCII terms ("asap" not in "asaps"); Japanese has no word spaces.
        parts.append(rf"\b{escaped}\b" if term.isascii() else escaped)
    return re.compile("|".join(parts)), owner


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def _unquoted(text: str) -> str:
    return "\n".join(line for line in text.splitlines() if not _QUOTED.match(line))


def score_text(text: str, *, directory: Path = LEXICON_DIR) -> list[tuple[int, str]]:
    """(points, reason) for the lexicon hits in text, one per category."""
    pattern, owner = _matcher(directory)
    hits: dict[str, list[str]] = {}
    for match in pattern.finditer(_normal(text)):
        term = match.group()
        category = owner[term]
        if term not in hits.setdefault(category.name, []):
            hits[category.name].append(term)
    by_name = {c.name: c for c in lexicon(directory)}
    return [
        (by_name[name].weight, f"{by_name[name].label}: {', '.join(terms)}")
        for name, terms in hits.items()
    ]


def score_conversation(conversation: Mapping[str, Any], *, directory: Path = LEXICON_DIR) -> Score:
    """Score a conversation as `Store.get_conversation` returns it (with "messages").

    Customer messages count (their subjects and unquoted text); messages with "auto": true
    (auto-acknowledgements, when the caller knows) do not answer the customer.
    """
    messages: Sequence[Mapping[str, Any]] = conversation.get("messages") or ()
    inbound = [m for m in messages if m.get("inbound")]
    parts: list[tuple[int, str]] = []
    text = "\n".join(f"{m.get('subject') or ''}\n{_unquoted(m.get('text') or '')}" for m in inbound)
    if not inbound:
        text = str(conversation.get("subject") or "")
    parts += score_text(text, directory=directory)
    waiting = 0
    for m in reversed(messages):
        if m.get("inbound"):
            waiting += 1
        elif not m.get("auto"):
            break
    if waiting >= 2:
        follow_ups = waiting - 1
        parts.append((min(2 * follow_ups, 6), f"{_ordinal(follow_ups)} follow-up"))
    if inbound:
        latest = unicodedata.normalize("NFKC", _unquoted(inbound[-1].get("text") or ""))
        marks = latest.count("!")
        density = 100 * marks / max(len(latest), 1)
        if marks >= 3 and density >= 1.0:
            parts.append(
                (2 if density >= 3.0 else 1, f"{marks} exclamation marks ({density:.1f}/100 chars)")
            )
        shouted = _CAPS_WORD.findall(latest)
        if len(shouted) >= 3:
            parts.append((1, f"shouting: {', '.join(shouted[:3])}"))
    parts.sort(key=lambda p: -p[0])
    return Score(max(0, sum(p for p, _ in parts)), tuple(r for _, r in parts))
