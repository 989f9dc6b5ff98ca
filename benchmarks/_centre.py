"""Shared input for the per-poll benchmarks: a scaled simulated centre polled as a 1 s
poll sees it."""

from __future__ import annotations

from datetime import datetime, timedelta

from supervisor_tui.domain.intervals import IntervalPolicy
from supervisor_tui.domain.model import Snapshot
from supervisor_tui.sim.config import scaled_centre
from supervisor_tui.sim.engine import Engine
from supervisor_tui.sources.simulator import SnapshotBuilder


def polled_snapshots(queues: int, agents: int, polls: int, start: datetime
                     ) -> list[Snapshot]:
    """``polls`` snapshots of ``scaled_centre(queues, agents)`` 1 s of source time apart,
    after 30 simulated minutes from ``start`` (30-minute intervals, UTC)."""
    engine = Engine(scaled_centre(queues=queues, agents=agents),
                    IntervalPolicy(minutes=30, tz="UTC"), start)
    engine.advance(engine.now_dt + timedelta(minutes=30))
    builder = SnapshotBuilder(engine, "simulator")
    t = engine.now_dt
    snaps = []
    for _ in range(polls):
        t += timedelta(seconds=1)
        engine.advance(t)
        snaps.append(builder.build())
    return snaps
