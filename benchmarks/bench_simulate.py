"""Simulator benchmarks: headless single queue, and the big centre at 1 s steps.

Run: ``.venv/bin/python benchmarks/bench_simulate.py [--steps N] [--json]``

* ``simulate_single_queue``: 1 simulated hour of a 100-agent queue (90 Erlangs, AHT
  180 s), as behind ``supervisor-tui simulate``; the budget is well under 1 s.
* ``scaled_centre(1000, 10000)``: after construction and warm-up, the engine advances
  1 simulated second per step (the live source at speed 1 polled every second) and a
  Snapshot is built; budgets: advance far under 10 ms, snapshot under 30 ms.
"""

from __future__ import annotations

import argparse
import gc
import statistics
import time
from datetime import UTC, datetime, timedelta

from _report import report

from supervisor_tui.domain.intervals import IntervalPolicy
from supervisor_tui.sim.config import scaled_centre
from supervisor_tui.sim.single_queue import simulate_single_queue
from supervisor_tui.sources.simulator import SimulatorSource


def _ms(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    return {"median_ms": round(statistics.median(ordered) * 1000, 3),
            "p95_ms": round(ordered[int(0.95 * (len(ordered) - 1))] * 1000, 3),
            "max_ms": round(ordered[-1] * 1000, 3)}


def bench_single_queue(repeats: int = 5) -> dict[str, object]:
    times = []
    result: dict[str, object] = {}
    for seed in range(1, repeats + 1):
        t0 = time.perf_counter()
        result = simulate_single_queue(agents=100, arrivals_per_hour=1800, aht_s=180,
                                       threshold_s=20, duration_s=3600, seed=seed)
        times.append(time.perf_counter() - t0)
    return {"case": "single queue, 100 agents, 1 simulated hour (+ auto warm-up "
                    f"{result['warmup_s']:.0f} s)", **_ms(times),
            "offered": result["offered"], "service_level": result["service_level"]}


def bench_scaled(steps: int, queues: int = 1000, agents: int = 10000) -> dict[str, object]:
    wall = [datetime(2026, 5, 5, 10, 0, tzinfo=UTC)]
    t0 = time.perf_counter()
    source = SimulatorSource("bench", IntervalPolicy(30, "UTC"),
                             scaled_centre(queues, agents), clock=lambda: wall[0])
    setup = time.perf_counter() - t0
    engine = source.engine
    advance, build, events = [], [], []
    gc.collect()
    for _ in range(steps):
        wall[0] += timedelta(seconds=1)
        before = engine.events_processed
        t1 = time.perf_counter()
        engine.advance(source.sim_now())
        t2 = time.perf_counter()
        snap = source._builder.build()  # what snapshot() does, without an event loop
        t3 = time.perf_counter()
        advance.append(t2 - t1)
        build.append(t3 - t2)
        events.append(engine.events_processed - before)
    waiting = sum(1 for c in snap.contacts if c.state == "waiting")
    return {"case": f"scaled centre, {queues} queues / {agents} agents, 1 s steps",
            "steps": steps, "setup_incl_warmup_s": round(setup, 2),
            "advance": _ms(advance), "snapshot_build": _ms(build),
            "step_total": _ms([a + b for a, b in zip(advance, build, strict=True)]),
            "events_per_step": round(statistics.fmean(events), 1),
            "contacts_in_snapshot": len(snap.contacts), "waiting": waiting}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    results = [bench_single_queue(), bench_scaled(args.steps)]
    report(results, args.json, width=22)


if __name__ == "__main__":
    main()
