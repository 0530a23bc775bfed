"""Triage actions on the server: claim, assign, status, priority, tags, seen.

Status and assignee are a compare-and-swap on one anchor message per conversation
(`triage.claims.choose_anchor`): `UID STORE anchor (UNCHANGEDSINCE m) FLAGS (…)`, then the
other messages follow (not atomic, and they need not be: the anchor is authoritative).

Dovecot 2.3 skips its conflict check when UNCHANGEDSINCE equals the highest modseq of the
session's view (`mail_index_transaction_check_conflicts`), which is the case on a fresh mailbox
and whenever the anchor was the last message changed; two racing stores can then both succeed,
and because Dovecot turns a FLAGS replacement into a diff, both keywords stay on the anchor.
So every won store is verified: NOOP (to see other sessions' commits), re-read the anchor,
and if several agents' keywords are there, the smallest name wins and the others withdraw.
Without CONDSTORE the same verification is the whole protocol, after a short settle delay.

One IMAP connection, owned by one thread (imapclient is blocking and not thread-safe); the
sync engine keeps its own. After each action the cache is updated from what the server
reports, so the UI and CLI show the change before the next sync.

Every change that took effect is then logged as an event in the app folder (imap.appfolder).
Logging is best effort after the compare-and-swap: a failed APPEND never undoes the action; the
event waits in memory, is retried before the next action (and at close), and the result says
so in `warning`. Notes and presence go to the same folder.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import json
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import Any

import imapclient

from mailtriage.config import AccountConfig, check_agent_name
from mailtriage.errors import MailtriageError, NetworkError
from mailtriage.imap.appfolder import (
    append_item,
    delete_items,
    event_message,
    parse_mentions,
    presence_message,
    sync_app_folder,
)
from mailtriage.imap.condstore import (
    FlagsAndModseq,
    keywords_allowed,
    read_flags,
    uid_move,
    uid_store_unchanged_since,
)
from mailtriage.imap.connection import connect
from mailtriage.store import Store
from mailtriage.store import events as ev
from mailtriage.triage import folders as tf
from mailtriage.triage.claims import (
    Plan,
    TriageView,
    assignees_of,
    choose_anchor,
    plan_assign,
    plan_claim,
    plan_status,
    priority_change,
    stale_triage_keywords,
    statuses_of,
    tag_keyword,
    with_triage,
)
from mailtriage.triage.history import event_line
from mailtriage.triage.state import KW_ASSIGNEE, KW_STATUS, SEEN
from mailtriage.triage.threads import short_id

MAX_ATTEMPTS = 3


@dataclass(frozen=True)
class ActionResult:
    ok: bool
    message: str  # one human line: "K3F9Q2AB: claimed", "K3F9Q2AB: bob has this (in-progress)"
    conflict_with: str | None = None  # the agent who won, when a compare-and-swap lost
    # None when ok; "conflict" (someone else changed it first), "not-found" (not in the cache),
    # "stale-cache" (UIDVALIDITY changed: sync first) or "refused" (the server said NO).
    reason: str | None = None
    # The action stands but its event is not on the server yet (retried with the next one).
    warning: str | None = None


@dataclass(frozen=True)
class _Message:
    mailbox: str
    uidvalidity: int
    uid: int
    ts: float
    inbound: bool
    flags: tuple[str, ...]


class _StaleCache(Exception):
    pass


class AccountActions:
    # Lets a concurrent store that started before ours commit before we look (see module doc).
    cas_settle_seconds = 0.01
    fallback_settle_seconds = 0.2
    winner_wait_seconds = 3.0  # status folders: how long a loser waits to learn the winner
    # While announcing, others' presence and notes are fetched this often (a STATUS when
    # nothing changed), and our own presence is re-appended every PRESENCE_REFRESH.
    presence_poll_seconds = 5.0

    def __init__(
        self, account: AccountConfig, password: str, agent: str, members: Sequence[str] = ()
    ):
        self.account = account
        self.agent = check_agent_name(agent)
        self.members = tuple(members)  # for @mentions; empty: any @name counts
        self._unlogged: list[bytes] = []  # events whose APPEND failed, oldest first
        self._presence: tuple[str, str] | None = None  # (conversation, activity)
        self._presence_since = 0.0
        self._presence_uid: int | None = None
        self._heartbeat: asyncio.Task[None] | None = None
        self._password = password
        self._executor = ThreadPoolExecutor(1, thread_name_prefix=f"imap-actions-{account.name}")
        self._client: imapclient.IMAPClient | None = None
        self._store: Store | None = None
        self._selected: str | None = None
        self._uidvalidity: int | None = None
        self._retrying = False  # the second try of an action whose connection died
        self.condstore = False
        # {status: folder} when the server refuses custom keywords (triage.folders), else None.
        self.status_folders: dict[str, str] | None = None
        # Test seam: runs after the anchor is read and before the store, on the IMAP thread.
        self.before_store: Callable[[], None] | None = None

    # -- the async API -------------------------------------------------------------------

    async def claim(self, key: str) -> ActionResult:
        decide = lambda view: plan_claim(view, self.agent)  # noqa: E731
        return await self._call(self._triage, key, decide, "claimed")

    async def assign(self, key: str, agent: str | None) -> ActionResult:
        if agent is not None:
            check_agent_name(agent)
        decide = lambda view: plan_assign(view, agent)  # noqa: E731
        return await self._call(self._triage, key, decide, "assigned")

    async def set_status(self, key: str, status: str) -> ActionResult:
        plan_status(TriageView(None, None), status)  # validate before touching the network
        decide = lambda view: plan_status(view, status)  # noqa: E731
        return await self._call(self._triage, key, decide, "status")

    async def set_priority(self, key: str, priority: str) -> ActionResult:
        add, remove = priority_change(priority)
        event = ("priority", {"priority": priority})
        return await self._call(
            self._keywords, key, add, remove, f"priority {priority}", False, event
        )

    async def set_tags(
        self, key: str, add: Iterable[str] = (), remove: Iterable[str] = ()
    ) -> ActionResult:
        add, remove = list(add), list(remove)
        add_kw = [tag_keyword(t) for t in add]
        remove_kw = [tag_keyword(t) for t in remove]
        what = "tags " + " ".join([*(f"+{t}" for t in add), *(f"-{t}" for t in remove)])
        event = ("tagged", {"add": add, "remove": remove})
        return await self._call(self._keywords, key, add_kw, remove_kw, what.strip(), False, event)

    async def set_seen(self, key: str, seen: bool) -> ActionResult:
        add, remove = ([SEEN], []) if seen else ([], [SEEN])
        what = "marked read" if seen else "marked unread"
        return await self._call(self._keywords, key, add, remove, what, not seen, None)

    async def add_note(self, key: str, text: str) -> ActionResult:
        """An internal note on the conversation, in the app folder (never sent to anyone).

        `@name` mentions (team members, when the team is configured) are parsed and stored.
        """
        text = text.strip()
        if not text:
            raise ValueError("a note needs some text")
        return await self._call(self._note, key, text, parse_mentions(text, self.members))

    async def log_event(
        self, key: str, kind: str, details: dict[str, object] | None = None, text: str = ""
    ) -> ActionResult:
        """Log an event other parts make happen (replied, reviewed, reopened)."""
        if kind not in ev.EVENT_KINDS:
            raise ValueError(f"event kind must be one of {', '.join(ev.EVENT_KINDS)}")
        return await self._call(self._log_only, key, kind, details or {}, text)

    async def announce(self, key: str, activity: str = "viewing") -> None:
        """Tell the team we are viewing/replying to a conversation, until clear() or close().

        Re-announced every PRESENCE_REFRESH seconds while this object lives; when the process
        dies, others stop showing it PRESENCE_TTL seconds after the last refresh.
        """
        if activity not in ev.ACTIVITIES:
            raise ValueError(f"activity must be one of {', '.join(ev.ACTIVITIES)}")
        if self._presence != (key, activity):
            self._presence_since = time.time()
        self._presence = (key, activity)
        await self._call(self._announce)
        if self._heartbeat is None or self._heartbeat.done():
            # In a context of its own: a task keeps the context it is made in, and the app's
            # was the reader screen's (Textual's active_message_pump), so every reader ever
            # opened stayed in memory and each full garbage collection walked them all.
            self._heartbeat = asyncio.create_task(self._beat(), context=contextvars.Context())

    async def clear(self) -> None:
        """We left the conversation: others stop showing us at their next app-folder sync."""
        await self._stop_heartbeat()
        if self._presence is not None:
            self._presence = None
            await self._call(self._announce)

    async def sync_team(self) -> ActionResult:
        """Fetch new events, notes and presence into the cache now (cheap when none)."""
        return await self._call(self._sync_team)

    @property
    def unlogged_events(self) -> int:
        """Events of actions that took effect but are not on the server yet."""
        return len(self._unlogged)

    async def close(self) -> None:
        await self._stop_heartbeat()
        if self._presence is not None:
            self._presence = None
            with contextlib.suppress(MailtriageError):
                await self._call(self._announce)
        await asyncio.get_running_loop().run_in_executor(self._executor, self._close)
        self._executor.shutdown(wait=True)

    async def _beat(self) -> None:
        last = time.monotonic()
        while True:
            await asyncio.sleep(self.presence_poll_seconds)
            try:
                if time.monotonic() - last >= ev.PRESENCE_REFRESH:
                    await self._call(self._announce)
                    last = time.monotonic()
                else:
                    await self._call(self._sync_team)
            except MailtriageError:
                continue  # offline: the next beat tries again; presence just expires meanwhile

    async def _stop_heartbeat(self) -> None:
        if self._heartbeat is not None:
            self._heartbeat.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._heartbeat
            self._heartbeat = None

    async def _call(self, fn: Callable[..., ActionResult], *args: Any) -> ActionResult:
        return await asyncio.get_running_loop().run_in_executor(
            self._executor, self._with_connection, fn, *args
        )

    # -- connection and cache (IMAP thread only) -----------------------------------------

    def _with_connection(self, fn: Callable[..., ActionResult], *args: Any) -> ActionResult:
        if self._store is None:
            # Never create a cache here: without one there is no conversation to act on.
            self._store = Store(self.account.cache_path, readonly=True)
        for attempt in (1, 2):
            self._retrying = attempt == 2
            try:
                self._connect()
                self._flush_unlogged()
                return fn(*args)
            except _StaleCache as exc:
                return ActionResult(False, str(exc), reason="stale-cache")
            except (imapclient.exceptions.IMAPClientAbortError, OSError):
                # An idle connection dies quietly (server autologout, NAT); every action is
                # idempotent (it re-reads before writing), so one fresh attempt is safe.
                self._drop_client()
                if attempt == 2:
                    server = self.account.imap
                    raise NetworkError(
                        f"IMAP {server.host}:{server.port}: connection lost during the action;"
                        " nothing is half-done that the next action would not finish"
                    ) from None
            except imapclient.exceptions.IMAPClientError as exc:
                self._drop_client()
                return ActionResult(False, f"the server refused: {exc}", reason="refused")
        raise AssertionError("unreachable")

    def _connect(self) -> None:
        if self._client is not None:
            return
        client = connect(self.account.imap, self._password)
        self.condstore = client.has_capability("CONDSTORE")
        if self.condstore and client.has_capability("ENABLE"):
            client.enable("CONDSTORE")
        allowed = keywords_allowed(client, self.account.app_folder)
        self.status_folders = None if allowed else dict(self.account.status_folders)
        self._client, self._selected = client, None

    def _select(self, mailbox: str, uidvalidity: int) -> imapclient.IMAPClient:
        client = self._client
        assert client is not None
        if self._selected != mailbox:
            info = client.select_folder(mailbox)
            self._selected, self._uidvalidity = mailbox, int(info[b"UIDVALIDITY"])
        if self._uidvalidity != uidvalidity:
            raise _StaleCache(
                f"{mailbox} was rebuilt on the server since the last sync: run `mailtriage sync`"
            )
        return client

    def _select_if_there(self, mailbox: str, uidvalidity: int) -> imapclient.IMAPClient | None:
        """_select for the messages beside the anchor: None when their folder was rebuilt,
        deleted or renamed by another client since our last sync. The anchor's change stands
        and the next sync brings that folder's cache in line."""
        try:
            return self._select(mailbox, uidvalidity)
        except _StaleCache:
            return None
        except imapclient.exceptions.IMAPClientAbortError:
            raise
        except imapclient.exceptions.IMAPClientError:
            self._selected = None  # a failed SELECT leaves none selected (RFC 3501 6.3.1)
            return None

    def _drop_client(self) -> None:
        if self._client is not None:
            with contextlib.suppress(OSError):
                self._client.shutdown()
        self._client, self._selected = None, None

    def _close(self) -> None:
        if self._unlogged:
            with contextlib.suppress(
                MailtriageError, OSError, imapclient.exceptions.IMAPClientError
            ):
                self._connect()
                self._flush_unlogged()
        if self._client is not None:
            with contextlib.suppress(OSError, imapclient.exceptions.IMAPClientError):
                self._client.logout()
            self._drop_client()
        if self._store is not None:
            self._store.close()
            self._store = None

    def _messages(self, key: str) -> list[_Message]:
        assert self._store is not None
        return [
            _Message(
                r["mailbox"],
                r["uidvalidity"],
                r["uid"],
                r["ts"],
                bool(r["inbound"]),
                tuple(_json_list(r["flags"])),
            )
            for r in self._store.conversation_messages(key)
        ]

    def _read(self, message: _Message, *, fresh: bool) -> FlagsAndModseq:
        client = self._select(message.mailbox, message.uidvalidity)
        if fresh:
            # FETCH answers from this session's view; NOOP brings in other sessions' commits.
            client.noop()
        found = read_flags(client, [message.uid], modseq=self.condstore).get(message.uid)
        if found is None:
            raise _StaleCache(
                f"message {message.uid} in {message.mailbox} is gone: run `mailtriage sync`"
            )
        return found

    def _refresh_cache(self, messages: list[_Message]) -> None:
        """Write what the server now says into the cache (flags and the derived row)."""
        assert self._store is not None
        by_mailbox: dict[tuple[str, int], list[int]] = {}
        for m in messages:
            by_mailbox.setdefault((m.mailbox, m.uidvalidity), []).append(m.uid)
        for (mailbox, uidvalidity), uids in by_mailbox.items():
            client = self._select_if_there(mailbox, uidvalidity)
            if client is None:
                continue
            changes = read_flags(client, uids, modseq=self.condstore)
            with self._store.atomic():
                self._store.update_flags(mailbox, uidvalidity, changes)

    # -- status and assignee: compare-and-swap on the anchor -----------------------------

    def _triage(self, key: str, decide: Callable[[TriageView], Plan], kind: str) -> ActionResult:
        if self.status_folders is not None:
            result = self._triage_by_folder(key, decide, kind, self.status_folders)
        else:
            result = self._triage_once(key, decide, kind)
        if result.conflict_with is not None:
            return self._with_when(key, result)
        return result

    def _triage_once(
        self, key: str, decide: Callable[[TriageView], Plan], kind: str
    ) -> ActionResult:
        sid = short_id(key)
        messages = self._messages(key)
        if not messages:
            return ActionResult(False, f"{sid}: not in the cache", reason="not-found")
        anchor = choose_anchor(messages)
        cached = TriageView.of(anchor.flags)
        # What the user sees can differ from the anchor: a customer's newer message reopens
        # a Done conversation while the anchor still says done. Marking it done again is then
        # a no-op on the anchor but a real change, and KPIs need its event.
        shown = self._store.conversation_status(key) if self._store is not None else None
        flags, modseq = self._read(anchor, fresh=True)
        seen = TriageView.of(flags)
        intended = decide(cached)
        if (
            self._retrying
            and seen != cached
            and seen == TriageView(intended.status, intended.assignee)
        ):
            # Our first attempt's store reached the server but the connection died before
            # its answer came back: finish our own change instead of reporting a conflict
            # with ourselves (tests/faults: cut right after the claim store).
            seen, plan = cached, intended
            self._propagate(messages, anchor, plan)
            self._refresh_cache(messages)
            warning = self._record(key, kind, self._details(kind, seen, plan))
            return ActionResult(True, f"{sid}: {plan.done_message}", warning=warning)
        if seen != cached:
            # Someone changed it after our last sync: what the user decided on is out of date.
            self._refresh_cache(messages)
            return _conflict(sid, seen, "changed it since your last sync")
        for _ in range(MAX_ATTEMPTS):
            plan = decide(seen)
            if plan.refusal:
                return ActionResult(
                    False, f"{sid}: {plan.refusal}", plan.conflict_with, reason="conflict"
                )
            if not plan.noop:
                if self.before_store is not None:
                    self.before_store()
                if not self._store_anchor(anchor, flags, modseq, plan):
                    flags, modseq = self._read(anchor, fresh=True)
                    now = TriageView.of(flags)
                    if now != seen:
                        self._refresh_cache(messages)
                        return _conflict(sid, now, "got there first")
                    continue  # only flags outside triage moved (\Seen, tags): try again
                lost = self._verify(sid, anchor, plan)
                if lost is not None:
                    self._refresh_cache(messages)
                    return lost
            self._propagate(messages, anchor, plan)
            self._refresh_cache(messages)
            warning = None
            if not plan.noop or (shown is not None and shown != plan.status):
                details: dict[str, object] = {"status": plan.status, "assignee": plan.assignee}
                if kind == "status":
                    details["from"] = (shown if plan.noop else seen.status) or "unhandled"
                warning = self._record(key, kind, details)
            return ActionResult(True, f"{sid}: {plan.done_message}", warning=warning)
        self._refresh_cache(messages)
        return ActionResult(
            False, f"{sid}: kept changing on the server; try again", reason="conflict"
        )

    @staticmethod
    def _details(kind: str, seen: TriageView, plan: Plan) -> dict[str, object]:
        details: dict[str, object] = {"status": plan.status, "assignee": plan.assignee}
        if kind == "status":
            details["from"] = seen.status or "unhandled"
        return details

    def _store_anchor(
        self, anchor: _Message, flags: list[str], modseq: int | None, plan: Plan
    ) -> bool:
        """One atomic write on the anchor; False when the server refused it as stale."""
        client = self._select(anchor.mailbox, anchor.uidvalidity)
        if self.condstore and modseq is not None:
            new = with_triage(flags, plan.status, plan.assignee)
            result = uid_store_unchanged_since(client, [anchor.uid], modseq, new, "FLAGS")
            return result.applied(anchor.uid)
        # No CONDSTORE: best effort (README). Add ours first, then drop only what we saw, so a
        # concurrent writer's keyword stays visible to the verification that follows.
        wanted = [f"{KW_STATUS}{plan.status}"]
        if plan.assignee:
            wanted.append(f"{KW_ASSIGNEE}{plan.assignee}")
        client.add_flags([anchor.uid], wanted, silent=True)
        stale = stale_triage_keywords(flags, plan.status, plan.assignee)
        if stale:
            client.remove_flags([anchor.uid], stale, silent=True)
        return True

    def _verify(self, sid: str, anchor: _Message, plan: Plan) -> ActionResult | None:
        """Re-read a won store; None if it stands, else the lost result (after withdrawing)."""
        time.sleep(self.cas_settle_seconds if self.condstore else self.fallback_settle_seconds)
        flags, _ = self._read(anchor, fresh=True)
        names, statuses = assignees_of(flags), statuses_of(flags)
        if len(names) <= 1 and len(statuses) <= 1:
            view = TriageView.of(flags)
            if view == TriageView(plan.status, plan.assignee):
                return None
            return _conflict(sid, view, "changed it first")
        # A double win: every reader resolves it the same way (TriageView.of), and the losers
        # remove their own keywords so the anchor converges to the winner's state.
        view = TriageView.of(flags)
        if view.assignee == plan.assignee and view.status == plan.status:
            return None
        mine = []
        if plan.assignee and plan.assignee != view.assignee:
            mine.append(f"{KW_ASSIGNEE}{plan.assignee}")
        if plan.status != view.status:
            mine.append(f"{KW_STATUS}{plan.status}")
        if mine:
            client = self._select(anchor.mailbox, anchor.uidvalidity)
            client.remove_flags([anchor.uid], mine, silent=True)
        return _conflict(sid, view, "got there first")

    def _propagate(self, messages: list[_Message], anchor: _Message, plan: Plan) -> None:
        """Make the other messages carry the anchor's state (for other mail clients and for
        the reopen rule, which looks at the newest marked message)."""
        others = [m for m in messages if m is not anchor]
        for (mailbox, uidvalidity), group in _by_mailbox(others).items():
            client = self._select_if_there(mailbox, uidvalidity)
            if client is None:
                continue
            uids = [m.uid for m in group]
            current = read_flags(client, uids, modseq=False)
            wanted = [f"{KW_STATUS}{plan.status}"]
            if plan.assignee:
                wanted.append(f"{KW_ASSIGNEE}{plan.assignee}")
            # Add before removing: a message is never left without a status in between.
            client.add_flags(uids, wanted, silent=True)
            stale = sorted(
                {
                    kw
                    for flags, _ in current.values()
                    for kw in stale_triage_keywords(flags, plan.status, plan.assignee)
                }
            )
            if stale:
                client.remove_flags(uids, stale, silent=True)

    # -- status folders: servers that refuse custom keywords (triage.folders) ------------

    def _triage_by_folder(
        self,
        key: str,
        decide: Callable[[TriageView], Plan],
        kind: str,
        folders: dict[str, str],
    ) -> ActionResult:
        """Best effort without a keyword CAS: the move of the deciding message is the lock.

        Whoever's UID MOVE really moves that UID (COPYUID names it) wins; the others find it
        gone (Dovecot answers OK and moves nothing) and lost. Should two sessions both copy
        it (a MOVE is copy + expunge), the copy with the smaller UID in the target wins and
        the other mover removes its copy. Assignee, priority and tags are events, logged only
        by the winner after that check, so a third agent derives the winner.
        """
        sid = short_id(key)
        messages = self._messages(key)
        if not messages:
            return ActionResult(False, f"{sid}: not in the cache", reason="not-found")
        self._sync_app()
        seen = self._folder_view(key)
        plan = decide(seen)
        if plan.refusal:
            return ActionResult(
                False, f"{sid}: {plan.refusal}", plan.conflict_with, reason="conflict"
            )
        if plan.noop:
            return ActionResult(True, f"{sid}: {plan.done_message}")
        located = [tf.Located(m.mailbox, m.inbound, m.ts, m.uid) for m in messages]
        decider = tf.deciding_message(folders, located)
        if decider is None:
            return ActionResult(
                False, f"{sid}: no message of it is in a status folder", reason="refused"
            )
        anchor = next(m for m in messages if (m.mailbox, m.uid) == (decider.mailbox, decider.uid))
        target = folders[plan.status]
        client = self._select(anchor.mailbox, anchor.uidvalidity)
        if self.before_store is not None:
            self.before_store()
        started = time.time()
        moved = uid_move(client, [anchor.uid], target)
        self._selected = None if anchor.mailbox == target else self._selected
        won = anchor.uid in moved and self._kept_copy(target, moved[anchor.uid])
        if won:
            self._move_rest(messages, anchor, folders, target)
        self._resync_folders(folders)
        if not won:
            self._await_winner(key, started)
            return _conflict(sid, self._folder_view(key), "got there first")
        details: dict[str, object] = {"status": plan.status, "assignee": plan.assignee}
        if kind == "status":
            details["from"] = seen.status or "unhandled"
        warning = self._record(key, kind, details)
        return ActionResult(True, f"{sid}: {plan.done_message}", warning=warning)

    def _await_winner(self, key: str, since: float) -> None:
        """The winner logs its event after its own checks: wait a little for it, so the
        loser can say who won (winner_wait_seconds at most; clocks may differ by a second)."""
        assert self._store is not None
        deadline = time.monotonic() + self.winner_wait_seconds
        while True:
            self._sync_app()
            found = ev.last_event(self._store.conn, key, ("claimed", "assigned", "status"))
            if (found is not None and found["time"] >= since - 1.0) or (
                time.monotonic() >= deadline
            ):
                return
            time.sleep(0.05)

    def _folder_view(self, key: str) -> TriageView:
        assert self._store is not None
        row = self._store.get_conversation(key)
        if row is None:
            return TriageView(None, None)
        return TriageView(row["status"], row["assignee"])

    def _kept_copy(self, folder: str, uid: int) -> bool:
        """After our move: if another mover's copy of the same message is there too, the
        smaller UID stays and the other copy is removed by its mover."""
        time.sleep(self.fallback_settle_seconds)
        client = self._client
        assert client is not None
        info = client.select_folder(folder)
        self._selected, self._uidvalidity = folder, int(info[b"UIDVALIDITY"])
        client.noop()
        header = client.fetch([uid], ["BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)]"]).get(uid, {})
        raw = next((v for k, v in header.items() if k.startswith(b"BODY[")), b"")
        mid = raw.decode("ascii", "replace").partition(":")[2].strip() if raw else ""
        if not mid:
            return True
        twins = sorted(client.search(["HEADER", "Message-ID", mid]))
        if not twins or twins[0] == uid:
            return True
        client.add_flags([uid], [b"\\Deleted"], silent=True)
        client.uid_expunge([uid])
        return False

    def _move_rest(
        self, messages: list[_Message], anchor: _Message, folders: dict[str, str], target: str
    ) -> None:
        filed = set(folders.values())
        others = [m for m in messages if m is not anchor and m.mailbox in filed]
        for (mailbox, uidvalidity), group in _by_mailbox(others).items():
            if mailbox == target:
                continue
            client = self._select(mailbox, uidvalidity)
            uid_move(client, [m.uid for m in group], target)

    def _resync_folders(self, folders: dict[str, str]) -> None:
        """Where the messages are now, into the cache (the status follows from it)."""
        from mailtriage.imap.sync import Capabilities, FolderSync

        assert self._store is not None and self._client is not None
        caps = Capabilities(condstore=self.condstore, qresync=False)
        try:
            for name in dict.fromkeys(["INBOX", *folders.values()]):
                FolderSync(self._client, self._store, self.account, name, "inbox", caps=caps).run()
        finally:
            self._selected = None
        self._store.apply_folder_state()

    # -- priority, tags, seen: plain stores on every message -----------------------------

    def _keywords(
        self,
        key: str,
        add: list[str],
        remove: list[str],
        what: str,
        inbound_only: bool,
        event: tuple[str, dict[str, object]] | None,
    ) -> ActionResult:
        sid = short_id(key)
        messages = self._messages(key)
        if not messages:
            return ActionResult(False, f"{sid}: not in the cache", reason="not-found")
        if self.status_folders is not None and event is not None:
            # Keywords would be dropped: priority and tags are the events alone.
            warning = self._record(key, *event)
            return ActionResult(True, f"{sid}: {what}", warning=warning)
        # No compare-and-swap: two agents adding tags both mean it, and last-writer-wins on
        # priority is what a human expects from a toggle.
        targets = [m for m in messages if m.inbound] if inbound_only else messages
        for (mailbox, uidvalidity), group in _by_mailbox(targets).items():
            client = self._select(mailbox, uidvalidity)
            uids = [m.uid for m in group]
            if add:
                client.add_flags(uids, add, silent=True)
            if remove:
                client.remove_flags(uids, remove, silent=True)
        self._refresh_cache(messages)
        warning = self._record(key, *event) if event is not None else None
        return ActionResult(True, f"{sid}: {what}", warning=warning)

    # -- the app folder: events, notes, presence -----------------------------------------

    def _record(
        self, key: str, kind: str, details: dict[str, object], text: str = ""
    ) -> str | None:
        """Log an event after its action took effect; a warning if it could not be yet."""
        raw = event_message(
            self.account.address, self.agent, key, kind, time.time(), details=details, text=text
        )
        self._unlogged.append(raw)
        warning = self._flush_unlogged()
        self._sync_app()
        return warning

    def _flush_unlogged(self) -> str | None:
        while self._unlogged:
            try:
                append_item(self._imap(), self.account.app_folder, self._unlogged[0])
            except (imapclient.exceptions.IMAPClientError, OSError) as exc:
                if isinstance(exc, imapclient.exceptions.IMAPClientAbortError | OSError):
                    self._drop_client()
                return (
                    f"{len(self._unlogged)} event(s) not logged in {self.account.app_folder}"
                    f" yet ({exc}); retried with the next action"
                )
            # A retry after a lost APPEND answer may log twice: the cache keys events by
            # Message-ID, so readers see one.
            self._unlogged.pop(0)
        return None

    def _imap(self) -> imapclient.IMAPClient:
        if self._client is None:
            self._connect()
        assert self._client is not None
        return self._client

    def _sync_app(self) -> None:
        """Best effort: the next sync fetches whatever this misses."""
        assert self._store is not None
        try:
            sync_app_folder(self._imap(), self._store, self.account.app_folder)
        except (imapclient.exceptions.IMAPClientError, OSError, MailtriageError):
            self._drop_client()
        finally:
            self._selected = None  # it may have EXAMINEd the app folder
        self._store.apply_folder_state()  # status folders only (a no-op with keywords)

    def _sync_team(self) -> ActionResult:
        self._sync_app()
        return ActionResult(True, "team state synced")

    def _with_when(self, key: str, result: ActionResult) -> ActionResult:
        """ "… (bob claimed this 4 s ago)": when the winner's change happened, from its event."""
        self._sync_app()
        assert self._store is not None
        found = ev.last_event(self._store.conn, key, ("claimed", "assigned", "status"))
        if found is None:
            return result
        return replace(result, message=f"{result.message} ({event_line(found)})")

    def _note(self, key: str, text: str, mentions: list[str]) -> ActionResult:
        sid = short_id(key)
        if not self._messages(key):
            return ActionResult(False, f"{sid}: not in the cache", reason="not-found")
        raw = event_message(
            self.account.address,
            self.agent,
            key,
            "noted",
            time.time(),
            details={"mentions": mentions},
            text=text,
            mentions=mentions,
        )
        # The note is the action itself: no queue, a failure is the result.
        append_item(self._imap(), self.account.app_folder, raw)
        self._sync_app()
        named = f" (mentions {', '.join('@' + m for m in mentions)})" if mentions else ""
        return ActionResult(True, f"{sid}: note added{named}")

    def _log_only(self, key: str, kind: str, details: dict[str, object], text: str) -> ActionResult:
        warning = self._record(key, kind, details, text)
        return ActionResult(True, f"{short_id(key)}: {kind} logged", warning=warning)

    def _announce(self) -> ActionResult:
        key, activity = self._presence or ("", "")
        now = time.time()
        raw = presence_message(
            self.account.address, self.agent, key, activity, self._presence_since or now, now
        )
        folder = self.account.app_folder
        uid = append_item(self._imap(), folder, raw)
        self._sync_app()
        assert self._store is not None
        state = ev.folder_state(self._store.conn, folder)
        if uid is not None and state is not None:
            # Superseded presence goes, so the folder stays a few messages per agent; so do
            # long-expired ones that a dead process left behind.
            stale = ev.stale_presence_uids(
                self._store.conn, state[0], self.agent, uid, now - 10 * ev.PRESENCE_TTL
            )
            try:
                if delete_items(self._imap(), folder, stale):
                    with self._store.atomic():
                        ev.forget_presence(self._store.conn, state[0], stale)
            except imapclient.exceptions.IMAPClientError:
                pass  # someone else deleted them first; harmless
            finally:
                self._selected = None
        return ActionResult(True, f"{self.agent} {activity or 'left'}")


def _conflict(sid: str, view: TriageView, what: str) -> ActionResult:
    who = view.assignee or "someone"
    return ActionResult(
        False, f"{sid}: {who} {what}: now {view.describe()}", view.assignee, reason="conflict"
    )


def _by_mailbox(messages: list[_Message]) -> dict[tuple[str, int], list[_Message]]:
    grouped: dict[tuple[str, int], list[_Message]] = {}
    for m in messages:
        grouped.setdefault((m.mailbox, m.uidvalidity), []).append(m)
    return grouped


def _json_list(text: str) -> list[str]:
    value = json.loads(text)
    return [str(v) for v in value] if isinstance(value, list) else []
