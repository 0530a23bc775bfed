"""Header parsing for a large sync, in a second process.

Decoding and threading-ready rows cost ~75 µs a message in Python, as much as storing them;
an initial sync of 100k messages did both on one core. Here a large sync hands each fetched
batch to one worker process while this one writes the previous batch to SQLite (and a reader
thread fetches the next): three stages, two cores. Small syncs (and the first batches of a
large one, while the worker starts) parse inline: starting a process costs more than they do.

The worker gets the FETCH lines as read off the socket (bytes pickle at memcpy speed) and
decodes them itself: decoding the records here and pickling them cost the process that also
writes SQLite ~0.9 s of CPU at 100k. Rows travel back as plain tuples: unpickling 2,000
dataclass instances cost ~3x as much.
"""

from __future__ import annotations

import dataclasses
import gc
import multiprocessing
import operator
from collections.abc import Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from functools import lru_cache

from mailtriage.config import AccountConfig
from mailtriage.imap.commands import Fetched, FetchLine, records
from mailtriage.mime.model import Address
from mailtriage.store import MessageRow
from mailtriage.store.ingest import json_list

# Below this many new messages a worker process does not pay for its start (~0.2 s CPU).
WORKER_THRESHOLD = 5000

_as_tuple = operator.attrgetter(*(f.name for f in dataclasses.fields(MessageRow)))
_account: AccountConfig | None = None  # in the worker, set once by _init


@dataclasses.dataclass(frozen=True)
class Batch:
    folder: str
    role: str
    uidvalidity: int


def parse_rows(
    account: AccountConfig, batch: Batch, fetched: Sequence[Fetched]
) -> list[MessageRow]:
    """Cache rows (headers only) from FETCH records of BODY.PEEK[HEADER.FIELDS (...)].

    The lists the cache only stores (to, cc, attachments, warnings) come as their JSON text,
    and rows with the same flags share one list: encoding here, and sending one string
    instead of a list of dicts, took ~1 s off the writing process at 100k messages."""
    from mailtriage.imap.headers import parse_header_fields
    from mailtriage.imap.sync import row_from_parsed

    rows = []
    flag_lists: dict[tuple[str, ...], list[str]] = {}
    for record in fetched:
        parsed = parse_header_fields(record.literal or b"")
        row = row_from_parsed(
            account, batch.folder, batch.role, batch.uidvalidity, record, parsed, raw=None
        )
        row.to, row.cc = _addresses_json(tuple(parsed.to)), _addresses_json(tuple(parsed.cc))
        row.attachments, row.warnings = json_list(row.attachments), json_list(row.warnings)
        row.flags = flag_lists.setdefault(tuple(row.flags), row.flags)
        rows.append(row)
    return rows


@lru_cache(maxsize=8192)
def _addresses_json(addresses: tuple[Address, ...]) -> str:
    """An address list as the cache stores it, encoded once per distinct list: most
    messages of a support mailbox are to the same address."""
    from mailtriage.imap.sync import address_dicts

    return json_list(address_dicts(addresses))


def one_per_uid(response: list[Fetched], wanted: set[int]) -> list[Fetched]:
    """The answer for each wanted UID; an unsolicited FLAGS-only FETCH must not replace it."""
    best: dict[int, Fetched] = {}
    for fetched in response:
        if fetched.uid in wanted and (fetched.uid not in best or fetched.literal is not None):
            best[fetched.uid] = fetched
    return list(best.values())


def parse_lines(
    account: AccountConfig, batch: Batch, lines: Sequence[FetchLine], wanted: set[int]
) -> list[MessageRow]:
    """Cache rows from the FETCH lines of one batch (uid_fetch_lines) for the wanted UIDs."""
    return parse_rows(account, batch, one_per_uid(records(lines), wanted))


def _init(account: AccountConfig) -> None:
    global _account
    _account = account
    # The worker lives for one fetch and builds only acyclic rows; the cyclic collector
    # re-scanning them cost a fifth of its CPU (100k messages: 7.1 s -> 5.4 s without).
    # What cycles a malformed header's exception leaves go with the process.
    gc.disable()


def _ready() -> None:
    """Runs first in the worker: imports the parser, so the first real batch does not."""
    import mailtriage.imap.headers
    import mailtriage.imap.sync  # noqa: F401


def _parse_in_worker(
    batch: Batch, lines: Sequence[FetchLine], wanted: set[int]
) -> list[tuple[object, ...]]:
    assert _account is not None
    return [_as_tuple(row) for row in parse_lines(_account, batch, lines, wanted)]


def _rows(future: Future[list[tuple[object, ...]]]) -> list[MessageRow]:
    return [MessageRow(*fields) for fields in future.result()]  # type: ignore[arg-type]


class Parser:
    """submit(batch, lines, wanted) -> a future of the rows, parsed inline or by the worker."""

    def __init__(self, account: AccountConfig, total: int):
        self.account = account
        self._pool: ProcessPoolExecutor | None = None
        self._ready: Future[None] | None = None
        if total >= WORKER_THRESHOLD:
            # spawn, not fork: this process has threads (the IMAP reader) holding locks.
            self._pool = ProcessPoolExecutor(
                1,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=_init,
                initargs=(account,),
            )
            self._ready = self._pool.submit(_ready)

    def submit(
        self, batch: Batch, lines: list[FetchLine], wanted: set[int]
    ) -> Future[list[MessageRow]]:
        done: Future[list[MessageRow]] = Future()
        if self._pool is not None and self._ready is not None and self._ready.done():
            try:
                remote = self._pool.submit(_parse_in_worker, batch, lines, wanted)
            except BrokenProcessPool:
                self._pool = None  # the worker died: parse here from now on
            else:
                remote.add_done_callback(lambda f: _settle(done, f, self, batch, lines, wanted))
                return done
        done.set_result(parse_lines(self.account, batch, lines, wanted))
        return done

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None


def _settle(
    done: Future[list[MessageRow]],
    remote: Future[list[tuple[object, ...]]],
    parser: Parser,
    batch: Batch,
    lines: list[FetchLine],
    wanted: set[int],
) -> None:
    try:
        done.set_result(_rows(remote))
    except BrokenProcessPool:
        # Killed from outside (OOM killer, a user's kill): this batch is parsed here instead.
        parser._pool = None
        try:
            done.set_result(parse_lines(parser.account, batch, lines, wanted))
        except BaseException as exc:
            done.set_exception(exc)
    except BaseException as exc:
        done.set_exception(exc)
