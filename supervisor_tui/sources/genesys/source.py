"""The ``genesys`` source itself: planning, requests, mapping and actions (the package
docstring says what a poll reads and how it is counted).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any, Literal

import httpx
from pydantic import ValidationError

from supervisor_tui.domain.agent_control import AVAILABLE, END_ACW, LOGOUT, parse_state
from supervisor_tui.domain.intervals import IntervalPolicy
from supervisor_tui.domain.model import (
    ActionCode,
    ActionResult,
    Agent,
    AgentState,
    AgentStateKind,
    Channel,
    Contact,
    ContactState,
    Queue,
    QueueLive,
    QueueStats,
    Snapshot,
)
from supervisor_tui.domain.text import clean
from supervisor_tui.protocol.documents import describe
from supervisor_tui.sources.base import Capability, SourceError
from supervisor_tui.sources.checks import Listing, not_future, validate
from supervisor_tui.sources.genesys.auth import ClientCredentials
from supervisor_tui.sources.genesys.documents import (
    AggregateGroupDoc,
    AggregatesDoc,
    ConversationDoc,
    EmergencyGroupDoc,
    ErrorDoc,
    MemberDoc,
    ObservationDoc,
    ObservationGroupDoc,
    ObservationsDoc,
    OrgPresenceDoc,
    ParticipantDoc,
    QueueDoc,
    RoutingStatusDoc,
    StatsDoc,
    UserPresenceDoc,
    emergency_update,
    group_counts,
    longest_wait_s,
)
from supervisor_tui.sources.genesys.settings import GenesysSettings, is_uuid
from supervisor_tui.sources.plausible import checked_stats, rejection_note
from supervisor_tui.sources.reuse import Reuse
from supervisor_tui.sources.web import (
    Cached,
    PlannedSource,
    RateLimited,
    WebClient,
    gather,
    nothing,
    secret_from_env,
)

log = logging.getLogger(__name__)

OBSERVATIONS = "/api/v2/analytics/queues/observations/query"
PRESENCES = "/api/v2/presence/definitions"
AGGREGATES = "/api/v2/analytics/conversations/aggregates/query"
#: queues per analytics query (one filter predicate each)
QUERY_BATCH = 100
#: the largest page of queue members
PAGE_SIZE = 100

OBSERVATION_METRICS = ("oWaiting", "oInteracting", "oLongestWaiting", "oOnQueueUsers",
                       "oOffQueueUsers")
AGGREGATE_METRICS = ("tAnswered", "tAbandon", "tFlowOut", "tHandle")


#: Genesys media types -> our channels; others take the queue's configured channel
_CHANNELS = {"voice": Channel.VOICE, "callback": Channel.VOICE, "chat": Channel.CHAT,
             "message": Channel.CHAT, "email": Channel.EMAIL}

#: routing status -> our state (OFF_QUEUE: from the presence)
_ROUTING: dict[str, tuple[AgentStateKind, str | None]] = {
    "IDLE": (AgentStateKind.AVAILABLE, None),
    "INTERACTING": (AgentStateKind.ON_CONTACT, None),
    "COMMUNICATING": (AgentStateKind.ON_CONTACT, None),  # a non-ACD interaction
    "NOT_RESPONDING": (AgentStateKind.AWAY, "not responding"),
}


#: what an agent or contact is built from: unchanged, last poll's object is reused
#: (a member: name, state, away reason, since, queues; a conversation: queue, channel,
#: whole seconds since it started waiting, customer)
_AgentKey = tuple[str, AgentStateKind, str | None, datetime, tuple[str, ...]]
_ContactKey = tuple[str, Channel, int, str | None]


# -- state kept between polls ---------------------------------------------------------


@dataclass(frozen=True)
class GenesysQueueNow:
    """A queue's live observations, validated."""

    waiting: int
    interacting: int
    longest_wait_s: float | None
    on_queue_users: int | None
    off_queue_users: int | None
    taken_at: datetime


@dataclass(frozen=True)
class _Plan:
    made_at: datetime
    token: bool
    observations: int
    members: tuple[str, ...]
    member_pages: int
    aggregates: tuple[Literal["interval", "day"], ...]
    aggregate_batches: int
    catalog: int
    skipped: tuple[str, ...] = ()

    @property
    def cost(self) -> int:
        return (int(self.token) + self.observations + self.member_pages
                + len(self.aggregates) * self.aggregate_batches + self.catalog)


def _iso_ms(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + \
        f"{when.microsecond // 1000:03d}Z"


def _batches(items: Sequence[str]) -> list[list[str]]:
    return [list(items[i:i + QUERY_BATCH]) for i in range(0, len(items), QUERY_BATCH)]


def _or_queues(queue_ids: Sequence[str]) -> dict[str, Any]:
    return {"type": "or", "predicates": [
        {"type": "dimension", "dimension": "queueId", "operator": "matches", "value": q}
        for q in queue_ids]}


_USER_METRICS = frozenset({"oOnQueueUsers", "oOffQueueUsers"})

#: our away reasons -> the Genesys system presence they are (see ``_norm``); a reason
#: that is neither this nor a presence's label is refused, never put as plain "Away"
_AWAY_SYSTEM = {"break": "break", "lunch": "meal", "meal": "meal", "training": "training",
                "meeting": "meeting", "away": "away", "busy": "busy"}
#: system presences that are not a way of being away
_NOT_AWAY = frozenset({"onqueue", "offline", "available", "idle"})
_ON_CONTACT = frozenset({"INTERACTING", "COMMUNICATING"})


def _norm(word: str | None) -> str:
    """A system presence as one comparable word: "ON_QUEUE", "OnQueue" -> "onqueue"
    (presence definitions and user presences spell them differently)."""
    return (word or "").casefold().replace("_", "").replace(" ", "")


class GenesysSource(PlannedSource[_Plan]):
    """Queues of one Genesys Cloud org; ``clock`` is injectable for tests."""

    #: what an action request may answer without raising (the rest are errors)
    action_statuses = (200, 201, 202, 204, 400, 403, 404, 409, 412, 422)

    def __init__(self, name: str, policy: IntervalPolicy, settings: GenesysSettings,
                 transport: httpx.AsyncBaseTransport | None = None,
                 clock: Callable[[], datetime] | None = None) -> None:
        super().__init__(name, policy, clock)
        self.settings = settings
        client_id = secret_from_env(settings.client_id_env, f"source {name}: OAuth client id")
        secret = secret_from_env(settings.client_secret_env,
                                 f"source {name}: OAuth client secret")
        budget = settings.make_budget()
        headers = {"Accept": "application/json"}
        # Token requests go to another host but count against the same client budget.
        login = WebClient(name, settings.login(), auth=(client_id or "", secret or ""),
                          headers=headers, timeout_s=settings.timeout_s,
                          ca_bundle=settings.ca_bundle, budget=budget, transport=transport)
        self._client = WebClient(name, settings.api(), headers=headers,
                                 timeout_s=settings.timeout_s, ca_bundle=settings.ca_bundle,
                                 budget=budget, transport=transport)
        login.stats = self._client.stats  # one set of counts for the screen
        self._auth = ClientCredentials(login, self._clock)
        self._sem = asyncio.Semaphore(settings.max_concurrency)
        self._presence = settings.presence_kinds()
        caps = {Capability.SNAPSHOT}
        if settings.allow_transfers:
            caps.add(Capability.REASSIGN_CONTACT)
        if settings.allow_membership:
            caps.add(Capability.MOVE_AGENTS)
        if settings.emergency_group_id:
            caps.add(Capability.EMERGENCY_GROUP)
        if settings.allow_agent_state:
            caps.add(Capability.AGENT_STATE)
        self.capabilities = frozenset(caps)
        #: the org's presence definitions (for agent-state changes), read when needed
        self._presences: Cached[tuple[OrgPresenceDoc, ...]] | None = None
        self._names: dict[str, str] = {}
        self._catalog_at: datetime | None = None
        # "interval"/"day" -> {qid: QueueStats, or why its counters were rejected}
        self._aggregates: dict[str, Cached[dict[str, QueueStats | str]]] = {}
        self._members: dict[str, Cached[Listing[MemberDoc]]] = {}
        self._pages: dict[str, int] = {}
        # identity reuse: unchanged agents/contacts keep their objects (see index.py)
        self._agent_cache: Reuse[Agent] = Reuse()
        self._contact_cache: Reuse[Contact] = Reuse()
        #: validated live observations of the last poll, by queue id
        self.live: dict[str, GenesysQueueNow] = {}
        self.notes: tuple[str, ...] = ()

    # -- Source API ---------------------------------------------------------------------

    async def close(self) -> None:
        await self._client.aclose()
        await self._auth.aclose()

    async def snapshot(self) -> Snapshot:
        now = self._clock()
        plan = self._take_plan(now)
        notes: list[str] = [f"{what} not refreshed: no room in the request budget"
                            for what in plan.skipped]
        with self._counting_requests():
            await self._auth.token()  # before the requests that all need it
            observations, *_ = await gather(
                self._observations(), self._read_members(plan.members, notes),
                *(self._read_aggregates(kind, now) for kind in plan.aggregates),
                self._refresh_catalog(notes) if plan.catalog else nothing())
        taken_at = self._clock()
        contacts = self._live_and_contacts(observations, taken_at, notes)
        agents = self._agents(taken_at, notes)
        snap = self._build(taken_at, agents, contacts, notes)
        self.notes = tuple(notes)
        for note in notes:
            log.info("source %s: %s", self.name, note)
        return snap

    # -- planning -----------------------------------------------------------------------

    def _plan(self, now: datetime) -> _Plan:
        s = self.settings
        queues = s.queues
        token = self._auth.due(now)
        observations = len(_batches(queues))
        members = tuple(q for q in queues
                        if q not in self._members
                        or (now - self._members[q].fetched_at).total_seconds()
                        >= s.members_refresh_s)
        member_pages = sum(self._pages.get(q, 1) for q in members)
        mandatory = int(token) + observations + member_pages
        budget = self._client.budget
        room = (budget.remaining() - mandatory) if budget is not None else 10**9
        batches = observations
        aggregates: list[Literal["interval", "day"]] = []
        skipped: list[str] = []
        kinds: list[tuple[Literal["interval", "day"], float]] = [
            ("interval", s.interval_refresh_s)]
        if s.day_stats:
            kinds.append(("day", s.day_refresh_s))
        for kind, period in kinds:
            cached = self._aggregates.get(kind)
            start = self._window_start(kind, now)
            due = (cached is None or cached.window_start != start
                   or (now - cached.fetched_at).total_seconds() >= period)
            if not due:
                continue
            if batches <= room:
                aggregates.append(kind)
                room -= batches
            else:
                skipped.append(f"{kind} counters")
        catalog = 0
        unnamed = [q for q in queues if not s.queue(q).name]
        if unnamed and (self._catalog_at is None
                        or (now - self._catalog_at).total_seconds() >= s.catalog_refresh_s):
            if len(_batches(unnamed)) <= room:
                catalog = len(_batches(unnamed))
            else:
                skipped.append("queue names")
        return _Plan(now, token, observations, members, member_pages, tuple(aggregates),
                     batches, catalog, tuple(skipped))

    # -- requests -----------------------------------------------------------------------

    async def _send(self, method: str, url: str, *, expect: tuple[int, ...] = (200,),
                    **kwargs: Any) -> httpx.Response:
        """An API request with the bearer token; on 401 one new token and one retry."""
        token = await self._auth.token()
        assert token is not None  # only a refused token can yield None
        for attempt in (1, 2):
            try:
                async with self._sem:
                    response = await super()._send(
                        method, url, expect=(*expect, 401),
                        headers={"Authorization": f"Bearer {token}"}, **kwargs)
            except SourceError as err:
                text = str(err)
                if token in text:  # a proxy echoing headers: never show the token
                    err.args = (text.replace(token, "***"),)
                raise
            if response.status_code != 401 or 401 in expect:
                return response
            renewed = await self._auth.token(failed=token) if attempt == 1 else None
            if renewed is None:
                break
            token = renewed
        raise SourceError("authentication refused (HTTP 401) even with a new token — check "
                          "the OAuth client's roles")

    @staticmethod
    def _error_body(data: dict[str, Any], key: str, what: str) -> None:
        """A 200 whose body is an error document, not the answer: say what Genesys said."""
        if key in data:
            return
        if "message" in data or "code" in data or "errors" in data:
            error = ErrorDoc.model_validate({k: clean(v, 200) for k, v in data.items()
                                             if k in ("message", "code")})
            text = error.message or error.code or "an error"
            raise SourceError(f"{what}: Genesys answered with an error: {clean(text, 160)}")

    # -- observations and contacts ------------------------------------------------------

    async def _observations(self) -> list[ObservationGroupDoc]:
        groups: list[ObservationGroupDoc] = []
        for batch in _batches(self.settings.queues):
            body = {"filter": _or_queues(batch), "metrics": list(OBSERVATION_METRICS),
                    "detailMetrics": ["oWaiting"]}
            data = await self._json("POST", OBSERVATIONS, "queue observations", json=body)
            self._error_body(data, "results", "queue observations")
            groups += validate(ObservationsDoc, data, "queue observations").results or []
        return groups

    def _media_ok(self, queue_id: str, media: str | None) -> bool:
        allowed = self.settings.queue(queue_id).media_types
        return media is None or allowed is None or media.lower() in allowed

    def _clamp(self, when: datetime, now: datetime) -> datetime | None:
        return not_future(when, now, self.settings.max_clock_skew_s)

    def _longest(self, queue_id: str, stats: StatsDoc | None, now: datetime) -> float | None:
        if stats is None:
            return None
        value = next((v for v in (stats.calculatedMetricValue, stats.max) if v is not None),
                     None)
        if value is None or value == 0:
            return None
        wait = longest_wait_s(value, now)
        if wait < -self.settings.max_clock_skew_s:
            raise SourceError(f"queue observations: queue {queue_id} longest waiting "
                              f"{value:.0f} lies {-wait:.0f} s in the future")
        if wait > self.settings.max_wait_s:
            raise SourceError(f"queue observations: queue {queue_id} longest waiting "
                              f"{value:.0f} means {wait:.0f} s, which is absurd")
        return max(wait, 0.0)

    def _live_and_contacts(self, groups: list[ObservationGroupDoc], now: datetime,
                           notes: list[str]) -> tuple[Contact, ...]:
        wanted = set(self.settings.queues)
        counts: dict[str, dict[str, int]] = {q: {} for q in wanted}
        longest: dict[str, float | None] = dict.fromkeys(wanted)
        seen_queues: set[str] = set()
        contacts: list[Contact] = []
        self._contact_cache.begin()
        dropped, problem, truncated = 0, "", []
        for group in groups:
            qid = (group.group.get("queueId") or "").lower()
            if qid not in wanted:
                continue
            seen_queues.add(qid)
            media = group.group.get("mediaType")
            if not self._media_ok(qid, media):
                continue
            for metric, value in group_counts(group).items():
                tally = counts[qid]
                # Users are counted once per queue whatever the media; contacts per media.
                merge = max if metric in _USER_METRICS else int.__add__
                tally[metric] = merge(tally[metric], value) if metric in tally else value
            for item in group.data:
                if item.metric == "oLongestWaiting":
                    wait = self._longest(qid, item.stats, now)
                    if wait is not None:
                        longest[qid] = max(wait, longest[qid] or 0.0)
                if item.metric != "oWaiting" or not item.observations:
                    continue
                if item.truncated:
                    truncated.append(qid)
                channel = _CHANNELS.get((media or "").lower(),
                                        self.settings.queue(qid).channel)
                for raw in item.observations:
                    try:
                        obs = ObservationDoc.model_validate(raw)
                    except ValidationError as err:
                        dropped += 1
                        problem = problem or describe(err)
                        continue
                    entered = self._clamp(obs.observationDate, now)
                    if entered is None or (now - entered).total_seconds() > \
                            self.settings.max_wait_s:
                        dropped += 1
                        problem = problem or (f"conversation {obs.conversationId}: waiting "
                                              f"since {_iso_ms(obs.observationDate)}")
                        continue
                    if obs.conversationId is None:
                        continue  # counted in oWaiting; nothing to list it by
                    if obs.conversationId in self._contact_cache:
                        continue
                    customer = clean(obs.participantName, 60) if obs.participantName else None
                    key = (qid, channel, int(entered.timestamp()), customer)
                    contacts.append(self._contact_cache.get(obs.conversationId, key, partial(
                        self._contact, obs.conversationId, key, entered)))
        self._contact_cache.commit()
        # The schema promises no group per queue (``results`` itself is optional): a
        # queue without one has unknown live counts, never zero waiting.
        missing = [q for q in self.settings.queues if q not in seen_queues]
        if missing:
            notes.append(f"no observations for {len(missing)} of {len(wanted)} queue(s) "
                         f"({clean(self._name(missing[0]), 40)}...): waiting counts unknown; "
                         "check the queue ids and the client's analytics permissions")
        self.live = {q: GenesysQueueNow(
            waiting=counts[q].get("oWaiting", 0), interacting=counts[q].get("oInteracting", 0),
            longest_wait_s=longest[q],
            on_queue_users=counts[q].get("oOnQueueUsers"),
            off_queue_users=counts[q].get("oOffQueueUsers"), taken_at=now)
            for q in self.settings.queues if q in seen_queues}
        listed: dict[str, int] = {}
        for c in contacts:
            listed[c.queue_id] = listed.get(c.queue_id, 0) + 1
        short = [f"{self._name(q)} {listed.get(q, 0)} of {now_.waiting}"
                 for q, now_ in self.live.items() if listed.get(q, 0) < now_.waiting]
        if truncated or (short and not dropped):
            notes.append("waiting conversations listed in part by Genesys (oldest and newest "
                          f"kept): {', '.join(short[:5]) or 'all counted'}")
        if dropped:
            notes.append(f"dropped {dropped} unreadable waiting conversation(s): {problem}")
        return tuple(contacts)

    def _contact(self, conversation_id: str, key: _ContactKey, entered: datetime) -> Contact:
        """A waiting conversation's Contact, built only when ``key`` changed (reuse.py)."""
        queue_id, channel, _, customer = key
        return Contact(id=conversation_id, queue_id=queue_id, channel=channel,
                       entered_at=entered, state=ContactState.WAITING, customer=customer,
                       source=self.name)

    # -- members and agents -------------------------------------------------------------

    async def _read_members(self, queue_ids: Sequence[str], notes: list[str]) -> None:
        listings = await gather(*(self._member_pages(q) for q in queue_ids))
        now = self._clock()
        for qid, listing in zip(queue_ids, listings, strict=True):
            self._members[qid] = Cached(now, None, listing)
            if listing.truncated:
                notes.append(f"members of {self._name(qid)}: cut at {listing.pages} pages "
                             "(max_pages)")

    async def _member_pages(self, queue_id: str) -> Listing[MemberDoc]:
        listing: Listing[MemberDoc] = Listing()
        what = f"members of queue {queue_id}"
        while True:
            if listing.pages >= self.settings.max_pages:
                listing.truncated = True
                break
            params = [("pageSize", str(PAGE_SIZE)), ("pageNumber", str(listing.pages + 1)),
                      ("expand", "routingStatus"), ("expand", "presence")]
            data = await self._json("GET", f"/api/v2/routing/queues/{queue_id}/members",
                                    what, params=params)
            self._error_body(data, "entities", what)
            listing.pages += 1
            entities = data.get("entities", [])  # optional in the schema: no members
            if not isinstance(entities, list):
                raise SourceError(f"{what}: 'entities' is not a list")
            number = data.get("pageNumber")
            if number is not None and number != listing.pages:
                raise SourceError(f"{what}: asked for page {listing.pages}, got "
                                  f"{clean(repr(number), 20)}")
            listing.read(MemberDoc, entities)
            # nextUri is followed by page number on our own host, never as a link.
            if not data.get("nextUri") or not entities:
                break
        listing.check(what)
        self._pages[queue_id] = max(1, listing.pages)
        return listing

    def _state(self, m: MemberDoc, now: datetime
               ) -> tuple[AgentStateKind, str | None, datetime] | str:
        """(state, reason, since) of a member, or why it cannot be shown."""
        user = m.user
        routing = m.routingStatus or (user.routingStatus if user else None)
        presence = user.presence if user else None  # a QueueMember has none of its own
        status = (routing.status or "").upper() if routing else ""
        started = routing.startTime if routing else None
        if status in _ROUTING:
            kind, reason = _ROUTING[status]
            since = started
        else:  # OFF_QUEUE (or unknown): what the agent is doing, by presence
            definition = presence.presenceDefinition if presence else None
            system = (definition.systemPresence or "") if definition else ""
            by_id = self._presence.get((definition.id or "").casefold()) if definition else None
            kind = by_id or self._presence.get(system.casefold()) or AgentStateKind.AWAY
            word = system.replace("_", " ").lower() or status.replace("_", " ").lower()
            reason = None if kind != AgentStateKind.AWAY else (
                "off queue" if word in ("available", "on queue", "") else word)
            dates = [d for d in (started, presence.modifiedDate if presence else None) if d]
            since = max(dates) if dates else None
        if since is None:
            return "no routing status or presence date"
        clamped = self._clamp(since, now)
        if clamped is None:
            return f"state since {_iso_ms(since)}, in the future"
        return kind, clean(reason, 40) if reason else None, clamped

    def _agents(self, now: datetime, notes: list[str]) -> tuple[Agent, ...]:
        members: dict[str, MemberDoc] = {}
        skills: dict[str, list[str]] = {}
        dropped = 0
        problem = ""
        for qid in self.settings.queues:
            cached = self._members.get(qid)
            if cached is None:
                continue
            listing = cached.value
            dropped += listing.dropped
            problem = problem or listing.first_problem
            for m in listing.records:
                uid = m.user_id
                if uid is None:  # the schema makes even the id optional
                    dropped += 1
                    problem = problem or "a member without an id"
                    continue
                members.setdefault(uid, m)
                if m.joined is not False:  # only joined members are routed to
                    skills.setdefault(uid, []).append(qid)
        agents: list[Agent] = []
        self._agent_cache.begin()
        for uid, m in members.items():
            state = self._state(m, now)
            if isinstance(state, str):
                dropped += 1
                problem = problem or f"user {uid}: {state}"
                continue
            kind, reason, since = state
            name = clean(m.name or (m.user.name if m.user else None) or uid, 80)
            key = (name, kind, reason, since, tuple(skills.get(uid, ())))
            agents.append(self._agent_cache.get(uid, key, partial(self._agent, uid, key)))
        self._agent_cache.commit()
        if dropped:
            notes.append(f"dropped {dropped} unreadable member record(s): {problem}")
        return tuple(agents)

    def _agent(self, user_id: str, key: _AgentKey) -> Agent:
        """A member's Agent, built only when ``key`` changed (see reuse.py)."""
        name, kind, reason, since, skills = key
        return Agent(id=user_id, name=name,
                     state=AgentState(kind=kind, reason=reason, since=since),
                     skills=skills, source=self.name)

    # -- aggregates -----------------------------------------------------------------------

    def _views(self) -> list[dict[str, Any]]:
        thresholds = {self.settings.queue(q).threshold_s for q in self.settings.queues}
        shorts = {self.settings.queue(q).short_abandon_s for q in self.settings.queues} - {0}
        views = []
        for t in sorted(thresholds):
            views.append({"target": "tAnswered", "name": f"tAnsweredBelow{t}s",
                          "function": "rangeBound", "range": {"lt": t * 1000}})
            views.append({"target": "tAbandon", "name": f"tAbandonFrom{t}s",
                          "function": "rangeBound", "range": {"gte": t * 1000}})
        for s in sorted(shorts):
            views.append({"target": "tAbandon", "name": f"tAbandonBelow{s}s",
                          "function": "rangeBound", "range": {"lt": s * 1000}})
        return views

    async def _read_aggregates(self, kind: Literal["interval", "day"], now: datetime) -> None:
        start = self._window_start(kind, now)
        end = max(now, start + timedelta(seconds=1))
        what = f"{kind} counters"
        results: list[AggregateGroupDoc] = []
        for batch in _batches(self.settings.queues):
            body = {"interval": f"{_iso_ms(start)}/{_iso_ms(end)}",
                    "groupBy": ["queueId", "mediaType"],
                    "filter": {"type": "and", "clauses": [_or_queues(batch)]},
                    "metrics": list(AGGREGATE_METRICS), "views": self._views()}
            data = await self._json("POST", AGGREGATES, what, json=body)
            self._error_body(data, "results", what)
            results += validate(AggregatesDoc, data, what).results or []
        stats = {q: self._queue_stats(q, start, results, what) for q in self.settings.queues}
        self._aggregates[kind] = Cached(self._clock(), start, stats)

    def _queue_stats(self, queue_id: str, start: datetime, groups: list[AggregateGroupDoc],
                     what: str) -> QueueStats | str:
        """A queue's counters (the table in the package docstring), or why they cannot be
        true; garbage (a negative count) is a ``SourceError``."""
        qs = self.settings.queue(queue_id)
        sums: dict[str, list[float]] = {}  # name -> [count, sum ms]

        def add(name: str, stats: StatsDoc) -> None:
            total = sums.setdefault(name, [0.0, 0.0])
            total[0] += stats.count or 0
            total[1] += stats.sum or 0.0

        for group in groups:
            if (group.group.get("queueId") or "").lower() != queue_id:
                continue
            if not self._media_ok(queue_id, group.group.get("mediaType")):
                continue
            for bucket in group.data:
                for metric in bucket.metrics:
                    if metric.qualifier is None and metric.metric and metric.stats:
                        add(metric.metric, metric.stats)
                for view in bucket.views:
                    if view.name and view.stats:
                        add(view.name, view.stats)

        def count(name: str) -> int:
            return int(sums.get(name, (0, 0))[0])

        def seconds(name: str) -> float:
            return sums.get(name, (0, 0.0))[1] / 1000

        answered, abandoned = count("tAnswered"), count("tAbandon")
        flowed_out = count("tFlowOut")
        within = count(f"tAnsweredBelow{qs.threshold_s}s")
        after = count(f"tAbandonFrom{qs.threshold_s}s")
        short = count(f"tAbandonBelow{qs.short_abandon_s}s") if qs.short_abandon_s else 0
        if short + after > abandoned:  # disjoint views of tAbandon (S <= T)
            return (f"{short} short + {after} abandons after {qs.threshold_s} s of "
                    f"{abandoned} abandoned")
        try:
            return checked_stats(
                queue_id=queue_id, window_start=start,
                offered=answered + abandoned + flowed_out, answered=answered,
                answered_within_threshold=within, abandoned=abandoned,
                abandoned_short=short, abandoned_after_threshold=after,
                flowed_out=flowed_out, wait_answered_s=seconds("tAnswered"),
                handled=count("tHandle"), handle_s=seconds("tHandle"))
        except ValidationError as err:
            raise SourceError(f"{what}: queue {queue_id}: {describe(err)}") from None

    # -- catalog and snapshot -------------------------------------------------------------

    def _name(self, queue_id: str) -> str:
        return self.settings.queue(queue_id).name or self._names.get(queue_id) or queue_id

    async def _refresh_catalog(self, notes: list[str]) -> None:
        unnamed = [q for q in self.settings.queues if not self.settings.queue(q).name]
        try:
            for batch in _batches(unnamed):
                params = [("pageSize", str(QUERY_BATCH))] + [("id", q) for q in batch]
                data = await self._json("GET", "/api/v2/routing/queues", "queue names",
                                        params=params)
                self._error_body(data, "entities", "queue names")
                for item in data.get("entities") or []:
                    try:
                        doc = QueueDoc.model_validate(item)
                    except ValidationError:
                        continue
                    if doc.name:
                        self._names[doc.id] = clean(doc.name, 80)
        except RateLimited:
            raise
        except SourceError as err:
            notes.append(f"queue names not read: {err}")  # ids stand in for names
            return
        self._catalog_at = self._clock()

    def _build(self, taken_at: datetime, agents: tuple[Agent, ...],
               contacts: tuple[Contact, ...], notes: list[str]) -> Snapshot:
        queues = []
        for qid in self.settings.queues:
            qs = self.settings.queue(qid)
            queues.append(Queue(id=qid, name=clean(self._name(qid), 80), channel=qs.channel,
                                sl_target=qs.sl_target, threshold_s=qs.threshold_s,
                                short_abandon_s=qs.short_abandon_s, source=self.name))
        istart = self.policy.interval_start(taken_at)
        dstart = self.policy.day_start(taken_at)
        windows: dict[str, dict[str, QueueStats]] = {"interval": {}, "day": {}}
        front: list[str] = []
        for kind, start in (("interval", istart), ("day", dstart)):
            cached = self._aggregates.get(kind)
            if cached is None or cached.window_start != start:
                continue
            rejected: dict[str, str] = {}
            for qid, stats in cached.value.items():
                if isinstance(stats, str):
                    rejected[clean(self._name(qid), 80)] = stats
                else:
                    windows[kind][qid] = stats
            note = rejection_note(f"{kind} counters", rejected)
            if note:
                front.append(note)
        notes[:0] = front  # first: the poller shows only the first few notes
        live = {q: QueueLive(queue_id=q, waiting=now.waiting, oldest_waiting_since=(
                    taken_at - timedelta(seconds=now.longest_wait_s)
                    if now.waiting and now.longest_wait_s is not None else None))
                for q, now in self.live.items()}
        return Snapshot(taken_at=taken_at, interval_start=istart, day_start=dstart,
                        queues=tuple(queues), interval_stats=windows["interval"],
                        day_stats=windows["day"], agents=agents, contacts=contacts,
                        queue_live=live)

    # -- actions --------------------------------------------------------------------------

    @staticmethod
    def _refusal(response: httpx.Response, what: str) -> ActionResult:
        status = response.status_code
        try:
            error = ErrorDoc.model_validate(response.json())
            reason = clean(error.message or error.code or "", 200) or "no reason given"
        except (ValueError, ValidationError, TypeError):
            reason = "no reason given"
        code = {403: "forbidden", 404: "not_found", 409: "changed", 412: "changed"}.get(
            status, "refused")
        return ActionResult(ok=False, code=code, message=f"{what}: HTTP {status}: {reason}")

    async def _waiting_participant(self, conversation_id: str
                                   ) -> tuple[ParticipantDoc, str] | ActionResult:
        """The conversation's active ACD participant (it waits in a queue) and the
        conversation's label, or why there is none (answered, ended, ...)."""
        what = f"conversation {conversation_id}"
        fetched = await self._act("GET", f"/api/v2/conversations/{conversation_id}")
        if isinstance(fetched, ActionResult):
            return fetched
        if fetched.status_code == 404:
            return ActionResult(ok=False, code=ActionCode.NOT_FOUND, message=f"{what} has ended")
        if fetched.status_code != 200:
            return self._refusal(fetched, f"reading {what}")
        doc = self._read_answer(fetched, ConversationDoc, what)
        if isinstance(doc, ActionResult):
            return doc
        active = [p for p in doc.participants if p.active()]
        waiting = [p for p in active if (p.purpose or "").casefold() == "acd"]
        if waiting:
            return waiting[-1], what
        agents = [p for p in active if (p.purpose or "").casefold() in ("agent", "user")]
        if agents:
            who = clean(agents[-1].name or "an agent", 60)
            return ActionResult(ok=False, code=ActionCode.NOT_WAITING,
                                message=f"{what} not moved: already answered by {who}")
        return ActionResult(ok=False, code=ActionCode.NOT_WAITING,
                            message=f"{what} not moved: no longer waiting in a queue")

    async def _replace(self, conversation_id: str, target: str, body: dict[str, str],
                       done: str) -> ActionResult:
        found = await self._waiting_participant(conversation_id)
        if isinstance(found, ActionResult):
            return found
        participant, what = found
        if target == "queue" and (participant.queueId or "").lower() == body["queueId"]:
            return ActionResult(ok=False, code=ActionCode.SAME_QUEUE,
                                message=f"{what} is already in {done}")
        if not is_uuid(participant.id):
            return ActionResult(ok=False, code=ActionCode.BAD_RESPONSE,
                                message=f"{what}: participant id "
                                f"{clean(participant.id or 'missing', 40)} is not an id; "
                                "not moved")
        sent = await self._act(
            "POST", f"/api/v2/conversations/{conversation_id}/participants/"
            f"{participant.id}/replace/{target}", json=body)
        if isinstance(sent, ActionResult):
            return sent
        if sent.status_code in (200, 201, 202, 204):
            return ActionResult(ok=True, code=ActionCode.OK,
                                message=f"{what} transferred to {done}")
        if sent.status_code == 404:
            return ActionResult(ok=False, code=ActionCode.NOT_FOUND,
                                message=f"{what} ended meanwhile; "
                                "not moved")
        refusal = self._refusal(sent, f"{what} not moved (answered or changed meanwhile?)")
        return refusal.model_copy(update={"code": "not_waiting"}) \
            if sent.status_code in (400, 409, 422) else refusal

    async def move_contact(self, contact_id: str, queue_id: str) -> ActionResult:
        """Blind-transfer a waiting conversation to another queue."""
        if not self.settings.allow_transfers:
            return self._unsupported("move contacts (allow_transfers = false)")
        if not is_uuid(contact_id):
            return ActionResult(ok=False, code=ActionCode.UNKNOWN_CONTACT,
                                message=f"not a conversation id: {clean(contact_id, 40)}")
        queue_id = queue_id.lower()
        if queue_id not in self.settings.queues:
            return ActionResult(ok=False, code=ActionCode.UNKNOWN_QUEUE,
                                message=f"no queue {clean(queue_id, 40)} in source {self.name}")
        return await self._replace(contact_id.lower(), "queue", {"queueId": queue_id},
                                   self._name(queue_id))

    async def assign_contact(self, contact_id: str, agent_id: str) -> ActionResult:
        """Blind-transfer a waiting conversation to one agent."""
        if not self.settings.allow_transfers:
            return self._unsupported("assign contacts (allow_transfers = false)")
        if not is_uuid(contact_id):
            return ActionResult(ok=False, code=ActionCode.UNKNOWN_CONTACT,
                                message=f"not a conversation id: {clean(contact_id, 40)}")
        if not is_uuid(agent_id):
            return ActionResult(ok=False, code=ActionCode.UNKNOWN_AGENT,
                                message=f"not a user id: {clean(agent_id, 40)}")
        agent_id = agent_id.lower()
        cached = self._agent_cache.last(agent_id)
        who = cached.name if cached else agent_id
        return await self._replace(contact_id.lower(), "agent", {"userId": agent_id}, who)

    async def set_agent_skills(self, agent_id: str, skills: Sequence[str]) -> ActionResult:
        """Make the agent a member of exactly ``skills`` among this source's queues
        (membership of other queues is left alone)."""
        if not self.settings.allow_membership:
            return self._unsupported("change agents' queues (allow_membership = false)")
        if not is_uuid(agent_id):
            return ActionResult(ok=False, code=ActionCode.UNKNOWN_AGENT,
                                message=f"not a user id: {clean(agent_id, 40)}")
        agent_id = agent_id.lower()
        wanted = list(dict.fromkeys(q.lower() for q in skills))
        unknown = [q for q in wanted if q not in self.settings.queues]
        if unknown:
            return ActionResult(ok=False, code=ActionCode.UNKNOWN_QUEUE, message="no queue(s) "
                                f"{', '.join(clean(q, 40) for q in unknown[:3])}")
        if any(q not in self._members for q in self.settings.queues):
            return ActionResult(ok=False, code=ActionCode.NOT_READY, message="queue membership not "
                                "read yet: try again after the next poll")
        current = {q for q in self.settings.queues
                   if any(m.id == agent_id for m in self._members[q].value.records)}
        changes = [(q, False) for q in wanted if q not in current] + \
                  [(q, True) for q in self.settings.queues if q in current and q not in wanted]
        if not changes:
            return ActionResult(ok=True, code=ActionCode.OK,
                                message="no change: already a member of "
                                "exactly those queues")
        done: list[str] = []
        for qid, delete in changes:
            params = [("delete", "true")] if delete else None
            sent = await self._act("POST", f"/api/v2/routing/queues/{qid}/members",
                                   json=[{"id": agent_id}], params=params)
            verb = "remove from" if delete else "add to"
            failure: ActionResult | None = None
            if isinstance(sent, ActionResult):
                failure = sent
            elif sent.status_code not in (200, 201, 202, 204):
                failure = self._refusal(sent, f"{verb} {self._name(qid)}")
            if failure is not None:
                message = failure.message
                if done:
                    message = f"{'; '.join(done)}; then {message}"
                return ActionResult(ok=False, code=ActionCode.PARTIAL if done else failure.code,
                                    message=message)
            done.append(f"{'removed from' if delete else 'added to'} {self._name(qid)}")
            self._remember_membership(qid, agent_id, not delete)
        return ActionResult(ok=True, code=ActionCode.OK, message="; ".join(done))

    def _remember_membership(self, queue_id: str, user_id: str, member: bool) -> None:
        """Show the change before the next member listing confirms it."""
        cached = self._members.get(queue_id)
        if cached is None:
            return
        listing = cached.value
        records = [m for m in listing.records if m.id != user_id]
        if member:
            known = self._agent_cache.last(user_id)
            records.append(MemberDoc(id=user_id, name=known.name if known else None,
                                     joined=True))
        self._members[queue_id] = Cached(cached.fetched_at, None,
                                         replace(listing, records=records))

    async def set_emergency(self, group: str, active: bool) -> ActionResult:
        """Switch the configured emergency group on or off (read, then write back)."""
        group_id = self.settings.emergency_group_id
        if not group_id:
            return self._unsupported("switch emergency groups (no emergency_group_id)")
        if group.strip().lower() not in ("", group_id):
            return ActionResult(ok=False, code=ActionCode.REFUSED, message="only the configured "
                                "emergency group can be switched from this console")
        url = f"/api/v2/architect/emergencygroups/{group_id}"
        fetched = await self._act("GET", url)
        if isinstance(fetched, ActionResult):
            return fetched
        if fetched.status_code != 200:
            return self._refusal(fetched, "reading the emergency group")
        try:
            raw = self._client.parse_json(fetched)
            doc = EmergencyGroupDoc.model_validate(raw)
        except (SourceError, ValidationError) as err:
            message = describe(err) if isinstance(err, ValidationError) else str(err)
            return ActionResult(ok=False, code=ActionCode.BAD_RESPONSE, message="emergency group: "
                                f"unreadable answer ({message}); not changed")
        label = f"emergency group {clean(doc.name or group_id, 60)}"
        state = "active" if active else "inactive"
        if doc.enabled is active:
            return ActionResult(ok=True, code=ActionCode.OK, message=f"{label} was already {state}")
        # Written back whole (less the read-only fields), version included, so a
        # concurrent edit is refused (409).
        sent = await self._act("PUT", url, json=emergency_update(raw, active))
        if isinstance(sent, ActionResult):
            return sent
        if sent.status_code == 409:
            return ActionResult(ok=False, code=ActionCode.CHANGED,
                                message=f"{label} changed meanwhile;"
                                " not switched — try again")
        if sent.status_code != 200:
            return self._refusal(sent, f"switching {label}")
        try:
            after = EmergencyGroupDoc.model_validate(self._client.parse_json(sent))
        except (SourceError, ValidationError):
            return ActionResult(ok=True, code=ActionCode.OK, message=f"{label} switched {state} "
                                "(unreadable confirmation)")
        if after.enabled is not active:
            return ActionResult(ok=False, code=ActionCode.REFUSED, message=f"{label} is still "
                                f"{'active' if after.enabled else 'inactive'}")
        return ActionResult(ok=True, code=ActionCode.OK, message=f"{label} is now {state}")

    # -- agent state ------------------------------------------------------------------

    async def _presence_definitions(self) -> tuple[OrgPresenceDoc, ...] | ActionResult:
        """The org's active presence definitions, read when a change needs them and kept
        for ``catalog_refresh_s``."""
        now = self._clock()
        if self._presences is not None and (
                now - self._presences.fetched_at).total_seconds() < \
                self.settings.catalog_refresh_s:
            return self._presences.value
        fetched = await self._act("GET", PRESENCES, params=[("deactivated", "FALSE")])
        if isinstance(fetched, ActionResult):
            return fetched
        if fetched.status_code != 200:
            return self._refusal(fetched, "reading the presence definitions")
        try:
            data = self._client.parse_json(fetched)
        except SourceError as err:
            return ActionResult(ok=False, code=ActionCode.BAD_RESPONSE, message=str(err))
        entities = data.get("entities") if isinstance(data, dict) else None
        found: list[OrgPresenceDoc] = []
        for item in entities if isinstance(entities, list) else ():
            try:
                doc = OrgPresenceDoc.model_validate(item)
            except ValidationError:
                continue  # one unreadable definition: the others can still be chosen
            if doc.deactivated is not True:
                found.append(doc)
        self._presences = Cached(now, None, tuple(found))
        return self._presences.value

    @staticmethod
    def _definition_for(verb: str, reason: str | None, defs: Sequence[OrgPresenceDoc]
                        ) -> OrgPresenceDoc | None:
        """The presence that is ``verb`` (``reason``): available is On Queue, logout is
        Offline; away:<reason> is the presence of that label, else the system presence
        of that name (lunch -> Meal); system definitions before user-made ones."""
        def system(word: str) -> OrgPresenceDoc | None:
            matches = [d for d in defs if _norm(d.systemPresence) == word]
            matches.sort(key=lambda d: (d.type or "").casefold() != "system")
            return matches[0] if matches else None

        if verb == AVAILABLE:
            return system("onqueue")
        if verb == LOGOUT:
            return system("offline")
        wanted = (reason or "away").casefold()
        for d in defs:
            if _norm(d.systemPresence) in _NOT_AWAY:
                continue
            if any(label.strip().casefold() == wanted for label in d.languageLabels.values()):
                return d
        return system(_AWAY_SYSTEM.get(wanted, _norm(wanted)))

    async def set_agent_state(self, agent_id: str, state: str) -> ActionResult:
        """Put a user into a state of the shared vocabulary (``domain.agent_control``).

        available: a user not responding gets routing status IDLE back (``PUT
        /users/{id}/routingstatus``); one off queue is put On Queue by presence (``PATCH
        /users/{id}/presences/purecloud``), as Genesys itself does. away:<reason> and
        logout are presences (the definition of that label or system presence; Offline).
        end_acw is refused: Genesys keeps an agent INTERACTING through after-call work
        and has no call to end another user's wrap-up. A user on a conversation is never
        changed. Each answer is checked: it must be this user, in the state asked."""
        if not self.settings.allow_agent_state:
            return self._unsupported("change agents' states (allow_agent_state = false)")
        if not is_uuid(agent_id):
            return ActionResult(ok=False, code=ActionCode.UNKNOWN_AGENT,
                                message=f"not a user id: {clean(agent_id, 40)}")
        req = parse_state(state)
        if req is None:
            return ActionResult(ok=False, code=ActionCode.UNKNOWN_STATE,
                                message=f"not a state: {clean(state, 40)!r}")
        if req.verb == END_ACW:
            return ActionResult(ok=False, code=ActionCode.UNSUPPORTED, message="Genesys Cloud "
                                "keeps an agent interacting through after-call work and has "
                                "no call to end another user's wrap-up; not changed")
        agent_id = agent_id.lower()
        known = self._agent_cache.last(agent_id)
        who = known.name if known else agent_id
        url = f"/api/v2/users/{agent_id}/routingstatus"
        fetched = await self._act("GET", url)
        if isinstance(fetched, ActionResult):
            return fetched
        if fetched.status_code == 404:
            return ActionResult(ok=False, code=ActionCode.NOT_FOUND,
                                message=f"user {agent_id} no longer exists")
        if fetched.status_code != 200:
            return self._refusal(fetched, f"reading {who}'s routing status")
        current = self._read_answer(fetched, RoutingStatusDoc, f"{who}'s routing status")
        if isinstance(current, ActionResult):
            return current
        wrong = self._other_user(current, agent_id, f"reading {who}'s routing status")
        if wrong is not None:
            return wrong
        status = (current.status or "").upper()
        if status in _ON_CONTACT:
            return ActionResult(ok=False, code=ActionCode.ON_CONTACT, message=f"{who} is on a "
                                f"conversation ({status.lower()}): try when it ends")
        if req.verb == AVAILABLE and status == "IDLE":
            return ActionResult(ok=True, code=ActionCode.OK,
                                message=f"{who} was already available")
        if req.verb == AVAILABLE and status == "NOT_RESPONDING":
            return await self._idle_again(agent_id, who)
        defs = await self._presence_definitions()
        if isinstance(defs, ActionResult):
            return defs
        target = self._definition_for(req.verb, req.reason, defs)
        if target is None:
            names = ", ".join(sorted({d.label for d in defs})[:8]) or "none"
            return ActionResult(ok=False, code=ActionCode.UNKNOWN_STATE, message=f"no presence "
                                f"for {req.describe()} in this org (has: {names})")
        return await self._put_presence(agent_id, who, target, defs)

    def _other_user(self, doc: RoutingStatusDoc, agent_id: str, what: str
                    ) -> ActionResult | None:
        if doc.userId is not None and doc.userId.lower() != agent_id:
            return ActionResult(ok=False, code=ActionCode.BAD_RESPONSE, message=f"{what}: the "
                                f"answer is about user {clean(doc.userId, 40)}; not changed")
        return None

    async def _idle_again(self, agent_id: str, who: str) -> ActionResult:
        """A user on queue but not responding (missed an alert) back to IDLE."""
        sent = await self._act("PUT", f"/api/v2/users/{agent_id}/routingstatus",
                               json={"status": "IDLE"})
        if isinstance(sent, ActionResult):
            return sent
        if sent.status_code != 200:
            return self._refusal(sent, f"making {who} available")
        try:
            after = RoutingStatusDoc.model_validate(self._client.parse_json(sent))
        except (SourceError, ValidationError):
            return ActionResult(ok=True, code=ActionCode.OK, message=f"{who}: available asked; "
                                "the answer was unreadable — check the next snapshot")
        if after.userId is not None and after.userId.lower() != agent_id:
            return ActionResult(ok=False, code=ActionCode.BAD_RESPONSE,
                                message=f"making {who} available: the answer is about user "
                                f"{clean(after.userId, 40)}; check the next snapshot")
        status = (after.status or "").upper()
        if status == "IDLE":
            return ActionResult(ok=True, code=ActionCode.OK,
                                message=f"{who} is available again (was not responding)")
        if status in _ON_CONTACT:
            return ActionResult(ok=True, code=ActionCode.OK, message=f"{who} is available "
                                "again and already on a conversation")
        return ActionResult(ok=False, code=ActionCode.CHANGED, message=f"{who} is "
                            f"{clean(status.lower() or 'in no routing status', 30)}, not "
                            "available (changed meanwhile, or Genesys refused)")

    async def _put_presence(self, agent_id: str, who: str, target: OrgPresenceDoc,
                            defs: Sequence[OrgPresenceDoc]) -> ActionResult:
        sent = await self._act("PATCH", f"/api/v2/users/{agent_id}/presences/purecloud",
                               json={"presenceDefinition": {"id": target.id}})
        if isinstance(sent, ActionResult):
            return sent
        if sent.status_code == 404:
            return ActionResult(ok=False, code=ActionCode.NOT_FOUND,
                                message=f"user {agent_id} no longer exists")
        if sent.status_code != 200:
            return self._refusal(sent, f"putting {who} in {target.label}")
        try:
            after = UserPresenceDoc.model_validate(self._client.parse_json(sent))
        except (SourceError, ValidationError):
            return ActionResult(ok=True, code=ActionCode.OK, message=f"{who}: {target.label} "
                                "asked; the answer was unreadable — check the next snapshot")
        got = after.presenceDefinition.id if after.presenceDefinition else None
        if got is not None and got.lower() != target.id:
            name = next((d.label for d in defs if d.id == got.lower()), clean(got, 40))
            return ActionResult(ok=False, code=ActionCode.CHANGED, message=f"{who} is in "
                                f"{name}, not {target.label} (changed meanwhile, or Genesys "
                                "refused)")
        caveat = ("; Genesys Cloud is not this user's primary presence source, so it may "
                  "not show" if after.primary is False else "")
        return ActionResult(ok=True, code=ActionCode.OK,
                            message=f"{who} is now {target.label}{caveat}")
