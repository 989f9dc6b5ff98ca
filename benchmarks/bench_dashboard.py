"""The console at scale: simulated centres polled every second, headless at 200x60.

By default one run measures 1,000 queues / 10,000 agents and 5,000 queues / 50,000
agents, each on the dashboard and on the agents screen (four fresh processes, so start-up
and memory are each configuration's own; each opens on the screen it measures, as
``supervisor-tui --screen agents``), and prints the 50k/10k ratios of the same run.
Per configuration:

- poll -> painted: from the poll result arriving in the app to the screen having been
  refreshed with it (``call_after_refresh``): the console's cost. The source's own cost
  (the simulator advancing and building its snapshot, in the same process and event
  loop, as it runs for real) is measured apart: ``source ms``.
- after paint: the escalation rules, the collector's pass and saving (history, the
  agents' day figures) that follow each paint.
- changed per poll: agents and contacts that are new objects since the last poll (what
  a change-proportional console has to read), and the objects the console's index read
  (``IndexBuilder.reads``: new ones and those they replaced), a measure that does not
  depend on the machine's load.
- first data: process start to the first screen with data (simulator warm-up included;
  with ``--remote`` the collector is up and serving before the console starts, as a
  deployed one is, and the console sends its first read before importing its screens,
  as ``supervisor-tui`` does), and the console's part of it: from the app's start, less the
  source's own polls. The package's bytecode is compiled first, as an installed console
  has it from its second start on; a start that compiles every module from source (the
  first after installing, or with ``PYTHONDONTWRITEBYTECODE`` set and nothing compiled)
  takes ~0.3 s more. One start is one sample of a figure the machine moves by a fifth:
  each configuration is started ``--starts`` times (5; the extra ones alone, until their
  first data), and the median of them is printed with them all.
- RSS at the end and its peak (``VmHWM``), from /proc, and the RSS before the app
  started (the interpreter, imports and the simulated centre: the source's share).

With ``--remote`` the simulated centre runs in a separate collector process (``serve``
with the simulator, as ``serve-sim``) and the console reads it over the ``http`` source:
the deployment recommended for large centres. The RSS is then the console's alone, and
``source ms`` is the console fetching and decoding each version (its own cost).

    .venv/bin/python benchmarks/bench_dashboard.py [--seconds 30] [--remote]
    .venv/bin/python benchmarks/bench_dashboard.py --one --queues 5000 --agents 50000 \
        --screen agents [--seconds 30] [--occupancy 0.9]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from supervisor_tui.domain.intervals import IntervalPolicy
    from supervisor_tui.sources.simulator import SimulatorSource

STARTED = time.perf_counter()  # start-up includes imports, building and warming the centre

SIZES = ((1000, 10000), (5000, 50000))
SCREENS = ("dashboard", "agents")


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, round(p / 100 * (len(values) - 1)))]


def proc_status_kib(field: str) -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def simulator_source(queues: int, agents: int, occupancy: float | None,
                     policy: IntervalPolicy) -> SimulatorSource:
    """The scaled simulated centre as a source (``occupancy``: scaled_centre's default
    when None)."""
    from supervisor_tui.sim.config import scaled_centre
    from supervisor_tui.sources.simulator import SimulatorSource

    sim = (scaled_centre(queues=queues, agents=agents) if occupancy is None
           else scaled_centre(queues=queues, agents=agents, occupancy=occupancy))
    return SimulatorSource("simulator", policy, sim)


def serve(queues: int, agents: int, occupancy: float | None) -> None:
    """The collector with the scaled simulated centre as its source, on a free loopback
    port (printed on the first line), until killed."""
    from supervisor_tui.config import parse_config
    from supervisor_tui.protocol.collector import Collector
    from supervisor_tui.protocol.server import _server, bind

    config = parse_config({"console": {"timezone": "UTC", "poll_interval_s": 1.0}}, "bench")
    source = simulator_source(queues, agents, occupancy, config.console.policy)
    collector = Collector([source], config.console.policy, interval_s=1.0)
    sock = bind("127.0.0.1", 0)
    print(f"http://127.0.0.1:{sock.getsockname()[1]}", flush=True)
    _server(collector.app, lifespan="on").run(sockets=[sock])


async def run_one(queues: int, agents: int, seconds: float, screen: str,
                  occupancy: float | None, remote: str | None = None) -> dict[str, Any]:
    from supervisor_tui.config import parse_config
    from supervisor_tui.domain.model import Snapshot
    from supervisor_tui.gc_policy import hold_from_start
    from supervisor_tui.sources.base import Source
    from supervisor_tui.sources.http.settings import HttpSettings
    from supervisor_tui.sources.http.source import HttpSource
    from supervisor_tui.store import Store

    config = parse_config({"console": {"timezone": "UTC", "poll_interval_s": 1.0}}, "bench")
    source: Source
    if remote is not None:
        source = HttpSource("floor", config.console.policy, HttpSettings(url=remote))
        # As ``supervisor-tui`` starts (cli.build_app): the first read goes out before
        # the screens are imported and built, the GC held until the first paint.
        hold_from_start()
        await source.begin()
    else:
        source = simulator_source(queues, agents, occupancy, config.console.policy)
    from supervisor_tui.ui.app import SupervisorApp
    # The screen measured is the one it opens on, as ``supervisor-tui --screen agents``.
    app = SupervisorApp(config, [source], store=Store.open(None), screen=screen)
    latencies: list[float] = []
    after_paint: list[float] = []
    source_ms: list[float] = []
    changed_agents: list[int] = []
    changed_contacts: list[int] = []
    computed: list[int] = []
    first_data: list[float] = []
    first_console: list[float] = []  # the app's start to first data, less the source's work
    app_start: list[float] = []
    last: list[Snapshot] = []

    original_snapshot = source.snapshot

    async def timed_snapshot() -> Snapshot:
        t0 = time.perf_counter()
        snap = await original_snapshot()
        source_ms.append((time.perf_counter() - t0) * 1000)
        return snap

    source.snapshot = timed_snapshot  # type: ignore[method-assign]
    original_apply = app.apply_poll
    original_escalations = app._update_escalations

    def timed_escalations(snapshot: Snapshot) -> None:
        t0 = time.perf_counter()
        original_escalations(snapshot)
        after_paint.append((time.perf_counter() - t0) * 1000)

    app._update_escalations = timed_escalations  # type: ignore[method-assign]
    original_save = app._save_poll

    def timed_save() -> None:  # (after the escalations, same refresh: added to them)
        t0 = time.perf_counter()
        original_save()
        if after_paint:
            after_paint[-1] += (time.perf_counter() - t0) * 1000

    app._save_poll = timed_save  # type: ignore[method-assign]

    def timed_apply(result):  # type: ignore[no-untyped-def]
        t0 = time.perf_counter()
        reads_before = app.state.indexer.reads

        def painted() -> None:
            latencies.append((time.perf_counter() - t0) * 1000)
            computed.append(app.state.indexer.reads - reads_before)
            if not first_data:
                first_data.append(time.perf_counter() - STARTED)
                first_console.append(time.perf_counter() - app_start[0]
                                     - sum(source_ms) / 1000)
            # Counted after the clock stopped: what the source renewed (identities only).
            snap = result.snapshot
            if snap is not None and last:
                before = last[0]
                kept = sum(a is b for a, b in zip(snap.agents, before.agents, strict=False))
                changed_agents.append(len(snap.agents) - kept)
                old = {id(c) for c in before.contacts}
                changed_contacts.append(sum(id(c) not in old for c in snap.contacts))
            if snap is not None:
                last[:] = [snap]
        # Registered first so it fires at the refresh that shows this poll, before the
        # escalation pass the app schedules after that same refresh.
        app.call_after_refresh(painted)
        original_apply(result)

    app.apply_poll = timed_apply  # type: ignore[method-assign]
    app_start.append(time.perf_counter())
    rss_source = proc_status_kib("VmRSS") / 1024  # the interpreter and the simulated centre
    async with app.run_test(size=(200, 60)):
        cpu0, wall0 = time.process_time(), time.perf_counter()
        if seconds <= 0:  # a start alone: until the first data is on screen
            for _ in range(1200):
                if first_data:
                    return {"first_data_s": first_data[0], "setup_s": app_start[0] - STARTED}
                await asyncio.sleep(0.05)
            raise RuntimeError("no data on screen within 60 s")
        await asyncio.sleep(seconds)
        cpu = time.process_time() - cpu0
        wall = time.perf_counter() - wall0
    steady = latencies[2:] or latencies  # the first polls include start-up work

    def dist(values: list[float]) -> dict[str, float]:
        values = values[2:] or values
        return {"median": statistics.median(values), "p95": pct(values, 95),
                "max": max(values)}

    return {
        "queues": queues, "agents": agents, "screen": screen, "polls": len(latencies),
        "painted": dist(steady), "source": dist(source_ms), "after": dist(after_paint),
        "changed_agents": statistics.median(changed_agents or [0]),
        "changed_contacts": statistics.median(changed_contacts or [0]),
        "contacts": len(last[0].contacts) if last else 0,
        "computed": statistics.median(computed[2:] or computed or [0]),
        "cpu_pct": cpu / wall * 100, "first_data_s": first_data[0] if first_data else None,
        "first_console_s": first_console[0] if first_console else None,
        "setup_s": app_start[0] - STARTED,
        "rss_mib": proc_status_kib("VmRSS") / 1024, "peak_mib": proc_status_kib("VmHWM") / 1024,
        "rss_before_app_mib": rss_source, "remote": remote is not None,
    }


def show(r: dict[str, Any]) -> None:
    p, s, a = r["painted"], r["source"], r["after"]
    where = "over http from a collector process" if r.get("remote") else "in-process simulator"
    print(f"{r['queues']:>5} queues / {r['agents']:>6} agents, {r['screen']:<9} ({where}) "
          f"({r['polls']} polls): poll -> painted median {p['median']:.0f} ms, "
          f"p95 {p['p95']:.0f}, max {p['max']:.0f}")
    print(f"      changed per poll (median): {r['changed_agents']:.0f} agents, "
          f"{r['changed_contacts']:.0f} of {r['contacts']} contacts; objects read by the "
          f"index {r['computed']:.0f} (of {r['agents'] + r['contacts']})")
    source = ("source (http fetch + decode, in the console)" if r.get("remote")
              else "source (simulator step + snapshot)")
    print(f"      {source} median {s['median']:.0f} ms, "
          f"p95 {s['p95']:.0f}; after paint (escalations, GC, saving) median {a['median']:.0f} ms, "
          f"p95 {a['p95']:.0f}")
    print(f"      first data {r['first_data_s']:.2f} s from process start (imports and the "
          f"simulator's centre and warm-up {r['setup_s']:.2f} s); the console's part "
          f"{r['first_console_s']:.2f} s (app start to first data, less the source's polls)")
    starts = r.get("first_data_starts")
    if starts and len(starts) > 1:
        print(f"      first data over {len(starts)} starts: median "
              f"{statistics.median(starts):.2f} s ({', '.join(f'{x:.2f}' for x in starts)})")
    before = ("interpreter and imports" if r.get("remote")
              else "interpreter, imports, simulated centre")
    print(f"      RSS {r['rss_mib']:.0f} MiB (peak {r['peak_mib']:.0f}), of which "
          f"{r['rss_before_app_mib']:.0f} before the app started ({before}); "
          f"CPU {r['cpu_pct']:.0f}% of one core")


def start_server(queues: int, agents: int, occupancy: float | None
                 ) -> tuple[subprocess.Popen[str], str]:
    """A collector process serving the scaled centre; (process, its base URL)."""
    cmd = [sys.executable, __file__, "--serve", "--queues", str(queues),
           "--agents", str(agents)]
    if occupancy is not None:
        cmd += ["--occupancy", str(occupancy)]
    server = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    assert server.stdout is not None
    url = server.stdout.readline().strip()
    if not url.startswith("http://"):
        server.kill()
        raise RuntimeError(f"the collector did not start: {url!r}")
    # A console starts against a collector that is up, as a deployed one is (it runs for
    # days): once it has served a version, and a few more seconds for new ones. Without
    # this, first data included the collector's own start (its first poll and body).
    import httpx

    deadline = time.monotonic() + 120
    while True:
        try:
            if httpx.get(f"{url}/v1/snapshot", timeout=30,
                         headers={"Accept-Encoding": "identity"}).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            server.kill()
            raise RuntimeError("the collector served no snapshot within 120 s")
        time.sleep(0.2)
    time.sleep(3)
    return server, url


@contextlib.contextmanager
def collector(queues: int, agents: int, occupancy: float | None,
              url: str | None) -> Iterator[str | None]:
    """``url`` if given; else a fresh collector process's URL, stopped on leaving."""
    if url is not None:
        yield url
        return
    server, url = start_server(queues, agents, occupancy)
    try:
        yield url
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()


def compiled_bytecode() -> None:
    """The package's bytecode compiled (into its own ``__pycache__``, ignored by git) for
    the child processes (consoles, collectors): each measures a start with its bytecode
    at hand, as an installed console has from its second start on."""
    import compileall

    import supervisor_tui

    compileall.compile_dir(os.path.dirname(supervisor_tui.__file__), quiet=1)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--one", action="store_true", help="one configuration, this process")
    parser.add_argument("--json", action="store_true", help="(with --one) print JSON")
    parser.add_argument("--queues", type=int, default=1000)
    parser.add_argument("--agents", type=int, default=10000)
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--screen", choices=SCREENS, default="dashboard")
    parser.add_argument("--occupancy", type=float, help="offered load per agent (0-1)")
    parser.add_argument("--remote", action="store_true",
                        help="the centre in a separate collector process, read over http")
    parser.add_argument("--starts", type=int, default=5,
                        help="starts per configuration for first data (median of them)")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)  # (with --one: the collector's)
    args = parser.parse_args()
    if args.serve:
        serve(args.queues, args.agents, args.occupancy)
        return
    if args.one:
        with (collector(args.queues, args.agents, args.occupancy, args.url) if args.remote
              else contextlib.nullcontext(args.url)) as url:
            result = asyncio.run(run_one(args.queues, args.agents, args.seconds, args.screen,
                                         args.occupancy, url))
        print(json.dumps(result)) if args.json else show(result)
        return
    print(f"load average before: {os.getloadavg()[0]:.2f} (2-core machine shared: "
          "compare ratios within one run)")
    compiled_bytecode()
    results: dict[tuple[int, str], dict[str, Any]] = {}
    for screen in SCREENS:
        for queues, agents in SIZES:
            cmd = [sys.executable, __file__, "--one", "--json", "--queues", str(queues),
                   "--agents", str(agents), "--seconds", str(args.seconds),
                   "--screen", screen]
            if args.occupancy is not None:
                cmd += ["--occupancy", str(args.occupancy)]
            # (--remote: a fresh collector each time, the same start for every console)
            with (collector(queues, agents, args.occupancy, None) if args.remote
                  else contextlib.nullcontext()) as url:
                if url is not None:
                    cmd += ["--url", url]
                out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
                result = json.loads(out.strip().splitlines()[-1])
                # More starts alone, each a fresh process (one start is one sample of a
                # figure the machine moves by a fifth): first data as their median.
                starts = [result["first_data_s"]]
                for _ in range(args.starts - 1):
                    alone = [*cmd[:cmd.index("--seconds") + 1], "0",
                             *cmd[cmd.index("--seconds") + 2:]]
                    out = subprocess.run(alone, capture_output=True, text=True,
                                         check=True).stdout
                    starts.append(json.loads(out.strip().splitlines()[-1])["first_data_s"])
                result["first_data_starts"] = sorted(starts)
            results[(agents, screen)] = result
            show(result)
    for screen in SCREENS:
        small, big = results[(SIZES[0][1], screen)], results[(SIZES[1][1], screen)]
        print(f"{screen}: 50k / 10k p95 {big['painted']['p95'] / small['painted']['p95']:.2f}x"
              f", median {big['painted']['median'] / small['painted']['median']:.2f}x; "
              f"changed agents {big['changed_agents'] / max(small['changed_agents'], 1):.1f}x")
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
