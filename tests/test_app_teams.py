"""The team view (M), driven with keys: the hand-built centre at 80x24, the simulator at
200x60 (rows recounted from the snapshot and the agents' days the screen was built
from), hostile team names, and Enter to a team's agents."""

from __future__ import annotations

import re
from datetime import timedelta

from supervisor_tui.config import parse_config
from supervisor_tui.domain import fmt
from supervisor_tui.domain.agent_day import agent_key
from supervisor_tui.domain.model import Agent, AgentState, AgentStateKind
from supervisor_tui.sim.config import SimulatorConfig
from supervisor_tui.sources.simulator import SimulatorSource
from supervisor_tui.store import Store
from supervisor_tui.ui.app import SupervisorApp
from supervisor_tui.ui.screens.teams import TeamsScreen
from supervisor_tui.ui.widgets.grid import Grid
from tests import hostile
from tests.helpers import (
    POLICY,
    T0,
    ScriptedSource,
    centre,
    help_rows,
    make_app,
    screen_text,
    screen_title,
    settle,
    wait_for,
)

# Team, In Av On ACW Aw, Occ now, Longest in state, AHT today, and Off when it fits.
ROW = re.compile(r"^(?P<team>.+?)\s+(?P<counts>\d+\s+\d+\s+\d+\s+\d+\s+\d+)\s+"
                 r"(?P<occ>—|\d+% \d+/\d+)\s+(?P<longest>.*?)\s*(?P<aht>—|[\d:dh]+ n\d+)"
                 r"(?:\s+(?P<off>\d+))?$")


def rows_on_screen(app) -> dict[str, re.Match[str]]:  # type: ignore[no-untyped-def]
    text = screen_text(app).splitlines()
    start = next(i for i, line in enumerate(text) if line.startswith("Team "))
    found = {}
    for line in text[start + 1:]:
        m = ROW.match(line.strip())
        if m:
            found[m["team"].strip()] = m
    return found


async def open_teams(pilot) -> Grid:  # type: ignore[no-untyped-def]
    await settle(pilot)
    await pilot.press("M")
    await wait_for(pilot, lambda: screen_title(pilot.app) == "Teams")
    await pilot.pause(0.2)
    return pilot.app.screen.query_one("#teams", Grid)


async def test_teams_by_hand_at_80x24_and_enter_lists_the_team() -> None:
    app = make_app(ScriptedSource([centre()]))
    async with app.run_test(size=(80, 24)) as pilot:
        await open_teams(pilot)
        rows = rows_on_screen(app)
        assert list(rows) == ["Blue", "Red"]
        blue, red = rows["Blue"], rows["Red"]
        # Blue: Cy in ACW for 10 min, Di away: occupancy 1 / (1 busy + 0 available).
        assert blue["counts"].split() == ["2", "0", "0", "1", "1"]
        assert blue["occ"] == "100% 1/1"
        assert blue["longest"].startswith("◇ 10:0") and "Cy" in blue["longest"]
        # Red: Ana available, Bo on a contact: 1 / 2; both in state 30 s, Ana first.
        assert red["counts"].split() == ["2", "1", "1", "0", "0"]
        assert red["occ"] == "50% 1/2"
        assert red["longest"].startswith("● 0:3") and "Ana" in red["longest"]
        # The same snapshot every poll: nobody is seen to finish a contact, so no AHT.
        assert red["aht"] == blue["aht"] == "—"
        text = screen_text(app)
        assert "occ now 67% = 2/3 (on+ACW)/(on+ACW+avail)" in text  # whole at 80 columns
        assert "AHT —: no agent has been seen to finish a contact today" in text

        await pilot.press("question_mark")
        await pilot.pause(0.3)
        assert ["s", "Sort"] in help_rows(app)
        await pilot.press("escape")

        await pilot.press("enter")  # the cursor's team: Blue
        await wait_for(pilot, lambda: screen_title(app) == "Agents · Blue")
        agents = app.screen.query_one("#agents", Grid)
        assert sorted(a.name for a in agents.rows) == ["Cy", "Di"]
        await pilot.press("escape")
        await wait_for(pilot, lambda: screen_title(app) == "Teams")


async def test_teams_config_names_and_orders_them() -> None:
    config = parse_config({"console": {"timezone": "UTC", "poll_interval_s": 0.1},
                           "teams": {"order": ["Red", "Green"],
                                     "names": {"Red": "[b]Red floor[/b]"}}}, "test")
    app = make_app(ScriptedSource([centre()]), config)
    async with app.run_test(size=(100, 30)) as pilot:
        await open_teams(pilot)
        text = screen_text(app)
        lines = [line for line in text.splitlines() if line.startswith(("[b]", "Green", "Blue"))]
        assert [line.split("  ")[0] for line in lines] == ["[b]Red floor[/b]", "Green", "Blue"]
        assert "⚠ in [teams] but not reported: Green" in text
        await pilot.press("down")  # Green: nobody to list, Enter stays here and says so
        await pilot.press("enter")
        await wait_for(pilot, lambda: any("No source reports an agent in Green now"
                                          in n.message for n in app._notifications))
        assert screen_title(app) == "Teams"


async def test_simulator_teams_match_a_recount_of_the_snapshot_at_200x60() -> None:
    config = parse_config({"console": {"timezone": "UTC", "poll_interval_s": 0.2}}, "t")
    sim = SimulatorConfig(seed=11, speed=120)
    app = SupervisorApp(config, [SimulatorSource("simulator", POLICY, sim)],
                        store=Store.open(None))
    async with app.run_test(size=(200, 60)) as pilot:
        await open_teams(pilot)

        def handled() -> int:
            return sum(d.handled for d in app.state.agent_days.values())

        await wait_for(pilot, lambda: handled() >= 10, timeout=30)  # minutes simulated
        app.workers.cancel_group(app, "poller")  # hold one board still to compare
        await pilot.pause(0.5)
        screen = app.screen
        assert isinstance(screen, TeamsScreen)
        board = app.board
        assert board is not None
        screen.show_board(board)  # (the last poll may have landed while stopping)
        await pilot.pause(0.2)
        agents = board.snapshot.agents
        days = app.state.agent_days
        teams = sorted({a.team for a in agents}, key=str.casefold)
        assert len(teams) >= 6
        rows = rows_on_screen(app)
        assert sorted(rows, key=str.casefold) == teams
        total_handled = 0
        for team in teams:
            members = [a for a in agents if a.team == team]
            count = {k: sum(1 for a in members if a.state.kind is k) for k in AgentStateKind}
            on, acw = count[AgentStateKind.ON_CONTACT], count[AgentStateKind.AFTER_CONTACT_WORK]
            avail, away = count[AgentStateKind.AVAILABLE], count[AgentStateKind.AWAY]
            row = rows[team]
            assert row["counts"].split() == [str(on + acw + avail + away), str(avail), str(on),
                                             str(acw), str(away)], team
            n = on + acw + avail
            assert row["occ"] == (f"{round((on + acw) / n * 100)}% {on + acw}/{n}"
                                  if n else "—"), team
            longest = min((a for a in members if a.state.kind is not AgentStateKind.OFFLINE),
                          key=lambda a: a.state.since, default=None)
            if longest is not None:
                assert longest.name[:5] in row["longest"], team
            seen = [days[agent_key(a)] for a in members if agent_key(a) in days]
            n_handled = sum(d.handled for d in seen)
            total_handled += n_handled
            if n_handled:
                aht = sum(d.handle_s for d in seen) / n_handled
                assert row["aht"] == f"{fmt.duration(aht)} n{n_handled}", team
            else:
                assert row["aht"] == "—", team
            assert row["off"] == str(count[AgentStateKind.OFFLINE]), team
        assert total_handled >= 10


def team_agent(i: int, team: str) -> Agent:
    return Agent(id=f"h{i}", source="pbx", name=f"Agent {i}", team=team,
                 state=AgentState(kind=AgentStateKind.AVAILABLE,
                                  since=T0 - timedelta(seconds=i)))


async def test_hostile_team_names_are_shown_as_text() -> None:
    names = [*hostile.HOSTILE, "[bold red]Red[/]\x1b]0;owned\x07", "[@click=app.quit]x[/]"]
    snap = centre()
    snap = snap.model_copy(update={"agents": tuple(team_agent(i, n)
                                                   for i, n in enumerate(names))})
    app = make_app(ScriptedSource([snap]))
    async with app.run_test(size=(200, 60)) as pilot:
        await open_teams(pilot)
        text = screen_text(app)
        assert not re.search("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]", text)
        assert "[bold red]Red[/]" in text and "[@click=app.quit]x[/]" in text
        if hostile.HOSTILE:
            assert "[link=https://evil.example/]click[/link]" in text
        await pilot.press("end", "enter")  # a hostile team's agents, then back
        await pilot.pause(0.3)
        assert screen_title(app).startswith("Agents · ")
        await pilot.press("escape")
        await wait_for(pilot, lambda: screen_title(app) == "Teams")
        assert app.is_running


async def test_the_command_palette_opens_the_teams() -> None:
    app = make_app(ScriptedSource([centre()]))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("ctrl+p")
        await pilot.pause(0.2)
        await pilot.press(*"teams")
        await pilot.pause(0.5)
        await pilot.press("enter")
        await wait_for(pilot, lambda: screen_title(app) == "Teams")
