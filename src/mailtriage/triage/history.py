"""Human lines for events, notes and presence, shared by the CLI, the conflict messages and
the TUI (which renders them; nothing here touches the terminal)."""

from __future__ import annotations

import time
from typing import Any


def ago(seconds: float) -> str:
    """4 s, 3 min, 2 h, 5 d: how long ago, rounded down, never negative."""
    seconds = max(0.0, seconds)
    if seconds < 90:
        return f"{int(seconds)} s"
    if seconds < 90 * 60:
        return f"{int(seconds // 60)} min"
    if seconds < 48 * 3600:
        return f"{int(seconds // 3600)} h"
    return f"{int(seconds // 86400)} d"


def describe(event: dict[str, Any]) -> str:
    """What happened, without who and when: "claimed this", "marked this done", …"""
    kind, details = event["kind"], event.get("details") or {}
    if kind == "claimed":
        return "claimed this"
    if kind == "assigned":
        return f"assigned this to {details.get('assignee') or 'nobody'}"
    if kind == "status":
        return f"marked this {details.get('status', '?')}"
    if kind == "priority":
        return f"set priority {details.get('priority', '?')}"
    if kind == "tagged":
        changes = [f"+{t}" for t in details.get("add", [])]
        changes += [f"-{t}" for t in details.get("remove", [])]
        return "tagged " + " ".join(changes)
    if kind == "noted":
        return "wrote a note"
    if kind == "kb-used":
        how = "the link to" if details.get("how") == "link" else "an excerpt of"
        return f"inserted {how} KB article {details.get('title') or details.get('article', '?')}"
    if kind == "escalated":
        return f"escalated this to {details.get('label') or details.get('to', '?')}"
    if kind == "deescalated":
        return "took this back from escalation"
    if kind == "forwarded":
        return f"forwarded this to {details.get('to', '?')}"
    if kind == "handover":
        return f"handed this over from {details.get('from', '?')} to {details.get('to', '?')}"
    if kind == "away":
        return "is away" if details.get("away") else "is back"
    return kind


def event_line(event: dict[str, Any], now: float | None = None) -> str:
    """ "bob claimed this 4 s ago"."""
    now = time.time() if now is None else now
    return f"{event['agent']} {describe(event)} {ago(now - event['time'])} ago"
