"""The ``twilio`` source itself: planning, requests, mapping and actions (the package
docstring says what a poll reads and how it is counted).
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any, Literal
from urllib.parse import parse_qsl, quote, urlsplit

import httpx
from pydantic import ValidationError

from supervisor_tui.domain.agent_control import AWAY, END_ACW, LOGOUT, parse_state
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
    Tier,
)
from supervisor_tui.domain.text import clean
from supervisor_tui.sources.base import Capability, SourceError
from supervisor_tui.sources.checks import D, Listing, not_future, validate
from supervisor_tui.sources.plausible import rejection_note
from supervisor_tui.sources.reuse import Reuse
from supervisor_tui.sources.twilio.documents import (
    LISTINGS,
    ActivityDoc,
    BulkRealtimeDoc,
    CumulativeDoc,
    PageMeta,
    TaskDoc,
    TaskQueueDoc,
    TwilioErrorDoc,
    WorkerDoc,
    get_path,
    parse_attributes,
    queue_stats,
    set_path,
)
from supervisor_tui.sources.twilio.settings import TwilioSettings, sid_ok
from supervisor_tui.sources.web import (
    Cached,
    PlannedSource,
    RateLimited,
    WebClient,
    gather,
    secret_from_env,
)

log = logging.getLogger(__name__)

#: the bulk real-time statistics call takes at most this many queues
BULK_MAX = 50
#: the largest page TaskRouter serves
PAGE_SIZE = 1000

# Task channel unique names (Twilio's defaults and common custom ones) -> our channels;
# anything else takes the queue's configured channel.
_CHANNELS = {"voice": Channel.VOICE, "video": Channel.VOICE, "chat": Channel.CHAT,
             "sms": Channel.CHAT, "messaging": Channel.CHAT, "whatsapp": Channel.CHAT,
             "email": Channel.EMAIL, "facebook": Channel.SOCIAL, "social": Channel.SOCIAL}


def _iso(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# -- state kept between polls ---------------------------------------------------------


@dataclass(frozen=True)
class Realtime:
    """A queue's real-time statistics, validated."""

    pending: int | None
    reserved: int | None
    longest_wait_s: int
    longest_sid: str | None
    available_workers: int
    eligible_workers: int
    workers_by_activity: dict[str, int]


@dataclass(frozen=True)
class _Counted:
    """A queue's counters for one window, or why they were rejected; with a caveat."""

    stats: QueueStats | None
    note: str | None


@dataclass(frozen=True)
class _Job:
    """A per-queue refresh: interval/day counters or the queue's members."""

    kind: Literal["interval", "day", "members"]
    queue_id: str
    missing: bool
    staleness: float  # age / refresh period
    cost: int


@dataclass(frozen=True)
class _Plan:
    made_at: datetime
    catalog_cost: int  # 0: the catalog is fresh
    queue_ids: tuple[str, ...]
    bulk_calls: int
    worker_pages: int
    task_pages: int
    jobs: tuple[_Job, ...]

    @property
    def cost(self) -> int:
        return (self.catalog_cost + self.bulk_calls + self.worker_pages + self.task_pages
                + sum(j.cost for j in self.jobs))


#: what an agent or contact is built from: unchanged, last poll's object is reused
#: (a worker: name, state, since, away reason, queues, team; a task: queue, channel,
#: tier, whole seconds since it entered, customer)
_AgentKey = tuple[str | None, AgentStateKind, datetime, str | None, tuple[str, ...], str]
_ContactKey = tuple[str, Channel, Tier, int, str | None]

_KIND_RANK = {"interval": 0, "members": 1, "day": 2}
_STATUS_WORDS = {
    "reserved": "being offered to an agent right now",
    "assigned": "already answered",
    "wrapping": "already answered (agent wrapping up)",
    "completed": "already completed",
    "canceled": "canceled (the customer left)",
}


class TwilioSource(PlannedSource[_Plan]):
    """One TaskRouter workspace as a source; ``clock`` is injectable for tests."""

    #: what an action request may answer without raising (the rest are errors)
    action_statuses = (200, 400, 404, 409, 412)

    def __init__(self, name: str, policy: IntervalPolicy, settings: TwilioSettings,
                 transport: httpx.AsyncBaseTransport | None = None,
                 clock: Callable[[], datetime] | None = None) -> None:
        super().__init__(name, policy, clock)
        self.settings = settings
        password = secret_from_env(settings.password_env, f"source {name}: auth token")
        user = settings.account_sid or secret_from_env(settings.username_env,
                                                       f"source {name}: API key SID")
        self._client = WebClient(name, settings.base_url, auth=(user or "", password or ""),
                                 headers={"Accept": "application/json"},
                                 timeout_s=settings.timeout_s, ca_bundle=settings.ca_bundle,
                                 budget=settings.make_budget(), transport=transport)
        self._ws = f"/v1/Workspaces/{settings.workspace_sid}"
        self._sem = asyncio.Semaphore(settings.max_concurrency)
        self._kinds = settings.activity_kinds()
        caps = {Capability.SNAPSHOT}
        if settings.move_attribute:
            caps.add(Capability.REASSIGN_CONTACT)
        if settings.agent_queues_attribute:
            caps.add(Capability.MOVE_AGENTS)
        if settings.allow_agent_state:
            caps.add(Capability.AGENT_STATE)
        self.capabilities = frozenset(caps)
        # catalog
        self._queues: dict[str, Queue] = {}
        self._activities: dict[str, ActivityDoc] = {}
        self._catalog_at: datetime | None = None
        # per-queue caches
        self._stats: dict[tuple[str, str], Cached[_Counted]] = {}
        self._members: dict[str, Cached[frozenset[str]]] = {}
        self._pages: dict[str, int] = {}
        # identity reuse: unchanged agents/contacts keep their objects (see index.py)
        self._agent_cache: Reuse[Agent] = Reuse()
        self._contact_cache: Reuse[Contact] = Reuse()
        #: validated real-time statistics of the last poll, by queue SID
        self.live: dict[str, Realtime] = {}
        #: what the last poll dropped or doubted, one line each (also logged)
        self.notes: tuple[str, ...] = ()

    # -- Source API ---------------------------------------------------------------------

    async def snapshot(self) -> Snapshot:
        now = self._clock()
        plan = self._take_plan(now)
        notes: list[str] = []
        with self._counting_requests():
            if plan.catalog_cost:
                await self._refresh_catalog(notes)
                if plan.queue_ids != tuple(self._queues):
                    plan = self._plan(now, catalog_done=True)
            live, workers, tasks, _ = await gather(
                self._bulk_realtime(plan.queue_ids),
                self._list("Workers", WorkerDoc, {}, "workers"),
                self._list("Tasks", TaskDoc, {"AssignmentStatus": ["pending", "reserved"]},
                           "tasks"),
                self._run_jobs(plan.jobs, notes),
            )
        taken_at = self._clock()
        self.live = live
        agents = self._agents(workers, taken_at, notes)
        contacts = self._contacts(tasks, taken_at, notes)
        self._cross_check(tasks, contacts, notes)
        snap = self._build(taken_at, agents, contacts, notes)
        self.notes = tuple(notes)
        for note in notes:
            log.warning("source %s: %s", self.name, note)
        return snap

    # -- planning -----------------------------------------------------------------------

    def _plan(self, now: datetime, catalog_done: bool = False) -> _Plan:
        s = self.settings
        catalog_due = not catalog_done and (
            self._catalog_at is None
            or (now - self._catalog_at).total_seconds() >= s.catalog_refresh_s)
        catalog_cost = (self._pages.get("TaskQueues", 1) + self._pages.get("Activities", 1)
                        if catalog_due else 0)
        queue_ids = tuple(self._queues) or tuple(s.queues or ())
        bulk = math.ceil(len(queue_ids) / BULK_MAX)
        worker_pages = self._pages.get("Workers", 1)
        task_pages = self._pages.get("Tasks", 1)
        mandatory = catalog_cost + bulk + worker_pages + task_pages
        budget = self._client.budget
        room = (budget.remaining() - mandatory) if budget is not None else 10**9
        jobs = self._pick_jobs(self._due_jobs(now, queue_ids), room)
        return _Plan(now, catalog_cost, queue_ids, bulk, worker_pages, task_pages, jobs)

    def _due_jobs(self, now: datetime, queue_ids: Iterable[str]) -> list[_Job]:
        s = self.settings
        periods: list[tuple[Literal["interval", "day"], float]] = [
            ("interval", s.interval_refresh_s)]
        if s.day_stats:
            periods.append(("day", s.day_refresh_s))
        jobs = []
        for qid in queue_ids:
            for kind, period in periods:
                cached = self._stats.get((qid, kind))
                start = self._window_start(kind, now)
                if cached is None or cached.window_start != start:
                    jobs.append(_Job(kind, qid, True, math.inf, 1))
                else:
                    age = (now - cached.fetched_at).total_seconds()
                    if age >= period:
                        jobs.append(_Job(kind, qid, False, age / period, 1))
            members = self._members.get(qid)
            pages = self._pages.get(f"members:{qid}", 1)
            if members is None:
                jobs.append(_Job("members", qid, True, math.inf, pages))
            else:
                age = (now - members.fetched_at).total_seconds()
                if age >= s.membership_refresh_s:
                    jobs.append(_Job("members", qid, False, age / s.membership_refresh_s,
                                     pages))
        return jobs

    def _pick_jobs(self, jobs: list[_Job], room: int) -> tuple[_Job, ...]:
        """What fits: missing data first (no per-poll cap), then the stalest refreshes up
        to ``max_jobs_per_poll``; never more than the budget has room for."""
        jobs.sort(key=lambda j: (not j.missing, _KIND_RANK[j.kind], -j.staleness))
        picked: list[_Job] = []
        refreshes = 0
        for job in jobs:
            if job.cost > room:
                continue
            if not job.missing:
                if refreshes >= self.settings.max_jobs_per_poll:
                    continue
                refreshes += 1
            picked.append(job)
            room -= job.cost
        return tuple(picked)

    # -- requests -----------------------------------------------------------------------

    async def _send(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        async with self._sem:
            return await super()._send(method, url, **kwargs)

    async def _list(self, resource: str, model: type[D], params: dict[str, Any], what: str,
                    page_key: str | None = None) -> Listing[D]:
        """Every page of a list call, following ``meta.next_page_url`` on our own host."""
        key = LISTINGS[resource]
        path = f"{self._ws}/{resource}"
        query: list[tuple[str, str]] = [("PageSize", str(PAGE_SIZE))]
        for name, value in params.items():
            for item in value if isinstance(value, list) else [value]:
                query.append((name, str(item)))
        listing: Listing[D] = Listing()
        seen: set[str] = set()
        url: str | None = path
        while url is not None:
            if listing.pages >= self.settings.max_pages:
                listing.truncated = True
                break
            data = await self._json("GET", url, what,
                                    params=query if listing.pages == 0 else None)
            listing.pages += 1
            items = data.get(key)
            if not isinstance(items, list):
                raise SourceError(f"{what}: no '{key}' list in the answer")
            listing.read(model, items)
            meta = validate(PageMeta, data.get("meta") or {}, f"{what}: page meta")
            url = self._next_page(meta.next_page_url, path, what)
            if url is not None:
                if url in seen:
                    raise SourceError(f"{what}: paging goes round in circles")
                seen.add(url)
        self._pages[page_key or resource] = max(1, listing.pages)
        listing.check(what)
        return listing

    @staticmethod
    def _next_page(link: str | None, path: str, what: str) -> str | None:
        """The next page as a path on *our* base URL: credentials never follow a link
        to another host, and a link to another resource is an error."""
        if not link:
            return None
        parts = urlsplit(link)
        if parts.path.rstrip("/") != path:
            raise SourceError(f"{what}: next page link points elsewhere "
                              f"({clean(link, 80)})")
        query = "&".join(f"{quote(k, safe='')}={quote(v, safe='')}"
                         for k, v in parse_qsl(parts.query, keep_blank_values=True))
        return f"{path}?{query}" if query else path

    # -- catalog ------------------------------------------------------------------------

    async def _activities_or_error(self) -> Listing[ActivityDoc] | str:
        """The activities, or why not (as text: ``gather`` takes a returned exception
        for a failure): only agent-state changes need them, so a bad list must not fail
        a poll (a 429 still does, for its Retry-After)."""
        try:
            return await self._list("Activities", ActivityDoc, {}, "activities")
        except RateLimited:
            raise
        except SourceError as err:
            return str(err)

    async def _refresh_catalog(self, notes: list[str]) -> None:
        try:
            queues, activities = await gather(
                self._list("TaskQueues", TaskQueueDoc, {}, "task queues"),
                self._activities_or_error())
        except RateLimited:
            raise
        except SourceError as err:
            if not self._queues:
                raise  # nothing to show without the queue list
            notes.append(f"catalog not refreshed: {err}")
            return
        if isinstance(activities, str):
            kept = "the last list kept" if self._activities else "read again when needed"
            notes.append(f"activities not read ({kept}; only agent-state changes use "
                         f"them): {activities}")
        else:
            self._activities = {a.sid: a for a in activities.records}
        listed = {q.sid: q for q in queues.records}
        wanted = self.settings.queues or list(listed)
        missing = [sid for sid in wanted if sid not in listed]
        if missing:
            notes.append(f"queue(s) not in the workspace: {', '.join(missing[:5])}")
        built: dict[str, Queue] = {}
        for sid in wanted:
            if sid not in listed:
                continue
            qs = self.settings.queue(sid)
            built[sid] = Queue(id=sid, name=clean(qs.name or listed[sid].friendly_name or sid,
                                                  80),
                               channel=qs.channel, sl_target=qs.sl_target,
                               threshold_s=qs.threshold_s, short_abandon_s=qs.short_abandon_s,
                               source=self.name)
        for sid in set(self._queues) - set(built):  # forget removed queues' caches
            self._members.pop(sid, None)
            for kind in ("interval", "day"):
                self._stats.pop((sid, kind), None)
        self._queues = built
        self._catalog_at = self._clock()

    # -- statistics -----------------------------------------------------------------------

    def _bulk_body(self, sids: list[str]) -> dict[str, list[str]]:
        key = self.settings.bulk_body_key
        return {"QueueSids": sids, "queueSids": sids} if key == "both" else {key: sids}

    async def _bulk_realtime(self, queue_ids: Sequence[str]) -> dict[str, Realtime]:
        batches = [list(queue_ids[i:i + BULK_MAX]) for i in range(0, len(queue_ids),
                                                                  BULK_MAX)]
        docs = await gather(*(
            self._json("POST", f"{self._ws}/TaskQueues/RealTimeStatistics",
                       "real-time statistics", json=self._bulk_body(batch))
            for batch in batches))
        live: dict[str, Realtime] = {}
        for batch, data in zip(batches, docs, strict=True):
            doc = validate(BulkRealtimeDoc, data, "real-time statistics")
            for item in doc.task_queue_data or ():
                if item.longest_task_waiting_age > self.settings.max_task_age_s:
                    raise SourceError(f"real-time statistics: queue {item.task_queue_sid} "
                                      f"longest wait {item.longest_task_waiting_age} s is "
                                      "absurd")
                by_status = item.tasks_by_status
                live[item.task_queue_sid] = Realtime(
                    pending=by_status.pending if by_status else None,
                    reserved=by_status.reserved if by_status else None,
                    longest_wait_s=item.longest_task_waiting_age,
                    longest_sid=item.longest_task_waiting_sid
                    if sid_ok("WT", item.longest_task_waiting_sid) else None,
                    available_workers=item.total_available_workers,
                    eligible_workers=item.total_eligible_workers,
                    workers_by_activity={clean(a.friendly_name, 60): a.workers
                                         for a in item.activity_statistics or ()})
            missing = [sid for sid in batch if sid not in live]
            if missing:
                raise SourceError(f"real-time statistics came back for "
                                  f"{len(batch) - len(missing)} of {len(batch)} queues "
                                  f"(missing {missing[0]}); check bulk_body_key")
        return live

    async def _run_jobs(self, jobs: Sequence[_Job], notes: list[str]) -> None:
        await gather(*(self._run_job(job, notes) for job in jobs))

    async def _run_job(self, job: _Job, notes: list[str]) -> None:
        if job.kind == "members":
            listing = await self._list("Workers", WorkerDoc, {"TaskQueueSid": job.queue_id},
                                       f"members of {job.queue_id}",
                                       page_key=f"members:{job.queue_id}")
            if listing.truncated:
                notes.append(f"members of {job.queue_id}: cut at {listing.pages} pages")
            self._members[job.queue_id] = Cached(
                self._clock(), None, frozenset(w.sid for w in listing.records))
            return
        now = self._clock()
        start = self._window_start(job.kind, now)
        qs = self.settings.queue(job.queue_id)
        thresholds = sorted({qs.threshold_s, qs.short_abandon_s} - {0})
        params: dict[str, str] = {"SplitByWaitTime": ",".join(map(str, thresholds))}
        if job.kind == "interval" and self.settings.stats_window == "Minutes":
            params["Minutes"] = str(max(1, math.ceil((now - start).total_seconds() / 60)))
        else:
            params["StartDate"] = _iso(start)
        if qs.task_channel:
            params["TaskChannel"] = qs.task_channel
        what = f"{job.kind} statistics of {job.queue_id}"
        data = await self._json(
            "GET", f"{self._ws}/TaskQueues/{job.queue_id}/CumulativeStatistics", what,
            params=params)
        doc = validate(CumulativeDoc, data, what)
        if doc.task_queue_sid not in (None, job.queue_id):
            raise SourceError(f"{what}: the answer is about queue {doc.task_queue_sid}")
        if doc.start_time is not None and abs((doc.start_time - start).total_seconds()) > 120:
            # e.g. the window parameter was ignored and the default 15 minutes served
            raise SourceError(f"{what}: counted from {_iso(doc.start_time)}, asked for "
                              f"{_iso(start)}")
        stats, note = queue_stats(job.queue_id, start, doc, qs)
        self._stats[(job.queue_id, job.kind)] = Cached(now, start, _Counted(stats, note))

    # -- mapping --------------------------------------------------------------------------

    def _clamp(self, when: datetime, now: datetime) -> datetime | None:
        return not_future(when, now, self.settings.max_clock_skew_s)

    def _agents(self, listing: Listing[WorkerDoc], now: datetime,
                notes: list[str]) -> tuple[Agent, ...]:
        s = self.settings
        skills: dict[str, list[str]] = {}
        for qid in self._queues:
            cached = self._members.get(qid)
            for wk in cached.value if cached else ():
                skills.setdefault(wk, []).append(qid)
        unmapped: set[str] = set()
        dropped = listing.dropped
        problem = listing.first_problem
        agents = []
        self._agent_cache.begin()
        for w in listing.records:
            since_raw = w.date_status_changed or w.date_updated
            since = self._clamp(since_raw, now) if since_raw else None
            if since is None:
                dropped += 1
                problem = problem or (f"worker {w.sid}: status changed in the future "
                                      f"({_iso(since_raw)})" if since_raw else
                                      f"worker {w.sid}: no date_status_changed")
                continue
            activity = clean(w.activity_name or "", 60)
            kind = self._kinds.get(activity.strip().casefold())
            if kind is None:
                if activity:
                    unmapped.add(activity)
                kind = AgentStateKind.AVAILABLE if w.available else AgentStateKind.AWAY
            reason = activity.lower() if kind == AgentStateKind.AWAY and activity else None
            attrs = parse_attributes(w.attributes)
            team = get_path(attrs, s.team_attribute)
            key = (w.friendly_name, kind, since, reason, tuple(skills.get(w.sid, ())),
                   team if isinstance(team, str) else "")
            agents.append(self._agent_cache.get(w.sid, key, partial(self._agent, w.sid, key)))
        self._agent_cache.commit()
        if unmapped:
            notes.append("activities not in activity_map (taken from 'available'): "
                         + ", ".join(sorted(unmapped)[:5]))
        if dropped:
            notes.append(f"dropped {dropped} unreadable worker record(s): {problem}")
        if listing.truncated:
            notes.append(f"workers: listing cut at {listing.pages} pages (max_pages)")
        return tuple(agents)

    def _agent(self, sid: str, key: _AgentKey) -> Agent:
        """A worker's Agent, built only when ``key`` changed (see reuse.py)."""
        name, kind, since, reason, skills, team = key
        return Agent(id=sid, name=clean(name or sid, 80), team=clean(team, 40),
                     state=AgentState(kind=kind, since=since, reason=reason),
                     skills=skills, source=self.name)

    def _tier(self, attrs: dict[str, Any] | None, priority: int) -> Tier:
        value = get_path(attrs, self.settings.tier_attribute)
        if isinstance(value, str):
            try:
                return Tier(value.strip().lower())
            except ValueError:
                pass
        for tier in (Tier.VIP, Tier.GOLD):
            floor = self.settings.tier_by_priority.get(tier)
            if floor is not None and priority >= floor:
                return tier
        return Tier.STANDARD

    def _entered_at(self, t: TaskDoc, now: datetime) -> datetime | str:
        """When the task entered its queue, or why that is absurd.

        The platform's absolute date, not ``now - age``: ``age`` is whole seconds read at
        a slightly different moment each poll, so waits would jitter and every contact
        would be a new object each poll (see index.py). ``_clock_skew`` says when our
        clock and Twilio's disagree.
        """
        limit = self.settings.max_task_age_s
        aged = "age" in t.model_fields_set
        if aged and t.age > limit:
            return f"age {t.age} s"
        if t.task_queue_entered_date is not None:
            if t.date_created and (t.task_queue_entered_date - t.date_created
                                   ).total_seconds() < -1:
                return "entered its queue before it was created"
            entered = self._clamp(t.task_queue_entered_date, now)
            if entered is None:
                return f"entered its queue in the future ({_iso(t.task_queue_entered_date)})"
            if (now - entered).total_seconds() > limit:
                return f"entered its queue too long ago ({_iso(entered)})"
            return entered
        if aged:
            return now - timedelta(seconds=t.age)
        return "no age or dates"

    def _clock_skew(self, tasks: Iterable[TaskDoc], now: datetime) -> float | None:
        """Seconds Twilio's clock is ahead of ours (creation + age = its now), or None."""
        for t in tasks:
            if t.date_created is not None and "age" in t.model_fields_set:
                return (t.date_created + timedelta(seconds=t.age) - now).total_seconds()
        return None

    def _contacts(self, listing: Listing[TaskDoc], now: datetime,
                  notes: list[str]) -> tuple[Contact, ...]:
        s = self.settings
        dropped = listing.dropped
        problem = listing.first_problem
        contacts = []
        kept: list[TaskDoc] = []
        self._contact_cache.begin()
        for t in listing.records:
            queue = self._queues.get(t.task_queue_sid or "")
            if queue is None or t.assignment_status not in ("pending", "reserved"):
                continue  # another queue's task, or it moved on since
            entered = self._entered_at(t, now)
            if isinstance(entered, str):
                dropped += 1
                problem = problem or f"task {t.sid}: {entered}"
                continue
            kept.append(t)
            channel = _CHANNELS.get((t.task_channel_unique_name or "").casefold(),
                                    queue.channel)
            attrs = parse_attributes(t.attributes)
            customer = get_path(attrs, s.customer_attribute)
            key = (queue.id, channel, self._tier(attrs, t.priority),
                   # entered_at moves by sub-second rounding between polls: whole seconds
                   int(entered.timestamp()),
                   clean(customer, 60) if isinstance(customer, str) else None)
            contacts.append(self._contact_cache.get(t.sid, key, partial(
                self._contact, t.sid, key, entered)))
        self._contact_cache.commit()
        if dropped:
            notes.append(f"dropped {dropped} unreadable task record(s): {problem}")
        # Only tasks that passed the checks: a dropped one (a 2014 task in a spec
        # example) would claim the clocks are years apart.
        skew = self._clock_skew(kept, now)
        if skew is not None and abs(skew) > max(5.0, self.settings.max_clock_skew_s / 10):
            notes.append(f"this machine's clock is {abs(skew):.0f} s "
                         f"{'behind' if skew > 0 else 'ahead of'} Twilio's: waits and times "
                         "in state are off by that much")
        return tuple(contacts)

    def _contact(self, sid: str, key: _ContactKey, entered: datetime) -> Contact:
        """A task's Contact, built only when ``key`` changed (see reuse.py)."""
        queue_id, channel, tier, _, customer = key
        return Contact(id=sid, queue_id=queue_id, channel=channel, tier=tier,
                       entered_at=entered, state=ContactState.WAITING, customer=customer,
                       source=self.name)

    def _cross_check(self, listing: Listing[TaskDoc], contacts: Sequence[Contact],
                     notes: list[str]) -> None:
        """Say so when the task list cannot be the whole truth."""
        if not listing.truncated:
            return
        listed: dict[str, int] = {}
        for c in contacts:
            listed[c.queue_id] = listed.get(c.queue_id, 0) + 1
        short = []
        for qid, live in self.live.items():
            if live.pending is None or live.reserved is None:
                continue
            waiting = live.pending + live.reserved
            if waiting > listed.get(qid, 0):
                short.append(f"{self._queues[qid].name if qid in self._queues else qid} "
                             f"{listed.get(qid, 0)} of {waiting}")
        notes.append(f"tasks: listing cut at {listing.pages} pages; waiting contacts shown "
                     f"(newest missing): {', '.join(short[:5]) or 'unknown'}")

    def _build(self, taken_at: datetime, agents: tuple[Agent, ...],
               contacts: tuple[Contact, ...], notes: list[str]) -> Snapshot:
        istart = self.policy.interval_start(taken_at)
        dstart = self.policy.day_start(taken_at)
        interval: dict[str, QueueStats] = {}
        day: dict[str, QueueStats] = {}
        front: list[str] = []
        for kind, start, into in (("interval", istart, interval), ("day", dstart, day)):
            rejected: dict[str, str] = {}
            caveats: dict[str, str] = {}
            for qid, queue in self._queues.items():
                cached = self._stats.get((qid, kind))
                if cached is None or cached.window_start != start:
                    continue
                counted = cached.value
                if counted.stats is None:
                    rejected[queue.name] = counted.note or "unknown"
                    continue
                into[qid] = counted.stats
                if counted.note:
                    caveats[queue.name] = counted.note
            note = rejection_note(f"{kind} counters", rejected)
            if note:
                front.append(note)
            if caveats:
                (name, caveat), *rest = caveats.items()
                more = f" and {len(rest)} more queue(s)" if rest else ""
                front.append(f"{kind} counters of {name}{more}: {caveat}")
        notes[:0] = front  # first: the poller shows only the first few notes
        return Snapshot(taken_at=taken_at, interval_start=istart, day_start=dstart,
                        queues=tuple(self._queues.values()), interval_stats=interval,
                        day_stats=day, agents=agents, contacts=contacts,
                        queue_live=self._queue_live(taken_at, contacts))

    def _queue_live(self, taken_at: datetime, contacts: Sequence[Contact]
                    ) -> dict[str, QueueLive]:
        """Waiting counts from the real-time statistics; the oldest wait from them only
        where the task listing cannot give it (package docstring)."""
        listed: dict[str, list[Contact]] = {}
        for c in contacts:
            listed.setdefault(c.queue_id, []).append(c)
        live: dict[str, QueueLive] = {}
        for qid in self._queues:
            now = self.live.get(qid)
            if now is None or now.pending is None or now.reserved is None:
                continue  # tasks_by_status absent: the listing is all we know
            waiting = now.pending + now.reserved
            mine = listed.get(qid, [])
            oldest = None
            if waiting:
                longest = next((c for c in mine if c.id == now.longest_sid), None)
                if longest is not None:
                    oldest = longest.entered_at
                elif now.longest_wait_s and (len(mine) < waiting
                                             or now.longest_sid is not None):
                    oldest = taken_at - timedelta(seconds=now.longest_wait_s)
            live[qid] = QueueLive(queue_id=qid, waiting=waiting, oldest_waiting_since=oldest)
        return live

    # -- actions --------------------------------------------------------------------------

    @staticmethod
    def _refusal(response: httpx.Response, what: str) -> ActionResult:
        status = response.status_code
        try:
            error = TwilioErrorDoc.model_validate(response.json())
            reason = clean(error.message or "", 200) or "no reason given"
            if error.code is not None:
                reason += f" (Twilio error {error.code})"
        except (ValueError, ValidationError):
            reason = "no reason given"
        code = {404: "not_found", 412: "changed"}.get(status, "refused")
        return ActionResult(ok=False, code=code, message=f"{what}: HTTP {status}: {reason}")

    async def _fetch(self, resource: str, sid: str, model: type[D], what: str
                     ) -> tuple[D, str | None] | ActionResult:
        """A task or worker with its ETag (for If-Match), or a result saying why not."""
        fetched = await self._act("GET", f"{self._ws}/{resource}/{sid}")
        if isinstance(fetched, ActionResult):
            return fetched
        if fetched.status_code == 404:
            return ActionResult(ok=False, code=ActionCode.NOT_FOUND, message=f"{what} no longer "
                                "exists")
        if fetched.status_code != 200:
            return self._refusal(fetched, f"reading {what}")
        doc = self._read_answer(fetched, model, what)
        if isinstance(doc, ActionResult):
            return doc
        return doc, fetched.headers.get("ETag")

    def _attrs_or_refuse(self, text: str | None, what: str) -> dict[str, Any] | ActionResult:
        if not text:
            return {}
        attrs = parse_attributes(text)
        if attrs is None:
            return ActionResult(ok=False, code=ActionCode.REFUSED,
                                message=f"{what}'s attributes are "
                                "not a JSON object; not changed")
        return attrs

    async def move_contact(self, contact_id: str, queue_id: str) -> ActionResult:
        """Re-route a waiting task by its attributes: TaskRouter has no "move" call, so the
        workflow must route on ``move_attribute`` (e.g. a filter ``transfer_queue ==
        "sales"``). Guarded by If-Match, so a task answered meanwhile is not touched."""
        attribute = self.settings.move_attribute
        if not attribute:
            return self._unsupported("move contacts (no move_attribute is configured)")
        if not sid_ok("WT", contact_id):
            return ActionResult(ok=False, code=ActionCode.UNKNOWN_CONTACT,
                                message=f"not a task SID: {clean(contact_id, 40)}")
        target = self._queues.get(queue_id)
        if target is None:
            return ActionResult(ok=False, code=ActionCode.UNKNOWN_QUEUE,
                                message=f"no queue {clean(queue_id, 40)} in source {self.name}")
        what = f"task {contact_id}"
        fetched = await self._fetch("Tasks", contact_id, TaskDoc, what)
        if isinstance(fetched, ActionResult):
            return fetched
        task, etag = fetched
        if task.assignment_status != "pending":
            return ActionResult(ok=False, code=ActionCode.NOT_WAITING, message=f"{what} not moved: "
                                f"{_STATUS_WORDS.get(task.assignment_status, 'not waiting')}")
        if task.task_queue_sid == queue_id:
            return ActionResult(ok=False, code=ActionCode.SAME_QUEUE,
                                message=f"{what} is already in {target.name}")
        attrs = self._attrs_or_refuse(task.attributes, what)
        if isinstance(attrs, ActionResult):
            return attrs
        value = self.settings.routing_value(queue_id)
        try:
            attrs = set_path(attrs, attribute, value)
        except ValueError as err:
            return ActionResult(ok=False, code=ActionCode.REFUSED,
                                message=f"{what}: {err}; not moved")
        form: dict[str, str] = {"Attributes": json.dumps(attrs, separators=(",", ":"))}
        if self.settings.move_priority is not None:
            form["Priority"] = str(self.settings.move_priority)
        headers = {"If-Match": etag} if etag else {}
        sent = await self._act("POST", f"{self._ws}/Tasks/{contact_id}", data=form,
                               headers=headers)
        if isinstance(sent, ActionResult):
            return sent
        if sent.status_code == 412:
            return ActionResult(ok=False, code=ActionCode.CHANGED,
                                message=f"{what} changed meanwhile "
                                "(answered or updated by someone else); not moved")
        if sent.status_code == 404:
            return ActionResult(ok=False, code=ActionCode.NOT_FOUND, message=f"{what} is gone "
                                "(completed or canceled); not moved")
        if sent.status_code != 200:
            return self._refusal(sent, f"moving {what}")
        try:
            after = TaskDoc.model_validate(self._client.parse_json(sent))
        except (SourceError, ValidationError):
            return ActionResult(ok=True, code=ActionCode.OK, message=f"{what}: {attribute}={value} "
                                "set; check the next snapshot for where it went")
        if after.task_queue_sid == queue_id:
            return ActionResult(ok=True, code=ActionCode.OK,
                                message=f"{what} moved to {target.name}")
        return ActionResult(ok=True, code=ActionCode.OK,
                            message=f"{what}: asked the workflow to route "
                            f"it to {target.name} ({attribute}={value}); the workflow decides "
                            "— check the next snapshot")

    async def set_agent_skills(self, agent_id: str, skills: Sequence[str]) -> ActionResult:
        """Write the queues' routing values into the worker attribute the queues' target
        expressions read; values of queues this source does not show are kept."""
        attribute = self.settings.agent_queues_attribute
        if not attribute:
            return self._unsupported("change agents' queues (no agent_queues_attribute)")
        if not sid_ok("WK", agent_id):
            return ActionResult(ok=False, code=ActionCode.UNKNOWN_AGENT,
                                message=f"not a worker SID: {clean(agent_id, 40)}")
        unknown = [q for q in skills if q not in self._queues]
        if unknown:
            return ActionResult(ok=False, code=ActionCode.UNKNOWN_QUEUE, message="no queue(s) "
                                f"{', '.join(clean(q, 40) for q in unknown[:3])}")
        what = f"worker {agent_id}"
        fetched = await self._fetch("Workers", agent_id, WorkerDoc, what)
        if isinstance(fetched, ActionResult):
            return fetched
        worker, etag = fetched
        what = f"{clean(worker.friendly_name or agent_id, 60)} ({agent_id})"
        attrs = self._attrs_or_refuse(worker.attributes, what)
        if isinstance(attrs, ActionResult):
            return attrs
        current = get_path(attrs, attribute)
        if current is None:
            current = []
        if not isinstance(current, list) or not all(isinstance(v, str) for v in current):
            return ActionResult(ok=False, code=ActionCode.REFUSED, message=f"{what}: attribute "
                                f"{attribute} is not a list of strings; not changed")
        ours = {self.settings.routing_value(q) for q in self._queues}
        wanted = [self.settings.routing_value(q) for q in dict.fromkeys(skills)]
        values = [v for v in current if v not in ours] + wanted
        try:
            attrs = set_path(attrs, attribute, values)
        except ValueError as err:
            return ActionResult(ok=False, code=ActionCode.REFUSED, message=f"{what}: {err}")
        headers = {"If-Match": etag} if etag else {}
        sent = await self._act("POST", f"{self._ws}/Workers/{agent_id}",
                               data={"Attributes": json.dumps(attrs, separators=(",", ":"))},
                               headers=headers)
        if isinstance(sent, ActionResult):
            return sent
        if sent.status_code == 412:
            return ActionResult(ok=False, code=ActionCode.CHANGED,
                                message=f"{what} changed meanwhile; "
                                "not changed — try again")
        if sent.status_code != 200:
            return self._refusal(sent, f"changing {what}")
        # Show it now; the queues' own view comes back with the next membership refresh.
        now = self._clock()
        changed = set(skills) ^ {q for q, c in self._members.items() if agent_id in c.value}
        for qid in changed:
            cached = self._members.get(qid)
            members = set(cached.value) if cached else set()
            members.symmetric_difference_update({agent_id})
            self._members[qid] = Cached(now - timedelta(days=1), None, frozenset(members))
        names = ", ".join(self._queues[q].name for q in dict.fromkeys(skills)) or "none"
        return ActionResult(ok=True, code=ActionCode.OK, message=f"{what} now has {attribute} for: "
                            f"{names} (queues select workers by their own expressions)")

    async def _load_activities(self) -> ActionResult | None:
        if self._activities:
            return None
        try:
            listing = await self._list("Activities", ActivityDoc, {}, "activities")
        except SourceError as err:
            return ActionResult(ok=False, code=ActionCode.ERROR, message=str(err))
        self._activities = {a.sid: a for a in listing.records}
        return None

    def _activity_for(self, state: str) -> ActivityDoc | None:
        wanted = state.strip().casefold()
        # The shared vocabulary (domain.agent_control): away:<reason> is the activity of
        # that name (no silent fallback that would lose the reason); logout is offline;
        # end_acw makes the worker available (TaskRouter ends wrap-up by the activity).
        req = parse_state(wanted)
        if req is not None:
            if req.verb == AWAY and req.reason:
                wanted = req.reason
            else:
                wanted = {LOGOUT: AgentStateKind.OFFLINE.value,
                          END_ACW: AgentStateKind.AVAILABLE.value}.get(req.verb, req.verb)
        activities = list(self._activities.values())
        for a in activities:
            if a.friendly_name.strip().casefold() == wanted:
                return a
        try:
            kind = AgentStateKind(wanted)
        except ValueError:
            return None
        matches = [a for a in activities
                   if self._kinds.get(a.friendly_name.strip().casefold()) == kind]
        if kind == AgentStateKind.AVAILABLE:  # must really make the worker routable
            matches = [a for a in matches if a.available is not False]
        return matches[0] if matches else None

    async def set_agent_state(self, agent_id: str, state: str) -> ActionResult:
        """Put a worker into an activity: by its friendly name, or by one of our states
        (the first activity ``activity_map`` maps to it)."""
        if not self.settings.allow_agent_state:
            return self._unsupported("change agents' states (allow_agent_state = false)")
        if not sid_ok("WK", agent_id):
            return ActionResult(ok=False, code=ActionCode.UNKNOWN_AGENT,
                                message=f"not a worker SID: {clean(agent_id, 40)}")
        failed = await self._load_activities()
        if failed is not None:
            return failed
        activity = self._activity_for(state)
        if activity is None:
            names = ", ".join(sorted(clean(a.friendly_name, 30)
                                     for a in self._activities.values())[:8]) or "none"
            return ActionResult(ok=False, code=ActionCode.UNKNOWN_STATE, message=f"no activity for "
                                f"{clean(state, 40)!r} in this workspace (has: {names})")
        sent = await self._act("POST", f"{self._ws}/Workers/{agent_id}",
                               data={"ActivitySid": activity.sid})
        if isinstance(sent, ActionResult):
            return sent
        if sent.status_code == 404:
            return ActionResult(ok=False, code=ActionCode.NOT_FOUND,
                                message=f"worker {agent_id} no longer exists")
        if sent.status_code != 200:
            return self._refusal(sent, f"changing worker {agent_id}")
        asked = clean(activity.friendly_name, 40)
        try:
            worker = WorkerDoc.model_validate(self._client.parse_json(sent))
        except (SourceError, ValidationError):
            return ActionResult(ok=True, code=ActionCode.OK, message=f"worker {agent_id}: "
                                f"{asked} asked; the answer was unreadable — check the next "
                                "snapshot")
        # The answer must be about this worker, in this activity: anything else is
        # reported as it is, never as the change asked for.
        if worker.sid != agent_id:
            return ActionResult(ok=False, code=ActionCode.BAD_RESPONSE,
                                message=f"changing worker {agent_id}: the answer is about "
                                f"worker {worker.sid}; check the next snapshot")
        who = clean(worker.friendly_name or agent_id, 60)
        if worker.activity_sid is not None and worker.activity_sid != activity.sid:
            now_in = clean(worker.activity_name or worker.activity_sid, 40)
            return ActionResult(ok=False, code=ActionCode.CHANGED,
                                message=f"{who} is in {now_in}, not {asked} (changed "
                                "meanwhile, or TaskRouter refused the change)")
        return ActionResult(ok=True, code=ActionCode.OK, message=f"{who} is now {asked}")
