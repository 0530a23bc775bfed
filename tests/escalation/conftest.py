"""The TUI fixtures of tests/tui, for the escalate dialog's Pilot test and snapshot."""

from __future__ import annotations

from tui.conftest import build_app, tui_config
from tui.test_snapshots import snap

__all__ = ["build_app", "snap", "tui_config"]
