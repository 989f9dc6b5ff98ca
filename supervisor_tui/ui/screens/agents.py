"""Agents: everyone, their state and time in it; filter, sort, and flags (⚑) for agents
too long in after-contact work, away, or on one contact (N x the queue's AHT). Enter
opens an agent's detail; ``space`` selects agents (✓) and v / b / w / o change the
selection's (or the cursor agent's) state, confirmed in the agent detail dialog. ``E``
exports today's agents (handled, AHT, time per state) to a CSV file."""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import Input, Static

from supervisor_tui.domain import fmt
from supervisor_tui.domain.agent_day import agent_key
from supervisor_tui.domain.board import Board
from supervisor_tui.domain.escalation import long_contact_limit_s
from supervisor_tui.domain.flags import count_flagged
from supervisor_tui.domain.index import build_index
from supervisor_tui.domain.model import Agent, AgentStateKind
from supervisor_tui.domain.text import clean
from supervisor_tui.export import to_csv
from supervisor_tui.export_agents import AGENT_EXPORT_COLUMNS, agent_record
from supervisor_tui.ui.screens.agent_detail import PERMISSION, AgentDetailScreen
from supervisor_tui.ui.screens.base import BoardScreen
from supervisor_tui.ui.screens.export_file import ask_export
from supervisor_tui.ui.widgets.adherence import adherence_columns
from supervisor_tui.ui.widgets.grid import Column, Grid
from supervisor_tui.ui.widgets.keys_footer import KeysFooter
from supervisor_tui.ui.widgets.status_bar import StatusBar
from supervisor_tui.ui.widgets.tables import STATE_LABEL, agent_columns

FLAGGED = "flagged"
STATE_FILTERS: list[str | None] = [None, *[k.value for k in AgentStateKind], FLAGGED]


def _cycle(options: list[str | None], current: str | None) -> str | None:
    return options[(options.index(current) + 1) % len(options)] if current in options else None


class AgentsScreen(BoardScreen):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("f", "cycle_state", "State filter"),
        Binding("t", "cycle_team", "Team"),
        Binding("u", "cycle_queue", "Queue"),
        Binding("slash", "search", "Search", key_display="/"),
        Binding("s", "sort", "Sort"),
        Binding("x", "clear", "Clear filters"),
        Binding("escape", "leave_search", "Back to list", show=False),
        Binding("space", "toggle_agent", "Select"),
        Binding("v", "change('available')", "Available"),
        Binding("b", "change('away')", "Away"),
        Binding("w", "change('end_acw')", "End ACW"),
        Binding("o", "change('logout')", "Log out"),
        Binding("E", "export", "Export today's agents (CSV)", show=False),
    ]
    # Keys a viewer does not see (domain.roles.REQUIRED_ROLE; BoardScreen.check_action).
    GATED: ClassVar[dict[str, str]] = {"change": PERMISSION}
    AUTO_FOCUS = "#agents"  # the list, not the search box above it (hidden until /)

    def __init__(self) -> None:
        super().__init__()
        self.state_filter: str | None = None
        self.team_filter: str | None = None
        self.queue_filter: str | None = None
        self.text_filter = ""
        self.selected: set[str] = set()  # agent_key of each agent picked with space
        self._long_for: object = None  # the snapshot _long_limits were worked out for
        self._long_limits: dict[str | None, float | None] = {}

    def compose(self) -> ComposeResult:
        yield StatusBar(id="status")
        yield Static(id="agent-filters", markup=False)
        yield Input(placeholder="search name, team, queue… (Enter to apply, Esc to leave)",
                    id="agent-search")
        pick: Column[Agent] = Column(
            "pick", "✓", 1, lambda a, now: Text("✓", "bold green")
            if agent_key(a) in self.selected else "", priority=0)
        self._pick = pick
        yield Grid(
            self._columns(),
            key_of=lambda a: f"{a.source}:{a.id}",
            now=self.sup.state.data_now,
            empty_text="No agent matches these filters (x clears them)",
            id="agents",
        )
        yield KeysFooter()

    _scheduled = False  # the adherence columns are on (a schedule is loaded today)

    def _columns(self) -> list[Column[Agent]]:
        """The agent columns, with the adherence ones while a schedule is loaded (kept
        out otherwise: they would only show dashes)."""
        columns = [self._pick, *agent_columns(self.queue_name, self._limit_for)]
        self._scheduled = self.sup.state.schedule.has_schedule
        if self._scheduled:
            at = next(i for i, c in enumerate(columns) if c.key == "time") + 1
            columns[at:at] = adherence_columns(lambda: self.sup.state.schedule.now)
        return columns

    def on_mount(self) -> None:
        grid = self.query_one("#agents", Grid)
        grid.sort_by("name")

    def _limit_for(self, agent: Agent) -> float | None:
        rules = self.sup.config.escalations  # one set of limits: flags = escalations
        if agent.state.kind is AgentStateKind.AFTER_CONTACT_WORK:
            return rules.acw_limit_s
        if agent.state.kind is AgentStateKind.AWAY:
            return rules.away_limit_for(agent.state.reason)
        board = self.sup.board
        if agent.state.kind is AgentStateKind.ON_CONTACT and board is not None:
            # Once per queue and poll: thousands of agents are on a contact at once.
            snap = board.snapshot
            if self._long_for is not snap:
                self._long_for, self._long_limits = snap, {}
            qid = agent.queue_id
            if qid not in self._long_limits:
                self._long_limits[qid] = long_contact_limit_s(snap, qid, rules)
            return self._long_limits[qid]
        return None

    def is_flagged(self, agent: Agent, now: datetime) -> bool:
        limit = self._limit_for(agent)
        return limit is not None and (now - agent.state.since).total_seconds() > limit

    def _matches(self, agent: Agent, now: datetime) -> bool:
        if self.state_filter == FLAGGED:
            if not self.is_flagged(agent, now):
                return False
        elif self.state_filter and agent.state.kind.value != self.state_filter:
            return False
        if self.team_filter is not None and agent.team != self.team_filter:
            return False
        if self.queue_filter is not None and self.queue_filter not in agent.skills:
            return False
        if self.text_filter:
            hay = f"{agent.name} {agent.team} {self.queue_name(agent.queue_id)}".lower()
            return self.text_filter in hay
        return True

    def _filtering(self) -> bool:
        return any((self.state_filter, self.team_filter is not None, self.queue_filter,
                    self.text_filter))

    def show_board(self, board: Board) -> None:
        if self.sup.state.schedule.has_schedule != self._scheduled:
            self.query_one("#agents", Grid).set_columns(self._columns())
        now = self.sup.state.data_now()
        agents = board.snapshot.agents
        if self._filtering():  # 10,000 agents: skip the pass when nothing filters
            agents = tuple(a for a in agents if self._matches(a, now))
        self.query_one("#agents", Grid).set_rows(agents)
        self._show_filters(board, len(agents))

    def refresh_ages(self) -> None:
        self.query_one("#agents", Grid).refresh_changed()

    def _show_filters(self, board: Board, shown: int) -> None:
        now = self.sup.state.data_now()
        index = board.index if board.index is not None else build_index(board.snapshot)
        # Reads only agents past their state's shortest limit (domain/flags.py).
        flagged = count_flagged(index, board.snapshot, self.sup.config.escalations, now)
        line = Text(no_wrap=True, overflow="ellipsis")
        line.append(f" {shown} of {len(board.snapshot.agents)} agents", "bold")
        schedule = self.sup.state.schedule
        if schedule.has_schedule:  # up front: the line is cut at 80 columns
            centre = schedule.now.centre
            pct = centre.percent
            line.append(f"  adherence {fmt.DASH if pct is None else f'{pct:.0f}%'} today",
                        "bold")
            if centre.out_now:
                line.append(f" · ✗ {centre.out_now} OUT", "bold red")
        if schedule.problem:
            line.append(f"  ⚠ {clean(schedule.problem, 160)}", "yellow")
        if self.selected:
            line.append(f"  ✓ {len(self.selected)} selected", "bold green")
        if flagged:
            line.append(f"  ⚑ {flagged} too long in ACW/away/a contact", "bold red")
        state = self.state_filter
        label = STATE_LABEL[AgentStateKind(state)][0] if state and state != FLAGGED else state
        line.append(f"  state: {label or 'all'}", "cyan" if state else "dim")
        line.append(f"  team: {clean(self.team_filter) if self.team_filter else 'all'}",
                    "cyan" if self.team_filter is not None else "dim")
        queue = self.queue_name(self.queue_filter) if self.queue_filter else "all"
        line.append(f"  queue: {queue}", "cyan" if self.queue_filter else "dim")
        if self.text_filter:
            line.append(f"  search: {clean(self.text_filter, 30)}", "cyan")
        self.query_one("#agent-filters", Static).update(line)

    def _refilter(self) -> None:
        if self.sup.board is not None:
            self.show_board(self.sup.board)

    def action_cycle_state(self) -> None:
        self.state_filter = _cycle(STATE_FILTERS, self.state_filter)
        self._refilter()

    def action_cycle_team(self) -> None:
        board = self.sup.board
        if board:
            self.team_filter = _cycle([None, *board.teams], self.team_filter)
            self._refilter()

    def action_cycle_queue(self) -> None:
        board = self.sup.board
        if board:
            self.queue_filter = _cycle([None, *(r.queue.id for r in board.rows)],
                                       self.queue_filter)
            self._refilter()

    def action_search(self) -> None:
        search = self.query_one("#agent-search", Input)
        search.display = True
        search.focus()

    def on_input_changed(self, event: Input.Changed) -> None:
        self.text_filter = event.value.strip().lower()
        self._refilter()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.query_one("#agents", Grid).focus()

    def action_leave_search(self) -> None:
        self.query_one("#agents", Grid).focus()

    def action_sort(self) -> None:
        label = self.query_one("#agents", Grid).cycle_sort()
        self.notify(f"Sorted by {label}", timeout=2)

    def action_export(self) -> None:
        """Today's agents (handled, AHT, time per state) to a CSV file whose path is
        typed (``export_file``); the same columns as ``export agents``."""
        zone = self.sup.config.console.policy.zone

        def render() -> tuple[str, int]:
            records = [agent_record(r, zone) for r in self.sup.state.agent_day_rows()]
            return to_csv(records, AGENT_EXPORT_COLUMNS), len(records)

        day = self.sup.state.local(self.sup.state.centre_now()).date()
        ask_export(self, "Export today's agents (CSV) to", f"agents-{day}.csv", render, "agent")

    def action_clear(self) -> None:
        self.state_filter = self.team_filter = self.queue_filter = None
        self.text_filter = ""
        self.query_one("#agent-search", Input).value = ""
        self._refilter()

    def _lacking(self, action: str) -> str | None:
        # Also left out when no connected source can change agents' states: pressed
        # anyway, the dialog refuses with the source's reason (audited).
        lacking = super()._lacking(action)
        if lacking is None and action in self.GATED and not any(
                self.sup.actions.refusal(PERMISSION, s.name) is None
                for s in self.sup.state.sources):
            return PERMISSION
        return lacking

    def on_grid_selected(self, event: Grid.Selected) -> None:
        if event.key is not None:
            self.app.push_screen(AgentDetailScreen([event.key]))

    def action_toggle_agent(self) -> None:
        grid = self.query_one("#agents", Grid)
        key = grid.cursor_key
        if key is None:
            return
        self.selected.symmetric_difference_update({key})
        grid._shown.clear()  # repaint the ✓ column
        grid.refresh()
        grid.action_cursor(1)
        if self.sup.board is not None:
            self._show_filters(self.sup.board, len(grid.rows))

    def action_change(self, verb: str) -> None:
        """v / b / w / o: the selection, else the agent under the cursor, in the detail
        dialog with this change asked for (y confirms there)."""
        keys = sorted(self.selected) if self.selected else []
        if not keys:
            cursor = self.query_one("#agents", Grid).cursor_key
            keys = [cursor] if cursor is not None else []
        if not keys:
            self.notify("No agent selected", severity="warning")
            return
        self.app.push_screen(AgentDetailScreen(keys, ask=verb))

    def title_text(self) -> str:
        return "Agents"
