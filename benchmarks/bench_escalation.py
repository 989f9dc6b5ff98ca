"""Escalation rules at scale: 10,000 agents and 5,000+ waiting contacts.

Run: ``.venv/bin/python benchmarks/bench_escalation.py [--steps N] [--json]``

The simulator's ``scaled_centre(1000, 10000)`` is driven into overload until at least
5,000 contacts wait, then advanced 1 simulated second per step (the live source polled
every second). Each step times, on that step's snapshot:

* ``index``: the per-poll snapshot index (``supervisor_tui.domain.index``) that the rules and
  the board share; built once per poll, incrementally by object identity;
* ``evaluate``: the stateless rules from scratch (no previous result: every escalation
  object is built anew, as on the console's first poll);
* ``tracker.update``: what the console runs on every later poll (all rules, reusing
  unchanged results by identity, plus first-seen, hysteresis, SL persistence,
  new/raised/cleared; the sort is lazy, on first use of ``active``);
* ``per_poll(index+tracker)``: the steady-state cost per poll; budget under 20 ms;
* ``read_all_floor``: merely reading every contact's state and every agent's state kind,
  the floor for any rules that look at every contact and agent each poll.

Cases: ``heavy`` (normal scenario at 125% of the staffed load: queues, abandons and
waits escalate) and ``outage`` (35% of agents offline, flags x3: the most escalations).
"""

from __future__ import annotations

import argparse
import gc
import statistics
import time
from collections import Counter
from datetime import UTC, datetime, timedelta

from _report import report

from supervisor_tui.domain.escalation import EscalationRules, EscalationTracker, evaluate
from supervisor_tui.domain.index import IndexBuilder
from supervisor_tui.domain.intervals import IntervalPolicy
from supervisor_tui.domain.model import ContactState
from supervisor_tui.sim.config import Scenario, scaled_centre
from supervisor_tui.sources.simulator import SimulatorSource


def _ms(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    return {"median_ms": round(statistics.median(ordered) * 1000, 2),
            "p95_ms": round(ordered[int(0.95 * (len(ordered) - 1))] * 1000, 2),
            "max_ms": round(ordered[-1] * 1000, 2)}


def _waiting(snapshot) -> int:  # type: ignore[no-untyped-def]
    return sum(1 for c in snapshot.contacts if c.state == ContactState.WAITING)


def bench(case: str, steps: int, min_waiting: int = 5000) -> dict[str, object]:
    wall = [datetime(2026, 5, 5, 10, 0, tzinfo=UTC)]
    if case == "outage":
        config = scaled_centre(1000, 10000).model_copy(update={"scenario": Scenario.OUTAGE})
    else:
        config = scaled_centre(1000, 10000, occupancy=1.25)
    t0 = time.perf_counter()
    source = SimulatorSource("simulator", IntervalPolicy(30, "UTC"), config,
                             clock=lambda: wall[0])
    snapshot = source._builder.build()
    while _waiting(snapshot) < min_waiting:  # drive into overload, 10 s at a time
        wall[0] += timedelta(seconds=10)
        source.engine.advance(source.sim_now())
        snapshot = source._builder.build()
    setup = time.perf_counter() - t0

    rules = EscalationRules()
    tracker = EscalationTracker()
    indexer = IndexBuilder()  # the console's: follows the stream, shared by board and rules
    # The first poll finds everything "new": not timed.
    tracker.update(snapshot, rules, index=indexer.index(snapshot))
    gc.collect()
    gc.freeze()  # as the console does after its first poll: long-lived objects out of GC
    index_s, evaluate_s, update_s, floor_s, counts = [], [], [], [], []
    for _ in range(steps):
        wall[0] += timedelta(seconds=1)
        source.engine.advance(source.sim_now())
        snapshot = source._builder.build()
        t0 = time.perf_counter()
        index = indexer.index(snapshot)  # the per-poll index, shared with the board
        t1 = time.perf_counter()
        found = evaluate(snapshot, rules, index=index)
        t2 = time.perf_counter()
        result = tracker.update(snapshot, rules, index=index)
        t3 = time.perf_counter()
        sum(1 for c in snapshot.contacts if c.state == "waiting")
        sum(1 for a in snapshot.agents if a.state.kind == "away")
        floor_s.append(time.perf_counter() - t3)
        index_s.append(t1 - t0)
        evaluate_s.append(t2 - t1)
        update_s.append(t3 - t2)
        counts.append(len(found))
    kinds = Counter(e.kind.value for e in result.active)
    return {"case": f"{case}: scaled centre 1000 queues / {len(snapshot.agents)} agents, "
                    f"{_waiting(snapshot)} waiting of {len(snapshot.contacts)} live contacts",
            "steps": steps, "setup_s": round(setup, 1),
            "escalations": round(statistics.fmean(counts)),
            "by_kind": dict(sorted(kinds.items())),
            "index": _ms(index_s), "evaluate": _ms(evaluate_s),
            "index+evaluate": _ms([a + b for a, b in zip(index_s, evaluate_s, strict=True)]),
            "tracker_update": _ms(update_s),
            "per_poll(index+tracker)": _ms([a + b for a, b in zip(index_s, update_s,
                                                                  strict=True)]),
            "read_all_floor": _ms(floor_s)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--case", choices=["heavy", "outage", "both"], default="both")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    cases = ["heavy", "outage"] if args.case == "both" else [args.case]
    results = [bench(case, max(args.steps, 30)) for case in cases]
    report(results, args.json, width=24)


if __name__ == "__main__":
    main()
