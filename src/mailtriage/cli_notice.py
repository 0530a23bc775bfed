"""`mailtriage notice`: a proactive notice to many customers (compose.notices)."""

from __future__ import annotations

import argparse
import re
import sys
import time
from pathlib import Path
from typing import Any

from mailtriage.config import Config
from mailtriage.runner import run_async

EXIT_USAGE = 2
EXIT_FAILED = 8
DRY_RUN_SHOWN = 3
_RATE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(?:/\s*(s|sec|min|m))?\s*$")


def parse_rate(text: str) -> float:
    """ "5/s", "5", "120/min" -> messages per second (0.01-100)."""
    match = _RATE.match(text)
    if not match:
        raise ValueError(f"--rate {text!r}: write N/s or N/min, e.g. --rate 5/s")
    rate = float(match.group(1)) / (60.0 if match.group(2) in ("min", "m") else 1.0)
    if not 0.01 <= rate <= 100:
        raise ValueError(f"--rate {text!r}: choose between 1/min and 100/s")
    return rate


def _err(message: str) -> None:
    print(f"mailtriage: {message}", file=sys.stderr)


def _recipients(config: Config, account: str, args: argparse.Namespace) -> list[Any]:
    from mailtriage.compose import notices
    from mailtriage.store import Store

    if args.to_csv:
        return notices.recipients_from_csv(Path(args.to_csv).expanduser())
    store = Store(config.accounts[account].cache_path, readonly=True)
    try:
        if args.to_search:
            found = store.search(args.to_search)
        else:
            found = [c for c in store.list_conversations("all") if args.to_tag in c["tags"]]
    finally:
        store.close()
    return notices.recipients_from_conversations(found, config.accounts[account].address)


def run_notice(config: Config, accounts: list[str], args: argparse.Namespace) -> int:
    from datetime import UTC, datetime

    from mailtriage.compose import notices
    from mailtriage.compose.message import ComposeError
    from mailtriage.compose.templates import (
        TemplateError,
        find_template,
        load_templates,
        template_dirs,
    )

    account = accounts[0]
    try:
        rate = parse_rate(args.rate)
        extra: dict[str, str] = {}
        for value in args.values:
            name, eq, text = value.partition("=")
            if not eq or not name.isidentifier():
                raise ValueError(f"--set {value!r}: write NAME=VALUE")
            extra[name] = text
        templates = load_templates(template_dirs(config))
        template = find_template(templates, args.template, args.language)
        recipients = _recipients(config, account, args)
        if not recipients:
            raise ValueError("no recipients: the search, tag or CSV gave no customer address")
        now = datetime.now(UTC).astimezone()
        campaign = args.campaign or notices.campaign_id(template, extra, now.date().isoformat())
        # Every message is rendered before the first is queued: one bad row stops nothing
        # half-way through the list.
        messages = [
            notices.build_notice(
                config, account, template, r, campaign=campaign, extra=extra, now=now
            )
            for r in recipients
        ]
    except LookupError as exc:
        _err(str(exc.args[0]))
        return EXIT_USAGE
    except (ValueError, TemplateError, ComposeError) as exc:
        _err(str(exc))
        return EXIT_USAGE
    if args.dry_run:
        return _dry_run(messages, template.key, campaign, rate, args.json)
    if config.accounts[account].smtp is None:
        _err(f"accounts.{account}.smtp is not configured: nothing can be sent")
        return EXIT_USAGE
    return run_async(_send(config, account, messages, campaign, rate, args.json))


def _dry_run(messages: list[Any], key: str, campaign: str, rate: float, as_json: bool) -> int:
    from mailtriage.mime.sanitize import sanitize_for_terminal

    shown = messages[:DRY_RUN_SHOWN]
    if as_json:
        from mailtriage.cli import dumps_json

        print(
            dumps_json(
                {
                    "template": key,
                    "campaign": campaign,
                    "count": len(messages),
                    "rate_per_second": rate,
                    "first": [
                        {"to": m.to[0].email, "subject": m.subject, "body": m.body} for m in shown
                    ],
                }
            )
        )
        return 0
    for number, m in enumerate(shown, 1):
        to = f"{m.to[0].name} <{m.to[0].email}>" if m.to[0].name else m.to[0].email
        print(sanitize_for_terminal(f"=== {number}/{len(messages)}  To: {to}"))
        print(sanitize_for_terminal(f"Subject: {m.subject}\n"))
        print(sanitize_for_terminal(m.body))
    print(
        f"{len(messages)} messages would be sent ({key}, campaign {campaign}), one per customer,"
        f" at {rate:g}/s (about {len(messages) / rate:.0f} s). Nothing was sent (--dry-run)."
    )
    return 0


async def _send(
    config: Config, account: str, messages: list[Any], campaign: str, rate: float, as_json: bool
) -> int:
    from mailtriage.compose.notices import send_notices
    from mailtriage.smtp.outbox import Outbox

    started = time.monotonic()
    tty = sys.stderr.isatty()
    step = max(1, len(messages) // 10)
    shown = {"last": -1}

    def show(p: Any) -> None:
        line = f"notice: {p.sent}/{p.total} sent"
        if p.retried:
            line += f", {p.retried} retried"
        if p.failed:
            line += f", {len(p.failed)} failed"
        if tty:
            print(f"\r{line}", end="", file=sys.stderr, flush=True)
        elif p.finished // step != shown["last"] or p.finished == p.total:
            shown["last"] = p.finished // step
            print(line, file=sys.stderr, flush=True)

    # A short first backoff: a 451 mid-run is retried within seconds, not half a minute.
    box = Outbox.for_config(config, account, backoff=(1.0, 60.0))
    try:
        progress = await send_notices(box, messages, rate=rate, start=time.time(), on_progress=show)
    finally:
        await box.close()
    if tty:
        print(file=sys.stderr)
    seconds = time.monotonic() - started
    if as_json:
        from mailtriage.cli import dumps_json

        print(
            dumps_json(
                {
                    "campaign": campaign,
                    "total": progress.total,
                    "sent": progress.sent,
                    "already_sent": progress.already,
                    "retried": progress.retried,
                    "failed": progress.failed,
                    "seconds": round(seconds, 2),
                }
            )
        )
    else:
        earlier = f" ({progress.already} by an earlier run)" if progress.already else ""
        print(
            f"notice: {progress.sent} of {progress.total} sent{earlier},"
            f" {len(progress.failed)} failed, in {seconds:.1f} s (campaign {campaign})"
        )
        for line in progress.failed:
            _err(f"not sent: {line}; see `mailtriage outbox`")
    return EXIT_FAILED if progress.failed else 0
