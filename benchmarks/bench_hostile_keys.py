"""Key latency while a source sends hostile data (issue #11): a huge arrival rate, and a
gzip bomb, each polled every 0.5 s by the running console (headless Pilot, 160x40).

Each scenario runs twice: "guarded" is today's code; "unguarded" switches the guards off
the way the code was before issue #11 (the exact Erlang search at any traffic; no cap on
the decompressed size of an answer), so the two figures compare like with like. Per key
press (switching screens: a, d, ...) it reports the median, p95 and max time until the
press was handled, and for the bomb the console's peak RSS.

    .venv/bin/python benchmarks/bench_hostile_keys.py [--presses 20] [--bomb-mib 512]
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import statistics
import sys
import tempfile
import time
import zlib
from datetime import timedelta
from pathlib import Path
from typing import Any

from _report import report
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from supervisor_tui.domain import erlang
from supervisor_tui.domain.model import Snapshot
from supervisor_tui.protocol.server import serve_in_thread
from supervisor_tui.sources.base import Source
from supervisor_tui.sources.http import HttpSettings, HttpSource
from supervisor_tui.store import Store
from supervisor_tui.ui.app import SupervisorApp
from tests.helpers import POLICY, T0, centre, make_config


class HugeArrivals(Source):
    """A trusted in-process source (no validation, like the simulator) whose sales queue
    is offered ``traffic`` Erlangs; a new snapshot every poll, so the board is rebuilt."""

    def __init__(self, traffic: float) -> None:
        super().__init__("pbx", POLICY)
        self.base = centre()
        self.traffic = traffic
        self.polls = 0

    async def snapshot(self) -> Snapshot:
        self.polls += 1
        now = T0 + timedelta(seconds=self.polls)
        stats = self.base.interval_stats["sales"]
        elapsed = (now - stats.window_start).total_seconds()
        aht = stats.handle_s / stats.handled
        offered = int(self.traffic / aht * elapsed)
        huge = stats.model_copy(update={"offered": offered})
        return self.base.model_construct(**{
            **dict(self.base), "taken_at": now,
            "interval_stats": {**self.base.interval_stats, "sales": huge},
            "day_stats": {**self.base.day_stats, "sales": huge}})


async def press_latencies(app: SupervisorApp, presses: int) -> list[float]:
    times: list[float] = []
    async with app.run_test(size=(160, 40)) as pilot:
        for _ in range(100):
            if app.board is not None:
                break
            await pilot.pause(0.1)
        await pilot.pause(1.0)
        keys = ["a", "d", "e", "d"]
        for i in range(presses):
            started = time.perf_counter()
            await pilot.press(keys[i % len(keys)])
            times.append(time.perf_counter() - started)
            await pilot.pause(0.2)
    return times


def summary(times: list[float]) -> dict[str, float]:
    ordered = sorted(times)
    return {"median_ms": round(statistics.median(ordered) * 1000),
            "p95_ms": round(ordered[int(0.95 * (len(ordered) - 1))] * 1000),
            "max_ms": round(ordered[-1] * 1000)}


def arrivals(traffic: float, presses: int, guarded: bool) -> dict[str, Any]:
    saved = erlang.MAX_EXACT_ERLANGS
    if not guarded:
        erlang.MAX_EXACT_ERLANGS = float("inf")
    try:
        with tempfile.TemporaryDirectory() as tmp:
            app = SupervisorApp(make_config(poll_interval_s=0.5, bell=False),
                                [HugeArrivals(traffic)],
                                store=Store.open(Path(tmp) / "s.db"), user="bench")
            times = asyncio.run(press_latencies(app, presses))
    finally:
        erlang.MAX_EXACT_ERLANGS = saved
    return summary(times)


def bomb_body(mib: int) -> bytes:
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)
    chunk = b" " * 2**20
    return b"".join(packer.compress(chunk) for _ in range(mib)) + packer.flush()


def bomb(mib: int, presses: int, guarded: bool) -> dict[str, Any]:
    body = bomb_body(mib)

    async def snapshot(request: Request) -> Response:
        return Response(body, headers={"Content-Encoding": "gzip",
                                       "Content-Type": "application/json"})

    with serve_in_thread(Starlette(routes=[Route("/v1/snapshot", snapshot)])) as url, \
            tempfile.TemporaryDirectory() as tmp:
        source = HttpSource("remote", POLICY, HttpSettings(url=url, timeout_s=30))
        if not guarded:
            source._client.max_bytes = None  # as before: the whole body, inflated
        app = SupervisorApp(make_config(poll_interval_s=0.5, bell=False), [source],
                            store=Store.open(Path(tmp) / "s.db"), user="bench")
        times = asyncio.run(press_latencies(app, presses))
        error = (app.state.health.get("remote").last_error or "") if app.state.health else ""
    return {**summary(times), "wire_kib": len(body) // 1024, "error": error[:90],
            "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--presses", type=int, default=20)
    parser.add_argument("--traffic", type=float, default=2e6,
                        help="Erlangs offered to one queue (a trusted source's garbage)")
    parser.add_argument("--bomb-mib", type=int, default=512)
    parser.add_argument("--only", choices=["arrivals", "bomb"])
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    results: dict[str, Any] = {}
    if args.only in (None, "arrivals"):
        for guarded in (False, True):
            name = f"arrivals_{'guarded' if guarded else 'unguarded'}"
            results[name] = arrivals(args.traffic, args.presses, guarded)
    if args.only in (None, "bomb"):
        # guarded first: ru_maxrss is a high-water mark for the whole process
        for guarded in (True, False):
            name = f"bomb_{'guarded' if guarded else 'unguarded'}"
            results[name] = bomb(args.bomb_mib, args.presses, guarded)
    report([{"case": name, **values} for name, values in results.items()], args.json)


if __name__ == "__main__":
    main()
