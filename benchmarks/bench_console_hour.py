"""What a console holds after an hour of a large centre: its books, not its screens.

The console's state (``ConsoleState``: the board, the index, rolling windows, the gold/VIP
book, each agent's day, the FCR contact log, trends, escalations) is fed a simulated
centre polled every ``--poll`` seconds of source time for ``--minutes`` minutes, without
Textual, so an hour takes minutes. Every ``--every`` simulated minutes it prints the
process's resident set and what each book holds beyond the live snapshot (its own
objects, walked with ``gc.get_referents``), so growth shows where it is:

- a book that follows the live centre stays flat;
- rolling windows grow until their longest window (60 min) is covered, then stay;
- each agent's day grows until every agent has HISTORY_KEPT changes, then stays;
- the FCR contact log grows with every identified contact of the day (by design: a
  repeat within ``fcr_window_h`` (24 h) can come at any time of the day).

    .venv/bin/python benchmarks/bench_console_hour.py [--queues 5000] [--agents 50000]
        [--minutes 60] [--poll 5] [--every 15]
"""

from __future__ import annotations

import argparse
import gc
import sys
import time
import types
from datetime import UTC, datetime, timedelta
from typing import Any

from supervisor_tui.config import parse_config
from supervisor_tui.sim.config import scaled_centre
from supervisor_tui.sim.engine import Engine
from supervisor_tui.sources.simulator import SnapshotBuilder
from supervisor_tui.ui.state import ConsoleState

BOOKS = ("rolling", "vendors", "agent_book", "surveys", "indexer", "trends", "tracker",
         "board")


_SKIP = (type, types.FunctionType, types.MethodType, types.ModuleType,
         types.BuiltinFunctionType, types.CodeType)


def rss_mib() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096 / 2**20


def held(obj: Any, seen: set[int]) -> int:
    """Bytes of ``obj`` and what it references, less what ``seen`` already holds."""
    total, stack = 0, [obj]
    while stack:
        o = stack.pop()
        if id(o) in seen or isinstance(o, _SKIP):  # code and classes: not the book's data
            continue
        seen.add(id(o))
        total += sys.getsizeof(o)
        stack.extend(gc.get_referents(o))
    return total


def census(state: ConsoleState) -> dict[str, float]:
    gc.collect()
    seen: set[int] = set()
    assert state.board is not None
    out = {"snapshot": held(state.board.snapshot, seen) / 2**20}
    for name in BOOKS:
        out[name] = held(getattr(state, name), seen) / 2**20
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--queues", type=int, default=5000)
    parser.add_argument("--agents", type=int, default=50000)
    parser.add_argument("--minutes", type=float, default=60)
    parser.add_argument("--poll", type=float, default=5.0, help="source seconds per poll")
    parser.add_argument("--every", type=float, default=15, help="minutes between reports")
    args = parser.parse_args()

    config = parse_config({"console": {"timezone": "UTC"}}, "bench")
    policy = config.console.policy
    start = datetime(2026, 12, 7, 8, 0, tzinfo=UTC)
    engine = Engine(scaled_centre(queues=args.queues, agents=args.agents), policy, start)
    engine.advance(start + timedelta(minutes=30))  # a warm centre
    builder = SnapshotBuilder(engine, "simulator")
    now = [engine.now_dt]
    state = ConsoleState(config, [], None, clock=lambda: now[0], monotonic=time.monotonic)
    print(f"{args.queues} queues / {args.agents} agents, a poll every {args.poll:g} s of "
          f"source time for {args.minutes:g} min")
    print(f"{'min':>5} {'RSS MiB':>8} " + " ".join(f"{n:>10}" for n in ("snapshot", *BOOKS)))
    polls = round(args.minutes * 60 / args.poll)
    report_every = round(args.every * 60 / args.poll)
    t0 = time.perf_counter()
    for i in range(polls + 1):
        if i:
            now[0] += timedelta(seconds=args.poll)
            engine.advance(now[0])
        state.take_snapshot(builder.build())
        state.catch_up()  # as the app does once the poll is painted
        if i % report_every == 0:
            sizes = census(state)
            print(f"{i * args.poll / 60:5.0f} {rss_mib():8.0f} "
                  + " ".join(f"{sizes[n]:10.1f}" for n in ("snapshot", *BOOKS)), flush=True)
    print(f"({time.perf_counter() - t0:.0f} s of wall time; book sizes in MiB)")


if __name__ == "__main__":
    main()
