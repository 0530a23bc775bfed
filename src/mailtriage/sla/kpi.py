"""Team KPIs from the mailbox itself: message dates plus the server's event log.

Definitions (README "Reports"):
- first response: the customer's first message to our first human reply (auto-acks and
  out-of-office replies excluded), wall clock and business time;
- resolution: first message to the moment it was last marked Done (business time excludes
  the pauses of the SLA clock: waiting on the customer, Done);
- first-contact resolution: resolved with exactly one reply of ours and never reopened;
- reopen rate: of the conversations ever Done, the share that came back;
- SLA attainment: met / (met + missed), counting a still-open conversation only once it
  already missed its target.
A conversation belongs to the window its first customer message falls in.
"""

from __future__ import annotations

import sqlite3
import statistics
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from time import sleep
from typing import Any

from mailtriage.sla.clock import course_of, elapsed
from mailtriage.sla.settings import SlaConfig
from mailtriage.store import kpi as q
from mailtriage.store.kpi import ConvData

GROUPINGS = ("agent", "tag", "day")
YIELD_EVERY = 100  # conversations between two chances for other threads to run


@dataclass(frozen=True)
class ConvKpi:
    key: str
    id: str
    start: float
    priority: str
    tags: tuple[str, ...]
    first_response: float | None  # seconds, wall clock
    first_response_business: float | None
    first_responder: str | None
    resolved_at: float | None
    resolution: float | None  # seconds, wall clock
    resolution_business: float | None
    resolver: str | None
    replies: int
    reply_agents: tuple[tuple[float, str], ...]  # (time, agent) of each of our replies
    reopened: int
    ever_done: bool
    fcr: bool | None  # None while not resolved
    fr_met: bool | None  # None while still unknown
    res_met: bool | None
    done_periods: tuple[tuple[float, float | None], ...]


def conversation_kpi(data: ConvData, policy: SlaConfig, now: float) -> ConvKpi | None:
    if "no-reply" in data.tags:
        return None
    course = course_of(data)
    if course is None:
        return None
    cal = policy.calendar
    prio = data.priority if data.priority in policy.first_response else "normal"
    by_message = {e.details.get("message_id"): e.agent for e in data.events if e.kind == "replied"}
    replied_events = [e for e in data.events if e.kind == "replied"]
    reply_agents = []
    for m in data.messages:
        if m.inbound or m.auto or m.ts < course.start:
            continue
        agent = by_message.get(m.message_id)
        if agent is None:
            # A reply sent by another client has no event; the nearest logged reply, else
            # the owner, is the best attribution there is.
            near = min(replied_events, key=lambda e: abs(e.ts - m.ts), default=None)
            agent = near.agent if near and abs(near.ts - m.ts) < 600 else data.assignee or "-"
        reply_agents.append((m.ts, agent))
    fr = frb = None
    fr_met: bool | None = None
    fr_target = policy.first_response[prio]
    if course.first_response_at is not None:
        fr = course.first_response_at - course.start
        frb = cal.seconds_between(course.start, course.first_response_at)
        fr_met = frb <= fr_target
    elif cal.seconds_between(course.start, now) > fr_target:
        fr_met = False
    res = resb = None
    res_met: bool | None = None
    res_target = policy.resolution[prio]
    resolver = None
    if course.resolved_at is not None:
        res = course.resolved_at - course.start
        resb = elapsed(cal, course, course.resolved_at)
        res_met = resb <= res_target
        dones = [
            e
            for e in data.events
            if e.kind in ("status", "claimed", "assigned") and e.details.get("status") == "done"
        ]
        resolver = dones[-1].agent if dones else data.assignee
    elif elapsed(cal, course, now) > res_target:
        res_met = False
    resolved = course.resolved_at is not None
    return ConvKpi(
        key=data.key,
        id=data.short_id,
        start=course.start,
        priority=data.priority,
        tags=tuple(data.tags),
        first_response=fr,
        first_response_business=frb,
        first_responder=reply_agents[0][1] if reply_agents else None,
        resolved_at=course.resolved_at,
        resolution=res,
        resolution_business=resb,
        resolver=resolver,
        replies=course.replies,
        reply_agents=tuple(reply_agents),
        reopened=course.reopened,
        ever_done=bool(course.done_periods),
        fcr=(course.replies == 1 and course.reopened == 0) if resolved else None,
        fr_met=fr_met,
        res_met=res_met,
        done_periods=course.done_periods,
    )


def _stats(values: Iterable[float | None]) -> dict[str, float | int | None]:
    found = [v for v in values if v is not None]
    return {
        "count": len(found),
        "mean": statistics.fmean(found) if found else None,
        "median": statistics.median(found) if found else None,
    }


def _rate(flags: Iterable[bool | None]) -> float | None:
    known = [f for f in flags if f is not None]
    return sum(known) / len(known) if known else None


def summarize(items: list[ConvKpi]) -> dict[str, Any]:
    resolved = [k for k in items if k.resolved_at is not None]
    ever_done = [k for k in items if k.ever_done]
    return {
        "conversations": len(items),
        "resolved": len(resolved),
        "first_response": _stats(k.first_response for k in items),
        "first_response_business": _stats(k.first_response_business for k in items),
        "resolution": _stats(k.resolution for k in resolved),
        "resolution_business": _stats(k.resolution_business for k in resolved),
        "first_contact_resolution_rate": _rate(k.fcr for k in resolved),
        "reopen_rate": _rate(k.reopened > 0 for k in ever_done),
        "sla_first_response": _rate(k.fr_met for k in items),
        "sla_resolution": _rate(k.res_met for k in items),
    }


def _open_counts(items: list[ConvKpi], moments: list[float]) -> list[int]:
    """How many conversations were open at each moment (ascending): one sweep over the
    open/close edges instead of every conversation at every moment (365 days x 100k)."""
    edges: list[tuple[float, int]] = []
    for k in items:
        edges.append((k.start, 1))
        for start, end in k.done_periods:
            edges.append((start, -1))
            if end is not None:
                edges.append((end, 1))
    edges.sort()
    counts, open_now, i = [], 0, 0
    for moment in moments:
        # Open at `moment` means opened at or before it and not closed at or before it.
        while i < len(edges) and edges[i][0] <= moment:
            open_now += edges[i][1]
            i += 1
        counts.append(open_now)
    return counts


def report(
    conn: sqlite3.Connection,
    policy: SlaConfig,
    since: float,
    until: float,
    *,
    by: str | None = None,
    now: float | None = None,
    groups: Iterable[str] = (),
) -> dict[str, Any]:
    """The whole report as plain data (the CLI prints it as text, JSON or CSV).

    `groups` adds result["groups"][name] = the rows `by=name` would give, from the same
    load (the Reports screen shows a daily trend and a table at once).
    """
    now = min(until, now) if now is not None else until
    zone = policy.calendar.zone
    loaded = q.load(conn, q.keys_relevant(conn, since, until))
    # As of `now`: what happened after the window's end (a reply, a Done, a message whose
    # missing Date made it "now") is not part of a report that ends before it.
    loaded = {key: _as_of(data, now) for key, data in loaded.items()}
    everyone = []
    for i, data in enumerate(loaded.values()):
        if i % YIELD_EVERY == YIELD_EVERY - 1:
            # Run on a worker thread beside a UI (the Reports screen): let it have the
            # interpreter between batches rather than only every switch interval.
            sleep(0)
        found = conversation_kpi(data, policy, now)
        if found is not None:
            everyone.append(found)
    window = [k for k in everyone if since <= k.start < until]
    inbound = [
        m.ts for d in loaded.values() for m in d.messages if m.inbound and since <= m.ts < until
    ]
    local = [datetime.fromtimestamp(ts, zone) for ts in inbound]
    by_hour = Counter(d.hour for d in local)
    by_weekday = Counter(d.weekday() for d in local)
    days = _days(since, until, policy)
    ends = [
        min(datetime.combine(day + timedelta(days=1), time(0), zone).timestamp(), until)
        for day in days
    ]
    backlog = [
        {"date": day.isoformat(), "open": n}
        for day, n in zip(days, _open_counts(everyone, ends), strict=True)
    ]
    ratings = _ratings(loaded.values(), since, until)
    result: dict[str, Any] = {
        "since": datetime.fromtimestamp(since, zone).isoformat(),
        "until": datetime.fromtimestamp(until, zone).isoformat(),
        "timezone": policy.timezone,
        "summary": summarize(window),
        "volume": {
            "messages": len(inbound),
            "by_hour": [by_hour.get(h, 0) for h in range(24)],
            "by_weekday": [by_weekday.get(d, 0) for d in range(7)],
        },
        "backlog": backlog,
        "csat": _csat(ratings),
    }
    rated: dict[str, list[int]] = defaultdict(list)  # agent -> ratings of their work
    for key, value, when in ratings.values():
        agent = _rated_agent(loaded[key], when)
        if agent:
            rated[agent].append(value)
    if by is not None:
        result["by"] = by
        result["rows"] = _grouped(
            by, window, everyone, backlog, inbound, since, until, policy, rated
        )
    wanted = list(dict.fromkeys(groups))
    if wanted:
        result["groups"] = {
            name: _grouped(name, window, everyone, backlog, inbound, since, until, policy, rated)
            for name in wanted
        }
    return result


def _as_of(data: ConvData, now: float) -> ConvData:
    if all(m.ts <= now for m in data.messages) and all(e.ts <= now for e in data.events):
        return data
    return replace(
        data,
        messages=[m for m in data.messages if m.ts <= now],
        events=[e for e in data.events if e.ts <= now],
    )


def _ratings(
    loaded: Iterable[ConvData], since: float, until: float
) -> dict[str, tuple[str, int, float]]:
    """Ratings recorded in the window, rating message -> (conversation, rating, when): one per
    message, however often it was logged (two agents' apps may both record one when the
    server's answer to the first was lost)."""
    ratings: dict[str, tuple[str, int, float]] = {}
    for data in loaded:
        for e in data.events:
            rating = e.details.get("rating")
            if e.kind != "rated" or not since <= e.ts < until or rating not in range(1, 6):
                continue
            message = str(e.details.get("message_id") or f"{data.key}@{e.ts}")
            ratings.setdefault(message, (data.key, rating, e.ts))
    return ratings


def _rated_agent(data: ConvData, when: float) -> str | None:
    """Whose work a rating judges: whoever marked the conversation Done before it (the pass
    that records the rating marks it Done again afterwards), else its last replier, else its
    assignee."""
    before = sorted((e for e in data.events if e.ts <= when), key=lambda e: e.ts)
    for e in reversed(before):
        if e.kind in ("status", "claimed", "assigned") and e.details.get("status") == "done":
            return e.agent
    replies = [e.agent for e in before if e.kind == "replied"]
    return replies[-1] if replies else data.assignee


def _csat(ratings: dict[str, tuple[str, int, float]]) -> dict[str, Any]:
    values = [rating for _, rating, _ in ratings.values()]
    return {
        "count": len(values),
        "mean": statistics.fmean(values) if values else None,
        "distribution": [values.count(n) for n in range(1, 6)],  # ratings 1..5
    }


def _days(since: float, until: float, policy: SlaConfig) -> list[date]:
    zone = policy.calendar.zone
    first = datetime.fromtimestamp(since, zone).date()
    last = datetime.fromtimestamp(until - 1e-6, zone).date()
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


def _grouped(
    by: str,
    window: list[ConvKpi],
    everyone: list[ConvKpi],
    backlog: list[dict[str, Any]],
    inbound: list[float],
    since: float,
    until: float,
    policy: SlaConfig,
    rated: dict[str, list[int]],
) -> list[dict[str, Any]]:
    if by == "tag":
        tags = sorted({t for k in window for t in k.tags})
        rows = []
        for tag in tags:
            row = {"tag": tag, **_flat(summarize([k for k in window if tag in k.tags]))}
            rows.append(row)
        return rows
    if by == "agent":
        window_keys = {k.key for k in window}
        agents: dict[str, dict[str, Any]] = defaultdict(
            lambda: {
                "replies": 0,
                "first_responses": [],
                "resolved": 0,
                "fr_met": [],
                "ratings": [],
            }
        )
        for k in everyone:
            for ts, agent in k.reply_agents:
                if since <= ts < until:
                    agents[agent]["replies"] += 1
            if k.key in window_keys and k.first_responder is not None:
                agents[k.first_responder]["first_responses"].append(k.first_response)
                agents[k.first_responder]["fr_met"].append(k.fr_met)
            if k.resolver and k.resolved_at is not None and since <= k.resolved_at < until:
                agents[k.resolver]["resolved"] += 1
        for agent, values in rated.items():
            agents[agent]["ratings"].extend(values)
        rows = []
        for agent in sorted(agents):
            a = agents[agent]
            stats = _stats(a["first_responses"])
            rows.append(
                {
                    "agent": agent,
                    "replies": a["replies"],
                    "first_responses": stats["count"],
                    "first_response_mean": stats["mean"],
                    "first_response_median": stats["median"],
                    "sla_first_response": _rate(a["fr_met"]),
                    "resolved": a["resolved"],
                    "csat": statistics.fmean(a["ratings"]) if a["ratings"] else None,
                    "ratings": len(a["ratings"]),
                }
            )
        return rows
    zone = policy.calendar.zone

    def day_of(ts: float) -> str:
        return datetime.fromtimestamp(ts, zone).date().isoformat()

    open_by_day = {b["date"]: b["open"] for b in backlog}
    messages = Counter(day_of(ts) for ts in inbound)
    replies = Counter(
        day_of(ts) for k in everyone for ts, _ in k.reply_agents if since <= ts < until
    )
    resolved = Counter(
        day_of(k.resolved_at)
        for k in everyone
        if k.resolved_at is not None and since <= k.resolved_at < until
    )
    started: dict[str, list[ConvKpi]] = defaultdict(list)
    for k in window:
        started[day_of(k.start)].append(k)
    rows = []
    for day in _days(since, until, policy):
        name = day.isoformat()
        new = started.get(name, [])
        stats = _stats(k.first_response for k in new)
        rows.append(
            {
                "date": name,
                "new": len(new),
                "messages": messages.get(name, 0),
                "replies": replies.get(name, 0),
                "resolved": resolved.get(name, 0),
                "backlog": open_by_day[name],
                "first_response_median": stats["median"],
                "sla_first_response": _rate(k.fr_met for k in new),
            }
        )
    return rows


def _flat(summary: dict[str, Any]) -> dict[str, Any]:
    return {
        "conversations": summary["conversations"],
        "resolved": summary["resolved"],
        "first_response_mean": summary["first_response"]["mean"],
        "first_response_median": summary["first_response"]["median"],
        "resolution_median": summary["resolution"]["median"],
        "first_contact_resolution_rate": summary["first_contact_resolution_rate"],
        "reopen_rate": summary["reopen_rate"],
        "sla_first_response": summary["sla_first_response"],
        "sla_resolution": summary["sla_resolution"],
    }


def hours_text(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds / 3600:.1f}h"


def percent_text(rate: float | None) -> str:
    return "-" if rate is None else f"{100 * rate:.0f}%"


def cell_text(name: str, value: Any) -> str:
    """A report table cell as people read it: rates in %, durations in hours."""
    if value is None:
        return "-"
    if name == "csat":
        return f"{value:.2f}"
    if isinstance(value, float):
        rate = "rate" in name or name.startswith("sla")
        return percent_text(value) if rate else hours_text(value)
    return str(value)
