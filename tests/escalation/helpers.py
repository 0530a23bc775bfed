"""Agents with SMTP, departments and an escalated SLA target, on one real Dovecot mailbox."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from compose.helpers import smtp_extra
from mailtriage.cli import main
from mailtriage.config import Config, load_config
from mailtriage.store import Store
from support.configs import write_config

DEPARTMENTS = """
[departments.billing]
label = "経理部"
address = "billing@example.co.jp"
members = ["carol"]

[departments.dev]
label = "開発チーム"
members = ["bob"]

[sla]
escalated = "20h"
"""


def agent(tmp_path: Path, imap_account: Any, smtp_port: int, ca: Path, name: str) -> Config:
    """One agent's own config, cache and outbox directory."""
    directory = tmp_path / name
    directory.mkdir(parents=True, exist_ok=True)
    path = write_config(directory, imap_account, agent=name)
    text = path.read_text(encoding="utf-8").replace(f'[agent]\nname = "{name}"\n', "")
    compose = f'outbox_dir = "{directory / "state"}"\nundo_seconds = 0\n'
    path.write_text(text + smtp_extra(smtp_port, ca, compose, name) + DEPARTMENTS, "utf-8")
    return load_config(path)


async def cli(capsys: Any, config: Config, *argv: str) -> tuple[int, str, str]:
    """Run `mailtriage ARGV` in a thread (it runs asyncio.run itself)."""
    capsys.readouterr()
    command, *rest = argv
    code = await asyncio.to_thread(main, [command, "--config", str(config.path), *rest])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def store(config: Config) -> Store:
    return Store(config.accounts["support"].cache_path, readonly=True)


def conversation(config: Config, key: str) -> dict[str, Any]:
    s = store(config)
    try:
        found = s.get_conversation(key)
        assert found is not None
        found["timeline"] = s.timeline(key)
        return found
    finally:
        s.close()


def view_keys(config: Config, view: str) -> list[str]:
    s = store(config)
    try:
        return [c["key"] for c in s.list_conversations(view, agent=config.agent)]
    finally:
        s.close()
