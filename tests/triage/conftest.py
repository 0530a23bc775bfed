"""Fixtures for the multi-agent triage tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from mailtriage.config import Config
from triage.helpers import agent_config


@pytest.fixture
def two_agents(tmp_path: Path, imap_account) -> Iterator[tuple[Config, Config]]:  # type: ignore[no-untyped-def]
    yield (
        agent_config(tmp_path, imap_account, "alice"),
        agent_config(tmp_path, imap_account, "bob"),
    )
