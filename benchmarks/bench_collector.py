"""The collector with 1 and with 100 consoles: upstream polls per minute, the
collector's CPU and RSS, and the delay from an upstream poll to the last console.

The collector is a real `supervisor-tui serve` process (the simulator, one poll a
second); the consoles are headless http sources in this process, each polled at once
when its event stream names a new version (as the console's poller does). Delay: the
snapshot's taken_at (the simulator's wall clock at the poll, speed 1) to the moment
the Nth console holds it. Run: .venv/bin/python benchmarks/bench_collector.py [SECONDS]
"""

from __future__ import annotations

import asyncio
import os
import socket
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx
from prometheus_client.parser import text_string_to_metric_families

from supervisor_tui.domain.intervals import IntervalPolicy
from supervisor_tui.sources.http.settings import HttpSettings
from supervisor_tui.sources.http.source import HttpSource

POLICY = IntervalPolicy(minutes=30, tz="UTC")
TICK = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")


def cpu_rss(pid: int) -> tuple[float, float]:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    cpu = (int(fields[11]) + int(fields[12])) / TICK
    rss = int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * PAGE / 2**20
    return cpu, rss


def polls(text: str) -> float:
    return sum(s.value for f in text_string_to_metric_families(text) for s in f.samples
               if s.name == "supervisor_tui_upstream_polls_total")


async def run(n: int, seconds: float) -> dict[str, float]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([sys.executable, "-m", "supervisor_tui", "serve", "--port",
                             str(port), "--poll-interval", "1"], stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    consoles: list[HttpSource] = []
    try:
        async with httpx.AsyncClient(base_url=base) as client:
            for _ in range(100):
                try:
                    if (await client.get("/v1/snapshot")).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                await asyncio.sleep(0.1)
            consoles = [HttpSource(f"c{i}", POLICY, HttpSettings(url=base)) for i in range(n)]
            for c in consoles:
                await c.snapshot()
            arrivals: dict[datetime, list[float]] = {}

            async def follow(c: HttpSource) -> None:
                while True:
                    assert c.pushed is not None
                    await c.pushed.wait()
                    c.pushed.clear()
                    snap = await c.snapshot()
                    arrivals.setdefault(snap.taken_at, []).append(time.time())

            tasks = [asyncio.create_task(follow(c)) for c in consoles]
            polls0, (cpu0, _) = polls((await client.get("/metrics")).text), cpu_rss(proc.pid)
            t0 = time.monotonic()
            await asyncio.sleep(seconds)
            elapsed = time.monotonic() - t0
            polls1, (cpu1, rss) = polls((await client.get("/metrics")).text), cpu_rss(proc.pid)
            for t in tasks:
                t.cancel()
        delays = [max(times) - taken.astimezone(UTC).timestamp()
                  for taken, times in arrivals.items() if len(times) == n]
        return {"consoles": n, "upstream_polls_per_min": (polls1 - polls0) / elapsed * 60,
                "collector_cpu_pct": (cpu1 - cpu0) / elapsed * 100, "collector_rss_mib": rss,
                "versions_to_all": len(delays),
                "delay_to_last_median_ms": statistics.median(delays) * 1000 if delays else -1,
                "delay_to_last_max_ms": max(delays) * 1000 if delays else -1}
    finally:
        for c in consoles:
            await c.close()
        proc.terminate()
        proc.wait(10)


async def main() -> None:
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 30.0
    for n in (1, 100):
        print(await run(n, seconds), flush=True)


if __name__ == "__main__":
    asyncio.run(main())
