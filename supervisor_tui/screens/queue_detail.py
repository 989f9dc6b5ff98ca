"""Queue detail: waiting contacts oldest first, the agents who serve the queue, its
interval and day metrics, and Erlang C staffing (needed now vs staffed)."""

from __future__ import annotations

from typing import ClassVar

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.widgets import Footer, Static

from supervisor_tui import fmt
from supervisor_tui.board import Board, QueueRow
from supervisor_tui.model import Agent, Contact
from supervisor_tui.safe_text import clean
from supervisor_tui.screens.base import BoardScreen
from supervisor_tui.screens.move_agents import MoveAgentsScreen
from supervisor_tui.screens.reassign import ReassignScreen
from supervisor_tui.widgets.grid import Grid
from supervisor_tui.widgets.status_bar import StatusBar
from supervisor_tui.widgets.tables import agent_columns, contact_columns, sl_cell


def metrics_table(row: QueueRow, interval_label: str) -> Table:
    table = Table(box=None, padding=(0, 1), expand=False, show_edge=False)
    table.add_column("", style="bold")
    table.add_column(interval_label, justify="right")
    table.add_column("Today", justify="right")
    i, d = row.interval, row.day
    table.add_row("SL", sl_cell(i.service_level, row.status), fmt.pct(d.service_level))
    table.add_row("Offered", str(i.stats.offered), str(d.stats.offered))
    table.add_row("Answered", str(i.stats.answered), str(d.stats.answered))
    table.add_row("Abandoned", f"{i.stats.abandoned} ({fmt.pct(i.abandon_rate, 1)})",
                  f"{d.stats.abandoned} ({fmt.pct(d.abandon_rate, 1)})")
    table.add_row("ASA", fmt.duration(i.asa_s), fmt.duration(d.asa_s))
    table.add_row("AHT", fmt.duration(i.aht_s), fmt.duration(d.aht_s))
    return table


def staffing_text(row: QueueRow) -> Text:
    text = Text()
    q = row.queue
    text.append("Erlang C ", "bold")
    text.append(f"target {fmt.pct(q.sl_target)} in {fmt.duration(q.threshold_s)}\n", "dim")
    working = row.agents.staffed - row.agents.away
    s = row.staffing
    if s is None:
        text.append("Not enough contacts yet this interval to estimate.\n", "dim")
    else:
        short = s.needed - working
        text.append("Needed now ")
        text.append(str(s.needed), "bold")
        text.append("  staffed ")
        text.append(str(working), "bold red" if short > 0 else "bold green")
        if short > 0:
            text.append(f"  short {short}", "bold red")
        text.append("\n")
        text.append(f"from {s.arrival_per_hour:.0f}/h × AHT {fmt.duration(s.aht_s)}"
                    f" = {s.result.traffic_erlangs:.1f} Erl\n", "dim")
        if s.predicted_sl_with_staffed is not None:
            text.append("Predicted SL with staffed: ")
            text.append(fmt.pct(s.predicted_sl_with_staffed), "bold")
            text.append("\n")
    a = row.agents
    text.append(f"Agents: {a.available} avail · {a.on_contact} on · "
                f"{a.after_contact_work} ACW · {a.away} away")
    return text


class QueueDetailScreen(BoardScreen):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,backspace", "app.pop_screen", "Back"),
        Binding("tab", "app.focus_next", "Switch table", show=False),
        Binding("r", "reassign", "Reassign"),
        Binding("o", "overflow", "Overflow"),
        Binding("m", "move_agents", "Move agents"),
    ]

    def __init__(self, queue_id: str) -> None:
        super().__init__()
        self.queue_id = queue_id

    def compose(self) -> ComposeResult:
        yield StatusBar(id="status")
        with Horizontal(id="queue-summary"):
            yield Static(id="queue-metrics", markup=False)
            yield Static(id="queue-staffing", markup=False)
        with Horizontal(id="queue-lists"):
            with Vertical():
                yield Static("Waiting, oldest first", classes="section-title")
                yield Grid(
                    contact_columns(self._threshold, self._queue_name, with_queue=False),
                    key_of=lambda c: c.id,
                    now=self.sup.centre_now,
                    empty_text="Nobody waiting",
                    id="waiting",
                )
            with Vertical():
                yield Static("Agents serving this queue", classes="section-title")
                yield Grid(
                    agent_columns(self._queue_name, lambda a: None),
                    key_of=lambda a: f"{a.source}:{a.id}",
                    now=self.sup.centre_now,
                    empty_text="No agent has this skill",
                    id="serving",
                )
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#waiting", Grid).focus()
        self.query_one("#serving", Grid).sort_by("state")

    def _row(self) -> QueueRow | None:
        board = self.sup.board
        return board.rows_by_id.get(self.queue_id) if board else None

    def _threshold(self, contact: Contact) -> float:
        row = self._row()
        return row.queue.threshold_s if row else 0.0

    def _queue_name(self, queue_id: str | None) -> str:
        board = self.sup.board
        row = board.rows_by_id.get(queue_id) if board and queue_id else None
        return clean(row.queue.name, 40) if row else clean(queue_id or "—", 40)

    def show_board(self, board: Board) -> None:
        row = board.rows_by_id.get(self.queue_id)
        if row is None:
            self.query_one("#queue-metrics", Static).update(
                Text("This queue is no longer reported by any source.", "bold red")
            )
            return
        label = self.sup.config.console.policy.label(board.taken_at)
        self.query_one("#queue-metrics", Static).update(metrics_table(row, label))
        self.query_one("#queue-staffing", Static).update(staffing_text(row))
        self.query_one("#waiting", Grid).set_rows(board.waiting_by_queue.get(self.queue_id, ()))
        serving: tuple[Agent, ...] = board.agents_by_queue.get(self.queue_id, ())
        self.query_one("#serving", Grid).set_rows(serving)

    def _waiting(self) -> list[Contact]:
        board = self.sup.board
        return list(board.waiting_by_queue.get(self.queue_id, ())) if board else []

    def action_reassign(self) -> None:
        key = self.query_one("#waiting", Grid).cursor_key
        contact = next((c for c in self._waiting() if c.id == key), None)
        if contact is None:
            self.notify("No waiting contact selected", severity="warning")
            return
        self.app.push_screen(ReassignScreen([contact], self.queue_id))

    def action_overflow(self) -> None:
        waiting = self._waiting()
        if not waiting:
            self.notify("Nobody is waiting in this queue", severity="warning")
            return
        self.app.push_screen(ReassignScreen(waiting, self.queue_id, overflow=True))

    def on_grid_selected(self, event: Grid.Selected) -> None:
        if event.grid.id == "waiting":  # Enter on a waiting contact: reassign it
            self.action_reassign()

    def action_move_agents(self) -> None:
        self.app.push_screen(MoveAgentsScreen(self.queue_id))

    def refresh_ages(self) -> None:
        for grid in self.query(Grid):
            grid.refresh_changed()

    def title_text(self) -> str:
        row = self._row()
        return f"Queue: {clean(row.queue.name, 40)}" if row else "Queue"
