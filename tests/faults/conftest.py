"""The TUI fixtures (a demo cache, no server) for the screen-injection tests."""

from tui.conftest import build_app, tui_config

__all__ = ["build_app", "tui_config"]
