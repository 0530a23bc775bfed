"""Header parsing in a worker process (imap.parsing): the same rows as inline, a dead worker
costs nothing but speed, and a large sync through it leaves the same cache."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest

from mailtriage.demo.corpus import build_demo_corpus
from mailtriage.imap import parsing
from mailtriage.imap.commands import Fetched, FetchLine, records
from mailtriage.imap.parsing import Batch, Parser, parse_rows
from mailtriage.store import Store
from support.mailfactory import make_message
from sync.conftest import account_config
from sync.test_headers import _as_server_sends

BATCH = Batch("INBOX", "inbox", 7)


def _fetched() -> list[Fetched]:
    return [
        Fetched(uid, ["\\Seen"] if uid % 3 else [], "20-Nov-2026 09:00:00 +0900", 900, uid, block)
        for uid, block in enumerate(
            (_as_server_sends(m.raw) for m in build_demo_corpus(conversations=40)), start=1
        )
    ]


def _as_lines(fetched: list[Fetched]) -> list[FetchLine]:
    """The FETCH responses a server sends for these records, as uid_fetch_lines reads them."""
    lines = []
    for f in fetched:
        assert f.literal is not None
        head = (
            f"* {f.uid} FETCH (UID {f.uid} FLAGS ({' '.join(f.flags or [])}) INTERNALDATE"
            f' "{f.internaldate}" RFC822.SIZE {f.size} MODSEQ ({f.modseq})'
            f" BODY[HEADER.FIELDS (DATE FROM)] {{{len(f.literal)}}}\r\n)\r\n"
        )
        lines.append((head.encode(), f.literal))
    return lines


def _submit(parser: Parser, fetched: list[Fetched]) -> list[object]:
    lines = _as_lines(fetched)
    assert records(lines) == fetched  # what the worker decodes is what was sent
    return parser.submit(BATCH, lines, {f.uid for f in fetched}).result(timeout=60)


def _started(parser: Parser) -> None:
    assert parser._ready is not None
    parser._ready.result(timeout=60)  # the spawned worker has imported the parser


def test_worker_rows_equal_inline_rows(tmp_path: Path, imap_account) -> None:  # type: ignore[no-untyped-def]
    account = account_config(tmp_path, imap_account)
    fetched = _fetched()
    parser = Parser(account, total=parsing.WORKER_THRESHOLD)
    try:
        _started(parser)
        remote = _submit(parser, fetched)
        worker_pids = [p.pid for p in parser._pool._processes.values()]  # type: ignore[union-attr]
    finally:
        parser.close()
    assert worker_pids and os.getpid() not in worker_pids
    assert remote == parse_rows(account, BATCH, fetched)
    assert len(remote) == len(fetched) > 50


def test_a_killed_worker_falls_back_to_inline(tmp_path: Path, imap_account) -> None:  # type: ignore[no-untyped-def]
    account = account_config(tmp_path, imap_account)
    fetched = _fetched()
    parser = Parser(account, total=parsing.WORKER_THRESHOLD)
    try:
        _started(parser)
        for process in parser._pool._processes.values():  # type: ignore[union-attr]
            os.kill(process.pid, signal.SIGKILL)
            process.join(10)
        first = _submit(parser, fetched)
        second = _submit(parser, fetched)
    finally:
        parser.close()
    assert first == second == parse_rows(account, BATCH, fetched)


def test_small_syncs_start_no_worker(tmp_path: Path, imap_account) -> None:  # type: ignore[no-untyped-def]
    parser = Parser(account_config(tmp_path, imap_account), total=parsing.WORKER_THRESHOLD - 1)
    assert parser._pool is None
    parser.close()


def test_sync_through_the_worker_gives_the_same_cache(
    tmp_path: Path, imap_account, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    from mailtriage.imap.session import AccountSession

    imap_account.append_many(
        "INBOX",
        [make_message(message_id=f"<p{i}@example.jp>", minutes=i) for i in range(1200)],
    )
    started = Parser.__init__

    def start_and_wait(self: Parser, *args: object) -> None:
        started(self, *args)  # type: ignore[arg-type]
        if self._pool is not None:
            _started(self)  # so every batch, not only the later ones, goes to the worker

    monkeypatch.setattr(Parser, "__init__", start_and_wait)
    used: list[int] = []
    real_settle = parsing._settle
    monkeypatch.setattr(parsing, "_settle", lambda *a: (used.append(1), real_settle(*a)))
    caches = []
    for name, threshold in (("inline", 10**9), ("worker", 1)):
        monkeypatch.setattr(parsing, "WORKER_THRESHOLD", threshold)
        (tmp_path / name).mkdir()
        account = account_config(tmp_path / name, imap_account)
        session = AccountSession(account, account.imap.resolve_password())
        try:
            assert session.sync(prefetch_limit=0).new == 1200
        finally:
            session.close()
        store = Store(account.cache_path, readonly=True)
        caches.append(
            (
                store.conn.execute(
                    "SELECT uid, message_id, subject, from_email, ts, flags, conversation"
                    " FROM messages ORDER BY uid"
                ).fetchall(),
                store.conn.execute("SELECT * FROM conversations ORDER BY key").fetchall(),
            )
        )
        store.close()
    assert used  # batches really went through the worker
    assert caches[0] == caches[1]
    assert len(caches[0][0]) == 1200
