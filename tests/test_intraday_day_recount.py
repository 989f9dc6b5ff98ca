"""Intraday over a whole simulated day (issue 13, item 3 proof): every stored interval,
and the intraday screen's figures built from them (one queue, and a channel group), equal
a recount of the simulator's raw per-contact records — not the engine's own counters.

The console is driven as in production: one poll every 97 simulated seconds (off the
interval grid, so contacts leave after each interval's last poll), ConsoleState closing
each interval into the store.
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta

import pytest

from supervisor_tui.domain.intervals import IntervalPolicy
from supervisor_tui.domain.intraday import channels_of, figures
from supervisor_tui.domain.metrics import abandon_rate, asa, service_level
from supervisor_tui.domain.model import QueueStats, SLFormula
from supervisor_tui.sim.config import SimulatorConfig
from supervisor_tui.sources.simulator import SimulatorSource
from supervisor_tui.store import Store
from supervisor_tui.ui.state import ConsoleState
from tests.helpers import make_config
from tests.test_counting_rule import Record, recount

POLICY = IntervalPolicy(30, "UTC")
COUNTS = ("offered", "answered", "answered_within_threshold", "abandoned", "abandoned_short",
          "abandoned_after_threshold", "flowed_out")


def test_a_simulated_day_of_intervals_equals_a_recount_of_raw_records() -> None:
    day = datetime(2026, 11, 24, tzinfo=UTC)
    start = day - timedelta(minutes=17)  # the journal starts here, before the day
    wall = [start]
    source = SimulatorSource("sim", POLICY, SimulatorConfig(seed=11, start=start),
                             clock=lambda: wall[0])
    engine = source.engine
    engine.journal = []
    store = Store.open(None)
    state = ConsoleState(make_config(), [source], store, clock=lambda: wall[0],
                         monotonic=time.monotonic)
    end = day + timedelta(days=1, minutes=2)
    while wall[0] < end:
        wall[0] += timedelta(seconds=97)
        board = state.take_snapshot(asyncio.run(source.snapshot()))
        state.record_history(board)

    records = [Record(q, o, a, b) for q, o, a, b in engine.journal]
    queues = {q.id: q for q in engine.queues}
    thresholds = {q.id: (q.threshold_s, q.short_abandon_s) for q in engine.queues}
    rows = store.intervals(day, day + timedelta(days=1))
    assert len(rows) == 48 * len(queues)  # every interval of the day, every queue
    checked = offered = 0
    for row in rows:
        begin = datetime.fromisoformat(row["interval_start"])
        lo = engine.seconds(begin)
        hi = engine.seconds(begin + timedelta(minutes=30))
        mine = recount([r for r in records if r.left < hi], row["queue_id"], None, hi, lo,
                       thresholds[row["queue_id"]])
        if row["complete"]:
            for name in COUNTS:
                assert row[name] == mine[name], (row["interval_start"], row["queue_id"], name)  # type: ignore[literal-required]
            assert row["wait_answered_s"] == pytest.approx(mine["wait_answered_s"], abs=1e-3)
            checked += 1
        else:  # the day's last interval keeps its last poll's figures (said on screen)
            assert begin == day + timedelta(hours=23, minutes=30)
            for name in COUNTS:
                assert row[name] <= mine[name]  # type: ignore[literal-required]
        offered += row["offered"]
    assert checked >= 47 * len(queues)
    assert offered > 2000  # a real day's traffic, not an empty comparison

    # What the intraday screen shows: one queue, and the voice group's stored sums.
    formula = SLFormula.ANSWERED_AND_ABANDONED_AFTER
    qid = next(iter(queues))
    group = "live"  # voice, chat and social: the group the intraday screen offers
    views = {
        qid: (figures([r for r in rows if r["queue_id"] == qid], formula), [qid]),
        group: (figures(store.interval_sums(day, day + timedelta(days=1),
                                            channels_of(group)), formula),
                [q for q in queues if queues[q].channel.value in channels_of(group)]),
    }
    for name, (shown, members) in views.items():
        assert len(shown) == 48, name
        for fig in shown[:-1]:
            lo = engine.seconds(fig.start)
            hi = engine.seconds(fig.start + timedelta(minutes=30))
            total = dict.fromkeys((*COUNTS, "wait_answered_s"), 0.0)
            for q in members:
                part = recount([r for r in records if r.left < hi], q, None, hi, lo,
                               thresholds[q])
                for k in total:
                    total[k] += part[k]
            expected = QueueStats.trusted(queue_id="*", window_start=fig.start,
                                                  handled=0, handle_s=0.0, **total)
            assert fig.stats.offered == total["offered"], (name, fig.start)
            assert fig.metrics.service_level == pytest.approx(
                service_level(expected, formula)), (name, fig.start)
            assert fig.metrics.asa_s == pytest.approx(asa(expected)), (name, fig.start)
            assert fig.metrics.abandon_rate == pytest.approx(abandon_rate(expected))
