"""Intraday history (issue 13, item 3): one stored row per queue per closed interval,
equal to the simulator's own counts and adding up, written once per interval, never
counted twice."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from supervisor_tui.domain.intervals import IntervalPolicy
from supervisor_tui.sim.config import SimulatorConfig
from supervisor_tui.sim.engine import COUNTER_FIELDS
from supervisor_tui.sources.simulator import SimulatorSource
from supervisor_tui.store import INTERVAL_COUNTERS, Store
from supervisor_tui.ui.state import ConsoleState
from tests.helpers import make_config

POLICY = IntervalPolicy(30, "UTC")


def _drive(state: ConsoleState, source: SimulatorSource, wall: list[datetime],
           polls: int, step_s: float) -> dict[datetime, list[list[float]]]:
    """Poll ``polls`` times ``step_s`` simulated seconds apart (off the interval grid);
    returns the engine's own per-interval buckets seen on the way (it keeps one day)."""
    import asyncio

    buckets: dict[datetime, list[list[float]]] = {}
    for _ in range(polls):
        wall[0] += timedelta(seconds=step_s)
        snap = asyncio.run(source.snapshot())
        board = state.take_snapshot(snap)
        state.record_history(board)
        buckets.update({k: [list(v) for v in rows] for k, rows in source.engine.buckets.items()})
    return buckets


def _setup(start: datetime, store: Store) -> tuple[ConsoleState, SimulatorSource, list[datetime]]:
    wall = [start]
    source = SimulatorSource("sim", POLICY, SimulatorConfig(seed=5, start=start),
                             clock=lambda: wall[0])
    state = ConsoleState(make_config(), [source], store, clock=lambda: wall[0],
                         monotonic=time.monotonic)
    return state, source, wall


def test_stored_intervals_equal_the_simulators_counts_and_add_up(store_at: Path | str) -> None:
    store = Store.open(store_at)
    start = datetime(2026, 11, 23, 8, 5, tzinfo=UTC)
    state, source, wall = _setup(start, store)
    # 47 s between polls: no poll falls on a boundary, so contacts leave after the last
    # poll of each interval and the rows must still count them.
    buckets = _drive(state, source, wall, polls=4 * 3600 // 47, step_s=47)
    rows = store.intervals(start - timedelta(hours=1), start + timedelta(hours=5))
    starts = sorted({r["interval_start"] for r in rows})
    # 08:05 to 12:04: 08:00 (seen from 08:05) to 11:30 closed; 12:00 still open.
    assert starts == [(datetime(2026, 11, 23, 8, tzinfo=UTC) + timedelta(minutes=30 * i))
                      .isoformat() for i in range(8)]
    queues = [q.id for q in source.engine.queues]
    assert len(rows) == 8 * len(queues)
    offered = 0
    for row in rows:
        assert row["complete"] == 1
        assert row["offered"] == row["answered"] + row["abandoned"] + row["flowed_out"]
        engine = buckets[datetime.fromisoformat(row["interval_start"])]
        counts = dict(zip(COUNTER_FIELDS, engine[queues.index(row["queue_id"])], strict=True))
        for name in INTERVAL_COUNTERS:
            assert row[name] == pytest.approx(counts[name], abs=1e-6), (row, name)  # type: ignore[literal-required]
        assert row["interval_minutes"] == 30 and row["threshold_s"] > 0
        assert row["agents_staffed_at_close"] >= 0
        offered += row["offered"]
    assert offered > 500  # a busy morning, not a trivially empty comparison
    assert any(r["agents_needed_at_close"] for r in rows)
    # The channel sums kept beside the rows (the group views read them) are their sums.
    live = ("voice", "chat", "social")
    sums = store.interval_sums(start - timedelta(hours=1), start + timedelta(hours=5), live)
    for iso in starts:
        for name in INTERVAL_COUNTERS:
            mine = sum(r[name] for r in sums if r["interval_start"] == iso)  # type: ignore[literal-required]
            theirs = sum(r[name] for r in rows  # type: ignore[literal-required]
                         if r["interval_start"] == iso and r["channel"] in live)
            assert mine == pytest.approx(theirs), (iso, name)


def test_a_restart_or_a_second_console_never_counts_an_interval_twice(store_at: Path | str) -> None:
    store = Store.open(store_at)
    start = datetime(2026, 11, 23, 9, 10, tzinfo=UTC)
    state, source, wall = _setup(start, store)
    _drive(state, source, wall, polls=60, step_s=60)  # 09:10 -> 10:10: 09:00, 09:30 closed
    before = store.intervals(start - timedelta(hours=1), start + timedelta(hours=2))
    assert len({r["interval_start"] for r in before}) == 2
    # A new console (a restart) on the same store and centre writes the same rows again.
    again = ConsoleState(make_config(), [source], store, clock=lambda: wall[0],
                         monotonic=time.monotonic)
    _drive(again, source, wall, polls=25, step_s=60)  # to 10:35: 10:00 closes
    window = (start - timedelta(hours=1), start + timedelta(hours=2))
    sums = store.interval_sums(*window, ["voice", "chat", "social", "email"])
    store.record_intervals(before, start, timedelta(days=35))  # and written twice over
    assert store.interval_sums(*window, ["voice", "chat", "social", "email"]) == sums
    after = store.intervals(*window)
    assert len({r["interval_start"] for r in after}) == 3
    assert [r for r in after if r["interval_start"] in {b["interval_start"] for b in before}] \
        == before


def test_across_midnight_the_last_interval_keeps_the_last_polls_figures_marked(
        store_at: Path | str) -> None:
    store = Store.open(store_at)
    start = datetime(2026, 11, 23, 23, 20, tzinfo=UTC)
    state, source, wall = _setup(start, store)
    _drive(state, source, wall, polls=40, step_s=61)  # 23:20 -> 00:00:40
    rows = store.intervals(start - timedelta(hours=1), start + timedelta(hours=2))
    last = [r for r in rows if r["interval_start"].startswith("2026-11-23T23:30")]
    assert last and all(r["complete"] == 0 for r in last)  # said, not passed off as whole
    queues = [q.id for q in source.engine.queues]
    for r in last:
        assert r["offered"] == r["answered"] + r["abandoned"] + r["flowed_out"]
    assert {r["queue_id"] for r in last} == set(queues)


def test_old_intervals_go_after_the_retention(store_at: Path | str) -> None:
    store = Store.open(store_at)
    row = {c: 0 for c in INTERVAL_COUNTERS} | {
        "queue_id": "q", "interval_minutes": 30, "channel": "voice", "sl_target": 0.8,
        "threshold_s": 20.0, "agents_staffed_at_close": 1.0, "agents_needed_at_close": None,
        "complete": 1}
    now = datetime(2026, 11, 23, 12, tzinfo=UTC)
    old = {**row, "interval_start": (now - timedelta(days=36)).isoformat()}
    new = {**row, "interval_start": (now - timedelta(days=34)).isoformat()}
    store.record_intervals([old, new], now, timedelta(days=35))  # type: ignore[list-item]
    kept = store.intervals(now - timedelta(days=40), now)
    assert [r["interval_start"] for r in kept] == [new["interval_start"]]
    assert make_config().store.interval_retention_days == 35
