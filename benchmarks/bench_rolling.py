"""What rolling windows cost a poll, at 1,000 queues / 10,000 agents.

Per poll of a simulated centre (snapshots 1 s of source time apart), the work the console
does to show figures: build the board, the headline totals and the figures of the rows on
a 200x60 screen (50), with their Erlang C. Measured twice over the same snapshots:

- interval: the figures over the reporting interval (what the console did before);
- rolling: also observing the rolling-window sampler, building its 15/30/60-minute views
  and showing the figures over the last 15 minutes (totals per channel group, the rows).

The budget (issue #10 of this tracker): rolling windows may cost the poll at most 10% of
the poll -> painted time measured by bench_dashboard.py (median 65 ms at this size).

    .venv/bin/python benchmarks/bench_rolling.py [--queues 1000] [--agents 10000] [--polls 120]
"""

from __future__ import annotations

import argparse
import statistics
import time
from datetime import timedelta

from supervisor_tui.domain.board import DEFERRED, INTERVAL, LIVE, Board, build_board
from supervisor_tui.domain.intervals import IntervalPolicy
from supervisor_tui.domain.model import Snapshot
from supervisor_tui.domain.rolling import RollingWindows
from supervisor_tui.sim.config import scaled_centre
from supervisor_tui.sim.engine import Engine
from supervisor_tui.sources.simulator import SnapshotBuilder


def show(board: Board, key: str, rows: int = 50) -> None:
    for group in (None, LIVE, DEFERRED):
        board.totals(key, group)
    for row in board.rows[:rows]:
        m = row.window(key)
        if m is not None:
            _ = (m.service_level, m.asa_s, m.aht_s, m.abandon_rate)
        _ = row.staffing


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--queues", type=int, default=1000)
    parser.add_argument("--agents", type=int, default=10000)
    parser.add_argument("--polls", type=int, default=120)
    args = parser.parse_args()

    policy = IntervalPolicy(minutes=30, tz="UTC")
    sim = scaled_centre(queues=args.queues, agents=args.agents)
    from datetime import UTC, datetime
    epoch = datetime(2026, 5, 5, 9, 0, tzinfo=UTC)
    engine = Engine(sim, policy, epoch)
    engine.advance(epoch + timedelta(minutes=40))  # warm: a full 30-minute window behind
    builder = SnapshotBuilder(engine, "simulator")
    # Samples before the measured polls, as a console running for an hour has them.
    rolling = RollingWindows((15, 30, 60))
    t = engine.now_dt
    for _ in range(60 * 4):
        t += timedelta(seconds=15)
        engine.advance(t)
        rolling.observe(builder.build())
    snaps: list[Snapshot] = []
    for _ in range(args.polls):
        t += timedelta(seconds=1)
        engine.advance(t)
        snaps.append(builder.build())

    base: list[float] = []
    with_rolling: list[float] = []
    for snap in snaps:
        t0 = time.perf_counter()
        show(build_board(snap), INTERVAL)
        base.append((time.perf_counter() - t0) * 1000)
        t0 = time.perf_counter()
        rolling.observe(snap)
        views = {f"{m}m": rolling.view(m, snap) for m in rolling.minutes}
        show(build_board(snap, windows=views), "15m")
        with_rolling.append((time.perf_counter() - t0) * 1000)

    b, r = statistics.median(base), statistics.median(with_rolling)
    print(f"{args.queues} queues / {args.agents} agents, {args.polls} polls")
    print(f"interval figures:         median {b:6.2f} ms")
    print(f"rolling (15m) figures:    median {r:6.2f} ms")
    print(f"rolling windows cost:     {r - b:+.2f} ms per poll "
          f"({(r - b) / 65 * 100:+.1f}% of the 65 ms poll -> painted median)")


if __name__ == "__main__":
    main()
