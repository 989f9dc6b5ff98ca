"""The ``zendesk`` source itself: requests and mapping (the package docstring says what
a poll reads and how it is counted).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import httpx

from supervisor_tui.domain.intervals import IntervalPolicy
from supervisor_tui.domain.model import (
    Agent,
    AgentState,
    AgentStateKind,
    Channel,
    Queue,
    QueueLive,
    QueueStats,
    Snapshot,
)
from supervisor_tui.domain.text import clean
from supervisor_tui.sources.base import Capability, SourceError
from supervisor_tui.sources.checks import MAX_SECONDS, Listing, validate
from supervisor_tui.sources.web import PlannedSource, WebClient, gather, nothing, secret_from_env
from supervisor_tui.sources.zendesk.documents import (
    AgentActivityDoc,
    OverviewDoc,
    QueueActivityDoc,
    _validate_count,
    platform_error,
)
from supervisor_tui.sources.zendesk.settings import ZendeskSettings

log = logging.getLogger(__name__)

STATS = "/api/v2/channels/voice/stats"
#: the largest page Zendesk's offset paging serves
PAGE_SIZE = 100

_CALL_STATUS = {"on_call": AgentStateKind.ON_CONTACT,
                "wrap_up": AgentStateKind.AFTER_CONTACT_WORK}


# -- state kept between polls ---------------------------------------------------------


@dataclass(frozen=True)
class ZendeskQueueNow:
    """The Talk queue as ``current_queue_activity`` last told it."""

    calls_waiting: int
    callbacks_waiting: int
    longest_wait_s: float
    average_wait_s: float | None
    agents_online: int | None
    taken_at: datetime

    @property
    def waiting(self) -> int:
        return self.calls_waiting + self.callbacks_waiting

    @property
    def oldest_since(self) -> datetime | None:
        """When the longest-waiting caller started waiting (ages on screen from here)."""
        if self.waiting == 0:
            return None
        return self.taken_at - timedelta(seconds=self.longest_wait_s)


@dataclass(frozen=True)
class ZendeskDayCounts:
    """Today's counts, in the account's day; None: the plan or answer did not say."""

    window_start: datetime
    offered: int | None  # total_inbound_calls: arrivals, not the counting rule's offered
    abandoned: int | None
    answered: int
    handled: int
    handle_s: float
    average_time_to_answer_s: float | None
    flowed_out: int | None = None
    problem: str | None = None  # why these counts cannot be true (then not shown)


@dataclass(frozen=True)
class _Plan:
    made_at: datetime
    agent_pages: int
    overview: bool

    @property
    def cost(self) -> int:
        return 1 + self.agent_pages + (1 if self.overview else 0)


def _duration(seconds: float) -> str:
    s = int(seconds)
    return f"{s // 60}m{s % 60:02d}s" if s >= 60 else f"{s}s"


class ZendeskSource(PlannedSource[_Plan]):
    """The account's Talk queue and agents; ``clock`` is injectable for tests."""

    capabilities = frozenset({Capability.SNAPSHOT})  # Zendesk offers no call to move calls

    def __init__(self, name: str, policy: IntervalPolicy, settings: ZendeskSettings,
                 transport: httpx.AsyncBaseTransport | None = None,
                 clock: Callable[[], datetime] | None = None) -> None:
        super().__init__(name, policy, clock)
        self.settings = settings
        headers = {"Accept": "application/json"}
        auth: tuple[str, str] | None = None
        if settings.oauth_token_env:
            token = secret_from_env(settings.oauth_token_env, f"source {name}: OAuth token")
            headers["Authorization"] = f"Bearer {token}"
        else:
            token = secret_from_env(settings.token_env, f"source {name}: API token")
            auth = (f"{settings.email}/token", token or "")
        self._client = WebClient(name, settings.url(), auth=auth, headers=headers,
                                 timeout_s=settings.timeout_s, ca_bundle=settings.ca_bundle,
                                 budget=settings.make_budget(), transport=transport)
        self._kinds = settings.state_kinds()
        self._account_day = IntervalPolicy(minutes=policy.minutes, tz=settings.account_tz)
        self._queue = Queue(id=settings.queue_id, name=clean(settings.queue_name, 80),
                            channel=Channel.VOICE, sl_target=settings.sl_target,
                            threshold_s=settings.threshold_s,
                            short_abandon_s=settings.short_abandon_s, source=name)
        self._pages = 1
        self._overview: OverviewDoc | None = None
        self._overview_at: datetime | None = None
        self._overview_day: datetime | None = None
        #: agent id -> ((kind, reason, name), since, the Agent built): since = first seen
        self._seen: dict[str, tuple[tuple[Any, ...], datetime, Agent]] = {}
        #: the queue now, as of the last good poll
        self.live: ZendeskQueueNow | None = None
        #: today's counts, as of the last good poll
        self.day_counts: ZendeskDayCounts | None = None
        self.notes: tuple[str, ...] = ()

    # -- Source API ---------------------------------------------------------------------

    def _plan(self, now: datetime) -> _Plan:
        day = self._account_day.day_start(now)
        due = (self._overview_at is None or self._overview_day != day
               or (now - self._overview_at).total_seconds() >= self.settings.overview_refresh_s)
        return _Plan(now, self._pages, due)

    async def snapshot(self) -> Snapshot:
        now = self._clock()
        plan = self._take_plan(now)
        with self._counting_requests():
            queue_data, listing, overview = await gather(
                self._get(f"{STATS}/current_queue_activity", "current_queue_activity"),
                self._agents_activity(),
                self._get(f"{STATS}/account_overview", "account_overview")
                if plan.overview else nothing())
        taken_at = self._clock()
        live = self._live(queue_data, taken_at)
        notes: list[str] = []
        if overview is not None:
            self._overview = validate(OverviewDoc, overview, "account_overview")
            self._overview_at = taken_at
            self._overview_day = self._account_day.day_start(taken_at)
        agents = self._agents(listing, taken_at, notes)
        day = self._day(listing, taken_at, notes)
        self.live, self.day_counts = live, day
        notes.insert(0, self._live_note(live))
        self.notes = tuple(notes)
        for note in notes[1:]:
            log.info("source %s: %s", self.name, note)
        stats = self._day_stats(day) if day is not None else None
        return Snapshot(taken_at=taken_at, interval_start=self.policy.interval_start(taken_at),
                        day_start=self.policy.day_start(taken_at), queues=(self._queue,),
                        day_stats={self._queue.id: stats} if stats else {},
                        agents=agents, queue_live={self._queue.id: QueueLive(
                            queue_id=self._queue.id, waiting=live.calls_waiting,
                            oldest_waiting_since=taken_at - timedelta(seconds=live.longest_wait_s)
                            if live.calls_waiting else None)})

    # -- requests -----------------------------------------------------------------------

    async def _holding(self, url: str, what: str, key: str,
                       params: list[tuple[str, str]] | None = None) -> dict[str, Any]:
        """A JSON object holding ``key``; an HTML page, a list or an error body fails."""
        data = await self._json("GET", url, what, params=params)
        if key not in data:
            error = platform_error(data)
            if error:
                raise SourceError(f"{what}: Zendesk answered with an error: {error}")
            raise SourceError(f"{what}: no '{key}' in the answer")
        return data

    async def _get(self, url: str, key: str) -> Any:
        data = await self._holding(url, key, key)
        if not isinstance(data[key], dict):
            raise SourceError(f"{key}: expected an object, got {type(data[key]).__name__}")
        return data[key]

    async def _agents_activity(self) -> Listing[AgentActivityDoc]:
        """Every page, following ``next_page`` on our own host and path only."""
        path = f"{STATS}/agents_activity"
        listing: Listing[AgentActivityDoc] = Listing()
        total: int | None = None  # what Zendesk says the listing holds
        params: list[tuple[str, str]] | None = [("per_page", str(PAGE_SIZE))]
        seen: set[str] = set()
        while params is not None:
            if listing.pages >= self.settings.max_pages:
                listing.truncated = True
                break
            data = await self._holding(path, "agents_activity", "agents_activity", params)
            listing.pages += 1
            items = data["agents_activity"]
            if not isinstance(items, list):
                raise SourceError("agents_activity: expected a list")
            listing.read(AgentActivityDoc, items)
            if total is None and data.get("count") is not None:
                total = _validate_count(data["count"], "agents_activity: count")
            params = self._next_page(data.get("next_page"), path)
            if params is not None:
                key = urlencode(params)
                if key in seen:
                    raise SourceError("agents_activity: paging goes round in circles")
                seen.add(key)
        listing.check("agents_activity")
        # The next poll's cost: the page count Zendesk's own total implies, if it said.
        pages = listing.pages
        if total is not None and not listing.truncated:
            pages = max(1, math.ceil(total / PAGE_SIZE))
        self._pages = min(max(1, pages), self.settings.max_pages)
        return listing

    def _next_page(self, link: Any, path: str) -> list[tuple[str, str]] | None:
        """The next page's query; credentials never follow a link to another host."""
        if link is None or link == "":
            return None
        if not isinstance(link, str) or len(link) > 2000:
            raise SourceError("agents_activity: next_page is not a link")
        parts = urlsplit(link)
        ours = urlsplit(self.settings.url())
        if parts.netloc and (parts.scheme, parts.netloc) != (ours.scheme, ours.netloc):
            raise SourceError(f"agents_activity: next page is on another host "
                              f"({clean(parts.netloc, 60)})")
        if parts.path.removesuffix(".json").rstrip("/") != path:
            raise SourceError(f"agents_activity: next page link points elsewhere "
                              f"({clean(parts.path, 80)})")
        return parse_qsl(parts.query, keep_blank_values=True)

    # -- mapping --------------------------------------------------------------------------

    def _live(self, data: Any, taken_at: datetime) -> ZendeskQueueNow:
        doc = validate(QueueActivityDoc, data, "current_queue_activity")
        if doc.longest_wait_time > self.settings.max_wait_s:
            raise SourceError(f"current_queue_activity: longest wait "
                              f"{doc.longest_wait_time:g} s is absurd")
        if doc.average_wait_time is not None and doc.average_wait_time > self.settings.max_wait_s:
            raise SourceError(f"current_queue_activity: average wait "
                              f"{doc.average_wait_time:g} s is absurd")
        return ZendeskQueueNow(
            calls_waiting=doc.calls_waiting,
            callbacks_waiting=doc.callbacks_waiting + doc.embeddable_callbacks_waiting,
            longest_wait_s=doc.longest_wait_time, average_wait_s=doc.average_wait_time,
            agents_online=doc.agents_online, taken_at=taken_at)

    @staticmethod
    def _live_note(live: ZendeskQueueNow) -> str:
        text = f"Talk queue now: {live.calls_waiting} call(s) + {live.callbacks_waiting} " \
               f"callback(s) waiting"
        if live.waiting:
            text += f", longest {_duration(live.longest_wait_s)}"
        return text + " (Zendesk lists no calls; not in the contact list)"

    def _agents(self, listing: Listing[AgentActivityDoc], now: datetime,
                notes: list[str]) -> tuple[Agent, ...]:
        unmapped: set[str] = set()
        agents: list[Agent] = []
        seen: dict[str, tuple[tuple[Any, ...], datetime, Agent]] = {}
        dupes = 0
        for a in listing.records:
            if a.agent_id in seen:
                dupes += 1  # paging shifted under us: keep the first
                continue
            state = clean(a.agent_state, 40).strip().casefold()
            kind = self._kinds.get(state)
            if kind is None:
                unmapped.add(state)
                kind = AgentStateKind.AWAY
            on_call = _CALL_STATUS.get((a.call_status or "").strip().casefold())
            if on_call is not None and kind != AgentStateKind.OFFLINE:
                kind = on_call
            reason = state.replace("_", " ") if kind == AgentStateKind.AWAY else None
            name = clean(a.name or f"agent {a.agent_id}", 80)
            key = (kind, reason, name)
            previous = self._seen.get(a.agent_id)
            if previous is not None and previous[0] == key:
                _, since, agent = previous
            else:
                # Zendesk says no since-when: the state began at most a poll ago, or
                # before this console started (then this is a lower bound).
                since = previous[1] if previous and previous[0][:2] == key[:2] else now
                agent = Agent(id=a.agent_id, name=name,
                              state=AgentState(kind=kind, since=since, reason=reason),
                              skills=(self._queue.id,), source=self.name)
            seen[a.agent_id] = (key, since, agent)
            agents.append(agent)
        self._seen = seen
        notes.append("agent times in state count from when this console first saw the "
                     "state (Zendesk gives no since-when)")
        if unmapped:
            notes.append("agent states not in state_map (shown as away): "
                         + ", ".join(sorted(unmapped)[:5]))
        if listing.dropped:
            notes.append(f"dropped {listing.dropped} unreadable agent record(s): "
                         f"{listing.first_problem}")
        if dupes:
            notes.append(f"{dupes} agent(s) listed twice (the list changed while paging)")
        if listing.truncated:
            notes.append(f"agents_activity: cut at {listing.pages} pages (max_pages)")
        return tuple(agents)

    def _day(self, listing: Listing[AgentActivityDoc], taken_at: datetime,
             notes: list[str]) -> ZendeskDayCounts | None:
        start = self._account_day.day_start(taken_at)
        overview = self._overview if self._overview_day == start else None
        if overview is None:
            return None  # day rolled over and the overview could not be read yet
        answered = sum(a.calls_accepted for a in listing.records)
        handle_s = sum(a.total_talk_time + a.total_hold_time + a.total_wrap_up_time
                       for a in listing.records)
        if handle_s > MAX_SECONDS:
            raise SourceError(f"agents_activity: absurd total handle time {handle_s:g} s")
        inbound = overview.total_inbound_calls
        abandoned_n = overview.total_calls_abandoned_in_queue
        problem = None
        if inbound is not None and abandoned_n is not None and abandoned_n > inbound:
            problem = f"{abandoned_n} abandoned of {inbound} inbound calls"
        day = ZendeskDayCounts(
            window_start=start, offered=inbound, abandoned=abandoned_n, answered=answered,
            handled=answered, handle_s=handle_s,
            average_time_to_answer_s=overview.average_time_to_answer,
            flowed_out=overview.total_calls_with_exceeded_queue_wait_time, problem=problem)
        if problem:  # near the front: the poller shows only the first few notes
            notes.insert(0, f"day counters of {self._queue.name} rejected ({problem}); "
                         "shown as no data")
        offered = "?" if day.offered is None else str(day.offered)
        abandoned = "?" if day.abandoned is None else str(day.abandoned)
        notes.append(f"today ({self.settings.account_tz}): {offered} inbound, {answered} "
                     f"accepted, {abandoned} abandoned in queue; no service level (Zendesk "
                     "gives none)")
        if day.abandoned is None:
            notes.append("account_overview has no abandoned count (Talk Professional and "
                         "up): abandoned shows 0")
        return day

    def _day_stats(self, day: ZendeskDayCounts) -> QueueStats | None:
        """Only counters that cannot feed a made-up service level (package docstring)."""
        if day.problem:
            return None
        abandoned, flowed_out = day.abandoned or 0, day.flowed_out or 0
        return QueueStats(queue_id=self._queue.id, window_start=day.window_start,
                          offered=day.answered + abandoned + flowed_out,
                          abandoned=abandoned, flowed_out=flowed_out, handled=day.handled,
                          handle_s=day.handle_s)
