"""Reassign: move a waiting contact (or the oldest N of a queue) to another queue.

Only queues the contact can really go to are offered (same channel, same platform);
the others are named in one line with the reason, and when none is left the screen
says so plainly. The best target — shortest predicted wait, most agents free — is
preselected. In overflow mode a labelled count field has the focus, and a cap is
said aloud ("20 asked, 12 waiting: will move 12"). The contacts and the preview are
recomputed from every poll, so what is confirmed with ``y`` is what is shown. The
outcome — including races such as "answered meanwhile" — is shown as the source
reported it; nothing is claimed that wasn't done.
"""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.widgets import Input, Label, Static

from supervisor_tui.domain import fmt
from supervisor_tui.domain.board import Board
from supervisor_tui.domain.model import Contact
from supervisor_tui.domain.preview import (
    MovePreview,
    Target,
    Targets,
    overflow_count,
    preview_move,
    rank_targets,
)
from supervisor_tui.domain.text import clean
from supervisor_tui.ui.screens.action_modal import ActionModal
from supervisor_tui.ui.widgets.grid import Column, Grid
from supervisor_tui.ui.widgets.keys_footer import KeysFooter
from supervisor_tui.ui.widgets.tables import sl_cell, wait_cell


def predicted_text(wait_s: float) -> str:
    """A predicted wait as the dialog says it: "at once" or "3:20"."""
    return "at once" if wait_s == 0 else fmt.duration(wait_s)


def target_columns() -> list[Column[Target]]:
    def age(t: Target, now: datetime) -> float | None:
        since = t.row.oldest_waiting_since
        return None if since is None else (now - since).total_seconds()

    def predicted(t: Target, now: datetime) -> Text:
        if t.wait_s is None:
            return Text("?", "dim")
        return Text(predicted_text(t.wait_s), "green" if t.wait_s == 0 else "")

    return [
        Column("name", "Target queue", 16, lambda t, now: clean(t.row.queue.name, 40),
               priority=0, flex=True, max_width=30),
        Column("chan", "Chan", 6, lambda t, now: t.row.queue.channel.value, priority=2),
        Column("wait", "Wait#", 5, lambda t, now: str(t.row.waiting), align="right"),
        Column("oldest", "Oldest", 7,
               lambda t, now: wait_cell(age(t, now), t.row.queue.threshold_s),
               align="right", priority=1),
        Column("sl", "SL", 7, lambda t, now: sl_cell(t.row.interval.service_level,
                                                      t.row.status), align="right"),
        Column("avail", "Avail", 5, lambda t, now: str(t.row.agents.available),
               align="right"),
        Column("pred", "Pred.wait", 9, predicted, align="right", priority=0),
    ]


def preview_text(p: MovePreview, hint: str = "Press y to move, Esc to cancel.") -> Text:
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
        text.append(f"  ⚠ {clean(p.warning, 200)}\n", "bold yellow")
    text.append(hint, "dim")
    return text


class ReassignScreen(ActionModal):
    DEFAULT_CSS = """
    ReassignScreen #count-field { height: auto; }
    ReassignScreen #count-field > Label { width: auto; margin-right: 1; text-style: bold; }
    ReassignScreen #count-field > Input { width: 8; background: $boost; }
    ReassignScreen #count-field > Input:focus { background: $accent 30%; }
    ReassignScreen #count-note { width: 1fr; height: auto; margin-left: 1; }
    ReassignScreen #reassign-hidden { height: auto; color: $text-muted; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "dismiss", "Cancel"),
        Binding("y", "confirm", "Confirm move"),
    ]

    def __init__(self, contacts: list[Contact], from_queue: str, overflow: bool = False
                 ) -> None:
        super().__init__()
        # Single reassign: the contact chosen, by id (re-read from every poll). Overflow:
        # the oldest N waiting in the queue at each poll (``contacts`` is the first look).
        self.contacts = contacts  # oldest first; refreshed from the live board
        self.chosen_ids = [c.id for c in contacts]
        self.channels = {c.channel for c in contacts}
        self.from_queue = from_queue
        self.overflow = overflow
        self.typed = str(min(len(contacts), 5)) if overflow else "1"
        self.count: int | None = 1 if not overflow else min(len(contacts), 5)
        self.count_note = ""
        self.gone = False  # the chosen contact is no longer waiting
        self.targets = Targets((), ())
        self._preselected = False
        self.done = False

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(id="reassign-title", classes="modal-title", markup=False)
            with Horizontal(id="count-field"):
                yield Label("How many, oldest first?", id="count-label")
                yield Input(self.typed, id="reassign-count", type="integer", compact=True,
                            placeholder="N")
                yield Static(id="count-note", markup=False)
            yield Static(id="reassign-hidden", markup=False)
            yield Grid(target_columns(), key_of=lambda t: t.row.queue.id,
                       now=self.sup.state.centre_now, empty_text="No compatible queue",
                       id="targets")
            yield Static(id="reassign-preview", classes="modal-preview", markup=False)
        yield KeysFooter()

    def on_mount(self) -> None:
        self.query_one("#count-field").display = self.overflow
        self._title()
        self.watch(self.app, "board", self._board_changed, init=True)
        if self.overflow:
            self.query_one("#reassign-count", Input).focus()
        else:
            self.query_one("#targets", Grid).focus()

    def _source(self) -> str | None:
        """The source of the contacts being moved (a contact moves only on its own);
        the queue's own once nobody is waiting there."""
        if self.contacts:
            return self.contacts[0].source
        board = self.sup.board
        row = board.rows_by_id.get(self.from_queue) if board is not None else None
        return row.queue.source if row is not None else None

    def _title(self) -> None:
        first = self.contacts[0] if self.contacts else None
        title = Text()
        if self.overflow:
            title.append(f"Overflow the oldest contacts of {self.queue_name(self.from_queue)}",
                         "bold")
        elif first is not None:
            title.append(f"Reassign contact {clean(first.id, 20)} ", "bold")
            about = [first.tier.value, first.channel.value]
            if first.customer:
                about.append(clean(first.customer, 30))
            title.append(f"({', '.join(about)}) from {self.queue_name(first.queue_id)}")
        why = self.sup.actions.refusal("reassign_contact", self._source())
        if why:
            title.append(f"\n⛔ {clean(why, 160)}", "bold red")
        self.query_one("#reassign-title", Static).update(title)

    # -- live data -------------------------------------------------------------------

    def _refresh_contacts(self, board: Board) -> None:
        """The contacts to move, as this poll has them."""
        live = list(board.waiting_by_queue.get(self.from_queue, ()))
        if self.overflow:
            self.contacts = live
            self.count, self.count_note = overflow_count(self.typed, len(live))
            return
        by_id = {c.id: c for c in live}
        still = [by_id[i] for i in self.chosen_ids if i in by_id]
        self.gone = not still
        if still:
            self.contacts = still

    def _board_changed(self, board: Board | None) -> None:
        if board is None or self.done:
            return
        self._refresh_contacts(board)
        source = board.rows_by_id.get(self.from_queue)
        moving = self.contacts[: self.count or 1]
        self.channels = {c.channel for c in moving} or (
            {source.queue.channel} if source else self.channels)
        self.targets = rank_targets(board, self.from_queue, self.channels, self.count or 1)
        grid = self.query_one("#targets", Grid)
        if self._preselected:
            # Keep the order the supervisor has been reading: re-sorting under the
            # cursor every poll would move rows while they pick.
            order = {key: i for i, key in enumerate(grid._keys)}
            rows = sorted(self.targets.compatible,
                          key=lambda t: order.get(t.row.queue.id, len(order)))
        else:
            rows = list(self.targets.compatible)
        grid.set_rows(rows)
        if rows and not self._preselected:
            self._preselected = True
            grid.move_to_key(rows[0].row.queue.id)  # the best target
        self._show_hidden()
        self._show_count()
        self._show_preview()

    def _show_hidden(self) -> None:
        text = Text()
        hidden = self.targets.hidden
        channel = "/".join(sorted(ch.value for ch in self.channels)) or "?"
        source = clean(self._source() or "?", 24)
        if not self.targets.compatible:
            text.append(f"No compatible queue: no other {channel} queue on {source}. "
                        "Nothing can be moved from here.", "bold red")
        else:
            text.append_text(self._best_note())
        if hidden:
            names = ", ".join(f"{clean(r.queue.name, 20)} ({why})" for r, why in hidden[:4])
            more = f" and {len(hidden) - 4} more" if len(hidden) > 4 else ""
            text.append(f"\nNot offered — a {channel} contact on {source} cannot move to: "
                        f"{names}{more}", "dim")
        self.query_one("#reassign-hidden", Static).update(text)

    def _best_note(self) -> Text:
        """What the cursor's target is against the best one now: the rows keep their
        first order (nothing moves under the cursor), so when waits change the best
        target is named rather than moved to."""
        best = self.targets.compatible[0]
        picked = self.query_one("#targets", Grid).cursor_row
        if (picked is None or picked.row.queue.id == best.row.queue.id
                or best.wait_s is None
                or (picked.wait_s is not None and picked.wait_s <= best.wait_s)):
            return Text("Preselected: the shortest predicted wait, then most agents free.",
                        "dim")
        return Text(f"Shortest predicted wait now: {clean(best.row.queue.name, 30)} "
                    f"({predicted_text(best.wait_s)}); ↑ ↓ to pick it.", "yellow")

    def _show_count(self) -> None:
        if not self.overflow:
            return
        capped = self.count is not None and self.typed.strip().isdigit() \
            and int(self.typed) > self.count
        style = "bold yellow" if capped or self.count is None else "dim"
        self.query_one("#count-note", Static).update(Text(self.count_note, style))

    def on_input_changed(self, event: Input.Changed) -> None:
        self.typed = event.value
        board = self.sup.board
        if board is not None and not self.done:
            self._board_changed(board)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.query_one("#targets", Grid).focus()  # then y (or Enter) moves

    def on_grid_highlighted(self, event: Grid.Highlighted) -> None:
        self._show_hidden()
        self._show_preview()

    def _preview(self) -> MovePreview | None:
        board = self.sup.board
        target = self.query_one("#targets", Grid).cursor_key
        if board is None or target is None or not self.contacts or not self.count \
                or self.gone or target not in board.rows_by_id:
            return None
        return preview_move(board, self.from_queue, target, self.contacts[: self.count],
                            self.sup.state.centre_now())

    def _blocker(self) -> str | None:
        """Why ``y`` cannot move anything now, in the supervisor's words."""
        if self.gone:
            first = self.chosen_ids[0] if self.chosen_ids else "?"
            return (f"Contact {clean(first, 20)} is no longer waiting in "
                    f"{self.queue_name(self.from_queue)} (answered, abandoned or moved): "
                    "nothing to move.")
        if self.overflow and self.count is None:
            return f"Nothing to move: {self.count_note}."
        if not self.targets.compatible:
            return "No compatible queue to move to."
        if self.query_one("#targets", Grid).cursor_key is None:
            return "Pick a target queue."
        return None

    def _show_preview(self) -> None:
        if self.done:
            return
        blocker = self._blocker()
        p = None if blocker else self._preview()
        if p is None:
            text = Text(blocker or "Pick a target queue.", "bold red" if blocker else "dim")
        else:
            focus_on_count = self.overflow and isinstance(self.focused, Input)
            hint = ("Enter picks the target queue, then y moves · Esc cancels."
                    if focus_on_count else "Press y to move, Esc to cancel.")
            text = preview_text(p, hint)
        self.query_one("#reassign-preview", Static).update(text)

    def on_descendant_focus(self) -> None:
        self._show_preview()

    def on_grid_selected(self, event: Grid.Selected) -> None:
        self.action_confirm()

    def action_confirm(self) -> None:
        if self.done:
            return
        blocker = self._blocker()
        if blocker:
            self.query_one("#reassign-preview", Static).update(Text(blocker, "bold red"))
            return
        target = self.query_one("#targets", Grid).cursor_key
        if target is None or self.count is None:
            return
        self.done = True
        moving = self.contacts[: self.count]  # exactly what the preview showed
        self.query_one("#reassign-preview", Static).update(Text("Moving…", "bold"))
        self._move(moving, target)

    @work(exclusive=True, group="reassign")
    async def _move(self, contacts: list[Contact], target: str) -> None:
        results = await self.sup.actions.overflow(contacts, target)
        items = [(c.id, r) for c, r in zip(contacts, results, strict=False)]
        self.query_one("#reassign-preview", Static).update(self.outcome("moved", items))
