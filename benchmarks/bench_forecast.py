"""Forecast benchmark: parsing a day's forecast file and the intraday view's forecast.

Run: ``.venv/bin/python benchmarks/bench_forecast.py [--queues N] [--repeats N] [--json]``

- parse: a CSV of every queue's 48 half-hour intervals (what ``forecast import`` reads);
- view: required agents for every interval of a channel group of all those queues
  (``view_forecast``: one Erlang C search per queue and interval, kept in the day's
  forecast; the intraday screen sums them once per view and interval, not per poll);
- projection: one queue's projected day SL (per poll on a queue's intraday view).
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from _report import report

from supervisor_tui.domain.board import build_board
from supervisor_tui.domain.forecast import (
    ForecastDay,
    board_projection,
    parse,
    view_forecast,
)
from supervisor_tui.domain.model import Channel, Queue, QueueStats, Snapshot

DAY = datetime(2026, 11, 22, tzinfo=UTC)


def timed(fn: Callable[[], Any], repeats: int) -> tuple[Any, float, float]:
    times = []
    out = None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    times.sort()
    return out, statistics.median(times) * 1000, times[int(0.95 * (len(times) - 1))] * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--queues", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    ids = [f"q{i:04d}" for i in range(args.queues)]
    lines = ["queue,start,contacts,aht,scheduled"]
    for q in ids:
        for i in range(48):
            start = DAY + timedelta(minutes=30 * i)
            lines.append(f"{q},{start:%Y-%m-%d %H:%M},{20 + i % 40},{180 + i},{8 + i % 10}")
    text = "\n".join(lines) + "\n"
    parsed, parse_ms, parse_p95 = timed(lambda: parse(
        text, zone=ZoneInfo("UTC"), interval_minutes=30, known_queues=ids), args.repeats)
    queues = tuple(Queue(id=q, name=q, channel=Channel.VOICE, sl_target=0.8, threshold_s=20,
                         source="bench") for q in ids)
    now = DAY + timedelta(hours=10, minutes=10)
    stats = {q: QueueStats(queue_id=q, window_start=DAY, offered=300, answered=290,
                           answered_within_threshold=240, abandoned=10,
                           abandoned_after_threshold=5, handled=290, handle_s=290 * 200)
             for q in ids}
    snap = Snapshot(taken_at=now, interval_start=DAY + timedelta(hours=10), day_start=DAY,
                    queues=queues, interval_stats=stats, day_stats=stats, agents=(),
                    contacts=())
    board = build_board(snap)
    _, first_ms, first_p95 = timed(lambda: view_forecast(ForecastDay(parsed.rows), board.rows,
                                                          30), args.repeats)
    day = ForecastDay(parsed.rows)
    view_forecast(day, board.rows, 30)
    fc, view_ms, view_p95 = timed(lambda: view_forecast(day, board.rows, 30), args.repeats)
    row = board.rows[0]
    _, proj_ms, proj_p95 = timed(lambda: board_projection(day, row, now, None),
                                 args.repeats * 20)
    report([
        {"case": f"parse {len(parsed.rows)} rows ({args.queues} queues x 48)",
         "median_ms": round(parse_ms, 1), "p95_ms": round(parse_p95, 1),
         "rejected": len(parsed.errors)},
        {"case": f"view_forecast, first (required agents computed), {args.queues} queues",
         "median_ms": round(first_ms, 1), "p95_ms": round(first_p95, 1)},
        {"case": f"view_forecast again (each new interval), {args.queues} queues x 48",
         "median_ms": round(view_ms, 1), "p95_ms": round(view_p95, 1),
         "intervals": len(fc)},
        {"case": "board_projection, one queue (per poll)",
         "median_ms": round(proj_ms, 3), "p95_ms": round(proj_p95, 3)},
    ], args.json)


if __name__ == "__main__":
    main()
