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

from supervisor_tui.config import parse_config
from supervisor_tui.sim.config import scaled_centre
from supervisor_tui.sources.simulator import SimulatorSource
from supervisor_tui.store import Store
from supervisor_tui.ui.app import SupervisorApp


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, round(p / 100 * (len(values) - 1)))]


async def run(queues: int, agents: int, seconds: float, screen: str,
              occupancy: float | None) -> None:
    started = time.perf_counter()  # start-up includes building and warming the centre
    config = parse_config({"console": {"timezone": "UTC", "poll_interval_s": 1.0}}, "bench")
    sim = (scaled_centre(queues=queues, agents=agents) if occupancy is None
           else scaled_centre(queues=queues, agents=agents, occupancy=occupancy))
    source = SimulatorSource("simulator", config.console.policy, sim)
    app = SupervisorApp(config, [source], store=Store.open(None))
    latencies: list[float] = []
    first_data: list[float] = []
    original = app.apply_poll

    def timed_apply(result):  # type: ignore[no-untyped-def]
        t0 = time.perf_counter()

        def painted() -> None:
            latencies.append((time.perf_counter() - t0) * 1000)
            if not first_data:
                first_data.append(time.perf_counter() - started)

        # Registered first so it fires at the refresh that shows this poll, before the
        # escalation pass the app schedules after that same refresh.
        app.call_after_refresh(painted)
        original(result)

    app.apply_poll = timed_apply  # type: ignore[method-assign]
    async with app.run_test(size=(200, 60)) as pilot:
        if screen == "agents":
            await pilot.press("a")
        cpu0, wall0 = time.process_time(), time.perf_counter()
        await asyncio.sleep(seconds)
        cpu = time.process_time() - cpu0
        wall = time.perf_counter() - wall0
    steady = latencies[2:] or latencies
    print(f"centre: {queues} queues, {agents} agents (occupancy {occupancy or 'default'}), "
          f"screen {screen}, 200x60, poll 1 s")
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
    parser.add_argument("--occupancy", type=float, help="offered load per agent (0-1)")
    args = parser.parse_args()
    asyncio.run(run(args.queues, args.agents, args.seconds, args.screen, args.occupancy))


if __name__ == "__main__":
    main()
