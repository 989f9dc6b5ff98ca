"""What the end-of-day report costs at a large centre: a day of 30-minute intervals for
N queues (default 1,000: 48,000 stored interval rows) and M escalation occurrences,
SQLite on disk (WAL). Times the store read and model build (``collect``) and each
renderer, and gives each output's size.

    .venv/bin/python benchmarks/bench_report.py [--queues 1000] [--escalations 5000]
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from supervisor_tui.domain.intervals import IntervalPolicy
from supervisor_tui.domain.model import SLFormula
from supervisor_tui.report import render
from supervisor_tui.report.collect import ReportSettings, collect
from supervisor_tui.store import INTERVAL_COUNTERS, Store
from supervisor_tui.store.escalation_log import ESCALATION_LOG, OccurrenceRow, read_escalations

DAY = date(2026, 11, 23)
START = datetime(2026, 11, 23, tzinfo=UTC)


def seed(db: Path, queues: int, escalations: int, rng: random.Random) -> int:
    store = Store.open(db)
    rows: list[dict[str, Any]] = []
    for q in range(queues):
        channel = ("voice", "chat", "email", "social")[q % 4]
        for i in range(48):
            answered = rng.randint(0, 60)
            abandoned = rng.randint(0, 6)
            rows.append(dict.fromkeys(INTERVAL_COUNTERS, 0) | {
                "queue_id": f"q{q:04d}", "interval_start": (
                    START + timedelta(minutes=30 * i)).isoformat(),
                "interval_minutes": 30, "channel": channel, "sl_target": 0.8,
                "threshold_s": 20.0 if channel != "email" else 3600.0,
                "agents_staffed_at_close": 5.0, "agents_needed_at_close": 5, "complete": 1,
                "offered": answered + abandoned, "answered": answered,
                "answered_within_threshold": rng.randint(0, answered),
                "abandoned": abandoned, "abandoned_after_threshold": abandoned // 2,
                "wait_answered_s": answered * 12.0, "handled": answered,
                "handle_s": answered * 300.0})
    store.record_intervals(rows, START, timedelta(days=3650))  # type: ignore[arg-type]
    read_escalations(store, START, START)  # (creates the table)
    columns = tuple(OccurrenceRow.__annotations__)
    marks = ", ".join("?" * len(columns))
    occ = []
    for e in range(escalations):
        first = START + timedelta(seconds=rng.randint(0, 86000))
        taken = first + timedelta(minutes=rng.randint(0, 30)) if e % 3 else None
        occ.append({"id": f"e{e}", "first_seen": first.isoformat(), "kind": "contact_wait",
                    "severity": "warning", "queue_id": f"q{e % queues:04d}", "source": "s",
                    "subject_type": "contact", "subject_id": f"c{e}", "label": f"c{e}",
                    "reason": "waiting", "began_earlier": 0, "cleared_at": None,
                    "ended": None, "acknowledged_by": None, "acknowledged_at": None,
                    "taken_by": "ann" if taken else None,
                    "taken_at": taken.isoformat() if taken else None,
                    "resolved_by": None, "resolved_at": None})
    store.db.executemany(f"insert into {ESCALATION_LOG} ({', '.join(columns)}) values ({marks})",
                         [[o[c] for c in columns] for o in occ])
    store.close()
    return len(rows)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--queues", type=int, default=1000)
    parser.add_argument("--escalations", type=int, default=5000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "s.db"
        n = seed(db, args.queues, args.escalations, random.Random(1))
        store = Store.open(db)
        settings = ReportSettings(IntervalPolicy(30, "UTC"),
                                  SLFormula.ANSWERED_AND_ABANDONED_AFTER, 10,
                                  {"half": [f"q{q:04d}" for q in range(0, args.queues, 2)]})
        t = time.perf_counter()
        report = collect(store, DAY, settings, now=START + timedelta(days=2))
        built = time.perf_counter() - t
        print(f"{args.queues} queues, {n} interval rows, {args.escalations} escalations")
        print(f"  read the store and build the model: {built * 1000:.0f} ms")
        for fmt in ("md", "html", "csv", "json"):
            t = time.perf_counter()
            text = render(report, fmt)
            took = time.perf_counter() - t
            print(f"  {fmt:>4}: {took * 1000:6.0f} ms, {len(text.encode()) / 1e6:6.1f} MB")
        store.close()


if __name__ == "__main__":
    main()
