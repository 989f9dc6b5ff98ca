"""Today's abandoned contacts and call-backs in the simulator (issue 13 item 2): the list
is the engine's own abandons (bounded, short ones marked), and a call-back is a real
waiting contact that agents answer and that counts by the counting rule."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from supervisor_tui.domain.intervals import IntervalPolicy
from supervisor_tui.domain.model import (
    MAX_ABANDONED,
    AbandonedContact,
    Channel,
    ContactState,
    Snapshot,
)
from supervisor_tui.sim.config import (
    AgentConfig,
    BreakPolicy,
    QueueConfig,
    SimulatorConfig,
    TierMix,
    default_centre,
)
from supervisor_tui.sim.engine import Engine
from supervisor_tui.sources.base import Capability
from supervisor_tui.sources.simulator import SimulatorSource, SnapshotBuilder

POLICY = IntervalPolicy(minutes=30, tz="UTC")
T0 = datetime(2026, 5, 5, 10, 0, tzinfo=UTC)


def impatient_config(agents: int = 2) -> SimulatorConfig:
    """One swamped voice queue whose customers give up quickly, plus a chat queue."""
    queues = [
        QueueConfig(id="voice", name="Voice", arrivals_per_hour=600, aht_s=300, acw_s=0,
                    patience_s=30, short_abandon_s=5,
                    tiers=TierMix(vip=0.1, gold=0.2)),
        QueueConfig(id="chat", name="Chat", channel=Channel.CHAT, arrivals_per_hour=0,
                    aht_s=300, acw_s=0, patience_s=None, tiers=TierMix(vip=0, gold=0)),
    ]
    staff = [AgentConfig(id=f"a{i}", name=f"Agent {i}", skills=["voice"])
             for i in range(agents)]
    return SimulatorConfig(seed=5, queues=queues, agents=staff,
                           breaks=BreakPolicy(enabled=False), intraday_curve=False)


def test_abandoned_list_is_the_engines_abandons_short_marked() -> None:
    engine = Engine(impatient_config(), POLICY, T0, seed=5)
    engine.journal = []
    builder = SnapshotBuilder(engine, "sim")
    engine.advance(T0 + timedelta(minutes=20))
    snap = builder.build()
    journal = [(q, entered, left) for q, outcome, entered, left in engine.journal
               if outcome == "abandoned"]
    assert snap.abandoned and len(snap.abandoned) == len(journal) < MAX_ABANDONED
    for ab, (queue_id, entered, left) in zip(snap.abandoned, journal, strict=True):
        assert ab.queue_id == queue_id and ab.source == "sim"
        assert ab.abandoned_at == engine.at(left)
        assert abs(ab.waited_s - (left - entered)) < 1e-6
        assert ab.short == (left - entered < 5)
        assert ab.customer and ab.handle and ab.handle.startswith("+44 7700 9")
    assert [a.abandoned_at for a in snap.abandoned] == sorted(a.abandoned_at
                                                               for a in snap.abandoned)
    # the marks add up to the day's counters
    day = snap.day_stats["voice"]
    assert day.abandoned == len(snap.abandoned)
    assert day.abandoned_short == sum(a.short for a in snap.abandoned)
    # trusted data that would pass validation, and cached between polls
    for ab in snap.abandoned:
        AbandonedContact.model_validate(ab.model_dump())
    Snapshot.model_validate(snap.model_dump())
    assert builder.build().abandoned is snap.abandoned


def test_abandoned_list_is_bounded_to_the_newest() -> None:
    engine = Engine(impatient_config(agents=0), POLICY, T0, seed=5)
    builder = SnapshotBuilder(engine, "sim")
    engine.advance(T0 + timedelta(hours=2))  # ~1,200 abandons
    snap = builder.build()
    assert snap.day_stats["voice"].abandoned > MAX_ABANDONED
    assert len(snap.abandoned) == MAX_ABANDONED
    assert snap.abandoned[-1].abandoned_at <= snap.taken_at
    newest = max(c.ended_at for c in engine._ended.values() if c.state == 4)
    assert snap.abandoned[-1].abandoned_at == engine.at(newest)


def test_abandoned_list_is_today_only() -> None:
    engine = Engine(impatient_config(), POLICY, datetime(2026, 5, 5, 23, 40, tzinfo=UTC), seed=5)
    builder = SnapshotBuilder(engine, "sim")
    engine.advance(datetime(2026, 5, 5, 23, 59, tzinfo=UTC))
    assert builder.build().abandoned
    engine.advance(datetime(2026, 5, 6, 0, 0, 30, tzinfo=UTC))
    snap = builder.build()
    assert all(a.abandoned_at >= snap.day_start for a in snap.abandoned)


def test_callback_becomes_a_waiting_contact_answered_later_and_counted() -> None:
    engine = Engine(impatient_config(), POLICY, T0, seed=5)
    engine.journal = []
    builder = SnapshotBuilder(engine, "sim")
    engine.advance(T0 + timedelta(minutes=10))
    snap = builder.build()
    vip = next(a for a in reversed(snap.abandoned) if a.tier != "standard")
    # patience off from here on, so the call-back waits until an agent frees up
    engine.queue_by_id["voice"].patience_s = None
    outcome = engine.create_callback(vip.id, "voice")
    assert outcome.ok, outcome.message
    after = builder.build()
    row = next(a for a in after.abandoned if a.id == vip.id)
    assert row.callback_id is not None
    callback = next(c for c in after.contacts if c.id == row.callback_id)
    assert callback.queue_id == "voice" and callback.channel == Channel.VOICE
    assert callback.state == ContactState.WAITING and callback.entered_at == after.taken_at
    assert callback.tier == vip.tier and callback.customer == vip.customer
    # twice: refused, and the list is not changed
    again = engine.create_callback(vip.id, "voice")
    assert not again.ok and again.code == "conflict"
    assert engine.create_callback("nobody", "voice").code == "not_found"
    assert engine.create_callback(snap.abandoned[0].id, "chat").code == "channel_mismatch"
    before = engine.day_counters(0)
    engine.advance(T0 + timedelta(minutes=40))
    answered = [r for r in engine.journal if r[3] > engine.seconds(after.taken_at)
                and r[2] == engine.seconds(after.taken_at)]
    assert [r[:2] for r in answered] == [("voice", "answered")]  # the call-back, once
    now = builder.build()
    assert all(c.id != callback.id or c.state != ContactState.WAITING for c in now.contacts)
    day = engine.day_counters(0)
    assert day[0] > before[0]
    assert day[0] == day[1] + day[3] + day[9]  # offered = answered + abandoned + flowed out


async def test_simulator_source_offers_callbacks() -> None:
    wall = [datetime(2030, 1, 1, tzinfo=UTC)]
    cfg = default_centre().model_copy(update={"seed": 4, "start": T0})
    source = SimulatorSource("sim", POLICY, cfg, clock=lambda: wall[0])
    assert source.supports(Capability.CALLBACK)
    snap = await source.snapshot()
    assert snap.abandoned and all(a.source == "sim" for a in snap.abandoned)
    voice = {q.id for q in snap.queues if q.channel == Channel.VOICE}
    target = next(a for a in reversed(snap.abandoned) if a.queue_id in voice)
    result = await source.create_callback(target.id, target.queue_id)
    assert result.ok and "queued as contact" in result.message
