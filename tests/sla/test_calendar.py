"""Business-hours arithmetic: weekends, Japanese holidays, closed days, DST in another zone."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from mailtriage.sla.calendar import BusinessCalendar

JST = ZoneInfo("Asia/Tokyo")
NY = ZoneInfo("America/New_York")
H = 3600.0


def jst(*parts: int) -> float:
    return datetime(*parts, tzinfo=JST).timestamp()


def ny(*parts: int) -> float:
    return datetime(*parts, tzinfo=NY).timestamp()


def at(ts: float, zone: ZoneInfo = JST) -> datetime:
    return datetime.fromtimestamp(ts, zone).replace(tzinfo=None)


@pytest.fixture(scope="module")
def office() -> BusinessCalendar:
    return BusinessCalendar()  # Asia/Tokyo, Mon-Fri 09:00-18:00, JP public holidays


@pytest.mark.parametrize(
    ("start", "end", "hours"),
    [
        ((2026, 1, 13, 10), (2026, 1, 13, 12), 2),  # same day
        ((2026, 1, 13, 7), (2026, 1, 13, 20), 9),  # before opening to after closing
        ((2026, 1, 13, 19), (2026, 1, 14, 8), 0),  # overnight
        ((2026, 1, 16, 17), (2026, 1, 19, 10), 2),  # Fri -> Mon over a weekend
        ((2026, 1, 17, 10), (2026, 1, 18, 15), 0),  # all weekend
        ((2026, 1, 9, 17), (2026, 1, 13, 10), 2),  # Fri -> Tue over 成人の日 (Mon 1/12)
        ((2025, 12, 31, 17), (2026, 1, 2, 10), 2),  # 元日 (Thu) is a holiday; 1/2 is not
        ((2026, 4, 28, 17), (2026, 4, 30, 10), 2),  # 昭和の日 (Wed 4/29)
        ((2026, 5, 1, 17), (2026, 5, 7, 10), 2),  # ゴールデンウィーク: 5/4, 5/5, 振替休日 5/6
        ((2026, 9, 18, 18), (2026, 9, 24, 9), 0),  # シルバーウィーク: 9/21, 国民の休日 9/22, 9/23
    ],
)
def test_seconds_between_in_tokyo(office, start, end, hours) -> None:  # type: ignore[no-untyped-def]
    assert office.seconds_between(jst(*start), jst(*end)) == hours * H


@pytest.mark.parametrize(
    ("start", "hours", "due"),
    [
        ((2026, 1, 13, 10), 2, (2026, 1, 13, 12)),
        ((2026, 1, 13, 9), 9, (2026, 1, 13, 18)),  # exactly the day: today's close, not tomorrow
        ((2026, 1, 13, 7), 1, (2026, 1, 13, 10)),  # before opening
        ((2026, 1, 13, 19), 1, (2026, 1, 14, 10)),  # after closing
        ((2026, 1, 16, 17), 3, (2026, 1, 19, 11)),  # over a weekend
        ((2026, 1, 9, 17), 8, (2026, 1, 13, 16)),  # over a weekend and 成人の日
        ((2026, 4, 28, 17), 3, (2026, 4, 30, 11)),  # 昭和の日
        ((2026, 5, 1, 17), 2, (2026, 5, 7, 10)),  # ゴールデンウィーク
        ((2025, 12, 31, 17), 2, (2026, 1, 2, 10)),  # over 元日
        ((2026, 1, 13, 10), 45, (2026, 1, 20, 10)),  # five business days
    ],
)
def test_add_in_tokyo(office, start, hours, due) -> None:  # type: ignore[no-untyped-def]
    assert at(office.add(jst(*start), hours * H)) == datetime(*due)


def test_add_nothing_is_now(office) -> None:  # type: ignore[no-untyped-def]
    sunday = jst(2026, 1, 18, 3)
    assert office.add(sunday, 0) == sunday
    assert office.seconds_between(sunday, sunday - 10) == 0


def test_add_and_seconds_between_are_inverse(office) -> None:  # type: ignore[no-untyped-def]
    starts = [jst(2026, 4, 24, h, m) for h in (0, 8, 9, 12, 17, 18, 23) for m in (0, 59)]
    for start in starts:
        for seconds in (1, 59 * 60, H, 8 * H + 1, 9 * H, 30 * H, 100 * H):
            assert office.seconds_between(start, office.add(start, seconds)) == seconds


def test_a_year_in_tokyo_is_244_business_days_of_nine_hours(office) -> None:  # type: ignore[no-untyped-def]
    # 2026 has 261 weekdays; 17 public holidays fall on one (JST has no DST, so every open
    # day is exactly nine hours).
    assert office.seconds_between(jst(2026, 1, 1), jst(2027, 1, 1)) == 244 * 9 * H
    assert not office.is_business_day(date(2026, 5, 6))  # 振替休日
    assert office.is_business_day(date(2026, 1, 2))


def test_closed_days_extend_the_holidays() -> None:
    # 年末年始: 12/29-12/31 and 1/2 closed, 1/1 a holiday, 1/3-1/4 a weekend.
    closed = [date(2025, 12, 29), date(2025, 12, 30), date(2025, 12, 31), date(2026, 1, 2)]
    year_end = BusinessCalendar(closed=closed)
    assert at(year_end.add(jst(2025, 12, 26, 17), 2 * H)) == datetime(2026, 1, 5, 10)
    assert at(year_end.add(jst(2025, 12, 31, 10), H)) == datetime(2026, 1, 5, 10)


def test_no_holidays_when_not_configured() -> None:
    plain = BusinessCalendar(holidays=None)
    assert plain.seconds_between(jst(2026, 1, 1, 9), jst(2026, 1, 1, 18)) == 9 * H


def test_new_york_across_the_dst_switch() -> None:
    office = BusinessCalendar("America/New_York", holidays="US")
    # DST begins Sun 2026-03-08: the wall clock loses an hour, business hours do not.
    friday, monday = ny(2026, 3, 6, 17), ny(2026, 3, 9, 10)
    assert monday - friday == 64 * H
    assert office.seconds_between(friday, monday) == 2 * H
    assert at(office.add(ny(2026, 3, 6, 17, 30), H), NY) == datetime(2026, 3, 9, 9, 30)
    # DST ends Sun 2026-11-01.
    assert office.seconds_between(ny(2026, 10, 30, 17), ny(2026, 11, 2, 10)) == 2 * H
    # US holidays, not Japanese ones: 7/3 is Independence Day observed; 1/12 is a workday.
    assert at(office.add(ny(2026, 7, 2, 17), 2 * H), NY) == datetime(2026, 7, 6, 10)
    assert office.seconds_between(ny(2026, 1, 12, 9), ny(2026, 1, 12, 18)) == 9 * H


def test_round_the_clock_is_wall_time() -> None:
    always = BusinessCalendar("Europe/London", range(7), 0, 24 * 60, None)
    a = datetime(2026, 3, 28, 12, tzinfo=ZoneInfo("Europe/London")).timestamp()
    b = datetime(2026, 3, 30, 12, tzinfo=ZoneInfo("Europe/London")).timestamp()
    assert always.seconds_between(a, b) == b - a == 47 * H  # the 29th has 23 hours
    assert always.add(a, 47 * H) == b


def test_is_open(office) -> None:  # type: ignore[no-untyped-def]
    assert office.is_open(jst(2026, 1, 13, 9))
    assert not office.is_open(jst(2026, 1, 13, 18))
    assert not office.is_open(jst(2026, 1, 12, 10))  # 成人の日
    assert not office.is_open(jst(2026, 1, 17, 10))  # Saturday
