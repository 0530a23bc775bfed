"""Lay out one conversation row in terminal cells.

Widths are counted in cells (CJK characters take two), and truncation never cuts a wide
character in half: rich's set_cell_size pads the gap instead.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from rich.cells import cell_len, set_cell_size

from mailtriage.mime import sanitize_for_terminal
from mailtriage.triage.state import STATUS_LABELS

STATUS_SHORT = STATUS_LABELS

ELLIPSIS = "…"


@dataclass(frozen=True)
class Column:
    name: str
    title: str
    width: int


def fit(text: str, width: int) -> str:
    """Exactly `width` cells: padded, or cut with an ellipsis at a character boundary."""
    if width <= 0:
        return ""
    if cell_len(text) <= width:
        return set_cell_size(text, width)
    return set_cell_size(text, width - 1) + ELLIPSIS


def one_line(text: str) -> str:
    """Message strings can hold newlines and tabs; a list row must not."""
    return " ".join(sanitize_for_terminal(text).split())


def age(seconds: float) -> str:
    """Compact waiting time: 45s, 12m, 3h, 5d, 8w."""
    seconds = max(0, int(seconds))
    for unit, size in (("w", 604800), ("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def layout(width: int) -> list[Column]:
    """Columns for a list `width` cells wide; customer and subject share what is left."""
    fixed = [
        Column("mark", "", 2),
        Column("id", "ID", 8),
        Column("status", "状態", 6),
        Column("prio", "!", 1),
        Column("owner", "Owner", 8),
        Column("age", "Age", 4),
        Column("sla", "SLA", 5),
        Column("flags", "", 3),
        Column("count", "#", 3),
    ]
    gaps = len(fixed) + 1  # one space after each column but the last
    rest = max(0, width - sum(c.width for c in fixed) - gaps)
    customer = min(20, max(6, rest // 3))
    subject = max(0, rest - customer)
    if width < 80:
        # At 80 columns the owner column costs more than it tells: keep the initials' width.
        owner_index = next(i for i, c in enumerate(fixed) if c.name == "owner")
        subject += fixed[owner_index].width - 5
        fixed[owner_index] = Column("owner", "Own", 5)
    columns = [
        *fixed[:7],
        Column("customer", "Customer", customer),
        Column("subject", "Subject", subject),
        *fixed[7:],
    ]
    return columns


def sla_text(clock: Any) -> str:
    """Five cells: business time left ("2h", "45m"), "-3h" when overdue, wait/met otherwise."""
    if clock is None:
        return ""
    if clock.state == "paused":
        return "wait"
    if clock.state == "met":
        return "met"
    left = age(abs(clock.remaining_seconds))
    return f"-{left}" if clock.remaining_seconds < 0 else left


def cells(row: dict[str, Any], *, selected: bool, now: float | None = None) -> dict[str, str]:
    """The text of each column for one conversation row (before fitting)."""
    now = time.time() if now is None else now
    # @ attachments, ? decoding warnings, v/R another agent viewing/replying right now
    present = {"viewing": "v", "replying": "R"}.get(row.get("presence") or "", " ")
    flags = (
        ("@" if row.get("has_attachments") else " ")
        + ("?" if row.get("has_warnings") else " ")
        + present
    )
    mark = "x" if selected else ("*" if row.get("unread") else " ")
    return {
        "mark": mark,
        "id": row["short_id"],
        "status": STATUS_SHORT.get(row["status"], row["status"]),
        "prio": "!" if row["priority"] == "urgent" else " ",
        "owner": one_line(row["assignee"] or "-"),
        "age": age(now - row["last_ts"]),
        "sla": sla_text(row.get("sla")),
        "customer": one_line(row["customer_name"] or row["customer_email"] or ""),
        "subject": one_line(row["subject"] or "(no subject)"),
        "flags": flags,
        "count": str(row["message_count"]),
    }


def render_row(
    row: dict[str, Any], columns: list[Column], *, selected: bool = False, now: float | None = None
) -> list[tuple[str, str]]:
    """(text, column name) pieces, each exactly its column's width, with single-space gaps."""
    values = cells(row, selected=selected, now=now)
    pieces: list[tuple[str, str]] = []
    for index, column in enumerate(columns):
        text = values[column.name]
        if column.name == "count":
            text = text.rjust(column.width)
        pieces.append((fit(text, column.width), column.name))
        if index < len(columns) - 1:
            pieces.append((" ", "gap"))
    return pieces


def header_text(columns: list[Column]) -> str:
    return " ".join(fit(c.title, c.width) for c in columns)
