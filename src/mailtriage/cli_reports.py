"""`mailtriage report|sla|rules`: KPIs, SLA clocks and routing rules from a shell.

All three read the cache (run `mailtriage sync` first); only `rules --apply` writes, through
the same compare-and-swap actions as `assign`/`priority`/`tag`/`status`.
"""

from __future__ import annotations

import argparse
import csv
import io
import sys
import time
from datetime import datetime
from typing import Any

from mailtriage.cli_options import add_account, add_json
from mailtriage.config import Config
from mailtriage.runner import run_async

EXIT_NOT_FOUND = 1
EXIT_USAGE = 2
EXIT_CONFLICT = 7
COMMANDS = ("report", "sla", "rules")


def add_report_commands(
    sub: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser
) -> None:
    p = sub.add_parser(
        "report",
        parents=[common],
        help="KPIs: response and resolution times, FCR, reopens, backlog, SLA attainment",
        description="Team KPIs from the cached mail and the server's event log. DATE is "
        "YYYY-MM-DD (midnight in sla.timezone) or an ISO 8601 time.",
    )
    p.add_argument("--since", metavar="DATE", help="from (default: 30 days before --until)")
    p.add_argument("--until", metavar="DATE", help="until, exclusive (default: now)")
    p.add_argument("--by", choices=("agent", "tag", "day"), help="a table grouped by this")
    out = p.add_mutually_exclusive_group()
    add_json(out)
    out.add_argument("--csv", action="store_true", help="print the table as CSV")
    add_account(p)

    p = sub.add_parser(
        "sla",
        parents=[common],
        help="SLA clocks of open conversations",
        description="Open conversations with their SLA clock, most urgent first.",
    )
    which = p.add_mutually_exclusive_group()
    which.add_argument("--overdue", action="store_true", help="only overdue ones")
    which.add_argument("--due-soon", action="store_true", help="only those due soon")
    add_json(p)
    add_account(p)

    p = sub.add_parser(
        "rules",
        parents=[common],
        help="test or apply the routing rules",
        description="`--test ID` shows which rules match a conversation and why (changes "
        "nothing); `--apply` applies them to conversations with customer mail since --since.",
    )
    mode = p.add_mutually_exclusive_group(required=True)
    mode.add_argument("--test", metavar="ID", help="dry run on one conversation")
    mode.add_argument("--apply", action="store_true", help="apply to recent conversations")
    mode.add_argument("--plan", action="store_true", help="show what --apply would do")
    p.add_argument("--since", metavar="DATE", help="customer mail since (default: 1 day ago)")
    add_json(p)
    add_account(p)


def parse_when(text: str, config: Config) -> float:
    """YYYY-MM-DD is midnight in the SLA zone; anything else must be ISO 8601."""
    zone = config.sla.calendar.zone
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{text!r} is not a date: write YYYY-MM-DD or an ISO 8601 time") from None
    if value.tzinfo is None:
        value = value.replace(tzinfo=zone)
    return value.timestamp()


def run_report_command(config: Config, accounts: list[str], args: argparse.Namespace) -> int:
    from mailtriage.store import Store
    from mailtriage.store.cache import CacheError

    try:
        handler = {"report": _report, "sla": _sla, "rules": _rules}[args.command]
        prepared = _window(config, args)
    except ValueError as exc:
        print(f"mailtriage: {exc}", file=sys.stderr)
        return EXIT_USAGE
    status = 0
    for name in accounts:
        try:
            store = Store(config.accounts[name].cache_path, readonly=True)
        except CacheError as exc:
            print(f"mailtriage: {name}: {exc}", file=sys.stderr)
            return EXIT_NOT_FOUND
        try:
            status = max(status, handler(config, name, store, args, prepared))
        finally:
            store.close()
    return status


def _window(config: Config, args: argparse.Namespace) -> tuple[float, float]:
    now = time.time()
    until = parse_when(args.until, config) if getattr(args, "until", None) else now
    default_days = 30 if args.command == "report" else 1
    since = (
        parse_when(args.since, config)
        if getattr(args, "since", None)
        else until - default_days * 86400
    )
    if since >= until:
        raise ValueError("--since must be before --until")
    return since, until


def _hours(seconds: float | None) -> str:
    from mailtriage.sla.kpi import hours_text

    return hours_text(seconds)


def _pct(rate: float | None) -> str:
    from mailtriage.sla.kpi import percent_text

    return percent_text(rate)


def _report(config: Config, name: str, store: Any, args: argparse.Namespace, window: Any) -> int:
    from mailtriage.sla.kpi import report

    since, until = window
    data = report(store.conn, config.sla, since, until, by=args.by, now=time.time())
    data["account"] = name
    if args.json:
        from mailtriage.cli import dumps_json

        print(dumps_json(data))
        return 0
    rows = data.get("rows") or [{"account": name, **_flat_summary(data["summary"])}]
    if args.csv:
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=list(rows[0]) if rows else ["none"])
        writer.writeheader()
        writer.writerows(rows)
        sys.stdout.write(buffer.getvalue())
        return 0
    s = data["summary"]
    print(f"{name}: {data['since'][:16]} .. {data['until'][:16]} ({data['timezone']})")
    print(f"  conversations {s['conversations']}, resolved {s['resolved']}")
    fr, frb = s["first_response"], s["first_response_business"]
    print(
        f"  first response: mean {_hours(fr['mean'])}, median {_hours(fr['median'])}"
        f" (business: mean {_hours(frb['mean'])}, median {_hours(frb['median'])})"
    )
    res, resb = s["resolution"], s["resolution_business"]
    print(
        f"  resolution: mean {_hours(res['mean'])}, median {_hours(res['median'])}"
        f" (business: median {_hours(resb['median'])})"
    )
    print(
        f"  first-contact resolution {_pct(s['first_contact_resolution_rate'])},"
        f" reopened {_pct(s['reopen_rate'])},"
        f" SLA met: first response {_pct(s['sla_first_response'])},"
        f" resolution {_pct(s['sla_resolution'])}"
    )
    csat = data["csat"]
    if csat["count"]:
        spread = " ".join(f"{n}★{c}" for n, c in enumerate(csat["distribution"], start=1))
        print(f"  CSAT {csat['mean']:.2f}/5 from {csat['count']} ratings ({spread})")
    print(f"  customer messages {data['volume']['messages']}; by hour: {_spark(data)}")
    if data.get("rows"):
        _table(data["rows"])
    return 0


def _spark(data: dict[str, Any]) -> str:
    counts = data["volume"]["by_hour"]
    top = max(counts) or 1
    bars = " ▁▂▃▄▅▆▇█"
    return "".join(bars[round(8 * c / top)] for c in counts) + " (0-23h)"


def _flat_summary(s: dict[str, Any]) -> dict[str, Any]:
    from mailtriage.sla.kpi import _flat

    return _flat(s)


def _table(rows: list[dict[str, Any]]) -> None:
    from mailtriage.sla.kpi import cell_text

    names = list(rows[0])
    table = [[cell_text(n, r[n]) for n in names] for r in rows]
    widths = [max(len(n), *(len(row[i]) for row in table)) for i, n in enumerate(names)]
    print("  " + "  ".join(n.ljust(w) for n, w in zip(names, widths, strict=True)))
    for row in table:
        print("  " + "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)))


def _sla(config: Config, name: str, store: Any, args: argparse.Namespace, window: Any) -> int:
    from mailtriage.sla import due_soon_keys, open_clocks, overdue_keys

    now = time.time()
    if args.overdue:
        keys = overdue_keys(store.conn, now, config.sla)
    elif args.due_soon:
        keys = due_soon_keys(store.conn, now, config.sla)
    else:
        clocks = open_clocks(store.conn, now, config.sla)
        keys = sorted(clocks, key=lambda k: clocks[k].remaining_seconds)
    from mailtriage.sla import sla_for

    clocks = sla_for(store.conn, keys, now, config.sla)
    zone = config.sla.calendar.zone
    items = []
    for key in keys:
        conversation = store.get_conversation(key)
        clock = clocks.get(key)
        if conversation is None or clock is None:
            continue
        conversation.pop("messages", None)
        conversation["account"] = name
        conversation["sla"] = {
            "state": clock.state,
            "kind": clock.kind,
            "due_at": (
                datetime.fromtimestamp(clock.due_at, zone).isoformat() if clock.due_at else None
            ),
            "remaining_seconds": clock.remaining_seconds,
            "label": clock.label,
            "breached": clock.breached,
        }
        items.append(conversation)
    if args.json:
        from mailtriage.cli import dumps_json

        print(dumps_json(items))
        return 0
    from mailtriage.mime.sanitize import sanitize_for_terminal as sanitize_line

    for c in items:
        print(
            f"{c['id']}  {c['sla']['label']:<12} {c['sla']['kind']:<15}"
            f" {c['assignee'] or '-':<10} {sanitize_line(c['subject'])}"
        )
    return 0


def _rules(config: Config, name: str, store: Any, args: argparse.Namespace, window: Any) -> int:
    from mailtriage.rules.engine import evaluate_new, explain
    from mailtriage.store import kpi as q

    if args.test:
        keys = store.resolve_id(args.test)
        if len(keys) != 1:
            print(
                f"mailtriage: {'no' if not keys else 'ambiguous'} conversation id {args.test!r}",
                file=sys.stderr,
            )
            return EXIT_NOT_FOUND
        (key,) = keys
        matches, score = explain(store.conn, key, config)
        planned = evaluate_new(store.conn, [key], config)
        if args.json:
            from mailtriage.cli import dumps_json

            print(
                dumps_json(
                    {
                        "id": store.get_conversation(key)["id"],
                        "score": (
                            {"value": score.value, "reasons": list(score.reasons)}
                            if score
                            else None
                        ),
                        "rules": [
                            {"rule": m.rule, "matched": m.matched, "reasons": list(m.reasons)}
                            for m in matches
                        ],
                        "planned": [_planned_json(p) for p in planned],
                    }
                )
            )
            return 0
        if score is not None:
            print(f"score {score.value}" + (f": {score.summary}" if score.reasons else ""))
        if not matches:
            print("no rules configured ([[rules.rule]] in the config)")
        for m in matches:
            print(f"{'MATCH' if m.matched else 'no   '}  {m.rule}")
            for reason in m.reasons:
                print(f"         {reason}")
        for p in planned:
            print(f"would {p.action} {p.value} (rule {p.rule})")
        if matches and not planned:
            print("nothing to change")
        return 0
    since, _ = window
    planned = evaluate_new(store.conn, q.inbound_since(store.conn, since), config)
    if args.plan or not planned:
        _print_planned([(p, None) for p in planned], args.json)
        return 0
    results = run_async(_apply(config, name, planned))
    _print_planned(results, args.json)
    return 0 if all(r is None or r.ok for _, r in results) else EXIT_CONFLICT


async def _apply(config: Config, name: str, planned: list[Any]) -> list[tuple[Any, Any]]:
    from mailtriage.imap.actions import AccountActions
    from mailtriage.rules.engine import apply

    account = config.accounts[name]
    actions = AccountActions(account, account.imap.resolve_password(), config.agent, config.members)
    try:
        return await apply(actions, planned)
    finally:
        await actions.close()


def _planned_json(p: Any, result: Any = None) -> dict[str, Any]:
    item = {"id": p.id, "key": p.key, "rule": p.rule, "action": p.action, "value": p.value}
    item["why"] = p.why
    if result is not None:
        item.update(ok=result.ok, message=result.message)
    return item


def _print_planned(results: list[tuple[Any, Any]], as_json: bool) -> None:
    if as_json:
        from mailtriage.cli import dumps_json

        print(dumps_json([_planned_json(p, r) for p, r in results]))
        return
    if not results:
        print("nothing to change")
    for p, r in results:
        outcome = "planned" if r is None else ("ok" if r.ok else f"FAILED: {r.message}")
        print(f"{p.id}  {p.action} {p.value}  (rule {p.rule})  {outcome}")
