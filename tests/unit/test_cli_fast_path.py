"""OWN_COMMANDS parse without importing the other command groups, to the same answer."""

from __future__ import annotations

import importlib.metadata
import subprocess
import sys

import pytest

from mailtriage.cli import build_parser, parse_args

SAME_ANSWER = [
    ["sync", "-q"],
    ["--config", "c.toml", "sync", "--watch", "--json"],
    ["--config=c.toml", "--as", "bob", "ls", "--view", "mine", "--limit", "3"],
    ["--account", "jp", "search", "返金", "from:taro"],
    ["show", "K3F9"],
    ["demo", "--print"],
    # An abbreviation, or a value spelt like a command: the full parser decides.
    ["--conf", "sync", "claim", "K3F9"],
    ["--config", "ls", "note", "K3F9", "hello"],
    ["--as", "sync", "ls"],
    [],
    ["claim", "K3F9"],
]


@pytest.mark.parametrize("argv", SAME_ANSWER, ids=" ".join)
def test_same_namespace_as_the_full_parser(argv: list[str]) -> None:
    assert vars(parse_args(argv)) == vars(build_parser().parse_args(argv))


@pytest.mark.parametrize("argv", [["sync", "--bogus"], ["ls", "--view", "nowhere"], ["syncx"]])
def test_same_error_as_the_full_parser(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as small:
        parse_args(argv)
    said = capsys.readouterr().err
    with pytest.raises(SystemExit) as full:
        build_parser().parse_args(argv)
    assert (small.value.code, said) == (full.value.code, capsys.readouterr().err)
    assert said.startswith("usage: mailtriage")


def _imported_after(code: str) -> str:
    return subprocess.run(
        [sys.executable, "-c", f"{code}\nimport sys\nprint(sorted(sys.modules))"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout


def test_own_commands_leave_the_other_groups_unimported() -> None:
    modules = _imported_after("from mailtriage.cli import parse_args\nparse_args(['sync', '-q'])")
    assert "mailtriage.cli_options" in modules
    assert "mailtriage.cli_triage" not in modules and "mailtriage.cli_admin" not in modules
    modules = _imported_after("from mailtriage.cli import parse_args\nparse_args(['claim', 'X'])")
    assert "mailtriage.cli_triage" in modules


def test_imapclient_version_without_importlib_metadata() -> None:
    shown = _imported_after(
        "import mailtriage.imap, imapclient\nprint(imapclient.__version__, imapclient.version_info)"
    )
    version = importlib.metadata.version("imapclient")
    major, minor, micro = (int(part) for part in version.split("."))
    assert shown.startswith(f"{version} ({major}, {minor}, {micro}, 'final')\n")
    assert "'importlib.metadata'" not in shown
