"""KB fixtures for the app: the demo cache (no server) with the shipped example articles."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from kb.helpers import copy_shipped
from mailtriage.config import Config, KbConfig
from mailtriage.tui.app import MailtriageApp, make_app
from support.cache import FIXED_NOW, demo_config, fill_cache


def with_kb(config: Config, root: Path, index: Path) -> Config:
    return dataclasses.replace(config, kb=KbConfig(path=root, index_path=index))


@pytest.fixture
def kb_config(tmp_path: Path) -> Config:
    config = demo_config(tmp_path)
    fill_cache(config, conversations=60)
    return with_kb(config, copy_shipped(tmp_path), tmp_path / "cache" / "kb-index.sqlite3")


@pytest.fixture
def kb_app(kb_config: Config) -> Callable[..., MailtriageApp]:
    def build(**kwargs: Any) -> MailtriageApp:
        kwargs.setdefault("background_sync", False)
        kwargs.setdefault("clock", FIXED_NOW.timestamp())
        return make_app(kwargs.pop("config", kb_config), **kwargs)

    return build
