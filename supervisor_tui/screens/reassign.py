"""Reassign: move a waiting contact (or the oldest N of a queue) to another queue.

Pick the target queue from a live table (waiting, oldest, SL, agents available),
read the preview, confirm with ``y``. The outcome — including races such as "answered
meanwhile" — is shown as the source reported it; nothing is claimed that wasn't done.
"""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.widgets import Footer, Input, Static

from supervisor_tui import fmt
from supervisor_tui.board import Board, QueueRow
from supervisor_tui.model import Contact
from supervisor_tui.preview import MovePreview, preview_move
from supervisor_tui.safe_text import clean
from supervisor_tui.screens.action_modal import ActionModal
from supervisor_tui.widgets.grid import Column, Grid
from supervisor_tui.widgets.tables import sl_cell, wait_cell


def target_columns(channel: str) -> list[Column[QueueRow]]:
    def age(row: QueueRow, now) -> float | None:  # type: ignore[no-untyped-def]
        since = row.oldest_waiting_since
        return None if since is None else (now - since).total_seconds()

    return [
        Column("name", "Target queue", 16, lambda r, now: Text(
            clean(r.queue.name, 40), style="" if r.queue.channel.value == channel else "dim"),
            priority=0, flex=True, max_width=30),
        Column("chan", "Chan", 6, lambda r, now: r.queue.channel.value, priority=2),
        Column("wait", "Wait#", 5, lambda r, now: str(r.waiting), align="right"),
        Column("oldest", "Oldest", 7, lambda r, now: wait_cell(age(r, now), r.queue.threshold_s),
               align="right", priority=1),
        Column("sl", "SL", 7, lambda r, now: sl_cell(r.interval.service_level, r.status),
               align="right"),
        Column("avail", "Avail", 5, lambda r, now: str(r.agents.available), align="right"),
    ]


def preview_text(p: MovePreview) -> Text:
    text = Text()
    text.append(f"Move {p.count} contact(s): ", "bold")
    text.append(f"{clean(p.source.queue.name, 30)} → {clean(p.target.queue.name, 30)}\n")
    for label, before, after in (("From", p.source_before, p.source_after),
                                 ("To", p.target_before, p.target_after)):
        text.append(f"  {label:<5}{clean(before.name, 24):<25}", "bold")
        text.append(f"waiting {before.waiting} → {after.waiting}   ")
        text.append(f"oldest {fmt.duration(before.oldest_s)} → {fmt.duration(after.oldest_s)}\n")
    text.append("  Expected wait in the new queue: ", "")
    text.append(p.expected_wait_text, "bold")
    text.append("\n")
    if p.warning:
        text.append(f"  ⚠ {p.warning}\n", "bold yellow")
    text.append("Press y to move, Esc to cancel.", "dim")
    return text


class ReassignScreen(ActionModal):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "dismiss", "Cancel"),
        Binding("y", "confirm", "Confirm move"),
    ]

    def __init__(self, contacts: list[Contact], from_queue: str, overflow: bool = False
                 ) -> None:
        super().__init__()
        self.contacts = contacts  # oldest first
        self.from_queue = from_queue
        self.overflow = overflow
        self.count = 1 if not overflow else min(len(contacts), 5)
        self.done = False

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(id="reassign-title", classes="modal-title", markup=False)
            yield Input(str(self.count), id="reassign-count", type="integer",
                        placeholder="how many of the oldest to move")
            channel = self.contacts[0].channel.value if self.contacts else ""
            yield Grid(target_columns(channel), key_of=lambda r: r.queue.id,
                       now=self.sup.centre_now, empty_text="No other queue", id="targets")
            yield Static(id="reassign-preview", classes="modal-preview", markup=False)
        yield Footer()

    def on_mount(self) -> None:
        first = self.contacts[0] if self.contacts else None
        title = Text()
        if self.overflow:
            title.append(f"Overflow the oldest contacts of {self._queue_name(self.from_queue)}",
                         "bold")
            self.query_one("#reassign-count", Input).display = True
        elif first is not None:
            title.append(f"Reassign contact {clean(first.id, 20)} ", "bold")
            about = [first.tier.value, first.channel.value]
            if first.customer:
                about.append(clean(first.customer, 30))
            title.append(f"({', '.join(about)}) from {self._queue_name(first.queue_id)}")
        why = self.sup.actions.refusal("reassign_contact",
                                       self.sup.source_of_queue(self.from_queue))
        if why:
            title.append(f"\n⛔ {why}", "bold red")
        self.query_one("#reassign-title", Static).update(title)
        self.watch(self.app, "board", self._board_changed, init=True)
        self.query_one("#targets", Grid).focus()

    def _queue_name(self, queue_id: str) -> str:
        board = self.sup.board
        row = board.rows_by_id.get(queue_id) if board else None
        return clean(row.queue.name, 40) if row else clean(queue_id, 40)

    def _board_changed(self, board: Board | None) -> None:
        if board is None or self.done:
            return
        channel = self.contacts[0].channel if self.contacts else None
        rows = [r for r in board.rows if r.queue.id != self.from_queue]
        # Same channel first (a voice call cannot become an email), then by name.
        rows.sort(key=lambda r: (r.queue.channel != channel, r.queue.name.lower()))
        self.query_one("#targets", Grid).set_rows(rows)
        self._show_preview()

    def on_grid_highlighted(self, event: Grid.Highlighted) -> None:
        self._show_preview()

    def on_input_changed(self, event: Input.Changed) -> None:
        try:
            self.count = max(1, min(int(event.value or "1"), len(self.contacts)))
        except ValueError:
            self.count = 1
        self._show_preview()

    def _preview(self) -> MovePreview | None:
        board = self.sup.board
        target = self.query_one("#targets", Grid).cursor_key
        if board is None or target is None or not self.contacts:
            return None
        return preview_move(board, self.from_queue, target, self.contacts[: self.count],
                            self.sup.centre_now())

    def _show_preview(self) -> None:
        p = self._preview()
        text = preview_text(p) if p else Text("Pick a target queue.", "dim")
        self.query_one("#reassign-preview", Static).update(text)

    def on_grid_selected(self, event: Grid.Selected) -> None:
        self.action_confirm()

    def action_confirm(self) -> None:
        if self.done:
            return
        target = self.query_one("#targets", Grid).cursor_key
        if target is None:
            return
        self.done = True
        self.query_one("#reassign-preview", Static).update(Text("Moving…", "bold"))
        self._move(target)

    @work(exclusive=True, group="reassign")
    async def _move(self, target: str) -> None:
        results = await self.sup.actions.overflow(
            self.contacts[: self.count], target, self.sup.source_of_queue(self.from_queue))
        items = [(c.id, r) for c, r in zip(self.contacts, results, strict=False)]
        self.query_one("#reassign-preview", Static).update(self.outcome("moved", items))
