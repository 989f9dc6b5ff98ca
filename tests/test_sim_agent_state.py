"""Agent state changes in the simulator (``set_agent_state``): the shared vocabulary,
mid-contact refusals, ACW ended early, and the same over serve-sim's HTTP protocol."""

from __future__ import annotations

from datetime import UTC, datetime

from supervisor_tui.domain.agent_control import parse_state
from supervisor_tui.domain.intervals import IntervalPolicy
from supervisor_tui.domain.model import AgentStateKind, Channel
from supervisor_tui.sim.config import (
    AgentConfig,
    BreakPolicy,
    QueueConfig,
    SimulatorConfig,
    TierMix,
)
from supervisor_tui.sim.engine import ACW, AVAILABLE, AWAY, OFFLINE, ON_CONTACT, Engine
from supervisor_tui.sources.base import Capability
from supervisor_tui.sources.simulator import SimulatorSource

POLICY = IntervalPolicy(minutes=30, tz="UTC")
T0 = datetime(2026, 5, 5, 10, 0, tzinfo=UTC)


def config(acw_s: float = 0) -> SimulatorConfig:
    """'busy' is swamped (its agents are always on a contact or in ACW); 'quiet' gets
    nothing, so its agents are always free."""
    plain = {"acw_s": acw_s, "patience_s": None, "tiers": TierMix(vip=0, gold=0)}
    queues = [
        QueueConfig(id="busy", name="Busy", arrivals_per_hour=240, aht_s=600, **plain),
        QueueConfig(id="quiet", name="Quiet", channel=Channel.VOICE, arrivals_per_hour=0,
                    aht_s=600, **plain),
    ]
    agents = [AgentConfig(id=f"b{i}", name=f"Busy {i}", skills=["busy"]) for i in range(4)]
    agents += [AgentConfig(id="q1", name="Quiet One", skills=["quiet"])]
    return SimulatorConfig(seed=3, queues=queues, agents=agents,
                           breaks=BreakPolicy(enabled=False), intraday_curve=False)


def engine(acw_s: float = 0) -> Engine:
    e = Engine(config(acw_s), POLICY, T0, seed=1)
    e.run_until(600)
    return e


def test_vocabulary() -> None:
    assert parse_state("available") is not None
    assert parse_state(" Away:Lunch ") == parse_state("away:lunch")
    req = parse_state("away:lunch")
    assert req is not None and (req.verb, req.reason, req.text) == ("away", "lunch", "away:lunch")
    assert parse_state("away") is not None  # no reason given: plain away
    for bad in ("nap", "away:", "available:x", "logout:now", "", "away:" + "x" * 41):
        assert parse_state(bad) is None, bad


def test_free_agent_away_available_logout() -> None:
    e = engine()
    q1 = e.agent_by_id["q1"]
    assert q1.kind == AVAILABLE
    out = e.set_agent_state("q1", "away:lunch")
    assert out.ok and out.message == "Quiet One (q1) is now away (lunch)"
    assert (q1.kind, q1.reason, q1.since) == (AWAY, "lunch", e.now)
    out = e.set_agent_state("q1", "available")
    assert out.ok and q1.kind == AVAILABLE and q1.reason is None
    assert e.set_agent_state("q1", "available").message.endswith("was already available")
    out = e.set_agent_state("q1", "logout")
    assert out.ok and out.message == "Quiet One (q1) is now offline" and q1.kind == OFFLINE
    e.run_until(e.now + 7200)  # a logged-out agent stays out
    assert q1.kind == OFFLINE
    assert e.set_agent_state("q1", "available").ok and q1.kind == AVAILABLE


def test_supervisor_away_ends_like_a_break_of_that_reason() -> None:
    e = engine()
    q1 = e.agent_by_id["q1"]
    e.set_agent_state("q1", "away:break")  # the default break lasts 600 s +-25%
    e.run_until(e.now + 400)
    assert q1.kind == AWAY
    e.run_until(e.now + 400)
    assert q1.kind == AVAILABLE


def test_available_agent_takes_waiting_work_at_once() -> None:
    e = engine()
    q1 = e.agent_by_id["q1"]
    e.set_agent_state("q1", "away:training")
    e.set_agent_skills("q1", ["busy"])  # away: takes nothing yet
    assert q1.kind == AWAY
    out = e.set_agent_state("q1", "available")
    assert out.ok and q1.kind == ON_CONTACT and q1.contact is not None
    assert out.message == f"Quiet One (q1) is now available; took contact {q1.contact.id}"


def test_on_contact_is_refused_with_the_contact() -> None:
    e = engine()
    a = next(a for a in e.agents if a.kind == ON_CONTACT)
    assert a.contact is not None
    for state in ("available", "away:break", "logout", "end_acw"):
        out = e.set_agent_state(a.id, state)
        assert (out.ok, out.code) == (False, "on_contact"), state
        assert out.message == (f"{a.name} ({a.id}) is on a contact with {a.contact.id}; "
                               "try when it ends")
    assert a.kind == ON_CONTACT


def test_end_acw_finishes_the_contact_now_and_the_old_end_is_ignored() -> None:
    e = engine(acw_s=120)
    while not any(a.kind == ACW for a in e.agents):
        e.run_until(e.now + 5)
    a = next(a for a in e.agents if a.kind == ACW)
    c = a.contact
    assert c is not None
    handled = e.counters("busy")["handled"]
    out = e.set_agent_state(a.id, "end_acw")
    assert out.ok and out.message.startswith(f"ended after-contact work on {c.id}; ")
    assert e.counters("busy")["handled"] == handled + 1
    assert a.kind in (AVAILABLE, ON_CONTACT) and a.contact is not c  # swamped: next one
    e.run_until(e.now + 600)  # the scheduled end of that ACW fires and changes nothing
    assert e.counters("busy")["handled"] >= handled + 1
    free = e.agent_by_id["q1"]
    out = e.set_agent_state("q1", "end_acw")
    assert (out.ok, out.code) == (False, "not_in_acw") and free.kind == AVAILABLE


def test_acw_then_logout_or_away() -> None:
    e = engine(acw_s=300)
    while sum(a.kind == ACW for a in e.agents) < 2:
        e.run_until(e.now + 5)
    one, two = [a for a in e.agents if a.kind == ACW][:2]
    assert e.set_agent_state(one.id, "logout").ok and one.kind == OFFLINE
    assert one.contact is None
    assert e.set_agent_state(two.id, "away:meeting").ok
    assert (two.kind, two.reason) == (AWAY, "meeting")
    e.run_until(e.now + 120)
    assert one.kind == OFFLINE


def test_unknown_agent_and_state() -> None:
    e = engine()
    assert e.set_agent_state("zz", "available").code == "unknown_agent"
    out = e.set_agent_state("q1", "nap")
    assert out.code == "unknown_state" and "away:<reason>" in out.message
    assert e.agent_by_id["q1"].kind == AVAILABLE


async def test_source_declares_and_passes_through() -> None:
    wall = [datetime(2030, 1, 1, tzinfo=UTC)]
    source = SimulatorSource("sim", POLICY, config().model_copy(
        update={"start": T0, "warmup_minutes": 10}), clock=lambda: wall[0])
    assert source.supports(Capability.AGENT_STATE)
    result = await source.set_agent_state("q1", "logout")
    assert result.ok, result.message
    snap = await source.snapshot()
    q1 = next(a for a in snap.agents if a.id == "q1")
    assert q1.state.kind == AgentStateKind.OFFLINE
