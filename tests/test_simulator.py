"""The built-in simulator: determinism, counters, intervals, actions, scenarios, source."""

from __future__ import annotations

import json
import tomllib
from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from supervisor_tui.domain.intervals import IntervalPolicy
from supervisor_tui.domain.model import (
    AgentStateKind,
    Channel,
    ContactState,
    Snapshot,
    Tier,
)
from supervisor_tui.sim import config as simconfig
from supervisor_tui.sim.config import (
    AgentConfig,
    AgentGenerator,
    BreakPolicy,
    QueueConfig,
    Scenario,
    SimulatorConfig,
    TierMix,
    default_centre,
    scaled_centre,
)
from supervisor_tui.sim.engine import (
    ABANDONED_,
    ANSWERED,
    AVAILABLE,
    CONNECTED,
    COUNTER_FIELDS,
    OFFERED,
    OFFLINE,
    WAITING,
    Engine,
)
from supervisor_tui.sim.single_queue import simulate_single_queue
from supervisor_tui.sources.base import Capability
from supervisor_tui.sources.simulator import SimulatorSource

POLICY = IntervalPolicy(minutes=30, tz="UTC")
T0 = datetime(2026, 5, 5, 10, 0, tzinfo=UTC)


def engine(config: SimulatorConfig | None = None, epoch: datetime = T0, seed: int = 1,
           policy: IntervalPolicy = POLICY) -> Engine:
    return Engine(config or default_centre(), policy, epoch, seed=seed)


def sl(c: list[float]) -> float:
    answered, within, after = c[1], c[2], c[5]
    return within / (answered + after)


def fingerprint(e: Engine) -> tuple[object, ...]:
    return (
        [tuple(round(v, 9) for v in row) for row in e.totals()],
        [(a.id, a.kind, round(a.since, 9), a.reason) for a in e.agents],
        [(c.id, c.queue.id, c.state, c.tier, c.flags) for c in e.live_contacts()],
    )


def two_queue_config() -> SimulatorConfig:
    """'busy' is swamped (20 Erlangs on 10 agents, nobody abandons); 'quiet' gets
    nothing, so its two agents are always free; 'chat' is another channel."""
    plain = {"acw_s": 0, "patience_s": None, "tiers": TierMix(vip=0, gold=0)}
    queues = [
        QueueConfig(id="busy", name="Busy", arrivals_per_hour=240, aht_s=300, **plain),
        QueueConfig(id="quiet", name="Quiet", arrivals_per_hour=0, aht_s=300, **plain),
        QueueConfig(id="chat", name="Chat", channel=Channel.CHAT, arrivals_per_hour=0,
                    aht_s=300, **plain),
    ]
    agents = [AgentConfig(id=f"b{i}", name=f"Busy {i}", skills=["busy"]) for i in range(10)]
    agents += [AgentConfig(id="q1", name="Quiet One", skills=["quiet"]),
               AgentConfig(id="q2", name="Quiet Two", skills=["quiet"]),
               AgentConfig(id="c1", name="Chat One", skills=["chat"])]
    return SimulatorConfig(seed=3, queues=queues, agents=agents,
                           breaks=BreakPolicy(enabled=False), intraday_curve=False)


def waiting_in(e: Engine, queue_id: str) -> list[str]:
    return [c.id for c in e.live_contacts() if c.state == WAITING and c.queue.id == queue_id]


# ------------------------------------------------------------------ determinism


def test_same_seed_same_run_different_seed_different_run() -> None:
    runs = []
    for seed in (11, 11, 12):
        e = engine(seed=seed)
        e.advance(T0 + timedelta(hours=2))
        runs.append(fingerprint(e))
    assert runs[0] == runs[1]
    assert runs[0] != runs[2]


def test_config_seed_is_used_and_reported() -> None:
    cfg = default_centre().model_copy(update={"seed": 99})
    a, b = Engine(cfg, POLICY, T0), Engine(cfg, POLICY, T0)
    a.run_until(3600)
    b.run_until(3600)
    assert a.seed == 99 and fingerprint(a) == fingerprint(b)
    unseeded = Engine(default_centre(), POLICY, T0)
    assert isinstance(unseeded.seed, int)


# --------------------------------------------------------------------- counters


def test_counters_are_consistent() -> None:
    midnight = datetime(2026, 5, 5, tzinfo=UTC)
    e = engine(epoch=midnight, seed=5)
    e.advance(midnight + timedelta(hours=3, minutes=10))
    totals = e.totals()
    in_progress = {q.id: 0 for q in e.queues}
    for c in e.live_contacts():
        if c.state != WAITING:
            in_progress[c.queue.id] += 1
    for q in e.queues:
        t = dict(zip(COUNTER_FIELDS, totals[q.idx], strict=True))
        # A contact counts once it left the queue (nothing moved): offered = answered +
        # abandoned, and those still waiting are not in it ...
        assert t["offered"] == t["answered"] + t["abandoned"]
        assert t["flowed_out"] == 0
        # ... and every answered one is handled or still in progress.
        assert t["answered"] == t["handled"] + in_progress[q.id]
        assert t["offered"] > 0
        # The whole run is inside one day: day counters = totals = sum of interval buckets.
        assert e.counters(q.id, "day") == pytest.approx(t)
        summed = [sum(b[q.idx][i] for b in e.buckets.values()) for i in range(len(t))]
        assert summed == pytest.approx(totals[q.idx])
    assert len(e.buckets) == 7  # 00:00 ... 03:00
    for bucket in e.buckets.values():
        for row in bucket:
            b = dict(zip(COUNTER_FIELDS, row, strict=True))
            assert min(b.values()) >= 0
            assert b["answered_within_threshold"] <= b["answered"]
            assert b["answered"] + b["abandoned"] + b["flowed_out"] == b["offered"]
            assert b["abandoned_short"] + b["abandoned_after_threshold"] <= b["abandoned"]
            assert b["handle_s"] >= 0 and b["wait_answered_s"] >= 0


def test_interval_bucket_resets_at_the_boundary() -> None:
    e = engine(epoch=T0 - timedelta(minutes=20), seed=2)
    e.advance(T0 + timedelta(minutes=29, seconds=59))
    assert e.interval_key == T0
    before_interval = e.counters("sales", "interval")
    before_day = e.counters("sales", "day")
    assert before_interval["offered"] > 0
    boundary = T0 + timedelta(minutes=30)
    e.advance(boundary)
    assert e.interval_key == boundary
    after = e.counters("sales", "interval")
    # Nothing can have happened yet in the new interval (events at exactly :30 aside).
    assert after["offered"] <= 1 and after["answered"] <= 1
    assert e.counters("sales", "day")["offered"] >= before_day["offered"]
    e.advance(boundary + timedelta(minutes=10))
    assert 0 < e.counters("sales", "interval")["offered"] < e.counters("sales", "day")["offered"]
    assert set(e.buckets) == {T0 - timedelta(minutes=30), T0, boundary}


def test_day_rolls_at_local_midnight_and_old_buckets_are_pruned() -> None:
    ny = IntervalPolicy(minutes=30, tz="America/New_York")
    # 04:40 UTC on 10 Jan = 23:40 on 9 Jan in New York
    e = engine(epoch=datetime(2026, 1, 10, 4, 40, tzinfo=UTC), policy=ny, seed=4)
    e.advance(datetime(2026, 1, 10, 4, 59, 59, tzinfo=UTC))
    late = e.counters("sales", "day")
    assert late["offered"] > 0
    e.advance(datetime(2026, 1, 10, 5, 10, tzinfo=UTC))  # 00:10 local
    local_midnight = datetime(2026, 1, 10, tzinfo=ny.zone)
    assert e.day_key == local_midnight
    assert set(e.buckets) == {local_midnight}
    for q in e.queues:
        assert e.counters(q.id, "day") == pytest.approx(e.counters(q.id, "interval"))


def test_repeated_dst_hour_keeps_day_counters_exact() -> None:
    london = IntervalPolicy(minutes=30, tz="Europe/London")
    # 25 Oct 2026: 02:00 BST -> 01:00 GMT, so 01:00-02:00 local happens twice.
    start = datetime(2026, 10, 24, 23, 30, tzinfo=UTC)  # 00:30 BST
    e = engine(epoch=start, policy=london, seed=8)
    e.advance(datetime(2026, 10, 25, 3, 30, tzinfo=UTC))
    for q in e.queues:
        assert e.counters(q.id, "day") == pytest.approx(e.counters(q.id, "total"))


# ---------------------------------------------------------------------- routing


def test_tiers_jump_the_queue() -> None:
    cfg = two_queue_config()
    cfg.queues[0].tiers = TierMix(vip=0.1, gold=0.2)
    cfg.queues[0].arrivals_per_hour = 130  # 10.8 Erlangs on 10 agents: a growing queue
    e = engine(cfg)
    seen: set[str] = set()
    while e.now < 3 * 3600:
        e.run_until(e.now + 30)
        seen.update(waiting_in(e, "busy"))
    waits: dict[int, list[float]] = {0: [], 1: [], 2: []}
    for cid in seen:
        c = e.contact(cid)
        if c is not None and c.agent is not None:
            waits[c.tier].append(c.answered_at - c.entered)
    mean = {tier: sum(w) / len(w) for tier, w in waits.items()}
    assert all(waits.values())
    assert mean[2] < mean[1] < mean[0]  # vip < gold < standard


def test_agent_skill_order_is_preference() -> None:
    plain = {"acw_s": 0, "patience_s": None, "tiers": TierMix(vip=0, gold=0)}
    cfg = SimulatorConfig(
        seed=1, breaks=BreakPolicy(enabled=False), intraday_curve=False,
        queues=[QueueConfig(id="first", name="First", arrivals_per_hour=200, **plain),
                QueueConfig(id="second", name="Second", arrivals_per_hour=200, **plain)],
        agents=[AgentConfig(name=f"A{i}", skills=["first", "second"]) for i in range(5)])
    e = engine(cfg)
    e.run_until(3600)
    e.reset_totals()
    e.run_until(3 * 3600)
    first, second = e.totals()
    assert first[ANSWERED] > 50 and second[ANSWERED] == 0  # "first" never runs dry


def test_deferred_queue_holds_contacts_back() -> None:
    plain = {"acw_s": 0, "patience_s": None, "tiers": TierMix(vip=0, gold=0)}
    cfg = SimulatorConfig(
        seed=1, breaks=BreakPolicy(enabled=False), intraday_curve=False,
        queues=[QueueConfig(id="mail", name="Mail", channel=Channel.EMAIL,
                            arrivals_per_hour=30, defer_s=300, threshold_s=3600, **plain)],
        agents=[AgentConfig(name=f"A{i}", skills=["mail"]) for i in range(5)])
    e = engine(cfg)
    e.run_until(4 * 3600)
    t = e.counters("mail", "total")
    assert t["answered"] > 50
    assert t["wait_answered_s"] / t["answered"] >= 300
    # Held-back mail still waiting is not offered yet: it counts when it is answered.
    assert e.queue_by_id["mail"].n_waiting > 0
    assert t["offered"] == t["answered"]


# ---------------------------------------------------------------------- actions


def test_move_contact_really_moves_and_reroutes() -> None:
    e = engine(two_queue_config())
    e.run_until(600)
    waiting = waiting_in(e, "busy")
    assert len(waiting) >= 3
    busy_waiting, quiet_offered = e.queue_by_id["busy"].n_waiting, e.counters("quiet")["offered"]
    first = e.move_contact(waiting[-1], "quiet")
    assert first.ok, first.message
    c = e.contact(waiting[-1])
    assert c is not None and c.queue.id == "quiet" and c.state == CONNECTED
    assert c.agent is not None and c.agent.id in {"q1", "q2"}
    assert "answered at once" in first.message
    assert e.queue_by_id["busy"].n_waiting == busy_waiting - 1
    assert e.counters("quiet")["offered"] == quiet_offered + 1
    assert e.move_contact(waiting[-2], "quiet").ok
    # Both quiet agents are now busy: the third contact waits in its new queue.
    third = e.move_contact(waiting[-3], "quiet")
    assert third.ok and "waiting" in third.message
    moved = e.contact(waiting[-3])
    assert moved is not None and moved.state == WAITING and moved.entered == e.now
    assert waiting[-3] in waiting_in(e, "quiet") and waiting[-3] not in waiting_in(e, "busy")
    # ... and a quiet agent takes it as soon as one is free.
    e.run_until(e.now + 3 * 3600)
    done = e.contact(waiting[-3])
    assert done is not None and done.agent is not None and done.agent.id in {"q1", "q2"}


def test_move_refuses_plainly() -> None:
    e = engine(two_queue_config())
    e.run_until(600)
    head = waiting_in(e, "busy")[0]
    assert e.move_contact("c999999", "quiet").code == "unknown_contact"
    assert e.move_contact(head, "nowhere").code == "unknown_queue"
    assert e.move_contact(head, "busy").code == "same_queue"
    wrong = e.move_contact(head, "chat")
    assert wrong.code == "channel_mismatch" and not wrong.ok
    # Let the contact be answered meanwhile: the move must say so, not pretend.
    c = e.contact(head)
    assert c is not None
    while c.state == WAITING:
        e.run_until(e.now + 5)
    late = e.move_contact(head, "quiet")
    assert not late.ok and late.code == "not_waiting"
    assert "answered" in late.message and c.agent is not None and c.agent.name in late.message
    assert c.queue.id == "busy"


def test_abandoned_contact_is_reported_as_abandoned() -> None:
    cfg = two_queue_config()
    cfg.queues[0].patience_s = 30.0
    e = engine(cfg)
    seen: set[str] = set()
    while e.now < 1800:
        e.run_until(e.now + 10)
        seen.update(waiting_in(e, "busy"))
    outcomes = {cid: e.move_contact(cid, "quiet") for cid in seen}
    abandoned = [r for r in outcomes.values() if "abandoned" in r.message]
    assert abandoned and all(r.code == "not_waiting" for r in abandoned)
    assert "after waiting" in abandoned[0].message


def test_assign_contact_to_agent() -> None:
    e = engine(two_queue_config())
    e.run_until(600)
    first, second = waiting_in(e, "busy")[:2]
    assert e.assign_contact_to_agent(first, "c1").code == "no_skill"  # chat only
    assert e.assign_contact_to_agent(first, "zz").code == "unknown_agent"
    ok = e.assign_contact_to_agent(first, "q1")
    assert ok.ok, ok.message
    c = e.contact(first)
    assert c is not None and c.state == CONNECTED and c.agent is e.agent_by_id["q1"]
    assert first not in waiting_in(e, "busy")
    busy_agent = e.assign_contact_to_agent(second, "q1")
    assert busy_agent.code == "agent_not_available" and "on contact" in busy_agent.message
    assert e.assign_contact_to_agent(first, "q2").code == "not_waiting"


def test_set_agent_skills_changes_routing() -> None:
    e = engine(two_queue_config())
    e.run_until(600)
    waiting = e.queue_by_id["busy"].n_waiting
    result = e.set_agent_skills("q2", ["busy", "quiet"])
    assert result.ok and "took contact" in result.message
    q2 = e.agent_by_id["q2"]
    assert q2.contact is not None and q2.contact.queue.id == "busy"
    assert e.queue_by_id["busy"].n_waiting == waiting - 1
    # b0 leaves the busy queue: once its contact ends it idles although busy overflows.
    assert e.set_agent_skills("b0", ["quiet"]).ok
    e.run_until(e.now + 4 * 3600)
    b0 = e.agent_by_id["b0"]
    assert b0.kind == AVAILABLE and b0.skill_ids == ("quiet",)
    assert e.queue_by_id["busy"].n_waiting > 0
    assert e.set_agent_skills("b1", ["nope"]).code == "unknown_queue"


def test_broadcast_is_recorded() -> None:
    e = engine(two_queue_config())
    result = e.broadcast("Systems are back")
    assert result.ok and e.broadcasts[-1] == (0.0, "Systems are back")


# -------------------------------------------------------------------- scenarios


def measure(scenario: Scenario, seed: int = 21) -> list[float]:
    cfg = default_centre().model_copy(update={"scenario": scenario})
    e = engine(cfg, seed=seed)
    e.run_until(1200)
    e.reset_totals()
    e.run_until(1200 + 3600)
    return [sum(row[i] for row in e.totals()) for i in range(len(COUNTER_FIELDS))]


def test_scenarios_differ_as_expected() -> None:
    normal, surge, outage = (measure(s) for s in Scenario)
    assert sl(outage) < sl(normal) - 0.3  # visibly a crisis
    assert outage[ABANDONED_] > 3 * normal[ABANDONED_]
    assert surge[OFFERED] > 1.2 * normal[OFFERED]
    assert sl(surge) < sl(normal)
    assert sl(normal) > 0.75  # the default centre copes, if only just in places


def test_scenario_switch_at_run_time() -> None:
    cfg = default_centre().model_copy(update={"intraday_curve": False})
    e = engine(cfg, seed=6)
    e.run_until(1800)
    assert not [a for a in e.agents if a.kind == OFFLINE]
    base_rate = e.queue_by_id["sales"].rate
    assert e.set_scenario("outage").ok
    assert e.scenario == Scenario.OUTAGE
    assert e.queue_by_id["sales"].rate > base_rate
    e.run_until(e.now + 1800)
    assert len([a for a in e.agents if a.kind == OFFLINE]) >= 15  # 35% of 60, less breaks
    assert e.set_scenario("normal").ok
    assert not [a for a in e.agents if a.kind == OFFLINE]
    assert e.queue_by_id["sales"].rate == base_rate
    assert e.set_scenario("meteor").code == "unknown_scenario"


# ------------------------------------------------------------------ default centre


def test_default_centre_shape() -> None:
    cfg = default_centre()
    assert cfg == SimulatorConfig()
    assert len(cfg.queues) == 8
    assert {q.channel for q in cfg.queues} == set(Channel)
    agents = cfg.expand_agents()
    assert len(agents) == 60
    assert 5 <= len({a.team for a in agents}) <= 6
    assert sum(len(a.skills) > 1 for a in agents) > 40  # a multi-skilled floor
    assert len({a.id for a in agents}) == len({a.name for a in agents}) == 60
    voice = next(q for q in cfg.queues if q.channel == Channel.VOICE)
    chat = next(q for q in cfg.queues if q.channel == Channel.CHAT)
    email = next(q for q in cfg.queues if q.channel == Channel.EMAIL)
    assert (voice.sl_target, voice.threshold_s) == (0.8, 20)
    assert (chat.sl_target, chat.threshold_s) == (0.9, 60)
    assert (email.sl_target, email.threshold_s) == (0.9, 3600)


@pytest.mark.parametrize("hour", [3, 10, 16, 22])
async def test_default_centre_is_busy_at_any_hour(hour: int) -> None:
    start = T0.replace(hour=hour, minute=20)
    source = SimulatorSource("sim", POLICY, default_centre().model_copy(update={"seed": hour}),
                             clock=lambda: start)
    snap = await source.snapshot()
    waiting = [c for c in snap.contacts if c.state == ContactState.WAITING]
    connected = [c for c in snap.contacts if c.state != ContactState.WAITING]
    assert waiting and len(connected) >= 25
    assert sum(s.offered for s in snap.interval_stats.values()) > 0
    assert AgentStateKind.ON_CONTACT in {a.state.kind for a in snap.agents}
    # Breaks happen: agent-time away since the start of the warm-up.
    assert source.engine.agent_time()[AgentStateKind.AWAY] > 0
    assert any(c.flags for c in snap.contacts) or hour == 3  # flags are rare-ish
    assert any(c.tier != Tier.STANDARD for c in snap.contacts) or hour == 3


def test_scaled_centre() -> None:
    cfg = scaled_centre(queues=40, agents=400)
    assert len(cfg.queues) == 40 and len(cfg.expand_agents()) == 400
    assert all(1 <= len(a.skills) <= 3 for a in cfg.expand_agents())
    e = engine(cfg)
    e.run_until(1800)
    assert sum(row[ANSWERED] for row in e.totals()) > 1000
    with pytest.raises(ValueError):
        scaled_centre(0, 10)


# ----------------------------------------------------------------------- config


def test_config_from_toml() -> None:
    text = simconfig.__doc__.split("Example (TOML)::")[1]
    data = tomllib.loads("\n".join(line[4:] for line in text.splitlines()))
    cfg = SimulatorConfig.model_validate(data["simulator"])
    assert cfg.scenario == Scenario.SURGE and cfg.seed == 7
    assert isinstance(cfg.agents, AgentGenerator) and len(cfg.expand_agents()) == 30


def test_config_rejects_mistakes() -> None:
    with pytest.raises(ValidationError, match="Extra inputs"):
        SimulatorConfig.model_validate({"queues": [{"id": "x", "name": "X", "colour": 1}]})
    with pytest.raises(ValidationError, match="unknown queue id"):
        SimulatorConfig.model_validate({"queues": [{"id": "x", "name": "X"}],
                                        "agents": [{"name": "A", "skills": ["y"]}]})
    with pytest.raises(ValidationError, match="duplicate queue"):
        SimulatorConfig.model_validate({"queues": [{"id": "x", "name": "X"}] * 2})
    with pytest.raises(ValidationError, match="acw_s"):
        QueueConfig(id="x", name="X", aht_s=30, acw_s=60)
    with pytest.raises(ValidationError):
        SimulatorConfig(speed=0)


def test_own_queues_without_agents_are_auto_staffed() -> None:
    cfg = SimulatorConfig.model_validate({"queues": [
        {"id": "a", "name": "A", "arrivals_per_hour": 60, "aht_s": 300},
        {"id": "b", "name": "B", "arrivals_per_hour": 10, "aht_s": 300},
    ]})
    agents = cfg.expand_agents()
    assert {s for a in agents for s in a.skills} == {"a", "b"}
    assert sum("a" in a.skills for a in agents) >= 6  # 5 Erlangs need more than 5 agents


def test_explicit_agents_get_ids() -> None:
    cfg = SimulatorConfig.model_validate({
        "queues": [{"id": "x", "name": "X"}],
        "agents": [{"name": "Ana", "skills": ["x"]}, {"id": "zed", "name": "Zed"}],
    })
    assert [a.id for a in cfg.expand_agents()] == ["a001", "zed"]


# ----------------------------------------------------------------------- source


async def test_simulator_source_snapshot_with_injected_clock() -> None:
    wall = [datetime(2030, 1, 1, 8, 0, tzinfo=UTC)]
    start = datetime(2026, 5, 5, 10, 20, tzinfo=UTC)
    cfg = default_centre().model_copy(update={"seed": 9, "speed": 2.0, "start": start})
    source = SimulatorSource("sim-a", POLICY, cfg, clock=lambda: wall[0])
    assert source.capabilities >= {Capability.SNAPSHOT, Capability.REASSIGN_CONTACT,
                                   Capability.MOVE_AGENTS, Capability.BROADCAST}
    snap = await source.snapshot()
    assert snap.taken_at == start
    assert snap.interval_start == POLICY.interval_start(start)
    assert snap.day_start == POLICY.day_start(start)
    assert snap.clock_rate == 2.0
    assert len(snap.queues) == 8 and len(snap.agents) == 60
    assert set(snap.interval_stats) == set(snap.day_stats) == {q.id for q in snap.queues}
    assert all(q.source == "sim-a" for q in snap.queues)
    assert all(a.source == "sim-a" for a in snap.agents)
    stats = snap.interval_stats["sales"]
    assert stats.window_start == snap.interval_start and stats.offered > 0
    assert snap.day_stats["sales"].offered >= stats.offered
    # model_construct skipped validation: prove the data would have passed it.
    Snapshot.model_validate(snap.model_dump())
    by_id = {a.id: a for a in snap.agents}
    for c in snap.contacts:
        if c.state == ContactState.WAITING:
            assert c.agent_id is None and c.entered_at <= snap.taken_at
        else:
            agent = by_id[c.agent_id or ""]
            assert agent.contact_id == c.id and agent.queue_id == c.queue_id
    assert all(a.state.reason for a in snap.agents if a.state.kind == AgentStateKind.AWAY)
    assert all(a.state.since <= snap.taken_at for a in snap.agents)

    wall[0] += timedelta(seconds=10)  # 10 wall seconds at speed 2
    later = await source.snapshot()
    assert later.taken_at == start + timedelta(seconds=20)
    unchanged = [a for a, b in zip(snap.agents, later.agents, strict=True) if a is b]
    assert unchanged  # unchanged agents reuse their model objects
    assert snap.agents[0].state.since <= later.taken_at
    wall[0] -= timedelta(seconds=30)  # the wall clock stepped back: time does not
    assert (await source.snapshot()).taken_at == later.taken_at


async def test_simulator_source_day_rolls_in_policy_zone() -> None:
    ny = IntervalPolicy(minutes=30, tz="America/New_York")
    wall = [datetime(2030, 1, 1, tzinfo=UTC)]
    # A naive start is the centre's local time: 23:55 on 9 Jan in New York.
    cfg = default_centre().model_copy(update={
        "seed": 2, "speed": 60.0, "start": datetime(2026, 1, 9, 23, 55)})
    source = SimulatorSource("sim", ny, cfg, clock=lambda: wall[0])
    before = await source.snapshot()
    assert before.taken_at == datetime(2026, 1, 9, 23, 55, tzinfo=ny.zone)
    assert before.day_start == datetime(2026, 1, 9, tzinfo=ny.zone)
    wall[0] += timedelta(seconds=10)  # 600 simulated seconds: 00:05 on 10 Jan
    after = await source.snapshot()
    assert after.day_start == datetime(2026, 1, 10, tzinfo=ny.zone)
    assert after.interval_start == after.day_start
    for qid, day in after.day_stats.items():
        assert day.window_start == after.day_start
        assert day.model_dump(exclude={"window_start"}) == \
            after.interval_stats[qid].model_dump(exclude={"window_start"})
    assert sum(s.offered for s in after.day_stats.values()) < \
        sum(s.offered for s in before.day_stats.values())


async def test_simulator_source_actions_pass_through() -> None:
    wall = [datetime(2030, 1, 1, tzinfo=UTC)]
    source = SimulatorSource("sim", POLICY, two_queue_config().model_copy(
        update={"start": T0, "warmup_minutes": 10}), clock=lambda: wall[0])
    snap = await source.snapshot()
    waiting = [c for c in snap.contacts if c.state == ContactState.WAITING]
    result = await source.move_contact(waiting[-1].id, "quiet")
    assert result.ok
    again = await source.move_contact(waiting[-1].id, "quiet")
    assert again.code == "not_waiting"
    assert (await source.assign_contact(waiting[-2].id, "q2")).ok
    assert (await source.set_agent_skills("c1", ["chat", "busy"])).ok
    assert (await source.broadcast("hello")).ok
    assert (await source.set_scenario(Scenario.SURGE)).ok
    after = await source.snapshot()
    moved = next(c for c in after.contacts if c.id == waiting[-1].id)
    assert moved.queue_id == "quiet" and moved.state == ContactState.CONNECTED
    assert next(a for a in after.agents if a.id == "c1").skills == ("chat", "busy")


# ----------------------------------------------------------------- single queue


def test_simulate_single_queue_contract() -> None:
    result = simulate_single_queue(agents=10, arrivals_per_hour=100, aht_s=300,
                                   threshold_s=20, patience_s=60, duration_s=7200, seed=3)
    json.dumps(result)
    assert result == simulate_single_queue(agents=10, arrivals_per_hour=100, aht_s=300,
                                           threshold_s=20, patience_s=60, duration_s=7200,
                                           seed=3)
    for key in ("offered", "answered", "abandoned", "answered_within_threshold",
                "service_level", "asa_seconds", "occupancy", "aht_seconds"):
        assert key in result
    assert result["offered"] >= result["answered"] + result["abandoned"] - 10  # prefilled
    assert 0 < result["service_level"] <= 1 and 0 < result["occupancy"] <= 1
    assert result["abandoned"] > 0
    assert result["aht_seconds"] == pytest.approx(300, rel=0.15)
    lognormal = simulate_single_queue(10, 100, 300, 20, service="lognormal", seed=3)
    assert lognormal["service"] == "lognormal" and lognormal["abandoned"] == 0


@pytest.mark.parametrize("kwargs", [
    {"agents": 0}, {"aht_s": 0}, {"service": "weibull"}, {"patience_s": -1},
    {"arrivals_per_hour": -5}, {"duration_s": 0},
])
def test_simulate_single_queue_rejects_bad_input(kwargs: dict[str, object]) -> None:
    args: dict[str, object] = {"agents": 5, "arrivals_per_hour": 50, "aht_s": 300,
                               "threshold_s": 20}
    args.update(kwargs)
    with pytest.raises(ValueError):
        simulate_single_queue(**args)  # type: ignore[arg-type]


def test_simulate_single_queue_with_no_traffic() -> None:
    result = simulate_single_queue(3, 0, 300, 20, duration_s=600)
    assert result["offered"] == 0 and result["service_level"] is None


def test_a_broadcast_resent_with_the_same_key_is_shown_once() -> None:
    from supervisor_tui.sim.engine import Engine

    e = Engine(SimulatorConfig(seed=3), IntervalPolicy(30, "UTC"),
               datetime(2026, 5, 5, 9, 0, tzinfo=UTC))
    assert e.broadcast("Phones down", key="k1").ok
    again = e.broadcast("Phones down", key="k1")  # the outbox re-sends after a crash
    assert again.ok and "already sent" in again.message
    assert [m for _, m in e.broadcasts] == ["Phones down"]
    e.broadcast("Phones down")  # no key: a deliberate second message
    assert len(e.broadcasts) == 2
