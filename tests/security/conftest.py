"""Fixtures for the security tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from mailtriage.config import Config
from support.cache import demo_config, fill_cache


@pytest.fixture
def tui_config(tmp_path: Path) -> Config:
    config = demo_config(tmp_path)
    fill_cache(config, conversations=20)
    return config
