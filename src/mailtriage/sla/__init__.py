"""SLA clocks on business hours, and the KPIs built on the same course of each conversation.

The TUI's entry points: `sla_for` (a page of rows), `overdue_keys` / `due_soon_keys` (views),
`overdue_count` (the status bar). See README "SLA".
"""

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
