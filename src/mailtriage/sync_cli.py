"""`mailtriage sync`: run every account's sync concurrently, with progress and a summary."""

from __future__ import annotations

import asyncio
import json
import sys
import time

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from mailtriage.config import Config
from mailtriage.errors import MailtriageError
from mailtriage.imap.account import AccountSync
from mailtriage.imap.sync import SyncReport


async def _sync_one(config: Config, name: str, progress: Progress | None) -> SyncReport:
    account = config.accounts[name]
    syncer = AccountSync(account, account.imap.resolve_password())
    tasks: dict[str, int] = {}

    def report(folder: str, done: int, total: int) -> None:
        if progress is None:
            return
        label = f"{name}/{folder}"
        if label not in tasks:
            tasks[label] = progress.add_task(label, total=total or 1)
        progress.update(tasks[label], completed=done if total else 1, total=total or 1)

    try:
        return await syncer.sync(report)
    finally:
        await syncer.close()


async def _sync_all(config: Config, names: list[str], progress: Progress | None) -> list:
    return await asyncio.gather(
        *(_sync_one(config, name, progress) for name in names), return_exceptions=True
    )


def run_sync(config: Config, names: list[str], *, as_json: bool, quiet: bool) -> int:
    started = time.perf_counter()
    show_bar = sys.stderr.isatty() and not quiet and not as_json
    if show_bar:
        columns = (
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
        )
        with Progress(*columns, console=Console(stderr=True), transient=True) as progress:
            results = asyncio.run(_sync_all(config, names, progress))
    else:
        results = asyncio.run(_sync_all(config, names, None))
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
        summary.append(
            {
                "account": name,
                "ok": True,
                "new": result.new,
                "flag_changes": result.flag_changes,
                "vanished": result.vanished,
                "uidvalidity_reset": [f.folder for f in result.folders if f.uidvalidity_reset],
                "seconds": round(result.seconds, 3),
            }
        )
        if not as_json:
            resets = [f.folder for f in result.folders if f.uidvalidity_reset]
            extra = f"; {', '.join(resets)} rebuilt (UIDVALIDITY changed)" if resets else ""
            print(
                f"{name}: {result.new} new, {result.flag_changes} changed, "
                f"{result.vanished} removed in {elapsed:.1f} s{extra}"
            )
    if as_json:
        print(json.dumps(summary, ensure_ascii=False, indent=2))
    return status
