"""Human-readable CLI output. Every message-derived string passes sanitize_for_terminal and
reaches Rich as a Text object, never as markup."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from mailtriage.mime import sanitize_for_terminal
from mailtriage.triage.state import STATUS_LABELS

STATUS_LABEL = STATUS_LABELS


def safe(value: Any) -> Text:
    return Text(sanitize_for_terminal(str(value or "")))


def _when(iso: str) -> str:
    try:
        return datetime.fromisoformat(iso).astimezone().strftime("%m-%d %H:%M")
    except ValueError:
        return iso[:16]


def _customer(c: dict[str, str]) -> str:
    return c.get("name") or c.get("email") or ""


def _cell(value: str, width: int) -> Text:
    text = safe(value)
    text.truncate(max(width, 1), overflow="ellipsis")
    return text


def print_conversation_table(items: list[dict[str, Any]], console: Console | None = None) -> None:
    console = console or Console(highlight=False)
    # Rich measures a no-wrap cell by its full length, so one very long subject would squeeze
    # the fixed columns out; truncate customer and subject to the space that is really left.
    fixed = 8 + 6 + 8 + 1 + 11 + 3 + 2 * 7
    customer_w = min(22, max(8, (console.width - fixed) // 3))
    subject_w = max(10, console.width - fixed - customer_w)
    table = Table(box=None, pad_edge=False, show_edge=False, header_style="bold")
    table.add_column("ID", no_wrap=True, min_width=8)
    table.add_column("Status", no_wrap=True, min_width=6)
    table.add_column("Owner", no_wrap=True, max_width=8, overflow="ellipsis")
    table.add_column("!", no_wrap=True, min_width=1)
    table.add_column("Updated", no_wrap=True, min_width=11)
    table.add_column("Customer", no_wrap=True)
    table.add_column("Subject", no_wrap=True)
    table.add_column("#", justify="right", no_wrap=True)
    for c in items:
        table.add_row(
            Text(c["id"], style="bold" if c["unread"] else ""),
            Text(STATUS_LABEL.get(c["status"], c["status"])),
            _cell(c["assignee"] or "-", 8),
            Text("!" if c["priority"] == "urgent" else "", style="bold red"),
            Text(_when(c["last_message_at"])),
            _cell(_customer(c["customer"]), customer_w),
            _cell(c["subject"] or "(no subject)", subject_w),
            Text(str(c["message_count"])),
        )
    console.print(table)


def _address(a: dict[str, str]) -> str:
    return f"{a['name']} <{a['email']}>" if a.get("name") else a.get("email", "")


def print_conversation(conv: dict[str, Any], console: Console | None = None) -> None:
    console = console or Console(highlight=False)
    head = Text()
    head.append(f"{conv['id']}  ", style="bold")
    head.append(sanitize_for_terminal(conv["subject"] or "(no subject)"), style="bold")
    console.print(head)
    meta = (
        f"{STATUS_LABEL.get(conv['status'], conv['status'])} · "
        f"{conv['assignee'] or 'unassigned'} · {conv['priority']} · "
        f"{conv['message_count']} messages"
    )
    console.print(safe(f"{_customer(conv['customer'])} <{conv['customer']['email']}> · {meta}"))
    for m in conv["messages"]:
        console.rule(style="dim")
        lines = [
            ("From", _address(m["from"])),
            ("To", ", ".join(_address(a) for a in m["to"])),
            ("Cc", ", ".join(_address(a) for a in m["cc"])),
            ("Date", m["date"]),
            ("Subject", m["subject"]),
        ]
        for label, value in lines:
            if value:
                line = Text(f"{label}: ", style="bold")
                line.append(sanitize_for_terminal(value))
                console.print(line)
        for a in m["attachments"]:
            console.print(
                safe(
                    f"[attachment] {a['filename'] or '(unnamed)'} "
                    f"({a['content_type']}, {a['size']} bytes)"
                )
            )
        for w in m["warnings"]:
            console.print(Text(f"⚠ {sanitize_for_terminal(w)}", style="yellow"))
        console.print()
        console.print(safe(m["text"].rstrip()))
