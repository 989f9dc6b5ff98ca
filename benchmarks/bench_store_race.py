"""Escalation take races across processes, on PostgreSQL and on SQLite: N processes
press "take" on the same escalation at the same moment (a barrier), ROUNDS times;
exactly one must win each round. Reports winners per round, how the wins spread over
the processes, and the time of one take as each process measured it (a transaction:
lock, read, write, notice; median and p95 over every take of every round) and of a
whole round (the slowest process of the round).

PostgreSQL: SUPERVISOR_TEST_PG_URL, else a throwaway server started like the tests'
(tests/pg_server.py: initdb + pg_ctl on loopback, stopped at the end).
Run: .venv/bin/python benchmarks/bench_store_race.py [PROCESSES] [ROUNDS]
"""

from __future__ import annotations

import statistics
import sys
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests import store_race_workers as workers


def race(where: Path | str, procs: int, rounds: int) -> dict[str, Any]:
    results, _ = workers.take_race(where, procs, rounds, "p", timeout_s=300)
    per_round = Counter(n for n, _, done, _, _ in results if done)
    bad = [n for n in range(rounds) if per_round.get(n, 0) != 1]
    takes = sorted(t for *_, t in results)
    slowest = [max(t for n, *_, t in results if n == r) for r in range(rounds)]
    wins = Counter(user for _, user, done, _, _ in results if done)
    return {
        "rounds": rounds, "processes": procs,
        "rounds with exactly one winner": rounds - len(bad),
        "wins per process": dict(sorted(wins.items())),
        "take median ms": round(statistics.median(takes) * 1000, 2),
        "take p95 ms": round(takes[int(0.95 * (len(takes) - 1))] * 1000, 2),
        "round (slowest take) median ms": round(statistics.median(slowest) * 1000, 2),
    }


def main() -> int:
    procs = int(sys.argv[1]) if len(sys.argv) > 1 else 8
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 200
    from tests import pg_server

    server = pg_server.start()
    try:
        url = pg_server.schema_url(server.url)
        with tempfile.TemporaryDirectory() as tmp:
            for name, where in (("postgresql", url), ("sqlite", Path(tmp) / "s.db")):
                print(f"{name}:")
                for key, value in race(where, procs, rounds).items():
                    print(f"  {key:34} {value}")
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
