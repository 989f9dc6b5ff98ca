"""Reassigning contacts as a supervisor would: keys in, the centre really changes."""

from __future__ import annotations

from supervisor_tui.config import parse_config
from supervisor_tui.domain.model import ActionResult
from supervisor_tui.sim.config import SimulatorConfig
from supervisor_tui.sources.simulator import SimulatorSource
from supervisor_tui.store import Store
from supervisor_tui.ui.app import SupervisorApp
from supervisor_tui.ui.widgets.grid import Grid
from tests.dialog_helpers import voice_centre
from tests.helpers import POLICY, ScriptedSource, make_app, screen_text, wait_for


def sim_source() -> SimulatorSource:
    # An outage at normal speed: plenty of contacts waiting, and they stay waiting.
    return SimulatorSource("simulator", POLICY, SimulatorConfig(seed=11, scenario="outage"))


def sim_app(read_only: bool = False, source: SimulatorSource | None = None) -> SupervisorApp:
    config = parse_config({"console": {"timezone": "UTC", "poll_interval_s": 0.5}}, "t")
    return SupervisorApp(config, [source or sim_source()], store=Store.open(None), user="sam",
                         read_only=read_only)


def queue_of(source: SimulatorSource, contact_id: str) -> str:
    """The queue the simulated centre has the contact in (even once it is answered or
    abandoned: the board alone cannot tell "moved, then answered" from "never moved")."""
    contact = source.engine.contact(contact_id)
    assert contact is not None, f"the simulator has forgotten contact {contact_id}"
    return contact.queue.id


async def open_busiest_voice_queue(pilot) -> str:  # type: ignore[no-untyped-def]
    app = pilot.app
    grid = app.screen.query_one("#queues", Grid)
    await wait_for(pilot, lambda: len(grid.rows) > 0)
    busiest = max((r for r in app.board.rows if r.queue.channel.value == "voice"),
                  key=lambda r: r.waiting)
    assert busiest.waiting > 0, "the outage scenario should leave voice contacts waiting"
    grid.move_to_key(busiest.queue.id)
    await pilot.press("enter")
    await wait_for(pilot, lambda: "Waiting, oldest first" in screen_text(app))
    # The simulator runs live and its agents answer the oldest (and VIPs) first: the
    # newest standard contact is the one that stays waiting while a test acts on it.
    waiting = app.screen.query_one("#waiting", Grid)
    await wait_for(pilot, lambda: len(waiting.rows) > 0)
    standard = [c for c in waiting.rows if c.tier == "standard"]
    if standard:
        waiting.move_to_key(standard[-1].id)
    return busiest.queue.id


async def test_reassign_moves_the_contact_to_the_chosen_queue() -> None:
    source = sim_source()
    app = sim_app(source=source)
    async with app.run_test(size=(100, 30)) as pilot:
        source_q = await open_busiest_voice_queue(pilot)
        contact_id = app.screen.query_one("#waiting", Grid).cursor_key
        await pilot.press("r")
        await wait_for(pilot, lambda: "Reassign contact" in screen_text(app))
        targets = app.screen.query_one("#targets", Grid)
        await wait_for(pilot, lambda: len(targets.rows) > 0)
        target_q = targets.cursor_key  # first row: a queue of the same channel
        assert target_q != source_q
        assert "Expected wait in the new queue" in screen_text(app)
        await pilot.press("y")
        await wait_for(pilot, lambda: "1 of 1 moved" in screen_text(app))
        assert queue_of(source, contact_id) == target_q
        await wait_for(pilot, lambda: any(
            c.id == contact_id for c in app.board.waiting_by_queue.get(target_q, ())
        ) or all(c.id != contact_id for c in app.board.waiting_by_queue.get(source_q, ())))
        assert all(c.id != contact_id for c in app.board.waiting_by_queue.get(source_q, ()))
        await pilot.press("escape")
        await wait_for(pilot, lambda: "Waiting, oldest first" in screen_text(app))


async def test_viewer_is_refused_and_told_why() -> None:
    source = sim_source()
    app = sim_app(read_only=True, source=source)
    async with app.run_test(size=(100, 30)) as pilot:
        source_q = await open_busiest_voice_queue(pilot)
        contact_id = app.screen.query_one("#waiting", Grid).cursor_key
        await pilot.press("r")
        await wait_for(pilot, lambda: "needs supervisor" in screen_text(app))
        assert "sam is a viewer" in screen_text(app)
        await pilot.press("y")
        await wait_for(pilot, lambda: "0 of 1 moved" in screen_text(app))
        # Refused: still in its queue, answered meanwhile or not (the simulator never
        # moves contacts by itself).
        assert queue_of(source, contact_id) == source_q
        assert [r["outcome"] for r in app.audit.records()] == ["refused"]


class RacingSource(ScriptedSource):
    """The contact is answered between the screen and the click."""

    from supervisor_tui.sources.base import Capability

    capabilities = frozenset({Capability.SNAPSHOT, Capability.REASSIGN_CONTACT})

    async def move_contact(self, contact_id: str, queue_id: str) -> ActionResult:
        return ActionResult(ok=False, code="not_waiting",
                            message=f"contact {contact_id} was answered by Ana 2 s ago")


async def test_race_with_an_answered_contact_is_reported_plainly() -> None:
    source = RacingSource([voice_centre()])
    app = make_app(source)
    async with app.run_test(size=(160, 40)) as pilot:
        await wait_for(pilot, lambda: app.board is not None)
        await pilot.press("enter")  # Sales
        await wait_for(pilot, lambda: "Waiting, oldest first" in screen_text(app))
        await pilot.press("r")
        await wait_for(pilot, lambda: "Reassign contact c1" in screen_text(app))
        await pilot.press("y")
        await wait_for(pilot, lambda: "0 of 1 moved" in screen_text(app))
        assert "was answered by Ana" in screen_text(app)


async def test_move_agents_adds_the_queue_to_their_skills() -> None:
    app = sim_app()
    async with app.run_test(size=(110, 32)) as pilot:
        queue_id = await open_busiest_voice_queue(pilot)
        await pilot.press("m")
        grid = app.screen.query_one("#candidates", Grid)
        await wait_for(pilot, lambda: len(grid.rows) > 0)
        agent_id = grid.cursor_key
        assert all(queue_id not in a.skills for a in grid.rows)
        await pilot.press("space")
        await wait_for(pilot, lambda: "predicted SL" in screen_text(app))
        await pilot.press("y")
        await wait_for(pilot, lambda: "1 of 1 changed" in screen_text(app))
        await wait_for(pilot, lambda: any(
            a.id == agent_id and queue_id in a.skills for a in app.board.snapshot.agents))


async def test_every_attempt_lands_in_the_audit_log() -> None:
    app = sim_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await open_busiest_voice_queue(pilot)
        await pilot.press("r")
        targets = app.screen.query_one("#targets", Grid)
        await wait_for(pilot, lambda: len(targets.rows) > 0)
        await pilot.press("y")
        await wait_for(pilot, lambda: "of 1 moved" in screen_text(app))
        # The simulator runs live: now and then an agent answers the contact between the
        # key press and the move (the modal then says so). Either way, both the
        # permission and the outcome are in the log.
        moved = "1 of 1 moved" in screen_text(app)
        assert moved or "is no longer waiting" in screen_text(app)
        records = app.audit.records()
        assert [r["outcome"] for r in records] == ["allowed", "done" if moved else "failed"]
        assert records[-1]["user"] == "sam" and records[-1]["action"] == "reassign_contact"
        assert app.audit.verify().ok


async def test_viewer_refusal_is_audited_too() -> None:
    app = sim_app(read_only=True)
    async with app.run_test(size=(100, 30)) as pilot:
        await open_busiest_voice_queue(pilot)
        await pilot.press("r")
        await wait_for(pilot, lambda: "needs supervisor" in screen_text(app))
        await pilot.press("y")
        await wait_for(pilot, lambda: "0 of 1 moved" in screen_text(app))
        assert [(r["outcome"], r["role"]) for r in app.audit.records()] == [
            ("refused", "viewer")]


async def test_move_agents_straight_from_the_escalation_desk() -> None:
    app = sim_app()
    async with app.run_test(size=(110, 32)) as pilot:
        await wait_for(pilot, lambda: app.board is not None and len(app.escalations) > 0)
        await pilot.press("e")
        desk = app.screen.query_one("#desk", Grid)
        await wait_for(pilot, lambda: len(desk.rows) > 0)
        esc = next(e for e in desk.rows if e.queue_id in app.board.rows_by_id)
        desk.move_to_key(esc.id)
        await pilot.press("m")
        grid = app.screen.query_one("#candidates", Grid)
        await wait_for(pilot, lambda: len(grid.rows) > 0)
        agent_id = grid.cursor_key
        await pilot.press("space")
        await wait_for(pilot, lambda: "predicted SL" in screen_text(app))
        await pilot.press("y")
        await wait_for(pilot, lambda: "1 of 1 changed" in screen_text(app))
        await wait_for(pilot, lambda: any(
            a.id == agent_id and esc.queue_id in a.skills for a in app.board.snapshot.agents))
