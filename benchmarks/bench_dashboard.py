"""Dashboard at scale: a simulated centre of 1,000 queues and 10,000 agents polled every
second, headless at 200x60.

Measures, per poll, the time from the poll result arriving in the app to the screen
having been refreshed with it (``call_after_refresh``), the process CPU over the run
(simulator included: it runs in the same process, as it does for real), and the time
from start-up to the first screen with data.

    .venv/bin/python benchmarks/bench_dashboard.py [--queues 1000] [--agents 10000]
        [--seconds 30] [--screen dashboard|agents]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time

from supervisor_tui.app import SupervisorApp
from supervisor_tui.config import parse_config
from supervisor_tui.sim.config import scaled_centre
from supervisor_tui.sources.simulator import SimulatorSource
from supervisor_tui.store import Store


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, round(p / 100 * (len(values) - 1)))]


async def run(queues: int, agents: int, seconds: float, screen: str) -> None:
    started = time.perf_counter()  # start-up includes building and warming the centre
    config = parse_config({"console": {"timezone": "UTC", "poll_interval_s": 1.0}}, "bench")
    sim = scaled_centre(queues=queues, agents=agents)
    source = SimulatorSource("simulator", config.console.policy, sim)
    app = SupervisorApp(config, [source], store=Store.open(None))
    latencies: list[float] = []
    first_data: list[float] = []
    original = app.apply_poll

    def timed_apply(result):  # type: ignore[no-untyped-def]
        t0 = time.perf_counter()
        original(result)

        def painted() -> None:
            latencies.append((time.perf_counter() - t0) * 1000)
            if not first_data:
                first_data.append(time.perf_counter() - started)

        app.call_after_refresh(painted)

    app.apply_poll = timed_apply  # type: ignore[method-assign]
    async with app.run_test(size=(200, 60)) as pilot:
        if screen == "agents":
            await pilot.press("a")
        cpu0, wall0 = time.process_time(), time.perf_counter()
        await asyncio.sleep(seconds)
        cpu = time.process_time() - cpu0
        wall = time.perf_counter() - wall0
    steady = latencies[2:] or latencies
    print(f"centre: {queues} queues, {agents} agents, screen {screen}, 200x60, poll 1 s")
    print(f"polls painted: {len(latencies)} in {wall:.1f} s")
    print(f"poll -> painted ms: median {statistics.median(steady):.1f}, "
          f"p95 {pct(steady, 95):.1f}, max {max(steady):.1f}")
    print(f"process CPU: {cpu / wall * 100:.1f}% of one core (simulator included)")
    print(f"start-up to first data on screen: {first_data[0]:.2f} s (incl. simulator warm-up)")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--queues", type=int, default=1000)
    parser.add_argument("--agents", type=int, default=10000)
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--screen", choices=["dashboard", "agents"], default="dashboard")
    args = parser.parse_args()
    asyncio.run(run(args.queues, args.agents, args.seconds, args.screen))


if __name__ == "__main__":
    main()
