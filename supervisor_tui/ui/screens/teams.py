"""Teams (M): per team, agents logged in and by state, occupancy now with its sample,
who has been longest in their current state, and the day's AHT; Enter lists the team's
agents.

Teams are what the sources report for each agent (``Agent.team``), named and ordered by
``[teams]`` when configured. Figures come from ``domain.teams`` once per poll; ages are
taken at render time like every other age on screen.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import Input

from supervisor_tui.domain import fmt
from supervisor_tui.domain.adherence import Totals
from supervisor_tui.domain.board import Board
from supervisor_tui.domain.teams import TeamFigures, team_figures
from supervisor_tui.domain.text import clean
from supervisor_tui.ui.screens.agents import AgentsScreen
from supervisor_tui.ui.screens.base import BoardScreen
from supervisor_tui.ui.widgets.grid import Column, Grid
from supervisor_tui.ui.widgets.keys_footer import KeysFooter
from supervisor_tui.ui.widgets.lean import LeanText
from supervisor_tui.ui.widgets.status_bar import StatusBar
from supervisor_tui.ui.widgets.surveys import has_scores
from supervisor_tui.ui.widgets.surveys import summary as survey_summary
from supervisor_tui.ui.widgets.surveys import team_columns as survey_columns
from supervisor_tui.ui.widgets.tables import STATE_LABEL, age_s, count_cell, dash_cell, num_key

NO_AHT = "no agent has been seen to finish a contact today (the console counts what it sees)"


def adherence_column(teams: Callable[[], Mapping[str, Totals]]) -> Column[TeamFigures]:
    """Team adherence today: (scheduled − out after grace) / scheduled seconds of the
    team's scheduled agents, with how many are scheduled (n) and out now (✗)."""

    def cell(t: TeamFigures, now: datetime) -> Text:
        tot = teams().get(t.team)
        if tot is None or tot.percent is None:
            return dash_cell()
        text = Text(f"{tot.percent:.0f}% n{tot.agents}")
        if tot.out_now:
            text.append(f" ✗{tot.out_now}", "bold red")
        return text

    def key(t: TeamFigures, now: datetime) -> float:
        tot = teams().get(t.team)
        return num_key(None if tot is None else tot.percent)

    # Kept at 80 columns (longest in state goes first): the figure a schedule is for.
    return Column("adh", "Adh today", 12, cell, key, align="right", priority=0)


def team_columns(min_sample: int = 10,
                 name_of: dict[str, str] | None = None) -> list[Column[TeamFigures]]:
    """``name_of``: the names [teams] gives (cleaned); others show as the source says."""
    names = name_of or {}

    def name(t: TeamFigures) -> str:
        return names.get(t.team) or clean(t.team or "(no team)", 40)

    def occupancy(t: TeamFigures, now: datetime) -> Text:
        if t.occupancy is None:
            return dash_cell()
        return Text(f"{fmt.pct(t.occupancy)} {t.busy}/{t.occupancy_n}")

    def longest(t: TeamFigures, now: datetime) -> Text:
        agent = t.longest
        if agent is None:
            return dash_cell()
        word, style = STATE_LABEL[agent.state.kind]
        text = Text(word.split(" ", 1)[0] + " ", style=style)  # the state's symbol
        text.append(fmt.duration(age_s(agent.state.since, now) or 0.0), "bold")
        text.append(f" {clean(agent.name, 30)}")
        return text

    def aht(t: TeamFigures, now: datetime) -> Text:
        if t.aht_s is None:
            return dash_cell()
        return Text(f"{fmt.duration(t.aht_s)} n{t.handled}",
                    style="dim" if t.handled < min_sample else "")

    return [
        Column("team", "Team", 14, lambda t, now: Text(name(t), "" if t.reported else "dim"),
               lambda t, now: name(t).casefold(), priority=0, flex=True, max_width=32),
        Column("in", "In", 4, lambda t, now: count_cell(t.logged_in, "bold"),
               lambda t, now: t.logged_in, align="right", priority=0),
        Column("avail", "Av", 3, lambda t, now: count_cell(t.agents.available, "green"),
               lambda t, now: t.agents.available, align="right", priority=0),
        Column("on", "On", 3, lambda t, now: count_cell(t.agents.on_contact, "cyan"),
               lambda t, now: t.agents.on_contact, align="right", priority=0),
        Column("acw", "ACW", 3, lambda t, now: count_cell(t.agents.after_contact_work, "magenta"),
               lambda t, now: t.agents.after_contact_work, align="right", priority=0),
        Column("away", "Aw", 3, lambda t, now: count_cell(t.agents.away, "yellow"),
               lambda t, now: t.agents.away, align="right", priority=0),
        Column("occ", "Occ now", 11, occupancy,
               lambda t, now: num_key(t.occupancy), align="right",
               priority=0),
        Column("longest", "Longest in state", 18, longest,
               lambda t, now: num_key(age_s(t.longest.state.since, now) if t.longest else None),
               priority=1, sort_by_time=True),
        Column("aht", "AHT today", 10, aht,
               lambda t, now: num_key(t.aht_s), align="right",
               priority=0),
        Column("off", "Off", 4, lambda t, now: count_cell(t.agents.offline, "dim"),
               lambda t, now: t.agents.offline, align="right", priority=3),
    ]


class TeamsScreen(BoardScreen):
    DEFAULT_CSS = """
    #team-summary { height: auto; max-height: 2; background: $panel; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("s", "sort", "Sort"),
    ]

    _rows_for: object = None  # the board the rows were worked out for
    _rows: tuple[TeamFigures, ...] = ()

    def compose(self) -> ComposeResult:
        yield StatusBar(id="status")
        yield LeanText(id="team-summary")
        yield Grid(
            self._columns(),
            key_of=lambda t: t.team,
            now=self.sup.state.data_now,
            empty_text="Waiting for the first poll…",
            id="teams",
        )
        yield KeysFooter()

    _scheduled = False  # the adherence column is on (a schedule is loaded today)

    def _columns(self) -> list[Column[TeamFigures]]:
        cfg = self.sup.config
        columns = team_columns(cfg.console.min_sample, {
            t: cfg.teams.label(t) for t in (*cfg.teams.names, *cfg.teams.order)})
        self._scheduled = self.sup.state.schedule.has_schedule
        if self._scheduled:
            columns.insert(next(i for i, c in enumerate(columns) if c.key == "aht") + 1,
                           adherence_column(lambda: self.sup.state.schedule.now.teams))
        # CSAT / NPS per team once today has a scored response (none: no empty columns).
        self._surveyed = has_scores(self.sup.state.surveys.figures)
        if self._surveyed:
            columns += survey_columns(lambda: self.sup.state.surveys.figures,
                                      cfg.console.min_sample)
        return columns

    _surveyed = False  # the CSAT / NPS columns are on

    def on_mount(self) -> None:
        self.query_one("#teams", Grid).focus()

    def figures(self, board: Board) -> tuple[TeamFigures, ...]:
        """Every team's figures, once per poll (agents' days move with the same poll)."""
        if self._rows_for is not board:
            self._rows = team_figures(board.snapshot.agents, self.sup.state.agent_days,
                                      self.sup.config.teams.order)
            self._rows_for = board
        return self._rows

    def show_board(self, board: Board) -> None:
        if self.sup.state.schedule.has_schedule != self._scheduled or \
                has_scores(self.sup.state.surveys.figures) != self._surveyed:
            self.query_one("#teams", Grid).set_columns(self._columns())
        rows = self.figures(board)
        self.query_one("#teams", Grid).set_rows(rows)
        self._show_summary(rows)

    def refresh_ages(self) -> None:
        self.query_one("#teams", Grid).refresh_changed()

    def _show_summary(self, rows: tuple[TeamFigures, ...]) -> None:
        """What the columns are, and where AHT comes from (what the console saw)."""
        line = Text(no_wrap=True, overflow="ellipsis")
        reported = [t for t in rows if t.reported]
        line.append(f" {len(reported)} teams · {sum(t.logged_in for t in rows)} agents in",
                    "bold")
        busy = sum(t.busy for t in rows)
        n = sum(t.occupancy_n for t in rows)
        # (short enough for 80 columns: the formula is the point of the line)
        line.append(f" · occ now {fmt.pct(busy / n) if n else fmt.DASH} = {busy}/{n} "
                    "(on+ACW)/(on+ACW+avail)\n")
        unknown = [t.team for t in rows if not t.reported]
        if unknown:  # a typo in [teams] order, or a team nobody reports now
            line.append(f" ⚠ in [teams] but not reported: "
                        f"{', '.join(clean(t, 24) for t in unknown)} ·", "yellow")
        handled = sum(t.handled for t in rows)
        surveys = self.sup.state.surveys.figures
        if has_scores(surveys):
            line.append(" Surveys today: ", "dim")
            line.append_text(survey_summary(surveys.centre))
            line.append(" ·", "dim")
        if handled:
            since = min(t.observed_since for t in rows if t.observed_since is not None)
            local = self.sup.state.local(since)
            line.append(f" AHT today: {handled} contacts the console saw finished since "
                        f"{local:%H:%M} (n: per team)", "dim")
        else:
            line.append(f" AHT {fmt.DASH}: {NO_AHT}", "dim")
        self.query_one("#team-summary", LeanText).update(line)

    def action_sort(self) -> None:
        label = self.query_one("#teams", Grid).cycle_sort()
        self.notify(f"Sorted by {label}", timeout=2)

    def on_grid_selected(self, event: Grid.Selected) -> None:
        if event.key is None:
            return
        label = self.sup.config.teams.label(event.key)
        if not any(t.team == event.key and t.reported for t in self._rows):
            self.notify(f"No source reports an agent in {label} now", timeout=4,
                        markup=False)
            return
        self.app.push_screen(TeamAgentsScreen(event.key, label))

    def title_text(self) -> str:
        return "Teams"


class TeamAgentsScreen(AgentsScreen):
    """The agents screen filtered to one team (t, x and the other filters still work);
    esc goes back to the teams."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "leave_search", "Back to teams"),
    ]

    def __init__(self, team: str, label: str) -> None:
        super().__init__()
        self.team_filter = team
        self.label = label

    def action_leave_search(self) -> None:
        if isinstance(self.focused, Input):
            super().action_leave_search()
        else:
            self.app.pop_screen()

    def title_text(self) -> str:
        return f"Agents · {self.label}"
