"""Options that many subcommands share, each defined once here so that every subcommand spells
it, explains it and defaults it the same way (tests/unit/test_cli_options.py walks them all).
Only argparse: `mailtriage --help` must stay quick to start."""

from __future__ import annotations

import argparse
from typing import Any

ACCOUNT_HELP = "only this account (default: every account; the first where one is needed)"
JSON_HELP = "print JSON instead of text (a stable format: README, JSON output)"


def add_account(parser: Any) -> None:
    """--account NAME on a subcommand (parser or argument group)."""
    # SUPPRESS: left out, it must not overwrite an --account given before the subcommand.
    parser.add_argument("--account", default=argparse.SUPPRESS, metavar="NAME", help=ACCOUNT_HELP)


def add_json(parser: Any, *, inherited: bool = False) -> None:
    """--json on a subcommand (parser or mutually exclusive group). inherited: a nested
    subcommand (kb search) whose parent has --json too, so `kb --json search` keeps it."""
    default = argparse.SUPPRESS if inherited else False
    parser.add_argument("--json", action="store_true", default=default, help=JSON_HELP)
