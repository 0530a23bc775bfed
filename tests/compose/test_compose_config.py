"""The compose keys in the configuration: defaults, values, and precise errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from mailtriage.config import ConfigError, parse_config

BASE = {
    "agent": {"name": "alice"},
    "accounts": {
        "support": {
            "address": "support@example.co.jp",
            "imap": {"host": "h", "username": "u", "password_command": "true"},
        }
    },
}


def _parse(**tables: object):  # type: ignore[no-untyped-def]
    data = {**BASE, **tables}
    return parse_config(data, Path("/c.toml"))


def test_defaults(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    c = _parse().compose
    assert (c.charset, c.undo_seconds, c.quote, c.from_name) == ("utf-8", 10, True, "")
    assert c.outbox_dir == tmp_path / "mailtriage"


def test_values() -> None:
    c = _parse(
        agent={"name": "alice", "display_name": "佐藤 花子", "signature": "佐藤"},
        compose={
            "from_name": "Support",
            "from_with_agent": True,
            "charset": "ISO-2022-JP",
            "iso2022jp_domains": ["Docomo.ne.jp"],
            "undo_seconds": 0,
            "outbox_dir": "~/x",
        },
        company={"name": "Example", "survey_url": "https://e/s"},
        templates={"dirs": ["~/t"]},
    ).compose
    assert c.display_name == "佐藤 花子" and c.charset == "iso-2022-jp"
    assert c.iso2022jp_domains == ("docomo.ne.jp",) and c.undo_seconds == 0
    assert c.company == {"name": "Example", "survey_url": "https://e/s"}
    assert c.template_dirs == (Path("~/t").expanduser(),)


@pytest.mark.parametrize(
    ("tables", "message"),
    [
        ({"compose": {"charset": "sjis"}}, "compose.charset: must be one of utf-8, iso-2022-jp"),
        ({"compose": {"undo_seconds": 9999}}, "compose.undo_seconds: expected an integer from 0"),
        ({"compose": {"quote": "yes"}}, "compose.quote: expected true or false"),
        ({"compose": {"from": "x"}}, "compose.from: unknown key"),
        ({"company": {"name": 3}}, "company.name: expected a non-empty string"),
        ({"templates": {"dir": []}}, "templates.dir: unknown key"),
        ({"agent": {"name": "alice", "sig": "x"}}, "agent.sig: unknown key"),
    ],
)
def test_errors_name_the_key(tables: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message.replace(".", r"\.")):
        _parse(**tables)
