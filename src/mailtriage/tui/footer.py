"""The key footer every screen shows: Textual's Footer, rebuilt only when its keys change."""

from __future__ import annotations

from typing import Any

from textual.screen import Screen
from textual.widgets import Footer


class KeyFooter(Footer):
    """Textual's Footer recomposes (a FooterKey widget per key, each styled anew: 15-40 ms of
    the UI thread for the reader's keys) at every bindings signal of its screen. Opening
    the reader sent four of them (the screen stacked, the thread focused, …) for the very
    same keys, and they were most of what an open cost (cProfile: 110 of 200 ms). Here the
    signals of one refresh make one look, and the keys are rebuilt only when what they show
    differs from what is on screen."""

    _pending = False
    _shown: Any = None  # what the keys show, as _keys() gives it, when last composed

    def bindings_changed(self, screen: Screen[Any]) -> None:
        self._bindings_ready = True
        if not screen.app.app_focus:
            return
        if self.is_attached and screen is self.screen and not self._pending:
            self._pending = True
            self.call_after_refresh(self._rebuild_if_changed)

    async def _rebuild_if_changed(self) -> None:
        self._pending = False
        if not self.is_attached:
            return
        keys = self._keys()
        if keys == self._shown:
            return
        self._shown = keys
        await self.recompose()

    def _keys(self) -> tuple[Any, ...]:
        """Everything Footer.compose reads from the bindings."""
        app = self.app
        return (
            self.show_command_palette,
            self.combine_groups,
            tuple(
                (
                    binding.key,
                    app.get_key_display(binding),
                    binding.description,
                    binding.action,
                    binding.group,
                    binding.show,
                    enabled,
                    tooltip,
                )
                for _node, binding, enabled, tooltip in self.screen.active_bindings.values()
            ),
        )
