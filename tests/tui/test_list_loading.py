"""The conversation list is read on a worker thread: keys are answered while it loads, a load
never shows over a newer one, the cursor keeps its conversation, view switches land where asked.

A gate replaces list_loader.read_list after start-up: each load reads the cache as usual, then
waits on the worker thread until the test releases it, so "slow" and "out of order" are
decided by the test, not by timing.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from typing import Any

import pytest

from mailtriage.demo.corpus import build_demo_corpus
from mailtriage.imap.commands import Fetched
from mailtriage.imap.sync import row_from_parsed
from mailtriage.mime import parse_message
from mailtriage.store import Store
from mailtriage.tui import app as app_module
from mailtriage.tui import list_loader
from mailtriage.tui.conversation_list import ConversationList
from mailtriage.tui.list_loader import ListLoads, ListRequest
from support.cache import FIXED_NOW

WAIT = 10.0  # seconds: a bound for a thread to arrive, never a timing being tested
YEAR = 365 * 86400


class Gate:
    """Holds each list load on its worker thread, after its read, until released."""

    def __init__(self, app: Any, monkeypatch: pytest.MonkeyPatch) -> None:
        self._read = list_loader.read_list
        self._load = app._load_list
        self._lock = threading.Lock()
        self.held: list[ListRequest] = []
        self._arrived = threading.Condition(self._lock)
        self._release: dict[int, threading.Event] = {}
        self._returned: dict[int, threading.Event] = {}
        monkeypatch.setattr(list_loader, "read_list", self.read)
        monkeypatch.setattr(app, "_load_list", self.load)

    def load(self, request: ListRequest) -> None:
        try:
            self._load(request)  # posts its result unless superseded
        finally:
            with self._lock:
                self._returned.setdefault(request.seq, threading.Event()).set()

    def read(self, conn: sqlite3.Connection, request: ListRequest, *, agent: str | None) -> Any:
        result = self._read(conn, request, agent=agent)  # the cache as it is now
        with self._lock:
            release = self._release.setdefault(request.seq, threading.Event())
            self.held.append(request)
            self._arrived.notify_all()
        release.wait(WAIT)
        return result

    async def arrival(self, count: int) -> ListRequest:
        """The count-th load to reach the gate (1-based), once it has."""

        def wait() -> ListRequest:
            with self._lock:
                assert self._arrived.wait_for(lambda: len(self.held) >= count, WAIT)
                return self.held[count - 1]

        return await asyncio.to_thread(wait)

    async def release(self, request: ListRequest, pilot: Any) -> None:
        """Let it finish, and let the app handle whatever it posts."""
        with self._lock:
            self._release.setdefault(request.seq, threading.Event()).set()
            returned = self._returned.setdefault(request.seq, threading.Event())
        assert await asyncio.to_thread(returned.wait, WAIT)  # posted, if it posts at all
        await pilot.pause()
        await pilot.pause()


def add_conversation(account: Any, n: int) -> str:
    """A new one-message Unhandled conversation "inserted n", older than every other (the
    first rows of Unhandled, oldest first; a higher n is older still); returns its subject."""
    message = next(m for m in build_demo_corpus(now=FIXED_NOW) if m.mailbox == "INBOX")
    store = Store(account.cache_path)
    fetched = Fetched(
        uid=10_000 + n,
        flags=[],
        internaldate=None,
        size=len(message.raw),
        modseq=None,
        literal=None,
    )
    parsed = parse_message(message.raw)
    row = row_from_parsed(account, "INBOX", "inbox", 1, fetched, parsed, raw=None)
    row.message_id = f"<inserted{n}@example.jp>"
    row.references, row.in_reply_to = [], []
    row.subject = row.norm_subject = f"inserted {n}"
    row.ts = FIXED_NOW.timestamp() - (10 + n) * YEAR
    with store.atomic():
        store.insert_messages([row])
    store.close()
    return row.subject


async def arrives(app: Any, gate: Gate, n: int) -> ListRequest:
    """Conversation "inserted n" arrives; the app's reload for it is held at the gate."""
    add_conversation(app.account, n)
    app.check_for_changes()
    return await gate.arrival(n)


def listed(app: Any) -> ConversationList:
    return app.main.query_one(ConversationList)


def subjects(app: Any) -> list[str]:
    conversations = listed(app)
    return [conversations.row(i)["subject"] for i in range(len(conversations.keys))]


async def test_keys_are_answered_while_a_reload_is_in_flight(build_app, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    app = build_app()
    async with app.run_test(size=(120, 35)) as pilot:
        gate = Gate(app, monkeypatch)
        before = list(listed(app).keys)
        held = await arrives(app, gate, 1)  # the new first row
        assert not held.new_view and held.counts  # a refresh that recounts

        await pilot.press("j", "j", "j")  # answered now, not after the load
        assert listed(app).cursor == 3
        assert listed(app).keys == before  # still the rows on screen
        key = listed(app).current_key

        await gate.release(held, pilot)
        await app.list_settled()
        assert len(listed(app).keys) == len(before) + 1
        assert subjects(app)[0] == "inserted 1"
        assert listed(app).current_key == key and listed(app).cursor == 4
        assert app.counts["unhandled"] == len(before) + 1


async def test_a_stale_load_never_shows_over_a_newer_one(build_app, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    app = build_app()
    async with app.run_test(size=(120, 35)) as pilot:
        gate = Gate(app, monkeypatch)
        older = await arrives(app, gate, 1)  # has read the cache with only "inserted 1"
        newer = await arrives(app, gate, 2)  # has read it with both

        await gate.release(newer, pilot)
        assert subjects(app)[:2] == ["inserted 2", "inserted 1"]
        counted = dict(app.counts)
        await gate.release(older, pilot)  # finishes last: must not take "inserted 2" away
        assert subjects(app)[:2] == ["inserted 2", "inserted 1"]
        assert app.counts == counted
        assert app._loads.settled


async def test_the_cursor_keeps_its_conversation_and_line_when_rows_arrive_above(build_app) -> None:  # type: ignore[no-untyped-def]
    app = build_app()
    async with app.run_test(size=(80, 24)) as pilot:
        conversations = listed(app)
        await pilot.press("G", "k", "k")  # scrolled: the first rows are off screen
        top = int(conversations.scroll_offset.y)
        assert top > 0
        key, index = conversations.current_key, conversations.cursor
        line = index - top
        for n in (1, 2):
            add_conversation(app.account, n)
        app.check_for_changes()
        await app.list_settled()
        await pilot.pause()
        assert conversations.current_key == key
        assert conversations.cursor == index + 2
        assert conversations.cursor - int(conversations.scroll_offset.y) == line  # no jump
        assert subjects(app)[:2] == ["inserted 2", "inserted 1"]


async def test_switching_views_twice_quickly_lands_on_the_last(build_app, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(app_module, "LOADING_DELAY", 0.01)
    app = build_app()
    async with app.run_test(size=(120, 35)) as pilot:
        gate = Gate(app, monkeypatch)
        unhandled = list(listed(app).keys)
        await pilot.press("2")
        in_progress = await gate.arrival(1)
        await pilot.press("3")
        done = await gate.arrival(2)
        assert (in_progress.view, done.view) == ("in-progress", "done")
        assert app.view == "done"
        await pilot.pause(0.05)  # past LOADING_DELAY: the status line says it is loading
        status = str(app.main.query_one("#status").render())
        assert "loading…" in status

        await gate.release(in_progress, pilot)  # the view left behind finishes first
        assert listed(app).keys == unhandled  # not shown: still the rows that were there
        await pilot.press("j")
        assert listed(app).cursor == 1  # keys still work meanwhile

        await gate.release(done, pilot)
        await app.list_settled()
        await pilot.pause()
        statuses = {listed(app).row(i)["status"] for i in range(len(listed(app).keys))}
        assert statuses == {"done"} and len(listed(app).keys) == app.counts["done"]
        assert "loading…" not in str(app.main.query_one("#status").render())
        sidebar = str(app.main.query_one("#sidebar").render())
        assert any(line.startswith("3 ") for line in sidebar.splitlines())


async def test_a_view_load_finishing_late_is_dropped(build_app, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """The other order: the newer view's rows first, the older view's after them."""
    app = build_app()
    async with app.run_test(size=(120, 35)) as pilot:
        gate = Gate(app, monkeypatch)
        await pilot.press("2")
        in_progress = await gate.arrival(1)
        await pilot.press("8")
        everything = await gate.arrival(2)
        await gate.release(everything, pilot)
        await app.list_settled()
        shown = list(listed(app).keys)
        assert len(shown) == app.counts["all"]
        await gate.release(in_progress, pilot)
        assert listed(app).keys == shown and app.view == "all"


def test_list_loads_order_and_interrupt(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """ListLoads on its own: which results may show, and a view change stopping an old query."""
    loads = ListLoads()
    first = loads.begin(new_view=True)
    refresh_a, refresh_b = loads.begin(new_view=False), loads.begin(new_view=False)
    assert loads.accept(refresh_b) and not loads.accept(refresh_a)  # older after newer
    assert not loads.accept(first) and loads.settled
    old_view_refresh = loads.begin(new_view=False)
    other_view = loads.begin(new_view=True)
    assert loads.view_pending and not loads.accept(old_view_refresh)  # the view it was for left

    conn = sqlite3.connect(tmp_path / "x.db", check_same_thread=False)
    slow = loads.begin(new_view=False)
    assert loads.started(slow, conn)
    errors: list[BaseException] = []
    running = threading.Event()

    def query() -> None:
        conn.create_function("running", 0, lambda: running.set() or 1)
        try:
            conn.execute(
                "WITH RECURSIVE r(i) AS (SELECT running() UNION ALL SELECT i + 1 FROM r)"
                " SELECT count(*) FROM r"
            ).fetchone()
        except sqlite3.OperationalError as exc:
            errors.append(exc)

    thread = threading.Thread(target=query)
    thread.start()
    assert running.wait(WAIT)
    loads.begin(new_view=True)  # the user switched view: the old query stops
    thread.join(WAIT)
    assert not thread.is_alive() and errors and "interrupted" in str(errors[0])
    assert loads.finished(slow)  # reported as interrupted, not as a failure
    assert not loads.accept(other_view)
    conn.close()
