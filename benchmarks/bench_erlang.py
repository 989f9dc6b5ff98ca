"""Erlang C staffing benchmark: ``agents_for_target`` from 10 to 5,000 Erlangs.

Run: ``.venv/bin/python benchmarks/bench_erlang.py [--repeats N] [--json]``

The board calls ``agents_for_target`` once per queue per poll, so it must stay well
under a millisecond for ordinary queues and a few milliseconds for the largest. The
search is O(N): B is carried up from N=1 once, never recomputed per candidate N.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

from supervisor_tui.domain.erlang import agents_for_target

AHT_S = 180.0
TARGET = 0.8
THRESHOLD_S = 20.0
TRAFFICS = (10, 100, 1000, 5000)


def bench(traffic: float, max_occupancy: float | None, repeats: int) -> dict[str, object]:
    rate = traffic / AHT_S
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        result = agents_for_target(rate, AHT_S, TARGET, THRESHOLD_S, max_occupancy)
        times.append(time.perf_counter() - t0)
    times.sort()
    return {
        "traffic_erlangs": traffic,
        "max_occupancy": max_occupancy,
        "agents": result.agents,
        "service_level": round(result.service_level, 4),
        "median_ms": round(statistics.median(times) * 1000, 3),
        "p95_ms": round(times[int(0.95 * (len(times) - 1))] * 1000, 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=50)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    rows = [bench(a, cap, args.repeats) for cap in (None, 0.85) for a in TRAFFICS]
    if args.json:
        print(json.dumps(rows, indent=2))
        return
    print(f"agents_for_target, AHT {AHT_S:g} s, {TARGET:.0%} in {THRESHOLD_S:g} s, "
          f"{args.repeats} repeats")
    print(f"{'Erlangs':>8} {'cap':>5} {'agents':>7} {'SL':>7} {'median ms':>10} {'p95 ms':>8}")
    for r in rows:
        cap = "-" if r["max_occupancy"] is None else f"{r['max_occupancy']:.2f}"
        print(f"{r['traffic_erlangs']:>8} {cap:>5} {r['agents']:>7} {r['service_level']:>7.2%} "
              f"{r['median_ms']:>10.3f} {r['p95_ms']:>8.3f}")


if __name__ == "__main__":
    main()
