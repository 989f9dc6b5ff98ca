"""``supervisor-tui serve``: the collector. One poller for every viewer.

It polls the configured sources with the console's own ``Poller`` (budgets, back-off,
Retry-After, health), once, however many consoles watch, and serves the merged centre
over protocol v1 (``ProtocolServer``: full and delta snapshots, ETags, actions) to any
number of consoles, which point an ``http`` source at it. On top of the plain server:

- ``GET /v1/events`` (capability ``events``): each new version named as it appears
  (``protocol.events``), so consoles fetch it at once rather than at their next poll;
- ``GET /v1/sources`` (capability ``sources``): each upstream source's health, which
  the consoles' http sources fold into their own (a console says "genesys down" and
  marks the data stale, not just "collector up");
- ``GET /metrics``: Prometheus figures (``protocol.metrics``).

Platform API use is independent of the number of consoles by construction: nothing a
console asks reaches an upstream source except an action, and the snapshot served is
the poller's last merged result (``CollectorSource.snapshot`` makes no request). After
an action the acting source is polled at once, and the answer waits for that poll, so
the console's next snapshot shows what the action did.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from supervisor_tui.domain.intervals import IntervalPolicy
from supervisor_tui.domain.model import (
    AbandonedContact,
    ActionCode,
    ActionResult,
    Agent,
    Contact,
    Snapshot,
    SourceHealth,
)
from supervisor_tui.domain.text import clean
from supervisor_tui.gc_policy import PollGC
from supervisor_tui.poller import Poller, PollResult, utcnow
from supervisor_tui.protocol.documents import (
    EVENTS_CAPABILITY,
    HEALTH_EVENT,
    PREFIX,
    SOURCES_CAPABILITY,
    VERSION_EVENT,
    EventDoc,
    SourcesDoc,
    UpstreamSource,
)
from supervisor_tui.protocol.events import EventHub
from supervisor_tui.protocol.metrics import Metrics, ServedStats
from supervisor_tui.protocol.server import ProtocolServer, Refusal
from supervisor_tui.protocol.surveys import REOPEN_S, SURVEYS_PATH, SurveyWebhook
from supervisor_tui.sources.base import Capability, Source, SourceError

if TYPE_CHECKING:
    from supervisor_tui.config import Config

METRICS_PATH = "/metrics"


def _combined(results: Sequence[tuple[str, ActionResult]]) -> ActionResult:
    """One answer for an action sent to several sources (a broadcast): ok only if every
    one did it, each one's outcome named."""
    if len(results) == 1:
        return results[0][1]
    failed = [r for _, r in results if not r.ok]
    message = "; ".join(f"{name}: {clean(r.message, 200)}" for name, r in results)
    if not failed:
        return ActionResult(ok=True, code=ActionCode.OK, message=message)
    return ActionResult(ok=False, code=failed[0].code, message=message)


class CollectorSource(Source):
    """The poller's last merged result, read like any source; actions go to the upstream
    source that reported the item (its ``source`` field)."""

    def __init__(self, name: str, policy: IntervalPolicy, upstream: Sequence[Source],
                 refreshed: Callable[[str], Awaitable[None]]) -> None:
        super().__init__(name, policy)
        self.upstream_sources = {s.name: s for s in upstream}
        self._refreshed = refreshed
        self._snapshot: Snapshot | None = None
        self._errors: tuple[str, ...] = ()
        self._update_capabilities()

    def _update_capabilities(self) -> None:
        # An http upstream learns its own from its first snapshot: recomputed each round.
        self.capabilities = frozenset({Capability.SNAPSHOT}).union(
            *(s.capabilities for s in self.upstream_sources.values()))

    def take(self, result: PollResult) -> bool:
        """Hold a poll round's result; True if the snapshot is a new object."""
        self._update_capabilities()
        self._errors = result.errors
        snap = result.snapshot
        if snap is None or snap is self._snapshot:
            return False
        if len(self.upstream_sources) > 1:
            snap, dropped = _unique_ids(snap)
            self.notes = tuple(dropped[:5])
        self._snapshot = snap
        return True

    async def snapshot(self) -> Snapshot:
        if self._snapshot is None:
            why = "; ".join(self._errors) or "the first poll is under way"
            raise SourceError(clean(f"no upstream source has answered yet: {why}", 300))
        return self._snapshot

    # -- actions: to the item's own source ----------------------------------------------

    def _owner(self, kind: str, item_id: str) -> Source | None:
        snap = self._snapshot
        if snap is None:
            return None
        items: Sequence[Contact | Agent | AbandonedContact] = (
            snap.contacts if kind == "contact" else snap.agents if kind == "agent"
            else snap.abandoned)
        for item in items:
            if item.id == item_id:
                return self.upstream_sources.get(item.source)
        return None

    async def _routed(self, kind: str, item_id: str, code: ActionCode,
                      call: Callable[[Source], Awaitable[ActionResult]]) -> ActionResult:
        source = self._owner(kind, item_id)
        if source is None:
            return ActionResult(ok=False, code=code,
                                message=f"no {kind} {clean(item_id, 60)} in the collector's "
                                "last snapshot")
        result = await call(source)
        await self._refreshed(source.name)
        return result

    async def _to_all(self, capability: Capability, what: str,
                      call: Callable[[Source], Awaitable[ActionResult]]) -> ActionResult:
        able = [s for s in self.upstream_sources.values() if s.supports(capability)]
        if not able:
            return self._unsupported(what)
        results = await asyncio.gather(*(call(s) for s in able))
        for source in able:
            await self._refreshed(source.name)
        return _combined([(s.name, r) for s, r in zip(able, results, strict=True)])

    async def move_contact(self, contact_id: str, queue_id: str) -> ActionResult:
        return await self._routed("contact", contact_id, ActionCode.UNKNOWN_CONTACT,
                                  lambda s: s.move_contact(contact_id, queue_id))

    async def assign_contact(self, contact_id: str, agent_id: str) -> ActionResult:
        return await self._routed("contact", contact_id, ActionCode.UNKNOWN_CONTACT,
                                  lambda s: s.assign_contact(contact_id, agent_id))

    async def set_agent_skills(self, agent_id: str, skills: Sequence[str]) -> ActionResult:
        return await self._routed("agent", agent_id, ActionCode.UNKNOWN_AGENT,
                                  lambda s: s.set_agent_skills(agent_id, skills))

    async def set_agent_state(self, agent_id: str, state: str) -> ActionResult:
        return await self._routed("agent", agent_id, ActionCode.UNKNOWN_AGENT,
                                  lambda s: s.set_agent_state(agent_id, state))

    async def create_callback(self, abandoned_id: str, queue_id: str) -> ActionResult:
        return await self._routed("abandoned", abandoned_id, ActionCode.NOT_FOUND,
                                  lambda s: s.create_callback(abandoned_id, queue_id))

    async def set_emergency(self, group: str, active: bool) -> ActionResult:
        return await self._to_all(Capability.EMERGENCY_GROUP, "switch emergency groups",
                                  lambda s: s.set_emergency(group, active))

    async def broadcast(self, message: str, key: str | None = None) -> ActionResult:
        return await self._to_all(Capability.BROADCAST, "broadcast to agents",
                                  lambda s: s.broadcast(message, key))


def _unique_ids(snap: Snapshot) -> tuple[Snapshot, list[str]]:
    """``snap`` with each id once per list (the first source's record wins), and what was
    dropped: two platforms that both have a queue "sales" would otherwise make a document
    every console refuses."""
    dropped: list[str] = []
    update: dict[str, tuple[object, ...]] = {}
    for field in ("queues", "agents", "contacts", "abandoned"):
        items = getattr(snap, field)
        seen: dict[str, str] = {}
        kept = []
        for item in items:
            first = seen.get(item.id)
            if first is None:
                seen[item.id] = item.source
                kept.append(item)
            else:
                dropped.append(f"{field[:-1]} id {clean(item.id, 60)} of {item.source} is "
                               f"also {first}'s: {item.source}'s is not served")
        if len(kept) != len(items):
            update[field] = tuple(kept)
    return (snap.model_copy(update=update) if update else snap), dropped


def upstream_doc(health: dict[str, SourceHealth], now: datetime) -> SourcesDoc:
    def age(when: datetime | None) -> float | None:
        return None if when is None else min(max((now - when).total_seconds(), 0.0), 1e9)

    return SourcesDoc(sources=[UpstreamSource(
        name=h.name, status=h.status.value, age_s=age(h.last_success),
        last_error=clean(h.last_error, 500) if h.last_error else None,
        error_age_s=age(h.last_error_at), consecutive_failures=h.consecutive_failures,
        notes=[clean(n, 300) for n in h.notes[:20]]) for h in health.values()])


class Collector:
    """The poll loop, the merged source, the server and its extra endpoints; ``app`` is
    the ASGI application (run it with lifespan on: that starts the poll loop)."""

    def __init__(self, sources: Sequence[Source], policy: IntervalPolicy, *,
                 token: str | None = None, interval_s: float = 2.0, timeout_s: float = 10.0,
                 heartbeat_s: float = 5.0, open_metrics: bool = False,
                 name: str | None = None, surveys: SurveyWebhook | None = None) -> None:
        """``surveys``: the survey webhook (POST /v1/surveys), which checks its own
        tokens (a survey tool gets its own, not the consoles')."""
        self.poller = Poller(sources, interval_s=interval_s, timeout_s=timeout_s)
        if name is None:
            name = sources[0].name if len(sources) == 1 else "collector"
        self.source = CollectorSource(name, policy, sources, self._refresh)
        self.stats = ServedStats()
        self.hub = EventHub(heartbeat_s)
        self.metrics = Metrics(self.stats, sources, self.poller.health,
                               lambda: self.hub.connected, lambda: self.hub.events_sent)
        self.surveys = surveys
        routes = [Route(f"{PREFIX}/events", self.hub.endpoint, methods=["GET"]),
                  Route(f"{PREFIX}/sources", self.sources_doc, methods=["GET"]),
                  Route(METRICS_PATH, self.metrics.endpoint, methods=["GET"])]
        open_paths = [METRICS_PATH] if open_metrics else []
        if surveys is not None:
            routes.append(Route(SURVEYS_PATH, surveys.endpoint, methods=["POST", "HEAD"]))
            open_paths.append(SURVEYS_PATH)
        self.server = ProtocolServer(
            self.source, token=token, refresh_s=float("inf"), routes=routes,
            open_paths=open_paths,
            lifespan=self._lifespan,
            extra_capabilities=[EVENTS_CAPABILITY, SOURCES_CAPABILITY],
            on_served=self.stats.served)
        self.app = self.server.app
        self._wake = asyncio.Event()
        self._rounds_started = 0
        self._round_done = asyncio.Event()
        self._etag: str | None = None
        self._health_key: tuple[tuple[str, str, int], ...] = ()
        self._seen: dict[str, tuple[datetime | None, datetime | None]] = {}
        #: wall-clock seconds of each published version, for the delay figures
        self.published_at: dict[str, float] = {}
        self._gc = PollGC()

    @contextlib.asynccontextmanager
    async def _lifespan(self, app: Starlette) -> AsyncIterator[None]:
        task = asyncio.create_task(self.run(), name="collector-poll")
        try:
            yield
        finally:
            self.hub.close_all()
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            await self.poller.close()

    async def run(self) -> None:
        """Poll forever: one round, publish, wait for the next due source (or a wake)."""
        while True:
            self._rounds_started += 1
            # No cyclic collection inside a round: a full one walks every record of a
            # big centre (~0.3 s at 50,000 agents, every few rounds), while consoles and
            # actions wait on this loop. Young ones after it; a full one each 10 min.
            self._gc.begin()
            try:
                result = await self.poller.poll_once(only_due=True)
                await self._publish(result)
            finally:
                self._gc.hold()  # (the round is over: settle lets it go)
                self._gc.settle()
            self.stats.rounds += 1
            done, self._round_done = self._round_done, asyncio.Event()
            done.set()
            await self.poller.wait_until_due(self._wake)

    async def _refresh(self, name: str) -> None:
        """Poll ``name`` now and return once a round begun after this call is published
        (rounds end in order, so once that many have ended, that one has)."""
        target = self._rounds_started + 1
        self.poller.make_due(name)
        self._wake.set()
        deadline = time.monotonic() + self.poller.timeout_s + 5
        while self.stats.rounds < target:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return  # the action's answer still stands; only the snapshot may lag
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._round_done.wait(), remaining)

    def _count_polls(self, health: dict[str, SourceHealth]) -> None:
        for name, h in health.items():
            before = self._seen.get(name, (None, None))
            if h.last_success is not None and h.last_success != before[0]:
                self.stats.polled(name, "ok")
            if h.last_error_at is not None and h.last_error_at != before[1]:
                self.stats.polled(name, "error")
            self._seen[name] = (h.last_success, h.last_error_at)

    async def _publish(self, result: PollResult) -> None:
        self._count_polls(result.health)
        if self.source.take(result):
            self.server.invalidate()
        etag: str | None = None
        taken_at: datetime | None = None
        with contextlib.suppress(Refusal):  # nothing to serve yet: no version to name
            cached = await self.server.current()
            etag = cached.etag
            taken_at = cached.doc.taken_at if cached.doc is not None else None
        health_key = tuple((h.name, h.status.value, h.consecutive_failures)
                           for h in result.health.values())
        health_changed, self._health_key = health_key != self._health_key, health_key
        if etag is None:
            return
        data = EventDoc(etag=etag, taken_at=taken_at).model_dump_json()
        if etag != self._etag:
            self._etag = etag
            self.stats.versions += 1
            self.published_at[etag] = time.time()
            if len(self.published_at) > 1000:
                self.published_at.pop(next(iter(self.published_at)))
            self.hub.publish(VERSION_EVENT, data, event_id=etag.strip('"'))
        elif health_changed:
            self.hub.publish(HEALTH_EVENT, data, remember=False)

    async def sources_doc(self, request: Request) -> Response:
        doc = upstream_doc(self.poller.health(), utcnow())
        return Response(doc.model_dump_json(), media_type="application/json")

    def describe(self) -> str:
        return ", ".join(f"{s.name} ({type(s).__name__.removesuffix('Source').lower()})"
                         for s in self.poller.sources)



# -- the sub-command ------------------------------------------------------------------

def build(args: argparse.Namespace, config: Config, token: str | None) -> Collector:
    """The collector ``args`` ask for: the configured sources (``serve``), or the
    simulator alone (``serve-sim``, or ``serve`` with none configured). SourceError if a
    source cannot be built."""
    from supervisor_tui.sources.build import build_sources
    from supervisor_tui.sources.registry import SimulatorSettings

    overrides = {k: v for k in ("scenario", "seed", "speed")
                 if (v := getattr(args, k, None)) is not None}
    sim_config = config.simulator.model_copy(update=overrides)
    configured = dict(config.sources)
    if args.command == "serve-sim" or not configured:
        configured = {"simulator": SimulatorSettings()}
    sources = build_sources(configured, config.console.policy, sim_config)
    interval = args.poll_interval
    if interval is None:  # serve-sim built a snapshot at most once a second: so still
        interval = 1.0 if args.command == "serve-sim" else config.console.poll_interval_s
    return Collector(sources, config.console.policy, token=token, interval_s=interval,
                     open_metrics=args.open_metrics,
                     surveys=survey_webhook(config, token, getattr(args, "db", None)))


def survey_webhook(config: Config, token: str | None, db: Path | None) -> SurveyWebhook:
    """The survey webhook on the collector's store (--db, else [store] url / url_env, else
    the console's default file): a store that cannot be opened makes it answer 503 with
    the reason, and the collector serves on."""
    from zoneinfo import ZoneInfo

    from supervisor_tui.cli.store_place import location
    from supervisor_tui.domain.survey_shapes import maps_with
    from supervisor_tui.store import Store, StoreError

    cfg = config.surveys
    store: Store | None = None
    why = ""

    def reopen() -> Store:
        return Store.open(location(config, db))

    try:
        store = reopen()
    except (StoreError, ValueError) as err:
        why = str(err)
    webhook_token = os.environ.get(cfg.webhook_token_env) if cfg.webhook_token_env else None
    if cfg.webhook_token_env and not webhook_token:
        print(f"supervisor-tui serve: [surveys] webhook_token_env names {cfg.webhook_token_env}, "
              "which is not set: POST /v1/surveys takes the consoles' token only",
              file=sys.stderr)
    elif webhook_token and len(webhook_token) < 16:
        print(f"supervisor-tui serve: the survey token in {cfg.webhook_token_env} is shorter "
              "than 16 characters: easy to guess", file=sys.stderr)
    return SurveyWebhook(store, [token, webhook_token or None], maps_with(cfg.map),
                         ZoneInfo(config.console.timezone), utcnow,
                         max_body=cfg.max_body_kb * 1024, why=why, reopen=reopen)


def run(args: argparse.Namespace, config: Config) -> int:
    """Serve until interrupted; 0 on a clean stop, 2 when refusing to start."""
    from supervisor_tui.protocol.documents import is_loopback
    from supervisor_tui.protocol.server import _server, bind, check_listen

    command = f"supervisor-tui {args.command}"

    def fail(message: str) -> int:
        print(f"{command}: {message}", file=sys.stderr)
        return 2

    if bool(args.tls_cert) != bool(args.tls_key):
        return fail("--tls-cert and --tls-key go together")
    token = os.environ.get(args.token_env) or None
    try:
        sock = bind(args.host, args.port)
    except OSError as err:
        return fail(f"cannot listen on {args.host}:{args.port}: {err.strerror or err}")
    bound = sock.getsockname()[0]  # what was really bound, not what the name suggests
    problem = check_listen(bound, token, args.token_env)
    if problem is None:
        try:
            collector = build(args, config, token)
        except SourceError as err:
            problem = str(err)
    if problem:
        sock.close()
        return fail(problem)
    tls = {"ssl_certfile": args.tls_cert, "ssl_keyfile": args.tls_key} if args.tls_cert else {}
    scheme = "https" if tls else "http"
    shown = f"[{args.host}]" if ":" in args.host else args.host
    metrics = "open" if args.open_metrics else "token as the rest" if token else "loopback"
    print(f"{command}: polling {collector.describe()} every "
          f"{collector.poller.interval_s:g} s (each source's own interval if set), serving "
          f"at {scheme}://{shown}:{sock.getsockname()[1]}{PREFIX}/ (events, sources, surveys) and "
          f"{METRICS_PATH} ({metrics}) — "
          f"{'bearer token required' if token else 'no token (loopback only)'}; "
          "Ctrl-C stops", file=sys.stderr)
    hook = collector.surveys
    if hook is not None and hook.store is None:
        print(f"{command}: warning: POST {PREFIX}/surveys answers 503 until the store "
              f"can be opened (tried again every {REOPEN_S:g} s): {hook.why}",
              file=sys.stderr)
    if not tls and not is_loopback(bound):
        print(f"{command}: warning: plain HTTP off loopback — the token travels in clear "
              "text; use --tls-cert/--tls-key", file=sys.stderr)
    try:
        _server(collector.app, lifespan="on", **tls).run(sockets=[sock])
    except OSError as err:  # e.g. an unreadable certificate
        return fail(f"cannot serve: {err}")
    finally:
        sock.close()
        if hook is not None and hook.store is not None:
            hook.store.close()  # (the webhook's store: opened by build for this run)
    return 0
