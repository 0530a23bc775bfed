"""`mailtriage forget` (privacy) and `mailtriage reassign` (a supervisor's bulk hand-over)."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from mailtriage.cli_options import add_account, add_json
from mailtriage.config import Config, ConfigError, check_agent_name
from mailtriage.errors import MailtriageError

COMMANDS = ("forget", "reassign")
EXIT_USAGE, EXIT_REFUSED = 2, 7


def add_admin_commands(
    sub: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser
) -> None:
    p = sub.add_parser(
        "forget",
        parents=[common],
        help="remove a customer's data from the local cache (erasure requests)",
        description="Delete every cached conversation in which CUSTOMER (an email address) "
        "wrote or was written to: messages, search index, history and notes, attachments, "
        "unsent outbox entries and log lines. Mail on the server is not touched: the command "
        "counts what remains there, per folder. A later sync fetches it again unless it is "
        "deleted on the server too.",
    )
    p.add_argument("customer", metavar="CUSTOMER", help="the customer's email address")
    add_account(p)
    p.add_argument("--offline", action="store_true", help="do not ask the server what remains")
    add_json(p)

    p = sub.add_parser(
        "reassign",
        parents=[common],
        help="hand every open conversation of one agent to another (supervisors)",
        description="Assign every conversation that FROM owns and is not done to TO (`-` for "
        "nobody), each through the same compare-and-swap as `assign`. Only team.supervisors "
        "may do this.",
    )
    p.add_argument("from_agent", metavar="FROM", help="the agent whose conversations move")
    p.add_argument("to_agent", metavar="TO", help="a team member, or - to unassign")
    add_account(p)
    p.add_argument("--dry-run", action="store_true", help="list what would move, change nothing")
    add_json(p)


def run_admin_command(config: Config, accounts: list[str], args: argparse.Namespace) -> int:
    if args.command == "forget":
        return cmd_forget(config, accounts, args)
    return cmd_reassign(config, accounts, args)


# -- forget ------------------------------------------------------------------------------------


def cmd_forget(config: Config, accounts: list[str], args: argparse.Namespace) -> int:
    from mailtriage.config import default_state_dir
    from mailtriage.store.forget import forget_in_cache, forget_in_log, forget_in_outbox
    from mailtriage.store.outbox import outbox_path

    email = args.customer.strip().lower()
    if "@" not in email or any(c.isspace() or c in "\"'()<>" for c in email):
        print(f"mailtriage: {args.customer!r} is not an email address", file=sys.stderr)
        return EXIT_USAGE
    results: list[dict[str, Any]] = []
    status = 0
    log = default_state_dir() / "mailtriage.log"
    for name in accounts:
        account = config.accounts[name]
        result: dict[str, Any] = {"account": name, "customer": email}
        if account.cache_path.exists():
            report = forget_in_cache(account.cache_path, email)
        else:
            from mailtriage.store.forget import ForgetReport

            report = ForgetReport()
        outbox, in_flight = forget_in_outbox(outbox_path(config.compose.outbox_dir, name), email)
        result["removed"] = {
            "conversations": report.conversations,
            "messages": report.messages,
            "events_and_notes": report.events,
            "outbox": outbox,
        }
        result["outbox_in_flight"] = in_flight
        if args.offline:
            result["server"] = None
        else:
            try:
                result["server"] = server_remains(config, name, email, report.conversation_keys)
            except MailtriageError as exc:
                result["server"] = None
                result["server_error"] = str(exc)
                status = exc.exit_code
        results.append(result)
    log_lines = forget_in_log(log, email)
    for result in results:
        result["removed"]["log_lines"] = log_lines
    if args.json:
        from mailtriage.cli import dumps_json

        for result in results:
            print(dumps_json(result))
    else:
        for result in results:
            _print_forget(result)
    return status


def _print_forget(result: dict[str, Any]) -> None:
    removed = result["removed"]
    print(
        f"{result['account']}: forgot {result['customer']} locally: "
        f"{removed['conversations']} conversations, {removed['messages']} messages, "
        f"{removed['events_and_notes']} events and notes, {removed['outbox']} outbox entries, "
        f"{removed['log_lines']} log lines"
    )
    if result["outbox_in_flight"]:
        print(
            f"  {result['outbox_in_flight']} outbox entries are being sent right now and were "
            "kept; run forget again when they are done"
        )
    server = result.get("server")
    if server is None:
        why = result.get("server_error", "not asked (--offline)")
        print(f"  on the server: unknown ({why})")
        return
    folders = {k: v for k, v in server["folders"].items() if v}
    if not folders and not server["app_folder_items"]:
        print("  on the server: nothing left")
        return
    listing = ", ".join(f"{folder}: {count}" for folder, count in folders.items()) or "no mail"
    print(f"  still on the server (not deleted): {listing}")
    if server["app_folder_items"]:
        print(
            f"  and {server['app_folder_items']} notes/events about these conversations in "
            f"{server['app_folder']}"
        )
    print("  a later sync brings that mail back: delete it on the server to erase it there")


def server_remains(config: Config, name: str, email: str, keys: list[str]) -> dict[str, Any]:
    """Messages per folder that have `email` in From, To or Cc (IMAP SEARCH, read-only
    EXAMINE of every selectable folder), and app-folder items about the forgotten
    conversations. Nothing is changed on the server."""
    from mailtriage.imap.connection import connect

    account = config.accounts[name]
    client = connect(account.imap, account.imap.resolve_password())
    folders: dict[str, int] = {}
    app_items = 0
    charset = None if email.isascii() else "UTF-8"
    try:
        for flags, _, folder in client.list_folders():
            if any(f.lower() == b"\\noselect" for f in flags):
                continue
            client.select_folder(folder, readonly=True)
            found = client.search(
                ["OR", "FROM", email, "OR", "TO", email, "CC", email], charset=charset
            )
            folders[folder] = len(found)
            if folder == account.app_folder:
                for key in keys:
                    app_items += len(client.search(["HEADER", "X-Mailtriage-Conversation", key]))
            client.unselect_folder()
    finally:
        try:
            client.logout()
        except Exception:  # the report is made; a failing LOGOUT changes nothing
            client.shutdown()
    return {"folders": folders, "app_folder": account.app_folder, "app_folder_items": app_items}


# -- reassign ----------------------------------------------------------------------------------


def cmd_reassign(config: Config, accounts: list[str], args: argparse.Namespace) -> int:
    from mailtriage.roles import bulk_reassign_refusal
    from mailtriage.runner import run_async
    from mailtriage.store import Store

    try:
        source = check_agent_name(args.from_agent)
        target = None if args.to_agent == "-" else check_agent_name(args.to_agent)
    except ConfigError as exc:
        print(f"mailtriage: {exc.problem}", file=sys.stderr)
        return EXIT_USAGE
    if target is not None and config.members and target not in config.members:
        print(f"mailtriage: {target!r} is not in team.members", file=sys.stderr)
        return EXIT_USAGE
    refusal = bulk_reassign_refusal(config)
    if refusal and not args.dry_run:
        print(f"mailtriage: {refusal}", file=sys.stderr)
        return EXIT_REFUSED
    moved: list[dict[str, Any]] = []
    status = 0
    for name in accounts:
        store = Store(config.accounts[name].cache_path, readonly=True)
        try:
            todo = store.list_conversations("mine", agent=source)
        finally:
            store.close()
        if args.dry_run:
            moved += [{"account": name, "id": c["id"], "ok": None, "message": ""} for c in todo]
            continue
        results = run_async(_assign_all(config, name, [c["key"] for c in todo], target))
        for conversation, result in zip(todo, results, strict=True):
            moved.append(
                {
                    "account": name,
                    "id": conversation["id"],
                    "ok": result.ok,
                    "message": result.message,
                }
            )
            if not result.ok:
                status = EXIT_REFUSED
    if args.json:
        from mailtriage.cli import dumps_json

        print(dumps_json({"from": source, "to": target, "conversations": moved}))
    else:
        verb = "would move" if args.dry_run else "moved"
        done = sum(1 for m in moved if m["ok"] is not False)
        print(f"{verb} {done} of {len(moved)} conversations from {source} to {target or 'nobody'}")
        for m in moved:
            if m["ok"] is False:
                print(f"  {m['id']}: {m['message']}", file=sys.stderr)
    return status


async def _assign_all(config: Config, name: str, keys: list[str], target: str | None) -> list[Any]:
    from mailtriage.imap.actions import AccountActions

    account = config.accounts[name]
    actions = AccountActions(account, account.imap.resolve_password(), config.agent, config.members)
    try:
        return [await actions.assign(key, target) for key in keys]
    finally:
        await actions.close()
