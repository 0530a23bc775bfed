"""SLA clocks on business hours, and the KPIs built on the same course of each conversation.

The TUI's entry points: `sla_for` (a page of rows), `overdue_keys` / `due_soon_keys` (views),
`overdue_count` (the status bar). See README "SLA".
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mailtriage.sla.calendar import BusinessCalendar
    from mailtriage.sla.clock import (
        STATES,
        SlaClock,
        due_soon_keys,
        open_clocks,
        overdue_count,
        overdue_keys,
        sla_for,
    )
    from mailtriage.sla.settings import SlaConfig

# Loaded on first use: config imports sla.settings, and importing the clock here (the cache,
# KPIs, threading) cost every `mailtriage` command ~30 ms before it did anything.
_HOME = {
    "BusinessCalendar": "calendar",
    "STATES": "clock",
    "SlaClock": "clock",
    "due_soon_keys": "clock",
    "open_clocks": "clock",
    "overdue_count": "clock",
    "overdue_keys": "clock",
    "sla_for": "clock",
    "SlaConfig": "settings",
}
__all__ = [
    "STATES",
    "BusinessCalendar",
    "SlaClock",
    "SlaConfig",
    "due_soon_keys",
    "open_clocks",
    "overdue_count",
    "overdue_keys",
    "sla_for",
]


def __getattr__(name: str) -> Any:
    module = _HOME.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)
