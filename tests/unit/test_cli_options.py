"""Every subcommand takes --account and --json where it should, spelt, explained and defaulted
the same way (they come from mailtriage.cli_options), and parses them."""

from __future__ import annotations

import argparse

import pytest

from mailtriage.cli import build_parser
from mailtriage.cli_options import ACCOUNT_HELP, JSON_HELP

# Not about one account: the demo runs its own; templates and the KB are files on disk.
WITHOUT_ACCOUNT = {"demo", "templates", "kb", "kb search", "kb show"}
WITHOUT_JSON = {"demo"}


def _commands() -> dict[str, argparse.ArgumentParser]:
    found: dict[str, argparse.ArgumentParser] = {}

    def walk(parser: argparse.ArgumentParser, prefix: str) -> None:
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for name, sub in action.choices.items():
                    found[prefix + name] = sub
                    walk(sub, f"{prefix}{name} ")

    walk(build_parser(), "")
    return found


COMMANDS = _commands()


def _minimal_argv(parser: argparse.ArgumentParser) -> list[str]:
    """What the command requires after its name: required options (one of each required
    group), then positionals (tag and note take every option before their ID)."""

    def value(action: argparse.Action) -> str:
        return str(action.choices[0] if action.choices else "x")  # type: ignore[index]

    options: list[str] = []
    positionals: list[str] = []
    for group in parser._mutually_exclusive_groups:
        if group.required:
            first = group._group_actions[0]
            options += [first.option_strings[0]] + ([] if first.nargs == 0 else [value(first)])
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction | argparse._HelpAction):
            continue
        if not action.option_strings and action.nargs != "?":
            positionals.append(value(action))
        elif action.required:
            options += [action.option_strings[0], value(action)]
    return options + positionals


def test_the_walk_finds_every_subcommand() -> None:
    assert {"sync", "ls", "reply", "review", "notice", "kb search", "report"} <= set(COMMANDS)
    assert len(COMMANDS) >= 28


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_account_and_json_are_the_same_everywhere(name: str) -> None:
    parser = COMMANDS[name]
    options = {o: a for a in parser._actions for o in a.option_strings}
    account, as_json = options.get("--account"), options.get("--json")
    assert (account is None) == (name in WITHOUT_ACCOUNT), name
    assert (as_json is None) == (name in WITHOUT_JSON), name
    command, rest = name.split(), _minimal_argv(parser)
    top = build_parser()
    plain = top.parse_args([*command, *rest])
    if as_json is not None:
        assert as_json.help == JSON_HELP and isinstance(as_json, argparse._StoreTrueAction)
        assert plain.json is False  # default
        assert top.parse_args([*command, "--json", *rest]).json is True
        assert JSON_HELP in " ".join(parser.format_help().split())
    if account is not None:
        assert account.help == ACCOUNT_HELP and account.metavar == "NAME"
        assert plain.account is None  # the top-level default: every account
        assert top.parse_args([*command, "--account", "a", *rest]).account == "a"
        # given before the subcommand, an unset --account after it does not erase it
        assert top.parse_args(["--account", "b", *command, *rest]).account == "b"
        assert ACCOUNT_HELP in " ".join(parser.format_help().split())


def test_kb_json_before_or_after_the_nested_subcommand() -> None:
    top = build_parser()
    assert top.parse_args(["kb", "--json", "search", "返金"]).json is True
    assert top.parse_args(["kb", "search", "返金", "--json"]).json is True
    assert top.parse_args(["kb", "search", "返金"]).json is False
