"""The variables a template sees, built from a cached conversation (`Store.get_conversation`).

A value we do not have is left out rather than set to "" or None, so that StrictUndefined
stops the render unless the template gives an explicit default
(`{{ customer.name | default("お客様") }}`): a customer never receives an empty salutation.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from mailtriage.compose.filters import date_en, date_ja, family_name, quote
from mailtriage.mime.sanitize import sanitize_for_terminal


def _clean(text: str) -> str:
    # Mail text can carry escape sequences; the rendered reply is shown in a terminal.
    return sanitize_for_terminal(text or "")


def _date(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None


def last_inbound(conversation: Mapping[str, Any]) -> Mapping[str, Any] | None:
    inbound = [m for m in conversation.get("messages", []) if m.get("inbound")]
    return inbound[-1] if inbound else None


def build_variables(
    conversation: Mapping[str, Any],
    *,
    agent: Mapping[str, Any],
    company: Mapping[str, Any] | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    now = now or datetime.now(UTC).astimezone()
    customer_in = conversation.get("customer") or {}
    customer: dict[str, Any] = {"email": customer_in.get("email") or ""}
    name = " ".join(_clean(customer_in.get("name") or "").split())
    if name and "@" not in name:
        customer["name"] = name
        customer["family_name"] = family_name(name)

    messages = conversation.get("messages", [])
    first = _date(messages[0].get("date")) if messages else None
    conv: dict[str, Any] = {
        "id": conversation.get("id", ""),
        "key": conversation.get("key", ""),
        "subject": _clean(conversation.get("subject") or ""),
    }
    if first is not None:
        conv.update(first_date=first, first_date_ja=date_ja(first), first_date_en=date_en(first))

    variables: dict[str, Any] = {
        "customer": customer,
        "agent": {k: v for k, v in agent.items() if v},
        "conversation": conv,
        "ticket": conv,
        "company": dict(company or {}),
        "csat": {},  # {"url": …} when [sla.csat] survey_url is set (compose.reply fills it)
        "today": now,
        "today_ja": date_ja(now),
        "today_en": date_en(now),
        "quoted": "",
    }
    original = last_inbound(conversation)
    if original is not None:
        text = _clean(original.get("text") or "")
        sender = original.get("from") or {}
        info: dict[str, Any] = {
            "text": text,
            "from_name": _clean(sender.get("name") or ""),
            "from_email": sender.get("email") or "",
            "subject": _clean(original.get("subject") or ""),
        }
        when = _date(original.get("date"))
        if when is not None:
            info.update(date=when, date_ja=date_ja(when, True), date_en=date_en(when, True))
        variables["original"] = info
        variables["quoted"] = quote(text) if text else ""
    return variables
