"""The http source at scale: a 1,000-queue / 10,000-agent centre served by serve-sim in
another process, polled every second over loopback.

Per poll it times, in the console process: the whole ``HttpSource.snapshot()`` (request,
transfer, decode and validation, conversion to the domain model), the decode+validate
step alone, and the poller's merge. Target (issue #5): parse + merge under 50 ms.

    .venv/bin/python benchmarks/bench_http_source.py [--polls 20]
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import socket
import statistics
import time
from datetime import UTC, datetime

from _report import report

from supervisor_tui.intervals import IntervalPolicy
from supervisor_tui.poller import merge
from supervisor_tui.sources.http import HttpSettings, HttpSource

POLICY = IntervalPolicy(30, "UTC")


def serve(port: int, queues: int, agents: int) -> None:
    import uvicorn

    from supervisor_tui.serve_sim import ProtocolServer
    from supervisor_tui.sim.config import scaled_centre
    from supervisor_tui.sources.simulator import SimulatorSource

    source = SimulatorSource("simulator", POLICY, scaled_centre(queues, agents))
    uvicorn.run(ProtocolServer(source).app, host="127.0.0.1", port=port, log_level="error")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def ms(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    return {"median_ms": round(statistics.median(ordered) * 1000, 1),
            "p95_ms": round(ordered[int(0.95 * (len(ordered) - 1))] * 1000, 1),
            "max_ms": round(ordered[-1] * 1000, 1)}


async def bench(port: int, polls: int) -> dict[str, object]:
    source = HttpSource("centre", POLICY, HttpSettings(type="http",
                                                       url=f"http://127.0.0.1:{port}"))
    decode: list[float] = []
    original = source._decode

    def timed_decode(response):  # type: ignore[no-untyped-def]
        started = time.perf_counter()
        try:
            return original(response)
        finally:
            decode.append(time.perf_counter() - started)

    source._decode = timed_decode  # type: ignore[method-assign]
    whole, merges, request_ms = [], [], []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:  # wait for the server's first snapshot
        try:
            await source.snapshot()
            break
        except Exception:
            await asyncio.sleep(0.5)
    decode.clear()
    for _ in range(polls):
        started = time.perf_counter()
        snap = await source.snapshot()
        whole.append(time.perf_counter() - started)
        request_ms.append(int(source.request_stats.latencies_ms[-1]) if source.request_stats else 0)
        started = time.perf_counter()
        merge([snap], {})
        merges.append(time.perf_counter() - started)
        await asyncio.sleep(max(0.0, 1.0 - whole[-1]))
    await source.close()
    return {"case": f"http source: {len(snap.queues)} queues, {len(snap.agents)} agents, "
                    f"{len(snap.contacts)} contacts, {polls} polls at 1 s",
            "snapshot() total": ms(whole), "decode+validate": ms(decode),
            "merge": ms(merges),
            "parse+merge (decode + to_snapshot + merge)": ms(
                [w - (r / 1000) + m for w, r, m in zip(whole, request_ms, merges, strict=True)])}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--polls", type=int, default=20)
    parser.add_argument("--queues", type=int, default=1000)
    parser.add_argument("--agents", type=int, default=10000)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    port = free_port()
    ctx = multiprocessing.get_context("spawn")
    server = ctx.Process(target=serve, args=(port, args.queues, args.agents), daemon=True)
    server.start()
    try:
        result = asyncio.run(bench(port, args.polls))
    finally:
        server.terminate()
        server.join(5)
    result["started"] = datetime.now(UTC).isoformat(timespec="seconds")
    report([result], args.json, width=44)


if __name__ == "__main__":
    main()
