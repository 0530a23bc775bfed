"""`mailtriage` and its scriptable subcommands.

The JSON printed by `--json` is a stable contract documented in README.md: add fields, never
rename or remove them.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Callable, Sequence
from typing import Any, NoReturn

from mailtriage import __version__
from mailtriage.cli_options import add_account, add_json
from mailtriage.config import Config, ConfigError, load_config, print_warnings
from mailtriage.errors import MailtriageError
from mailtriage.triage.state import VIEWS

EXIT_USAGE = 2

# The commands defined here; the other groups live in cli_*.py and are imported and added
# only when the command line needs them: for a no-change `mailtriage sync` (budget 150 ms at
# 100k messages) importing them and building their 23 parsers cost ~25 ms.
OWN_COMMANDS = ("sync", "ls", "show", "search", "demo")
_GLOBAL_OPTIONS = ("--config", "--as", "--account")
_GLOBAL_OPTION_VALUES = tuple(f"{option}=" for option in _GLOBAL_OPTIONS)  # --config=FILE

AddCommands = Callable[[Any, argparse.ArgumentParser], None]
RunCommand = Callable[[Config, list[str], argparse.Namespace], int]


def command_groups() -> list[tuple[Sequence[str], AddCommands, RunCommand]]:
    """(commands, adds their parsers, runs one) for every group outside this module."""
    from mailtriage import cli_admin, cli_compose, cli_escalation, cli_kb, cli_reports, cli_triage

    return [
        (cli_triage.COMMANDS, cli_triage.add_triage_commands, cli_triage.run_triage_command),
        (cli_compose.COMMANDS, cli_compose.add_compose_commands, cli_compose.run_compose_command),
        (cli_reports.COMMANDS, cli_reports.add_report_commands, cli_reports.run_report_command),
        (cli_admin.COMMANDS, cli_admin.add_admin_commands, cli_admin.run_admin_command),
        (cli_kb.COMMANDS, cli_kb.add_kb_commands, cli_kb.run_kb_command),
        (
            cli_escalation.COMMANDS,
            cli_escalation.add_escalation_commands,
            cli_escalation.run_escalation_command,
        ),
    ]


# json.dumps escapes C0 controls but passes C1 controls, DEL and bidi overrides through raw;
# a terminal showing `--json` output must not interpret them.
_JSON_UNSAFE = re.compile("[\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029]")


def dumps_json(data: Any) -> str:
    text = json.dumps(data, ensure_ascii=False, indent=2)
    return _JSON_UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


class _ParseFailed(Exception):
    pass


class _QuietParser(argparse.ArgumentParser):
    """Raises instead of printing, so the full parser can parse again and say it right."""

    def error(self, message: str) -> NoReturn:
        raise _ParseFailed(message)


def build_parser(
    *, groups: bool = True, parser_class: type[argparse.ArgumentParser] = argparse.ArgumentParser
) -> argparse.ArgumentParser:
    """Every command's parser; without `groups` only OWN_COMMANDS."""
    parser = parser_class(
        prog="mailtriage",
        description="Terminal mail triage for a shared support mailbox.",
    )
    parser.add_argument("--version", action="version", version=f"mailtriage {__version__}")
    parser.add_argument("--config", metavar="FILE", help="configuration file")
    parser.add_argument("--as", dest="agent", metavar="NAME", help="act as this team member")
    parser.add_argument("--account", metavar="NAME", help="open this account (default: the first)")
    common = parser_class(add_help=False)
    # SUPPRESS: a subcommand's unset option must not overwrite the same option given before it.
    common.add_argument(
        "--config",
        default=argparse.SUPPRESS,
        metavar="FILE",
        help="configuration file (default: $MAILTRIAGE_CONFIG, then "
        "$XDG_CONFIG_HOME/mailtriage/config.toml)",
    )
    common.add_argument(
        "--as",
        dest="agent",
        default=argparse.SUPPRESS,
        metavar="NAME",
        help="act as this team member (default: $MAILTRIAGE_AGENT, then agent.name)",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser(
        "sync",
        parents=[common],
        help="fetch new mail and changes into the cache",
        description="One-shot sync of every account's INBOX and Sent folders.",
    )
    add_account(p)
    add_json(p)
    p.add_argument("--quiet", "-q", action="store_true", help="no progress bar")
    p.add_argument(
        "--watch",
        action="store_true",
        help="keep running: IDLE for new mail and changes (poll where IDLE is missing)",
    )

    p = sub.add_parser(
        "ls",
        parents=[common],
        help="list conversations in a view",
        description="List conversations, newest activity first.",
    )
    p.add_argument(
        "--view",
        choices=VIEWS,
        default="unhandled",
        help="which folder to list (default: unhandled)",
    )
    p.add_argument("--limit", type=int, metavar="N", help="at most N conversations")
    add_account(p)
    add_json(p)

    p = sub.add_parser(
        "show",
        parents=[common],
        help="show one conversation and its messages",
        description="Show a conversation by its id (any unique prefix of 4+).",
    )
    p.add_argument("id", help="conversation id, e.g. K3F9Q2AB (a unique prefix is enough)")
    add_account(p)
    add_json(p)

    p = sub.add_parser(
        "search",
        parents=[common],
        help="full-text search (Japanese too), best first",
        description="Conversations matching every term and filter, best first. Terms and "
        '"quoted phrases" match subject, sender or body as substrings; filters: from:X to:X '
        "subject:X status:S assignee:NAME|none has:attachment after:YYYY-MM-DD "
        "before:YYYY-MM-DD. See README, Search syntax.",
    )
    p.add_argument("query", nargs="+", help="terms, phrases and filters; all must match")
    p.add_argument("--limit", type=int, metavar="N", help="at most N conversations")
    add_account(p)
    add_json(p)

    p = sub.add_parser(
        "demo",
        help="run on a self-contained demo mailbox",
        description="Start a local IMAP server on 127.0.0.1 with a seeded "
        "bilingual support mailbox, sync it and show it. Nothing to configure.",
    )
    p.add_argument("--conversations", type=int, default=240, help="how many (default 240)")
    p.add_argument(
        "--print",
        dest="print_only",
        action="store_true",
        help="print the Unhandled list instead of opening the app",
    )
    p.add_argument(
        "--server",
        choices=("auto", "dovecot", "embedded"),
        default="auto",
        help="IMAP server to run: Dovecot when installed (auto), or the embedded pymap",
    )
    if groups:
        for _, add_commands, _ in command_groups():
            add_commands(sub, common)
    return parser


def _names_own_command(argv: Sequence[str]) -> bool:
    """Whether argv is global options spelt out in full, then one of OWN_COMMANDS."""
    tokens = iter(argv)
    for token in tokens:
        if token in _GLOBAL_OPTIONS:
            if next(tokens, None) is None:
                return False
        elif not token.startswith(_GLOBAL_OPTION_VALUES):
            return token in OWN_COMMANDS
    return False


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    """The full parser's answer; for OWN_COMMANDS got without importing the other groups.
    Anything the small parser refuses (an abbreviation, a value that happens to be a command
    name) is parsed again by the full one, which gives the same answer or the usual error."""
    if _names_own_command(argv):
        try:
            return build_parser(groups=False, parser_class=_QuietParser).parse_args(argv)
        except _ParseFailed:
            pass
    return build_parser().parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    from mailtriage.passwords import install_excepthook, redact

    install_excepthook()
    args = parse_args(sys.argv[1:] if argv is None else argv)
    try:
        if not args.command:
            config = load_config(args.config, agent_override=args.agent)
            print_warnings(config)
            from mailtriage.tui.app import run_app

            return run_app(config, account=args.account)
        if args.command == "demo":
            from mailtriage.demo.run import run_demo
            from mailtriage.tui.app import run_app

            return run_demo(
                conversations=args.conversations,
                print_only=args.print_only or not sys.stdout.isatty(),
                server_choice=args.server,
                open_app=run_app,
            )
        config = load_config(args.config, agent_override=args.agent)
        print_warnings(config)
        accounts = _select_accounts(config, getattr(args, "account", None))
        handler = {"sync": cmd_sync, "ls": cmd_ls, "show": cmd_show, "search": cmd_search}
        if args.command in handler:
            return handler[args.command](config, accounts, args)
        for commands, _, run_command in command_groups():
            if args.command in commands:
                return run_command(config, accounts, args)
        raise AssertionError(f"no handler for {args.command}")
    except ConfigError as exc:
        print(f"mailtriage: config error: {redact(str(exc))}", file=sys.stderr)
        return EXIT_USAGE
    except MailtriageError as exc:
        print(f"mailtriage: {redact(str(exc))}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("mailtriage: interrupted; the cache is consistent", file=sys.stderr)
        return 130


def run() -> NoReturn:
    """The `mailtriage` command: main(), then exit without a last garbage collection.

    Python's exit walks every object once more (the imported modules' ~14 ms of a no-change
    sync, whose budget is 150 ms at 100k messages) although the OS frees them anyway; the
    frozen objects are skipped. atexit handlers, finalizers and module teardown still run.
    """
    status = main()
    import gc

    gc.freeze()
    sys.exit(status)


def _select_accounts(config: Config, name: str | None) -> list[str]:
    if name is None:
        return list(config.accounts)
    if name not in config.accounts:
        raise ConfigError(
            config.path,
            "--account",
            f"no account named {name!r}",
            f"choose one of: {', '.join(config.accounts)}",
        )
    return [name]


def cmd_sync(config: Config, accounts: list[str], args: argparse.Namespace) -> int:
    from mailtriage.sync_cli import run_sync

    return run_sync(config, accounts, as_json=args.json, quiet=args.quiet, watch=args.watch)


def _open_stores(config: Config, accounts: list[str]) -> list[tuple[str, Any]]:
    from mailtriage.store import Store

    return [(name, Store(config.accounts[name].cache_path, readonly=True)) for name in accounts]


def _gather(
    config: Config, accounts: list[str], read: Callable[[Any], list[dict[str, Any]]]
) -> list[dict[str, Any]]:
    """`read(store)` from every account, each item tagged with its account; stores closed."""
    from mailtriage.store import Store

    items: list[dict[str, Any]] = []
    for name in accounts:
        store = Store(config.accounts[name].cache_path, readonly=True)
        try:
            found = read(store)
        finally:
            store.close()
        for item in found:
            item["account"] = name
        items += found
    return items


def cmd_ls(config: Config, accounts: list[str], args: argparse.Namespace) -> int:
    items = _gather(
        config,
        accounts,
        lambda store: store.list_conversations(args.view, agent=config.agent, limit=args.limit),
    )
    items.sort(key=lambda c: c["last_message_at"], reverse=True)
    if args.limit is not None:
        items = items[: args.limit]
    return _print_conversations(items, args.json, f"no conversations in view {args.view!r}")


def cmd_search(config: Config, accounts: list[str], args: argparse.Namespace) -> int:
    query = " ".join(args.query)
    items = _gather(config, accounts, lambda store: store.search(query, limit=args.limit))

    # Each account's results come best first; with several accounts keep them grouped.
    if args.limit is not None:
        items = items[: args.limit]
    return _print_conversations(items, args.json, f"nothing matches {query!r}")


def cmd_show(config: Config, accounts: list[str], args: argparse.Namespace) -> int:
    matches: list[tuple[str, Any, str]] = []
    stores = _open_stores(config, accounts)
    try:
        for name, store in stores:
            matches += [(name, store, key) for key in store.resolve_id(args.id)]
        if not matches:
            print(f"mailtriage: no conversation with id {args.id!r}", file=sys.stderr)
            return 1
        if len(matches) > 1:
            ids = ", ".join(store.get_conversation(key)["id"] for _, store, key in matches[:10])
            print(
                f"mailtriage: id {args.id!r} is ambiguous: {ids}; type more characters",
                file=sys.stderr,
            )
            return 1
        name, store, key = matches[0]
        from mailtriage.imap.bodies import ensure_conversation_bodies

        ensure_conversation_bodies(config.accounts[name], store, key)
        conversation = store.get_conversation(key)
    finally:
        for _, store in stores:
            store.close()
    assert conversation is not None
    conversation["account"] = name
    if args.json:
        print(dumps_json(conversation))
        return 0
    from mailtriage.render_text import print_conversation

    print_conversation(conversation)
    return 0


def _print_conversations(items: list[dict[str, Any]], as_json: bool, empty: str) -> int:
    if as_json:
        print(dumps_json(items))
        return 0
    from mailtriage.render_text import print_conversation_table

    if not items:
        print(empty, file=sys.stderr)
        return 0
    print_conversation_table(items)
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
