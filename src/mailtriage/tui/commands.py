"""The command palette (`:` or ctrl+p) offers every binding of the screen you came from, by
name, with its key: the same registry that feeds the footer and `?` help."""

from __future__ import annotations

from functools import partial
from typing import Any

from textual.command import DiscoveryHit, Hit, Hits, Provider
from textual.markup import escape

from mailtriage.tui.help_screen import binding_rows


class BindingCommands(Provider):
    def _commands(self) -> list[tuple[str, Any, str]]:
        """(title, (action, node), help) for each active binding of the screen under the
        palette; the node is the binding's owner, whose namespace the action runs in."""
        screen = self.screen
        keys_by_id = {binding_id: keys for keys, _, binding_id in binding_rows(screen)}
        out = []
        seen = set()
        for _key, active in screen.active_bindings.items():
            binding = active.binding
            if binding.action in seen or not active.enabled:
                continue
            seen.add(binding.action)
            keys = keys_by_id.get(binding.id or "", "")
            title = binding.description or binding.action
            # Palette help is markup: escape, or a key like "/" reads as a closing tag.
            help_text = escape(f"{binding.tooltip} · key {keys}")
            out.append((title, (binding.action, active.node), help_text))
        return out

    def _saved_searches(self) -> list[tuple[str, str]]:
        return list(self.app.config.ui.saved_searches.items())  # type: ignore[attr-defined]

    async def _run_search(self, query: str) -> None:
        self.app.search(query)  # type: ignore[attr-defined]

    async def _run(self, target: tuple[str, Any]) -> None:
        action, node = target
        await self.app.run_action(action, node)

    async def discover(self) -> Hits:
        for title, action, help_text in self._commands():
            yield DiscoveryHit(title, partial(self._run, action), help=help_text)
        for name, query in self._saved_searches():
            help_text = escape(f"saved search · {query}")
            yield DiscoveryHit(f"Search: {name}", partial(self._run_search, query), help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for title, action, help_text in self._commands():
            score = max(matcher.match(title), matcher.match(help_text) * 0.8)
            if score > 0:
                yield Hit(
                    score, matcher.highlight(title), partial(self._run, action), help=help_text
                )
        for name, query in self._saved_searches():
            title = f"Search: {name}"
            score = matcher.match(title)
            if score > 0:
                help_text = escape(f"saved search · {query}")
                yield Hit(
                    score,
                    matcher.highlight(title),
                    partial(self._run_search, query),
                    help=help_text,
                )
