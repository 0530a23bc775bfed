"""Routing rules on arrival: after a sync brings customer mail, the rules act on it once.

Once per message, however many agents' apps (and `sync --watch`) run the pass: each new
customer message in INBOX is claimed on the server with the `mt:rules` keyword (plus
`mt:rules/by/AGENT`) by compare-and-swap (imap.decide_once); the agent whose claim stands
evaluates the rules for that message's conversation and applies them through the same CAS
actions as `rules --apply`, each logged as an event. Nobody looks at a marked message again.

Only mail that arrived recently counts (WINDOW, by its Date): switching rules on, or a
rebuilt cache, never re-routes the whole history (`rules --apply --since` does that on
request). Servers that refuse custom keywords (status folders) have no marker to claim, so
there the rules run on demand only.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from mailtriage.passes import CoalescedPasses
from mailtriage.rules.engine import Planned, apply, evaluate_new
from mailtriage.sla.csat import find_rating
from mailtriage.store.kpi import Arrived
from mailtriage.triage.state import KW_STATUS

if TYPE_CHECKING:
    from mailtriage.config import AccountConfig, Config
    from mailtriage.imap.actions import AccountActions, ActionResult

MARK = "mt:rules"
BY = "mt:rules/by/"
WINDOW = 86400.0


@dataclass(frozen=True)
class Arrival:
    claimed: int  # new customer messages this agent claimed
    skipped: int  # claimed by another agent (or already marked on the server)
    applied: tuple[tuple[Planned, ActionResult], ...]

    @property
    def summary(self) -> str:
        """One line for the status bar / watch output, empty when nothing happened."""
        if not self.applied:
            return ""
        done = [f"{p.id} {p.action} {p.value}" for p, r in self.applied if r.ok]
        failed = [f"{p.id} {p.action}: {r.message}" for p, r in self.applied if not r.ok]
        parts = [f"rules: {', '.join(done)}"] if done else []
        if failed:
            parts.append(f"rules failed: {'; '.join(failed)}")
        return " · ".join(parts)


class _Marker:
    """INBOX on its own connection, blocking (a worker thread)."""

    def __init__(self, account: AccountConfig):
        from mailtriage.imap.decide_once import open_inbox

        self.client, self.condstore = open_inbox(account)

    def claim(self, uid: int, agent: str) -> bool:
        from mailtriage.imap.decide_once import decide_once

        return decide_once(
            self.client,
            uid,
            agent,
            MARK,
            family=MARK,
            by_prefix=BY,
            condstore=self.condstore,
        )

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.client.logout()


def wanted(config: Config) -> bool:
    """Whether the pass has anything to do: routing rules, or CSAT ratings to record."""
    return bool(config.rules) or config.sla.csat.enabled


def _candidates(account: AccountConfig, since: float) -> list[Arrived] | None:
    """Unmarked new customer messages in INBOX; None: no keywords on this server."""
    from mailtriage.store import Store
    from mailtriage.store import kpi as q

    store = Store(account.cache_path, readonly=True)
    try:
        if store.status_folders() is not None:
            return None
        return q.unrouted_inbound(store.conn, since, MARK)
    finally:
        store.close()


def _plan(
    account: AccountConfig, keys: Sequence[str], config: Config, now: float
) -> tuple[list[Planned], set[str]]:
    """The rules' changes for keys, and which of them were Done before this mail came."""
    from mailtriage.store import Store
    from mailtriage.store import kpi as q

    store = Store(account.cache_path, readonly=True)
    try:
        done = {k for k in keys if f"{KW_STATUS}done" in q.anchor_flags(store.conn, k)}
        return evaluate_new(store.conn, keys, config, now=now) if config.rules else [], done
    finally:
        store.close()


async def route_new_mail(
    config: Config,
    account_name: str,
    actions: AccountActions | None = None,
    *,
    now: float | None = None,
    window: float = WINDOW,
) -> Arrival:
    """One pass over the cache after a sync; returns what this agent did."""
    if not wanted(config):
        return Arrival(0, 0, ())
    now = time.time() if now is None else now
    account = config.accounts[account_name]
    pending = await asyncio.to_thread(_candidates, account, now - window)
    if not pending:
        return Arrival(0, 0, ())
    csat = config.sla.csat
    found = [find_rating(csat, m.subject, m.text) if csat.enabled else None for m in pending]
    # Position of each conversation's newest new request (pending is oldest first): a rating
    # followed by a real request must not put the conversation back to Done.
    last_request = {
        m.key: i for i, (m, r) in enumerate(zip(pending, found, strict=True)) if r is None
    }
    marker = await asyncio.to_thread(_Marker, account)
    requests: list[str] = []  # conversations with a new request of ours to route
    ratings: list[tuple[Arrived, int, bool]] = []  # (message, rating, put back to Done?)
    claimed = skipped = 0
    try:
        for i, (message, rating) in enumerate(zip(pending, found, strict=True)):
            if not await asyncio.to_thread(marker.claim, message.uid, config.agent):
                skipped += 1
                continue
            claimed += 1
            if rating is not None:
                # An answer to our survey, not a request.
                ratings.append((message, rating, last_request.get(message.key, -1) < i))
            elif message.key not in requests:
                requests.append(message.key)
    finally:
        await asyncio.to_thread(marker.close)
    if not requests and not ratings:
        return Arrival(claimed, skipped, ())
    keys = [*requests, *(m.key for m, _, _ in ratings)]
    planned, was_done = await asyncio.to_thread(_plan, account, keys, config, now)
    planned = [p for p in planned if p.key in requests]
    own = actions is None
    if actions is None:
        from mailtriage.imap.actions import AccountActions

        actions = AccountActions(
            account, account.imap.resolve_password(), config.agent, config.members
        )
    try:
        done = await apply(actions, planned)
        for message, rating, last in ratings:
            details = {"rating": rating, "message_id": message.message_id}
            result = await actions.log_event(message.key, "rated", details)
            done.append((Planned(message.key, "csat", "rated", str(rating), "rating"), result))
            if last and message.key in was_done:
                # The rating reopened a resolved conversation: it stays resolved.
                result = await actions.set_status(message.key, "done")
                done.append((Planned(message.key, "csat", "status", "done", "rating"), result))
    finally:
        if own:
            await actions.close()
    return Arrival(claimed, skipped, tuple(done))


class ArrivalRunner:
    """One pass at a time per account; a poke during a pass asks for one more (the TUI and
    `sync --watch` poke it after each sync that brought changes). Call poke() on the event
    loop that runs the passes."""

    def __init__(
        self,
        config: Config,
        account: str,
        report: Callable[[str], None],
        actions: Callable[[], Awaitable[AccountActions]] | None = None,
    ):
        self.config = config
        self.account = account
        self.report = report  # gets each non-empty Arrival.summary, or an error line
        self.actions = actions  # the app's shared AccountActions; None: one per pass
        self._passes = CoalescedPasses(self._once, lambda exc: self.report(f"rules: {exc}"))

    def poke(self) -> None:
        self._passes.poke()

    async def _once(self) -> None:
        actions = await self.actions() if self.actions is not None else None
        result = await route_new_mail(self.config, self.account, actions)
        if result.summary:
            self.report(result.summary)

    async def wait(self) -> None:
        """Until the running pass (and any asked-for repeat) has finished."""
        await self._passes.wait()
