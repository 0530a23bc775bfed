"""`mailtriage sync [--watch]`: every account's sync, with progress and a summary.

The one-shot path runs each account's blocking session on a plain thread and imports rich
only when it draws a bar: a no-change sync is one SELECT per folder, so start-up cost is most
of the whole process (DESIGN.md §5: ≤ 150 ms).
"""

from __future__ import annotations

import json
import sys
import threading
import time
from typing import Any

from mailtriage.config import Config
from mailtriage.errors import MailtriageError
from mailtriage.imap.leader import SyncLeader
from mailtriage.imap.session import AccountSession
from mailtriage.imap.sync import GONE, Progress, SyncReport


class _Skipped:
    """Another process leads this cache's sync: not an error, nothing done."""

    def __init__(self, holder: str):
        self.holder = holder


def _sync_one(config: Config, name: str, progress: Progress | None) -> SyncReport | _Skipped:
    account = config.accounts[name]
    leader = SyncLeader(account.cache_path, "sync")
    if not leader.try_acquire():
        return _Skipped(leader.holder())
    session = AccountSession(account, account.imap.resolve_password())
    try:
        report = session.sync(progress)
        if session.notice:
            print(f"mailtriage: {name}: {session.notice}", file=sys.stderr)
        return report
    finally:
        session.close()
        leader.release()


def _run_threads(config: Config, names: list[str], progress: Any) -> list[Any]:
    results: list[Any] = [None] * len(names)

    def run(index: int, name: str) -> None:
        try:
            results[index] = _sync_one(config, name, _reporter(progress, name))
        except BaseException as exc:  # handed to the main thread, which reports or re-raises
            results[index] = exc

    if len(names) == 1:
        run(0, names[0])
        return results
    threads = [threading.Thread(target=run, args=(i, n)) for i, n in enumerate(names)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def _reporter(progress: Any, name: str) -> Progress | None:
    if progress is None:
        return None
    tasks: dict[str, int] = {}

    def report(folder: str, done: int, total: int) -> None:
        label = f"{name}/{folder}"
        if label not in tasks:
            tasks[label] = progress.add_task(label, total=total or 1)
        progress.update(tasks[label], completed=done if total else 1, total=total or 1)

    return report


def run_sync(
    config: Config, names: list[str], *, as_json: bool, quiet: bool, watch: bool = False
) -> int:
    if watch:
        return run_watch(config, names, quiet=quiet)
    started = time.perf_counter()
    if sys.stderr.isatty() and not quiet and not as_json:
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            TextColumn,
            TimeElapsedColumn,
        )
        from rich.progress import Progress as Bar

        columns = (
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
        )
        with Bar(*columns, console=Console(stderr=True), transient=True) as bar:
            results = _run_threads(config, names, bar)
    else:
        results = _run_threads(config, names, None)
    elapsed = time.perf_counter() - started
    status = 0
    summary = []
    for name, result in zip(names, results, strict=True):
        if isinstance(result, MailtriageError):
            print(f"mailtriage: {name}: {result}", file=sys.stderr)
            status = status or result.exit_code
            summary.append({"account": name, "ok": False, "error": str(result)})
            continue
        if isinstance(result, BaseException):
            raise result
        if isinstance(result, _Skipped):
            line = f"{result.holder} is already syncing this cache; nothing to do"
            summary.append({"account": name, "ok": True, "skipped": line})
            if not as_json:
                print(f"{name}: {line}")
            continue
        resets = [f.folder for f in result.folders if f.uidvalidity_reset]
        missing = [f.folder for f in result.folders if f.missing]
        summary.append(
            {
                "account": name,
                "ok": True,
                "new": result.new,
                "flag_changes": result.flag_changes,
                "vanished": result.vanished,
                "uidvalidity_reset": resets,
                "missing": missing,
                "seconds": round(result.seconds, 3),
            }
        )
        if not as_json:
            extra = f"; {', '.join(resets)} rebuilt (UIDVALIDITY changed)" if resets else ""
            if missing:
                extra += f"; {', '.join(missing)} {GONE}"
            print(
                f"{name}: {result.new} new, {result.flag_changes} changed, "
                f"{result.vanished} removed in {elapsed:.1f} s{extra}"
            )
    if as_json:
        print(json.dumps(summary, ensure_ascii=False, indent=2))
    return status


def run_watch(config: Config, names: list[str], *, quiet: bool) -> int:
    """Keep every account's cache current until interrupted; one line per event."""
    import asyncio

    from mailtriage.compose.ack_templates import check_templates
    from mailtriage.imap.account import AccountSync, SyncEvent

    if any(_Acknowledger.wanted(config, n) for n in names):
        check_templates(config)  # ConfigError: refuse to start (see check_templates)

    last: dict[str, str] = {}

    def show(event: SyncEvent) -> None:
        # "syncing…" every wake-up would scroll a quiet terminal: print only what changed.
        if quiet and event.kind in ("syncing", "idle"):
            return
        # "listed" is said again by the "changed" that follows it.
        if event.kind in ("syncing", "listed") or last.get(event.account) == event.message:
            return
        last[event.account] = event.message
        stamp = time.strftime("%H:%M:%S")
        print(f"{stamp} {event.account}: {event.message}", flush=True)

    async def watch_all() -> None:
        loop = asyncio.get_running_loop()
        acks = {n: _Acknowledger(config, n) for n in names if _Acknowledger.wanted(config, n)}
        routers = {n: _router(config, n) for n in names} if _routing(config) else {}

        def on_event(event: SyncEvent) -> None:
            show(event)
            ack = acks.get(event.account)
            if ack is not None and event.kind == "changed":
                loop.call_soon_threadsafe(ack.poke)
            router = routers.get(event.account)
            if router is not None and event.kind in ("changed", "idle"):
                loop.call_soon_threadsafe(router.poke)  # routing rules on arrival

        syncers = [
            AccountSync(config.accounts[n], config.accounts[n].imap.resolve_password())
            for n in names
        ]
        try:
            await asyncio.gather(*(s.watch(on_event) for s in syncers))
        finally:
            for syncer in syncers:
                await syncer.close()
            for ack in acks.values():
                await ack.close()
            for router in routers.values():
                await router.wait()

    asyncio.run(watch_all())
    return 0


def _routing(config: Config) -> bool:
    from mailtriage.rules.arrival import wanted

    return wanted(config)


def _router(config: Config, account: str) -> Any:
    from mailtriage.rules.arrival import ArrivalRunner

    def report(line: str) -> None:
        print(f"{time.strftime('%H:%M:%S')} {account}: {line}", flush=True)

    return ArrivalRunner(config, account, report)


class _Acknowledger:
    """compose.auto_ack for a `sync --watch` with no app open: after each sync that brought
    mail, acknowledge what is new and send it (passes.CoalescedPasses). Safe beside a running
    app: the acknowledgement is claimed on the server first (compose.autoack), so only one of
    them sends it."""

    def __init__(self, config: Config, account: str):
        from mailtriage.passes import CoalescedPasses

        self.config = config
        self.account = account
        self._outbox: Any = None
        # A bad template or SMTP trouble must not end the watch: one line, next poke retries.
        self._passes = CoalescedPasses(self._once, lambda exc: self._say(f"auto-ack: {exc}"))

    @staticmethod
    def wanted(config: Config, account: str) -> bool:
        from mailtriage.compose.autoack import enabled

        return enabled(config) and config.accounts[account].smtp is not None

    def poke(self) -> None:
        self._passes.poke()

    def _say(self, line: str) -> None:
        print(f"{time.strftime('%H:%M:%S')} {self.account}: {line}", flush=True)

    async def _once(self) -> None:
        from mailtriage.compose.autoack import auto_acknowledge
        from mailtriage.smtp.outbox import Outbox

        if self._outbox is None:
            self._outbox = Outbox.for_config(self.config, self.account)
        await auto_acknowledge(self.config, self.account, self._outbox)
        for delivery in await self._outbox.deliver_due():
            self._say(f"auto-ack {delivery.message}")

    async def close(self) -> None:
        # An SMTP send must not be cut: let a running pass finish.
        await self._passes.wait()
        if self._outbox is not None:
            await self._outbox.close()
