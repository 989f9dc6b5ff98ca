"""The ``connect`` source itself: the SDK client, planning, requests, mapping and actions
(the package docstring says what a poll reads and how it is counted).

boto3 rather than aiobotocore: boto3 is the SDK AWS ships and documents, its low-level
clients are thread-safe, and a poll is a few dozen paced requests, so worker threads
(``asyncio.to_thread``) cost nothing that matters; aiobotocore pins botocore to its own
releases, which would hold back the service model the tests validate against.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

import boto3
from botocore.config import Config as BotoConfig
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectTimeoutError,
    EndpointConnectionError,
    NoCredentialsError,
    ParamValidationError,
    PartialCredentialsError,
    ReadTimeoutError,
)
from pydantic import ValidationError

from supervisor_tui.domain import agent_control as ac
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
from supervisor_tui.domain.text import clean, redactor
from supervisor_tui.protocol.documents import describe
from supervisor_tui.sources.base import Capability, Source, SourceError
from supervisor_tui.sources.checks import D, Listing, not_future
from supervisor_tui.sources.connect.documents import (
    CHANNELS,
    CURRENT_METRICS,
    AgentStatusDoc,
    ProfileQueueDoc,
    QueueNow,
    QueueSummaryDoc,
    RoutingProfileDoc,
    UserDataDoc,
    UserSummaryDoc,
    agent_now,
    read_current,
    read_v2,
    v2_metrics,
)
from supervisor_tui.sources.connect.settings import ConnectSettings, is_uuid
from supervisor_tui.sources.gcpause import paused_gc
from supervisor_tui.sources.limits import RateLimited, RequestBudget, RequestStats, secret_from_env
from supervisor_tui.sources.plausible import rejection_note
from supervisor_tui.sources.reuse import Reuse

log = logging.getLogger(__name__)

#: queues per GetCurrentMetricData / GetMetricDataV2 filter, users per GetCurrentUserData
BATCH = 100
#: the largest page of the List* APIs
LIST_PAGE = 1_000
#: the List* APIs' documented rate, 2 a second with bursts of 5 (and the actions': other
#: APIs have the same default): 5 in any 2.5 s has that average and that burst
LIST_RATE = (5, 2.5)
#: AWS error codes that mean "too many requests"
_THROTTLED = frozenset({"ThrottlingException", "TooManyRequestsException",
                        "LimitExceededException", "RequestLimitExceeded", "Throttling"})
_DENIED = frozenset({"AccessDeniedException", "UnrecognizedClientException",
                     "InvalidSignatureException", "ExpiredTokenException",
                     "InvalidClientTokenId", "SignatureDoesNotMatch"})
_NEVER = datetime.min.replace(tzinfo=UTC)

#: what an agent is built from: unchanged, last poll's object is reused
_AgentKey = tuple[str, AgentStateKind, str | None, datetime, tuple[str, ...], str | None,
                  str | None]
_ContactKey = tuple[str, Channel, datetime, ContactState, str]
#: one agent as last built: the doc it came from, its skills, the catalog it was read
#: with, its key (None: garbage) and its contact (id, key, Connect's channel)
_Memo = tuple[Any, tuple[str, ...], datetime | None, _AgentKey | None,
              tuple[str, _ContactKey, str] | None]


class ConnectError(SourceError):
    """An SDK error, one line; ``code`` is AWS's error code ("" when there was no
    answer), ``answered`` says whether Connect answered at all."""

    def __init__(self, message: str, code: str = "", answered: bool = True) -> None:
        super().__init__(message)
        self.code = code
        self.answered = answered


class Throttled(RateLimited, ConnectError):
    pass


def make_client(name: str, settings: ConnectSettings) -> Any:
    """A boto3 Connect client for ``settings`` (tests replace this function). Keys come
    from the named environment variables, else the profile, else the SDK's own chain.
    No SDK retries: the poller retries a failed poll after its back-off."""
    keys: dict[str, str | None] = {}
    if settings.access_key_id_env:
        keys = {"aws_access_key_id": secret_from_env(settings.access_key_id_env,
                                                     f"source {name}: AWS access key id"),
                "aws_secret_access_key": secret_from_env(
                    settings.secret_access_key_env, f"source {name}: AWS secret access key"),
                "aws_session_token": secret_from_env(settings.session_token_env,
                                                     f"source {name}: AWS session token")}
    try:
        session = boto3.session.Session(profile_name=settings.profile,
                                        region_name=settings.region, **keys)
        return session.client(
            "connect", endpoint_url=settings.endpoint_url,
            config=BotoConfig(connect_timeout=settings.timeout_s,
                              read_timeout=settings.timeout_s,
                              retries={"total_max_attempts": 1, "mode": "standard"},
                              user_agent_extra="supervisor-tui",
                              max_pool_connections=settings.max_concurrency + 2))
    except BotoCoreError as err:  # e.g. a profile that does not exist
        raise SourceError(f"source {name}: {clean(str(err), 160)}") from None


def _secrets(settings: ConnectSettings) -> list[str | None]:
    import os

    return [os.environ.get(v) for v in (settings.secret_access_key_env,
                                        settings.session_token_env) if v]


def _batches(items: Sequence[str], size: int = BATCH) -> list[tuple[str, ...]]:
    return [tuple(items[i:i + size]) for i in range(0, len(items), size)]


def _next(token: str | None) -> dict[str, Any]:
    """The paging parameter of the next request (none for the first page)."""
    return {"NextToken": token} if token else {}


async def _room(budget: RequestBudget) -> None:
    """Wait until ``budget`` has room for one request, and take it."""
    while not budget.try_acquire():
        await asyncio.sleep(max(budget.wait_for(), 0.01))


@dataclass(frozen=True)
class _Cached:
    fetched_at: datetime
    value: Any
    window_start: datetime | None = None


@dataclass(frozen=True)
class _Plan:
    made_at: datetime
    catalog: int  # estimated catalog requests (0: not due)
    metric_batches: int
    aggregates: tuple[str, ...]  # "interval" / "day"
    aggregate_requests: int  # per kind
    user_chunks: tuple[tuple[str, ...], ...]
    profiles: tuple[str, ...]
    skipped: tuple[str, ...] = ()

    @property
    def cost(self) -> int:
        return (self.catalog + self.metric_batches + len(self.aggregates)
                * self.aggregate_requests + len(self.user_chunks) + len(self.profiles))


class ConnectSource(Source):
    """Queues of one Amazon Connect instance. ``client`` (a boto3 Connect client, e.g.
    wrapped in a ``Stubber``) and ``clock`` are injectable for tests."""

    def __init__(self, name: str, policy: IntervalPolicy, settings: ConnectSettings,
                 client: Any = None, clock: Callable[[], datetime] | None = None) -> None:
        super().__init__(name, policy)
        self.settings = settings
        self._client = client if client is not None else make_client(name, settings)
        self._clock = clock or (lambda: datetime.now(UTC))
        self._redact = redactor(_secrets(settings))
        self._budget = settings.make_budget()
        self._list_pace = RequestBudget(*LIST_RATE)
        self._act_pace = RequestBudget(*LIST_RATE)
        self._stats = RequestStats()
        self._sem = asyncio.Semaphore(settings.max_concurrency)
        caps = {Capability.SNAPSHOT}
        if settings.allow_state_changes:
            caps.add(Capability.AGENT_STATE)
        if settings.allow_profile_moves:
            caps.add(Capability.MOVE_AGENTS)
        if settings.transfer_flow_id:
            caps.add(Capability.REASSIGN_CONTACT)
        self.capabilities = frozenset(caps)
        self._planned: _Plan | None = None
        self.last_poll_requests = 0
        # the catalog
        self._catalog_at: datetime | None = None
        self._catalog_requests = 4
        self._queue_names: dict[str, str] = {}
        self._standard: list[str] = []  # every standard queue, catalog order
        self._statuses: list[AgentStatusDoc] = []
        self._status_types: dict[str, str] = {}
        self._profiles: dict[str, str] = {}  # id -> name
        self._users: dict[str, str] = {}  # id -> user name
        self._profile_queues: dict[str, _Cached] = {}  # id -> tuple of queue ids
        # what polls read
        self._user_data: dict[str, tuple[datetime, UserDataDoc | None]] = {}
        self._aggregates: dict[str, _Cached] = {}
        self._agent_cache: Reuse[Agent] = Reuse()
        self._contacts: dict[str, Contact] = {}  # the last poll's, by id (for moves)
        self._contact_channels: dict[str, str] = {}  # their Connect channel (TASK, ...)
        self._live_rejected: dict[str, str] = {}
        self._raw_users: dict[str, tuple[Any, UserDataDoc]] = {}  # the last answer, read
        self._contact_cache: Reuse[Contact] = Reuse()
        self._memo: dict[str, _Memo] = {}
        self._queue_objs: tuple[tuple[datetime | None, int], tuple[Queue, ...]] = ((None, -1),
                                                                                   ())
        #: validated real-time metrics of the last poll, by queue id (AGENTS_* too)
        self.live: dict[str, QueueNow] = {}
        self.notes: tuple[str, ...] = ()

    # -- Source API -------------------------------------------------------------------

    def redact(self, text: str) -> str:
        return self._redact(text)

    @property
    def budget(self) -> RequestBudget | None:
        return self._budget

    @property
    def request_stats(self) -> RequestStats | None:
        return self._stats

    async def close(self) -> None:
        close = getattr(self._client, "close", None)
        if callable(close):
            await asyncio.to_thread(close)

    def poll_cost(self) -> int:
        self._planned = self._plan(self._clock())
        return self._planned.cost

    async def snapshot(self) -> Snapshot:
        now = self._clock()
        plan, self._planned = self._planned, None
        if plan is None or abs((now - plan.made_at).total_seconds()) > 5:
            plan = self._plan(now)
        notes: list[str] = []
        sent_before = self._stats.requests
        try:
            if plan.catalog:
                await self._read_catalog(notes)
                room = self.settings.max_poll_requests - (self._stats.requests - sent_before)
                plan = self._rest(now, room, plan.catalog)
            notes += [f"{what} not refreshed: no room in this poll's requests"
                      for what in plan.skipped]
            queues = self.queue_ids()
            if not queues:
                raise SourceError("no queues to show: the instance has no standard queues")
            jobs: list[Awaitable[Any]] = [self._read_current(queues)]
            jobs += [self._read_v2(kind, now, notes) for kind in plan.aggregates]
            jobs += [self._read_users(chunk, notes) for chunk in plan.user_chunks]
            jobs += [self._read_profile(p, notes) for p in plan.profiles]
            await self._run(jobs)
        finally:
            self.last_poll_requests = self._stats.requests - sent_before
        taken_at = self._clock()
        with paused_gc():  # bulk creation of acyclic objects (see gcpause)
            snap = self._build(taken_at, queues, notes)
        self.notes = tuple(clean(self.redact(n), 200) for n in notes)
        for note in self.notes:
            log.info("source %s: %s", self.name, note)
        return snap

    async def _run(self, jobs: list[Awaitable[Any]]) -> None:
        """Every job; then the most telling failure (throttling first, so the poller backs
        off). One at a time when max_concurrency is 1 (in order: tests rely on it)."""
        if self.settings.max_concurrency == 1:
            results: list[Any] = []
            pending = list(jobs)
            while pending:
                job = pending.pop(0)
                try:
                    results.append(await job)
                except Exception as failure:  # collected, raised below
                    results.append(failure)
                    if isinstance(failure, RateLimited):  # throttled: send no more
                        for unsent in pending:
                            close = getattr(unsent, "close", None)
                            if callable(close):
                                close()
                        break
        else:
            results = list(await asyncio.gather(*jobs, return_exceptions=True))
        errors = [r for r in results if isinstance(r, BaseException)]
        for error in errors:
            if isinstance(error, asyncio.CancelledError):
                raise error
        for kind in (RateLimited, SourceError):
            for error in errors:
                if isinstance(error, kind):
                    raise error
        if errors:  # a bug of ours: one line, never a traceback on screen
            raise SourceError(clean(f"{type(errors[0]).__name__}: {errors[0]}", 200)
                              ) from errors[0]

    # -- planning ---------------------------------------------------------------------

    def queue_ids(self) -> list[str]:
        """The queues this source shows: the configured ones, else every standard queue."""
        return list(self.settings.queues) or self._standard

    def _v2_groups(self) -> dict[tuple[int, int], list[str]]:
        groups: dict[tuple[int, int], list[str]] = {}
        for qid in self.queue_ids():
            qs = self.settings.queue(qid)
            groups.setdefault((qs.threshold_s, qs.short_abandon_s), []).append(qid)
        return groups

    def _plan(self, now: datetime) -> _Plan:
        s = self.settings
        due = (self._catalog_at is None
               or (now - self._catalog_at).total_seconds() >= s.catalog_refresh_s)
        catalog = self._catalog_requests if due else 0
        return self._rest(now, s.max_poll_requests - catalog, catalog)

    def _rest(self, now: datetime, room: int, catalog: int) -> _Plan:
        """What a poll sends besides the catalog, in ``room`` requests: the real-time
        metrics always; counters when due; then agent states and routing-profile queues,
        those read longest ago first."""
        s = self.settings
        metric_batches = max(1, len(_batches(self.queue_ids())))
        room -= metric_batches
        per_kind = sum(len(_batches(q)) for q in self._v2_groups().values()) or 1
        aggregates: list[str] = []
        skipped: list[str] = []
        kinds = [("interval", s.interval_refresh_s)] + \
            ([("day", s.day_refresh_s)] if s.day_stats else [])
        for kind, period in kinds:
            cached = self._aggregates.get(kind)
            start = self._window_start(kind, now)
            if not (cached is None or cached.window_start != start
                    or (now - cached.fetched_at).total_seconds() >= period):
                continue
            if per_kind <= room:
                aggregates.append(kind)
                room -= per_kind
            else:
                skipped.append(f"{kind} counters")
        chunks = self._user_chunks()
        chunks.sort(key=lambda c: min((self._user_data.get(u, (_NEVER, None))[0]
                                       for u in c), default=_NEVER))
        take = chunks[:max(room, 0)]
        room -= len(take)
        stale = sorted((p for p in self._profiles
                        if p not in self._profile_queues
                        or (now - self._profile_queues[p].fetched_at).total_seconds()
                        >= s.catalog_refresh_s),
                       key=lambda p: (self._profile_queues[p].fetched_at
                                      if p in self._profile_queues else _NEVER, p))
        profiles = stale[:max(room, 0)]
        return _Plan(now, catalog, metric_batches, tuple(aggregates), per_kind, tuple(take),
                     tuple(profiles), tuple(skipped))

    def _user_chunks(self) -> list[tuple[str, ...]]:
        return _batches(sorted(self._users))

    def _window_start(self, kind: str, now: datetime) -> datetime:
        return (self.policy.interval_start(now) if kind == "interval"
                else self.policy.day_start(now))

    # -- requests ---------------------------------------------------------------------

    async def _call(self, op: str, what: str, *, pace: RequestBudget | None = None,
                    **params: Any) -> dict[str, Any]:
        """One SDK call in a worker thread, paced by ``pace`` (default: the source's
        budget); every SDK failure becomes a one-line ``ConnectError``."""
        budget = pace or self._budget
        if budget is not None:
            await _room(budget)
        method = getattr(self._client, op)
        started = time.perf_counter()
        try:
            async with self._sem:
                answer = await asyncio.to_thread(method, **params)
        except ClientError as err:
            error = self._client_error(err, what)
            status = 429 if isinstance(error, Throttled) else \
                err.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
            self._stats.record(status if isinstance(status, int) else None,
                               (time.perf_counter() - started) * 1000, ok=False)
            raise error from None
        except (BotoCoreError, ValueError) as err:
            self._stats.record(None, (time.perf_counter() - started) * 1000, ok=False)
            raise self._sdk_error(err, what) from None
        self._stats.record(200, (time.perf_counter() - started) * 1000, ok=True)
        if not isinstance(answer, dict):
            raise ConnectError(f"{what}: not an answer ({type(answer).__name__})")
        return answer

    def _client_error(self, err: ClientError, what: str) -> ConnectError:
        error = err.response.get("Error") or {}
        code = clean(str(error.get("Code") or "error"), 60)
        message = clean(self.redact(str(error.get("Message") or "")), 160)
        status = err.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        said = f": {message}" if message else ""
        if code in _THROTTLED or status == 429:
            return Throttled(f"{what}: throttled by Amazon Connect ({code}); the poll is "
                             "retried after a back-off — raise the API quota or lower "
                             "max_requests", 1.0)
        if code in _DENIED or status == 403:
            return ConnectError(f"{what}: access denied ({code}{said}) — the IAM identity "
                                f"needs connect:{err.operation_name}", code)
        if code == "ResourceNotFoundException":
            return ConnectError(f"{what}: not found ({message or code}) — check "
                                "instance_arn and the ids in the config", code)
        return ConnectError(f"{what}: {code}{said}", code)

    def _sdk_error(self, err: Exception, what: str) -> ConnectError:
        text = clean(self.redact(str(err) or type(err).__name__), 160)
        if isinstance(err, NoCredentialsError | PartialCredentialsError):
            return ConnectError(f"{what}: no usable AWS credentials ({text}) — set profile "
                                "or access_key_id_env, or run with an instance role")
        if isinstance(err, ConnectTimeoutError | ReadTimeoutError):
            return ConnectError(f"{what}: no answer within {self.settings.timeout_s:g} s",
                                answered=False)
        if isinstance(err, EndpointConnectionError):
            return ConnectError(f"{what}: cannot reach Amazon Connect ({text})",
                                answered=False)
        if isinstance(err, ParamValidationError):
            return ConnectError(f"{what}: the SDK refused our request ({text})")
        return ConnectError(f"{what}: {text}", answered=False)

    async def _listing(self, op: str, key: str, model: type[D], what: str,
                       pace: RequestBudget | None, max_pages: int,
                       **params: Any) -> Listing[D]:
        """Every page of a listing (``NextToken``), garbage records dropped and counted."""
        listing: Listing[D] = Listing()
        token: str | None = None
        while True:
            answer = await self._call(op, what, pace=pace, **params,
                                      **_next(token))
            items = answer.get(key)
            listing.read(model, items if isinstance(items, list) else [])
            listing.pages += 1
            token = answer.get("NextToken") or None
            if token is None:
                break
            if listing.pages >= max_pages:
                listing.truncated = True
                break
        listing.check(what)
        return listing

    # -- the catalog ------------------------------------------------------------------

    async def _read_catalog(self, notes: list[str]) -> None:
        s = self.settings
        inst = s.instance_id
        pace = self._list_pace
        sent = self._stats.requests
        try:
            queues = await self._listing("list_queues", "QueueSummaryList", QueueSummaryDoc,
                                         "queues (ListQueues)", pace,
                                         s.max_queues // LIST_PAGE + 1, InstanceId=inst,
                                         QueueTypes=["STANDARD"], MaxResults=LIST_PAGE)
        except RateLimited:
            raise
        except SourceError as err:
            if not s.queues:
                raise
            notes.append(f"queue names not read: {err}")  # the ids stand in
        else:
            names = {q.Id: clean(q.Name or q.Id, 80) for q in queues.records}
            standard = list(names)
            if len(standard) > s.max_queues or queues.truncated:
                raise SourceError(f"the instance has more than {s.max_queues} standard "
                                  "queues: list the ones to show in queues, or raise "
                                  "max_queues")
            self._queue_names, self._standard = names, standard
            self._dropped(notes, "queues", queues)
        for op, key, model, what in (
                ("list_agent_statuses", "AgentStatusSummaryList", AgentStatusDoc,
                 "agent statuses (ListAgentStatuses)"),
                ("list_routing_profiles", "RoutingProfileSummaryList", RoutingProfileDoc,
                 "routing profiles (ListRoutingProfiles)"),
                ("list_users", "UserSummaryList", UserSummaryDoc, "users (ListUsers)")):
            try:
                listing = await self._listing(op, key, model, what, pace,
                                              s.max_users // LIST_PAGE + 1,
                                              InstanceId=inst, MaxResults=LIST_PAGE)
            except RateLimited:
                raise
            except SourceError as err:
                notes.append(f"{what} not read: {err}")
                continue
            self._dropped(notes, what.split(" (")[0], listing)
            if model is AgentStatusDoc:
                self._statuses = [r for r in listing.records
                                  if isinstance(r, AgentStatusDoc)]
                self._status_types = {r.Id: r.Type for r in self._statuses}
            elif model is RoutingProfileDoc:
                self._profiles = {r.Id: clean(r.Name or r.Id, 80) for r in listing.records
                                  if isinstance(r, RoutingProfileDoc)}
                self._profile_queues = {p: c for p, c in self._profile_queues.items()
                                        if p in self._profiles}
            else:
                users = {r.Id: clean(r.Username or r.Id, 80) for r in listing.records
                         if isinstance(r, UserSummaryDoc)}
                if listing.truncated or len(users) > s.max_users:
                    notes.append(f"more than {s.max_users} users: the first "
                                 f"{s.max_users} are shown (raise max_users)")
                    users = dict(list(users.items())[:s.max_users])
                self._users = users
                self._user_data = {u: d for u, d in self._user_data.items() if u in users}
        self._catalog_requests = max(4, self._stats.requests - sent)
        self._catalog_at = self._clock()

    @staticmethod
    def _dropped(notes: list[str], what: str, listing: Listing[Any]) -> None:
        if listing.dropped:
            notes.append(f"{listing.dropped} unreadable {what} dropped "
                         f"({listing.first_problem})")

    async def _read_profile(self, profile_id: str, notes: list[str]) -> None:
        what = f"queues of routing profile {self._profiles.get(profile_id, profile_id)}"
        try:
            listing = await self._listing(
                "list_routing_profile_queues", "RoutingProfileQueueConfigSummaryList",
                ProfileQueueDoc, what, None, 10, InstanceId=self.settings.instance_id,
                RoutingProfileId=profile_id, MaxResults=BATCH)
        except RateLimited:
            raise
        except SourceError as err:
            notes.append(f"{err}")
            return
        ordered = sorted(listing.records, key=lambda r: r.Priority or 99)
        queues = tuple(dict.fromkeys(r.QueueId for r in ordered))
        self._profile_queues[profile_id] = _Cached(self._clock(), queues)

    # -- real-time metrics, counters, agent states ------------------------------------

    async def _read_current(self, queues: list[str]) -> None:
        results: list[Any] = []
        for batch in _batches(queues):
            token: str | None = None
            for _ in range(20):  # <= 100 queues x 1 grouping: one page; a few at most
                answer = await self._call(
                    "get_current_metric_data", "real-time metrics (GetCurrentMetricData)",
                    InstanceId=self.settings.instance_id,
                    Filters={"Queues": list(batch)}, Groupings=["QUEUE"],
                    CurrentMetrics=[{"Name": n, "Unit": u} for n, u in CURRENT_METRICS],
                    MaxResults=BATCH, **_next(token))
                page = answer.get("MetricResults")
                results += page if isinstance(page, list) else []
                token = answer.get("NextToken") or None
                if token is None:
                    break
        read, _ = read_current(results, set(queues), self.settings.max_wait_s)
        self._live_rejected = {q: v for q, v in read.items() if isinstance(v, str)}
        # A queue without a result has nobody waiting and no agents (Connect leaves it out)
        empty = QueueNow(0, None, {})
        live: dict[str, QueueNow] = {}
        for qid in queues:
            value = read.get(qid, empty)
            if isinstance(value, QueueNow):
                live[qid] = value
        self.live = live

    async def _read_v2(self, kind: str, now: datetime, notes: list[str]) -> None:
        start = self._window_start(kind, now)
        end = max(now, start + timedelta(seconds=1)).replace(microsecond=0)
        wanted: dict[str, tuple[int, int]] = {}
        results: list[Any] = []
        try:
            for (t, s), queues in self._v2_groups().items():
                for batch in _batches(queues):
                    wanted.update(dict.fromkeys(batch, (t, s)))
                    token: str | None = None
                    for _ in range(20):
                        answer = await self._call(
                            "get_metric_data_v2", f"{kind} counters (GetMetricDataV2)",
                            ResourceArn=self.settings.instance_arn, StartTime=start,
                            EndTime=end, Filters=[{"FilterKey": "QUEUE",
                                                   "FilterValues": list(batch)}],
                            Groupings=["QUEUE"], Metrics=v2_metrics(t, s), MaxResults=BATCH,
                            **_next(token))
                        page = answer.get("MetricResults")
                        results += page if isinstance(page, list) else []
                        token = answer.get("NextToken") or None
                        if token is None:
                            break
        except RateLimited:
            raise
        except SourceError as err:
            notes.append(f"{kind} counters not read: {err}")
            return
        self._aggregates[kind] = _Cached(self._clock(), read_v2(results, wanted, start), start)

    async def _read_users(self, chunk: tuple[str, ...], notes: list[str]) -> None:
        listing: Listing[UserDataDoc] = Listing()
        try:
            token: str | None = None
            for _ in range(5):  # <= 100 users asked: one page
                answer = await self._call(
                    "get_current_user_data", "agent states (GetCurrentUserData)",
                    InstanceId=self.settings.instance_id, Filters={"Agents": list(chunk)},
                    MaxResults=BATCH, **_next(token))
                items = answer.get("UserDataList")
                self._read_user_data(listing, items if isinstance(items, list) else [])
                token = answer.get("NextToken") or None
                if token is None:
                    break
            listing.check("agent states (GetCurrentUserData)")
        except RateLimited:
            raise
        except SourceError as err:
            notes.append(f"{err}")
            return
        self._dropped(notes, "agent states", listing)
        at = self._clock()
        asked = set(chunk)
        found = {d.User.Id: d for d in listing.records if d.User.Id in asked}
        for uid in chunk:  # a user Connect returns nothing for is not logged in
            self._user_data[uid] = (at, found.get(uid))

    def _read_user_data(self, listing: Listing[UserDataDoc], items: list[Any]) -> None:
        """Validate each ``UserData`` unless it equals the one last read for that user:
        most agents did not change since, and comparing costs a fraction of validating."""
        for item in items:
            user = item.get("User") if isinstance(item, dict) else None
            key = user.get("Id") if isinstance(user, dict) else None
            last = self._raw_users.get(key.lower()) if isinstance(key, str) else None
            if last is not None and last[0] == item:
                listing.records.append(last[1])
                continue
            try:
                doc = UserDataDoc.model_validate(item)
            except ValidationError as err:
                listing.dropped += 1
                listing.first_problem = listing.first_problem or describe(err)
                continue
            listing.records.append(doc)
            self._raw_users[doc.User.Id] = (item, doc)

    # -- the snapshot -----------------------------------------------------------------

    def _name(self, qid: str) -> str:
        return self.settings.queue(qid).name or self._queue_names.get(qid) or qid

    def _build(self, taken_at: datetime, queues: list[str], notes: list[str]) -> Snapshot:
        qset = set(queues)
        # the queues change only with the catalog: built once per catalog read
        if self._queue_objs[0] != (self._catalog_at, len(queues)):
            self._queue_objs = ((self._catalog_at, len(queues)), tuple(
                Queue(id=q, name=clean(self._name(q), 80), channel=qs.channel,
                      sl_target=qs.sl_target, threshold_s=qs.threshold_s,
                      short_abandon_s=qs.short_abandon_s, source=self.name)
                for q in queues for qs in [self.settings.queue(q)]))
        out_queues = self._queue_objs[1]
        front: list[str] = []
        rejected = {clean(self._name(q), 80): r for q, r in self._live_rejected.items()}
        note = rejection_note("real-time metrics", rejected)
        if note:
            front.append(note)
        istart, dstart = self.policy.interval_start(taken_at), self.policy.day_start(taken_at)
        windows: dict[str, dict[str, QueueStats]] = {"interval": {}, "day": {}}
        for kind, start in (("interval", istart), ("day", dstart)):
            cached = self._aggregates.get(kind)
            if cached is None or cached.window_start != start:
                continue
            bad: dict[str, str] = {}
            for qid, stats in cached.value.items():
                if qid not in qset:
                    continue
                if isinstance(stats, str):
                    bad[clean(self._name(qid), 80)] = stats
                else:
                    windows[kind][qid] = stats
            note = rejection_note(f"{kind} counters", bad)
            if note:
                front.append(note)
        agents, contacts = self._agents(taken_at, qset, notes)
        notes[:0] = front  # first: the poller shows only the first few notes
        live = {q: QueueLive(queue_id=q, waiting=now.waiting, oldest_waiting_since=(
                    taken_at - timedelta(seconds=now.oldest_s)
                    if now.waiting and now.oldest_s is not None else None))
                for q, now in self.live.items() if q in qset}
        return Snapshot(taken_at=taken_at, interval_start=istart, day_start=dstart,
                        queues=out_queues, interval_stats=windows["interval"],
                        day_stats=windows["day"], agents=agents, contacts=contacts,
                        queue_live=live)

    def _agents(self, taken_at: datetime, qset: set[str], notes: list[str]
                ) -> tuple[tuple[Agent, ...], tuple[Contact, ...]]:
        explicit = bool(self.settings.queues)
        agents: list[Agent] = []
        contacts: dict[str, Contact] = {}
        channels: dict[str, str] = {}
        self._agent_cache.begin()
        self._contact_cache.begin()
        # each routing profile's queues among this source's, once per poll
        skills_of = {p: tuple(q for q in c.value if q in qset)
                     for p, c in self._profile_queues.items()}
        unread = garbage = 0
        oldest: datetime | None = None
        memos, self._memo = self._memo, {}
        for uid in self._users:
            read = self._user_data.get(uid)
            if read is None:
                unread += 1
                continue
            at, doc = read
            if doc is None:
                continue
            oldest = at if oldest is None or at < oldest else oldest
            profile = doc.RoutingProfile.Id if doc.RoutingProfile else None
            known = profile is not None and profile in skills_of
            skills = skills_of[profile] if known and profile is not None else ()
            if explicit and known and not skills:
                continue  # serves none of this source's queues
            memo = memos.get(uid)
            if memo is None or memo[0] is not doc or memo[1] != skills or \
                    memo[2] != self._catalog_at:
                memo = self._read_agent(uid, doc, skills, taken_at, qset)
            self._memo[uid] = memo
            _, _, _, key, contact = memo
            if key is None:
                garbage += 1
                continue
            if contact is not None:
                cid, ckey, connect_channel = contact
                contacts[cid] = self._contact_cache.get(cid, ckey, partial(
                    self._new_contact, cid, ckey))
                channels[cid] = connect_channel
            agents.append(self._agent_cache.get(uid, key, partial(
                self._new_agent, uid, key)))
        self._agent_cache.commit()
        self._contact_cache.commit()
        self._contacts, self._contact_channels = contacts, channels
        if unread:
            notes.append(f"agent states still being read: {unread} of {len(self._users)} "
                         "users not read yet")
        if oldest is not None and (taken_at - oldest).total_seconds() > 1:
            notes.append(f"agent states read in turns: the oldest are "
                         f"{(taken_at - oldest).total_seconds():.0f} s old")
        if garbage:
            notes.append(f"{garbage} agent state(s) dropped: status start lies in the "
                         "future")
        return tuple(agents), tuple(contacts.values())

    def _read_agent(self, uid: str, doc: UserDataDoc, skills: tuple[str, ...],
                    taken_at: datetime, qset: set[str]) -> _Memo:
        """What one agent (and the contact it is busy with) is built from; remembered
        while Connect answers the same for it (the doc object is then reused too). A key
        of None: garbage (its status starts in the future)."""
        skew = self.settings.max_clock_skew_s
        state = agent_now(doc, self._status_types)
        since = not_future(state.since, taken_at, skew) if state.since else taken_at
        if since is None:
            return (doc, skills, self._catalog_at, None, None)
        clamped = since != state.since
        contact = state.contact
        cqueue = contact.Queue.Id if contact and contact.Queue else None
        cid = contact.ContactId if contact and cqueue in qset else None
        found: tuple[str, _ContactKey, str] | None = None
        if contact is not None and cid is not None and cqueue is not None:
            channel = CHANNELS.get(contact.Channel or "", self.settings.queue(cqueue).channel)
            entered = contact.ConnectedToAgentTimestamp or contact.StateStartTimestamp
            clamped = clamped or (entered is not None and entered > taken_at)
            entered = not_future(entered, taken_at, skew) if entered else None
            cstate = (ContactState.WRAP_UP if state.kind is AgentStateKind.AFTER_CONTACT_WORK
                      else ContactState.CONNECTED)
            found = (cid, (cqueue, channel, entered or since, cstate, uid),
                     contact.Channel or "")
        name = self._users.get(uid, uid)
        key: _AgentKey = (name, state.kind, state.reason, since, skills, cid, cqueue)
        # a time clamped to this poll's must be clamped afresh next poll: not remembered
        return (None if clamped else doc, skills, self._catalog_at, key, found)

    def _new_contact(self, cid: str, key: _ContactKey) -> Contact:
        queue, channel, entered, state, agent = key
        return Contact(id=cid, queue_id=queue, channel=channel, entered_at=entered,
                       state=state, agent_id=agent, source=self.name)

    def _new_agent(self, uid: str, key: _AgentKey) -> Agent:
        name, kind, reason, since, skills, cid, cqueue = key
        return Agent(id=uid, name=name, state=AgentState(kind=kind, since=since, reason=reason),
                     skills=skills, contact_id=cid, queue_id=cqueue if cid else None,
                     source=self.name)

    # -- actions ----------------------------------------------------------------------

    async def _act(self, op: str, what: str, **params: Any) -> dict[str, Any] | ActionResult:
        """An action request; never raises. A write without an answer may have happened:
        the result says so."""
        try:
            return await self._call(op, what, pace=self._act_pace, **params)
        except RateLimited as err:
            return ActionResult(ok=False, code=ActionCode.RATE_LIMITED,
                                message=self.redact(str(err)))
        except ConnectError as err:
            message = self.redact(str(err))
            if not err.answered:
                return ActionResult(ok=False, code=ActionCode.NOT_CONFIRMED,
                                    message=f"not confirmed: {message} — check the next "
                                    "snapshot before trying again")
            code = {"ResourceNotFoundException": ActionCode.NOT_FOUND,
                    "InvalidRequestException": ActionCode.REFUSED,
                    "InvalidParameterException": ActionCode.BAD_REQUEST,
                    "IdempotencyException": ActionCode.CONFLICT}.get(err.code,
                                                                    ActionCode.ERROR)
            if err.code in _DENIED:
                code = ActionCode.REFUSED
            return ActionResult(ok=False, code=code, message=message)
        except SourceError as err:
            return ActionResult(ok=False, code=ActionCode.ERROR,
                                message=self.redact(str(err)))

    def _known_agent(self, agent_id: str) -> Agent | ActionResult:
        agent = self._agent_cache.last(agent_id.lower()) if is_uuid(agent_id) else None
        if agent is None:
            return ActionResult(ok=False, code=ActionCode.UNKNOWN_AGENT,
                                message=f"no agent {clean(agent_id, 40)} in source "
                                f"{self.name}'s last poll")
        return agent

    def _status(self, kind: str, name: str | None = None) -> AgentStatusDoc | None:
        for status in self._statuses:
            if status.Type == kind and (name is None or status.Name.casefold() == name):
                return status
        return None

    async def set_agent_state(self, agent_id: str, state: str) -> ActionResult:
        """PutUserStatus with the agent status the request names."""
        if not self.settings.allow_state_changes:
            return self._unsupported("change agents' states (allow_state_changes = false)")
        request = ac.parse_state(state)
        if request is None:
            return ActionResult(ok=False, code=ActionCode.UNKNOWN_STATE,
                                message=f"not a state: {clean(state, 40)}")
        found = self._known_agent(agent_id)
        if isinstance(found, ActionResult):
            return found
        agent = found
        if request.verb == ac.END_ACW:
            return self._unsupported("end after-contact work (Amazon Connect's API has no "
                                     "call for it: the agent closes the contact)")
        if agent.state.kind is AgentStateKind.ON_CONTACT:
            on = f" {agent.contact_id}" if agent.contact_id else ""
            return ActionResult(ok=False, code=ActionCode.ON_CONTACT,
                                message=f"{agent.name} is on contact{on}: try when it ends")
        if not self._statuses:
            return ActionResult(ok=False, code=ActionCode.NOT_READY,
                                message="agent statuses not read yet: try after the "
                                "next poll")
        if request.verb == ac.AVAILABLE:
            target = self._status("ROUTABLE")
        elif request.verb == ac.LOGOUT:
            target = self._status("OFFLINE")
        else:
            target = self._status("CUSTOM", request.reason) if request.reason else None
        if target is None:
            have = ", ".join(clean(s.Name, 30) for s in self._statuses
                             if s.Type == "CUSTOM")[:160] or "none"
            return ActionResult(ok=False, code=ActionCode.UNKNOWN_STATE,
                                message=f"no agent status for {request.describe()} in "
                                f"Amazon Connect (custom statuses: {have})")
        sent = await self._act("put_user_status", f"setting {agent.name}'s status",
                               InstanceId=self.settings.instance_id, UserId=agent.id,
                               AgentStatusId=target.Id)
        if isinstance(sent, ActionResult):
            return sent
        later = " when after-contact work ends (Connect sets it as the next status)" \
            if agent.state.kind is AgentStateKind.AFTER_CONTACT_WORK else ""
        return ActionResult(ok=True, code=ActionCode.OK,
                            message=f"{agent.name} set to {clean(target.Name, 40)}{later}")

    async def set_agent_skills(self, agent_id: str, skills: Sequence[str]) -> ActionResult:
        """Move the agent to the routing profile that serves exactly ``skills`` among this
        source's queues (preferred first decides between several)."""
        if not self.settings.allow_profile_moves:
            return self._unsupported("change agents' queues (allow_profile_moves = false)")
        found = self._known_agent(agent_id)
        if isinstance(found, ActionResult):
            return found
        agent = found
        qset = set(self.queue_ids())
        wanted = list(dict.fromkeys(q.lower() for q in skills))
        unknown = [q for q in wanted if q not in qset]
        if unknown or not wanted:
            return ActionResult(ok=False, code=ActionCode.UNKNOWN_QUEUE, message="no queue(s) "
                                f"{', '.join(clean(q, 40) for q in unknown[:3]) or 'chosen'}")
        if any(p not in self._profile_queues for p in self._profiles):
            return ActionResult(ok=False, code=ActionCode.NOT_READY,
                                message="routing profiles' queues not all read yet: try "
                                "again after a few polls")
        matches = [p for p, c in self._profile_queues.items()
                   if {q for q in c.value if q in qset} == set(wanted)]
        if len(matches) > 1:
            first = [p for p in matches if self._profile_queues[p].value[:1] == (wanted[0],)]
            matches = first if len(first) == 1 else matches
        names = ", ".join(self._name(q) for q in wanted)
        if not matches:
            return ActionResult(ok=False, code=ActionCode.NO_SKILL,
                                message=f"no routing profile serves exactly {names}: "
                                "create one in Amazon Connect first")
        if len(matches) > 1:
            listed = ", ".join(self._profiles[p] for p in matches[:3])
            return ActionResult(ok=False, code=ActionCode.CONFLICT,
                                message=f"several routing profiles serve exactly {names} "
                                f"({listed}): change it in Amazon Connect")
        target = matches[0]
        label = self._profiles.get(target, target)
        if set(agent.skills) == set(wanted):
            return ActionResult(ok=True, code=ActionCode.OK,
                                message=f"no change: {agent.name} already serves {names}")
        sent = await self._act("update_user_routing_profile",
                               f"moving {agent.name} to routing profile {label}",
                               InstanceId=self.settings.instance_id, UserId=agent.id,
                               RoutingProfileId=target)
        if isinstance(sent, ActionResult):
            return sent
        return ActionResult(ok=True, code=ActionCode.OK,
                            message=f"{agent.name} moved to routing profile {label} ({names})")

    async def move_contact(self, contact_id: str, queue_id: str) -> ActionResult:
        """TransferContact of a task or email contact to a queue, through the configured
        transfer flow (Connect's API transfers no voice or chat contact)."""
        flow = self.settings.transfer_flow_id
        if not flow:
            return self._unsupported("move contacts (no transfer_flow_id)")
        contact = self._contacts.get(contact_id.lower()) if is_uuid(contact_id) else None
        if contact is None:
            return ActionResult(ok=False, code=ActionCode.UNKNOWN_CONTACT,
                                message=f"no contact {clean(contact_id, 40)} in source "
                                f"{self.name}'s last poll")
        queue_id = queue_id.lower()
        if queue_id not in set(self.queue_ids()):
            return ActionResult(ok=False, code=ActionCode.UNKNOWN_QUEUE,
                                message=f"no queue {clean(queue_id, 40)} in source {self.name}")
        if contact.queue_id == queue_id:
            return ActionResult(ok=False, code=ActionCode.SAME_QUEUE,
                                message=f"contact {contact.id} is already in "
                                f"{self._name(queue_id)}")
        if contact.state is ContactState.WRAP_UP:
            return ActionResult(ok=False, code=ActionCode.NOT_WAITING,
                                message=f"contact {contact.id} has ended (its agent is "
                                "wrapping up): Connect transfers active contacts only")
        channel = self._contact_channels.get(contact.id, "")
        if channel not in ("TASK", "EMAIL"):
            return ActionResult(ok=False, code=ActionCode.CHANNEL_MISMATCH,
                                message="Amazon Connect transfers only task and email "
                                f"contacts through its API; this {channel.lower() or 'other'}"
                                " contact was not moved")
        # The same move asked twice (a retry after a lost answer) carries the same token,
        # so Connect does it once.
        token = str(uuid.uuid5(uuid.NAMESPACE_URL, f"connect:{contact.id}:{queue_id}"))
        sent = await self._act("transfer_contact", f"moving contact {contact.id}",
                               InstanceId=self.settings.instance_id, ContactId=contact.id,
                               QueueId=queue_id, ContactFlowId=flow, ClientToken=token)
        if isinstance(sent, ActionResult):
            return sent
        return ActionResult(ok=True, code=ActionCode.OK,
                            message=f"contact {contact.id} transferred to {self._name(queue_id)}")
