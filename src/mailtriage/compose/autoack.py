"""Auto-acknowledgement (RFC 3834), off unless `compose.auto_ack` names a template.

`auto_acknowledge()` runs after a sync: for each new Unhandled conversation with no reply of
ours, it reads the customer message's headers from the server, asks `may_auto_reply`, and
claims the decision on the server before queueing anything, so two agents' apps running the
pass at once acknowledge a conversation once:

- the decision is a keyword on the conversation's first customer message, `mt:auto-ack`
  (acknowledged) or `mt:auto-ack/none` (not, e.g. the mail was automatic), stored with
  `UNCHANGEDSINCE` and verified with an `mt:auto-ack/by/NAME` keyword (smallest name wins,
  as in imap.actions); a decided conversation is never looked at again by anyone;
- the reply carries `Auto-Submitted: auto-replied` and a Message-ID derived from the
  conversation, goes through the outbox (exactly once; no \\Answered on the original) and its
  Sent copy is marked `mt:auto-replied` + `mt:status/unhandled`, so the conversation stays
  Unhandled and KPIs can leave it out; the "replied" event it logs has details.auto.

Loops stop because: an auto-responder's answer to us either says it is automatic
(Auto-Submitted, Precedence, no-reply senders), or lands in a conversation that already has our
reply, or starts a new one and meets the per-sender daily limit.
"""

from __future__ import annotations

import asyncio
import contextlib
import email
import email.policy
import time
from dataclasses import dataclass, replace

from mailtriage.compose.ack_templates import enabled
from mailtriage.compose.autoreply import AUTO_REPLY_HEADERS, may_auto_reply
from mailtriage.compose.message import to_bytes
from mailtriage.compose.reply import conversation_language, prepare_reply
from mailtriage.compose.templates import find_template, load_templates, template_dirs
from mailtriage.config import AccountConfig, Config
from mailtriage.imap.decide_once import decide_once, open_inbox
from mailtriage.smtp.outbox import Outbox
from mailtriage.store import Store
from mailtriage.store import autoack as queries

ACKED = "mt:auto-ack"
DECLINED = "mt:auto-ack/none"
BY = "mt:auto-ack/by/"
WINDOW = 86400.0  # a conversation older than this when first seen is never acknowledged
_HEADERS = (
    "FROM",
    "RETURN-PATH",
    "AUTO-SUBMITTED",
    "PRECEDENCE",
    "LIST-ID",
    "LIST-UNSUBSCRIBE",
    "X-AUTO-RESPONSE-SUPPRESS",
)
_FETCH = f"BODY.PEEK[HEADER.FIELDS ({' '.join(_HEADERS)})]"


@dataclass(frozen=True)
class AutoAck:
    conversation_key: str
    sent: bool  # queued in the outbox
    reason: str  # why not, or "" when queued
    outbox_item: int | None = None


class _Claims:
    """INBOX keywords on one connection, blocking (a worker thread)."""

    def __init__(self, account: AccountConfig):
        self.client, self.condstore = open_inbox(account)

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.client.logout()

    def headers(self, uid: int) -> dict[str, str] | None:
        data = self.client.fetch([uid], [_FETCH]).get(uid)
        if data is None:
            return None
        raw = next((v for k, v in data.items() if k.startswith(b"BODY[HEADER")), b"")
        msg = email.message_from_bytes(raw, policy=email.policy.default)
        return {k: str(v) for k, v in msg.items()}

    def claim(self, uid: int, agent: str, keyword: str) -> bool:
        """Record our decision on the anchor; False when someone else decided first."""
        return decide_once(
            self.client,
            uid,
            agent,
            keyword,
            family=ACKED,
            by_prefix=BY,
            condstore=self.condstore,
            exclusive=(ACKED, DECLINED),
        )


def _ack_message_id(key: str, address: str) -> str:
    # Derived from the conversation: even two racing agents would send the same message.
    return f"<autoack.{key[:24]}@{address.rpartition('@')[2] or 'localhost'}>"


def template_for(config: Config, store: Store, key: str) -> str | None:
    """The first matching rule's `ack` template, else compose.auto_ack (None: no ack)."""
    if any(r.ack for r in config.rules):
        from mailtriage.rules.engine import explain

        matches, _ = explain(store.conn, key, config)
        by_name = {r.name: r for r in config.rules}
        for match in matches:
            rule = by_name[match.rule]
            if match.matched and rule.ack:
                return rule.ack
            if match.matched and rule.stop:
                break
    return config.compose.auto_ack or None


async def auto_acknowledge(
    config: Config,
    account: str,
    outbox: Outbox | None = None,
    *,
    now: float | None = None,
    window: float = WINDOW,
) -> list[AutoAck]:
    """One pass over the cache; returns what it decided (empty when auto_ack is off).

    Call it after each sync that brought new mail; queued acknowledgements leave with
    `outbox.deliver_due()` / `outbox.run()` (immediately due: no undo window for robots).
    """
    if not enabled(config):
        return []
    now = time.time() if now is None else now
    acc = config.accounts[account]
    store = Store(acc.cache_path, readonly=True)
    try:
        keys = queries.candidates(store.conn, now - window)
        if not keys:
            return []
        conversations = [c for c in map(store.get_conversation, keys) if c is not None]
        chosen = {c["key"]: template_for(config, store, c["key"]) for c in conversations}
        sent_today = {
            (c.get("customer") or {}).get("email", "").lower(): queries.auto_replies_to(
                store.conn, (c.get("customer") or {}).get("email", ""), now - 86400
            )
            for c in conversations
        }
    finally:
        store.close()
    templates = load_templates(template_dirs(config))
    own = outbox is None
    box = outbox or Outbox.for_config(config, account)
    # Until the next sync brings their Sent copies, our own recent auto-replies are only here.
    queued: dict[str, int] = {}
    for item in box.items():
        if item.meta.get("auto") and item.state != "cancelled" and item.created_at >= now - 86400:
            for address in item.recipients:
                queued[address.lower()] = queued.get(address.lower(), 0) + 1
    for address, count in queued.items():
        sent_today[address] = max(sent_today.get(address, 0), count)
    claims = await asyncio.to_thread(_Claims, acc)
    results: list[AutoAck] = []
    try:
        for conversation in conversations:
            name = chosen[conversation["key"]]
            if name is None:
                results.append(AutoAck(conversation["key"], False, "no rule asks to acknowledge"))
                continue
            result = await _one(
                config, account, conversation, name, templates, claims, box, sent_today
            )
            results.append(result)
    finally:
        await asyncio.to_thread(claims.close)
        if own:
            await box.close()
    return results


async def _one(config, account, conversation, name, templates, claims, box, sent_today) -> AutoAck:  # type: ignore[no-untyped-def]
    key = conversation["key"]
    acc = config.accounts[account]
    inbound = [m for m in conversation.get("messages") or [] if m.get("inbound")]
    anchor = inbound[0] if inbound else None
    if anchor is None or anchor.get("mailbox") != "INBOX":
        return AutoAck(key, False, "no customer message in INBOX")
    if box.by_message_id(_ack_message_id(key, acc.address)) is not None:
        return AutoAck(key, False, "already in the outbox")
    headers = await asyncio.to_thread(claims.headers, anchor["uid"])
    if headers is None:
        return AutoAck(key, False, "the message is gone from INBOX")
    sender = (anchor.get("from") or {}).get("email", "")
    if headers.get("Return-Path", "").strip() == "<>":
        allowed, why = False, "empty Return-Path (a bounce)"
    else:
        allowed, why = may_auto_reply(
            headers,
            sender,
            ours=acc.address,
            already_acknowledged=False,
            replies_to_sender_today=sent_today.get(sender.lower(), 0),
            max_per_sender_per_day=config.compose.auto_ack_per_sender_per_day,
        )
    if allowed:
        # Built before the claim: a template error must not leave a claimed, unsent ack.
        language = conversation_language(conversation)
        template = find_template(templates, name, language)
        prepared = prepare_reply(config, account, conversation, template)
        box.check_internal(to_bytes(prepared.message)[0])  # a refusal must not leave a claim
    keyword = ACKED if allowed else DECLINED
    if not await asyncio.to_thread(claims.claim, anchor["uid"], config.agent, keyword):
        return AutoAck(key, False, "decided already, or by another agent")
    if not allowed:
        return AutoAck(key, False, why)
    message = replace(
        prepared.message,
        message_id=_ack_message_id(key, acc.address),
        headers=(*prepared.message.headers, *AUTO_REPLY_HEADERS),
        status_after_send=None,
    )
    raw, warnings = to_bytes(message)
    item = box.enqueue_raw(
        raw,
        message_id=message.message_id,
        conversation_key=key,
        subject=message.subject,
        recipients=message.recipients(),
        meta={
            "auto": True,
            "template": template.key,
            "in_reply_to": message.in_reply_to,
            "warnings": warnings,
        },
        send_at=time.time(),
    )
    sent_today[sender.lower()] = sent_today.get(sender.lower(), 0) + 1
    return AutoAck(key, True, "", item.id)
