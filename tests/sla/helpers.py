"""Shared by the SLA/rules/CSAT server tests."""

from __future__ import annotations

import time as real_time

from mailtriage.config import Config, load_config
from support.configs import write_config


def agent_with(tmp_path, imap_account, agent: str, toml: str) -> Config:  # type: ignore[no-untyped-def]
    """Agent `agent`'s own config and cache on the shared mailbox, plus `toml` at the end."""
    directory = tmp_path / agent
    directory.mkdir()
    path = write_config(directory, imap_account, agent=agent)
    path.write_text(path.read_text(encoding="utf-8") + toml, encoding="utf-8")
    return load_config(path)


class ScriptedClock:
    """Stands in for the actions module's `time`: events get the scripted moment."""

    def __init__(self) -> None:
        self.now = 0.0

    def time(self) -> float:
        return self.now

    def __getattr__(self, name: str):  # type: ignore[no-untyped-def]
        return getattr(real_time, name)
