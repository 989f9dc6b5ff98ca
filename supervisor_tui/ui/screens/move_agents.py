"""Move agents: add this queue to (or remove it from) agents' skills — the supervisor's
main lever during a surge — with an Erlang C preview of both sides.

A change that leaves the queue with no agent, or with contacts waiting and fewer
agents than Erlang C needs — or, when adding, takes another queue the agents serve
under its need — is shown as a loud warning and needs a word typed to go ahead
(REMOVE, or SHARE); ``y`` alone does nothing then. The preview and the warning are
recomputed from every poll, and checked again at the moment of confirming."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.widgets import Input, Label, Static

from supervisor_tui.domain import fmt
from supervisor_tui.domain.board import Board
from supervisor_tui.domain.model import Agent
from supervisor_tui.domain.preview import AgentsPreview, agents_text, preview_agents
from supervisor_tui.domain.text import clean
from supervisor_tui.ui.screens.action_modal import ActionModal
from supervisor_tui.ui.widgets.grid import Column, Grid
from supervisor_tui.ui.widgets.keys_footer import KeysFooter
from supervisor_tui.ui.widgets.tables import STATE_ORDER, agent_state_text

# The word typed to go ahead with a dangerous change: removing agents, or sharing their
# time with another queue.
CONFIRM_WORDS = {False: "REMOVE", True: "SHARE"}


class MoveAgentsScreen(ActionModal):
    DEFAULT_CSS = """
    MoveAgentsScreen #danger-field { height: 1; display: none; }
    MoveAgentsScreen.-confirming #danger-field { display: block; }
    MoveAgentsScreen #danger-field > Label { width: auto; margin-right: 1; text-style: bold;
                                            color: $error; }
    MoveAgentsScreen #danger-field > Input { width: 16; background: $boost; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "dismiss", "Cancel"),
        Binding("space", "toggle_agent", "Select"),
        Binding("minus", "flip_mode", "Add/remove", key_display="-"),
        Binding("y", "confirm", "Confirm"),
    ]

    def __init__(self, queue_id: str) -> None:
        super().__init__()
        self.queue_id = queue_id
        self.add = True  # add the queue to agents who don't serve it; else remove it
        self.selected: set[str] = set()
        self.note: str | None = None  # e.g. a mistyped confirmation word, until next key
        self.done = False

    @property
    def word(self) -> str:
        return CONFIRM_WORDS[self.add]

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
                   lambda a, now: ", ".join(self.queue_name(s, 30) for s in a.skills), priority=1,
                   flex=True, max_width=50),
        ]
        with Vertical():
            yield Static(id="move-title", classes="modal-title", markup=False)
            yield Grid(columns, key_of=lambda a: a.id, now=self.sup.state.centre_now,
                       empty_text="No agent to move", id="candidates")
            yield Static(id="move-preview", classes="modal-preview", markup=False)
            with Horizontal(id="danger-field"):
                yield Label(id="danger-label")
                yield Input(id="danger-confirm", compact=True)
        yield KeysFooter()

    def on_mount(self) -> None:
        self.watch(self.app, "board", self._board_changed, init=True)
        self.query_one("#candidates", Grid).focus()

    def _candidates(self, board: Board) -> list[Agent]:
        agents = [a for a in board.snapshot.agents
                  if (self.queue_id not in a.skills) == self.add
                  and a.state.kind.value != "offline" and self._same_platform(board, a)]
        # Free capacity first: available agents help at once.
        agents.sort(key=lambda a: (STATE_ORDER[a.state.kind], a.name.lower()))
        return agents

    def _same_platform(self, board: Board, agent: Agent) -> bool:
        """Whether the agent can serve this queue at all: an agent of the queue's own
        source, or one who serves another queue of that source (agent states from a
        second source, ``provides = "agents"``). A skill change goes to the agent's own
        source; another platform's agent cannot be given this platform's queue."""
        row = board.rows_by_id.get(self.queue_id)
        if row is None or agent.source == row.queue.source:
            return True
        rows = board.rows_by_id
        return any((r := rows.get(s)) is not None and r.queue.source == row.queue.source
                   for s in agent.skills)

    def _board_changed(self, board: Board | None) -> None:
        if board is None or self.done:
            return
        title = Text()
        verb = "Add" if self.add else "Remove"
        title.append(f"{verb} {self.queue_name(self.queue_id, 30)} "
                     f"{'to' if self.add else 'from'} agents' queues", "bold")
        title.append("  (space selects, - switches add/remove, y confirms)", "dim")
        row = board.rows_by_id.get(self.queue_id)
        why = self.sup.actions.refusal("move_agents", row.queue.source if row else None)
        if why:
            title.append(f"\n⛔ {why}", "bold red")
        self.query_one("#move-title", Static).update(title)
        self.query_one("#candidates", Grid).set_rows(self._candidates(board))
        self._show_preview(board)

    def _chosen(self, board: Board) -> list[Agent]:
        return [a for a in self._candidates(board) if a.id in self.selected]

    def _live_preview(self) -> AgentsPreview | None:
        board = self.sup.board
        if board is None or self.queue_id not in board.rows_by_id:
            return None
        chosen = self._chosen(board)
        return preview_agents(board, self.queue_id, chosen, self.add) if chosen else None

    def _show_preview(self, board: Board) -> None:
        if self.done:
            return
        chosen = self._chosen(board)
        text = Text()
        if self.queue_id not in board.rows_by_id:
            text.append("This queue is no longer reported by any source.", "bold red")
        elif not chosen:
            text.append("Select one or more agents.", "dim")
            self._end_confirming()
        else:
            p = preview_agents(board, self.queue_id, chosen, self.add)
            if p.danger:
                text.append(f" ⚠ DANGER: this {clean(p.danger, 160)} ", "bold white on red")
                text.append("\n")
            text.append(f"{len(chosen)} agent(s): ", "bold")
            text.append(f"{self.queue_name(self.queue_id, 30)} effective agents "
                        f"{agents_text(p.working_before)} → {agents_text(p.working_after)}; "
                        f"predicted SL {fmt.pct(p.sl_before)} → {fmt.pct(p.sl_after)}")
            if p.needed is not None:
                text.append(f" (needs {p.needed})", "dim")
            for other in p.others:
                text.append(f"\n  {self.queue_name(other.queue_id, 30)}: predicted SL "
                            f"{fmt.pct(other.sl_before)} → {fmt.pct(other.sl_after)} with "
                            f"these agents' time shared with {self.queue_name(self.queue_id, 30)}",
                            "yellow")
            if p.danger:
                text.append(f"\nType {self.word} below and Enter to go ahead; Esc cancels."
                            if self.has_class("-confirming") else
                            f"\nPress y, then type {self.word} to go ahead; Esc cancels.",
                            "bold")
            else:
                self._end_confirming()
                text.append("\nPress y to apply, Esc to cancel.", "dim")
        if self.note:
            text.append(f"\n{self.note}", "bold red")
        self.query_one("#move-preview", Static).update(text)

    def _end_confirming(self) -> None:
        if self.has_class("-confirming"):
            self.remove_class("-confirming")
            self.query_one("#danger-confirm", Input).value = ""
            self.query_one("#candidates", Grid).focus()

    def action_toggle_agent(self) -> None:
        grid = self.query_one("#candidates", Grid)
        key = grid.cursor_key
        if key is None:
            return
        self.selected.symmetric_difference_update({key})
        self.note = None
        grid._shown.clear()
        grid.refresh()
        if self.sup.board:
            self._show_preview(self.sup.board)
        grid.action_cursor(1)

    def action_flip_mode(self) -> None:
        self.add = not self.add
        self.selected.clear()
        self._end_confirming()
        self._board_changed(self.sup.board)

    def action_confirm(self) -> None:
        board = self.sup.board
        if self.done or board is None or not self.selected:
            return
        self.note = None
        p = self._live_preview()
        if p is not None and p.danger:
            # Not on y alone: the word must be typed (and the danger is re-checked then).
            self.query_one("#danger-label", Label).update(
                f"Type {self.word} and Enter to go ahead anyway:")
            self.query_one("#danger-confirm", Input).placeholder = self.word
            self.add_class("-confirming")
            self.query_one("#danger-confirm", Input).focus()
            self._show_preview(board)
            return
        self._go(board)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        board = self.sup.board
        typed = event.value.strip()
        event.input.value = ""
        if self.done or board is None:
            return
        if typed.upper() != self.word:
            self.note = f"Type {self.word} to confirm — nothing was changed."
            self._end_confirming()
            self._show_preview(board)
            return
        self._go(board)

    def _go(self, board: Board) -> None:
        chosen = self._chosen(board)
        if not chosen:
            return
        self.done = True
        self.remove_class("-confirming")
        self.query_one("#candidates", Grid).focus()
        self.query_one("#move-preview", Static).update(Text("Applying…", "bold"))
        self._apply(chosen)

    @work(exclusive=True, group="move-agents")
    async def _apply(self, agents: list[Agent]) -> None:
        results = await self.sup.actions.move_agents(agents, self.queue_id, self.add)
        items = [(a.name, r) for a, r in zip(agents, results, strict=True)]
        self.query_one("#move-preview", Static).update(self.outcome("changed", items))
