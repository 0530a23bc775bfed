"""Supervisor review: a reply parked in the server's Drafts folder until a supervisor decides.

DESIGN.md §2: "Drafts awaiting supervisor review live in Drafts with a review keyword". The
draft is the reply exactly as it will be sent, preceded by `X-Mailtriage-Review-*` header
lines (author, template, the template's own rendering for the diff, recipients, the author's
check-then-send snapshot). Approving strips exactly those leading lines, so the customer gets
the bytes the author submitted, byte for byte.

State is one keyword on the draft: `mt:review/pending`, then `mt:review/approved` or
`mt:review/returned`. A decision is a compare-and-swap (`UNCHANGEDSINCE`) on the draft plus a
`mt:review/by/NAME` keyword, verified after a settle delay the way imap.actions verifies
claims (Dovecot can let two racing conditional stores both through): when two supervisors'
keywords are there, the smaller name wins and the other withdraws. Only the winner's outbox
sends, so an approval is sent once.

Who may decide is checked here, against `team.supervisors`: IMAP has no per-keyword ACL, so
this is the team's rule, not a security boundary.

Every submission and decision is also logged as a "reviewed" event (details.state pending /
approved / returned), which is what `store.review.awaiting_review` reads cheaply.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import difflib
import email
import email.policy
import hashlib
import json
import time
import zlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import imapclient

from mailtriage.compose.message import OutgoingMessage, to_bytes
from mailtriage.compose.reply import PreparedReply
from mailtriage.config import AccountConfig, Config
from mailtriage.errors import MailtriageError
from mailtriage.imap.condstore import read_flags, uid_store_unchanged_since
from mailtriage.imap.connection import connect
from mailtriage.smtp.outbox import Outbox
from mailtriage.smtp.server_side import Snapshot
from mailtriage.store.outbox import OutboxItem
from mailtriage.triage.threads import short_id

PENDING = "mt:review/pending"
APPROVED = "mt:review/approved"
RETURNED = "mt:review/returned"
BY = "mt:review/by/"
STATES = {PENDING: "pending", APPROVED: "approved", RETURNED: "returned"}
H = "X-Mailtriage-Review"
# Parked: an approval enqueues first (far in the future), then wins the draft, then schedules;
# a crash in between leaves a visible queued item and a still-pending draft, never a lost or
# double reply (re-approving finds the parked item by Message-ID).
PARKED = 10 * 365 * 86400.0
SETTLE_SECONDS = 0.05
_CHUNK = 72


class ReviewError(MailtriageError):
    """The review action cannot be done (not a supervisor, no such draft, already decided)."""

    exit_code = 1


@dataclass(frozen=True)
class ReviewItem:
    id: str  # 8 hex digits derived from the Message-ID: the same on every machine
    uid: int
    message_id: str
    conversation_key: str
    author: str
    template: str | None
    subject: str
    to: tuple[str, ...]
    state: str  # pending | approved | returned
    submitted_at: float
    body: str  # the reply text as it will be sent
    template_body: str  # the template's rendering it was edited from ("" for free text)
    decided_by: str | None = None
    status_after_send: str | None = None
    raw: bytes = field(default=b"", repr=False)  # the draft (review lines + the reply)

    @property
    def conversation_id(self) -> str:
        return short_id(self.conversation_key)

    def diff(self) -> str:
        """Unified diff: template rendering (a/) -> the draft (b/); "" when identical."""
        lines = difflib.unified_diff(
            self.template_body.splitlines(keepends=True),
            self.body.splitlines(keepends=True),
            fromfile=f"a/{self.template or 'template'}",
            tofile=f"b/draft-{self.id}",
        )
        return "".join(line if line.endswith("\n") else line + "\n" for line in lines)

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "message_id": self.message_id,
            "conversation": self.conversation_id,
            "conversation_key": self.conversation_key,
            "author": self.author,
            "template": self.template,
            "subject": self.subject,
            "to": list(self.to),
            "state": self.state,
            "submitted_at": self.submitted_at,
            "decided_by": self.decided_by,
        }


@dataclass(frozen=True)
class Decision:
    review: ReviewItem
    outbox_item: OutboxItem | None  # the queued reply, for an approval
    message: str  # one human line for the status bar
    warning: str | None = None  # the decision stands; its event or note is not logged yet


def review_id(message_id: str) -> str:
    return hashlib.sha1(message_id.encode()).hexdigest()[:8]


def is_supervisor(config: Config, agent: str | None = None) -> bool:
    return (agent or config.agent) in config.supervisors


# -- the draft's wire form ----------------------------------------------------------------


def _packed(text: str) -> str:
    """Arbitrary text as folded base64 (an ASCII header that any server keeps intact)."""
    data = base64.b64encode(zlib.compress(text.encode("utf-8"))).decode()
    return "\r\n ".join(data[i : i + _CHUNK] for i in range(0, len(data), _CHUNK)) or "="


def _unpacked(value: str | None) -> str:
    if not value or not value.strip("= \t\r\n"):
        return ""
    try:
        return zlib.decompress(base64.b64decode("".join(value.split()))).decode("utf-8")
    except (ValueError, zlib.error):
        return ""


def draft_bytes(
    raw: bytes,
    *,
    author: str,
    template: str | None,
    template_body: str,
    recipients: list[str],
    status_after_send: str | None,
    snapshot: Snapshot | None,
    now: float,
) -> bytes:
    fields = [
        (f"{H}", "1"),
        (f"{H}-Author", author),
        (f"{H}-Submitted", datetime.fromtimestamp(now, UTC).isoformat()),
        (f"{H}-Template", template or ""),
        (f"{H}-Status-After-Send", status_after_send or ""),
        (f"{H}-Recipients", ", ".join(recipients)),
        (f"{H}-Template-Body", _packed(template_body)),
        (f"{H}-Snapshot", _packed(json.dumps(snapshot.as_json()) if snapshot else "")),
    ]
    head = "".join(f"{name}: {value}\r\n" for name, value in fields)
    return head.encode("ascii") + raw


def reply_bytes(draft: bytes) -> bytes:
    """The reply inside a draft: the draft minus its leading review lines."""
    lines = draft.splitlines(keepends=True)
    start = 0
    while start < len(lines):
        line = lines[start]
        if line.startswith(H.encode()) or (start and line[:1] in (b" ", b"\t")):
            start += 1
            continue
        break
    return b"".join(lines[start:])


def parse_draft(raw: bytes, uid: int, flags: list[str]) -> ReviewItem | None:
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    mid = str(msg.get("Message-ID", "")).strip()
    if msg.get(H) is None or not mid:
        return None
    state = next((STATES[f] for f in (APPROVED, RETURNED, PENDING) if f in flags), "pending")
    decided = sorted(f[len(BY) :] for f in flags if f.startswith(BY))
    body_part = msg.get_body(("plain",))
    body = body_part.get_content().replace("\r\n", "\n") if body_part is not None else ""
    submitted = str(msg.get(f"{H}-Submitted", ""))
    try:
        ts = datetime.fromisoformat(submitted).timestamp()
    except ValueError:
        ts = 0.0
    return ReviewItem(
        id=review_id(mid),
        uid=uid,
        message_id=mid,
        conversation_key=str(msg.get("X-Mailtriage-Conversation", "")).strip(),
        author=str(msg.get(f"{H}-Author", "")).strip(),
        template=str(msg.get(f"{H}-Template", "")).strip() or None,
        subject=str(msg.get("Subject", "")),
        to=tuple(a.strip() for a in str(msg.get(f"{H}-Recipients", "")).split(",") if a.strip()),
        state=state,
        submitted_at=ts,
        body=body,
        template_body=_unpacked(msg.get(f"{H}-Template-Body")),
        decided_by=decided[0] if decided else None,
        status_after_send=str(msg.get(f"{H}-Status-After-Send", "")).strip() or None,
        raw=raw,
    )


def _snapshot(item: ReviewItem) -> Snapshot | None:
    msg = email.message_from_bytes(item.raw, policy=email.policy.default)
    text = _unpacked(msg.get(f"{H}-Snapshot"))
    return Snapshot.from_json(json.loads(text)) if text else None


# -- IMAP (blocking, run in a worker thread) ------------------------------------------------


class _Drafts:
    def __init__(self, account: AccountConfig, password: str):
        self.account = account
        self.client = connect(account.imap, password)
        self.condstore = self.client.has_capability("CONDSTORE")
        if self.condstore and self.client.has_capability("ENABLE"):
            self.client.enable("CONDSTORE")
        special = self.client.find_special_folder(imapclient.imapclient.DRAFTS)
        self.folder = special or "Drafts"

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.client.logout()

    def append(self, raw: bytes) -> None:
        flags = (b"\\Draft", b"\\Seen", PENDING.encode())
        try:
            self.client.append(self.folder, raw, flags=flags)
        except imapclient.exceptions.IMAPClientError as exc:
            if "TRYCREATE" not in str(exc).upper():
                raise
            self.client.create_folder(self.folder)
            self.client.append(self.folder, raw, flags=flags)

    def items(self, states: tuple[str, ...] = (PENDING,)) -> list[ReviewItem]:
        if not self.client.folder_exists(self.folder):
            return []
        self.client.select_folder(self.folder, readonly=True)
        uids: set[int] = set()
        for keyword in states:
            uids |= set(self.client.search(["KEYWORD", keyword]))
        if not uids:
            return []
        out = []
        for uid, data in sorted(self.client.fetch(sorted(uids), ["FLAGS", "BODY.PEEK[]"]).items()):
            flags = [f.decode() if isinstance(f, bytes) else str(f) for f in data[b"FLAGS"]]
            item = parse_draft(data[b"BODY[]"], uid, flags)
            if item is not None:
                out.append(item)
        return sorted(out, key=lambda i: i.submitted_at)

    def find(self, typed: str) -> ReviewItem:
        typed = typed.strip().lower()
        every = self.items((PENDING, APPROVED, RETURNED))
        found = [i for i in every if i.id.startswith(typed) or i.message_id.lower() == typed]
        if len(found) != 1:
            what = "no review draft" if not found else "several review drafts match"
            raise ReviewError(f"{what} with id {typed!r}")
        return found[0]

    def decide(self, item: ReviewItem, agent: str, to: str) -> None:
        """Compare-and-swap the draft from pending to `to`; ReviewError when we lost."""
        client = self.client
        client.select_folder(self.folder)
        client.noop()
        found = read_flags(client, [item.uid], modseq=self.condstore).get(item.uid)
        if found is None:
            raise ReviewError(f"review {item.id}: the draft is gone from {self.folder}")
        flags, modseq = found
        if PENDING not in flags:
            raise ReviewError(f"review {item.id}: already {_decided(flags)}")
        new = [f for f in flags if f != PENDING and f.lower() != "\\recent"]
        new += [to, BY + agent]
        if self.condstore and modseq is not None:
            result = uid_store_unchanged_since(client, [item.uid], modseq, new, "FLAGS")
            if not result.applied(item.uid):
                client.noop()
                now = read_flags(client, [item.uid], modseq=False).get(item.uid, ([], None))[0]
                raise ReviewError(f"review {item.id}: already {_decided(now)}")
        else:
            client.add_flags([item.uid], [to, BY + agent], silent=True)
            client.remove_flags([item.uid], [PENDING], silent=True)
        time.sleep(SETTLE_SECONDS)
        client.noop()
        after = read_flags(client, [item.uid], modseq=False).get(item.uid, ([], None))[0]
        deciders = sorted(f[len(BY) :] for f in after if f.startswith(BY))
        if deciders and deciders[0] != agent:
            other = RETURNED if to == APPROVED else APPROVED
            # Our state keyword goes too unless the winner decided the same (it is theirs then).
            mine = [BY + agent] + ([to] if other in after else [])
            client.remove_flags([item.uid], mine, silent=True)
            raise ReviewError(f"review {item.id}: {deciders[0]} decided it first")

    def in_sent(self, message_id: str) -> bool:
        from mailtriage.smtp.server_side import ServerSide

        side = ServerSide(self.account, "")
        side._client = self.client  # share this connection: no second login
        return side.in_sent(message_id)


def _decided(flags: list[str]) -> str:
    state = next((STATES[f] for f in (APPROVED, RETURNED) if f in flags), "decided")
    who = sorted(f[len(BY) :] for f in flags if f.startswith(BY))
    return f"{state} by {who[0]}" if who else state


async def _on_drafts(config: Config, account: str, fn: Any) -> Any:
    acc = config.accounts[account]

    def run() -> Any:
        drafts = _Drafts(acc, acc.imap.resolve_password())
        try:
            return fn(drafts)
        finally:
            drafts.close()

    return await asyncio.to_thread(run)


async def _log(
    config: Config, account: str, key: str, details: dict[str, object], note: str = ""
) -> str | None:
    """Log "reviewed" (and a note); a warning line when the server did not take it."""
    from mailtriage.imap.actions import AccountActions
    from mailtriage.store import CacheError

    acc = config.accounts[account]
    try:
        actions = AccountActions(acc, acc.imap.resolve_password(), config.agent, config.members)
    except (MailtriageError, CacheError) as exc:
        return f"not logged: {exc}"
    problems = []
    try:
        if note:
            noted = await actions.add_note(key, note)
            if not noted.ok:
                problems.append(f"note not added: {noted.message}")
        logged = await actions.log_event(key, "reviewed", details)
        if not logged.ok or logged.warning:
            problems.append(f"event not logged: {logged.warning or logged.message}")
    except (MailtriageError, CacheError, OSError) as exc:
        problems.append(f"not logged: {exc}")
    finally:
        await actions.close()
    return "; ".join(problems) or None


def _require_supervisor(config: Config, what: str) -> None:
    if not is_supervisor(config):
        who = ", ".join(config.supervisors) or "nobody (set team.supervisors)"
        raise ReviewError(
            f"{config.agent} is not a supervisor: only {who} can {what} a reviewed reply"
        )


# -- the async API (TUI and CLI) ------------------------------------------------------------


async def submit_for_review(
    config: Config,
    account: str,
    reply: PreparedReply | OutgoingMessage,
    template_body: str | None = None,
    *,
    snapshot: Snapshot | None = None,
) -> ReviewItem:
    """Save the reply in Drafts as `mt:review/pending` instead of sending it.

    template_body: the body as the template rendered it, before the agent's edits (for a
    PreparedReply that was not edited, its own body); None for a free-form reply.
    """
    if isinstance(reply, PreparedReply):
        message, snapshot = reply.message, snapshot or reply.snapshot
    else:
        message = reply
    if not message.conversation_key:
        raise ReviewError("only a reply to a conversation can be reviewed")
    raw, _ = to_bytes(message)
    now = time.time()
    draft = draft_bytes(
        raw,
        author=config.agent,
        template=message.template_key,
        template_body=template_body if template_body is not None else "",
        recipients=message.recipients(),
        status_after_send=message.status_after_send,
        snapshot=snapshot,
        now=now,
    )
    await _on_drafts(config, account, lambda d: d.append(draft))
    item = parse_draft(draft, 0, [PENDING])
    assert item is not None
    await _log(
        config,
        account,
        message.conversation_key,
        {
            "state": "pending",
            "review": item.id,
            "author": config.agent,
            "template": message.template_key,
        },
    )
    return item


async def pending_reviews(
    config: Config, account: str, *, all_states: bool = False
) -> list[ReviewItem]:
    """Drafts awaiting review (every review draft with all_states), oldest first."""
    states = (PENDING, APPROVED, RETURNED) if all_states else (PENDING,)
    return await _on_drafts(config, account, lambda d: d.items(states))


async def get_review(config: Config, account: str, review: str) -> ReviewItem:
    """One review draft by id (a unique prefix) or Message-ID; ReviewError if none."""
    return await _on_drafts(config, account, lambda d: d.find(review))


async def approve(
    config: Config,
    account: str,
    review: str | ReviewItem,
    *,
    outbox: Outbox | None = None,
    send_at: float | None = None,
) -> Decision:
    """Approve a pending draft: it goes through `outbox` (check-then-send against the
    author's snapshot, sent once) at send_at (default: after the undo window)."""
    _require_supervisor(config, "approve")
    typed = review.id if isinstance(review, ReviewItem) else review
    own = outbox is None
    box = outbox or Outbox.for_config(config, account)
    try:
        item = await _on_drafts(config, account, lambda d: d.find(typed))
        if item.state != "pending":
            raise ReviewError(f"review {item.id}: already {item.state}")
        reply = reply_bytes(item.raw)
        msg = email.message_from_bytes(reply, policy=email.policy.default)
        queued = box.by_message_id(item.message_id)
        if queued is None:
            queued = box.enqueue_raw(
                reply,
                message_id=item.message_id,
                conversation_key=item.conversation_key,
                subject=item.subject,
                recipients=list(item.to),
                meta={
                    "status_after_send": item.status_after_send,
                    "template": item.template,
                    "in_reply_to": (str(msg.get("In-Reply-To", "")).strip() or None),
                    "review": {"id": item.id, "author": item.author, "approved_by": config.agent},
                },
                send_at=time.time() + PARKED,
                snapshot=_snapshot(item),
            )

        def win(d: _Drafts) -> bool:
            d.decide(item, config.agent, APPROVED)
            return d.in_sent(item.message_id)

        try:
            already_sent = await _on_drafts(config, account, win)
        except ReviewError:
            box.cancel(queued.id)
            raise
        if already_sent:
            box.cancel(queued.id)
        else:
            at = time.time() + box.undo_seconds if send_at is None else send_at
            box.schedule(queued.id, at)
        decided = _with_state(item, "approved", config.agent)
        warning = await _log(
            config,
            account,
            item.conversation_key,
            {"state": "approved", "review": item.id, "author": item.author},
        )
        line = f"review {item.id}: approved; outbox #{queued.id} sends it"
        if already_sent:
            line = f"review {item.id}: approved; it is in Sent already, not sent again"
        return Decision(decided, box.get(queued.id), line, warning)
    finally:
        if own:
            await box.close()


async def return_to_author(
    config: Config, account: str, review: str | ReviewItem, note: str
) -> Decision:
    """Return a pending draft with a reason: `mt:review/returned` on the draft and a team note
    (@author, so it is in the author's mentions) on the conversation."""
    _require_supervisor(config, "return")
    note = note.strip()
    if not note:
        raise ReviewError("say why the reply is returned (a note for the author)")
    typed = review.id if isinstance(review, ReviewItem) else review

    def decide(d: _Drafts) -> ReviewItem:
        item = d.find(typed)
        if item.state != "pending":
            raise ReviewError(f"review {item.id}: already {item.state}")
        d.decide(item, config.agent, RETURNED)
        return item

    item = await _on_drafts(config, account, decide)
    text = f"@{item.author} review {item.id} returned: {note}"
    warning = await _log(
        config,
        account,
        item.conversation_key,
        {"state": "returned", "review": item.id, "author": item.author, "note": note},
        note=text,
    )
    return Decision(
        _with_state(item, "returned", config.agent),
        None,
        f"review {item.id}: returned to {item.author}",
        warning,
    )


def _with_state(item: ReviewItem, state: str, by: str) -> ReviewItem:
    from dataclasses import replace

    return replace(item, state=state, decided_by=by)
