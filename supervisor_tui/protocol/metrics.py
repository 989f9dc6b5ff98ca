"""The collector's ``/metrics``, in the Prometheus text format (prometheus-client).

Every figure is read when scraped, from counters the collector keeps anyway (and each
upstream source's own request statistics), so there is one count of each thing and a
scrape costs nothing between scrapes. A registry per collector: two in one process
(tests) never mix their figures.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector, CollectorRegistry
from starlette.requests import Request
from starlette.responses import Response

from supervisor_tui.domain.model import HealthStatus, SourceHealth
from supervisor_tui.sources.base import Source

PREFIX = "supervisor_tui_"


@dataclass
class ServedStats:
    """What the collector has done, counted as it happens."""

    versions: int = 0  # snapshot versions published (distinct ETags)
    responses: dict[str, int] = field(default_factory=dict)  # full / delta / not_modified
    bytes: dict[str, int] = field(default_factory=dict)  # full / delta, as sent
    rounds: int = 0  # upstream poll rounds
    #: upstream polls by (source, outcome: ok / error)
    polls: dict[tuple[str, str], int] = field(default_factory=dict)

    def served(self, kind: str, size: int) -> None:
        self.responses[kind] = self.responses.get(kind, 0) + 1
        if kind != "not_modified":
            self.bytes[kind] = self.bytes.get(kind, 0) + size

    def polled(self, source: str, outcome: str) -> None:
        key = (source, outcome)
        self.polls[key] = self.polls.get(key, 0) + 1


class _Figures(Collector):
    def __init__(self, stats: ServedStats, sources: Sequence[Source],
                 health: Callable[[], dict[str, SourceHealth]],
                 consoles: Callable[[], int], events_sent: Callable[[], int],
                 wall: Callable[[], float]) -> None:
        self.stats = stats
        self.sources = sources
        self.health = health
        self.consoles = consoles
        self.events_sent = events_sent
        self.wall = wall

    def collect(self) -> Iterable[Metric]:
        return list(self._metrics())

    def _metrics(self) -> Iterator[Metric]:
        stats = self.stats
        requests = CounterMetricFamily(
            f"{PREFIX}upstream_requests", "HTTP requests to each upstream platform by status "
            "(none: no answer); sources that make no requests (the simulator) have none",
            labels=["source", "status"])
        for source in self.sources:
            counted = source.request_stats
            if counted is not None:
                for status, n in sorted(counted.by_status.items()):
                    requests.add_metric([source.name, status], n)
        yield requests
        polls = CounterMetricFamily(f"{PREFIX}upstream_polls",
                                    "polls of each upstream source by outcome (ok, error)",
                                    labels=["source", "outcome"])
        for (name, outcome), n in sorted(stats.polls.items()):
            polls.add_metric([name, outcome], n)
        yield polls
        age = GaugeMetricFamily(f"{PREFIX}upstream_last_success_age_seconds",
                                "seconds since each upstream source's last good poll "
                                "(NaN: none yet)", labels=["source"])
        up = GaugeMetricFamily(f"{PREFIX}upstream_up",
                               "1 while the upstream source's last poll succeeded",
                               labels=["source"])
        now = self.wall()
        for name, h in self.health().items():
            seconds = now - h.last_success.timestamp() if h.last_success else math.nan
            age.add_metric([name], max(seconds, 0.0) if not math.isnan(seconds) else seconds)
            up.add_metric([name], 1.0 if h.status == HealthStatus.OK else 0.0)
        yield age
        yield up
        yield GaugeMetricFamily(f"{PREFIX}consoles_connected",
                                "consoles with the event stream open (polling consoles "
                                "are not counted: see snapshot_responses)",
                                value=self.consoles())
        yield CounterMetricFamily(f"{PREFIX}versions",
                                  "snapshot versions published", value=stats.versions)
        yield CounterMetricFamily(f"{PREFIX}events_sent",
                                  "events written to consoles' streams",
                                  value=self.events_sent())
        responses = CounterMetricFamily(f"{PREFIX}snapshot_responses",
                                        "snapshot answers by kind (full, delta, "
                                        "not_modified)", labels=["kind"])
        for kind, n in sorted(stats.responses.items()):
            responses.add_metric([kind], n)
        yield responses
        sent = CounterMetricFamily(f"{PREFIX}served_bytes",
                                   "snapshot body bytes sent (after gzip), full vs delta",
                                   labels=["kind"])
        for kind, n in sorted(stats.bytes.items()):
            sent.add_metric([kind], n)
        yield sent


class Metrics:
    """The registry and the ``/metrics`` endpoint."""

    def __init__(self, stats: ServedStats, sources: Sequence[Source],
                 health: Callable[[], dict[str, SourceHealth]], consoles: Callable[[], int],
                 events_sent: Callable[[], int], wall: Callable[[], float] = time.time) -> None:
        self.registry = CollectorRegistry(auto_describe=False)
        self.registry.register(_Figures(stats, sources, health, consoles, events_sent, wall))

    def text(self) -> bytes:
        return generate_latest(self.registry)

    async def endpoint(self, request: Request) -> Response:
        return Response(self.text(), media_type=CONTENT_TYPE_LATEST)
