"""What schedule adherence costs a poll at 1,000 queues / 10,000 agents, every agent
scheduled (a 4-segment day each: open, break, open, lunch...).

Per poll of a simulated centre (snapshots 1 s of source time apart): ``observe`` (an
identity test for unchanged agents, a closed span for those who changed), ``figures``
(everyone's adherence now with centre and team totals: once per poll, read by every
screen), the escalation rule; and once a minute the store write of everyone's figures
so far (``write_adherence``, SQLite on disk, WAL) and the read a restarted console does.

    .venv/bin/python benchmarks/bench_adherence.py [--queues 1000] [--agents 10000] [--polls 60]
"""

from __future__ import annotations

import argparse
import gc
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from _centre import polled_snapshots

from supervisor_tui.domain.adherence import AdherenceBook, adherence_escalations
from supervisor_tui.domain.schedule import Expected, ScheduleEntry
from supervisor_tui.store import Store
from supervisor_tui.store.schedules import read_adherence, write_adherence


def schedule_for(agent_ids: list[str], day: datetime) -> list[ScheduleEntry]:
    out: list[ScheduleEntry] = []
    for n, aid in enumerate(agent_ids):
        start = day + timedelta(hours=7, minutes=(n % 8) * 15)
        for offset, length, activity, exp in ((0, 150, "Open", Expected.ON_DUTY),
                                              (150, 15, "Break", Expected.AWAY),
                                              (165, 120, "Open", Expected.ON_DUTY),
                                              (285, 30, "Lunch", Expected.AWAY),
                                              (315, 165, "Open", Expected.ON_DUTY)):
            out.append(ScheduleEntry(aid, start + timedelta(minutes=offset),
                                     start + timedelta(minutes=offset + length), activity,
                                     exp))
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--queues", type=int, default=1000)
    parser.add_argument("--agents", type=int, default=10000)
    parser.add_argument("--polls", type=int, default=60)
    args = parser.parse_args()

    day = datetime(2026, 5, 5, tzinfo=UTC)
    snaps = polled_snapshots(args.queues, args.agents, args.polls, day + timedelta(hours=9))
    book = AdherenceBook(grace_s=300)
    entries = schedule_for([a.id for a in snaps[0].agents], day)
    t0 = time.process_time()
    book.set_schedule(entries)
    load_ms = (time.process_time() - t0) * 1000
    first = snaps[0]
    t0 = time.process_time()
    book.observe(first.agents, first.taken_at, first.day_start)
    first_ms = (time.process_time() - t0) * 1000
    observe: list[float] = []
    figures: list[float] = []
    rule: list[float] = []
    previous: dict = {}
    now = None
    gc.freeze()  # as the console does after its first poll: start-up objects stay out
    clock = time.process_time  # CPU time: what a poll costs, not what other work took
    for snap in snaps[1:]:
        t0 = clock()
        book.observe(snap.agents, snap.taken_at, snap.day_start)
        t1 = clock()
        now = book.figures(snap.taken_at)
        t2 = clock()
        escs = adherence_escalations(now, book, 600, previous)
        previous = {e.id: e for e in escs}
        t3 = clock()
        observe.append((t1 - t0) * 1000)
        figures.append((t2 - t1) * 1000)
        rule.append((t3 - t2) * 1000)
    assert now is not None
    with tempfile.TemporaryDirectory() as tmp:
        store = Store.open(Path(tmp) / "s.db")
        write_adherence(store, "2026-05-05", book.checkpoints())
        t0 = time.perf_counter()
        write_adherence(store, "2026-05-05", book.checkpoints())
        write_ms = (time.perf_counter() - t0) * 1000
        t0 = time.perf_counter()
        saved = read_adherence(store, "2026-05-05")
        read_ms = (time.perf_counter() - t0) * 1000
        store.close()

    def med(xs: list[float]) -> str:
        return (f"median {statistics.median(xs):6.2f} ms, "
                f"p95 {sorted(xs)[int(len(xs) * 0.95)]:6.2f} ms")

    print(f"{args.queues} queues / {args.agents} agents, all scheduled, {args.polls} polls "
          "1 s apart (per poll: CPU time)")
    print(f"load the schedule ({len(book._by_label)} agents): {load_ms:7.2f} ms")
    print(f"first poll (every agent matched): {first_ms:7.2f} ms")
    print(f"observe per poll:   {med(observe)}")
    print(f"figures per poll:   {med(figures)}  (centre {now.centre.percent or 0:.1f}%, "
          f"{now.centre.out_now} out now)")
    print(f"escalation rule:    {med(rule)}  ({len(previous)} escalations)")
    print(f"store write of {len(saved)} agents: {write_ms:7.2f} ms (once a minute)")
    print(f"read them back:     {read_ms:7.2f} ms (a restart)")


if __name__ == "__main__":
    main()
