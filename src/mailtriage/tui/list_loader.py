"""The conversation list's keys and the views' counts, read off the UI thread.

At 100k conversations one view's keys take 100-250 ms to read and the counts another full
scan. On the UI thread every key pressed meanwhile waited behind them (bench/soak.py: key
latency p99 2.0 s while mail streamed in). A load now runs on a worker thread with its own
cache connection (a connection belongs to the thread that opened it), and `ListLoads` decides
on the UI thread whether its result may still be shown: never one asked for before a newer
one that was already shown, never one for a view the user has since left.
"""

from __future__ import annotations

import sqlite3
import threading
from dataclasses import dataclass

from mailtriage.store import listing


@dataclass(frozen=True)
class ListRequest:
    seq: int  # ListLoads.begin's number: a higher one was asked for later
    view: str
    search: str | None
    sort: str | None
    version: int  # the UI connection's data_version when asked (the counts' freshness)
    counts: bool  # recount every view too (only when the data changed)
    new_view: bool  # a view, search or sort change, not a refresh of what is shown
    sla_keys: tuple[str, ...] | None = None  # Overdue/Due soon: the SLA worker's keys
    announce: bool = False  # a search: say how many matched once shown


def read_list(
    conn: sqlite3.Connection, request: ListRequest, *, agent: str | None
) -> tuple[list[str], dict[str, int] | None]:
    """The request's keys (and counts when asked): runs on the worker thread."""
    if request.sla_keys is not None:
        keys = list(request.sla_keys)
    elif request.search:
        from mailtriage.store.search import search_keys

        keys = search_keys(conn, request.search)
    else:
        keys = listing.view_keys(conn, request.view, agent=agent, sort=request.sort)
    counts = listing.view_counts(conn, agent=agent) if request.counts else None
    return keys, counts


class ListLoads:
    """Which load's result may be shown, and the connections of loads still running.

    Numbers only grow. A result is shown if nothing asked for after it has been shown yet and
    no view change came after it; a view change also interrupts the older loads' queries
    (sqlite3's interrupt() is safe from another thread), so switching views twice quickly
    does not leave two full scans competing for the two cores.
    """

    def __init__(self) -> None:
        self.seq = 0  # the newest request
        self.view_seq = 0  # the newest view change: older results belong to another view
        self.applied = 0  # the newest result shown
        self._lock = threading.Lock()  # _running is touched by the worker threads too
        self._running: dict[int, sqlite3.Connection] = {}
        self._interrupted: set[int] = set()

    def begin(self, *, new_view: bool) -> int:
        self.seq += 1
        if new_view:
            self.view_seq = self.seq
            self.interrupt(before=self.seq)
        return self.seq

    def wanted(self, seq: int) -> bool:
        return seq > self.applied and seq >= self.view_seq

    def accept(self, seq: int) -> bool:
        """Called on the UI thread with a finished load: True means show it."""
        if not self.wanted(seq):
            return False
        self.applied = seq
        return True

    @property
    def view_pending(self) -> bool:
        """The view last asked for is not on screen yet."""
        return self.applied < self.view_seq

    @property
    def settled(self) -> bool:
        return self.applied == self.seq

    # -- the worker threads' connections -----------------------------------------------------

    def started(self, seq: int, conn: sqlite3.Connection) -> bool:
        """Register a load's connection; False when it was superseded before it began."""
        with self._lock:
            if not self.wanted(seq):
                return False
            self._running[seq] = conn
            return True

    def finished(self, seq: int) -> bool:
        """Unregister (before the connection closes); True if its query was interrupted."""
        with self._lock:
            self._running.pop(seq, None)
            interrupted = seq in self._interrupted
            self._interrupted.discard(seq)
            return interrupted

    def interrupt(self, *, before: int | None = None) -> None:
        with self._lock:
            for seq, conn in self._running.items():
                if before is None or seq < before:
                    self._interrupted.add(seq)
                    conn.interrupt()
