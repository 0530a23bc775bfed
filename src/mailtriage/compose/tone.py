"""Tone hints before sending (命令口調, 上から目線, あいまい表現, overused apologies, a missing
customer name, and their English equivalents). The rules are data (tone_rules.toml); this
module only applies them. Hints advise; nothing here blocks a send."""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

RULES_FILE = Path(__file__).with_name("tone_rules.toml")
KINDS = ("pattern", "vague", "overuse")
_SENTENCE_END = re.compile(r"[。！？!?\n]|\.(?:\s|$)")


@dataclass(frozen=True)
class Rule:
    id: str
    language: str
    category: str
    kind: str
    pattern: re.Pattern[str]
    message: str
    suggestion: str = ""
    unless: re.Pattern[str] | None = None
    max: int = 1


@dataclass(frozen=True)
class Hint:
    rule: str  # the rule id, or "missing-name"
    category: str
    message: str
    suggestion: str
    line: int  # 1-based line of the body, 0 for the whole text
    column: int  # 0-based
    text: str  # what matched

    def as_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


class RuleError(ValueError):
    pass


def load_rules(path: Path = RULES_FILE) -> list[Rule]:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise RuleError(f"{path}: {exc}") from exc
    rules: list[Rule] = []
    seen: set[str] = set()
    for i, raw in enumerate(data.get("rules", []), 1):
        where = f"{path}: rules[{i}] ({raw.get('id', '?')})"
        try:
            rule = Rule(
                id=raw["id"],
                language=raw["language"],
                category=raw["category"],
                kind=raw["kind"],
                pattern=re.compile(raw["pattern"]),
                message=raw["message"],
                suggestion=raw.get("suggestion", ""),
                unless=re.compile(raw["unless"]) if raw.get("unless") else None,
                max=int(raw.get("max", 1)),
            )
        except KeyError as exc:
            raise RuleError(f"{where}: missing {exc.args[0]}") from exc
        except re.error as exc:
            raise RuleError(f"{where}: bad regular expression: {exc}") from exc
        if rule.kind not in KINDS:
            raise RuleError(f"{where}: kind must be one of {', '.join(KINDS)}")
        if rule.kind == "vague" and rule.unless is None:
            raise RuleError(f"{where}: a vague rule needs unless")
        if rule.id in seen:
            raise RuleError(f"{where}: duplicate id")
        seen.add(rule.id)
        rules.append(rule)
    return rules


@cache
def default_rules() -> tuple[Rule, ...]:
    return tuple(load_rules())


def own_text(body: str) -> list[tuple[int, str]]:
    """(line number, line) of what the agent wrote: not quoted mail, not the signature."""
    lines: list[tuple[int, str]] = []
    for n, line in enumerate(body.split("\n"), 1):
        if line in ("-- ", "--"):
            break
        if line.lstrip().startswith((">", "＞")) or _is_attribution(line):
            continue
        lines.append((n, line))
    return lines


def _is_attribution(line: str) -> bool:
    s = line.rstrip()
    return s.endswith(("さんは書きました:", " wrote:")) and len(s) < 200


def _sentence(line: str, start: int, end: int) -> str:
    left = max((m.end() for m in _SENTENCE_END.finditer(line, 0, start)), default=0)
    right = _SENTENCE_END.search(line, end)
    return line[left : right.start() if right else len(line)]


def check(
    body: str,
    *,
    language: str,
    customer: Mapping[str, Any] | None = None,
    rules: tuple[Rule, ...] | list[Rule] | None = None,
) -> list[Hint]:
    rules = default_rules() if rules is None else rules
    lines = own_text(body)
    hints: list[Hint] = []
    for rule in rules:
        if rule.language != language:
            continue
        matches = [(n, line, m) for n, line in lines for m in rule.pattern.finditer(line)]
        if rule.kind == "pattern":
            hints += [_hint(rule, n, m) for n, _, m in matches]
        elif rule.kind == "vague":
            assert rule.unless is not None
            hints += [
                _hint(rule, n, m)
                for n, line, m in matches
                if not rule.unless.search(_sentence(line, m.start(), m.end()))
            ]
        elif len(matches) > rule.max:
            # Point at the first repeat: that is the one to cut.
            n, _, m = matches[rule.max]
            hints.append(_hint(rule, n, m, f"（{len(matches)}回）" if language == "ja" else ""))
    hints += _missing_name(lines, language, customer)
    return sorted(hints, key=lambda h: (h.line, h.column, h.rule))


def _hint(rule: Rule, line: int, m: re.Match[str], extra: str = "") -> Hint:
    return Hint(
        rule.id, rule.category, rule.message + extra, rule.suggestion, line, m.start(), m.group()
    )


def _missing_name(
    lines: list[tuple[int, str]], language: str, customer: Mapping[str, Any] | None
) -> list[Hint]:
    name = str((customer or {}).get("name") or "").strip()
    text = "\n".join(line for _, line in lines)
    if name:
        family = name.replace("\u3000", " ").split(" ")[0]
        if name in text or family in text:
            return []
    elif "お客様" in text or language == "en":
        return []
    if language == "ja":
        return [
            Hint(
                "missing-name",
                "お名前がありません",
                "宛名にお客様のお名前がありません",
                f"冒頭に「{name or '〇〇'} 様」",
                0,
                0,
                "",
            )
        ]
    return [
        Hint(
            "missing-name",
            "No customer name",
            "the reply does not address the customer by name",
            f'start with "Hello {name}," ',
            0,
            0,
            "",
        )
    ]
