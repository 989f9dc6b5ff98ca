"""What a version costs the collector at 5,000 queues / 50,000 agents: its full body
written from the JSON of unchanged records (``protocol/body.py``) against the document
serialised whole, and the cyclic GC held through each round (``gc_policy.py``).

Per version (the simulator moved on by one second, as at a 1 s poll): the version built
(``ProtocolServer.current``) and, within it, the body as the collector writes it; the same
body serialised whole (what it did before 2026-12-07; checked equal byte for byte); and
the settle after the round.

    .venv/bin/python benchmarks/bench_collector_body.py [--queues 5000] [--agents 50000]
        [--versions 15]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time

from supervisor_tui.config import parse_config
from supervisor_tui.protocol.collector import Collector
from supervisor_tui.protocol.documents import SnapshotDoc
from supervisor_tui.sim.config import scaled_centre
from supervisor_tui.sources.simulator import SimulatorSource


async def run(queues: int, agents: int, versions: int) -> None:
    config = parse_config({"console": {"timezone": "UTC", "poll_interval_s": 1.0}}, "bench")
    policy = config.console.policy
    source = SimulatorSource("simulator", policy, scaled_centre(queues=queues, agents=agents))
    collector = Collector([source], policy, interval_s=1.0)
    writer = collector.server._writer
    body_ms: list[float] = []
    write = writer.body

    def timed_body(doc: SnapshotDoc) -> bytes:
        t0 = time.perf_counter()
        out = write(doc)
        body_ms.append((time.perf_counter() - t0) * 1000)
        return out

    writer.body = timed_body  # type: ignore[method-assign]
    written: list[float] = []
    whole: list[float] = []
    settle: list[float] = []
    made: list[int] = []
    size = 0
    for n in range(versions + 1):
        await asyncio.sleep(1)  # the simulator's clock moves on
        collector._gc.begin()
        result = await collector.poller.poll_once()
        collector.source.take(result)
        collector.server.invalidate()
        t0 = time.perf_counter()
        cached = await collector.server.current()
        t1 = time.perf_counter()
        assert cached.doc is not None
        body = cached.doc.model_dump_json().encode()
        t2 = time.perf_counter()
        assert body == cached.body
        collector._gc.hold()
        collector._gc.settle()
        t3 = time.perf_counter()
        if n:  # the first version writes every record
            written.append((t1 - t0) * 1000)
            whole.append((t2 - t1) * 1000)
            settle.append((t3 - t2) * 1000)
            made.append(writer.made)
        size = len(body)

    def show(values: list[float]) -> str:
        return f"median {statistics.median(values):.0f} ms, max {max(values):.0f}"

    print(f"{queues} queues / {agents} agents, {versions} versions, body {size / 1e6:.1f} MB")
    print(f"  a version built (the source read, the body, its ETag, the records by id): "
          f"{show(written)}")
    print(f"  of which the body written (records made again: median "
          f"{statistics.median(made):.0f}): {show(body_ms[1:])}")
    print(f"  the same body serialised whole (before): {show(whole)}")
    print(f"  settle after the round (young GC, freeze): {show(settle)}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--queues", type=int, default=5000)
    parser.add_argument("--agents", type=int, default=50000)
    parser.add_argument("--versions", type=int, default=15)
    args = parser.parse_args()
    asyncio.run(run(args.queues, args.agents, args.versions))


if __name__ == "__main__":
    main()
