"""The incremental per-poll index must always equal a fresh full pass."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from supervisor_tui.domain.index import IndexBuilder, build_index
from supervisor_tui.domain.intervals import IntervalPolicy
from supervisor_tui.domain.model import AgentStateKind
from supervisor_tui.sim.config import scaled_centre
from supervisor_tui.sources.simulator import SimulatorSource

from .helpers import T0, centre, index_shape


def test_hand_built_centre() -> None:
    index = build_index(centre())
    assert index.waiting == sum(len(v) for v in index.waiting_by_queue.values())
    for contacts in index.waiting_by_queue.values():
        assert [c.entered_at for c in contacts] == sorted(c.entered_at for c in contacts)
    assert index.count(AgentStateKind.AVAILABLE) == 1


def test_incremental_equals_full_pass_over_a_busy_simulated_hour() -> None:
    wall = [datetime(2026, 5, 5, 10, 0, tzinfo=UTC)]
    config = scaled_centre(40, 300, occupancy=1.1)
    source = SimulatorSource("sim", IntervalPolicy(30, "UTC"), config, clock=lambda: wall[0])
    builder = IndexBuilder()
    previous = None
    for step in range(120):
        wall[0] += timedelta(seconds=30)
        source.engine.advance(source.sim_now())
        if step % 10 == 3:  # supervisors move agents: skills change on the same agent
            agent = source.engine.agents[step]
            source.engine.set_agent_skills(agent.id, [q.id for q in source.engine.queues[:2]])
        snap = source._builder.build()
        incremental = builder.index(snap)
        assert index_shape(incremental) == index_shape(build_index(snap)), f"step {step}"
        if previous is not None:  # an index handed out earlier never changes under us
            assert index_shape(previous[1]) == previous[2]
        previous = (snap, incremental, index_shape(incremental))
    assert incremental.waiting > 0 and incremental.flagged


def test_going_back_to_an_older_snapshot_and_to_unrelated_ones() -> None:
    builder = IndexBuilder()
    first, second = centre(), centre(T0 + timedelta(minutes=5), sales_name="Sales 2")
    for snap in (first, second, first, centre(), second):
        assert index_shape(builder.index(snap)) == index_shape(build_index(snap))
