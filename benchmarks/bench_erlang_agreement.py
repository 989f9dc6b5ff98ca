"""Does Erlang C's predicted SL agree with the live SL? (issue #10 of this tracker)

For the simulator's default centre, 3 seeds x normal / surge / outage, one hour of
source time, the board every 5 minutes after the first half hour: for every queue with a
30-minute window of at least 20 contacts, compare "predicted SL with the effective agents
meets the target" with "the live 30-minute SL meets the target". Prints the agreement
per run and every disagreement (optimistic ones are the dangerous kind).

    .venv/bin/python benchmarks/bench_erlang_agreement.py
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from supervisor_tui.domain.board import build_board
from supervisor_tui.domain.intervals import IntervalPolicy
from supervisor_tui.domain.rolling import RollingWindows
from supervisor_tui.sim.config import SimulatorConfig
from supervisor_tui.sim.engine import Engine
from supervisor_tui.sources.simulator import SnapshotBuilder


def main() -> None:
    policy = IntervalPolicy(minutes=30, tz="UTC")
    epoch = datetime(2026, 5, 5, 8, 0, tzinfo=UTC)
    totals = {"agree": 0, "pessimistic": 0, "optimistic": 0}
    for scenario in ("normal", "surge", "outage"):
        for seed in (1, 2, 3):
            engine = Engine(SimulatorConfig(scenario=scenario), policy, epoch, seed=seed)
            builder = SnapshotBuilder(engine, "simulator")
            rolling = RollingWindows((15, 30, 60))
            t, agree, seen = epoch, 0, 0
            for i in range(240):
                t += timedelta(seconds=15)
                engine.advance(t)
                snap = builder.build()
                rolling.observe(snap)
                if i % 20 != 19 or i <= 120:
                    continue
                board = build_board(snap, windows={f"{m}m": rolling.view(m, snap)
                                                   for m in rolling.minutes})
                for row in board.rows:
                    st, live = row.staffing, row.window("30m")
                    if (st is None or live is None or live.service_level is None
                            or st.predicted_sl_with_staffed is None or live.sl_n < 20):
                        continue
                    target = row.queue.sl_target
                    met, predicted = (live.service_level >= target,
                                      st.predicted_sl_with_staffed >= target)
                    seen += 1
                    if met == predicted:
                        agree += 1
                        totals["agree"] += 1
                        continue
                    kind = "optimistic" if predicted else "pessimistic"
                    totals[kind] += 1
                    print(f"  {scenario} seed {seed} {row.queue.id}: live "
                          f"{live.service_level:.0%} predicted "
                          f"{st.predicted_sl_with_staffed:.0%} ({kind}) — {st.inputs()}")
            print(f"{scenario:7} seed {seed}: {agree} of {seen} agree")
    print(f"all: {totals}")


if __name__ == "__main__":
    main()
