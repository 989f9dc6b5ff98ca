"""Move agents: add this queue to (or remove it from) agents' skills — the supervisor's
main lever during a surge — with an Erlang C preview of both sides."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.widgets import Footer, Static

from supervisor_tui import fmt
from supervisor_tui.board import Board
from supervisor_tui.model import Agent
from supervisor_tui.preview import preview_agents
from supervisor_tui.safe_text import clean
from supervisor_tui.screens.action_modal import ActionModal
from supervisor_tui.widgets.grid import Column, Grid
from supervisor_tui.widgets.tables import STATE_ORDER, agent_state_text


class MoveAgentsScreen(ActionModal):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "dismiss", "Cancel"),
        Binding("space", "toggle", "Select"),
        Binding("minus", "flip_mode", "Add/remove", key_display="-"),
        Binding("y", "confirm", "Confirm"),
    ]

    def __init__(self, queue_id: str) -> None:
        super().__init__()
        self.queue_id = queue_id
        self.add = True  # add the queue to agents who don't serve it; else remove it
        self.selected: set[str] = set()
        self.done = False

    def _queue_name(self, queue_id: str | None) -> str:
        board = self.sup.board
        row = board.rows_by_id.get(queue_id) if board and queue_id else None
        return clean(row.queue.name, 30) if row else clean(queue_id or "—", 30)

    def compose(self) -> ComposeResult:
        columns: list[Column[Agent]] = [
            Column("pick", " ", 3, lambda a, now: Text(
                "[x]" if a.id in self.selected else "[ ]",
                style="bold green" if a.id in self.selected else "dim"), priority=0),
            Column("name", "Agent", 14, lambda a, now: clean(a.name, 30), priority=0,
                   flex=True, max_width=24),
            Column("team", "Team", 10, lambda a, now: clean(a.team, 20), priority=2),
            Column("state", "State", 16, lambda a, now: agent_state_text(a), priority=0),
            Column("skills", "Serves now", 20,
                   lambda a, now: ", ".join(self._queue_name(s) for s in a.skills), priority=1,
                   flex=True, max_width=50),
        ]
        with Vertical():
            yield Static(id="move-title", classes="modal-title", markup=False)
            yield Grid(columns, key_of=lambda a: a.id, now=self.sup.centre_now,
                       empty_text="No agent to move", id="candidates")
            yield Static(id="move-preview", classes="modal-preview", markup=False)
        yield Footer()

    def on_mount(self) -> None:
        self.watch(self.app, "board", self._board_changed, init=True)
        self.query_one("#candidates", Grid).focus()

    def _candidates(self, board: Board) -> list[Agent]:
        agents = [a for a in board.snapshot.agents
                  if (self.queue_id not in a.skills) == self.add
                  and a.state.kind.value != "offline"]
        # Free capacity first: available agents help at once.
        agents.sort(key=lambda a: (STATE_ORDER[a.state.kind], a.name.lower()))
        return agents

    def _board_changed(self, board: Board | None) -> None:
        if board is None or self.done:
            return
        title = Text()
        verb = "Add" if self.add else "Remove"
        title.append(f"{verb} {self._queue_name(self.queue_id)} "
                     f"{'to' if self.add else 'from'} agents' queues", "bold")
        title.append("  (space selects, - switches add/remove, y confirms)", "dim")
        why = self.sup.actions.refusal("move_agents", self.sup.source_of_queue(self.queue_id))
        if why:
            title.append(f"\n⛔ {why}", "bold red")
        self.query_one("#move-title", Static).update(title)
        self.query_one("#candidates", Grid).set_rows(self._candidates(board))
        self._show_preview(board)

    def _show_preview(self, board: Board) -> None:
        chosen = [a for a in board.snapshot.agents if a.id in self.selected]
        text = Text()
        if not chosen:
            text.append("Select one or more agents.", "dim")
        else:
            p = preview_agents(board, self.queue_id, chosen, self.add)
            text.append(f"{len(chosen)} agent(s): ", "bold")
            text.append(f"{self._queue_name(self.queue_id)} working {p.working_before} → "
                        f"{p.working_after}; predicted SL {fmt.pct(p.sl_before)} → "
                        f"{fmt.pct(p.sl_after)}")
            if p.needed is not None:
                text.append(f" (needs {p.needed})", "dim")
            for other in p.others:
                text.append(f"\n  {self._queue_name(other.queue_id)}: predicted SL "
                            f"{fmt.pct(other.sl_before)} → at worst {fmt.pct(other.sl_after)}"
                            f" if these agents only served {self._queue_name(self.queue_id)}",
                            "yellow")
            text.append("\nPress y to apply, Esc to cancel.", "dim")
        self.query_one("#move-preview", Static).update(text)

    def action_toggle(self) -> None:
        grid = self.query_one("#candidates", Grid)
        key = grid.cursor_key
        if key is None:
            return
        self.selected.symmetric_difference_update({key})
        grid._shown.clear()
        grid.refresh()
        if self.sup.board:
            self._show_preview(self.sup.board)
        grid.action_cursor(1)

    def action_flip_mode(self) -> None:
        self.add = not self.add
        self.selected.clear()
        self._board_changed(self.sup.board)

    def action_confirm(self) -> None:
        board = self.sup.board
        if self.done or board is None or not self.selected:
            return
        self.done = True
        chosen = [a for a in board.snapshot.agents if a.id in self.selected]
        self.query_one("#move-preview", Static).update(Text("Applying…", "bold"))
        self._apply(chosen)

    @work(exclusive=True, group="move-agents")
    async def _apply(self, agents: list[Agent]) -> None:
        results = await self.sup.actions.move_agents(
            agents, self.queue_id, self.add, self.sup.source_of_queue(self.queue_id))
        items = [(a.name, r) for a, r in zip(agents, results, strict=True)]
        self.query_one("#move-preview", Static).update(self.outcome("changed", items))
