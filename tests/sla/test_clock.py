"""SLA clocks from a conversation's course: first response, pauses, done, reopen."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from mailtriage.sla.clock import clock_for, course_of
from mailtriage.sla.settings import SlaConfig
from mailtriage.store.kpi import ConvData, Event, Msg

JST = ZoneInfo("Asia/Tokyo")
H = 3600.0
POLICY = SlaConfig()  # normal: 8h first response, 45h resolution; urgent: 2h / 9h


def t(day: int, hour: int, minute: int = 0) -> float:
    return datetime(2026, 1, day, hour, minute, tzinfo=JST).timestamp()


def conv(*messages: Msg, events=(), status="unhandled", priority="normal", tags=()) -> ConvData:  # type: ignore[no-untyped-def]
    return ConvData(
        "k" * 40, "KKKKKKKK", "s", "c@example.jp", status, None, priority, list(tags),
        list(messages), list(events),
    )  # fmt: skip


def customer(ts: float) -> Msg:
    return Msg(ts, True, False)


def ours(ts: float, auto: bool = False) -> Msg:
    return Msg(ts, False, auto)


def done(ts: float) -> Event:
    return Event(ts, "status", "alice", {"status": "done", "assignee": "alice"})


# Tue 2026-01-13 10:00 JST: the customer writes; 8 business hours run out at 18:00 that day.
ASKED = t(13, 10)


def test_first_response_clock_counts_down_and_goes_overdue() -> None:
    c = conv(customer(ASKED))
    ok = clock_for(c, t(13, 15), POLICY)
    assert ok is not None
    assert (ok.state, ok.kind, ok.label, ok.remaining_seconds) == (
        "ok",
        "first-response",
        "3h left",
        3 * H,
    )
    assert ok.due_at == t(13, 18) and not ok.breached
    soon = clock_for(c, t(13, 16, 30), POLICY)
    assert soon is not None and (soon.state, soon.label) == ("due-soon", "1h left")
    late = clock_for(c, t(14, 10), POLICY)
    assert late is not None
    assert (late.state, late.label, late.remaining_seconds, late.due_at) == (
        "overdue", "overdue 1h", -H, t(13, 18),
    )  # fmt: skip
    assert late.breached


def test_weekend_does_not_count() -> None:
    friday = conv(customer(t(16, 17)))
    clock = clock_for(friday, t(19, 9, 30), POLICY)  # Monday morning: 1h30m spent
    assert clock is not None and clock.remaining_seconds == 6.5 * H and clock.label == "6h left"
    assert clock.due_at == t(19, 16)


def test_an_auto_ack_is_not_a_response() -> None:
    clock = clock_for(conv(customer(ASKED), ours(ASKED + 30, auto=True)), t(13, 11), POLICY)
    assert clock is not None and clock.kind == "first-response" and clock.remaining_seconds == 7 * H


def test_waiting_on_the_customer_pauses_the_resolution_clock() -> None:
    c = conv(customer(ASKED), ours(t(13, 12)))
    paused = clock_for(c, t(15, 10), POLICY)
    assert paused is not None
    assert (paused.state, paused.kind, paused.due_at, paused.label) == (
        "paused", "resolution", None, "paused",
    )  # fmt: skip
    assert paused.remaining_seconds == 43 * H  # only 10:00-12:00 ran
    # The customer answers Wed 10:00: the clock runs again from there.
    c.messages.append(customer(t(14, 10)))
    running = clock_for(c, t(14, 12), POLICY)
    assert running is not None and running.state == "ok"
    assert running.remaining_seconds == 41 * H
    assert running.due_at == t(20, 17)  # Wed 6h, Thu 9h, Fri 9h, Mon 9h, Tue 8h


def test_urgent_targets_apply_to_urgent_conversations() -> None:
    clock = clock_for(conv(customer(ASKED), priority="urgent"), t(13, 11), POLICY)
    assert clock is not None and clock.state == "due-soon" and clock.due_at == t(13, 12)


def test_done_is_met_and_remembers_a_miss() -> None:
    quick = conv(customer(ASKED), ours(t(13, 12)), events=[done(t(13, 13))], status="done")
    met = clock_for(quick, t(20, 9), POLICY)
    assert met is not None and (met.state, met.label, met.breached) == ("met", "met", False)
    late_reply = conv(customer(ASKED), ours(t(14, 12)), events=[done(t(14, 13))], status="done")
    missed = clock_for(late_reply, t(20, 9), POLICY)
    assert missed is not None and (missed.state, missed.label, missed.breached) == (
        "met",
        "met late",
        True,
    )


def test_done_without_an_event_counts_from_the_last_message() -> None:
    course = course_of(conv(customer(ASKED), ours(t(13, 12)), status="done"))
    assert course is not None and course.resolved_at == t(13, 12)


def test_reopened_by_the_customer_runs_again() -> None:
    c = conv(customer(ASKED), ours(t(13, 12)), customer(t(14, 10)), events=[done(t(13, 13))])
    course = course_of(c)
    assert course is not None
    assert course.reopened == 1 and course.replies == 1
    assert course.running == ((ASKED, t(13, 12)), (t(14, 10), None))
    assert course.done_periods == ((t(13, 13), t(14, 10)),)
    clock = clock_for(c, t(14, 11), POLICY)
    assert clock is not None and clock.remaining_seconds == 42 * H


def test_no_clock_without_a_customer_or_for_no_reply() -> None:
    assert clock_for(conv(ours(ASKED)), t(13, 12), POLICY) is None
    assert clock_for(conv(customer(ASKED), tags=["no-reply"]), t(13, 12), POLICY) is None


def test_overdue_resolution_due_at_is_when_it_ran_out() -> None:
    urgent = SlaConfig(resolution={"urgent": 9 * H, "normal": 4 * H})
    c = conv(customer(ASKED), ours(t(13, 11)), customer(t(13, 12)))
    clock = clock_for(c, t(14, 10), urgent)
    # 1h before the reply, then 12:00-18:00 (6h) and 9:00-10:00 (1h): 8h spent of 4h.
    assert clock is not None and clock.state == "overdue" and clock.remaining_seconds == -4 * H
    assert clock.due_at == t(13, 15)
