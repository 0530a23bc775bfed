"""Exactly-once sending: outbox row (committed) -> check-then-send -> SMTP -> Sent ->
\\Answered -> status after send. Each step is recorded before the next; see store/outbox.py
for the states and what a restarted process does with each.

The one window no protocol closes: the SMTP server accepted DATA and the process died
before recording it. Such an item (stage "data") is sent again only if Sent lacks its
Message-ID *and* a human says so (`outbox --retry`); it is never re-sent automatically,
because a duplicate to a customer is worse than a visible "may have been sent".
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import imapclient

from mailtriage.compose.message import OutgoingMessage, to_bytes
from mailtriage.config import AccountConfig, Config, ConfigError
from mailtriage.errors import MailtriageError
from mailtriage.smtp.server_side import ServerSide, Snapshot
from mailtriage.smtp.submit import SmtpSession, SubmitError
from mailtriage.store.outbox import ACTIVE, OutboxItem, OutboxStore, outbox_path

# Keywords on the Sent copy of an RFC 3834 auto-reply: `mt:auto-replied` marks it for KPIs
# and readers; `mt:status/unhandled` makes it a "marked" message, so the cache's own-reply rule
# does not move the conversation to In progress.
AUTO_SENT_FLAGS = ("mt:auto-replied", "mt:status/unhandled")

# deliver_due keeps its SMTP connection while another message is due this soon (the next
# slot of a notice run), and hangs up otherwise.
KEEP_SMTP_SECONDS = 5.0

# Test seam (tests/compose/test_send_crash.py): SIGKILL ourselves at a named point.
CRASH_ENV = "MAILTRIAGE_TEST_CRASH_AT"


def _text_of(raw: bytes) -> str:
    """The subject and every text part of a message in wire form, decoded."""
    import email
    import email.policy

    msg = email.message_from_bytes(raw, policy=email.policy.default)
    texts = [str(msg.get("Subject", ""))]
    for part in msg.walk():
        if part.get_content_maintype() == "text" and not part.is_attachment():
            with contextlib.suppress(LookupError, UnicodeError):  # unknown charset: skipped
                texts.append(part.get_content())
    return "\n".join(texts)


@dataclass(frozen=True)
class Delivery:
    """What one deliver step did to one item, for the UI's status line."""

    item_id: int
    message_id: str
    state: str  # the item's state afterwards
    message: str  # one human line
    warnings: tuple[str, ...] = ()


@dataclass
class Outbox:
    account: AccountConfig
    agent: str
    directory: Path
    undo_seconds: float = 10.0
    backoff: tuple[float, float] = (30.0, 3600.0)  # first retry delay, cap
    max_attempts: int = 8
    lease_seconds: float = 600.0  # a "sending" row older than this, owned elsewhere, is dead
    # config.kb's internal-only articles: no message to a customer may carry their text
    # (kb.insert.InternalTextGuard); None without a KB.
    kb_guard: Any = None
    _store: OutboxStore = field(init=False, repr=False)
    _executor: ThreadPoolExecutor = field(init=False, repr=False)
    _server: ServerSide | None = field(default=None, init=False, repr=False)
    # One SMTP connection for consecutive messages (a notice run), replaced after a failure.
    _smtp: SmtpSession | None = field(default=None, init=False, repr=False)
    _passwords: dict[str, str] = field(default_factory=dict, init=False, repr=False)
    _lock: asyncio.Lock | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        self._store = OutboxStore(outbox_path(self.directory, self.account.name))
        self._executor = ThreadPoolExecutor(1, thread_name_prefix=f"outbox-{self.account.name}")

    @classmethod
    def for_config(cls, config: Config, account: str, **kwargs: Any) -> Outbox:
        if config.kb is not None:
            from mailtriage.kb.insert import InternalTextGuard

            kwargs.setdefault("kb_guard", InternalTextGuard(config.kb))
        return cls(
            config.accounts[account],
            config.agent,
            config.compose.outbox_dir,
            undo_seconds=config.compose.undo_seconds,
            **kwargs,
        )

    @property
    def path(self) -> Path:
        return self._store.path

    # -- what the UI calls ------------------------------------------------------------------

    def enqueue(
        self,
        message: OutgoingMessage,
        *,
        send_at: float | None = None,
        snapshot: Snapshot | None = None,
        force: bool = False,
        sent_flags: tuple[str, ...] = (),
        to_team: bool = False,
    ) -> tuple[OutboxItem, list[str]]:
        """Commit the message durably; it is sent by deliver_due() once send_at passes
        (default: now + the undo window). Returns the item and encoding warnings.
        sent_flags: keywords for its Sent copy (a notice or internal forward is filed Done).
        to_team: every recipient is a colleague (an escalation forward), so internal-only KB
        text may go; anything else carrying it raises kb.insert.InternalTextError."""
        raw, warnings = to_bytes(message)
        meta = {
            "status_after_send": message.status_after_send,
            "template": message.template_key,
            "in_reply_to": message.in_reply_to,
            "warnings": warnings,
            "sent_flags": list(sent_flags),
        }
        item = self.enqueue_raw(
            raw,
            message_id=message.message_id,
            conversation_key=message.conversation_key,
            subject=message.subject,
            recipients=message.recipients(),
            meta=meta,
            send_at=send_at,
            snapshot=snapshot,
            force=force,
            to_team=to_team,
        )
        return item, warnings

    def enqueue_raw(
        self,
        raw: bytes,
        *,
        message_id: str,
        conversation_key: str | None,
        subject: str,
        recipients: list[str],
        meta: dict[str, Any],
        send_at: float | None = None,
        snapshot: Snapshot | None = None,
        force: bool = False,
        to_team: bool = False,
    ) -> OutboxItem:
        """enqueue() for a message already in wire form (an approved review draft, an
        auto-acknowledgement). meta: status_after_send, template, in_reply_to, and
        "auto" (RFC 3834: no \\Answered, logged as an automatic reply, Sent copy marked).
        Every path to SMTP passes here: the one place internal-only KB text is refused."""
        if not to_team:
            self.check_internal(raw)
        meta = dict(meta, agent=self.agent, snapshot=snapshot.as_json() if snapshot else None)
        meta.setdefault("warnings", [])
        return self._store.add(
            message_id=message_id,
            conversation_key=conversation_key,
            subject=subject,
            mail_from=self.account.address,
            recipients=recipients,
            raw=raw,
            meta=meta,
            send_at=time.time() + self.undo_seconds if send_at is None else send_at,
            force=force,
        )

    def check_internal(self, raw: bytes) -> None:
        """kb.insert.InternalTextError when a message to a customer carries internal-only KB
        text (enqueue_raw asks; a caller that must decide something first may ask earlier)."""
        if self.kb_guard is not None:
            self.kb_guard.check(_text_of(raw))

    def cancel(self, item_id: int) -> bool:
        """True when it will not be sent; False when it is already on its way or sent."""
        return self._store.transition(item_id, ("queued", "held", "failed"), "cancelled")

    def retry(self, item_id: int, *, force: bool = False, at: float | None = None) -> bool:
        """Queue a held or failed item again (force: skip check-then-send)."""
        return self._store.transition(
            item_id,
            ("held", "failed"),
            "queued",
            send_at=time.time() if at is None else at,
            force=int(force),
            stage="",
            reason=None,
        )

    def schedule(self, item_id: int, at: float) -> bool:
        """Move a queued item's send time (an approved review leaves its parking slot)."""
        return self._store.transition(item_id, ("queued",), "queued", send_at=at)

    def by_message_id(self, message_id: str) -> OutboxItem | None:
        return self._store.by_message_id(message_id)

    def pending(self) -> list[OutboxItem]:
        """Everything not yet done or cancelled, soonest first."""
        return self._store.items(ACTIVE)

    def items(self) -> list[OutboxItem]:
        return self._store.items()

    def get(self, item_id: int) -> OutboxItem | None:
        return self._store.get(item_id)

    async def run(self, stop: asyncio.Event, interval: float = 1.0) -> None:
        """Deliver forever (the app's background worker) until stop is set."""
        while not stop.is_set():
            await self.deliver_due()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), interval)

    async def close(self) -> None:
        if self._smtp is not None:
            await self._smtp.close()
        if self._server is not None:
            await self._imap(lambda s: s.drop())
        self._executor.shutdown(wait=True)
        self._store.close()

    # -- delivery ---------------------------------------------------------------------------

    async def deliver_due(self, now: float | None = None) -> list[Delivery]:
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:
            results = []
            for item in self._store.due(time.time() if now is None else now):
                result = await self._deliver(item)
                if result is not None:
                    results.append(result)
            # Nothing due soon by the clock (a reply, not a notice run, whose `now` is its
            # schedule, late on a busy machine): no idle connection left open.
            if self._smtp is not None and not self._store.due(time.time() + KEEP_SMTP_SECONDS):
                await self._smtp.close()
            return results

    async def _deliver(self, item: OutboxItem) -> Delivery | None:
        owner = f"{socket.gethostname()}:{os.getpid()}"
        if item.state == "queued":
            meta = dict(item.meta, owner=owner)
            if not self._store.transition(item.id, ("queued",), "sending", stage="", meta=meta):
                return None  # cancelled or taken meanwhile
            item = self._store.get(item.id) or item
            return await self._attempt(item)
        if not self._abandoned(item, owner):
            return None
        try:
            in_sent = await self._imap(lambda s: s.in_sent(item.message_id))
        except (
            MailtriageError,
            ConfigError,
            imapclient.exceptions.IMAPClientError,
            OSError,
        ) as exc:
            return self._result(item, f"cannot check Sent yet: {exc}")
        if item.state == "submitted" or in_sent:
            if item.state == "sending":
                self._store.transition(item.id, ("sending",), "submitted")
            return await self._after_smtp(self._store.get(item.id) or item, in_sent=in_sent)
        if item.stage == "data":
            self._store.transition(
                item.id,
                ("sending",),
                "failed",
                reason="interrupted after the message was handed to the SMTP server; it may"
                " have been sent (it is not in Sent). Check, then `mailtriage outbox --retry"
                f" {item.id}` to send it again",
            )
            return self._result(self._store.get(item.id) or item, "may have been sent")
        # The crash came before DATA: the server cannot have it, so this is a plain retry.
        meta = dict(item.meta, owner=owner)
        self._store.transition(item.id, ("sending",), "sending", stage="", meta=meta)
        return await self._attempt(self._store.get(item.id) or item)

    def _abandoned(self, item: OutboxItem, owner: str) -> bool:
        """A mid-way item whose deliverer is gone (a crash), not one being worked on now."""
        previous = str(item.meta.get("owner") or "")
        host, _, pid = previous.rpartition(":")
        if previous == owner:
            return True  # this process's own leftover (an earlier run() iteration died)
        if host == socket.gethostname() and pid.isdigit():
            try:
                os.kill(int(pid), 0)
            except ProcessLookupError:
                return True
            except PermissionError:
                return False
            return False
        return time.time() - item.updated_at > self.lease_seconds

    async def _attempt(self, item: OutboxItem) -> Delivery:
        snap_data = item.meta.get("snapshot")
        if snap_data and not item.force:
            try:
                changes = await self._imap(lambda s: s.changes(Snapshot.from_json(snap_data)))
            except (
                MailtriageError,
                ConfigError,
                imapclient.exceptions.IMAPClientError,
                OSError,
            ) as exc:
                return self._transient(item, f"could not re-check the conversation: {exc}")
            if changes:
                self._store.transition(item.id, ("sending",), "held", reason="; ".join(changes))
                return self._result(
                    self._store.get(item.id) or item, "not sent: " + "; ".join(changes)
                )
        smtp = self.account.smtp
        if smtp is None:
            self._store.transition(
                item.id,
                ("sending",),
                "failed",
                reason=f"accounts.{self.account.name}.smtp is not configured",
            )
            return self._result(self._store.get(item.id) or item, "no SMTP server configured")

        async def stage(name: str) -> None:
            self._store.transition(item.id, ("sending",), "sending", stage=name)

        try:
            if self._smtp is None:
                self._smtp = SmtpSession(smtp, self._password("smtp"))
            answer = await self._smtp.send(item.mail_from, list(item.recipients), item.raw, stage)
        except SubmitError as exc:
            if not exc.certain:
                self._store.transition(
                    item.id,
                    ("sending",),
                    "failed",
                    attempts=item.attempts + 1,
                    reason=f"{exc}; the connection broke after the message was handed over,"
                    " so it may have been sent. Check, then `mailtriage outbox --retry"
                    f" {item.id}`",
                )
                return self._result(self._store.get(item.id) or item, "may have been sent")
            if exc.permanent:
                self._store.transition(
                    item.id, ("sending",), "failed", attempts=item.attempts + 1, reason=str(exc)
                )
                return self._result(self._store.get(item.id) or item, f"not sent: {exc}")
            return self._transient(item, str(exc))
        except (MailtriageError, ConfigError) as exc:  # the password command failed
            return self._transient(item, str(exc))
        _crash_point("smtp-accepted")
        self._store.transition(
            item.id,
            ("sending",),
            "submitted",
            attempts=item.attempts + 1,
            sent_at=time.time(),
            reason=None,
            meta=dict(item.meta, smtp_answer=answer),
        )
        _crash_point("submitted")
        return await self._after_smtp(self._store.get(item.id) or item, in_sent=None)

    async def _after_smtp(self, item: OutboxItem, *, in_sent: bool | None) -> Delivery:
        """Sent copy, \\Answered, status: each idempotent, so a repeat after a crash is safe."""
        notes: list[str] = []
        try:
            if in_sent is None:
                in_sent = await self._imap(lambda s: s.in_sent(item.message_id))
            auto = bool(item.meta.get("auto"))
            if not in_sent:
                # An automatic reply's Sent copy carries keywords that keep the conversation
                # Unhandled (triage.state treats an unmarked reply of ours as a first response).
                # meta "sent_flags": keywords chosen by the sender (a proactive notice or an
                # internal forward is filed Done, so only an answer puts it in the queue).
                flags = AUTO_SENT_FLAGS if auto else tuple(item.meta.get("sent_flags") or ())
                await self._imap(lambda s: s.append_sent(item.raw, flags))
            if not auto:
                # \\Answered would tell every other client that a human answered it.
                await self._imap(lambda s: s.mark_answered(item.meta.get("in_reply_to")))
        except (
            MailtriageError,
            ConfigError,
            imapclient.exceptions.IMAPClientError,
            OSError,
        ) as exc:
            # Sent: stays "submitted"; the next deliver_due finishes the IMAP steps.
            self._store.transition(
                item.id, ("submitted",), "submitted", reason=f"sent; saving to Sent: {exc}"
            )
            return self._result(self._store.get(item.id) or item, "sent; Sent copy pending")
        if item.conversation_key:
            notes += await self._tell_team(item, item.meta.get("status_after_send"))
        self._store.transition(
            item.id,
            ("submitted",),
            "done",
            reason="; ".join(n for n in notes if n) or None,
        )
        return self._result(self._store.get(item.id) or item, "sent")

    async def _tell_team(self, item: OutboxItem, status: str | None) -> list[str]:
        """Log "replied" on the server (for history and KPIs) and apply status-after-send.

        Best effort: the reply is out; a problem here becomes a note on the item, not a retry.
        """
        from mailtriage.imap.actions import AccountActions
        from mailtriage.store import CacheError

        key = item.conversation_key
        assert key is not None
        try:
            actions = AccountActions(self.account, self._password("imap"), self.agent)
        except (MailtriageError, ConfigError, CacheError) as exc:
            return [f"team not told: {exc}"]
        notes = []
        try:
            details: dict[str, object] = {
                "message_id": item.message_id,
                "subject": item.subject,
                "template": item.meta.get("template"),
            }
            if item.meta.get("auto"):
                # KPIs must not count it as a first response: they skip details["auto"].
                details["auto"] = "auto-replied"
            if item.meta.get("review"):
                details["review"] = item.meta["review"]
            logged = await actions.log_event(key, "replied", details)
            if not logged.ok or logged.warning:
                notes.append(f"reply not logged: {logged.warning or logged.message}")
            if status:
                result = await actions.set_status(key, status)
                if not result.ok:
                    notes.append(f"status not changed: {result.message}")
        except (MailtriageError, CacheError, OSError) as exc:
            notes.append(f"team not told: {exc}")
        finally:
            await actions.close()
        return notes

    def _transient(self, item: OutboxItem, why: str) -> Delivery:
        attempts = item.attempts + 1
        if attempts >= self.max_attempts:
            self._store.transition(
                item.id, ("sending",), "failed", attempts=attempts, reason=f"gave up: {why}"
            )
        else:
            first, cap = self.backoff
            delay = min(cap, first * 2 ** (attempts - 1))
            self._store.transition(
                item.id,
                ("sending",),
                "queued",
                attempts=attempts,
                send_at=time.time() + delay,
                stage="",
                reason=f"{why} (retry {attempts} in {delay:g} s)",
            )
        return self._result(self._store.get(item.id) or item, why)

    @staticmethod
    def _result(item: OutboxItem, message: str) -> Delivery:
        return Delivery(
            item.id, item.message_id, item.state, message, tuple(item.meta.get("warnings") or ())
        )

    # -- IMAP on one thread -----------------------------------------------------------------

    def _password(self, kind: str) -> str:
        if kind not in self._passwords:
            server = self.account.imap if kind == "imap" else self.account.smtp
            assert server is not None
            self._passwords[kind] = server.resolve_password()
        return self._passwords[kind]

    async def _imap(self, fn: Callable[[ServerSide], Any]) -> Any:
        def call() -> Any:
            if self._server is None:
                self._server = ServerSide(self.account, self._password("imap"))
            try:
                return fn(self._server)
            except (imapclient.exceptions.IMAPClientAbortError, OSError):
                # A connection that died while idle: one fresh attempt (every call is a read
                # or an idempotent write).
                self._server.drop()
                return fn(self._server)

        return await asyncio.get_running_loop().run_in_executor(self._executor, call)


def _crash_point(name: str) -> None:
    if os.environ.get(CRASH_ENV) == name:
        os.kill(os.getpid(), signal.SIGKILL)
