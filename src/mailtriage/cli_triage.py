"""`mailtriage claim|assign|status|priority|tag|note`: triage changes from a shell.

Each resolves the id in the cache, changes the server through `imap.actions` (compare-and-swap
for status and assignee), prints one line (or `--json`), and exits 7 when someone else changed
the conversation first, so scripts can tell "lost a race" from "broken".
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from mailtriage.cli_options import add_account, add_json
from mailtriage.config import Config, ConfigError, check_agent_name
from mailtriage.runner import run_async
from mailtriage.triage.state import STATUSES

EXIT_NOT_FOUND = 1
EXIT_USAGE = 2
EXIT_SERVER = 6
EXIT_CONFLICT = 7
COMMANDS = ("claim", "assign", "status", "priority", "tag", "note")
_EXIT_FOR_REASON = {
    "conflict": EXIT_CONFLICT,
    "not-found": EXIT_NOT_FOUND,
    "stale-cache": EXIT_NOT_FOUND,
    "refused": EXIT_SERVER,
}


def add_triage_commands(
    sub: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser
) -> None:
    def command(name: str, help_text: str, description: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, parents=[common], help=help_text, description=description)
        p.add_argument("id", help="conversation id, e.g. K3F9Q2AB (a unique prefix is enough)")
        return p

    def finish(p: argparse.ArgumentParser) -> None:
        add_account(p)
        add_json(p)

    finish(
        command(
            "claim",
            "take a conversation: assign it to you, in progress",
            "Assign an unowned conversation to yourself and mark it in progress. Refused "
            "(exit 7) when someone else owns it or claimed it first.",
        )
    )
    p = command("assign", "assign a conversation to an agent", "Assign, or `-` for nobody.")
    p.add_argument("assignee", metavar="AGENT", help="a team member, or - to unassign")
    finish(p)
    p = command("status", "set unhandled, in-progress or done", "Set the status.")
    p.add_argument("status", choices=STATUSES)
    finish(p)
    p = command("priority", "set urgent or normal", "Set the priority.")
    p.add_argument("priority", choices=("urgent", "normal"))
    finish(p)
    p = command(
        "tag",
        "add (+x) or remove (-x) tags",
        "Add and remove tags: `tag ID +billing -later`. `later` and `no-reply` are the "
        "Later and No-reply folders. Options go before ID (everything after it is a tag).",
    )
    # REMAINDER: "-later" would otherwise be taken for an unknown option.
    p.add_argument(
        "changes", nargs=argparse.REMAINDER, metavar="±TAG", help="+tag to add, -tag to remove"
    )
    finish(p)
    p = command(
        "note",
        "add an internal note (never sent to the customer)",
        "Add an internal note for the team, stored on the server in the app folder. "
        "@name mentions a team member. Options go before ID (everything after it is text).",
    )
    p.add_argument("text", nargs=argparse.REMAINDER, metavar="TEXT", help="the note")
    finish(p)


def parse_tag_changes(changes: list[str]) -> tuple[list[str], list[str]]:
    if not changes:
        raise ValueError("no tag changes: write +TAG to add or -TAG to remove")
    add, remove = [], []
    for change in changes:
        sign, tag = change[:1], change[1:]
        if sign not in "+-" or not sign or not tag:
            raise ValueError(f"{change!r}: write +TAG to add or -TAG to remove")
        (add if sign == "+" else remove).append(tag)
    return add, remove


def run_triage_command(config: Config, accounts: list[str], args: argparse.Namespace) -> int:
    """Called by cli.main for COMMANDS; returns the exit status."""
    from mailtriage.store import Store
    from mailtriage.store.cache import CacheError

    try:
        call = _action(config, args)
    except ValueError as exc:
        print(f"mailtriage: {exc}", file=sys.stderr)
        return EXIT_USAGE
    matches: list[tuple[str, str, str]] = []
    for name in accounts:
        try:
            store = Store(config.accounts[name].cache_path, readonly=True)
        except CacheError as exc:
            print(f"mailtriage: {name}: {exc}", file=sys.stderr)
            return EXIT_NOT_FOUND
        try:
            matches += [(name, key, _sid(store, key)) for key in store.resolve_id(args.id)]
        finally:
            store.close()
    if not matches:
        print(f"mailtriage: no conversation with id {args.id!r}", file=sys.stderr)
        return EXIT_NOT_FOUND
    if len(matches) > 1:
        ids = ", ".join(sid for _, _, sid in matches[:10])
        print(
            f"mailtriage: id {args.id!r} is ambiguous: {ids}; type more characters", file=sys.stderr
        )
        return EXIT_NOT_FOUND
    name, key, _ = matches[0]
    result = run_async(_run(config, name, key, call))
    if args.json:
        from mailtriage.cli import dumps_json

        print(dumps_json(_result_json(config, name, key, result)))
    else:
        print(result.message, file=sys.stdout if result.ok else sys.stderr)
        if result.warning:
            print(f"mailtriage: warning: {result.warning}", file=sys.stderr)
    return 0 if result.ok else _EXIT_FOR_REASON.get(result.reason or "", EXIT_CONFLICT)


def _sid(store: Any, key: str) -> str:
    found = store.get_conversation(key)
    return found["id"] if found else key[:8]


def _action(config: Config, args: argparse.Namespace) -> Any:
    """The AccountActions call to make, validated before any network traffic."""
    if args.command == "claim":
        return lambda a, key: a.claim(key)
    if args.command == "assign":
        agent = None if args.assignee == "-" else args.assignee
        if agent is not None:
            try:
                check_agent_name(agent)
            except ConfigError as exc:
                raise ValueError(exc.problem) from exc
            if config.members and agent not in config.members:
                raise ValueError(f"{agent!r} is not in team.members ({', '.join(config.members)})")
        return lambda a, key: a.assign(key, agent)
    if args.command == "status":
        return lambda a, key: a.set_status(key, args.status)
    if args.command == "priority":
        return lambda a, key: a.set_priority(key, args.priority)
    if args.command == "note":
        text = " ".join(args.text).strip()
        if not text:
            raise ValueError("no note text: mailtriage note ID TEXT")
        return lambda a, key: a.add_note(key, text)
    add, remove = parse_tag_changes(args.changes)
    from mailtriage.triage.claims import tag_keyword

    for tag in add + remove:
        tag_keyword(tag)  # raises ValueError with the rule
    return lambda a, key: a.set_tags(key, add=add, remove=remove)


async def _run(config: Config, name: str, key: str, call: Any) -> Any:
    from mailtriage.imap.actions import AccountActions

    account = config.accounts[name]
    actions = AccountActions(account, account.imap.resolve_password(), config.agent, config.members)
    try:
        return await call(actions, key)
    finally:
        await actions.close()


def _result_json(config: Config, name: str, key: str, result: Any) -> dict[str, Any]:
    from mailtriage.store import Store

    store = Store(config.accounts[name].cache_path, readonly=True)
    try:
        conversation = store.get_conversation(key)
        if conversation is not None:
            conversation.pop("messages", None)
            conversation["account"] = name
            conversation["timeline"] = store.timeline(key)
    finally:
        store.close()
    return {
        "ok": result.ok,
        "message": result.message,
        "conflict_with": result.conflict_with,
        "reason": result.reason,
        "warning": result.warning,
        "conversation": conversation,
    }
