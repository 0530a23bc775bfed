"""Routing rules from `[[rules.rule]]`: conditions on the newest customer message, actions.

Parsed and checked when the config loads, so a bad regex or an unknown member is a config
error naming the rule's key, not a surprise at the first matching mail.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from mailtriage.sla.settings import DAY_NAMES, SlaConfig, parse_hours
from mailtriage.triage.state import STATUSES

if TYPE_CHECKING:
    from mailtriage.config import _Reader

TEXT_FIELDS = ("from", "to", "subject", "body")
CONDITION_KEYS = (
    *TEXT_FIELDS,
    *(f"{f}_regex" for f in TEXT_FIELDS),
    "domain",
    "header",
    "has_attachment",
    "score_at_least",
    "hours",
    "days",
    "outside_business_hours",
)
ACTION_KEYS = ("assign", "members", "priority", "tags", "status", "no_reply", "ack", "stop")
_TAG_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{0,39}$")


@dataclass(frozen=True)
class Condition:
    kind: str  # a CONDITION_KEYS name
    value: Any  # tuple of lower-case substrings, a compiled regex, a bool, ...

    def describe(self) -> str:
        if isinstance(self.value, re.Pattern):
            return f"{self.kind} /{self.value.pattern}/"
        if isinstance(self.value, tuple):
            return f"{self.kind} {' | '.join(str(v) for v in self.value)}"
        return f"{self.kind} {self.value}"


@dataclass(frozen=True)
class Rule:
    name: str
    conditions: tuple[Condition, ...]
    assign: str | None = None  # a member, or "round-robin"
    members: tuple[str, ...] = ()  # round-robin pool; empty: team.members
    priority: str | None = None
    tags: tuple[str, ...] = ()
    status: str | None = None
    stop: bool = False  # no later rule applies to a conversation this one matched
    ack: str | None = None  # auto-acknowledge new conversations with this template


def _texts(reader: _Reader, name: str) -> tuple[str, ...]:
    value = reader.data[name]
    values = [value] if isinstance(value, str) else value
    if (
        not isinstance(values, list)
        or not values
        or not all(isinstance(v, str) and v for v in values)
    ):
        raise reader.err(name, f"expected a string or a list of strings, got {value!r}")
    return tuple(v.casefold() for v in values)


def _condition(reader: _Reader, name: str, sla: SlaConfig) -> Condition:
    value = reader.data[name]
    if name in TEXT_FIELDS or name == "domain":
        texts = _texts(reader, name)
        if name == "domain":
            texts = tuple(t.lstrip("@.") for t in texts)
        return Condition(name, texts)
    if name.endswith("_regex"):
        if not isinstance(value, str):
            raise reader.err(name, f"expected a regular expression string, got {value!r}")
        try:
            return Condition(name, re.compile(value, re.IGNORECASE))
        except re.error as exc:
            raise reader.err(
                name, f"not a valid regular expression: {exc}", "use a TOML literal 'string'"
            ) from None
    if name == "header":
        table = reader.table("header")
        assert table is not None
        pairs = []
        for header, wanted in table.data.items():
            if not isinstance(wanted, str):
                raise table.err(header, f'expected a string ("" for any value), got {wanted!r}')
            pairs.append((header.lower(), wanted.casefold()))
        if not pairs:
            raise reader.err(name, "empty table", 'header = { "List-Id" = "" }')
        return Condition(name, tuple(pairs))
    if name in ("has_attachment", "outside_business_hours"):
        if not isinstance(value, bool):
            raise reader.err(name, f"expected true or false, got {value!r}")
        return Condition(name, value)
    if name == "score_at_least":
        return Condition(name, reader.int(name, 5, 1, 100))
    if name == "hours":
        hours = parse_hours(value) if isinstance(value, str) else None
        wraps = None
        if hours is None and isinstance(value, str) and "-" in value:
            # "18:00-09:00" wraps midnight: the complement of "09:00-18:00".
            a, _, b = value.partition("-")
            wraps = parse_hours(f"{b.strip()}-{a.strip()}")
        if hours is None and wraps is None:
            raise reader.err(name, f"expected HH:MM-HH:MM, got {value!r}", 'hours = "18:00-09:00"')
        return Condition(name, (hours, False) if hours else (wraps, True))
    if name == "days":
        if (
            not isinstance(value, list)
            or not value
            or not all(isinstance(d, str) and d.lower() in DAY_NAMES for d in value)
        ):
            raise reader.err(name, f"expected a list of day names, got {value!r}", 'days = ["sat"]')
        return Condition(name, tuple(sorted({DAY_NAMES.index(d.lower()) for d in value})))
    raise AssertionError(name)


def parse_rules(reader: _Reader, members: tuple[str, ...], sla: SlaConfig) -> tuple[Rule, ...]:
    raw = reader.data.get("rule", [])
    if not isinstance(raw, list) or not all(isinstance(r, dict) for r in raw):
        raise reader.err("rule", "expected [[rules.rule]] tables")
    from mailtriage.config import _Reader

    rules: list[Rule] = []
    seen: set[str] = set()
    for index, data in enumerate(raw):
        r = _Reader(reader.path, data, f"{reader.key('rule')}[{index}]")
        r.unknown({"name", *CONDITION_KEYS, *ACTION_KEYS})
        name = r.str("name", required=True)
        assert name is not None
        if name in seen:
            raise r.err("name", f"two rules are named {name!r}", "give each rule its own name")
        seen.add(name)
        conditions = tuple(_condition(r, k, sla) for k in CONDITION_KEYS if k in data)
        if not conditions:
            raise r.err("name", f"rule {name!r} has no condition", 'add one, e.g. subject = "請求"')
        assign = r.str("assign")
        pool = r.names("members")
        for who in pool:
            if members and who not in members:
                raise r.err("members", f"{who!r} is not in team.members")
        if assign is not None and assign != "round-robin":
            from mailtriage.config import check_agent_name

            check_agent_name(assign, r.path, r.key("assign"))
            if members and assign not in members:
                raise r.err("assign", f"{assign!r} is not in team.members", 'or "round-robin"')
        if assign == "round-robin" and not (pool or members):
            raise r.err("assign", "round-robin needs members", "add team.members or members")
        priority = r.str("priority")
        if priority is not None and priority not in ("urgent", "normal"):
            raise r.err("priority", f"expected urgent or normal, got {priority!r}")
        status = r.str("status")
        if status is not None and status not in STATUSES:
            raise r.err("status", f"expected one of {', '.join(STATUSES)}, got {status!r}")
        tags = list(_texts(r, "tags")) if "tags" in data else []
        for tag in tags:
            if not _TAG_RE.match(tag):
                raise r.err("tags", f"tag {tag!r} is not allowed", "a-z 0-9 . _ - (1-40)")
        if r.data.get("no_reply", False) is True:
            tags.append("no-reply")
        elif "no_reply" in data and not isinstance(data["no_reply"], bool):
            raise r.err("no_reply", f"expected true or false, got {data['no_reply']!r}")
        stop = data.get("stop", False)
        if not isinstance(stop, bool):
            raise r.err("stop", f"expected true or false, got {stop!r}")
        ack = r.str("ack")
        if not (assign or priority or tags or status or ack):
            raise r.err(
                "name", f"rule {name!r} has no action", "add assign, priority, tags, status or ack"
            )
        rules.append(
            Rule(
                name,
                conditions,
                assign,
                pool,
                priority,
                tuple(dict.fromkeys(tags)),
                status,
                stop,
                ack,
            )
        )
    return tuple(rules)
