"""Business-hours arithmetic: which seconds count towards an SLA.

Everything is in epoch seconds on the outside and in the configured zone's wall clock on the
inside, so "09:00-18:00" means the office's nine o'clock on every day, DST or not.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

# A target longer than ten years of business time is a typo; stop walking rather than hang.
_MAX_DAYS = 3660


class BusinessCalendar:
    def __init__(
        self,
        timezone: str = "Asia/Tokyo",
        weekdays: Iterable[int] = (0, 1, 2, 3, 4),
        start_minute: int = 9 * 60,
        end_minute: int = 18 * 60,
        holidays: str | None = "JP",
        closed: Iterable[date] = (),
    ):
        if not 0 <= start_minute < end_minute <= 24 * 60:
            raise ValueError("business hours must start before they end, within one day")
        self.zone = ZoneInfo(timezone)
        self.weekdays = frozenset(weekdays)
        if not self.weekdays:
            raise ValueError("at least one business day is needed")
        self.start_minute = start_minute
        self.end_minute = end_minute
        self.country = holidays
        self.closed = frozenset(closed)
        self._holidays: dict[int, frozenset[date]] = {}
        # Lists ask about the same few weeks over and over; a day's answer never changes.
        self._open: dict[date, tuple[float, float] | None] = {}

    def holidays_of(self, year: int) -> frozenset[date]:
        found = self._holidays.get(year)
        if found is None:
            found = frozenset()
            if self.country:
                # Imported here: the library costs ~100 ms, and most runs never need a holiday.
                import holidays

                found = frozenset(holidays.country_holidays(self.country, years=[year]))
            self._holidays[year] = found
        return found

    def is_business_day(self, day: date) -> bool:
        return (
            day.weekday() in self.weekdays
            and day not in self.closed
            and day not in self.holidays_of(day.year)
        )

    def _window(self, day: date) -> tuple[float, float]:
        """The day's open hours as epoch seconds (wall clock in the zone)."""
        midnight = datetime.combine(day, time(0), self.zone)
        start = midnight.replace(hour=self.start_minute // 60, minute=self.start_minute % 60)
        if self.end_minute == 24 * 60:
            end = datetime.combine(day + timedelta(days=1), time(0), self.zone)
        else:
            end = midnight.replace(hour=self.end_minute // 60, minute=self.end_minute % 60)
        return start.timestamp(), end.timestamp()

    def _day(self, ts: float) -> date:
        return datetime.fromtimestamp(ts, self.zone).date()

    def _hours_of(self, day: date) -> tuple[float, float] | None:
        """The day's open window, or None when closed."""
        try:
            return self._open[day]
        except KeyError:
            window = self._window(day) if self.is_business_day(day) else None
            self._open[day] = window
            return window

    def is_open(self, ts: float) -> bool:
        window = self._hours_of(self._day(ts))
        return window is not None and window[0] <= ts < window[1]

    def seconds_between(self, a: float, b: float) -> float:
        """Business seconds in [a, b); 0 when b <= a."""
        if b <= a:
            return 0.0
        total = 0.0
        day, last = self._day(a), self._day(b)
        while day <= last:
            window = self._hours_of(day)
            if window is not None:
                total += max(0.0, min(window[1], b) - max(window[0], a))
            day += timedelta(days=1)
        return total

    def add(self, a: float, seconds: float) -> float:
        """The moment `seconds` business seconds after a (a itself for 0 or less)."""
        if seconds <= 0:
            return a
        remaining = seconds
        day = self._day(a)
        for _ in range(_MAX_DAYS):
            window = self._hours_of(day)
            if window is not None:
                start, end = window
                begin = max(start, a)
                available = end - begin
                if available > 0:
                    if available >= remaining:
                        return begin + remaining
                    remaining -= available
            day += timedelta(days=1)
        raise ValueError(f"{seconds} business seconds is more than ten years of business time")
