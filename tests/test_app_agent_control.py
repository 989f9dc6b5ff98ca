"""Agent detail and control, driven as a supervisor would: Enter opens an agent, a key
asks for a change, y confirms, the outcome is shown per agent; bulk changes act on the
agents selected with space; a viewer, or a source that cannot, is refused with the
reason (and the refusal is audited)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from textual.widgets import Footer

from supervisor_tui.domain.model import AgentStateKind
from supervisor_tui.sim.config import SimulatorConfig
from supervisor_tui.sim.engine import AVAILABLE, AWAY, OFFLINE, ON_CONTACT
from supervisor_tui.sources.base import Source
from supervisor_tui.sources.simulator import SimulatorSource
from supervisor_tui.store import Store
from supervisor_tui.ui.app import SupervisorApp
from supervisor_tui.ui.screens.agent_detail import AgentDetailScreen
from supervisor_tui.ui.widgets.grid import Grid
from tests.dialog_helpers import AgentStateSource, RecordingSource
from tests.helpers import centre, make_config, screen_text, wait_for

CHANGE_KEYS = ("v Available", "b Away", "w End ACW", "o Log out")


def console(source: Source, read_only: bool = False) -> SupervisorApp:
    return SupervisorApp(make_config(), [source], store=Store.open(None), user="sam",
                         read_only=read_only)


def footer(app: SupervisorApp) -> str:
    return screen_text(app).splitlines()[-1]


def text(app: SupervisorApp) -> str:
    return " ".join(screen_text(app).split())


async def open_agents(pilot) -> Grid:  # type: ignore[no-untyped-def]
    app = pilot.app
    await wait_for(pilot, lambda: app.board is not None)
    await pilot.press("a")
    await wait_for(pilot, lambda: "Ana" in screen_text(app) and "Di" in screen_text(app))
    grid = app.screen.query_one("#agents", Grid)
    return grid


async def open_agent(pilot, key: str) -> AgentDetailScreen:  # type: ignore[no-untyped-def]
    grid = await open_agents(pilot)
    assert grid.move_to_key(key)
    await pilot.press("enter")
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, AgentDetailScreen))
    screen = pilot.app.screen
    assert isinstance(screen, AgentDetailScreen)
    return screen


def kind_of(app: SupervisorApp, agent_id: str) -> AgentStateKind:
    assert app.board is not None
    return next(a for a in app.board.snapshot.agents if a.id == agent_id).state.kind


@pytest.mark.parametrize("size", [(80, 24), (200, 60)])
async def test_open_an_agent_log_them_out_and_see_it(size: tuple[int, int]) -> None:
    source = AgentStateSource([centre()])
    app = console(source)
    async with app.run_test(size=size) as pilot:
        await open_agent(pilot, "pbx:a2")  # Bo: on contact c9 in Sales
        await wait_for(pilot, lambda: "Contact c9" in text(app))
        shown = text(app)
        assert "Bo" in shown and "team Red" in shown and "Serves Sales, Support" in shown
        assert "On contact" in shown and "with the agent" in shown
        await wait_for(pilot, lambda: all(key in footer(app) for key in CHANGE_KEYS))
        await pilot.press("o")
        await wait_for(pilot, lambda: "Log out: Bo?" in text(app))
        await wait_for(pilot, lambda: "y Confirm" in footer(app))
        assert source.state_changes == []  # not before y
        await pilot.press("y")
        await wait_for(pilot, lambda: "1 of 1 changed (log out)" in text(app))
        assert source.state_changes == [("a2", "logout")]
        assert "✓ Bo: a2 is now offline" in text(app)
        await wait_for(pilot, lambda: kind_of(app, "a2") is AgentStateKind.OFFLINE)
        await wait_for(pilot, lambda: "Offline" in text(app))
        assert app.audit is not None
        assert [(r["action"], r["outcome"]) for r in app.audit.records()] == [
            ("agent_state", "allowed"), ("agent_state", "done")]


async def test_the_agent_footer_stays_put_through_polls_and_changes_with_its_keys() -> None:
    # Told "the keys changed" every poll, the footer re-made its keys each time and a
    # paint could catch it empty (a CI snapshot of this dialog had no "esc Close").
    source = AgentStateSource([centre()])
    app = SupervisorApp(make_config(poll_interval_s=0.05), [source], store=Store.open(None),
                        user="sam")
    async with app.run_test(size=(120, 30)) as pilot:
        screen = await open_agent(pilot, "pbx:a2")
        await wait_for(pilot, lambda: all(key in footer(app) for key in CHANGE_KEYS))
        footer_widget = screen.query_one(Footer)
        keys = list(footer_widget.children)
        polls = source.polls
        await wait_for(pilot, lambda: source.polls >= polls + 10)  # each one shown
        assert list(footer_widget.children) == keys  # the same keys, never re-made
        await pilot.press("o")  # now y means something (it was greyed): the footer says so
        await wait_for(pilot, lambda: list(footer_widget.children) != keys)
        assert "y Confirm" in footer(app)


async def test_away_offers_reasons_and_b_again_picks_the_next() -> None:
    source = AgentStateSource([centre()])
    app = console(source)
    async with app.run_test(size=(100, 30)) as pilot:
        await open_agent(pilot, "pbx:a1")
        await pilot.press("b")
        await wait_for(pilot, lambda: "[break]" in text(app))
        await pilot.press("b")
        await wait_for(pilot, lambda: "[lunch]" in text(app) and "Away (lunch): Ana?" in text(app))
        await pilot.press("y")
        await wait_for(pilot, lambda: source.state_changes == [("a1", "away:lunch")])


async def test_a_viewer_sees_no_change_keys_and_pressing_one_says_why_audited() -> None:
    source = AgentStateSource([centre()])
    app = console(source, read_only=True)
    async with app.run_test(size=(160, 30)) as pilot:
        await open_agents(pilot)
        await pilot.pause(0.1)
        for key in (*CHANGE_KEYS, "Select"):
            assert key not in footer(app) or key == "Select", (key, footer(app))
        await pilot.press("o")  # from habit: answers, refuses, records
        assert app.audit is not None
        await wait_for(pilot, lambda: "0 of 1 changed" in text(app))
        assert "✗ Ana: sam is a viewer; agent state needs supervisor" in text(app)
        assert source.state_changes == []
        [record] = app.audit.records()
        assert (record["action"], record["role"], record["outcome"]) == (
            "agent_state", "viewer", "refused")
        for key in CHANGE_KEYS:  # the dialog does not offer them either
            assert key not in footer(app), (key, footer(app))


async def test_bulk_selection_of_two_agents_gives_two_outcomes() -> None:
    source = AgentStateSource([centre()])
    app = console(source)
    async with app.run_test(size=(120, 30)) as pilot:
        grid = await open_agents(pilot)
        grid.move_to_key("pbx:a1")
        await pilot.press("space")  # Ana; the cursor goes on to the next agent
        grid.move_to_key("pbx:a4")
        await pilot.press("space")  # Di
        await wait_for(pilot, lambda: "✓ 2 selected" in text(app))
        await pilot.press("v")
        await wait_for(pilot, lambda: "Available: 2 agents?" in text(app))
        await pilot.press("y")
        await wait_for(pilot, lambda: "2 of 2 changed (available)" in text(app))
        assert sorted(source.state_changes) == [("a1", "available"), ("a4", "available")]
        assert "✓ Ana:" in text(app) and "✓ Di:" in text(app)


async def test_a_source_that_cannot_is_refused_with_the_reason() -> None:
    source = RecordingSource([centre()])  # reassign and move agents only
    app = console(source)
    async with app.run_test(size=(160, 30)) as pilot:
        await open_agents(pilot)
        await pilot.pause(0.1)
        for key in CHANGE_KEYS:
            assert key not in footer(app), (key, footer(app))
        grid = app.screen.query_one("#agents", Grid)
        grid.move_to_key("pbx:a3")
        await pilot.press("enter")
        await wait_for(pilot, lambda: "⛔ source pbx cannot change agents' states"
                       in text(app))
        await pilot.press("w")
        await wait_for(pilot, lambda: "0 of 1 changed" in text(app))
        assert "✗ Cy: source pbx cannot change agents' states" in text(app)
        assert app.audit is not None
        assert [r["outcome"] for r in app.audit.records()] == ["refused"]


async def test_a_hidden_key_in_the_dialog_also_answers_with_the_reason() -> None:
    source = AgentStateSource([centre()])
    app = console(source, read_only=True)
    async with app.run_test(size=(100, 30)) as pilot:
        await open_agent(pilot, "pbx:a3")  # Cy, in ACW
        await wait_for(pilot, lambda: "⛔ sam is a viewer" in text(app))
        await pilot.press("w")
        assert app.audit is not None
        await wait_for(pilot, lambda: len(app.audit.records()) == 1)  # type: ignore[union-attr]
        await wait_for(pilot, lambda: "✗ Cy: sam is a viewer" in text(app))
        assert source.state_changes == []


async def test_enter_on_the_queue_details_agent_table_opens_the_agent() -> None:
    source = AgentStateSource([centre()])
    app = console(source)
    async with app.run_test(size=(120, 30)) as pilot:
        await wait_for(pilot, lambda: app.board is not None)
        app.screen.query_one("#queues", Grid).move_to_key("sales")
        await pilot.press("enter")
        await wait_for(pilot, lambda: "Agents serving this queue" in screen_text(app))
        serving = app.screen.query_one("#serving", Grid)
        serving.focus()
        await wait_for(pilot, lambda: serving.move_to_key("pbx:a1"))
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, AgentDetailScreen))
        await wait_for(pilot, lambda: "Ana" in text(app) and "Available" in text(app))


async def test_an_agent_long_on_one_contact_is_flagged() -> None:
    snap = centre()  # Sales AHT today 4:00 (28 handled): flagged past 12:00 on a contact
    long_on = snap.model_copy(update={"agents": tuple(
        a.model_copy(update={"state": a.state.model_copy(update={
            "since": snap.taken_at - timedelta(seconds=1000)})}) if a.id == "a2" else a
        for a in snap.agents)})
    app = console(AgentStateSource([long_on]))
    async with app.run_test(size=(120, 30)) as pilot:
        await open_agents(pilot)
        await wait_for(pilot, lambda: "⚑ 16:40" in text(app))  # Bo, and Cy in ACW
        assert "⚑ 2 too long in ACW/away/a contact" in text(app)
        assert any(e.kind == "agent_long_contact" and e.subject_id == "a2"
                   for e in app.escalations)


async def test_the_simulator_logs_an_agent_out_and_refuses_one_mid_contact() -> None:
    config = make_config()
    wall = datetime(2030, 1, 1, tzinfo=UTC)
    sim = SimulatorSource("simulator", config.console.policy, SimulatorConfig(
        seed=5, start=wall, warmup_minutes=30), clock=lambda: wall)  # time stands still
    free = next(a for a in sim.engine.agents if a.kind in (AVAILABLE, AWAY))
    busy = next(a for a in sim.engine.agents if a.kind == ON_CONTACT)
    assert busy.contact is not None
    app = SupervisorApp(config, [sim], store=Store.open(None), user="sam")
    async with app.run_test(size=(200, 60)) as pilot:
        await wait_for(pilot, lambda: app.board is not None)
        await pilot.press("a")
        await wait_for(pilot, lambda: app.screen.query("#agents") is not None)
        grid = app.screen.query_one("#agents", Grid)
        await wait_for(pilot, lambda: grid.move_to_key(f"simulator:{free.id}"))
        await pilot.press("enter", "o")
        await wait_for(pilot, lambda: "Log out:" in text(app))
        await pilot.press("y")
        await wait_for(pilot, lambda: "1 of 1 changed (log out)" in text(app))
        assert free.kind == OFFLINE and f"{free.name} ({free.id}) is now offline" in text(app)
        await wait_for(pilot, lambda: kind_of(app, free.id) is AgentStateKind.OFFLINE)
        await pilot.press("escape")
        await wait_for(pilot, lambda: not isinstance(app.screen, AgentDetailScreen))
        assert grid.move_to_key(f"simulator:{busy.id}")
        await pilot.press("enter", "o", "y")
        await wait_for(pilot, lambda: "0 of 1 changed (log out)" in text(app))
        assert f"is on a contact with {busy.contact.id}; try when it ends" in text(app)
        assert busy.kind == ON_CONTACT


async def test_help_on_the_agent_dialog_lists_its_keys() -> None:
    app = console(AgentStateSource([centre()]))
    async with app.run_test(size=(100, 40)) as pilot:
        await open_agent(pilot, "pbx:a1")
        await pilot.press("question_mark")
        await wait_for(pilot, lambda: "Keys on this screen" in text(app))
        shown = text(app)
        for key, does in (("v", "Available"), ("b", "Away"), ("w", "End ACW"),
                          ("o", "Log out"), ("y", "Confirm")):
            assert f"{key} {does}" in shown, (key, shown)


def _bo(snap, kind: AgentStateKind, since: datetime, contact: str | None):  # type: ignore[no-untyped-def]
    from supervisor_tui.domain.model import AgentState

    return snap.model_copy(update={"agents": tuple(
        a.model_copy(update={"state": AgentState(kind=kind, since=since),
                             "contact_id": contact}) if a.id == "a2" else a
        for a in snap.agents)})


@pytest.mark.parametrize("size", [(80, 24), (200, 60)])
async def test_the_agent_detail_shows_the_day_handled_aht_time_per_state_and_history(
        size: tuple[int, int]) -> None:
    from tests.helpers import T0, ScriptedSource

    # Bo: on contact c9 since T0-30 s, after-contact work from T0+40, available at T0+70:
    # one contact handled in 100 s (talk 70 + ACW 30).
    script = [
        centre(T0),
        _bo(centre(T0 + timedelta(seconds=60)), AgentStateKind.AFTER_CONTACT_WORK,
            T0 + timedelta(seconds=40), "c9"),
        _bo(centre(T0 + timedelta(seconds=90)), AgentStateKind.AVAILABLE,
            T0 + timedelta(seconds=70), None),
    ]
    source = ScriptedSource(script)
    app = console(source)
    async with app.run_test(size=size) as pilot:
        await wait_for(pilot, lambda: source.polls >= 3)
        await open_agent(pilot, "pbx:a2")
        await wait_for(pilot, lambda: "1 handled" in text(app))
        shown = text(app)
        assert "AHT 1:40" in shown
        assert "on contact 1:10" in shown and "ACW 0:30" in shown
        # History newest first, in the centre's zone (UTC here).
        assert "History 10:21 available ← 10:20 ACW ← 10:19 on contact" in shown, shown
        assert "occupancy 83%" in shown  # (70 + 30) / (70 + 30 + 20)
        assert "█" in shown  # the bar of time per state
