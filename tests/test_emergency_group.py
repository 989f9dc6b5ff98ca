"""The emergency group, tied to incidents (issue 13 item 7): the simulator diverts new
voice calls while it is on (and they are in no queue's counts), declaring an incident
offers to switch it on, resolving offers to switch it off, g switches it any time, and
every switch is audited and noted on the incident's timeline."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from supervisor_tui.config import Role, RolesConfig
from supervisor_tui.domain.model import ActionCode, ActionResult, Channel
from supervisor_tui.sim.config import SimulatorConfig
from supervisor_tui.sources.base import Capability
from supervisor_tui.sources.simulator import SimulatorSource
from supervisor_tui.store import Store
from supervisor_tui.ui.app import SupervisorApp
from supervisor_tui.ui.screens.crisis_forms import ResolveForm
from supervisor_tui.ui.screens.emergency import EmergencySwitch
from tests.helpers import POLICY, T0, ScriptedSource, centre, make_config, screen_text, wait_for
from tests.test_app_crisis import confirm, declare, open_crisis


def simulator(at: list[datetime]) -> SimulatorSource:
    return SimulatorSource("sim", POLICY, SimulatorConfig(seed=3, start=T0),
                           clock=lambda: at[0])


async def test_while_on_new_voice_calls_hear_the_message_and_are_not_queued() -> None:
    at = [T0]
    sim = simulator(at)
    assert sim.supports(Capability.EMERGENCY_GROUP)
    on = await sim.set_emergency("emergency", True)
    assert on.ok and "not queued" in on.message
    at[0] = T0 + timedelta(minutes=10)
    await sim.snapshot()
    engine = sim.engine
    assert engine.emergency_diverted > 20  # ten minutes of a centre's voice arrivals
    assert any("heard the emergency message" in n for n in sim.notes)
    voice = [q.id for q in engine.queues if q.channel is Channel.VOICE]
    fresh = [c for c in engine._live.values()
             if c.queue.id in voice and engine.at(c.entered) > T0 + timedelta(seconds=1)]
    assert fresh == []  # no voice call entered a queue while it was on
    chat_entered = [c for c in engine._live.values() if c.queue.id not in voice
                    and engine.at(c.entered) > T0]
    assert chat_entered  # chat, email and social carry on
    for qid in voice:  # the counting rule still holds: diverted calls are in no count
        day = engine.counters(qid, "day")
        assert day["offered"] == day["answered"] + day["abandoned"] + day["flowed_out"]
    off = await sim.set_emergency("emergency", False)
    assert off.ok and "queue again" in off.message and str(engine.emergency_diverted) in off.message
    at[0] = T0 + timedelta(minutes=20)
    await sim.snapshot()
    assert sim.notes == ()
    assert any(c.queue.id in voice and engine.at(c.entered) > T0 + timedelta(minutes=10)
               for c in [*engine._live.values(), *engine._ended.values()])


async def test_switching_twice_says_so_and_changes_nothing() -> None:
    sim = simulator([T0])
    assert (await sim.set_emergency("g1", True)).ok
    again = await sim.set_emergency("g2", True)
    assert again.ok and "already on" in again.message and sim.engine.emergency_group == "g1"
    assert (await sim.set_emergency("g1", False)).ok
    assert "already off" in (await sim.set_emergency("g1", False)).message


class EmergencySource(ScriptedSource):
    """A platform with an emergency group that records each switch."""

    capabilities = frozenset({Capability.SNAPSHOT, Capability.EMERGENCY_GROUP})

    def __init__(self) -> None:
        super().__init__([centre()])
        self.switched: list[bool] = []

    async def set_emergency(self, group: str, active: bool) -> ActionResult:
        self.switched.append(active)
        return ActionResult(ok=True, code=ActionCode.OK,
                            message=f"{group} {'on' if active else 'off'}")


def console(db: Path, source: ScriptedSource, user: str = "ann") -> SupervisorApp:
    config = make_config(poll_interval_s=0.2).model_copy(update={
        "roles": RolesConfig(users={"ann": Role.ADMIN})})
    return SupervisorApp(config, [source], store=Store.open(db), user=user)


async def test_declaring_offers_on_and_resolving_offers_off(tmp_path: Path) -> None:
    source = EmergencySource()
    app = console(tmp_path / "s.db", source)
    async with app.run_test(size=(120, 40)) as pilot:
        await open_crisis(pilot)
        await declare(pilot)
        await wait_for(pilot, lambda: isinstance(app.screen, EmergencySwitch))
        assert "Switch the emergency group ON on pbx" in screen_text(app)
        await pilot.press("y")
        await wait_for(pilot, lambda: source.switched == [True])
        assert app.crisis is not None
        incident = app.crisis.active_incidents()[0]
        await wait_for(pilot, lambda: any("emergency group on on pbx" in e.text
                                          for e in app.crisis.timeline(incident.id)))
        await pilot.press("r")
        await wait_for(pilot, lambda: isinstance(app.screen, ResolveForm))
        await confirm(pilot, "RESOLVE")
        await wait_for(pilot, lambda: isinstance(app.screen, EmergencySwitch))
        assert "OFF" in screen_text(app)
        await pilot.press("y")
        await wait_for(pilot, lambda: source.switched == [True, False])
    log = Store.open(tmp_path / "s.db").db.query("SELECT * FROM audit_log ORDER BY id")
    records = [r for r in log if r["action"] == "emergency_group"]
    assert [r["outcome"] for r in records] == ["allowed", "done", "allowed", "done"]


async def test_not_now_switches_nothing_and_g_asks_which(tmp_path: Path) -> None:
    source = EmergencySource()
    app = console(tmp_path / "s.db", source)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_crisis(pilot)
        await declare(pilot)
        await wait_for(pilot, lambda: isinstance(app.screen, EmergencySwitch))
        await pilot.press("escape")
        await wait_for(pilot, lambda: not isinstance(app.screen, EmergencySwitch))
        assert source.switched == []
        await pilot.press("g")
        await wait_for(pilot, lambda: isinstance(app.screen, EmergencySwitch))
        assert "switch it on or off" in screen_text(app)
        await pilot.press("y")  # not offered here: nothing happens
        await pilot.pause(0.2)
        assert source.switched == [] and isinstance(app.screen, EmergencySwitch)
        await pilot.press("f")
        await wait_for(pilot, lambda: source.switched == [False])


async def test_a_supervisor_is_not_offered_it_and_g_says_why(tmp_path: Path) -> None:
    source = EmergencySource()
    app = console(tmp_path / "s.db", source, user="sam")  # a supervisor
    async with app.run_test(size=(120, 40)) as pilot:
        await open_crisis(pilot)
        assert "Emergency group" not in [b.binding.description
                                         for b in app.screen.active_bindings.values()
                                         if b.binding.show]
        await pilot.press("g")
        await wait_for(pilot, lambda: any(
            n.message == "sam is a supervisor; emergency group needs admin"
            for n in app._notifications))
        assert not isinstance(app.screen, EmergencySwitch) and source.switched == []
    log = Store.open(tmp_path / "s.db").db.query("SELECT * FROM audit_log ORDER BY id")
    records = [r for r in log if r["action"] == "emergency_group"]
    assert [(r["user"], r["outcome"]) for r in records] == [("sam", "refused")]


async def test_g_is_not_offered_where_no_source_can_switch_one(tmp_path: Path) -> None:
    app = console(tmp_path / "s.db", ScriptedSource([centre()]))
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_crisis(pilot)
        assert screen.check_action("emergency", ()) is False
