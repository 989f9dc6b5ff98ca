"""The http source at scale: a 1,000-queue / 10,000-agent centre served by serve-sim in
another process, polled every second over loopback.

Two consoles are measured one after the other against the same server: one that asks
for deltas (``A-IM: snapshot-delta``, the http source's default), and, for comparison,
one that always gets the full snapshot (an old client: the header is stripped). Per poll
it times, in the console process: the whole ``HttpSource.snapshot()`` (request,
transfer, decode and validation, conversion to the domain model), the decode+validate
step alone (for a delta: applying it too), and the poller's merge, and counts the bytes
on the wire (gzip) and of JSON. Target (issue #5): parse + merge under 50 ms.

    .venv/bin/python benchmarks/bench_http_source.py [--polls 20] [--mode both]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import multiprocessing
import socket
import statistics
import time
from datetime import UTC, datetime
from typing import Any

import httpx
from _report import report

from supervisor_tui.domain.intervals import IntervalPolicy
from supervisor_tui.poller import merge
from supervisor_tui.sources.http.settings import HttpSettings
from supervisor_tui.sources.http.source import HttpSource

POLICY = IntervalPolicy(30, "UTC")


def serve(port: int, queues: int, agents: int) -> None:
    import uvicorn

    from supervisor_tui.protocol.server import ProtocolServer
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


def kb(values: list[int]) -> dict[str, float]:
    ordered = sorted(values)
    return {"median_kB": round(statistics.median(ordered) / 1000, 1),
            "p95_kB": round(ordered[int(0.95 * (len(ordered) - 1))] / 1000, 1)}


class OldClient(httpx.AsyncHTTPTransport):
    """A console from before deltas: it never sends ``A-IM``."""

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        request.headers.pop("A-IM", None)
        return await super().handle_async_request(request)


async def wait_for_server(port: int) -> None:
    deadline = time.monotonic() + 60
    async with httpx.AsyncClient() as client:
        while True:
            try:
                await client.get(f"http://127.0.0.1:{port}/v1/health")
                return
            except httpx.HTTPError:
                if time.monotonic() > deadline:
                    raise
                await asyncio.sleep(0.5)


async def bench(port: int, polls: int, deltas: bool) -> dict[str, Any]:
    source = HttpSource("centre", POLICY,
                        HttpSettings(type="http", url=f"http://127.0.0.1:{port}"),
                        transport=None if deltas else OldClient())
    decode: list[float] = []
    wire: list[int] = []
    json_bytes: list[int] = []
    changed: list[int] = []

    def timed(original: Any) -> Any:
        def run(response: httpx.Response, *args: Any) -> Any:
            started = time.perf_counter()
            try:
                return original(response, *args)
            finally:
                decode.append(time.perf_counter() - started)
                wire.append(response.num_bytes_downloaded)
                json_bytes.append(len(response.content))
        return run

    original_delta = source._decode_delta

    def counted_delta(response: httpx.Response, base: Any) -> Any:
        doc, centre = original_delta(response, base)
        changed.append(len(doc.queues) + len(doc.agents) + len(doc.contacts)
                       + len(doc.queues_removed) + len(doc.agents_removed)
                       + len(doc.contacts_removed))
        return doc, centre

    source._decode = timed(source._decode)  # type: ignore[method-assign]
    source._decode_delta = timed(counted_delta)  # type: ignore[method-assign]
    await source.snapshot()  # the first poll is full in both modes: not counted
    # Its ~100k objects were made with the collector paused; collecting them (once,
    # ~150 ms over three generations) would otherwise land in the first measured polls.
    gc.collect()
    await asyncio.sleep(1.0)
    decode.clear(), wire.clear(), json_bytes.clear(), changed.clear()
    whole: list[float] = []
    merges: list[float] = []
    request_s: list[float] = []
    statuses: list[int] = []
    for _ in range(polls):
        started = time.perf_counter()
        snap = await source.snapshot()
        whole.append(time.perf_counter() - started)
        stats = source.request_stats
        request_s.append(stats.latencies_ms[-1] / 1000 if stats else 0.0)
        statuses.append(stats.last_status or 0 if stats else 0)
        started = time.perf_counter()
        merge([snap], {})
        merges.append(time.perf_counter() - started)
        await asyncio.sleep(max(0.0, 1.0 - whole[-1]))
    await source.close()
    kinds = ", ".join(f"{statuses.count(s)}x{s}" for s in sorted(set(statuses)))
    result: dict[str, Any] = {
        "case": f"{'delta' if deltas else 'full'} path: {len(snap.queues)} queues, "
                f"{len(snap.agents)} agents, {len(snap.contacts)} contacts, {polls} polls "
                f"at 1 s ({kinds})",
        "bytes per poll, on the wire (gzip)": kb(wire),
        "bytes per poll, JSON": kb(json_bytes),
    }
    if changed:
        result["records per delta (changed + removed)"] = {
            "median": statistics.median(changed), "max": max(changed)}
    result |= {
        "snapshot() total": ms(whole),
        "request + transfer": ms(request_s),
        "decode+validate (+ apply for a delta)": ms(decode),
        "merge": ms(merges),
        "parse+merge (snapshot() - request + merge)": ms(
            [w - r + m for w, r, m in zip(whole, request_s, merges, strict=True)]),
    }
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--polls", type=int, default=20)
    parser.add_argument("--queues", type=int, default=1000)
    parser.add_argument("--agents", type=int, default=10000)
    parser.add_argument("--mode", choices=("both", "delta", "full"), default="both")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    port = free_port()
    ctx = multiprocessing.get_context("spawn")
    server = ctx.Process(target=serve, args=(port, args.queues, args.agents), daemon=True)
    server.start()
    results = []
    try:
        asyncio.run(wait_for_server(port))
        for deltas in {"both": (True, False), "delta": (True,), "full": (False,)}[args.mode]:
            results.append(asyncio.run(bench(port, args.polls, deltas)))
    finally:
        server.terminate()
        server.join(5)
    started = datetime.now(UTC).isoformat(timespec="seconds")
    for result in results:
        result["started"] = started
    report(results, args.json, width=44)


if __name__ == "__main__":
    main()
