"""The long-running sync loop behind `mailtriage sync --watch` and the TUI (blocking).

sync, then fetch missing bodies newest first in slices of PREFETCH_SLICE, a sync pass (on the
kept INBOX a NOOP) before each: "listed" is said once a pass has committed headers, flags and
expunges (the app shows them at once), "changed" after that pass's bodies (the app's rules on
arrival need them). Then IDLE on INBOX until the server reports new mail or an expunge, the
IDLE refresh comes due, or the poll interval passes (each wake re-syncs Sent too); flag and
keyword changes reported during IDLE are applied to the cache in place (AccountSession.idle),
and INBOX stays selected across wakes, so new mail and expunges are synced in place too
(AccountSession._catch_up). Without IDLE, sleep poll_interval.
Trouble of any kind becomes a one-line event and a retry with exponential backoff: the loop
ends only when `stop` is set.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable
from dataclasses import dataclass

import imapclient

from mailtriage.config import AccountConfig
from mailtriage.errors import AuthError, MailtriageError
from mailtriage.imap.leader import SyncLeader
from mailtriage.imap.session import AccountSession
from mailtriage.imap.step_aside import mark_background
from mailtriage.imap.sync import GONE, SyncReport
from mailtriage.store import CacheError

# RFC 2177 lets servers drop an IDLE after 30 min; Dovecot's limit is shorter in some setups
# and NAT boxes forget quiet connections sooner, so re-IDLE well inside both.
IDLE_REFRESH = 9 * 60.0
BACKOFF_FIRST = 1.0
BACKOFF_MAX = 300.0
LEADER_RETRY = 2.0
WATCH_PREFETCH = 500  # bodies per wake-up, newest first
PREFETCH_SLICE = 50  # bodies between two checks for changes


@dataclass(frozen=True)
class SyncEvent:
    # "listed": new mail, expunges or flags are in the cache, their bodies not yet (the list
    # can show them; rules wait for "changed", which follows once the bodies are in too).
    kind: str  # "syncing" | "idle" | "offline" | "listed" | "changed" | "error"
    message: str  # one human line, e.g. "offline: connection refused; retrying in 8 s"
    account: str


def _changes(report: SyncReport) -> str:
    parts = []
    if report.new:
        parts.append(f"{report.new} new")
    if report.flag_changes:
        parts.append(f"{report.flag_changes} changed")
    if report.vanished:
        parts.append(f"{report.vanished} removed")
    parts += [f"{f.folder} {GONE}" for f in report.folders if f.missing]
    return ", ".join(parts)


def run_watch(
    account: AccountConfig,
    password: str,
    on_event: Callable[[SyncEvent], None],
    stop: threading.Event,
    *,
    role: str = "sync --watch",
    idle_refresh: float = IDLE_REFRESH,
) -> None:
    def emit(kind: str, message: str) -> None:
        on_event(SyncEvent(kind, message, account.name))

    def listed(report: SyncReport) -> None:
        # Before the slice's bodies: the app's list need not wait for them (50 bodies took
        # ~0.3 s at 100k), its routing does ("changed").
        if _changes(report):
            emit("listed", _changes(report))

    poll = float(getattr(account, "poll_interval", 60.0))
    leader = SyncLeader(account.cache_path, role)
    session = AccountSession(account, password)
    backoff = BACKOFF_FIRST
    resynced = False
    mark_background(True)  # the app's list reloads come first (imap.step_aside)
    try:
        while not stop.is_set():
            if not leader.try_acquire():
                emit("idle", f"{leader.holder()} is syncing this cache; following its changes")
                stop.wait(LEADER_RETRY)
                continue
            try:
                emit("syncing", "syncing…")
                # Bodies in slices, each after a pass: a keyword another agent sets
                # meanwhile waits for one slice, not for the whole backfill (500 bodies at
                # 100k kept it out of the cache for 7 s). INBOX stays selected throughout
                # (AccountSession._clean): a pass is a NOOP that applies what the server
                # reported since, with the body FETCHes' answers too. Selecting it again
                # for each pass and slice cost Dovecot 0.3-0.7 s at 100k, which kept such
                # a keyword out for over a second.
                fetched = 0
                while True:
                    report = session.sync(
                        inbox_last=True,
                        prefetch_limit=min(PREFETCH_SLICE, WATCH_PREFETCH - fetched),
                        backfill=True,
                        on_listed=listed,
                    )
                    if _changes(report):
                        emit("changed", _changes(report))
                    fetched += report.bodies
                    if not report.bodies or fetched >= WATCH_PREFETCH or stop.is_set():
                        break
                backoff = BACKOFF_FIRST
                if session.can_idle:
                    # A change made during the sync or the prefetch is never reported by
                    # IDLE (it predates the EXAMINE): sync again first (once; a server whose
                    # state never settles must not keep us from IDLE).
                    if session.select_for_idle("INBOX") and not resynced:
                        resynced = True
                        continue
                    resynced = False
                    emit("idle", "up to date; waiting for mail (IDLE)")
                    # Keyword changes arrive with their UID and go straight into the cache;
                    # only new mail and expunges (or the refresh timer) end the IDLE. A
                    # second watched folder (the app folder) gets its own session and loop.
                    session.idle(
                        min(idle_refresh, poll),
                        stop,
                        on_flags=lambda count: emit("changed", f"{count} changed"),
                    )
                else:
                    emit("idle", f"up to date; next check in {poll:g} s (server has no IDLE)")
                    stop.wait(poll)
                continue
            except AuthError as exc:
                session.drop_client()
                emit("error", f"{exc}; retrying in {backoff:g} s")
            except MailtriageError as exc:
                session.drop_client()
                emit("offline", f"offline: {exc}; retrying in {backoff:g} s")
            except (OSError, imapclient.exceptions.IMAPClientError) as exc:
                session.drop_client()
                emit("offline", f"offline: {exc}; retrying in {backoff:g} s")
            except (sqlite3.Error, CacheError) as exc:
                # Disk full, cache locked or damaged: the batch rolled back; try again later.
                emit("error", f"cache: {exc}; retrying in {backoff:g} s")
            stop.wait(backoff)
            backoff = min(backoff * 2, BACKOFF_MAX)
    finally:
        mark_background(False)
        session.close()
        leader.release()
