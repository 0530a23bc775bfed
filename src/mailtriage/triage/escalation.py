"""Escalate a conversation to a supervisor or a department, and take it back.

What the team shares lives on the server (DESIGN.md §2), so another agent's cache sees it:
- the tag `escalated` (keyword `mt:tag/escalated`; an event in status-folder mode) is the
  state: the Escalated view and the `sla.escalated` target follow it;
- an internal note with the reason, @mentioning the supervisor or the department's members;
- an `escalated` event naming the target (and `deescalated` when it comes back);
- optionally a forward of the whole conversation to the department's address, through the
  exactly-once outbox, recorded as a `forwarded` event; its Sent copy is filed Done and
  tagged `internal`, so it never sits in the queue or counts as an answer to the customer;
- optionally a holding reply to the customer from a template (`holding`: 担当部署に確認中です。
  ○日までに回答いたします), with the date in `answer_by`.

Everything that can be refused (no address to forward to, a broken template, a bad address)
is built before anything changes on the server, so a refusal leaves nothing half-done.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from mailtriage.compose.filters import date_en, date_ja, forward_subject
from mailtriage.compose.message import (
    Addr,
    OutgoingMessage,
    choose_charset,
    from_address,
    header_text,
    new_message_id,
    to_bytes,
)
from mailtriage.triage.departments import Target

if TYPE_CHECKING:
    from mailtriage.compose.reply import PreparedReply
    from mailtriage.config import Config
    from mailtriage.imap.actions import AccountActions
    from mailtriage.smtp.outbox import Outbox

ESCALATED = "escalated"
# The Sent copy of an internal forward: Done (so it is not a conversation to work on) and
# tagged, so a department's answer reopens it as Unhandled like any reply.
INTERNAL_SENT_FLAGS = ("mt:status/done", "mt:tag/internal")
HOLDING_TEMPLATE = "holding"
ANSWER_BY_BUSINESS_DAYS = 3


@dataclass
class Outcome:
    """What an escalation did, one human line per step (the CLI prints them, the app
    notifies the first and logs the rest)."""

    ok: bool
    message: str
    steps: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    forward_message_id: str | None = None
    hold_message_id: str | None = None
    reason: str | None = None  # as ActionResult.reason when a server action failed

    def as_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "message": self.message,
            "steps": self.steps,
            "warnings": self.warnings,
            "forward_message_id": self.forward_message_id,
            "hold_message_id": self.hold_message_id,
            "reason": self.reason,
        }


def note_text(target: Target, reason: str) -> str:
    """The internal note: where it went and why, @mentioning whoever must act."""
    who = target.label if target.label == target.name else f"{target.label} ({target.name})"
    mentions = " ".join(f"@{m}" for m in target.members)
    text = f"エスカレーション → {who}: {reason.strip()}"
    return f"{text} {mentions}".rstrip()


def default_answer_by(config: Config, now: float, language: str = "ja") -> str:
    """ANSWER_BY_BUSINESS_DAYS business days from now, as a date the customer reads."""
    policy = config.sla
    day = (policy.end_minute - policy.start_minute) * 60.0
    when = policy.calendar.add(now, ANSWER_BY_BUSINESS_DAYS * day)
    local = datetime.fromtimestamp(when, UTC).astimezone(_zone(policy.timezone))
    return date_ja(local) if language == "ja" else date_en(local)


def _zone(name: str) -> Any:
    from zoneinfo import ZoneInfo

    return ZoneInfo(name)


def build_forward(
    config: Config,
    account: str,
    conversation: Mapping[str, Any],
    target: Target,
    reason: str,
    *,
    now: datetime | None = None,
) -> OutgoingMessage:
    """The whole conversation, oldest first, to the department's address.

    Not threaded into the customer's conversation (no In-Reply-To/References): a reply from
    the department must never look like the customer's newest message.
    """
    if not target.address:
        raise ValueError(
            f'{target.name} has no address to forward to (add address = "…" to'
            f" [departments.{target.name}])"
        )
    acc = config.accounts[account]
    sid = str(conversation.get("id") or "")
    customer = conversation.get("customer") or {}
    lines = [
        f"エスカレーション / Escalation: {sid}",
        f"理由 / Reason: {reason.strip()}",
        f"担当 / From agent: {config.agent}",
        f"お客様 / Customer: {header_text(str(customer.get('name') or ''))}"
        f" <{customer.get('email') or ''}>",
        f"件数 / Messages: {len(conversation.get('messages') or [])}",
        "",
    ]
    for m in conversation.get("messages") or []:
        sender = m.get("from") or {}
        direction = "お客様 / customer" if m.get("inbound") else "サポート / support"
        lines += [
            f"---------- {direction} ----------",
            f"From: {header_text(str(sender.get('name') or ''))} <{sender.get('email') or ''}>",
            f"Date: {m.get('date') or ''}",
            f"Subject: {header_text(str(m.get('subject') or ''))}",
            "",
            (m.get("text") or "(本文未取得 / body not fetched)").rstrip("\n"),
            "",
        ]
    to = (Addr(target.label, target.address),)
    sender = from_address(acc.address, config.compose.from_name)
    subject = f"{forward_subject(str(conversation.get('subject') or ''))} [{sid}]"
    return OutgoingMessage(
        from_=sender,
        to=to,
        subject=subject,
        body="\n".join(lines).rstrip("\n") + "\n",
        message_id=new_message_id(acc.address),
        date=now if now is not None else datetime.now(UTC).astimezone(),
        charset=choose_charset(to, config.compose.charset, config.compose.iso2022jp_domains),
        headers=(("X-Mailtriage-Escalation", str(conversation.get("key") or "")),),
    )


def build_holding_reply(
    config: Config,
    account: str,
    conversation: Mapping[str, Any],
    template_name: str,
    answer_by: str | None,
    *,
    now: float,
) -> PreparedReply:
    """The holding reply to the customer, from a template with `answer_by` filled in."""
    from mailtriage.compose.reply import conversation_language, prepare_reply
    from mailtriage.compose.templates import find_template, load_templates, template_dirs

    language = conversation_language(conversation)
    template = find_template(load_templates(template_dirs(config)), template_name, language)
    when = answer_by or default_answer_by(config, now, template.language)
    return prepare_reply(config, account, conversation, template, extra={"answer_by": when})


async def escalate(
    config: Config,
    account: str,
    conversation: Mapping[str, Any],
    target: Target,
    reason: str,
    *,
    actions: AccountActions,
    outbox: Outbox | None = None,
    forward: bool = False,
    hold: str | None = None,
    answer_by: str | None = None,
    send_at: float | None = None,
    now: float,
) -> Outcome:
    """Note, tag, optional forward and holding reply (queued in the outbox at send_at;
    None: after the undo window), then the `escalated` event."""
    key = str(conversation["key"])
    sid = str(conversation.get("id") or key[:8])
    reason = " ".join(reason.split())
    if not reason:
        raise ValueError("an escalation needs a reason (it goes into the internal note)")
    if (forward or hold) and outbox is None:
        raise ValueError("forwarding or a holding reply needs SMTP (accounts.NAME.smtp)")
    fwd = build_forward(config, account, conversation, target, reason) if forward else None
    held = None
    if hold:
        held = build_holding_reply(config, account, conversation, hold, answer_by, now=now)
        # The outbox would refuse internal-only KB text (--answer-by is free text) after the
        # note and tag are on the server: ask first, so the escalation is whole or nothing.
        assert outbox is not None
        outbox.check_internal(to_bytes(held.message)[0])
    outcome = Outcome(True, f"{sid}: escalated to {target.label}")
    noted = await actions.add_note(key, note_text(target, reason))
    if not noted.ok:
        return Outcome(False, noted.message, reason=noted.reason)
    outcome.steps.append(noted.message)
    tagged = await actions.set_tags(key, add=[ESCALATED])
    if not tagged.ok:
        return Outcome(False, tagged.message, outcome.steps, reason=tagged.reason)
    _warn(outcome, tagged.warning)
    if fwd is not None:
        assert outbox is not None and target.address
        item, warnings = outbox.enqueue(
            fwd, send_at=send_at, sent_flags=INTERNAL_SENT_FLAGS, to_team=True
        )
        outcome.warnings += warnings
        outcome.forward_message_id = fwd.message_id
        logged = await actions.log_event(
            key,
            "forwarded",
            {"to": target.address, "target": target.name, "message_id": fwd.message_id},
            text=reason,
        )
        _warn(outcome, logged.warning)
        outcome.steps.append(f"{sid}: forward to {target.address} queued (outbox #{item.id})")
    if held is not None:
        assert outbox is not None
        item, warnings = outbox.enqueue(held.message, send_at=send_at, snapshot=held.snapshot)
        outcome.warnings += warnings
        outcome.hold_message_id = held.message.message_id
        outcome.steps.append(
            f"{sid}: holding reply to {held.message.to[0].email} queued (outbox #{item.id})"
        )
    details: dict[str, object] = dict(target.as_json())
    details.update(to=target.name, forward=outcome.forward_message_id, hold=outcome.hold_message_id)
    logged = await actions.log_event(key, "escalated", details, text=reason)
    _warn(outcome, logged.warning)
    outcome.steps.insert(0, outcome.message)
    return outcome


async def deescalate(
    conversation: Mapping[str, Any], note: str, *, actions: AccountActions
) -> Outcome:
    """Back to the normal queue: the tag goes, a note says why, `deescalated` is logged."""
    key = str(conversation["key"])
    sid = str(conversation.get("id") or key[:8])
    note = " ".join(note.split())
    if not note:
        raise ValueError("de-escalating needs a note (what the department said)")
    if ESCALATED not in (conversation.get("tags") or []):
        return Outcome(False, f"{sid}: not escalated", reason="not-escalated")
    tagged = await actions.set_tags(key, remove=[ESCALATED])
    if not tagged.ok:
        return Outcome(False, tagged.message, reason=tagged.reason)
    outcome = Outcome(True, f"{sid}: back from escalation")
    _warn(outcome, tagged.warning)
    noted = await actions.add_note(key, f"エスカレーション解除: {note}")
    if not noted.ok:
        outcome.warnings.append(f"note not added: {noted.message}")
    else:
        outcome.steps.append(noted.message)
    logged = await actions.log_event(key, "deescalated", {}, text=note)
    _warn(outcome, logged.warning)
    outcome.steps.insert(0, outcome.message)
    return outcome


def escalation_of(timeline: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The escalation in force from a conversation's timeline (None after a de-escalation)."""
    current = None
    for event in timeline:
        if event["kind"] == "escalated":
            current = event
        elif event["kind"] == "deescalated":
            current = None
    return current


def _warn(outcome: Outcome, warning: str | None) -> None:
    if warning:
        outcome.warnings.append(warning)
