"""Textual's footer, rebuilt only when the keys it shows change.

Textual's ``Footer`` rebuilds itself (its keys removed, then mounted again) each time a
screen says its bindings may have changed: on focus moves, screen switches, every
``refresh_bindings``, and once per telling even when several come before a paint. At a
console's start that was ten rebuilds in 0.4 s, on the same loop that decodes the first
snapshot (issue 15), and a paint falling between a removal and the mount shows no keys
at all. This one rebuilds at most once per paint, and only when what it would show
differs from what it shows.
"""

from __future__ import annotations

from typing import Any

from textual.screen import Screen
from textual.widgets import Footer


class KeysFooter(Footer):
    _shown: tuple[Any, ...] | None = None  # what the keys were built from
    _due = False  # a check is already asked for, after the next paint

    def bindings_changed(self, screen: Screen[Any]) -> None:
        # As Footer's, but one check per paint instead of one rebuild per telling.
        self._bindings_ready = True  # (Footer's flag: compose shows keys from now on)
        if not screen.app.app_focus:
            return
        if self.is_attached and screen is self.screen and not self._due:
            self._due = True
            self.call_after_refresh(self._rebuild_if_changed)

    def shown_keys(self) -> tuple[Any, ...]:
        """Everything ``compose`` shows: the bindings it lists, each with its state and
        tooltip, the command palette's, and the footer's own options. (A focused input's
        editing keys come and go unseen: they are not listed.)"""
        active = self.screen.active_bindings
        palette = active.get(self.app.COMMAND_PALETTE_BINDING)
        return (self.show_command_palette, self.compact,
                palette and (palette.binding, palette.enabled, palette.tooltip),
                tuple((key, a.binding, a.enabled, a.tooltip) for key, a in active.items()
                      if a.binding.show))

    async def _rebuild_if_changed(self) -> None:
        self._due = False
        if not self.is_attached:
            return
        shown = self.shown_keys()
        if shown != self._shown:
            self._shown = shown
            await self.recompose()
