"""The collector (`serve`) on loopback: one upstream poller for N consoles' http sources,
the event stream, upstream health seen by every console, /metrics."""

from __future__ import annotations

import asyncio
import time

import httpx
from prometheus_client.parser import text_string_to_metric_families

from supervisor_tui.domain.intervals import IntervalPolicy
from supervisor_tui.domain.model import HealthStatus, Snapshot
from supervisor_tui.poller import Poller
from supervisor_tui.protocol.collector import Collector
from supervisor_tui.protocol.server import serve_in_thread
from supervisor_tui.sim.config import SimulatorConfig
from supervisor_tui.sources.base import SourceError
from supervisor_tui.sources.http.settings import HttpSettings
from supervisor_tui.sources.http.source import HttpSource
from supervisor_tui.sources.simulator import SimulatorSource

POLICY = IntervalPolicy(minutes=30, tz="UTC")


class CountingSim(SimulatorSource):
    """The simulator, counting its polls; told to fail, it fails like a dead platform."""

    def __init__(self) -> None:
        super().__init__("sim", POLICY, SimulatorConfig(seed=7, scenario="outage", speed=5))
        self.polls = 0
        self.fail = False

    async def snapshot(self) -> Snapshot:
        self.polls += 1
        if self.fail:
            raise SourceError("HTTP 503 from the platform")
        return await super().snapshot()


async def until(check: object, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():  # type: ignore[operator]
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.05)


async def test_twenty_consoles_one_poller_push_health_and_metrics() -> None:
    up = CountingSim()
    collector = Collector([up], POLICY, interval_s=0.2, heartbeat_s=1.0)
    with serve_in_thread(collector.app, lifespan="on") as base:
        await until(lambda: collector.stats.versions >= 1)
        consoles = [HttpSource(f"c{i}", POLICY, HttpSettings(url=base)) for i in range(20)]
        try:
            for console in consoles:
                snap = await console.snapshot()
                assert snap.agents and "events" not in {c.value for c in console.capabilities}
            # Each console's stream is open and hears new versions.
            await until(lambda: all(c.stream_state == "live" for c in consoles))
            seen = [c.events_seen for c in consoles]
            await until(lambda: all(c.events_seen > s for c, s in zip(consoles, seen,
                                                                       strict=True)))
            assert all(c.pushed is not None and c.pushed.is_set() for c in consoles)
            # Consoles hammering the collector cost the platform nothing: polls follow
            # the clock (one per 0.2 s round), not the 100 requests.
            before, started = up.polls, time.monotonic()
            for _ in range(5):
                await asyncio.gather(*(c.snapshot() for c in consoles))
            elapsed = time.monotonic() - started
            assert up.polls - before <= elapsed / 0.2 + 2
            # The platform dies: every console says so, through its own health.
            up.fail = True
            await until(lambda: collector.poller.health()["sim"].status == HealthStatus.DOWN)
            for console in consoles[:3]:
                result = await Poller([console]).poll_once()
                health = result.health[console.name]
                assert health.status == HealthStatus.DOWN
                assert health.last_error is not None and "upstream sim down" in health.last_error
                assert "503" in health.last_error
            async with httpx.AsyncClient(base_url=base) as client:
                text = (await client.get("/metrics")).text
            samples = {(s.name, tuple(sorted(s.labels.items()))): s.value
                       for family in text_string_to_metric_families(text)
                       for s in family.samples}
            assert samples[("supervisor_tui_consoles_connected", ())] == 20
            assert samples[("supervisor_tui_versions_total", ())] >= 2
            assert samples[("supervisor_tui_upstream_up", (("source", "sim"),))] == 0
            assert samples[("supervisor_tui_upstream_polls_total",
                            (("outcome", "error"), ("source", "sim")))] >= 3
            assert samples[("supervisor_tui_served_bytes_total", (("kind", "full"),))] > 0
        finally:
            for console in consoles:
                await console.close()


async def test_an_action_goes_to_the_items_own_source_and_serve_sim_is_an_alias() -> None:
    from supervisor_tui.domain.model import ActionCode, ActionResult
    from supervisor_tui.sources.base import Capability
    from tests.helpers import T0, ScriptedSource, centre

    class Pbx(ScriptedSource):
        capabilities = frozenset({Capability.SNAPSHOT, Capability.REASSIGN_CONTACT})
        moved: list[tuple[str, str]] = []  # noqa: RUF012 - one per test

        async def move_contact(self, contact_id: str, queue_id: str) -> ActionResult:
            self.moved.append((contact_id, queue_id))
            return ActionResult(ok=True, code=ActionCode.OK, message="moved")

    pbx = Pbx([centre(T0)])
    sim = SimulatorSource("sim", POLICY, SimulatorConfig(seed=7, start=T0, scenario="outage"),
                          clock=lambda: T0)
    collector = Collector([sim, pbx], POLICY, interval_s=0.2)
    with serve_in_thread(collector.app, lifespan="on") as base:
        await until(lambda: collector.stats.versions >= 1)
        console = HttpSource("floor", POLICY, HttpSettings(url=base))
        try:
            await console.snapshot()
            snap = await collector.source.snapshot()
            mine = [c for c in snap.contacts if c.source == "pbx"]
            assert mine, "the pbx's contacts are served beside the simulator's"
            polls = pbx.polls
            result = await console.move_contact(mine[0].id, "support")
            assert result.ok and pbx.moved == [(mine[0].id, "support")]
            assert pbx.polls > polls  # re-polled before the answer
            unknown = await console.move_contact("nobody", "support")
            assert not unknown.ok and unknown.code == "unknown_contact"
        finally:
            await console.close()
    from supervisor_tui.cli import build_parser

    for command in ("serve", "serve-sim"):
        args = build_parser().parse_args([command, "--port", "0", "--open-metrics"])
        assert (args.command, args.port, args.open_metrics) == (command, 0, True)
