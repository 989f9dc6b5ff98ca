"""Switching a platform's emergency group from the crisis screen: the question, asked
after an incident is declared (switch on?) or resolved (switch off?), or on ``g``."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Static

from supervisor_tui.domain.text import clean
from supervisor_tui.ui.widgets.keys_footer import KeysFooter

WHAT_IT_DOES = ("While it is on, new voice calls hear the emergency message and are not "
                "queued; chat, email and social carry on.")


class EmergencySwitch(ModalScreen[bool | None]):
    """Dismissed with the state to switch to (True on, False off), or None (not now).

    ``active`` None asks which (``o`` on, ``f`` off); otherwise ``y`` confirms that one."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y", "confirm", "Switch"),
        Binding("o", "choose(True)", "On"),
        Binding("f", "choose(False)", "Off"),
        Binding("escape,n", "cancel", "Not now"),
    ]
    DEFAULT_CSS = """
    EmergencySwitch { align: center middle; }
    EmergencySwitch > Vertical {
        width: 90%; max-width: 80; height: auto; border: thick $error;
        background: $surface; padding: 0 1;
    }
    """

    def __init__(self, sources: list[str], active: bool | None, why: str = "") -> None:
        super().__init__()
        self.sources = sources
        self.active = active
        self.why = why  # e.g. "Incident #3 declared."

    def compose(self) -> ComposeResult:
        where = ", ".join(clean(s, 24) for s in self.sources)
        if self.active is None:
            question = f"Emergency group on {where}: switch it on or off?"
            keys = "o switch on · f switch off · Esc not now"
        else:
            question = (f"{self.why} Switch the emergency group "
                        f"{'ON' if self.active else 'OFF'} on {where}?").strip()
            keys = f"y switch {'on' if self.active else 'off'} · Esc not now"
        with Vertical():
            yield Static(Text(question, style="bold"), id="emergency-question")
            yield Static(Text(WHAT_IT_DOES), id="emergency-what")
            yield Static(Text(keys + " (audited)", style="dim"))
        yield KeysFooter()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # Only the keys that answer this question are offered (and work).
        if action == "confirm":
            return self.active is not None
        if action == "choose":
            return self.active is None
        return True

    def action_confirm(self) -> None:
        self.dismiss(self.active)

    def action_choose(self, on: bool) -> None:
        self.dismiss(on)

    def action_cancel(self) -> None:
        self.dismiss(None)
