"""Agents screen, command palette and live updates, driven with keys."""

from __future__ import annotations

from supervisor_tui.config import parse_config
from supervisor_tui.sim.config import SimulatorConfig
from supervisor_tui.sources.simulator import SimulatorSource
from supervisor_tui.store import Store
from supervisor_tui.ui.app import SupervisorApp
from supervisor_tui.ui.widgets.grid import Grid
from tests.helpers import POLICY, ScriptedSource, centre, make_app, screen_text, wait_for


async def open_agents(pilot) -> Grid:  # type: ignore[no-untyped-def]
    await wait_for(pilot, lambda: pilot.app.board is not None)
    await pilot.press("a")
    await pilot.pause(0.2)
    return pilot.app.screen.query_one("#agents", Grid)


async def test_filter_by_state_flags_and_search() -> None:
    app = make_app(ScriptedSource([centre()]))
    async with app.run_test(size=(100, 30)) as pilot:
        grid = await open_agents(pilot)
        text = screen_text(app)
        assert "4 of 4 agents" in text
        assert "⚑ 1 too long in ACW/away/a contact" in text  # Cy: 10 min in ACW, limit 2 min
        assert "⚑ 10:00" in text
        await pilot.press("f")  # state: available
        await pilot.pause(0.1)
        assert [a.name for a in grid.rows] == ["Ana"]
        for _ in range(5):  # on_contact, acw, away, offline, flagged
            await pilot.press("f")
        await pilot.pause(0.1)
        assert [a.name for a in grid.rows] == ["Cy"]
        await pilot.press("x")
        await pilot.press("t")  # first team alphabetically: Blue
        await pilot.pause(0.1)
        assert sorted(a.name for a in grid.rows) == ["Cy", "Di"]
        await pilot.press("x", "slash", "b", "o", "enter")
        await pilot.pause(0.1)
        assert [a.name for a in grid.rows] == ["Bo"]
        assert "1 of 4 agents" in screen_text(app)


async def test_sort_and_queue_filter() -> None:
    app = make_app(ScriptedSource([centre()]))
    async with app.run_test(size=(100, 30)) as pilot:
        grid = await open_agents(pilot)
        assert [a.name for a in grid.rows] == ["Ana", "Bo", "Cy", "Di"]  # by name
        await pilot.press("u")  # queue: sales
        await pilot.pause(0.1)
        assert [a.name for a in grid.rows] == ["Ana", "Bo"]
        await pilot.press("x", "s", "s")  # name ▲ -> team ▼ -> team ▲
        await pilot.pause(0.1)
        assert [a.name for a in grid.rows] == ["Cy", "Di", "Ana", "Bo"]
        assert "Team▲" in screen_text(app)


async def test_a_changed_agent_is_shown_at_its_sorted_place_next_poll() -> None:
    """Sorted by name (snapshot order Di, Cy, Bo, Ana): Bo goes on a break, a new object
    with the same name; the grid patches it in at its place (not a new sort) and shows
    what a full sort shows."""
    from supervisor_tui.domain.model import AgentState, AgentStateKind

    first = centre()
    first = first.model_copy(update={"agents": tuple(reversed(first.agents))})
    away = AgentState(kind=AgentStateKind.AWAY, reason="break", since=first.taken_at)
    later = first.model_copy(update={"agents": tuple(
        a.model_copy(update={"state": away, "contact_id": None, "queue_id": None})
        if a.name == "Bo" else a for a in first.agents)})
    app = make_app(ScriptedSource([first, later]))
    async with app.run_test(size=(100, 30)) as pilot:
        grid = await open_agents(pilot)
        await wait_for(pilot, lambda: app.board is not None
                       and app.board.snapshot is not first and "Bo" in screen_text(app))
        await wait_for(pilot, lambda: all(a in later.agents for a in grid.rows))
        assert [a.name for a in grid.rows] == ["Ana", "Bo", "Cy", "Di"]
        assert [a.state.kind for a in grid.rows] == [
            AgentStateKind.AVAILABLE, AgentStateKind.AWAY,
            AgentStateKind.AFTER_CONTACT_WORK, AgentStateKind.AWAY]  # Di: away at lunch
        assert list(grid.rows) == sorted(later.agents, key=lambda a: a.name)


async def test_command_palette_opens_a_queue() -> None:
    app = make_app(ScriptedSource([centre()]))
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, lambda: app.board is not None)
        await pilot.press("ctrl+p")
        await pilot.pause(0.2)
        await pilot.press(*"support")
        await pilot.pause(0.5)
        await pilot.press("enter")
        await wait_for(pilot, lambda: "Queue: Support" in screen_text(app))


async def test_live_simulator_numbers_change_and_cursor_stays() -> None:
    config = parse_config({"console": {"timezone": "UTC", "poll_interval_s": 0.2}}, "t")
    sim = SimulatorConfig(seed=5, speed=60)
    app = SupervisorApp(config, [SimulatorSource("simulator", POLICY, sim)],
                        store=Store.open(None))
    async with app.run_test(size=(120, 40)) as pilot:
        grid = app.screen.query_one("#queues", Grid)
        await wait_for(pilot, lambda: len(grid.rows) == 8)
        await pilot.press("down", "down")
        key = grid.cursor_key
        first = app.board
        await wait_for(pilot, lambda: app.board is not first)
        await pilot.pause(1.0)  # a minute of simulated time
        assert app.board.taken_at > first.taken_at  # type: ignore[union-attr]
        before = [r.interval.stats.offered for r in first.rows]  # type: ignore[union-attr]
        after = [r.interval.stats.offered for r in app.board.rows]  # type: ignore[union-attr]
        assert before != after
        assert grid.cursor_key == key
