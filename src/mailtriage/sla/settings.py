"""The `[sla]` configuration table: targets per priority, business hours, holidays."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from functools import cached_property
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from mailtriage.sla.calendar import BusinessCalendar
from mailtriage.sla.csat import CsatConfig, parse_csat

if TYPE_CHECKING:
    from mailtriage.config import _Reader

PRIORITIES = ("urgent", "normal")
DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_DURATION = re.compile(r"^(?:(\d+)h)?\s*(?:(\d+)m)?$")
_HOURS = re.compile(r"^(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})$")


def parse_duration(text: str) -> float | None:
    """ "8h", "90m", "1h30m" -> seconds; None when it is not one of those."""
    match = _DURATION.match(text.strip())
    if not match or not any(match.groups()):
        return None
    hours, minutes = (int(g) if g else 0 for g in match.groups())
    return float(hours * 3600 + minutes * 60)


def parse_hours(text: str) -> tuple[int, int] | None:
    """ "09:00-18:00" -> (540, 1080) minutes; None when malformed or not increasing."""
    match = _HOURS.match(text.strip())
    if not match:
        return None
    h1, m1, h2, m2 = (int(g) for g in match.groups())
    start, end = h1 * 60 + m1, h2 * 60 + m2
    if m1 >= 60 or m2 >= 60 or not 0 <= start < end <= 24 * 60:
        return None
    return start, end


@dataclass(frozen=True)
class SlaConfig:
    timezone: str = "Asia/Tokyo"
    weekdays: tuple[int, ...] = (0, 1, 2, 3, 4)
    start_minute: int = 9 * 60
    end_minute: int = 18 * 60
    holidays: str | None = "JP"  # a country code the `holidays` library knows, or None
    closed: tuple[date, ...] = ()  # extra closed days (年末年始, company holidays)
    first_response: dict[str, float] = field(
        default_factory=lambda: {"urgent": 2 * 3600.0, "normal": 8 * 3600.0}
    )
    resolution: dict[str, float] = field(
        default_factory=lambda: {"urgent": 9 * 3600.0, "normal": 45 * 3600.0}
    )
    due_soon: float = 2 * 3600.0
    csat: CsatConfig = field(default_factory=CsatConfig)  # [sla.csat]
    # sla.escalated: the resolution target while a conversation is escalated (departments
    # take longer); None: the priority's resolution target applies.
    escalated: float | None = None

    @cached_property
    def calendar(self) -> BusinessCalendar:
        return BusinessCalendar(
            self.timezone,
            self.weekdays,
            self.start_minute,
            self.end_minute,
            self.holidays,
            self.closed,
        )


def parse_sla(reader: _Reader | None) -> SlaConfig:
    if reader is None:
        return SlaConfig()
    reader.unknown(
        {
            "timezone",
            "business_days",
            "business_hours",
            "holidays",
            "closed",
            "first_response",
            "resolution",
            "due_soon",
            "csat",
            "escalated",
        }
    )
    kwargs: dict[str, Any] = {}
    zone = reader.str("timezone", "Asia/Tokyo") or "Asia/Tokyo"
    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        raise reader.err(
            "timezone", f"unknown time zone {zone!r}", 'an IANA name, e.g. "Asia/Tokyo"'
        ) from None
    kwargs["timezone"] = zone
    days = reader.data.get("business_days")
    if days is not None:
        if (
            not isinstance(days, list)
            or not days
            or not all(isinstance(d, str) and d.lower() in DAY_NAMES for d in days)
        ):
            raise reader.err(
                "business_days",
                f"expected a non-empty list of day names, got {days!r}",
                'business_days = ["mon", "tue", "wed", "thu", "fri"]',
            )
        kwargs["weekdays"] = tuple(sorted({DAY_NAMES.index(d.lower()) for d in days}))
    hours_text = reader.str("business_hours")
    if hours_text is not None:
        hours = parse_hours(hours_text)
        if hours is None:
            raise reader.err(
                "business_hours",
                f"expected HH:MM-HH:MM within one day, got {hours_text!r}",
                'business_hours = "09:00-18:00" (use "00:00-24:00" for round the clock)',
            )
        kwargs["start_minute"], kwargs["end_minute"] = hours
    country = reader.data.get("holidays", "JP")
    if not isinstance(country, str):
        raise reader.err("holidays", f"expected a country code, got {country!r}", 'holidays = "JP"')
    if country:
        import holidays

        if country.upper() not in holidays.list_supported_countries():
            raise reader.err(
                "holidays",
                f"no public-holiday calendar for {country!r}",
                'a country code such as "JP" or "US", or "" for none',
            )
    kwargs["holidays"] = country.upper() or None
    closed = reader.data.get("closed", [])
    if not isinstance(closed, list) or not all(isinstance(d, date) for d in closed):
        raise reader.err(
            "closed",
            f"expected a list of dates, got {closed!r}",
            "bare TOML dates: closed = [2026-12-29, 2026-12-30]",
        )
    kwargs["closed"] = tuple(closed)
    for name in ("first_response", "resolution"):
        table = reader.table(name, required=False)
        if table is None:
            continue
        table.unknown(set(PRIORITIES))
        targets = dict(getattr(SlaConfig(), name))
        for prio in table.data:
            targets[prio] = _duration(table, prio)
        kwargs[name] = targets
    if "due_soon" in reader.data:
        kwargs["due_soon"] = _duration(reader, "due_soon")
    kwargs["csat"] = parse_csat(reader.table("csat", required=False))
    if "escalated" in reader.data:
        kwargs["escalated"] = _duration(reader, "escalated")
    return SlaConfig(**kwargs)


def _duration(reader: _Reader, name: str) -> float:
    value = reader.data.get(name)
    seconds = parse_duration(value) if isinstance(value, str) else None
    if not seconds:
        raise reader.err(
            name,
            f'expected a duration of business time like "8h" or "1h30m", got {value!r}',
            f'{name} = "8h"',
        )
    return seconds
