"""Evaluate routing rules against the cache and apply them through the CAS-safe actions.

Rules look at a conversation's newest customer message (the one that just arrived). They
never override a decision already taken: an assignee, or any priority/status/tag change in
the event log (by a person or an earlier rule run), wins over a rule, so re-running
`rules --apply` is idempotent and never fights an agent.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from email.parser import BytesHeaderParser
from email.policy import default as default_policy
from typing import TYPE_CHECKING, Any

from mailtriage.rules.model import Condition, Rule
from mailtriage.rules.score import Score, score_conversation
from mailtriage.sla.calendar import BusinessCalendar
from mailtriage.store import kpi as q
from mailtriage.store.kpi import ConvData
from mailtriage.triage.handover import away_agents
from mailtriage.triage.threads import short_id

if TYPE_CHECKING:
    from mailtriage.config import Config
    from mailtriage.imap.actions import AccountActions, ActionResult


@dataclass(frozen=True)
class Match:
    """One rule checked against one conversation, for `rules --test`."""

    rule: str
    matched: bool
    reasons: tuple[str, ...]  # one line per condition checked, in order


@dataclass(frozen=True)
class Planned:
    key: str
    rule: str
    action: str  # "assign", "priority", "tag" or "status"
    value: str
    why: str  # the conditions that matched

    @property
    def id(self) -> str:
        return short_id(self.key)


@dataclass
class _Context:
    data: ConvData
    message: dict[str, Any]
    score: Score
    headers: Any = None  # parsed lazily from the cached header block


def _context(conn: sqlite3.Connection, data: ConvData) -> _Context | None:
    message = q.newest_inbound(conn, data.key)
    if message is None:
        return None
    rows = conn.execute(
        "SELECT subject, text FROM messages WHERE conversation = ? ORDER BY ts, id", (data.key,)
    ).fetchall()
    scored = {
        "subject": data.subject,
        "messages": [
            {"inbound": m.inbound, "auto": m.auto, "subject": subject, "text": text}
            for m, (subject, text) in zip(data.messages, rows, strict=False)
        ],
    }
    return _Context(data, message, score_conversation(scored))


def _addresses(message: dict[str, Any]) -> str:
    found = []
    for field in ("to_json", "cc_json"):
        for a in json.loads(message[field] or "[]"):
            found.append(f"{a.get('name', '')} <{a.get('email', '')}>")
    return ", ".join(found)


def _field(ctx: _Context, name: str) -> str:
    m = ctx.message
    if name == "from":
        return f"{m['from_name']} <{m['from_email']}>"
    if name == "to":
        return _addresses(m)
    if name == "subject":
        return m["subject"] or ""
    return m["text"] or ""


def _check(cond: Condition, ctx: _Context, calendar: BusinessCalendar) -> tuple[bool, str]:
    kind, value = cond.kind, cond.value
    m = ctx.message
    if kind in ("from", "to", "subject", "body"):
        text = _field(ctx, kind).casefold()
        hit = next((v for v in value if v in text), None)
        if kind == "body" and not m["body_fetched"]:
            return False, "body: not fetched yet"
        return (True, f"{kind} contains {hit!r}") if hit else (False, f"{kind}: no match")
    if kind.endswith("_regex"):
        name = kind.removesuffix("_regex")
        if name == "body" and not m["body_fetched"]:
            return False, "body: not fetched yet"
        # A sender regex sees the bare address first, so '^noreply@' works as written.
        texts = [m["from_email"] or ""] if name == "from" else []
        found = next((f for f in (value.search(x) for x in [*texts, _field(ctx, name)]) if f), None)
        if found:
            return True, f"{name} matches /{value.pattern}/ ({found.group()!r})"
        return False, f"{name}: no match for /{value.pattern}/"
    if kind == "domain":
        domain = (m["from_email"] or "").rpartition("@")[2].lower()
        hit = next((d for d in value if domain == d or domain.endswith("." + d)), None)
        return (True, f"domain {domain}") if hit else (False, f"domain {domain or '?'}: no match")
    if kind == "header":
        if m["head"] is None:
            return False, "header: not fetched yet"
        if ctx.headers is None:
            ctx.headers = BytesHeaderParser(policy=default_policy).parsebytes(m["head"])
        for name, wanted in value:
            values = [str(v) for v in ctx.headers.get_all(name) or []]
            if not any(wanted in v.casefold() for v in values):
                return False, f"header {name}: no match"
        return True, "header " + ", ".join(f"{n} has {w!r}" for n, w in value)
    if kind == "has_attachment":
        if not m["body_fetched"]:
            return False, "attachments: not fetched yet"
        has = bool(json.loads(m["attachments"] or "[]"))
        return has == value, f"has_attachment {str(has).lower()}"
    if kind == "score_at_least":
        ok = ctx.score.value >= value
        why = f"score {ctx.score.value} {'>=' if ok else '<'} {value}"
        return ok, why + (f" ({ctx.score.summary})" if ctx.score.reasons else "")
    local = datetime.fromtimestamp(m["ts"], calendar.zone)
    if kind == "hours":
        (start, end), wraps = value
        minute = local.hour * 60 + local.minute
        inside = start <= minute < end
        ok = not inside if wraps else inside
        return ok, f"arrived {local:%H:%M}" + ("" if ok else ": outside the hours")
    if kind == "days":
        ok = local.weekday() in value
        return ok, f"arrived on a {local:%a}" + ("" if ok else ": other day")
    if kind == "outside_business_hours":
        outside = not calendar.is_open(m["ts"])
        return outside == value, f"arrived {local:%a %H:%M}, " + (
            "outside business hours" if outside else "in business hours"
        )
    raise AssertionError(kind)


def check_rule(rule: Rule, ctx: _Context, calendar: BusinessCalendar) -> Match:
    reasons, matched = [], True
    for cond in rule.conditions:
        ok, why = _check(cond, ctx, calendar)
        reasons.append(("✓ " if ok else "✗ ") + why)
        if not ok:
            matched = False
    return Match(rule.name, matched, tuple(reasons))


def explain(conn: sqlite3.Connection, key: str, config: Config) -> tuple[list[Match], Score | None]:
    """Every rule checked against the conversation (the dry run of `rules --test`)."""
    data = q.load(conn, [key]).get(key)
    ctx = _context(conn, data) if data is not None else None
    if ctx is None:
        return [], None
    return [check_rule(r, ctx, config.sla.calendar) for r in config.rules], ctx.score


def _decided(data: ConvData) -> dict[str, set[str]]:
    """What the event log says someone already decided: kinds, and tags touched."""
    kinds: set[str] = set()
    tags: set[str] = set()
    for e in data.events:
        kinds.add(e.kind)
        if e.kind == "tagged":
            tags.update(str(t) for t in [*e.details.get("add", []), *e.details.get("remove", [])])
    return {"kinds": kinds, "tags": tags}


def evaluate_new(
    conn: sqlite3.Connection,
    keys: Iterable[str],
    config: Config,
    *,
    now: float | None = None,
) -> list[Planned]:
    """The changes the rules want on these conversations (nothing is applied).

    The sync owner calls this with the keys a sync touched, then `apply` with the result.
    """
    now = time.time() if now is None else now
    calendar = config.sla.calendar
    if not config.rules:
        return []
    planned: list[Planned] = []
    # team.away plus agents a handover marked away on the server (triage.handover).
    away = away_agents(conn, config.away)
    loaded = q.load(conn, keys)
    pool_times: dict[str, float] | None = None
    for key in sorted(loaded, key=lambda k: loaded[k].messages[0].ts if loaded[k].messages else 0):
        data = loaded[key]
        ctx = _context(conn, data)
        if ctx is None:
            continue
        decided = _decided(data)
        taken: set[str] = set()
        for rule in config.rules:
            match = check_rule(rule, ctx, calendar)
            if not match.matched:
                continue
            why = "; ".join(r[2:] for r in match.reasons)
            if (
                rule.assign
                and "assign" not in taken
                and data.assignee is None
                and not decided["kinds"] & {"assigned", "claimed"}
            ):
                who: str | None = rule.assign
                if who == "round-robin":
                    pool = [p for p in (rule.members or config.members) if p not in away]
                    if pool_times is None:
                        everyone = {*config.members, *(p for r in config.rules for p in r.members)}
                        pool_times = q.assignment_times(conn, sorted(everyone))
                    order = {p: i for i, p in enumerate(pool)}
                    who = min(pool, key=lambda p: (pool_times.get(p, 0.0), order[p]), default=None)
                    if who is not None:
                        pool_times[who] = now
                elif who in away:
                    who = None
                if who is not None:
                    planned.append(Planned(key, rule.name, "assign", who, why))
                    taken.add("assign")
            if (
                rule.priority
                and "priority" not in taken
                and rule.priority != data.priority
                and "priority" not in decided["kinds"]
            ):
                planned.append(Planned(key, rule.name, "priority", rule.priority, why))
                taken.add("priority")
            for tag in rule.tags:
                if (
                    tag not in data.tags
                    and tag not in decided["tags"]
                    and f"tag:{tag}" not in taken
                ):
                    planned.append(Planned(key, rule.name, "tag", tag, why))
                    taken.add(f"tag:{tag}")
            if (
                rule.status
                and "status" not in taken
                and data.status == "unhandled"
                and rule.status != "unhandled"
                and not decided["kinds"] & {"status", "claimed"}
            ):
                planned.append(Planned(key, rule.name, "status", rule.status, why))
                taken.add("status")
            if rule.stop:
                break
    return planned


async def apply(
    actions: AccountActions, planned: Sequence[Planned]
) -> list[tuple[Planned, ActionResult]]:
    """Apply planned changes through the compare-and-swap actions (each logs its event)."""
    done: list[tuple[Planned, ActionResult]] = []
    for p in planned:
        if p.action == "assign":
            result = await actions.assign(p.key, p.value)
        elif p.action == "priority":
            result = await actions.set_priority(p.key, p.value)
        elif p.action == "tag":
            result = await actions.set_tags(p.key, add=[p.value])
        else:
            result = await actions.set_status(p.key, p.value)
        done.append((p, result))
    return done
