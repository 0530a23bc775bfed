"""SLA clocks per conversation, from the cached messages and event log.

The clock starts at the customer's first message. Until our first human reply it is the
first-response clock; after that the resolution clock, which runs only while the customer
waits on us: it pauses while our message is the newest (waiting on the customer) and while
the conversation is Done, and runs again when the customer writes. Auto-acknowledgements and
out-of-office replies are never a response. All time is business time (sla.calendar).
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache

from mailtriage.sla.calendar import BusinessCalendar
from mailtriage.sla.settings import SlaConfig
from mailtriage.store import kpi as q
from mailtriage.store.kpi import ConvData

STATES = ("ok", "due-soon", "overdue", "paused", "met")


@cache
def _default_policy() -> SlaConfig:
    # One instance, so its calendar's per-day cache survives between calls.
    return SlaConfig()


@dataclass(frozen=True)
class SlaClock:
    state: str  # one of STATES
    kind: str  # "first-response" or "resolution": which target the clock measures now
    due_at: float | None  # epoch seconds; None while paused or met
    remaining_seconds: float  # business seconds left; negative when overdue
    label: str  # "2h left", "overdue 3h", "paused", "met", "met late"
    breached: bool  # a target was missed (also for paused and met clocks)


@dataclass(frozen=True)
class Course:
    """What happened to one conversation, in SLA terms (also the base of the KPIs)."""

    start: float  # the customer's first message
    first_response_at: float | None
    running: tuple[tuple[float, float | None], ...]  # clock-running intervals; None: still
    done_periods: tuple[tuple[float, float | None], ...]  # Done from..until (None: still)
    resolved_at: float | None  # when it became Done, if it is Done now
    reopened: int  # times a Done conversation came back
    replies: int  # our human replies after start


def _status_after(details: dict[str, object]) -> str | None:
    status = details.get("status")
    return status if isinstance(status, str) else None


def course_of(data: ConvData) -> Course | None:
    """None when there is nothing to measure (no customer message)."""
    start = next((m.ts for m in data.messages if m.inbound), None)
    if start is None:
        return None
    points: list[tuple[float, int, str]] = []
    for m in data.messages:
        if m.ts < start:
            continue
        if m.inbound:
            points.append((m.ts, 0, "in"))
        elif not m.auto:
            points.append((m.ts, 0, "out"))
    for e in data.events:
        status = _status_after(e.details) if e.kind in ("claimed", "assigned", "status") else None
        if status is not None and e.ts >= start:
            points.append((e.ts, 1, "done" if status == "done" else "open"))
    points.sort()
    waiting = done = False
    running: list[tuple[float, float | None]] = []
    done_periods: list[tuple[float, float | None]] = []
    open_at: float | None = start
    first_response = None
    reopened = replies = 0
    for ts, _, what in points:
        was_running, was_done = not waiting and not done, done
        if what == "in":
            waiting = done = False
        elif what == "out":
            waiting = True
            replies += 1
            if first_response is None:
                first_response = ts
        elif what == "done":
            done = True
        else:
            done = False
        if was_done and not done:
            reopened += 1
            done_periods[-1] = (done_periods[-1][0], ts)
        elif done and not was_done:
            done_periods.append((ts, None))
        now_running = not waiting and not done
        if was_running and not now_running:
            assert open_at is not None
            running.append((open_at, ts))
            open_at = None
        elif now_running and not was_running:
            open_at = ts
    resolved_at: float | None = None
    if data.status == "done":
        if done_periods and done_periods[-1][1] is None:
            resolved_at = done_periods[-1][0]
        else:
            # Marked Done by another mail client: no event, so the last message is the best
            # estimate of when.
            resolved_at = max(m.ts for m in data.messages)
            done_periods.append((resolved_at, None))
            if open_at is not None:
                running.append((open_at, max(open_at, resolved_at)))
                open_at = None
    elif done_periods and done_periods[-1][1] is None:
        # The keywords say open although the log's last word was Done: reopened by another
        # client at an unknown time; keep the clock paused rather than guess.
        open_at = None
    if open_at is not None:
        running.append((open_at, None))
    return Course(
        start,
        first_response,
        tuple(running),
        tuple(done_periods),
        resolved_at,
        reopened,
        replies,
    )


def elapsed(calendar: BusinessCalendar, course: Course, now: float) -> float:
    """Business seconds the resolution clock has run until now."""
    return sum(
        calendar.seconds_between(s, min(e if e is not None else now, now))
        for s, e in course.running
        if s < now
    )


def _crossing(
    calendar: BusinessCalendar, course: Course, target: float, now: float
) -> float | None:
    """When the running time reached target (or will, if it runs on from now)."""
    spent = 0.0
    for s, e in course.running:
        length = calendar.seconds_between(s, e if e is not None else now)
        if spent + length >= target:
            return calendar.add(s, target - spent)
        spent += length
    if course.running and course.running[-1][1] is None:
        return calendar.add(now, target - spent)
    return None


def fmt_duration(seconds: float) -> str:
    seconds = max(0.0, seconds)
    if seconds < 3600:
        return f"{int(seconds // 60)}m"
    return f"{int(seconds // 3600)}h"


def clock_for(data: ConvData, now: float, policy: SlaConfig) -> SlaClock | None:
    """The conversation's clock at now; None when no SLA applies (no customer message, or
    tagged no-reply)."""
    if "no-reply" in data.tags:
        return None
    course = course_of(data)
    if course is None:
        return None
    calendar = policy.calendar
    prio = data.priority if data.priority in policy.first_response else "normal"
    fr_target = policy.first_response[prio]
    res_target = policy.resolution[prio]
    if policy.escalated is not None and "escalated" in data.tags:
        res_target = policy.escalated
    if course.first_response_at is not None:
        fr_breached = calendar.seconds_between(course.start, course.first_response_at) > fr_target
    else:
        fr_breached = calendar.seconds_between(course.start, now) > fr_target
    if course.resolved_at is not None:
        spent = elapsed(calendar, course, course.resolved_at)
        breached = fr_breached or spent > res_target
        return SlaClock(
            "met",
            "resolution",
            None,
            res_target - spent,
            "met late" if breached else "met",
            breached,
        )
    if course.first_response_at is None:
        remaining = fr_target - calendar.seconds_between(course.start, now)
        due = calendar.add(course.start, fr_target)
        return _live("first-response", remaining, fr_target, due, policy, fr_breached)
    spent = elapsed(calendar, course, now)
    remaining = res_target - spent
    breached = fr_breached or remaining < 0
    is_running = bool(course.running) and course.running[-1][1] is None
    if not is_running:
        return SlaClock("paused", "resolution", None, remaining, "paused", breached)
    due = _crossing(calendar, course, res_target, now)
    return _live("resolution", remaining, res_target, due, policy, breached)


def _live(
    kind: str, remaining: float, target: float, due: float | None, policy: SlaConfig, breached: bool
) -> SlaClock:
    if remaining <= 0:
        return SlaClock(
            "overdue", kind, due, remaining, f"overdue {fmt_duration(-remaining)}", True
        )
    state = "due-soon" if remaining <= min(policy.due_soon, target / 2) else "ok"
    return SlaClock(state, kind, due, remaining, f"{fmt_duration(remaining)} left", breached)


# -- the cheap API for lists, views and the status bar ------------------------------------


def sla_for(
    conn: sqlite3.Connection,
    keys: Iterable[str],
    now: float | None = None,
    policy: SlaConfig | None = None,
) -> dict[str, SlaClock]:
    """Clocks for a page of conversations; keys without an SLA (or unknown) are absent."""
    now = time.time() if now is None else now
    policy = policy or _default_policy()
    found = {}
    for key, data in q.load(conn, keys).items():
        clock = clock_for(data, now, policy)
        if clock is not None:
            found[key] = clock
    return found


def open_clocks(
    conn: sqlite3.Connection, now: float | None = None, policy: SlaConfig | None = None
) -> dict[str, SlaClock]:
    """Clocks of every conversation that is not Done."""
    return sla_for(conn, q.open_keys(conn), now, policy)


def overdue_keys(
    conn: sqlite3.Connection, now: float | None = None, policy: SlaConfig | None = None
) -> list[str]:
    """Overdue conversations, most overdue first (the "Overdue" view)."""
    now = time.time() if now is None else now
    policy = policy or _default_policy()
    # Business time never outruns the wall clock, so anything younger than the shortest
    # target cannot be overdue: most of a large open backlog is skipped unread.
    targets = [*policy.first_response.values(), *policy.resolution.values()]
    shortest = min([*targets, policy.escalated or targets[0]])
    clocks = sla_for(conn, q.open_keys(conn, first_before=now - shortest), now, policy)
    late = [(c.remaining_seconds, k) for k, c in clocks.items() if c.state == "overdue"]
    return [k for _, k in sorted(late)]


def due_soon_keys(
    conn: sqlite3.Connection, now: float | None = None, policy: SlaConfig | None = None
) -> list[str]:
    """Conversations due soon (not yet overdue), soonest first (the "Due soon" view)."""
    clocks = open_clocks(conn, now, policy)
    soon = [(c.remaining_seconds, k) for k, c in clocks.items() if c.state == "due-soon"]
    return [k for _, k in sorted(soon)]


def overdue_count(
    conn: sqlite3.Connection, now: float | None = None, policy: SlaConfig | None = None
) -> int:
    """For the status bar."""
    return len(overdue_keys(conn, now, policy))
