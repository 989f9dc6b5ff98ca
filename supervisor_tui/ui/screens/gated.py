"""Keys a user cannot use here: left out of the footer, yet never a dead keyboard.

A screen says why an action is refused for this user (``key_refusal``). Such an action's
key is not offered in the footer; pressed anyway (from habit, a cheat sheet, another
console), it still runs its action, whose own check refuses it with the reason and
audits the attempt. Used by every live screen (role) and the agent detail dialog (role
and the agents' sources).
"""

from __future__ import annotations

from textual import events
from textual.widget import Widget


class GatedKeys(Widget):
    """Mixin for a Screen: override ``key_refusal``."""

    _pressed_anyway = False  # a hidden key was pressed: let its action refuse, audited
    _keys_shown: tuple[tuple[str, str, bool, str], ...] | None = None

    def refresh_keys(self) -> None:
        """Tell the footer the keys changed, only when they did. Each telling recomposes
        the footer (its keys removed, then mounted again); told every poll, a paint
        could fall between: a CI snapshot of the agent detail showed no footer."""
        shown = tuple((key, active.binding.action, active.enabled, active.tooltip)
                      for key, active in self.screen.active_bindings.items())
        if shown != self._keys_shown:
            self._keys_shown = shown
            self.screen.refresh_bindings()

    def key_refusal(self, action: str) -> str | None:
        """Why this user may not ``action`` here (its key leaves the footer), or None."""
        return None

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # False: left out of the footer (and the bindings); on_key still answers the key.
        return self._pressed_anyway or self.key_refusal(action) is None

    async def on_key(self, event: events.Key) -> None:
        # Runs before the app looks the key up.
        for binding in self._bindings.key_to_bindings.get(event.key, ()):
            if self.key_refusal(binding.action.split("(", 1)[0]) is not None:
                event.stop()
                self._pressed_anyway = True
                try:
                    await self.run_action(binding.action)
                finally:
                    self._pressed_anyway = False
                return
