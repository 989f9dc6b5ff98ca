"""Wall mode for hours: does memory stay flat?

Runs the wall (headless, 200x60) on the built-in simulator at high speed, starting late
in the evening so the run crosses midnight and many interval boundaries, while the
source drops out now and then (stale banner on and off) and the terminal is resized
between wall and SSH sizes. Every N polls it samples the resident set size (from
/proc/self/statm: no psutil) and what tracemalloc holds, and at the end prints a table,
the allocation sites that grew most, and whether memory stayed flat after warm-up.

    .venv/bin/python benchmarks/bench_wall_memory.py [--speed 90] [--minutes 2.5]
        [--poll 0.5] [--sample-every 20] [--start 2026-11-22T22:30] [--no-tracemalloc]

The default run takes about 2.5 minutes of wall time for ~3.75 simulated hours.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import time
import tracemalloc
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from supervisor_tui.config import parse_config
from supervisor_tui.domain.model import Snapshot
from supervisor_tui.poller import PollResult
from supervisor_tui.sources.base import SourceError
from supervisor_tui.sources.simulator import SimulatorSource
from supervisor_tui.store import Store
from supervisor_tui.ui.app import SupervisorApp
from supervisor_tui.ui.screens.wall import WallScreen

PAGE = os.sysconf("SC_PAGE_SIZE")
MIB = 1024 * 1024
SIZES = [(200, 60), (80, 24), (160, 45), (120, 40)]


def rss_bytes() -> int:
    """Resident set size: the second field of /proc/self/statm, in pages."""
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * PAGE


@dataclass
class Sample:
    wall_s: float
    polls: int
    centre: datetime | None
    rss: int  # less tracemalloc's own bookkeeping, which is not the app's
    traced: int
    nodes: int
    view: str
    stale: bool
    escalations: int


class Outages:
    """Makes the source fail for ``length_s`` every ``every_s`` (wall seconds)."""

    def __init__(self, source: SimulatorSource, every_s: float, length_s: float) -> None:
        self.every_s, self.length_s = every_s, length_s
        self.started = time.perf_counter()
        self.count = 0
        self._was_down = False
        real = source.snapshot

        async def snapshot() -> Snapshot:
            if self.down():
                raise SourceError("benchmark outage: connection refused")
            return await real()

        source.snapshot = snapshot  # type: ignore[method-assign]

    def down(self) -> bool:
        phase = (time.perf_counter() - self.started) % self.every_s
        down = phase > self.every_s - self.length_s
        if down and not self._was_down:
            self.count += 1
        self._was_down = down
        return down


def area(filename: str) -> str:
    """Where an allocation site lives: the simulator's state is the simulated centre
    (a backlog of emails grows over the day), not the wall."""
    if "/supervisor_tui/sim/" in filename or filename.endswith("sources/simulator.py"):
        return "simulator"
    if "/supervisor_tui/" in filename:
        return "supervisor_tui"
    if "/textual/" in filename or "/rich/" in filename:
        return "textual+rich"
    return "other"


def slope_per_hour(samples: list[Sample]) -> float:
    """Least-squares RSS growth, MiB per simulated hour."""
    points = [((s.centre - samples[0].centre).total_seconds() / 3600, s.rss / MIB)
              for s in samples if s.centre is not None and samples[0].centre is not None]
    if len(points) < 2:
        return 0.0
    n = len(points)
    mx = sum(x for x, _ in points) / n
    my = sum(y for _, y in points) / n
    var = sum((x - mx) ** 2 for x, _ in points)
    return sum((x - mx) * (y - my) for x, y in points) / var if var else 0.0


async def run(args: argparse.Namespace) -> int:
    tmp = tempfile.TemporaryDirectory()
    config = parse_config({
        "console": {"timezone": "UTC", "poll_interval_s": args.poll},
        "simulator": {"speed": args.speed, "start": args.start, "seed": 7},
        "wall": {"rotate_s": args.rotate, "stale_after_s": args.stale_after},
    }, "bench")
    source = SimulatorSource("simulator", config.console.policy, config.simulator)
    outages = Outages(source, every_s=args.outage_every, length_s=args.outage_length)
    # A file, as on a real wall PC: history goes to disk, not into this process.
    app = SupervisorApp(config, [source], store=Store.open(Path(tmp.name) / "wall.db"),
                        wall=True)
    polls = 0
    days: set[datetime] = set()
    intervals: set[datetime] = set()
    original = app.apply_poll

    def counted(result: PollResult) -> None:
        nonlocal polls
        original(result)
        polls += 1
        if result.snapshot is not None:
            days.add(result.snapshot.day_start)
            intervals.add(result.snapshot.interval_start)

    app.apply_poll = counted  # type: ignore[method-assign]
    samples: list[Sample] = []
    baseline_snapshot: tracemalloc.Snapshot | None = None
    started = time.perf_counter()
    async with app.run_test(size=SIZES[0]) as pilot:
        next_sample = args.sample_every
        next_resize = args.resize_every
        resized = 0
        while time.perf_counter() - started < args.minutes * 60:
            await asyncio.sleep(0.25)
            elapsed = time.perf_counter() - started
            if elapsed >= next_resize:
                resized += 1
                await pilot.resize_terminal(*SIZES[resized % len(SIZES)])
                next_resize += args.resize_every
            if polls < next_sample:
                continue
            next_sample += args.sample_every
            if args.tracemalloc and not tracemalloc.is_tracing() and len(samples) >= 1:
                # Start tracing after the first sample: start-up allocations are not growth.
                # One frame: enough to group by line, and far less overhead than ten.
                tracemalloc.start(1)
                baseline_snapshot = tracemalloc.take_snapshot()
            screen = app.screen
            samples.append(Sample(
                wall_s=elapsed, polls=polls,
                centre=app.board.taken_at if app.board else None,
                rss=rss_bytes() - tracemalloc.get_tracemalloc_memory(),
                traced=tracemalloc.get_traced_memory()[0] if tracemalloc.is_tracing() else 0,
                nodes=len(screen.query("*")),
                view=screen.current_view if isinstance(screen, WallScreen) else "?",
                stale=screen.has_class("-wall-stale"),
                escalations=len(app.escalations)))
        final_snapshot = tracemalloc.take_snapshot() if tracemalloc.is_tracing() else None
        problem = app.state.problem
    tracemalloc.stop()
    tmp.cleanup()
    return report(args, samples, polls, days, intervals, outages.count, resized,
                  baseline_snapshot, final_snapshot, problem)


def report(args: argparse.Namespace, samples: list[Sample], polls: int, days: set[datetime],
           intervals: set[datetime], outages: int, resizes: int,
           base: tracemalloc.Snapshot | None, final: tracemalloc.Snapshot | None,
           problem: str | None) -> int:
    print(f"wall mode, simulator at speed {args.speed:g}, poll {args.poll:g} s, rotate "
          f"{args.rotate:g} s, {args.minutes:g} min wall time")
    print(f"{'#':>3} {'wall s':>7} {'polls':>6} {'centre time':>16} {'RSS MiB':>8} "
          f"{'traced MiB':>10} {'nodes':>6} {'esc':>5} {'stale':>5}  view")
    for i, s in enumerate(samples):
        centre = f"{s.centre:%m-%d %H:%M}" if s.centre else "—"
        print(f"{i:>3} {s.wall_s:>7.1f} {s.polls:>6} {centre:>16} {s.rss / MIB:>8.1f} "
              f"{s.traced / MIB:>10.2f} {s.nodes:>6} {s.escalations:>5} "
              f"{'yes' if s.stale else '':>5}  {s.view}")
    sim_hours = 0.0
    if len(samples) >= 2 and samples[0].centre and samples[-1].centre:
        sim_hours = (samples[-1].centre - samples[0].centre).total_seconds() / 3600
    print(f"\npolls: {polls}; simulated: {sim_hours:.2f} h after the first sample; "
          f"days seen: {len(days)} (midnight crossed: {'yes' if len(days) > 1 else 'NO'}); "
          f"intervals seen: {len(intervals)}; outages: {outages}; resizes: {resizes}")
    if final is not None and base is not None:
        stats = final.compare_to(base, "lineno")
        print("\ntop allocation growth since tracing began:")
        for stat in stats[:8]:
            print(f"  {stat.size_diff / 1024:+9.1f} KiB {stat.count_diff:+7d} blocks  "
                  f"{stat.traceback[0]}")
        by_area: dict[str, int] = {}
        for stat in stats:
            by_area[area(str(stat.traceback[0].filename))] = (
                by_area.get(area(str(stat.traceback[0].filename)), 0) + stat.size_diff)
        print("  by area: " + ", ".join(f"{name} {size / 1024:+.0f} KiB" for name, size
                                        in sorted(by_area.items(), key=lambda kv: -kv[1])))
    # Warm-up: the first half (caches fill, first escalations, every size seen once).
    steady = samples[len(samples) // 2:]
    if len(steady) < 2:
        print("\ntoo few samples for a verdict: run longer or sample more often")
        return 1
    growth = (steady[-1].rss - steady[0].rss) / MIB
    traced_growth = (steady[-1].traced - steady[0].traced) / MIB
    slope = slope_per_hour(steady)
    limit = max(4.0, steady[0].rss / MIB * 0.03)
    flat = growth <= limit and slope <= limit / max(sim_hours, 1.0)
    print(f"\nafter warm-up: RSS {steady[0].rss / MIB:.1f} -> {steady[-1].rss / MIB:.1f} MiB "
          f"({growth:+.1f} MiB, trend {slope:+.2f} MiB per simulated hour); traced "
          f"{traced_growth:+.2f} MiB; DOM nodes {steady[0].nodes} -> {steady[-1].nodes}")
    if problem:
        print(f"app problem at the end: {problem}")
    print(f"memory {'stayed FLAT' if flat else 'GREW'} (limit {limit:.1f} MiB)")
    return 0 if flat else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--speed", type=float, default=90.0, help="simulated s per wall s")
    parser.add_argument("--minutes", type=float, default=2.5, help="wall-clock minutes")
    parser.add_argument("--poll", type=float, default=0.5, help="poll interval, wall s")
    parser.add_argument("--rotate", type=float, default=4.0, help="wall rotate_s")
    parser.add_argument("--stale-after", type=float, default=3.0, help="wall stale_after_s")
    parser.add_argument("--sample-every", type=int, default=20, help="polls between samples")
    parser.add_argument("--resize-every", type=float, default=15.0, help="wall s")
    # Short outages: the poller backs off exponentially, so a long one would leave the
    # run mostly without polls.
    parser.add_argument("--outage-every", type=float, default=50.0, help="wall s")
    parser.add_argument("--outage-length", type=float, default=4.0, help="wall s")
    parser.add_argument("--start", default="2026-11-22T22:30:00",
                        help="simulated start (late evening: the run crosses midnight)")
    parser.add_argument("--no-tracemalloc", dest="tracemalloc", action="store_false",
                        help="RSS only (tracemalloc slows allocation-heavy code)")
    return asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    raise SystemExit(main())
