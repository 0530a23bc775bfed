"""The Textual app: owns the read connection to the cache, the long-lived sync worker and the
view state; screens ask it for data and post user intent up to it."""

from __future__ import annotations

import asyncio
import gc
import logging
import sqlite3
import threading
import time
from dataclasses import dataclass
from datetime import date
from functools import partial
from pathlib import Path
from typing import Any, ClassVar

from textual import on, work
from textual.app import App
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.worker import Worker, WorkerState

from mailtriage.config import AccountConfig, Config, xdg_dir
from mailtriage.imap import step_aside
from mailtriage.store import Store, listing
from mailtriage.tui import list_loader
from mailtriage.tui.commands import BindingCommands
from mailtriage.tui.main_screen import MainScreen
from mailtriage.tui.rows import one_line
from mailtriage.tui.themes import ThemeError, builtin_themes, load_theme_file
from mailtriage.tui.views import BY_ID, SLA_VIEWS, VIEWS

log = logging.getLogger("mailtriage.tui")
ACTIVE_SENDS = ("queued", "sending", "submitted")  # outbox states the sender still works on
SLA_COUNT_LIMIT = 10_000  # open conversations above which the status line does not count SLA
SLA_START_DELAY = 2.0  # seconds after start before the first count
SLA_MIN_INTERVAL = 60.0  # seconds between background counts
CHANGE_POLL = 0.25  # seconds between PRAGMA data_version checks: cheap, and well under 1 s
# A change shows at the next poll (after a list refresh still running, if any); the watch's
# news comes sooner through "listed" (below). When STREAM_POLLS polls in a row each found
# one, it is a stream (bench/soak.py: 10 new messages a second) and shows at most once per
# STREAM_GAP: a reload and repaint every poll kept the UI thread busy and keys waited.
STREAM_POLLS = 3
STREAM_GAP = 1.0
# The watch's "listed" event (new mail, expunges, flags in the cache: see list_changed) shows
# them at once, at most once per LISTED_GAP, whatever the poll thinks is streaming: during a
# backfill the body commits alone made a stream, and another agent's keyword waited up to
# STREAM_GAP behind them.
LISTED_GAP = 0.5
# A dead agent's presence ages out (store.events.PRESENCE_TTL) with no commit to announce it.
PRESENCE_SWEEP = 10.0
# A view switch that takes longer than this says "loading…" on the status line; a faster one
# (any cache below ~20k conversations) just shows the new rows, with no flash in between.
LOADING_DELAY = 0.15
FALLBACK_THEME = "mailtriage-dark"
# Seconds after start-up before what it built is collected once and frozen (_freeze_startup).
FREEZE_AFTER = 2.0
# Seconds the body thread waits for a large body's preview to be painted before it parses
# the whole body: the parse holds the GIL most of its ~50 ms per MB, and the UI thread
# painting the preview meanwhile got a fraction of it (1 MB: 90 -> 140-180 ms to the text).
PREVIEW_PAINT_WAIT = 0.3


@dataclass
class SyncEventArrived(Message):
    event: Any


@dataclass
class ListLoaded(Message):
    request: list_loader.ListRequest
    keys: list[str]
    counts: dict[str, int] | None
    seconds: float


@dataclass
class BodyPreview(Message):
    """The beginning of a large body being fetched (AccountSync.fetch_body's on_preview)."""

    rowid: int
    text: str
    size: int  # the whole message's, in bytes
    painted: threading.Event  # set once the preview is on screen (or will not be)


@dataclass
class SlaCounted(Message):
    keys: dict[str, list[str]]  # view id (overdue, due-soon) -> keys, most urgent first
    version: int  # the UI connection's data_version when the count started


def log_path() -> Path:

    return xdg_dir("STATE", ".local/state") / "mailtriage" / "mailtriage.log"


class MailtriageApp(App[None]):
    CSS_PATH = "app.tcss"
    TITLE = "mailtriage"
    COMMANDS = App.COMMANDS | {BindingCommands}
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("question_mark", "help", "Help", id="app.help", tooltip="Every key, by screen"),
        Binding(
            "ctrl+z",
            "undo_send",
            "Undo send",
            show=False,
            id="outbox.undo",
            tooltip="Cancel the reply you just queued, while its undo window lasts",
        ),
        Binding(
            "colon",
            "command_palette",
            "Commands",
            show=False,
            id="app.palette",
            tooltip="Search every command",
        ),
    ]

    def __init__(
        self,
        config: Config,
        *,
        account: str | None = None,
        background_sync: bool = True,
        clock: float | None = None,
    ):
        super().__init__()
        self.config = config
        self.account: AccountConfig = config.accounts[account or next(iter(config.accounts))]
        self.background_sync = background_sync
        self.clock = clock  # a fixed "now" for reproducible snapshots
        self.store = Store(self.account.cache_path)
        self.view = "unhandled"
        self.sort: str | None = None
        self.search_query: str | None = None
        self.counts: dict[str, int] = {}
        self.sync_state = "starting"
        self._data_version = -1  # the UI connection's data_version at the last reload
        self._counts_version = -1  # ... whose counts are shown
        self._loads = list_loader.ListLoads()
        self._list_settled = asyncio.Event()
        self._loading_shown = False  # "loading…" on the status line
        self._last_change = -STREAM_GAP  # monotonic time of the last reload for a change
        self._changed_polls = 0  # consecutive polls that found a change
        self._listed_at = -LISTED_GAP  # monotonic time of the last reload for a "listed"
        self._listed_timer: Any = None  # a "listed" reload waiting for LISTED_GAP to pass
        self._listed_seq = 0  # the last "listed" reload's ListLoads number
        self._listed_waiting = False  # another "listed" reload is due once that one shows
        self.presence_sweep = PRESENCE_SWEEP
        self._presence_seen: object = None
        self.syncer: Any = None  # the AccountSync while the sync worker runs
        self._fetching: set[int] = set()  # message rowids whose bodies are on their way
        self._fetching_where: dict[int, tuple[str, int]] = {}  # ... their (mailbox, uid)
        # (mailbox, uid) -> (text, size): the beginning of a large body, shown by the reader
        # until the whole of it is stored (BodyPreview).
        self.previews: dict[tuple[str, int], tuple[str, int]] = {}
        self._started = time.monotonic()
        self.sla_start_delay = SLA_START_DELAY
        # The Overdue/Due soon views' keys, from the SLA worker: (data_version, when, keys).
        self._sla_keys: tuple[int, float, dict[str, list[str]]] | None = None
        self._poll_timers: list[Any] = []
        self._closing = False
        self._sla_at = -SLA_MIN_INTERVAL
        self._sla_timer: Any = None
        # rules.arrival.ArrivalRunner, made on the first sync event; False: nothing to do
        self._router: Any = None

        # Optimistic triage: key -> the row fields we expect once the server agrees.
        self.pending: dict[str, dict[str, Any]] = {}
        self._actions: Any = None
        self._actions_lock = asyncio.Lock()
        self._outbox: Any = None
        self.last_queued: int | None = None
        self._delivering = self._deliver_again = self._acking = False
        self._theme_problem: str | None = None
        self._kb: Any = None  # the KnowledgeBase, opened on first use
        # (conversation key, KbChoice) chosen in the reader: inserted once its reply opens.
        self.kb_pending: tuple[str, Any] | None = None
        self._register_themes()
        if config.ui.keymap:
            self.set_keymap(config.ui.keymap)

    def notify(
        self,
        message: str,
        *,
        title: str = "",
        severity: Any = "information",
        timeout: float | None = None,
        markup: bool = False,
    ) -> None:
        # Notices quote subjects, file names and server errors: never read them as markup
        # ("[/]" would crash the app, "[@click=…]" would become a live action).
        super().notify(message, title=title, severity=severity, timeout=timeout, markup=False)

    # -- quitting ----------------------------------------------------------------------------

    _quitting = False

    async def action_quit(self) -> None:
        self._quitting = True
        await super().action_quit()

    async def run_action(
        self,
        action: Any,
        default_namespace: Any = None,
        namespaces: Any = None,
    ) -> bool:
        # Keys typed after `q` (a burst over SSH) would act on screens being torn down.
        if self._quitting:
            return False
        return await super().run_action(action, default_namespace, namespaces)

    # -- setup -------------------------------------------------------------------------------

    def _register_themes(self) -> None:
        for theme in builtin_themes():
            self.register_theme(theme)
        wanted = self.config.ui.theme
        if self.config.ui.theme_file:
            try:
                theme = load_theme_file(self.config.ui.theme_file)
                self.register_theme(theme)
                wanted = theme.name
            except ThemeError as exc:
                self._theme_problem = f"{exc}; using {FALLBACK_THEME}"
                wanted = FALLBACK_THEME
        if wanted not in self.available_themes:
            self._theme_problem = f"theme {wanted!r} is unknown; using {FALLBACK_THEME}"
            wanted = FALLBACK_THEME
        self.theme = wanted

    async def on_mount(self) -> None:
        await self.push_screen(MainScreen())
        for warning in self.config.warnings:
            # Also printed before the app took the screen; repeated where it can be seen.
            self.notify(warning, title="Warning", severity="warning", timeout=10, markup=False)
        if self._theme_problem:
            self.notify(self._theme_problem, title="Theme", severity="warning")
        folders = self.store.status_folders()
        if folders:
            from mailtriage.triage.folders import notice

            self.notify(notice(folders, self.account.app_folder), severity="warning", timeout=10)
        self._first_load()
        self._poll_timers = [
            self.set_interval(CHANGE_POLL, self.check_for_changes),
            self.set_interval(self.presence_sweep, self.sweep_presence),
        ]
        if self.background_sync:
            self.sync_loop()
        else:
            self.sync_state = "sync off"
        self.update_status()
        # Not at the first paint: the collection takes 40-50 ms at 100k, and keys typed as
        # the list appears would wait for it (start to interactive 620 -> 720 ms, measured).
        self.set_timer(FREEZE_AFTER, self._freeze_startup)

    def _freeze_startup(self) -> None:
        """Put what start-up built (Textual, the screens, the first rows) out of the cyclic
        collector's reach. Its full passes re-scanned all of it with the UI thread stopped:
        at 100k, while changes streamed in, 40-140 ms each and the slowest keys
        (bench/tui_bench.py). Collected first so no start-up garbage is kept; unfrozen at exit
        (tests run hundreds of apps in one process)."""
        if self._closing:
            return
        gc.collect()
        gc.freeze()

    @property
    def main(self) -> MainScreen:
        return next(s for s in self.screen_stack if isinstance(s, MainScreen))

    # -- data for the screens ----------------------------------------------------------------

    def load_rows(self, keys: list[str]) -> dict[str, dict[str, Any]]:
        from mailtriage.sla import sla_for
        from mailtriage.store.events import presence_all

        rows = listing.conversation_rows(self.store.conn, keys)
        for key, clock in sla_for(
            self.store.conn, list(rows), now=self.clock, policy=self.config.sla
        ).items():
            rows[key]["sla"] = clock
        for key, present in presence_all(self.store.conn, exclude=self.config.agent).items():
            if key in rows:
                replying = any(p.activity == "replying" for p in present)
                rows[key]["presence"] = "replying" if replying else "viewing"
        for key, changes in self.pending.items():
            if key in rows:
                rows[key] = {**rows[key], **changes}
        return rows

    def reload(self, *, new_view: bool = False, announce: bool = False) -> None:
        """Re-read the list's keys (and the counts, when the data changed) on a worker thread;
        the result is shown by on_list_loaded unless something newer was asked for meanwhile.

        new_view: the view, search or sort changed, so loads still running are for rows the
        user no longer wants. The cursor stays on its conversation either way (by key).
        """
        if self._closing:
            return
        request = self._list_request(new_view=new_view, announce=announce)
        self.run_worker(
            partial(self._load_list, request),
            thread=True,
            name=f"list {request.seq}",
            group="list",
            exclusive=new_view,
            exit_on_error=False,
            description="loading the conversation list",
        )
        if new_view:
            self.set_timer(LOADING_DELAY, self._show_loading)

    def _first_load(self) -> None:
        """At start the list is read on the UI thread: there is nothing yet for keys to act
        on, and keys typed ahead (`j j enter` while it starts) must find the rows."""
        request = self._list_request(new_view=True)
        keys, counts = list_loader.read_list(self.store.conn, request, agent=self.config.agent)
        self.on_list_loaded(ListLoaded(request, keys, counts, 0.0))

    def _list_request(self, *, new_view: bool, announce: bool = False) -> list_loader.ListRequest:
        version = listing.data_version(self.store.conn)
        if version != self._data_version:
            self._data_version = version
            self._refresh_screens()
        sla_keys = None
        if self.view in SLA_VIEWS and not self.search_query:
            sla_keys = tuple(self._sla_view_keys(version))  # counted by the SLA worker
        request = list_loader.ListRequest(
            seq=self._loads.begin(new_view=new_view),
            view=self.view,
            search=self.search_query,
            sort=self.sort,
            version=version,
            # Counts scan every conversation: only when the data changed, not per view switch.
            counts=version != self._counts_version or not self.counts,
            new_view=new_view,
            sla_keys=sla_keys,
            announce=announce,
        )
        self._list_settled.clear()
        return request

    def _load_list(self, request: list_loader.ListRequest) -> None:
        """On a worker thread, with a connection of its own (never the UI thread's)."""
        from textual.worker import get_current_worker

        worker = get_current_worker()
        started = time.perf_counter()
        store = Store(self.account.cache_path, readonly=True)
        interrupted = False
        try:
            if not self._loads.started(request.seq, store.conn):
                return  # superseded before it began
            step_aside.reload_started()  # the watch's body backfill waits until it is shown
            try:
                keys, counts = list_loader.read_list(store.conn, request, agent=self.config.agent)
            finally:
                # Unregistered before it closes: nobody may interrupt a closed connection.
                interrupted = self._loads.finished(request.seq)
        except sqlite3.OperationalError:
            if interrupted:
                return  # a newer view was asked for: this one's rows are unwanted
            raise
        finally:
            store.close()
        if not worker.is_cancelled:
            # post_message: thread-safe and never blocks (call_from_thread would wait for the
            # UI loop, forever if the app is closing).
            self.post_message(ListLoaded(request, keys, counts, time.perf_counter() - started))

    def on_list_loaded(self, message: ListLoaded) -> None:
        from mailtriage.tui.conversation_list import ConversationList

        request = message.request
        if self._closing or not self._loads.accept(request.seq):
            return  # a newer load was shown already, or the view changed since
        if message.counts is not None:
            # Merge: the SLA counts come from a worker and must not blink to zero meanwhile.
            self.counts = {**self.counts, **message.counts}
            self._counts_version = request.version
            self.schedule_sla_count()
        from textual.css.query import NoMatches

        screen = self.main
        try:
            conversations = screen.query_one(ConversationList)
            conversations.now = self.clock
            # A refresh keeps the cursor's conversation on the same screen line when rows
            # come or go above it; a new view only keeps it if it is there.
            conversations.set_keys(message.keys, steady=not request.new_view)
            screen.show_views(self.view, self.counts, self.search_query)
        except NoMatches:
            # The app is closing: its screen's widgets go one by one (the view bar was gone
            # while the list was still there, in the full suite on 2 cores).
            return
        screen.call_after_refresh(screen.refresh_header)
        screen.call_after_refresh(step_aside.reload_shown)  # painted: the backfill may go on
        if self._loads.settled:
            self._list_settled.set()
        if self._loading_shown and not self._loads.view_pending:
            self._loading_shown = False
        self.update_status()
        log.debug(
            "list %s: %d keys in %.1f ms (worker)",
            request.view,
            len(message.keys),
            message.seconds * 1000,
        )
        if request.announce and request.search:
            self.notify(f"{len(message.keys)} conversations match {request.search!r}", timeout=3)
        if self._listed_waiting and request.seq >= self._listed_seq:
            self._show_listed()

    def _show_loading(self) -> None:
        if not self._closing and self._loads.view_pending and not self._loading_shown:
            self._loading_shown = True
            self.update_status()

    async def list_settled(self) -> None:
        """Until the newest load asked for is on screen (tests and bench/tui_bench.py)."""
        await self._list_settled.wait()

    def schedule_sla_count(self) -> None:
        """Keep the overdue counts fresh without slowing the app down.

        Counting walks every open conversation's messages; at 100k conversations that took
        ~1 s of CPU and 100 MB, stalling keys while it ran. So it starts after the app is
        interactive, at most once a minute, and is skipped above SLA_COUNT_LIMIT open
        conversations (the Overdue/Due soon views still compute theirs when opened).
        """
        open_count = self.counts.get("all", 0) - self.counts.get("done", 0)
        if open_count > SLA_COUNT_LIMIT:
            # Unknown, not zero: the sidebar shows "-" until the views are opened.
            self.counts = {k: v for k, v in self.counts.items() if k not in SLA_VIEWS}
            return

        now = time.monotonic()
        since_start, since_last = now - self._started, now - self._sla_at
        # Never 0: a Textual timer of interval 0 divides by it when it fires late (a loaded
        # machine: ZeroDivisionError at app exit), and one that did not fire left the
        # snapshots without the count they were meant to show.
        delay = max(self.sla_start_delay - since_start, SLA_MIN_INTERVAL - since_last, 0.01)
        if self._sla_timer is None:  # one already scheduled will see the newer data
            self._sla_timer = self.set_timer(delay, self._start_sla_count)

    def _start_sla_count(self) -> None:
        self._sla_timer = None
        if self._closing:
            return  # the timer came due while the app closes: the cache is closed
        self._sla_at = time.monotonic()
        self.count_sla(listing.data_version(self.store.conn))

    def _sla_view_keys(self, version: int) -> list[str]:
        """The Overdue/Due soon view's keys as last counted (walking every open conversation
        takes ~1 s at 100k: never on the UI thread); counts again when they are stale."""
        counted = self._sla_keys
        fresh = (
            counted is not None
            and counted[0] == version
            and time.monotonic() - counted[1] < SLA_MIN_INTERVAL
        )
        if not fresh:
            if self._sla_timer is not None:
                self._sla_timer.stop()
            self._start_sla_count()
        return list(counted[2][self.view]) if counted is not None else []

    @work(
        thread=True,
        exclusive=True,
        group="sla",
        exit_on_error=False,
        description="counting SLA clocks",
    )
    def count_sla(self, version: int) -> None:
        """Overdue/due-soon keys, off the UI thread; a newer request replaces this one."""
        from textual.worker import get_current_worker

        from mailtriage.sla import due_soon_keys, overdue_keys

        worker = get_current_worker()
        store = Store(self.account.cache_path, readonly=True)
        try:
            keys = {
                "overdue": overdue_keys(store.conn, now=self.clock, policy=self.config.sla),
                "due-soon": due_soon_keys(store.conn, now=self.clock, policy=self.config.sla),
            }
        finally:
            store.close()
        if not worker.is_cancelled:
            # post_message, not call_from_thread: that one blocks, forever if the app is
            # closing, and would hold up its exit.
            self.post_message(SlaCounted(keys, version))

    def on_sla_counted(self, message: SlaCounted) -> None:
        from mailtriage.tui.conversation_list import ConversationList

        if self._closing:
            return

        self._sla_keys = (message.version, time.monotonic(), message.keys)
        self.counts = {**self.counts, **{view: len(k) for view, k in message.keys.items()}}
        if self.view in SLA_VIEWS and not self.search_query:
            listed = self.main.query_one(ConversationList)
            if listed.keys != message.keys[self.view]:
                self.reload()
                return
        self.main.show_views(self.view, self.counts, self.search_query)
        self.update_status()

    def sweep_presence(self) -> None:
        """Redraw who-is-where when someone's presence expired since the last look."""
        from mailtriage.store.events import presence_all

        if self._closing:
            return

        present = presence_all(self.store.conn, exclude=self.config.agent)
        if present == self._presence_seen:
            return
        self._presence_seen = present
        from mailtriage.tui.conversation_list import ConversationList

        self.main.query_one(ConversationList).invalidate()
        changed = getattr(self.screen, "data_changed", None)
        if changed is not None and self.screen is not self.main:
            changed()

    def check_for_changes(self) -> None:
        """Another connection committed (our sync worker, another process): show it."""
        if self._closing:
            return
        if listing.data_version(self.store.conn) == self._data_version:
            self._changed_polls = 0
            return
        from mailtriage.tui.conversation_list import ConversationList

        lists = self.main.query(ConversationList)
        if not lists:
            return  # the app is closing: its screens are already gone
        self._changed_polls += 1
        now = time.monotonic()
        if self._changed_polls >= STREAM_POLLS and now - self._last_change < STREAM_GAP:
            return  # a stream: shown at the first poll STREAM_GAP after the last reload
        if not self._loads.settled and now - self._last_change < STREAM_GAP:
            # One refresh at a time: at 100k two or three ran side by side on the two cores,
            # each twice as long. The first poll after it shows reads what came since; a
            # load that failed (never shown) is not waited for beyond STREAM_GAP.
            return
        self._last_change = now
        self.reload()

    def list_changed(self) -> None:
        """The watch committed new mail, expunges or flag changes (its "listed" event): show
        them now, whatever the body commits around them look like to check_for_changes; at
        most once per LISTED_GAP (a reload at 100k costs a worker 0.1-0.4 s), so keys keep
        their share of the UI thread when such changes stream in."""
        if self._closing or self._listed_timer is not None:
            return  # the reload already waiting will read this change too
        wait = self._listed_at + LISTED_GAP - time.monotonic()
        if wait > 0:
            self._listed_timer = self.set_timer(wait, self._show_listed)
        else:
            self._show_listed()

    def _show_listed(self) -> None:
        self._listed_timer = None
        self._listed_waiting = False
        if self._closing or listing.data_version(self.store.conn) == self._data_version:
            return  # a reload asked for since the commit reads it
        now = time.monotonic()
        if self._listed_seq > self._loads.applied and now - self._listed_at < STREAM_GAP:
            self._listed_waiting = True  # on_list_loaded asks again once it is shown
            return
        if not self._loads.view_pending:
            # The refreshes still running read the cache before this change: they would
            # only slow this one down (a view or search the user asked for is left alone).
            self._loads.interrupt()
        self._listed_at = self._last_change = now
        self.reload()
        self._listed_seq = self._loads.seq

    # -- view state --------------------------------------------------------------------------

    def action_show_view(self, view: str) -> None:
        self.show_view(view)

    def show_view(self, view: str) -> None:
        if view not in BY_ID:
            return
        self.view, self.search_query, self.sort = view, None, None
        self.reload(new_view=True)

    def action_next_view(self, delta: int) -> None:
        ids = [v.id for v in VIEWS]
        self.show_view(ids[(ids.index(self.view) + delta) % len(ids)])

    def action_toggle_sort(self) -> None:
        current = self.sort or listing.default_sort(self.view)
        self.sort = "newest" if current == "oldest" else "oldest"
        self.notify(
            f"sorted by {'newest activity' if self.sort == 'newest' else 'oldest waiting'} first",
            timeout=2,
        )
        self.reload(new_view=True)

    def search(self, query: str | None) -> None:
        self.search_query = query
        self.reload(new_view=True, announce=bool(query))  # the count is said once shown

    def open_conversation(self, key: str) -> None:
        from mailtriage.tui.reader import ReaderScreen

        self.push_screen(ReaderScreen(key))

    def request_bodies(self, key: str) -> set[tuple[str, int]]:
        """Start fetching the bodies this conversation lacks; return (mailbox, uid) of them."""
        missing = self.store.missing_bodies(conversation=key)
        wanted = [rowid for rowid, *_ in missing if rowid not in self._fetching]
        if wanted and self.syncer is not None:
            # Every reload asks again; only bodies not already on their way are requested.
            self._fetching.update(wanted)
            for rowid, mailbox, _, uid in missing:
                self._fetching_where[rowid] = (mailbox, uid)
            self.fetch_bodies(wanted)
        return {(mailbox, uid) for _, mailbox, _, uid in missing}

    @work(group="bodies", exit_on_error=False, description="fetching message text")
    async def fetch_bodies(self, rowids: list[int]) -> None:
        try:
            for rowid in rowids:
                if self.syncer is not None:

                    def preview(text: str, size: int, rowid: int = rowid) -> None:
                        # On the body thread: post_message is thread-safe and never blocks.
                        painted = threading.Event()
                        self.post_message(BodyPreview(rowid, text, size, painted))
                        painted.wait(PREVIEW_PAINT_WAIT)

                    await self.syncer.fetch_body(rowid, preview)
                    self._fetched(rowid)
                    # Committed: the reader shows it now, not at the next data_version poll
                    # (up to CHANGE_POLL later; the poll's reload then finds it shown).
                    self._show_fetched()
        finally:
            for rowid in rowids:
                self._fetched(rowid)

    def _fetched(self, rowid: int) -> None:
        """No longer on its way (stored, or failed): its preview, if any, goes too."""
        self._fetching.discard(rowid)
        where = self._fetching_where.pop(rowid, None)
        if where is not None:
            self.previews.pop(where, None)

    def on_body_preview(self, message: BodyPreview) -> None:
        where = self._fetching_where.get(message.rowid)
        if where is None or self._closing:
            message.painted.set()
            return  # stored (or failed) meanwhile: the reader has the whole text, or says why
        self.previews[where] = (message.text, message.size)
        self._show_fetched()
        self.screen.call_after_refresh(message.painted.set)

    def _show_fetched(self) -> None:
        from mailtriage.tui.reader import ReaderScreen

        self._refresh_screens(ReaderScreen)

    def _refresh_screens(self, kind: type | None = None) -> None:
        """Each screen (of `kind`, if given) with a data_changed() rereads the cache."""
        for screen in self.screen_stack:
            refresh = getattr(screen, "data_changed", None)
            # A screen pushed but not mounted yet has no widgets to refresh; its on_mount
            # loads (a reload in between raised NoMatches: '#reader-title', under load).
            if (
                refresh is not None
                and screen.is_mounted
                and (kind is None or isinstance(screen, kind))
            ):
                refresh()

    # -- triage ------------------------------------------------------------------------------

    def triage_targets(self) -> list[str]:
        """The reader's conversation, else the selection, else the row under the cursor."""
        from mailtriage.tui.conversation_list import ConversationList
        from mailtriage.tui.reader import ReaderScreen

        if isinstance(self.screen, ReaderScreen):
            return [self.screen.key]
        conversations = self.main.query_one(ConversationList)
        if conversations.selected:
            return [k for k in conversations.keys if k in conversations.selected]
        return [conversations.current_key] if conversations.current_key else []

    def action_triage(self, kind: str) -> None:
        from mailtriage.tui.pickers import Picker, parse_tag_changes, tag_prompt

        keys = self.triage_targets()
        if not keys:
            return
        row = self.load_rows(keys[:1]).get(keys[0])
        if row is None:
            self.notify(
                "This conversation no longer exists (expunged on the server).", severity="warning"
            )
            return

        if kind == "claim":
            self.run_triage(keys, "claim", self.config.agent)
        elif kind == "assign":
            from mailtriage.roles import bulk_reassign_refusal

            refusal = bulk_reassign_refusal(self.config, len(keys))
            if refusal:
                self.notify(refusal, severity="error", timeout=8)
                return
            members = list(self.config.members) or [self.config.agent]
            choices = [(m, m + (" (me)" if m == self.config.agent else "")) for m in members]
            choices.append(("-", "nobody (unassign)"))
            self.push_screen(
                Picker("Assign to", choices, current=row["assignee"]),
                lambda who: who and self.run_triage(keys, "assign", None if who == "-" else who),
            )
        elif kind == "status":
            choices = [
                ("unhandled", "未対応 Unhandled"),
                ("in-progress", "対応中 In progress"),
                ("done", "対応済 Done"),
            ]
            self.push_screen(
                Picker("Status", choices, current=row["status"]),
                lambda status: status and self.run_triage(keys, "status", status),
            )
        elif kind == "priority":
            choices = [("urgent", "至急 Urgent"), ("normal", "通常 Normal")]
            self.push_screen(
                Picker("Priority", choices, current=row["priority"]),
                lambda prio: prio and self.run_triage(keys, "priority", prio),
            )
        elif kind == "tags":
            self.push_screen(
                tag_prompt(row["tags"]),
                lambda text: text and self.run_triage(keys, "tags", parse_tag_changes(text)),
            )
        elif kind == "later":
            change = ([], ["later"]) if "later" in row["tags"] else (["later"], [])
            self.run_triage(keys, "tags", change)
        elif kind == "unread":
            self.run_triage(keys, "seen", bool(row["unread"]))

    def _expected(self, key: str, kind: str, arg: Any) -> dict[str, Any]:
        row = self.load_rows([key]).get(key, {})
        if kind == "claim":
            return {"status": "in-progress", "assignee": arg}
        if kind == "assign":
            return {"assignee": arg}
        if kind == "status":
            return {"status": arg}
        if kind == "priority":
            return {"priority": arg}
        if kind == "seen":
            return {"unread": 0 if arg else max(1, row.get("unread", 0))}
        add, remove = arg
        tags = sorted((set(row.get("tags", [])) | set(add)) - set(remove))
        return {"tags": tags}

    async def get_actions(self) -> Any:
        # Two workers (presence and a claim, say) may ask at once: make exactly one session.
        async with self._actions_lock:
            if self._actions is None:
                from mailtriage.imap.actions import AccountActions

                password = await asyncio.to_thread(self.account.imap.resolve_password)
                self._actions = AccountActions(
                    self.account, password, self.config.agent, members=self.config.members
                )
        return self._actions

    @work(group="triage", exit_on_error=False, description="changing the conversation")
    async def run_triage(self, keys: list[str], kind: str, arg: Any) -> None:
        from mailtriage.tui.conversation_list import ConversationList

        conversations = self.main.query_one(ConversationList)
        for key in keys:
            self.pending[key] = self._expected(key, kind, arg)
        conversations.invalidate()
        results = []
        try:
            actions = await self.get_actions()
            for key in keys:
                if kind == "claim":
                    result = await actions.claim(key)
                elif kind == "assign":
                    result = await actions.assign(key, arg)
                elif kind == "status":
                    result = await actions.set_status(key, arg)
                elif kind == "priority":
                    result = await actions.set_priority(key, arg)
                elif kind == "seen":
                    result = await actions.set_seen(key, arg)
                else:
                    result = await actions.set_tags(key, add=arg[0], remove=arg[1])
                results.append(result)
                self.pending.pop(key, None)  # the cache holds the truth now, won or lost
        finally:
            for key in keys:
                self.pending.pop(key, None)
            conversations.selected.clear()
            self.reload()
        failed = [r for r in results if not r.ok]
        if len(results) == 1:
            self.notify(
                results[0].message,
                severity="error" if failed else "information",
                timeout=6 if failed else 3,
            )
        else:
            done = len(results) - len(failed)
            lines = [f"{done} of {len(results)} changed"] + [r.message for r in failed[:5]]
            self.notify("\n".join(lines), severity="warning" if failed else "information")

    # -- notes and presence ------------------------------------------------------------------

    def action_note(self) -> None:
        from mailtriage.tui.pickers import TextPrompt

        keys = self.triage_targets()
        if len(keys) != 1:
            self.notify("Add a note to one conversation at a time.", severity="warning")
            return
        members = " ".join(f"@{m}" for m in self.config.members if m != self.config.agent)
        self.push_screen(
            TextPrompt("Internal note (never sent to the customer)", f"… {members}".strip()),
            lambda text: text and self.add_note(keys[0], text),
        )

    @work(group="triage", exit_on_error=False, description="adding the note")
    async def add_note(self, key: str, text: str) -> None:
        actions = await self.get_actions()
        result = await actions.add_note(key, text)
        self.notify(result.message, severity="information" if result.ok else "error")
        if result.warning:
            self.notify(result.warning, severity="warning")
        self.check_for_changes()

    # -- escalation and handover (tui.escalation_actions) -----------------------------------

    def action_escalate(self) -> None:
        from mailtriage.tui.escalation_actions import open_escalate

        open_escalate(self)

    def action_handover(self) -> None:
        from mailtriage.tui.escalation_actions import open_handover

        open_handover(self)

    @work(group="presence", exit_on_error=False, description="telling the team")
    async def announce(self, key: str | None, activity: str = "viewing") -> None:
        """Others see "alice is viewing" while we have the conversation open; off when we leave."""
        if not self.background_sync:
            return
        actions = await self.get_actions()
        if key is None:
            await actions.clear()
        else:
            await actions.announce(key, activity)

    # -- replies -----------------------------------------------------------------------------

    def action_reply(self, mode: str) -> None:
        from mailtriage.compose.templates import (
            TemplateError,
            load_templates,
            suggest,
            template_dirs,
        )
        from mailtriage.tui.pickers import Picker, TextPrompt

        keys = self.triage_targets()
        if len(keys) != 1:
            self.notify("Reply to one conversation at a time.", severity="warning")
            return
        conversation = self.store.get_conversation(keys[0])
        if conversation is None:
            return
        if mode == "forward":
            self.push_screen(
                TextPrompt("Forward to (address)", "colleague@example.com"),
                lambda to: to and self._open_forward(conversation, to),
            )
            return
        try:
            templates = load_templates(template_dirs(self.config))
        except TemplateError as exc:
            # A broken user template must not take the app down (tests/faults).
            self.notify(f"Cannot list templates: {exc}", severity="error", markup=False)
            return
        text = " ".join(
            [conversation["subject"], *(m["text"] for m in conversation["messages"][-3:])]
        )
        ranked = suggest(templates, text, limit=len(templates))
        first = {s.template.key for s in ranked[:3] if s.score > 0}
        choices = [("", "(no template: write it yourself)")]
        for suggestion in ranked:
            t = suggestion.template
            star = "★ " if t.key in first else "  "
            choices.append((t.key, f"{star}{t.key}  {one_line(t.description)}"))
        self.push_screen(
            Picker(
                "Reply with which template?",
                choices,
                current=ranked[0].template.key if first else "",
                filterable=True,
            ),
            lambda key: key is not None and self._open_reply(conversation, key, mode),
        )

    def _open_reply(self, conversation: dict[str, Any], template_key: str, mode: str) -> None:
        from mailtriage.compose.message import ComposeError
        from mailtriage.compose.reply import prepare_reply
        from mailtriage.compose.templates import (
            TemplateError,
            find_template,
            load_templates,
            template_dirs,
        )
        from mailtriage.tui.compose_screen import ComposeScreen

        try:
            template = None
            if template_key:
                templates = load_templates(template_dirs(self.config))
                template = find_template(templates, template_key, None)
            prepared = prepare_reply(
                self.config,
                self.account.name,
                conversation,
                template,
                reply_all=mode == "reply-all",
            )
        except (TemplateError, ComposeError, LookupError) as exc:
            self.notify(
                f"Cannot prepare the reply: {exc}", severity="error", timeout=10, markup=False
            )
            return
        title = f"{'Reply all' if mode == 'reply-all' else 'Reply'} · {conversation['id']}"
        self.push_screen(ComposeScreen(prepared, title=title, customer=conversation["customer"]))

    def _open_forward(self, conversation: dict[str, Any], to: str) -> None:
        from mailtriage.compose import tone
        from mailtriage.compose.message import (
            Addr,
            ComposeError,
            build_forward,
            encoding_warnings,
            from_address,
        )
        from mailtriage.compose.reply import PreparedReply, conversation_language
        from mailtriage.smtp.outbox import Snapshot
        from mailtriage.tui.compose_screen import ComposeScreen

        language = conversation_language(conversation)
        try:
            sender = from_address(self.account.address, self.config.compose.from_name)
            message = build_forward(
                conversation,
                sender=sender,
                to=[Addr("", to)],
                signature=self.config.compose.signature,
                language=language,
                charset=self.config.compose.charset,
            )
        except ComposeError as exc:
            self.notify(f"Cannot forward: {exc}", severity="error")
            return
        prepared = PreparedReply(
            message,
            tone.check(message.body, language=language),
            encoding_warnings(message),
            Snapshot.of_conversation(conversation, self.config.agent, self.account.address),
            language,
        )
        self.push_screen(ComposeScreen(prepared, title=f"Forward · {conversation['id']}"))

    async def get_outbox(self) -> Any:
        if self._outbox is None:
            from mailtriage.smtp.outbox import Outbox

            self._outbox = Outbox.for_config(self.config, self.account.name)
        return self._outbox

    async def submit_for_review(self, message: Any, template_body: str, snapshot: Any) -> None:
        from mailtriage.compose import review

        item = await review.submit_for_review(
            self.config, self.account.name, message, template_body, snapshot=snapshot
        )
        supervisors = ", ".join(self.config.supervisors) or "a supervisor"
        self.notify(f"Submitted for review ({item.id}); {supervisors} will approve or return it.")
        self.check_for_changes()

    async def enqueue_outgoing(
        self, message: Any, snapshot: Any, send_at: float | None = None
    ) -> None:
        """Commit the reply to the outbox (raises if it cannot); the sender takes it from there."""
        if self.account.smtp is None:
            raise ValueError(
                f"no SMTP server for account {self.account.name}: add"
                f" [accounts.{self.account.name}.smtp] to the config, or submit for review"
            )
        outbox = await self.get_outbox()
        item, warnings = outbox.enqueue(message, snapshot=snapshot, send_at=send_at)
        self.last_queued = item.id
        seconds = max(0, round(item.send_at - time.time()))
        if send_at is None:
            text = f"Sending in {seconds} s to {', '.join(item.recipients)} · ctrl+z undoes"
        else:
            at = time.strftime("%Y-%m-%d %H:%M", time.localtime(item.send_at))
            text = (
                f"Scheduled for {at} to {', '.join(item.recipients)}; held if the customer"
                " writes first · ctrl+z undoes"
            )
        for warning in warnings:
            text += f"\n⚠ {warning}"
        self.notify(text, timeout=min(max(4, seconds), 15))
        self.update_status()
        self.deliver_loop()

    def action_undo_send(self) -> None:
        if self._outbox is None or self.last_queued is None:
            self.notify("Nothing to undo.", timeout=2)
            return
        if self._outbox.cancel(self.last_queued):
            self.notify("Cancelled: the reply was not sent; it stays in the outbox as cancelled.")
        else:
            self.notify("Too late: the reply is already on its way.", severity="warning")
        self.last_queued = None
        self.update_status()

    def deliver_loop(self) -> None:
        """Make sure the sender runs; never restart it (a restart could cut an SMTP send)."""
        if self._delivering:
            self._deliver_again = True
            return
        self._delivering = True
        self._deliver()

    @work(group="deliver", exit_on_error=False, description="sending mail")
    async def _deliver(self) -> None:
        try:
            outbox = await self.get_outbox()
            while True:
                self._deliver_again = False
                for delivery in await outbox.deliver_due():
                    severity = "information" if delivery.state == "done" else "warning"
                    item = outbox.get(delivery.item_id)
                    about = f" · {one_line(item.subject)}" if item is not None else ""
                    self.notify(f"{delivery.message}{about}", severity=severity, timeout=6)
                self.update_status()
                due = [i.send_at for i in outbox.pending() if i.state in ACTIVE_SENDS]
                if not due and not self._deliver_again:
                    break
                # Sleep until the next send is due (a scheduled one may be days away).
                await asyncio.sleep(min(max(min(due, default=0) - time.time(), 1.0), 30.0))
        finally:
            self._delivering = False
            self.update_status()

    def action_reviews(self) -> None:
        from mailtriage.tui.review_screen import ReviewScreen

        self.push_screen(ReviewScreen())

    # -- knowledge base ----------------------------------------------------------------------

    def get_kb(self) -> Any:
        """The knowledge base brought up to date with its files, or None (and a notice) when
        there is none or it cannot be opened."""
        from mailtriage.kb.article import KbError
        from mailtriage.kb.base import open_kb

        try:
            if self._kb is None:
                self._kb = open_kb(self.config)
            else:
                self._kb.refresh()
        except KbError as exc:
            self.notify(f"Knowledge base: {exc}", severity="error", timeout=8)
            return None
        return self._kb

    def today(self) -> date:
        return date.fromtimestamp(self.clock) if self.clock is not None else date.today()

    @work(group="kb", exit_on_error=False, description="counting the KB article's use")
    async def log_kb_use(self, key: str, article: Any, how: str) -> None:
        """A kb-used event on the server: `kb --check` counts usage from these."""
        actions = await self.get_actions()
        details = {"article": article.ident, "title": article.title, "how": how}
        result = await actions.log_event(key, "kb-used", details)
        if not result.ok:
            self.notify(f"KB use not logged: {result.message}", severity="warning")
        elif result.warning:
            self.notify(result.warning, severity="warning")

    def action_reports(self) -> None:
        from mailtriage.tui.reports_screen import ReportsScreen

        self.push_screen(ReportsScreen())

    def action_help(self) -> None:
        from mailtriage.tui.help_screen import HelpScreen

        self.push_screen(HelpScreen(self.screen))

    # -- sync --------------------------------------------------------------------------------

    def update_status(self) -> None:
        text = (
            f" {self.account.name} · {self.account.address} · as {self.config.agent} ·"
            f" {self.sync_state}"
        )
        if self.counts.get("overdue"):
            text += f" · {self.counts['overdue']} overdue"
        if self._loading_shown:
            text += " · loading…"
        if self._outbox is not None:
            waiting = len(self._outbox.pending())
            if waiting:
                text += f" · outbox {waiting}"
        from textual.css.query import NoMatches

        for screen in self.screen_stack:
            show = getattr(screen, "show_status", None)
            if show is not None:
                try:
                    show(text)
                except NoMatches:
                    # A sync event at exit, after the screen's widgets went (tests/faults:
                    # a BYE and a reconnect while the app closes).
                    continue

    def set_sync_state(self, state: str) -> None:
        self.sync_state = state
        self.update_status()

    @work(exclusive=True, group="sync", exit_on_error=False, description="sync with the server")
    async def sync_loop(self) -> None:
        """Lives as long as the app: the account's watch loop (IDLE push, reconnect with
        backoff) keeps the cache current; its events become the status line."""
        from mailtriage.imap.account import AccountSync

        try:
            password = await asyncio.to_thread(self.account.imap.resolve_password)
        except Exception as exc:  # a failing password_command must not kill the app
            self.set_sync_state(f"offline: {exc}")
            return
        self.syncer = AccountSync(self.account, password)
        self.team_loop(password)
        self.warm_bodies()

        def on_event(event: Any) -> None:
            # Called on the sync thread. post_message is thread-safe and never blocks:
            # call_from_thread would wait for the UI loop, which at exit waits for us.
            self.post_message(SyncEventArrived(event))

        try:
            await self.syncer.watch(on_event)
        finally:
            await self.syncer.close()
            self.syncer = None

    @work(group="bodies", exit_on_error=False, description="opening the body connection")
    async def warm_bodies(self) -> None:
        if self.syncer is not None:
            await self.syncer.warm_bodies()

    @work(exclusive=True, group="team", exit_on_error=False, description="following the team")
    async def team_loop(self, password: str) -> None:
        """Others' presence, notes and events within a second (IDLE on the app folder)."""
        from mailtriage.imap.team_watch import watch_team

        await watch_team(self.account, password)

    def on_sync_event_arrived(self, message: SyncEventArrived) -> None:
        self.sync_event(message.event)

    def sync_event(self, event: Any) -> None:
        if event.kind == "listed":
            # Not routed, nor the status line: the "changed" after the bodies does both.
            self.list_changed()
            return
        if event.kind == "idle":
            self.set_sync_state(f"{event.message} · {time.strftime('%H:%M:%S')}")
        else:
            self.set_sync_state(event.message)
        if event.kind in ("changed", "idle"):
            self.check_for_changes()
        if event.kind == "changed" and self._acks_wanted():
            self.auto_ack()
        if event.kind in ("changed", "idle"):
            self.route_new_mail()

    def route_new_mail(self) -> None:
        """Rules and CSAT ratings on arrival (rules.arrival): once per message, team-wide."""
        if self._closing:
            return
        if self._router is None:
            from mailtriage.rules.arrival import ArrivalRunner, wanted

            self._router = (
                ArrivalRunner(self.config, self.account.name, self._routed, self.get_actions)
                if wanted(self.config)
                else False
            )
        if self._router:
            self._router.poke()

    def _routed(self, line: str) -> None:
        self.notify(line, timeout=6)

    def _acks_wanted(self) -> bool:
        from mailtriage.compose.autoack import enabled

        return enabled(self.config)

    def auto_ack(self) -> None:
        # Not exclusive: cancelling it between the server-side claim and the enqueue would
        # mark a conversation acknowledged without ever sending the acknowledgement.
        if self.account.smtp is None or self._acking:
            return
        self._acking = True
        self._auto_ack()

    @work(group="auto-ack", exit_on_error=False, description="auto-acknowledging")
    async def _auto_ack(self) -> None:
        """One RFC 3834 acknowledgement per new conversation (config compose.auto_ack)."""
        from mailtriage.compose.autoack import auto_acknowledge

        try:
            outbox = await self.get_outbox()
            acks = await auto_acknowledge(self.config, self.account.name, outbox)
        finally:
            self._acking = False
        if any(ack.sent for ack in acks):
            self.deliver_loop()

    @on(Worker.StateChanged)
    def worker_failed(self, event: Worker.StateChanged) -> None:
        if event.state == WorkerState.ERROR:
            if event.worker.group == "list":
                self._list_settled.set()  # the rows stay as they were: nothing more will come
            error = event.worker.error
            log.error("%s failed", event.worker.description, exc_info=error)
            self.notify(f"{event.worker.description} failed: {error}", severity="error", timeout=8)

    async def on_unmount(self) -> None:
        # Timers and queued messages (an SLA count, a sync event) may still arrive while
        # the connections close below: nothing may touch the cache after this.
        self._closing = True
        gc.unfreeze()  # this app's objects become collectable again once it is gone
        for timer in self._poll_timers:
            timer.stop()
        self._loads.interrupt()  # a list load still reading has nobody to show it to
        if self._router:
            await self._router.wait()  # a claimed message must get its rules applied
        if self._actions is not None:
            await self._actions.close()
        if self._outbox is not None:
            await self._outbox.close()
        if self._kb is not None:
            self._kb.close()
        self.store.close()


def setup_logging() -> Path:
    from mailtriage.files import private_log_handler

    path = log_path()
    # 0600 in a 0700 directory, passwords scrubbed: the log quotes server answers and errors.
    handler = private_log_handler(path)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger("mailtriage")
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    return path


def make_app(config: Config, **kwargs: Any) -> MailtriageApp:
    """The one way in: tests and the CLI build the app here with an explicit config."""
    return MailtriageApp(config, **kwargs)


def run_app(config: Config, *, account: str | None = None) -> int:
    from mailtriage.compose.ack_templates import check_templates

    check_templates(config)  # ConfigError: refuse to start (see check_templates)
    setup_logging()
    make_app(config, account=account).run()
    return 0
