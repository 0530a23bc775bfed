"""`mailtriage escalate|deescalate|handover|notice`: the support desk's escalation path,
away/handover, and proactive notices, from a shell.

Each validates everything it can before the first change on the server (a bad target,
template or address is a one-line error and exit 2), and prints one line per step.
"""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any

from mailtriage.cli_options import add_account, add_json
from mailtriage.config import Config
from mailtriage.runner import run_async

EXIT_NOT_FOUND = 1
EXIT_USAGE = 2
EXIT_SERVER = 6
EXIT_CONFLICT = 7
EXIT_FAILED = 8  # something was queued but not delivered (see `mailtriage outbox`)
COMMANDS = ("escalate", "deescalate", "notice", "handover", "away")
_EXIT_FOR_REASON = {"conflict": EXIT_CONFLICT, "not-found": EXIT_NOT_FOUND, "refused": EXIT_SERVER}


def add_escalation_commands(
    sub: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser
) -> None:
    p = sub.add_parser(
        "escalate",
        parents=[common],
        help="escalate a conversation to a supervisor or a department",
        description="Escalate: an internal note with the reason (@mentioning whoever must "
        "act), the `escalated` tag (the Escalated view, sla.escalated), an event naming the "
        "target; optionally a forward of the whole conversation to the department's address "
        "and a holding reply to the customer, both through the outbox and sent now.",
    )
    p.add_argument("id", help="conversation id (a unique prefix of 4+ is enough)")
    p.add_argument("to", metavar="TO", help="a supervisor (team.supervisors) or a department")
    p.add_argument("--reason", required=True, help="why (goes into the internal note)")
    p.add_argument(
        "--forward",
        action="store_true",
        help="forward the conversation with its history to the department's address",
    )
    p.add_argument(
        "--hold",
        metavar="TEMPLATE",
        nargs="?",
        const="holding",
        help="send the customer a holding reply from TEMPLATE (default: holding)",
    )
    p.add_argument(
        "--answer-by",
        metavar="TEXT",
        help="the date the holding reply promises (default: 3 business days from now)",
    )
    add_account(p)
    add_json(p)

    p = sub.add_parser(
        "deescalate",
        parents=[common],
        help="take a conversation back from escalation, with a note",
        description="Remove the `escalated` tag, add an internal note, log `deescalated`.",
    )
    p.add_argument("id", help="conversation id (a unique prefix of 4+ is enough)")
    p.add_argument("--note", required=True, help="what came back (an internal note)")
    add_account(p)
    add_json(p)

    p = sub.add_parser(
        "notice",
        parents=[common],
        help="send a proactive notice to many customers, one message each",
        description="Render TEMPLATE for every customer chosen (a search, a tag, or a CSV "
        "with an email column; other columns become template variables) and send each "
        "its own message through the outbox, rate-limited. Re-running the same notice the "
        "same day sends nothing twice. --dry-run shows the first three and the count.",
    )
    p.add_argument("template", help="template name or key (e.g. notice-outage, en/notice-outage)")
    who = p.add_mutually_exclusive_group(required=True)
    who.add_argument("--to-search", metavar="QUERY", help="the customers of matching conversations")
    who.add_argument("--to-tag", metavar="TAG", help="the customers of conversations with TAG")
    who.add_argument("--to-csv", metavar="FILE", help="a CSV file with an email column")
    p.add_argument(
        "--set",
        dest="values",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a template variable for every message (repeatable)",
    )
    p.add_argument("--language", default="ja", help="template language when TEMPLATE is a name")
    p.add_argument("--campaign", metavar="NAME", help="campaign id (default: template+values+day)")
    p.add_argument("--dry-run", action="store_true", help="show the first three and the count")
    p.add_argument(
        "--rate",
        default="10/s",
        metavar="N/s",
        help="messages per second (N/s or N/min; default 10/s)",
    )
    add_account(p)
    add_json(p)

    p = sub.add_parser(
        "handover",
        parents=[common],
        help="hand all of an agent's open conversations to a colleague (going away)",
        description="Reassign every open conversation of FROM to TO (compare-and-swap, as "
        "`assign`), add the handover note (申し送り) to each, shown at the top of the "
        "conversation, and mark FROM away for the whole team.",
    )
    p.add_argument("from_agent", metavar="FROM", help="the agent going away")
    p.add_argument("to_agent", metavar="TO", help="the colleague taking over")
    p.add_argument("--note", required=True, help="the handover note (申し送り)")
    add_account(p)
    add_json(p)

    p = sub.add_parser(
        "away",
        parents=[common],
        help="who is away; --back NAME when someone returns",
        description="Agents away: team.away from the config plus those marked away on the "
        "server (by `handover`). --back NAME marks NAME back for everyone.",
    )
    p.add_argument("--back", metavar="NAME", help="mark NAME back")
    add_account(p)
    add_json(p)


def run_escalation_command(config: Config, accounts: list[str], args: argparse.Namespace) -> int:
    if args.command in ("handover", "away"):
        return _team(config, accounts[0], args)
    if args.command == "escalate":
        return _escalate(config, accounts, args)
    if args.command == "notice":
        from mailtriage.cli_notice import run_notice

        return run_notice(config, accounts, args)
    return _deescalate(config, accounts, args)


def _err(message: str) -> None:
    print(f"mailtriage: {message}", file=sys.stderr)


def _escalate(config: Config, accounts: list[str], args: argparse.Namespace) -> int:
    from mailtriage.cli_compose import _find_conversation
    from mailtriage.triage.departments import find_target

    try:
        target = find_target(config, args.to)
    except ValueError as exc:
        _err(str(exc))
        return EXIT_USAGE
    if not " ".join(args.reason.split()):
        _err("--reason is empty: say why it is escalated")
        return EXIT_USAGE
    if args.forward and not target.address:
        _err(f'{target.name} has no address to forward to (add address = "…" to its table)')
        return EXIT_USAGE
    found = _find_conversation(config, accounts, args.id)
    if found is None:
        return EXIT_NOT_FOUND
    account, conversation = found
    if (args.forward or args.hold) and config.accounts[account].smtp is None:
        _err(f"--forward and --hold send mail: accounts.{account}.smtp is not configured")
        return EXIT_USAGE
    return run_async(_escalate_async(config, account, conversation, target, args))


async def _escalate_async(
    config: Config, account: str, conversation: dict[str, Any], target: Any, args: Any
) -> int:
    from mailtriage.compose.message import ComposeError
    from mailtriage.compose.templates import TemplateError
    from mailtriage.smtp.outbox import Outbox
    from mailtriage.triage.escalation import escalate

    actions = _actions(config, account)
    box = Outbox.for_config(config, account) if (args.forward or args.hold) else None
    try:
        try:
            outcome = await escalate(
                config,
                account,
                conversation,
                target,
                args.reason,
                actions=actions,
                outbox=box,
                forward=args.forward,
                hold=args.hold,
                answer_by=args.answer_by,
                send_at=time.time(),
                now=time.time(),
            )
        except (LookupError, TemplateError, ComposeError, ValueError) as exc:
            _err(str(exc.args[0]) if isinstance(exc, LookupError) else str(exc))
            return EXIT_USAGE
        sent = await _deliver(box, [outcome.forward_message_id, outcome.hold_message_id])
    finally:
        await actions.close()
        if box is not None:
            await box.close()
    return _report(outcome, sent, args.json)


async def _deliver(box: Any, message_ids: list[str | None]) -> list[dict[str, Any]]:
    """Send what the command queued now; each item's final state, for the report."""
    wanted = [m for m in message_ids if m]
    if box is None or not wanted:
        return []
    await box.deliver_due()
    out = []
    for mid in wanted:
        item = box.by_message_id(mid)
        if item is not None:
            out.append(dict(item.as_json(), message=item.reason or item.state))
    return out


def _report(outcome: Any, sent: list[dict[str, Any]], as_json: bool) -> int:
    undelivered = [s for s in sent if s["state"] != "done"]
    if as_json:
        from mailtriage.cli import dumps_json

        print(dumps_json(dict(outcome.as_json(), outbox=sent)))
    else:
        out = sys.stdout if outcome.ok else sys.stderr
        for line in outcome.steps or [outcome.message]:
            print(line, file=out)
        for s in sent:
            state = "sent" if s["state"] == "done" else s["state"]
            reason = f" ({s['reason']})" if s["reason"] and s["state"] != "done" else ""
            print(f"outbox #{s['id']}: {state}: {s['subject']}{reason}", file=out)
        for w in outcome.warnings:
            _err(f"warning: {w}")
    if not outcome.ok:
        return _EXIT_FOR_REASON.get(outcome.reason or "", EXIT_CONFLICT)
    return EXIT_FAILED if undelivered else 0


def _actions(config: Config, account: str) -> Any:
    from mailtriage.imap.actions import AccountActions

    acc = config.accounts[account]
    return AccountActions(acc, acc.imap.resolve_password(), config.agent, config.members)


def _deescalate(config: Config, accounts: list[str], args: argparse.Namespace) -> int:
    from mailtriage.cli_compose import _find_conversation

    if not " ".join(args.note.split()):
        _err("--note is empty: say what came back from the escalation")
        return EXIT_USAGE
    found = _find_conversation(config, accounts, args.id)
    if found is None:
        return EXIT_NOT_FOUND
    account, conversation = found

    async def run() -> Any:
        from mailtriage.triage.escalation import deescalate

        actions = _actions(config, account)
        try:
            return await deescalate(conversation, args.note, actions=actions)
        finally:
            await actions.close()

    outcome = run_async(run())
    if not outcome.ok and outcome.reason == "not-escalated":
        _err(outcome.message)
        return EXIT_USAGE
    return _report(outcome, [], args.json)


def _check_member(config: Config, name: str) -> None:
    from mailtriage.config import ConfigError, check_agent_name

    try:
        check_agent_name(name)
    except ConfigError as exc:
        raise ValueError(exc.problem) from None
    if config.members and name not in config.members:
        raise ValueError(f"{name!r} is not in team.members ({', '.join(config.members)})")


def _team(config: Config, account: str, args: argparse.Namespace) -> int:
    from mailtriage.store import Store
    from mailtriage.triage import handover as ho

    try:
        for name in [args.from_agent, args.to_agent] if args.command == "handover" else []:
            _check_member(config, name)
        if args.command == "away" and args.back:
            _check_member(config, args.back)
        if args.command == "handover" and not " ".join(args.note.split()):
            raise ValueError("--note is empty: write the 申し送り for your colleague")
    except ValueError as exc:
        _err(str(exc))
        return EXIT_USAGE
    store = Store(config.accounts[account].cache_path, readonly=True)
    try:
        handing = args.command == "handover"
        keys = ho.open_conversations(store.conn, args.from_agent) if handing else []
        away = sorted(ho.away_agents(store.conn, config.away))
    finally:
        store.close()
    if args.command == "away" and not args.back:
        if args.json:
            from mailtriage.cli import dumps_json

            print(dumps_json(away))
        else:
            print("\n".join(away) if away else "nobody is away")
        return 0

    async def run() -> Any:
        actions = _actions(config, account)
        try:
            if args.command == "away":
                return await ho.set_away(actions, args.back, False)
            return await ho.handover(actions, keys, args.from_agent, args.to_agent, args.note)
        finally:
            await actions.close()

    try:
        result = run_async(run())
    except ValueError as exc:
        _err(str(exc))
        return EXIT_USAGE
    if args.command == "away":
        print(f"{args.back} is back" if result else f"{args.back}: not logged, try again")
        return 0 if result else EXIT_SERVER
    if args.json:
        from mailtriage.cli import dumps_json

        print(dumps_json(dict(result.as_json(), total=len(keys))))
    else:
        print(
            f"{args.from_agent} → {args.to_agent}: {len(result.handed)} of {len(keys)}"
            f" open conversations handed over"
            + (f"; {args.from_agent} is away" if result.away_logged else "")
        )
        for line in result.refused:
            _err(f"not handed over: {line}")
        for w in result.warnings:
            _err(f"warning: {w}")
    return 0 if result.ok else EXIT_CONFLICT
