"""Frame shared by the action modals (reassign, move agents): layout, the app handle,
and one way of reporting per-item outcomes."""

from __future__ import annotations

from collections.abc import Sequence
from typing import cast

from rich.text import Text
from textual.screen import ModalScreen

from supervisor_tui.domain.board import queue_name
from supervisor_tui.domain.model import ActionResult
from supervisor_tui.domain.text import clean
from supervisor_tui.ui.view import AppView


class ActionModal(ModalScreen[None]):
    DEFAULT_CSS = """
    ActionModal { align: center middle; }
    ActionModal > Vertical {
        width: 90%; max-width: 110; height: 90%; max-height: 32;
        border: thick $accent; background: $surface; padding: 0 1;
    }
    ActionModal Grid { height: 1fr; min-height: 4; }
    ActionModal .modal-title { height: auto; }
    ActionModal .modal-preview { height: auto; min-height: 3; }
    """

    @property
    def sup(self) -> AppView:
        return cast("AppView", self.app)

    def queue_name(self, queue_id: str | None, width: int = 40) -> str:
        return queue_name(self.sup.board, queue_id, width)

    def outcome(self, verb: str, items: Sequence[tuple[str, ActionResult]]) -> Text:
        """'2 of 3 moved.' then one line per item with the source's own words."""
        ok = sum(result.ok for _, result in items)
        text = Text()
        text.append(f"{ok} of {len(items)} {verb}.\n",
                    "bold green" if ok == len(items) else "bold yellow")
        for name, result in items:
            text.append("✓ " if result.ok else "✗ ", "green" if result.ok else "red")
            text.append(f"{clean(name, 30)}: {clean(result.message, 160)}\n")
        text.append("Esc to close.", "dim")
        # No toast: the outcome is on this screen already, and a toast would cover it.
        self.sup.poll_now()
        return text
