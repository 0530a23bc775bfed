"""Proactive notices: one template, many customers, one separate message each.

Never one mail with everyone in To/Cc: each recipient gets their own message, personalised
(`customer.name`, CSV columns as variables), with its own Message-ID, so a reply threads
back to a conversation of its own and lands in the queue.

Exactly once, like replies: every message is committed to the outbox before any SMTP
traffic, and its Message-ID is derived from the campaign and the recipient, so running the
same notice again finds the messages already there (sent or still queued) instead of sending
them twice. Rate limiting is the schedule: message i is due at start + i / rate, so a crash
leaves the rest queued at their times for the next deliverer. The Sent copy is filed Done and
tagged `notice`; the customer's answer reopens its conversation as Unhandled.
"""

from __future__ import annotations

import csv
import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mailtriage.compose.message import (
    Addr,
    ComposeError,
    OutgoingMessage,
    choose_charset,
    from_address,
)
from mailtriage.compose.templates import Template, render
from mailtriage.compose.variables import build_variables

if TYPE_CHECKING:
    from mailtriage.config import Config

NOTICE_TAG = "notice"
SENT_FLAGS = ("mt:status/done", f"mt:tag/{NOTICE_TAG}")
_RESERVED = {"customer", "agent", "company", "conversation", "ticket", "today", "quoted"}


class NoticeError(ValueError):
    """A recipient list or notice that cannot be used as given (one line: file:line: why)."""


@dataclass(frozen=True)
class Recipient:
    email: str
    name: str = ""
    values: Mapping[str, str] = field(default_factory=dict)  # CSV columns -> variables


def recipients_from_csv(path: Path) -> list[Recipient]:
    """A CSV with a header row: `email` (required), `name`, and any other columns, which
    become template variables. Duplicate addresses are sent to once."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise NoticeError(f"{path}: cannot read: {exc}") from exc
    rows = list(csv.reader(text.splitlines()))
    if not rows:
        raise NoticeError(f"{path}: empty; the first line names the columns (email,name,…)")
    header = [h.strip().lower() for h in rows[0]]
    if "email" not in header:
        raise NoticeError(f"{path}:1: no 'email' column (the first line names the columns)")
    for name in header:
        if name in _RESERVED or (name not in ("email", "name") and not name.isidentifier()):
            raise NoticeError(f"{path}:1: column {name!r} cannot be a template variable")
    found: list[Recipient] = []
    for number, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(header):
            raise NoticeError(f"{path}:{number}: {len(row)} cells, the header has {len(header)}")
        cells = dict(zip(header, (c.strip() for c in row), strict=True))
        email = cells.pop("email")
        try:
            Addr("", email)
        except ComposeError as exc:
            raise NoticeError(f"{path}:{number}: {exc}") from None
        found.append(Recipient(email, cells.pop("name", ""), cells))
    return dedupe(found)


def recipients_from_conversations(
    conversations: Iterable[Mapping[str, Any]], ours: str
) -> list[Recipient]:
    """The customers of these conversations (search results, a tag), each once."""
    found = []
    for c in conversations:
        customer = c.get("customer") or {}
        email = str(customer.get("email") or "")
        if not email or email.lower() == ours.lower():
            continue
        try:
            Addr("", email)
        except ComposeError:
            continue  # a sender we could never write to (broken From)
        found.append(Recipient(email, str(customer.get("name") or "")))
    return dedupe(found)


def dedupe(recipients: Iterable[Recipient]) -> list[Recipient]:
    seen: dict[str, Recipient] = {}
    for r in recipients:
        seen.setdefault(r.email.lower(), r)
    return list(seen.values())


def campaign_id(template: Template, extra: Mapping[str, str], day: str) -> str:
    """Same template, same values, same day: the same campaign (so a re-run sends nothing
    twice); `--campaign NAME` chooses one explicitly."""
    text = json.dumps([template.key, sorted(extra.items()), day], ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def notice_message_id(campaign: str, email: str, address: str) -> str:
    digest = hashlib.sha256(f"{campaign}\0{email.lower()}".encode()).hexdigest()[:24]
    return f"<notice.{digest}@{address.rpartition('@')[2] or 'localhost'}>"


def build_notice(
    config: Config,
    account: str,
    template: Template,
    recipient: Recipient,
    *,
    campaign: str,
    extra: Mapping[str, str] | None = None,
    now: datetime | None = None,
) -> OutgoingMessage:
    """One customer's notice (TemplateError names the template line; ComposeError the
    address)."""
    from mailtriage.compose.reply import agent_variables

    now = now or datetime.now(UTC).astimezone()
    customer = {"name": recipient.name, "email": recipient.email}
    variables = build_variables(
        {"customer": customer, "messages": []},
        agent=agent_variables(config),
        company=config.compose.company,
        now=now,
    )
    variables.update(extra or {})
    variables.update(recipient.values)
    rendered = render(template, variables)
    acc = config.accounts[account]
    to = (Addr(recipient.name, recipient.email),)
    body = rendered.body
    if config.compose.signature and config.compose.signature.strip() not in body:
        body = body.rstrip("\n") + "\n\n-- \n" + config.compose.signature.strip("\n") + "\n"
    return OutgoingMessage(
        from_=from_address(acc.address, config.compose.from_name),
        to=to,
        subject=rendered.subject,
        body=body,
        message_id=notice_message_id(campaign, recipient.email, acc.address),
        date=now,
        charset=choose_charset(to, config.compose.charset, config.compose.iso2022jp_domains),
        headers=(("X-Mailtriage-Notice", campaign),),
        template_key=template.key,
    )


@dataclass
class Progress:
    total: int
    sent: int = 0  # delivered by this run or an earlier one
    already: int = 0  # found sent by an earlier run
    failed: list[str] = field(default_factory=list)  # "addr: reason", needs a human
    retried: int = 0  # transient failures that were queued again

    @property
    def finished(self) -> int:
        return self.sent + len(self.failed)


async def send_notices(
    outbox: Any,
    messages: list[OutgoingMessage],
    *,
    rate: float,
    start: float,
    on_progress: Any = None,
    clock: Any = None,
    sleep: Any = None,
) -> Progress:
    """Queue every message (skipping those already in the outbox), then deliver at `rate`
    messages per second until each is sent or needs a human (failed)."""
    import asyncio
    import time

    clock = clock or time.time
    sleep = sleep or asyncio.sleep
    progress = Progress(len(messages))
    pending: dict[int, str] = {}  # outbox id -> recipient
    due_at: dict[int, float] = {}  # outbox id -> when it is due (its slot, or a retry)
    slot = 0
    for message in messages:
        item = outbox.by_message_id(message.message_id)
        if item is None:
            item, _ = outbox.enqueue(message, send_at=start + slot / rate, sent_flags=SENT_FLAGS)
            slot += 1
        elif item.state == "done":
            progress.sent += 1
            progress.already += 1
            continue
        elif item.state in ("held", "failed", "cancelled"):
            progress.failed.append(f"{message.to[0].email}: {item.state} ({item.reason})")
            continue
        pending[item.id] = message.to[0].email
        due_at[item.id] = item.send_at
    if on_progress is not None:
        on_progress(progress)
    while pending:
        # One due slot per call, so progress moves message by message and the rate holds.
        next_at = min(due_at[i] for i in pending)
        if next_at > clock():
            await sleep(min(next_at - clock(), 1.0))
            continue
        deliveries = await outbox.deliver_due(now=next_at)
        mine = [d for d in deliveries if d.item_id in pending]
        for d in mine:
            if d.state == "done":
                progress.sent += 1
                del pending[d.item_id]
            elif d.state in ("failed", "held", "cancelled"):
                progress.failed.append(f"{pending.pop(d.item_id)}: {d.message}")
            else:
                progress.retried += 1
                item = outbox.get(d.item_id)
                due_at[d.item_id] = item.send_at if item is not None else clock()
        if not mine:
            # Due but not delivered: another process is sending them right now.
            for item_id in [i for i in pending if due_at[i] <= next_at]:
                progress.failed.append(f"{pending.pop(item_id)}: being sent by another process")
        if on_progress is not None:
            on_progress(progress)
    return progress
