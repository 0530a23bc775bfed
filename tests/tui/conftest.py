"""TUI fixtures: a cache filled from the demo corpus (no server), a fixed clock, no sync."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from mailtriage.config import Config
from mailtriage.tui.app import MailtriageApp, make_app
from support.cache import FIXED_NOW, demo_config, fill_cache


@pytest.fixture
def tui_config(tmp_path: Path) -> Config:
    config = demo_config(tmp_path)
    fill_cache(config, conversations=60)
    return config


@pytest.fixture
def build_app(tui_config: Config) -> Callable[..., MailtriageApp]:
    def build(**kwargs: Any) -> MailtriageApp:
        kwargs.setdefault("background_sync", False)
        kwargs.setdefault("clock", FIXED_NOW.timestamp())
        # No background SLA count unless a test asks for it (test_snapshots counts at once):
        # whether it finished before a snapshot depended on the machine's load.
        delay = kwargs.pop("sla_start_delay", 3600.0)
        app = make_app(kwargs.pop("config", tui_config), **kwargs)
        app.sla_start_delay = delay
        return app

    return build
