"""Escalation desk: everything that needs a human, most severe and oldest first.

State (acknowledged / taken by whom / resolved, and notes) lives in the shared store,
so every console on the host sees the same owners within one poll.
"""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import Footer, Input, Static

from supervisor_tui import fmt
from supervisor_tui.board import Board
from supervisor_tui.escalation import Escalation, count_by_severity
from supervisor_tui.safe_text import clean
from supervisor_tui.screens.base import BoardScreen
from supervisor_tui.screens.move_agents import MoveAgentsScreen
from supervisor_tui.screens.reassign import ReassignScreen
from supervisor_tui.store import ACKNOWLEDGED, OPEN, RESOLVED, TAKEN, StoreError
from supervisor_tui.widgets.grid import Column, Grid
from supervisor_tui.widgets.status_bar import StatusBar

SEVERITY_STYLE = {"critical": ("‼ CRIT", "bold white on red"), "warning": ("! WARN", "bold yellow"),
                  "info": ("· info", "cyan")}


class EscalationDeskScreen(BoardScreen):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("k", "set_state('acknowledged')", "Acknowledge"),
        Binding("t", "set_state('taken')", "Take"),
        Binding("x", "set_state('resolved')", "Resolve"),
        Binding("o", "set_state('open')", "Reopen", show=False),
        Binding("n", "note", "Note"),
        Binding("r", "reassign", "Reassign"),
        Binding("m", "move_agents", "Move agents"),
        Binding("h", "toggle_resolved", "Show resolved", show=False),
        Binding("escape", "leave_note", "Back to list", show=False),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.show_resolved = False

    def compose(self) -> ComposeResult:
        yield StatusBar(id="status")
        yield Static(id="desk-summary", markup=False)
        yield Input(placeholder="note for the selected escalation (Enter saves, Esc cancels)",
                    id="desk-note")
        yield Grid(self._columns(), key_of=lambda e: e.id, now=self.sup.centre_now,
                   empty_text="Nothing needs a human right now", id="desk")
        yield Static(id="desk-detail", markup=False)
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#desk", Grid).focus()
        self.watch(self.app, "escalations", self._escalations_changed, init=False)

    def _columns(self) -> list[Column[Escalation]]:
        def state(e: Escalation, now: datetime) -> Text:
            st = self.sup.escalation_state(e)
            if st is None:
                return Text("new", style="bold")
            if st["state"] == TAKEN:
                mine = st["owner"] == self.sup.user
                return Text(f"◉ {clean(st['owner'], 16)}", style="bold green" if mine else "cyan")
            return Text(st["state"], style="dim")

        return [
            Column("sev", "Sev", 6, lambda e, now: Text(*SEVERITY_STYLE[e.severity]), priority=0),
            Column("age", "Age", 7, lambda e, now: fmt.duration(
                (now - e.first_seen).total_seconds()), align="right", priority=0),
            Column("state", "Owner", 12, state, priority=1),
            Column("queue", "Queue", 12, lambda e, now: self._queue_name(e.queue_id),
                   priority=2),
            Column("reason", "Why", 30, lambda e, now: clean(e.describe(now), 160), priority=0,
                   flex=True, max_width=120),
        ]

    def _queue_name(self, queue_id: str | None) -> str:
        board = self.sup.board
        row = board.rows_by_id.get(queue_id) if board and queue_id else None
        return clean(row.queue.name, 30) if row else "—"

    def _visible(self) -> list[Escalation]:
        return [e for e in self.sup.escalations
                if self.show_resolved or not self.sup.is_handled(e)]

    def _escalations_changed(self, _: object = None) -> None:
        if not self._ready:
            return
        if not self.is_current:  # thousands of rows in a meltdown: only when seen
            self._behind = True
            return
        shown = self._visible()
        self.query_one("#desk", Grid).set_rows(shown)
        counts = count_by_severity(shown)
        taken = sum(1 for e in shown if (st := self.sup.escalation_state(e)) is not None
                    and st["state"] == TAKEN)
        line = Text(no_wrap=True, overflow="ellipsis")
        line.append(f" ‼ {counts['critical']} critical", "bold red" if counts["critical"]
                    else "dim")
        line.append(f"  ! {counts['warning']} warning", "yellow" if counts["warning"] else "dim")
        line.append(f"  · {counts['info']} info", "cyan" if counts["info"] else "dim")
        line.append(f"  ◉ {taken} taken", "green" if taken else "dim")
        if self.show_resolved:
            line.append("  (showing resolved)", "dim")
        line.append(f"  you are {self.sup.user} ({self.sup.actions.role.value})", "dim")
        self.query_one("#desk-summary", Static).update(line)
        self._show_detail()

    def show_board(self, board: Board) -> None:
        self._escalations_changed()

    def refresh_ages(self) -> None:
        self.query_one("#desk", Grid).refresh_changed()

    def _selected(self) -> Escalation | None:
        return self.query_one("#desk", Grid).cursor_row

    def on_grid_highlighted(self, event: Grid.Highlighted) -> None:
        self._show_detail()

    def _show_detail(self) -> None:
        esc = self._selected()
        text = Text(no_wrap=False)
        if esc is not None:
            text.append(clean(esc.reason, 200), "bold")
            text.append(f"   since {esc.first_seen.astimezone():%H:%M:%S}", "dim")
            store = self.sup.store
            try:
                notes = store.escalation_notes(esc.id) if store else []
            except StoreError as err:
                notes = [{"ts": "", "user": "", "note": f"(notes unavailable: {err})"}]
            for note in notes[-3:]:
                text.append(f"\n  {note['ts'][11:19]} {clean(note['user'], 16)}: ", "dim")
                text.append(clean(note["note"], 200))
        self.query_one("#desk-detail", Static).update(text)

    def _act(self, verb: str, note: str = "") -> None:
        esc = self._selected()
        if esc is None or self.sup.store is None:
            return
        result = self.sup.actions.escalation(self.sup.store, esc.id, verb,
                                             self.sup.centre_now(), note)
        self.notify(clean(result.message, 120),
                    severity="information" if result.ok else "warning")
        if result.ok:
            self.sup.escalation_states = self.sup.store.escalation_states()
            self._escalations_changed()

    def action_set_state(self, state: str) -> None:
        assert state in (OPEN, ACKNOWLEDGED, TAKEN, RESOLVED)
        self._act(state)

    def action_note(self) -> None:
        note = self.query_one("#desk-note", Input)
        note.display = True
        note.focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        text = event.value.strip()
        event.input.value = ""
        event.input.display = False
        self.query_one("#desk", Grid).focus()
        if text:
            self._act("note", text)

    def action_leave_note(self) -> None:
        note = self.query_one("#desk-note", Input)
        note.value = ""
        note.display = False
        self.query_one("#desk", Grid).focus()

    def action_toggle_resolved(self) -> None:
        self.show_resolved = not self.show_resolved
        self._escalations_changed()

    def action_reassign(self) -> None:
        esc = self._selected()
        board = self.sup.board
        if esc is None or board is None or esc.subject_type != "contact":
            self.notify("Select an escalation about a waiting contact", severity="warning")
            return
        contact = next((c for c in board.waiting_by_queue.get(esc.queue_id or "", ())
                        if c.id == esc.subject_id), None)
        if contact is None:
            self.notify("That contact is no longer waiting", severity="warning")
            return
        self.app.push_screen(ReassignScreen([contact], contact.queue_id))

    def action_move_agents(self) -> None:
        """Pull agents onto the escalation's queue: the usual answer to a drowning one."""
        esc = self._selected()
        board = self.sup.board
        if esc is None or board is None or esc.queue_id not in board.rows_by_id:
            self.notify("Select an escalation about a queue or a contact in one",
                        severity="warning")
            return
        self.app.push_screen(MoveAgentsScreen(esc.queue_id))

    def title_text(self) -> str:
        return "Escalations"
