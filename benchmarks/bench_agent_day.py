"""What each agent's day (handled, AHT, time per state) costs a poll, and its store write,
at 1,000 queues / 10,000 agents.

Per poll of a simulated centre (snapshots 1 s of source time apart, as a 1 s poll sees
them): ``AgentDayBook.observe`` over every agent (an identity test for the unchanged,
the bookkeeping for those who changed), and once a minute the store write of the agents
whose totals moved (``write_agent_days``, SQLite on disk, WAL). Also: the agent detail's
read of one agent's day, and the export's read of the whole day.

    .venv/bin/python benchmarks/bench_agent_day.py [--queues 1000] [--agents 10000] [--polls 120]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from _centre import polled_snapshots

from supervisor_tui.domain.agent_day import AgentDayBook
from supervisor_tui.store import Store
from supervisor_tui.store.agent_days import read_agent_days, rows_of, write_agent_days


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--queues", type=int, default=1000)
    parser.add_argument("--agents", type=int, default=10000)
    parser.add_argument("--polls", type=int, default=120)
    args = parser.parse_args()

    snaps = polled_snapshots(args.queues, args.agents, args.polls,
                             datetime(2026, 5, 5, 9, 0, tzinfo=UTC))
    book = AgentDayBook()
    first = snaps[0]
    t0 = time.perf_counter()
    book.observe(first.agents, first.taken_at, first.day_start)
    first_ms = (time.perf_counter() - t0) * 1000
    book.take_changed()
    observe: list[float] = []
    changed: list[int] = []
    for snap in snaps[1:]:
        t0 = time.perf_counter()
        book.observe(snap.agents, snap.taken_at, snap.day_start)
        observe.append((time.perf_counter() - t0) * 1000)
        changed.append(len(book._changed))
    keys = book.take_changed()  # a minute's worth (two at a 1 s poll) of changes
    with tempfile.TemporaryDirectory() as tmp:
        store = Store.open(Path(tmp) / "s.db")
        t0 = time.perf_counter()
        write_agent_days(store, rows_of(book, list(book.days), "2026-05-05"),
                         {"simulator": snaps[-1].taken_at.isoformat()}, "2026-05-05")
        first_write_ms = (time.perf_counter() - t0) * 1000
        t0 = time.perf_counter()
        rows = rows_of(book, keys, "2026-05-05")
        write_agent_days(store, rows, {"simulator": snaps[-1].taken_at.isoformat()},
                         "2026-05-05")
        write_ms = (time.perf_counter() - t0) * 1000
        t0 = time.perf_counter()
        day = read_agent_days(store, "2026-05-05")
        read_ms = (time.perf_counter() - t0) * 1000
        store.close()
    t0 = time.perf_counter()
    for key in list(book.days)[:1000]:
        book.days[key].seconds_now(snaps[-1].taken_at)
    detail_us = (time.perf_counter() - t0) * 1000
    print(f"{args.queues} queues / {args.agents} agents, {args.polls} polls 1 s apart")
    print(f"first poll (every agent new):   {first_ms:7.2f} ms")
    print(f"observe per poll:               median {statistics.median(observe):6.2f} ms, "
          f"p95 {sorted(observe)[int(len(observe) * 0.95)]:6.2f} ms "
          f"(median {statistics.median(changed):.0f} agents changed)")
    print(f"first store write ({len(book.days)} agents): {first_write_ms:7.2f} ms")
    print(f"store write of {len(keys):5d} changed:    {write_ms:7.2f} ms (once a minute)")
    print(f"read the whole day ({len(day)} rows): {read_ms:7.2f} ms (export, restart)")
    print(f"one agent's day for the detail: {detail_us:7.4f} ms")


if __name__ == "__main__":
    main()
