"""The twilio source against a TaskRouter fake, checked against the vendor's OpenAPI spec.

Twilio is SaaS we cannot run here. A respx router plays a small TaskRouter workspace
(queues, workers, tasks, statistics, paging, ETags) and records every exchange. The
contract tests then check each request against the spec's paths, parameters and
request bodies and each answer against its response schema, feed the parser answers
generated from the schemas alone, and check every field the parser reads is in the
spec. The spec is read from ../shared/specs/ (beside the repo), never copied here.
"""

from __future__ import annotations

import json
import math
import os
import re
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

from supervisor_tui.domain import metrics
from supervisor_tui.domain.intervals import IntervalPolicy
from supervisor_tui.domain.model import (
    AgentStateKind,
    Channel,
    ContactState,
    QueueStats,
    Snapshot,
    Tier,
)
from supervisor_tui.poller import Poller
from supervisor_tui.sources.base import Capability, SourceError
from supervisor_tui.sources.limits import RateLimited
from supervisor_tui.sources.twilio.documents import (
    ActivityCount,
    ActivityDoc,
    BulkRealtimeDoc,
    CumulativeDoc,
    DurationsDoc,
    PageMeta,
    RealtimeDoc,
    Split,
    SplitCounts,
    SplitDoc,
    TaskDoc,
    TaskQueueDoc,
    TasksByStatus,
    WorkerDoc,
    check_split,
    queue_stats,
)
from supervisor_tui.sources.twilio.settings import TwilioSettings
from supervisor_tui.sources.twilio.source import TwilioSource
from tests.counting import count_problems

respx = pytest.importorskip("respx", reason="respx (a test dependency) is not installed")

SPEC_PATH = Path(__file__).resolve().parents[2] / "shared" / "specs" / "twilio_taskrouter_v1.json"
BASE = "https://taskrouter.twilio.com"
POLICY = IntervalPolicy(minutes=30, tz="UTC")
NOW = datetime(2026, 11, 22, 10, 20, tzinfo=UTC)
TOKEN_ENV = "SUPERVISOR_TUI_TEST_TWILIO_TOKEN"


def sid(prefix: str, n: int) -> str:
    return f"{prefix}{n:032x}"


WS = sid("WS", 1)
WSP = f"/v1/Workspaces/{WS}"
AC = sid("AC", 1)
SALES, SUPPORT, OTHER = sid("WQ", 1), sid("WQ", 2), sid("WQ", 3)
W_ANN, W_BOB, W_CY, W_DI, W_ED, W_FLO = (sid("WK", n) for n in range(1, 7))
T1, T2, T3, T4, T5, T9 = (sid("WT", n) for n in (1, 2, 3, 4, 5, 9))


def iso(when: datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


class Clock:
    def __init__(self, now: datetime = NOW) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


def twilio_error(status: int, code: int, message: str) -> httpx.Response:
    return httpx.Response(status, json={"code": code, "message": message,
                                        "more_info": f"https://www.twilio.com/docs/errors/{code}",
                                        "status": status})


# -- the fake workspace ----------------------------------------------------------------


@dataclass
class FakeTask:
    sid: str
    queue: str
    status: str
    created: datetime
    entered: datetime
    priority: int = 0
    channel: str = "voice"
    attributes: dict[str, Any] = field(default_factory=dict)
    etag: int = 1


@dataclass
class FakeWorker:
    sid: str
    name: str
    activity: str
    since: datetime
    attributes: dict[str, Any] = field(default_factory=dict)
    etag: int = 1


@dataclass
class Window:
    """A queue's cumulative numbers; splits: threshold -> (below acc, below can,
    above acc, above can)."""

    entered: int = 0
    accepted: int = 0
    canceled: int = 0
    moved: int = 0
    wait_in_queue: float = 0.0
    splits: dict[int, tuple[int, int, int, int]] = field(default_factory=dict)


class FakeTaskRouter:
    """A TaskRouter workspace on respx; answers are shaped like the spec's examples."""

    def __init__(self, clock: Clock, page_size: int = 50) -> None:
        self.clock = clock
        self.page_size = page_size
        self.queues: dict[str, str] = {SALES: "Sales", SUPPORT: "Support", OTHER: "Billing"}
        self.routing: dict[str, str] = {"sales": SALES, "support": SUPPORT}
        self.activities = [(sid("WA", 1), "Available", True), (sid("WA", 2), "Offline", False),
                           (sid("WA", 3), "Break", False), (sid("WA", 4), "Busy", False),
                           (sid("WA", 5), "WrapUp", False), (sid("WA", 6), "Coaching", False)]
        self.workers: list[FakeWorker] = []
        self.tasks: list[FakeTask] = []
        self.members: dict[str, list[str]] = {}
        self.windows: dict[tuple[str, str], Window] = {}
        #: tweak a JSON answer before it is sent: (kind, data) -> data
        self.mangle: Callable[[str, Any], Any] | None = None
        #: answer a request ourselves (errors, races) before the fake does
        self.override: Callable[[httpx.Request], httpx.Response | None] | None = None
        self.router = respx.Router(assert_all_called=False)
        self.router.route().mock(side_effect=self.handle)

    @property
    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.router.async_handler)

    @property
    def calls(self) -> list[Any]:
        return list(self.router.calls)

    def requests(self) -> list[httpx.Request]:
        return [c.request for c in self.router.calls]

    # records ------------------------------------------------------------------

    def activity(self, name: str) -> tuple[str, str, bool]:
        return next(a for a in self.activities if a[1] == name)

    def worker_doc(self, w: FakeWorker, with_attributes: bool) -> dict[str, Any]:
        a_sid, a_name, a_available = self.activity(w.activity)
        return {
            "account_sid": AC, "activity_name": a_name, "activity_sid": a_sid,
            # The spec: attributes only come with a fetch of one worker, null in lists.
            "attributes": json.dumps(w.attributes) if with_attributes else None,
            "available": a_available, "date_created": iso(w.since - timedelta(days=30)),
            "date_status_changed": iso(w.since), "date_updated": iso(w.since),
            "friendly_name": w.name, "sid": w.sid, "workspace_sid": WS,
            "url": f"{BASE}{WSP}/Workers/{w.sid}",
            "links": {"activity": f"{BASE}{WSP}/Activities/{a_sid}"},
        }

    def task_doc(self, t: FakeTask) -> dict[str, Any]:
        now = self.clock.now
        return {
            "account_sid": AC, "age": int((now - t.created).total_seconds()),
            "assignment_status": t.status, "attributes": json.dumps(t.attributes),
            "addons": "{}", "date_created": iso(t.created), "date_updated": iso(t.entered),
            "task_queue_entered_date": iso(t.entered), "virtual_start_time": iso(t.created),
            "priority": t.priority, "reason": None, "sid": t.sid, "task_queue_sid": t.queue,
            "task_queue_friendly_name": self.queues.get(t.queue),
            "task_channel_sid": sid("TC", 1), "task_channel_unique_name": t.channel,
            "timeout": 86400, "workflow_sid": sid("WW", 1), "workflow_friendly_name": "Main",
            "workspace_sid": WS, "url": f"{BASE}{WSP}/Tasks/{t.sid}", "links": {},
            "ignore_capacity": False, "routing_target": None,
        }

    def realtime_item(self, queue: str) -> dict[str, Any]:
        waiting = [t for t in self.tasks if t.queue == queue]
        by_status = {s: sum(1 for t in waiting if t.status == s)
                     for s in ("reserved", "pending", "assigned", "wrapping")}
        pending = [t for t in waiting if t.status == "pending"]
        oldest = min(pending, key=lambda t: t.created, default=None)
        members = [w for w in self.workers if w.sid in self.members.get(queue, [])]
        stats = [{"friendly_name": name, "workers": sum(1 for w in members
                                                        if w.activity == name), "sid": a_sid}
                 for a_sid, name, _ in self.activities]
        return {
            "task_queue_sid": queue,
            "longest_task_waiting_age": int((self.clock.now - oldest.created).total_seconds())
            if oldest else 0,
            "longest_task_waiting_sid": oldest.sid if oldest else None,
            "total_tasks": len(waiting), "total_eligible_workers": len(members),
            "total_available_workers": sum(1 for w in members if w.activity == "Available"),
            "tasks_by_status": by_status, "tasks_by_priority": {},
            "activity_statistics": stats,
        }

    def cumulative_doc(self, queue: str, params: dict[str, str]) -> dict[str, Any]:
        now = self.clock.now
        if "StartDate" in params:
            start = datetime.fromisoformat(params["StartDate"])
        else:
            start = now - timedelta(minutes=int(params.get("Minutes", "15")))
        kind = "day" if start == POLICY.day_start(now) else "interval"
        w = self.windows.get((queue, kind), Window())
        splits = {}
        for threshold in params.get("SplitByWaitTime", "").split(","):
            if threshold:
                ba, bc, aa, ac = w.splits.get(int(threshold), (0, 0, 0, 0))
                splits[threshold] = {"above": {"tasks_canceled": ac, "reservations_accepted": aa},
                                     "below": {"tasks_canceled": bc, "reservations_accepted": ba}}
        avg = w.wait_in_queue / w.accepted if w.accepted else 0
        return {
            "reservations_created": w.accepted, "account_sid": AC, "reservations_rejected": 0,
            "tasks_completed": w.accepted, "end_time": iso(now), "tasks_entered": w.entered,
            "tasks_canceled": w.canceled, "reservations_accepted": w.accepted,
            "task_queue_sid": queue, "reservations_timed_out": 0,
            "url": f"{BASE}{WSP}/TaskQueues/{queue}/CumulativeStatistics",
            "wait_duration_until_canceled": {"avg": 0, "min": 0, "max": 0, "total": 0},
            "wait_duration_until_accepted": {"avg": avg, "min": 0, "max": 0,
                                             "total": w.wait_in_queue + 99},
            "wait_duration_in_queue_until_accepted": {"avg": avg, "min": 0, "max": 0,
                                                      "total": w.wait_in_queue},
            "split_by_wait_time": splits, "start_time": iso(start), "tasks_moved": w.moved,
            "reservations_canceled": 0, "workspace_sid": WS, "tasks_deleted": 0,
            "reservations_rescinded": 0, "avg_task_acceptance_time": int(avg),
        }

    # HTTP -----------------------------------------------------------------------

    def handle(self, request: httpx.Request) -> httpx.Response:
        if self.override is not None:
            answer = self.override(request)
            if answer is not None:
                return answer
        path = request.url.path
        query = parse_qsl(request.url.query.decode(), keep_blank_values=True)
        params = dict(query)
        method = request.method
        if not path.startswith(WSP):
            return twilio_error(404, 20404, "The requested resource was not found")
        rest = path[len(WSP):]
        if method == "GET" and rest == "/TaskQueues":
            docs = [{"sid": q, "friendly_name": n, "account_sid": AC, "workspace_sid": WS,
                     "target_workers": "1==1", "max_reserved_workers": 1,
                     "task_order": "FIFO", "url": f"{BASE}{WSP}/TaskQueues/{q}"}
                    for q, n in self.queues.items()]
            return self.page(request, query, "task_queues", docs)
        if method == "GET" and rest == "/Activities":
            docs = [{"sid": a, "friendly_name": n, "available": av, "account_sid": AC,
                     "workspace_sid": WS, "url": f"{BASE}{WSP}/Activities/{a}"}
                    for a, n, av in self.activities]
            return self.page(request, query, "activities", docs)
        if method == "GET" and rest == "/Workers":
            workers = self.workers
            if "TaskQueueSid" in params:
                members = self.members.get(params["TaskQueueSid"], [])
                workers = [w for w in workers if w.sid in members]
            docs = [self.worker_doc(w, with_attributes=False) for w in workers]
            return self.page(request, query, "workers", docs)
        if method == "GET" and rest == "/Tasks":
            wanted = {v for k, v in query if k == "AssignmentStatus"}
            docs = [self.task_doc(t) for t in self.tasks if not wanted or t.status in wanted]
            return self.page(request, query, "tasks", docs)
        if method == "POST" and rest == "/TaskQueues/RealTimeStatistics":
            body = json.loads(request.content or b"{}")
            sids = body.get("QueueSids") or body.get("queueSids") or []
            data = {"account_sid": AC, "workspace_sid": WS,
                    "url": f"{BASE}{WSP}/TaskQueues/RealTimeStatistics",
                    "task_queue_data": [self.realtime_item(q) for q in sids if q in self.queues],
                    "task_queue_response_count": len(sids)}
            return self.json("bulk", data)
        match = re.fullmatch(r"/TaskQueues/(WQ\w+)/CumulativeStatistics", rest)
        if method == "GET" and match:
            return self.json("cumulative", self.cumulative_doc(match.group(1), params))
        match = re.fullmatch(r"/Tasks/(WT\w+)", rest)
        if match:
            return self.task_instance(request, match.group(1))
        match = re.fullmatch(r"/Workers/(WK\w+)", rest)
        if match:
            return self.worker_instance(request, match.group(1))
        return twilio_error(404, 20404, "The requested resource was not found")

    def json(self, kind: str, data: Any, headers: dict[str, str] | None = None
             ) -> httpx.Response:
        if self.mangle is not None:
            data = self.mangle(kind, data)
        return httpx.Response(200, json=data, headers=headers)

    def page(self, request: httpx.Request, query: list[tuple[str, str]], key: str,
             docs: list[dict[str, Any]]) -> httpx.Response:
        params = dict(query)
        size = min(int(params.get("PageSize", "50")), self.page_size)
        number = int(params.get("Page", "0"))
        chunk = docs[number * size:(number + 1) * size]
        keep = [(k, v) for k, v in query if k not in ("Page", "PageToken")]
        url = f"{BASE}{request.url.path}"

        def link(n: int) -> str:
            return f"{url}?{urlencode([*keep, ('Page', str(n)), ('PageToken', f'PT{n}')])}"

        more = (number + 1) * size < len(docs)
        meta = {"first_page_url": f"{url}?{urlencode([*keep, ('Page', '0')])}", "key": key,
                "next_page_url": link(number + 1) if more else None, "page": number,
                "page_size": size, "previous_page_url": link(number - 1) if number else None,
                "url": link(number)}
        return self.json(key, {key: chunk, "meta": meta})

    def task_instance(self, request: httpx.Request, task_sid: str) -> httpx.Response:
        task = next((t for t in self.tasks if t.sid == task_sid), None)
        if task is None:
            return twilio_error(404, 20404, f"Task {task_sid} not found")
        if request.method == "POST":
            if request.headers.get("If-Match") not in (None, f'"{task.etag}"'):
                return twilio_error(412, 20412, "ETag mismatch")
            form = dict(parse_qsl(request.content.decode()))
            if "Attributes" in form:
                task.attributes = json.loads(form["Attributes"])
                # The workspace's workflow routes on transfer_queue.
                target = self.routing.get(task.attributes.get("transfer_queue", ""))
                if target and task.status == "pending":
                    task.queue, task.entered = target, self.clock.now
            if "Priority" in form:
                task.priority = int(form["Priority"])
            task.etag += 1
        return self.json("task", self.task_doc(task), headers={"ETag": f'"{task.etag}"'})

    def worker_instance(self, request: httpx.Request, worker_sid: str) -> httpx.Response:
        worker = next((w for w in self.workers if w.sid == worker_sid), None)
        if worker is None:
            return twilio_error(404, 20404, f"Worker {worker_sid} not found")
        if request.method == "POST":
            if request.headers.get("If-Match") not in (None, f'"{worker.etag}"'):
                return twilio_error(412, 20412, "ETag mismatch")
            form = dict(parse_qsl(request.content.decode()))
            if "ActivitySid" in form:
                name = next(n for a, n, _ in self.activities if a == form["ActivitySid"])
                worker.activity, worker.since = name, self.clock.now
            if "Attributes" in form:
                worker.attributes = json.loads(form["Attributes"])
                skills = worker.attributes.get("routing", {}).get("skills", [])
                for value, queue in self.routing.items():
                    members = self.members.setdefault(queue, [])
                    if value in skills and worker.sid not in members:
                        members.append(worker.sid)
                    if value not in skills and worker.sid in members:
                        members.remove(worker.sid)
            worker.etag += 1
        return self.json("worker", self.worker_doc(worker, with_attributes=True),
                         headers={"ETag": f'"{worker.etag}"'})


def centre(fake: FakeTaskRouter) -> None:
    """Two queues with numbers worked out by hand (see test_snapshot_mapping)."""
    now = fake.clock.now
    ago = lambda s: now - timedelta(seconds=s)  # noqa: E731
    fake.workers = [
        FakeWorker(W_ANN, "Ann", "Available", ago(120),
                   {"routing": {"skills": ["sales", "support", "billing"]}, "team": "A"}),
        FakeWorker(W_BOB, "Bob", "Break", ago(600)),
        FakeWorker(W_CY, "Cy", "Offline", ago(7200)),
        FakeWorker(W_DI, "Di", "Busy", ago(45)),
        FakeWorker(W_ED, "Ed", "Coaching", ago(300)),
        FakeWorker(W_FLO, "Flo", "WrapUp", ago(20)),
    ]
    fake.members = {SALES: [W_ANN, W_BOB, W_DI], SUPPORT: [W_ANN, W_ED], OTHER: [W_CY]}
    fake.tasks = [
        FakeTask(T1, SALES, "pending", ago(50), ago(50), attributes={"from": "+4420"}),
        FakeTask(T2, SALES, "pending", ago(30), ago(30), attributes={"tier": "VIP"}),
        FakeTask(T3, SALES, "pending", ago(10), ago(10), priority=60),
        # Reserved (ringing at an agent): still waiting; entered Support 20 s after creation.
        FakeTask(T4, SUPPORT, "reserved", ago(70), ago(50), channel="chat",
                 attributes={"tier": "gold", "name": "Zoe"}),
        FakeTask(T5, SUPPORT, "assigned", ago(300), ago(290), channel="chat"),
        FakeTask(T9, OTHER, "pending", ago(5), ago(5)),
    ]
    fake.windows = {
        # Arrivals (entered) differ from what left the queue: offered counts the latter.
        (SALES, "interval"): Window(entered=40, accepted=30, canceled=6, moved=2,
                                    wait_in_queue=300,
                                    splits={20: (24, 4, 6, 2), 5: (10, 2, 20, 4)}),
        (SUPPORT, "interval"): Window(entered=10, accepted=10, canceled=0, wait_in_queue=120,
                                      splits={60: (10, 0, 0, 0)}),
        (SALES, "day"): Window(entered=400, accepted=350, canceled=30, moved=5,
                               wait_in_queue=5000,
                               splits={20: (300, 20, 50, 10), 5: (100, 12, 250, 18)}),
        (SUPPORT, "day"): Window(entered=90, accepted=88, canceled=2, wait_in_queue=900,
                                 splits={60: (80, 2, 8, 0)}),
    }


SETTINGS: dict[str, Any] = {
    "workspace_sid": WS, "account_sid": AC, "password_env": TOKEN_ENV,
    "queues": [SALES, SUPPORT],
    "queue_settings": {
        SALES: {"threshold_s": 20, "short_abandon_s": 5, "routing_value": "sales"},
        SUPPORT: {"channel": "chat", "sl_target": 0.9, "threshold_s": 60,
                  "short_abandon_s": 0, "routing_value": "support"},
    },
    "tier_by_priority": {"gold": 50},
    "customer_attribute": "name",
}


@pytest.fixture(autouse=True)
def token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(TOKEN_ENV, "secret-token")


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def fake(clock: Clock) -> FakeTaskRouter:
    f = FakeTaskRouter(clock)
    centre(f)
    return f


Make = Callable[..., TwilioSource]


@pytest.fixture
async def make(fake: FakeTaskRouter, clock: Clock) -> AsyncIterator[Make]:
    made: list[TwilioSource] = []

    def build(**overrides: Any) -> TwilioSource:
        settings = TwilioSettings(**{**SETTINGS, **overrides})
        source = TwilioSource("twilio", POLICY, settings, transport=fake.transport,
                              clock=clock)
        made.append(source)
        return source

    yield build
    for source in made:
        await source.close()


async def poll_counted(source: TwilioSource, fake: FakeTaskRouter) -> tuple[int, int, Any]:
    """(poll_cost asked first, requests actually sent, the snapshot)."""
    cost = source.poll_cost()
    before = len(fake.calls)
    snap = await source.snapshot()
    return cost, len(fake.calls) - before, snap


def one_line(err: BaseException) -> str:
    text = str(err)
    assert text and "\n" not in text and "Traceback" not in text
    return text


# -- behaviour: mapping -------------------------------------------------------------------


async def test_snapshot_mapping(make: Make, fake: FakeTaskRouter, clock: Clock) -> None:
    source = make()
    snap = await source.snapshot()
    assert snap.taken_at == NOW
    assert snap.interval_start == datetime(2026, 11, 22, 10, 0, tzinfo=UTC)
    assert snap.day_start == datetime(2026, 11, 22, tzinfo=UTC)
    assert [(q.id, q.name, q.channel, q.sl_target, q.threshold_s) for q in snap.queues] == [
        (SALES, "Sales", Channel.VOICE, 0.8, 20), (SUPPORT, "Support", Channel.CHAT, 0.9, 60)]
    assert all(q.source == "twilio" for q in snap.queues)

    # Sales interval: 30 answered, 24 within 20 s; 6 abandoned, 2 under 5 s, 2 after 20 s;
    # 2 moved to another queue. Offered is what left the queue: 38, not the 40 that entered.
    sales = snap.interval_stats[SALES]
    assert (sales.offered, sales.answered, sales.answered_within_threshold) == (38, 30, 24)
    assert (sales.abandoned, sales.abandoned_short, sales.abandoned_after_threshold) == (6, 2, 2)
    assert sales.flowed_out == 2
    assert sales.wait_answered_s == 300  # the in-queue wait, not the since-creation one
    assert metrics.service_level(sales) == pytest.approx(24 / 32)  # 75 %
    assert metrics.asa(sales) == pytest.approx(10.0)
    assert metrics.abandon_rate(sales) == pytest.approx(4 / 36)
    assert metrics.aht(sales) is None  # TaskRouter has no handle times: unknown, not 0 s
    assert sales.window_start == snap.interval_start
    support = snap.interval_stats[SUPPORT]
    assert metrics.service_level(support) == 1.0 and support.abandoned_short == 0
    day = snap.day_stats[SALES]
    assert (day.window_start, day.answered, day.answered_within_threshold) == (
        snap.day_start, 350, 300)
    assert (day.offered, day.flowed_out) == (385, 5)
    assert metrics.service_level(day) == pytest.approx(300 / 360)

    # Waiting: pending and reserved tasks of the shown queues; assigned and Billing not.
    waiting = {c.id: c for c in snap.contacts}
    assert set(waiting) == {T1, T2, T3, T4}
    assert all(c.state == ContactState.WAITING for c in waiting.values())
    assert metrics.longest_wait([c for c in snap.contacts if c.queue_id == SALES],
                                snap.taken_at) == 50
    assert metrics.longest_wait(snap.contacts, snap.taken_at) == 50
    assert waiting[T4].entered_at == NOW - timedelta(seconds=50)  # in Support 50 s, age 70
    assert waiting[T4].channel == Channel.CHAT and waiting[T4].customer == "Zoe"
    assert [waiting[t].tier for t in (T1, T2, T3, T4)] == [
        Tier.STANDARD, Tier.VIP, Tier.GOLD, Tier.GOLD]  # T3 by priority 60 >= 50

    # Agents: state from the activity name, since from date_status_changed.
    agents = {a.id: a for a in snap.agents}
    tally = metrics.agent_counts(snap.agents)
    assert (tally.available, tally.on_contact, tally.after_contact_work, tally.away,
            tally.offline) == (1, 1, 1, 2, 1)
    assert agents[W_BOB].state.kind == AgentStateKind.AWAY
    assert agents[W_BOB].state.reason == "break"
    assert agents[W_BOB].state.since == NOW - timedelta(seconds=600)
    assert agents[W_ED].state.reason == "coaching"  # unmapped, not available: away
    assert any("Coaching" in n for n in source.notes)
    assert agents[W_ANN].skills == (SALES, SUPPORT)  # from each queue's eligible workers
    assert agents[W_BOB].skills == (SALES,) and agents[W_CY].skills == ()
    # Real-time statistics, validated and kept.
    assert source.live[SALES].pending == 3 and source.live[SUPPORT].reserved == 1
    assert source.live[SALES].longest_wait_s == 50


async def test_activity_map_from_settings(make: Make) -> None:
    source = make(activity_map={"Coaching": "on_contact"})
    snap = await source.snapshot()
    ed = next(a for a in snap.agents if a.id == W_ED)
    assert ed.state.kind == AgentStateKind.ON_CONTACT and ed.state.reason is None
    assert not any("Coaching" in n for n in source.notes)


async def test_unchanged_records_keep_their_objects(make: Make, clock: Clock) -> None:
    source = make()
    first = await source.snapshot()
    clock.advance(2)
    second = await source.snapshot()
    assert [id(a) for a in first.agents] == [id(a) for a in second.agents]
    assert [id(c) for c in first.contacts] == [id(c) for c in second.contacts]


async def test_discovers_every_queue_when_none_configured(make: Make,
                                                          fake: FakeTaskRouter) -> None:
    source = make(queues=None)
    snap = await source.snapshot()
    assert [q.name for q in snap.queues] == ["Sales", "Support", "Billing"]
    assert T9 in {c.id for c in snap.contacts}


async def test_tier_from_priority_when_attributes_are_absent(make: Make,
                                                             fake: FakeTaskRouter) -> None:
    def strip(kind: str, data: Any) -> Any:
        if kind == "tasks":
            for t in data["tasks"]:
                t["attributes"] = None  # what the spec says lists do
        return data

    fake.mangle = strip
    snap = await make(tier_by_priority={"vip": 100, "gold": 50}).snapshot()
    tiers = {c.id: c.tier for c in snap.contacts}
    assert tiers == {T1: Tier.STANDARD, T2: Tier.STANDARD, T3: Tier.GOLD, T4: Tier.STANDARD}


async def test_interval_boundary_does_not_show_last_intervals_counters(
        make: Make, fake: FakeTaskRouter, clock: Clock) -> None:
    clock.now = datetime(2026, 11, 22, 10, 29, 50, tzinfo=UTC)
    source = make(max_requests=14)  # 11 for the first poll, then only the live calls
    first = await source.snapshot()
    assert set(first.interval_stats) == {SALES, SUPPORT}
    clock.now = datetime(2026, 11, 22, 10, 30, 5, tzinfo=UTC)
    cost, sent, snap = await poll_counted(source, fake)
    assert (cost, sent) == (3, 3)  # no room to re-read the counters yet
    assert snap.interval_start == datetime(2026, 11, 22, 10, 30, tzinfo=UTC)
    assert snap.interval_stats == {}  # 10:00-10:30 counters are not this interval's
    assert snap.day_stats[SALES] == first.day_stats[SALES]  # still the same day
    fresh = make()
    fake.windows[(SALES, "interval")] = Window(entered=3, accepted=1,
                                               splits={20: (1, 0, 0, 0), 5: (0, 0, 1, 0)})
    snap = await fresh.snapshot()
    assert snap.interval_stats[SALES].offered == 1
    assert snap.interval_stats[SALES].window_start == snap.interval_start


# -- behaviour: paging, cost, budget ------------------------------------------------------


async def test_paging_follows_next_page_url(make: Make, fake: FakeTaskRouter,
                                            clock: Clock) -> None:
    fake.page_size = 2
    source = make()
    snap = await source.snapshot()
    assert {a.id for a in snap.agents} == {W_ANN, W_BOB, W_CY, W_DI, W_ED, W_FLO}
    worker_pages = [r for r in fake.requests()
                    if r.url.path == f"{WSP}/Workers" and "TaskQueueSid" not in str(r.url)]
    assert len(worker_pages) == 3
    assert [dict(parse_qsl(r.url.query.decode())).get("PageToken") for r in worker_pages] == [
        None, "PT1", "PT2"]
    assert {c.id for c in snap.contacts} == {T1, T2, T3, T4}
    assert all(r.url.host == "taskrouter.twilio.com" for r in fake.requests())
    # The page counts are remembered: the next poll's cost is exact.
    clock.advance(3600)
    cost, sent, _ = await poll_counted(source, fake)
    assert cost == sent


async def test_poll_cost_equals_requests_sent(make: Make, fake: FakeTaskRouter,
                                             clock: Clock) -> None:
    source = make()
    # First poll: catalog (queues, activities) + bulk + workers + tasks + per queue
    # interval, day and members (2 queues).
    cost, sent, _ = await poll_counted(source, fake)
    assert (cost, sent) == (2 + 1 + 1 + 1 + 2 * 3, 11)
    # Nothing due: only the live calls.
    clock.advance(2)
    cost, sent, _ = await poll_counted(source, fake)
    assert (cost, sent) == (3, 3)
    # Interval counters every 30 s; members every 120 s; day every 300 s; catalog 600 s.
    clock.advance(30)
    cost, sent, _ = await poll_counted(source, fake)
    assert (cost, sent) == (5, 5)
    clock.advance(300)
    cost, sent, _ = await poll_counted(source, fake)
    assert (cost, sent) == (3 + 6, 9)
    clock.advance(600)
    cost, sent, _ = await poll_counted(source, fake)
    assert (cost, sent) == (2 + 3 + 6, 11)
    assert source.last_poll_requests == 11


async def test_refreshes_are_capped_per_poll(make: Make, fake: FakeTaskRouter,
                                            clock: Clock) -> None:
    source = make(max_jobs_per_poll=1)
    await source.snapshot()
    clock.advance(400)  # everything per queue is due again: one refresh per poll
    cost, sent, _ = await poll_counted(source, fake)
    assert (cost, sent) == (4, 4)


async def test_first_poll_cost_is_an_estimate_without_configured_queues(
        make: Make, fake: FakeTaskRouter, clock: Clock) -> None:
    source = make(queues=None)
    cost, sent, _ = await poll_counted(source, fake)
    assert cost == 4  # catalog + workers + tasks; queue count unknown until listed
    assert sent == 2 + 1 + 1 + 1 + 3 * 3
    clock.advance(2)
    cost, sent, _ = await poll_counted(source, fake)
    assert (cost, sent) == (3, 3)


async def test_poller_never_exceeds_the_budget(make: Make, fake: FakeTaskRouter) -> None:
    source = make(max_requests=8, budget_window_s=60)
    poller = Poller([source], interval_s=0.01, timeout_s=5)
    first = await poller.poll_once()
    assert first.errors == () and first.snapshot is not None
    # Mandatory 5 (catalog 2, bulk, workers, tasks) + the 3 most needed per-queue calls.
    assert len(fake.calls) == 8
    stats = first.snapshot.interval_stats
    assert set(stats) == {SALES, SUPPORT}  # interval counters come first
    for _ in range(3):
        result = await poller.poll_once()
        assert result.errors == ()  # waits for room; never a 429 of our own making
    assert len(fake.calls) == 8 and source.request_stats.rate_limited == 0


async def test_bulk_statistics_in_batches_of_50(make: Make, fake: FakeTaskRouter) -> None:
    many = [sid("WQ", 100 + n) for n in range(120)]
    fake.queues.update({q: f"Q{n}" for n, q in enumerate(many)})
    source = make(queues=many, day_stats=False, max_requests=2000)
    await source.snapshot()
    bulk = [json.loads(r.content) for r in fake.requests()
            if r.url.path.endswith("/TaskQueues/RealTimeStatistics")]
    assert [len(b["QueueSids"]) for b in bulk] == [50, 50, 20]
    assert all(b["QueueSids"] == b["queueSids"] for b in bulk)
    assert sorted(q for b in bulk for q in b["QueueSids"]) == sorted(many)


async def test_bulk_body_key_can_be_one_spelling(make: Make, fake: FakeTaskRouter) -> None:
    await make(bulk_body_key="queueSids").snapshot()
    body = next(json.loads(r.content) for r in fake.requests()
                if r.url.path.endswith("/TaskQueues/RealTimeStatistics"))
    assert list(body) == ["queueSids"]


async def test_cumulative_window_by_minutes(make: Make, fake: FakeTaskRouter,
                                            clock: Clock) -> None:
    clock.now = datetime(2026, 11, 22, 10, 20, 30, tzinfo=UTC)
    await make(stats_window="Minutes", day_stats=False).snapshot()
    asked = [dict(parse_qsl(r.url.query.decode())) for r in fake.requests()
             if r.url.path.endswith("/CumulativeStatistics")]
    assert {a["Minutes"] for a in asked} == {"21"}  # 10:20:30 - 10:00, rounded up
    assert {a["SplitByWaitTime"] for a in asked} == {"5,20", "60"}


# -- behaviour: platform errors --------------------------------------------------------------


async def test_429_raises_rate_limited_with_retry_after(make: Make,
                                                        fake: FakeTaskRouter) -> None:
    fake.override = lambda r: (httpx.Response(429, headers={"Retry-After": "7"},
                                              json={"code": 20429, "message": "Too Many"})
                               if r.url.path == f"{WSP}/Workers" else None)
    with pytest.raises(RateLimited) as caught:
        await make().snapshot()
    assert caught.value.retry_after == 7.0
    assert "429" in one_line(caught.value)


async def test_401_is_a_clear_error(make: Make, fake: FakeTaskRouter) -> None:
    fake.override = lambda r: twilio_error(401, 20003, "Authenticate")
    with pytest.raises(SourceError) as caught:
        await make().snapshot()
    assert "authentication refused (HTTP 401)" in one_line(caught.value)


async def test_credentials_are_sent_as_basic_auth(make: Make, fake: FakeTaskRouter,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    await make().snapshot()
    assert fake.requests()[0].headers["Authorization"] == httpx.BasicAuth(
        AC, "secret-token")._auth_header
    monkeypatch.setenv("SUPERVISOR_TUI_TEST_TWILIO_KEY", "SK" + "b" * 32)
    before = len(fake.calls)
    await make(account_sid=None, username_env="SUPERVISOR_TUI_TEST_TWILIO_KEY").snapshot()
    assert fake.requests()[before].headers["Authorization"] == httpx.BasicAuth(
        "SK" + "b" * 32, "secret-token")._auth_header


def test_missing_secret_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(TOKEN_ENV)
    with pytest.raises(SourceError) as caught:
        TwilioSource("twilio", POLICY, TwilioSettings(**SETTINGS))
    assert TOKEN_ENV in one_line(caught.value)


@pytest.mark.parametrize(("status", "body", "expected"), [
    (502, "<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>",
     "HTTP 502"),
    (200, "<!DOCTYPE html><html><title>Maintenance</title></html>", "not JSON"),
    (200, "[1, 2, 3]", "expected a JSON object"),
    (200, '{"workers": "none", "meta": {}}', "no 'workers' list"),
])
async def test_html_and_junk_answers_are_one_line_errors(
        make: Make, fake: FakeTaskRouter, status: int, body: str, expected: str) -> None:
    fake.override = lambda r: (httpx.Response(status, text=body,
                                              headers={"content-type": "text/html"})
                               if r.url.path == f"{WSP}/Workers" else None)
    with pytest.raises(SourceError) as caught:
        await make().snapshot()
    assert expected in one_line(caught.value)


def mangle_realtime(change: Callable[[dict[str, Any]], None]) -> Callable[[str, Any], Any]:
    def apply(kind: str, data: Any) -> Any:
        if kind == "bulk":
            change(data["task_queue_data"][0])
        return data
    return apply


def mangle_cumulative(change: Callable[[dict[str, Any]], None]) -> Callable[[str, Any], Any]:
    def apply(kind: str, data: Any) -> Any:
        if kind == "cumulative" and data["task_queue_sid"] == SALES:
            change(data)
        return data
    return apply


@pytest.mark.parametrize(("mangle", "expected"), [
    (mangle_realtime(lambda d: d["tasks_by_status"].update(pending=-3)), "negative count -3"),
    (mangle_realtime(lambda d: d.update(longest_task_waiting_age=9_000_000)), "absurd"),
    (mangle_realtime(lambda d: d.update(total_eligible_workers="many")), "not a count"),
    (mangle_realtime(lambda d: d.update(activity_statistics={"Idle": 3})), "list"),
    (mangle_realtime(lambda d: d.update(task_queue_sid=None)), "task_queue_sid"),
    (mangle_cumulative(lambda d: d.update(reservations_accepted="lots")), "not a count"),
    (mangle_cumulative(lambda d: d.update(tasks_canceled=-1)), "negative count"),
    (mangle_cumulative(lambda d: d.update(tasks_entered=True)), "true/false"),
    (mangle_cumulative(lambda d: d["split_by_wait_time"].update({"20": [1, 2]})),
     "split_by_wait_time"),
    (mangle_cumulative(lambda d: d["wait_duration_in_queue_until_accepted"].update(
        total=-5)), "not a duration"),
    (mangle_cumulative(lambda d: d.update(start_time="2015-07-30T20:00:00Z")),
     "counted from 2015-07-30T20:00:00Z"),
    (mangle_cumulative(lambda d: d.update(task_queue_sid=SUPPORT)), "about queue"),
])
async def test_garbage_counters_reject_the_poll(make: Make, fake: FakeTaskRouter,
                                                mangle: Callable[[str, Any], Any],
                                                expected: str) -> None:
    fake.mangle = mangle
    with pytest.raises(SourceError) as caught:
        await make().snapshot()
    assert expected in one_line(caught.value)


def spec_counters(data: dict[str, Any]) -> None:
    """Twilio's own example counters (the spec's CumulativeStatistics example): 100
    answered, 100 abandoned, 100 moved, and every split 0 + 0, at our thresholds."""
    zero = {"above": {"tasks_canceled": 0, "reservations_accepted": 0},
            "below": {"tasks_canceled": 0, "reservations_accepted": 0}}
    data.update(tasks_entered=100, tasks_canceled=100, reservations_accepted=100,
                tasks_moved=100, split_by_wait_time={"5": zero, "20": zero})


@pytest.mark.parametrize(("mangle", "expected"), [
    (mangle_cumulative(spec_counters),
     "split at 20 s counts 0 + 0 of 100 answered and 0 + 0 of 100 abandoned"),
    (mangle_cumulative(lambda d: d["split_by_wait_time"]["20"]["below"].update(
        reservations_accepted=31)), "split at 20 s counts 31 + 6 of 30 answered"),
    (mangle_cumulative(lambda d: d["split_by_wait_time"]["5"]["above"].update(
        tasks_canceled=0)), "split at 5 s counts 2 + 0 of 6 abandoned"),
    (mangle_cumulative(lambda d: d.update(reservations_accepted=25)),
     "split at 20 s counts 24 + 6 of 25 answered"),
    (mangle_cumulative(lambda d: d["split_by_wait_time"].pop("20")),
     "no split_by_wait_time for 20 s"),
])
async def test_impossible_counters_reject_only_that_queue(
        make: Make, fake: FakeTaskRouter, mangle: Callable[[str, Any], Any],
        expected: str) -> None:
    """Counts that cannot be true: the queue shows no figures and the poll says why;
    the other queue and the live data stand."""
    fake.mangle = mangle
    source = make()
    snap = await source.snapshot()
    assert SALES not in snap.interval_stats and SALES not in snap.day_stats
    assert SUPPORT in snap.interval_stats and SUPPORT in snap.day_stats
    assert len(snap.contacts) == 4 and len(snap.agents) == 6
    assert source.notes[0] == f"interval counters of Sales rejected ({expected}); shown as no data"
    assert source.notes[1].startswith("day counters of Sales rejected (")
    assert count_problems(snap) == []


async def test_rejected_counters_reach_source_health(make: Make, fake: FakeTaskRouter) -> None:
    fake.mangle = mangle_cumulative(spec_counters)
    result = await Poller([make()]).poll_once()
    notes = " | ".join(result.health["twilio"].notes)
    assert "interval counters of Sales rejected (split at 20 s" in notes


async def test_sampled_splits_are_scaled_and_said(make: Make, fake: FakeTaskRouter) -> None:
    """Past 10,000 tasks TaskRouter splits a sample: the shares are scaled to the totals."""
    fake.windows[(SALES, "day")] = Window(
        accepted=18_000, canceled=2_000, splits={20: (7_200, 800, 1_800, 200),
                                                 5: (3_000, 500, 6_000, 500)})
    source = make()
    snap = await source.snapshot()
    day = snap.day_stats[SALES]
    assert (day.answered, day.answered_within_threshold) == (18_000, 14_400)
    assert (day.abandoned, day.abandoned_short, day.abandoned_after_threshold) == (
        2_000, 1_000, 400)
    assert any(n.startswith("day counters of Sales: within 20 s and short abandons "
                            "estimated") for n in source.notes)
    assert count_problems(snap) == []


async def test_bulk_answer_missing_queues_is_an_error(make: Make, fake: FakeTaskRouter) -> None:
    def drop(kind: str, data: Any) -> Any:
        if kind == "bulk":
            data["task_queue_data"] = []
        return data

    fake.mangle = drop
    with pytest.raises(SourceError) as caught:
        await make().snapshot()
    assert "0 of 2 queues" in one_line(caught.value)
    assert "bulk_body_key" in str(caught.value)


async def test_garbage_records_are_dropped_and_said(make: Make, fake: FakeTaskRouter) -> None:
    def spoil(kind: str, data: Any) -> Any:
        if kind == "workers":
            for w in data["workers"]:
                if w["sid"] == W_CY:
                    w["date_status_changed"] = 12345  # wrong type
                if w["sid"] == W_DI:
                    w["date_status_changed"] = "2099-01-01T00:00:00Z"  # absurd future
        if kind == "tasks":
            for t in data["tasks"]:
                if t["sid"] == T3:
                    t["age"] = 2_000_000  # 23 days: past TaskRouter's 2-week task TTL
        return data

    fake.mangle = spoil
    source = make()
    snap = await source.snapshot()
    assert {a.id for a in snap.agents} == {W_ANN, W_BOB, W_ED, W_FLO}
    assert {c.id for c in snap.contacts} == {T1, T2, T4}
    notes = " | ".join(source.notes)
    assert "dropped 2 unreadable worker record(s)" in notes
    assert "not an ISO 8601 date" in notes
    assert "dropped 1 unreadable task record(s): task" in notes and "age 2000000 s" in notes


async def test_clock_skew_is_said(make: Make, fake: FakeTaskRouter) -> None:
    def ahead(kind: str, data: Any) -> Any:
        if kind == "tasks":
            for t in data["tasks"]:
                t["age"] += 90  # Twilio's clock runs 90 s ahead of ours
        return data

    fake.mangle = ahead
    source = make()
    snap = await source.snapshot()
    assert len(snap.contacts) == 4
    assert any("clock is 90 s behind Twilio's" in n for n in source.notes)


async def test_mostly_garbage_records_reject_the_poll(make: Make, fake: FakeTaskRouter) -> None:
    def spoil(kind: str, data: Any) -> Any:
        if kind == "workers":
            for w in data["workers"][1:]:
                w["sid"] = 42
        return data

    fake.mangle = spoil
    with pytest.raises(SourceError) as caught:
        await make().snapshot()
    assert "5 of 6 records unreadable" in one_line(caught.value)


async def test_small_clock_skew_is_tolerated(make: Make, fake: FakeTaskRouter) -> None:
    fake.workers[0].since = NOW + timedelta(seconds=30)
    snap = await make().snapshot()
    ann = next(a for a in snap.agents if a.id == W_ANN)
    assert ann.state.since == NOW


async def test_paging_never_leaves_our_host_or_resource(make: Make,
                                                        fake: FakeTaskRouter) -> None:
    def relink(target: str) -> Callable[[str, Any], Any]:
        def apply(kind: str, data: Any) -> Any:
            if kind == "workers" and data["meta"]["page"] == 0:
                data["meta"]["next_page_url"] = target
            return data
        return apply

    fake.page_size = 3
    fake.mangle = relink(f"https://evil.example{WSP}/Workers?PageSize=3&Page=1&PageToken=PT1")
    snap = await make().snapshot()
    assert len(snap.agents) == 6
    assert {r.url.host for r in fake.requests()} == {"taskrouter.twilio.com"}

    fake.mangle = relink(f"{BASE}/v1/Accounts/{AC}/Calls.json?Page=1")
    with pytest.raises(SourceError) as caught:
        await make().snapshot()
    assert "next page link points elsewhere" in one_line(caught.value)

    fake.mangle = relink(f"{BASE}{WSP}/Workers?PageSize=3&Page=0")
    fake.page_size = 50
    with pytest.raises(SourceError) as caught:
        await make().snapshot()
    assert "round in circles" in one_line(caught.value)


# -- behaviour: actions ----------------------------------------------------------------------


MOVE = {"move_attribute": "transfer_queue", "move_priority": 100,
        "agent_queues_attribute": "routing.skills"}


async def test_capabilities_follow_the_configuration(make: Make) -> None:
    plain = make()
    assert plain.capabilities == {Capability.SNAPSHOT, Capability.AGENT_STATE}
    assert (await plain.move_contact(T1, SUPPORT)).code == "unsupported"
    assert (await plain.set_agent_skills(W_ANN, [SALES])).code == "unsupported"
    full = make(**MOVE)
    assert full.capabilities == {Capability.SNAPSHOT, Capability.AGENT_STATE,
                                 Capability.REASSIGN_CONTACT, Capability.MOVE_AGENTS}
    locked = make(allow_agent_state=False)
    assert locked.capabilities == {Capability.SNAPSHOT}
    assert (await locked.set_agent_state(W_ANN, "break")).code == "unsupported"


async def test_move_contact_updates_attributes_with_if_match(make: Make,
                                                             fake: FakeTaskRouter) -> None:
    source = make(**MOVE)
    await source.snapshot()
    before = len(fake.calls)
    result = await source.move_contact(T1, SUPPORT)
    assert result.ok and result.code == "ok", result.message
    assert "moved to Support" in result.message
    get, post = fake.requests()[before:]
    assert (get.method, get.url.path) == ("GET", f"{WSP}/Tasks/{T1}")
    assert (post.method, post.url.path) == ("POST", f"{WSP}/Tasks/{T1}")
    assert post.headers["If-Match"] == '"1"'
    form = dict(parse_qsl(post.content.decode()))
    assert json.loads(form["Attributes"]) == {"from": "+4420", "transfer_queue": "support"}
    assert form["Priority"] == "100"
    snap = await source.snapshot()
    assert next(c for c in snap.contacts if c.id == T1).queue_id == SUPPORT


async def test_move_contact_reports_races(make: Make, fake: FakeTaskRouter) -> None:
    source = make(**MOVE)
    await source.snapshot()
    # Answered between our read and our write: the ETag no longer matches.
    fake.override = lambda r: (twilio_error(412, 20412, "Precondition failed")
                               if r.method == "POST" else None)
    result = await source.move_contact(T1, SUPPORT)
    assert (result.ok, result.code) == (False, "changed")
    assert "changed meanwhile" in result.message
    fake.override = None
    # Already ringing at an agent / answered: nothing is written.
    before = len(fake.calls)
    result = await source.move_contact(T4, SALES)
    assert (result.ok, result.code) == (False, "not_waiting")
    assert "offered to an agent" in result.message
    assert [r.method for r in fake.requests()[before:]] == ["GET"]
    result = await source.move_contact(T5, SALES)
    assert result.code == "not_waiting" and "already answered" in result.message
    # Gone.
    result = await source.move_contact(sid("WT", 77), SALES)
    assert (result.ok, result.code) == (False, "not_found")
    assert (await source.move_contact(T1, SALES)).code == "same_queue"


async def test_move_contact_refuses_bad_input_without_a_request(make: Make,
                                                                fake: FakeTaskRouter) -> None:
    source = make(**MOVE)
    await source.snapshot()
    before = len(fake.calls)
    assert (await source.move_contact("../../Workers", SUPPORT)).code == "unknown_contact"
    assert (await source.move_contact(T1, OTHER)).code == "unknown_queue"  # not shown
    assert len(fake.calls) == before


async def test_move_contact_transport_trouble(make: Make, fake: FakeTaskRouter) -> None:
    source = make(**MOVE)
    await source.snapshot()
    fake.override = lambda r: (httpx.Response(503, text="upstream down")
                               if r.method == "POST" else None)
    result = await source.move_contact(T1, SUPPORT)
    assert (result.ok, result.code) == (False, "not_confirmed")
    fake.override = lambda r: (httpx.Response(429, headers={"Retry-After": "3"})
                               if r.method == "POST" else None)
    result = await source.move_contact(T1, SUPPORT)
    assert (result.ok, result.code) == (False, "rate_limited")
    fake.override = lambda r: (twilio_error(400, 20001, "Invalid Attributes")
                               if r.method == "POST" else None)
    result = await source.move_contact(T1, SUPPORT)
    assert (result.ok, result.code) == (False, "refused")
    assert "Invalid Attributes (Twilio error 20001)" in result.message


async def test_move_contact_when_the_workflow_does_not_follow(make: Make,
                                                              fake: FakeTaskRouter) -> None:
    fake.routing = {}  # the workflow has no filter on transfer_queue
    source = make(**MOVE)
    await source.snapshot()
    result = await source.move_contact(T1, SUPPORT)
    assert result.ok and "the workflow decides" in result.message


async def test_set_agent_skills_merges_worker_attributes(make: Make,
                                                         fake: FakeTaskRouter) -> None:
    source = make(**MOVE)
    await source.snapshot()
    before = len(fake.calls)
    result = await source.set_agent_skills(W_ANN, [SUPPORT])
    assert result.ok, result.message
    get, post = fake.requests()[before:]
    assert (get.method, post.method, post.url.path) == ("GET", "POST", f"{WSP}/Workers/{W_ANN}")
    assert post.headers["If-Match"] == '"1"'
    attrs = json.loads(dict(parse_qsl(post.content.decode()))["Attributes"])
    # "billing" belongs to a queue this source does not show: kept.
    assert attrs == {"routing": {"skills": ["billing", "support"]}, "team": "A"}
    snap = await source.snapshot()  # shown at once, then confirmed by the queues
    assert next(a for a in snap.agents if a.id == W_ANN).skills == (SUPPORT,)
    assert W_ANN not in fake.members[SALES]


async def test_set_agent_skills_refusals(make: Make, fake: FakeTaskRouter) -> None:
    source = make(**MOVE)
    await source.snapshot()
    assert (await source.set_agent_skills(W_ANN, [OTHER])).code == "unknown_queue"
    assert (await source.set_agent_skills("WKnope", [SALES])).code == "unknown_agent"
    fake.workers[1].attributes = {"routing": {"skills": "sales"}}
    result = await source.set_agent_skills(W_BOB, [SALES])
    assert (result.ok, result.code) == (False, "refused")
    assert "not a list" in result.message
    fake.override = lambda r: (twilio_error(412, 20412, "ETag mismatch")
                               if r.method == "POST" else None)
    assert (await source.set_agent_skills(W_ANN, [SALES])).code == "changed"


async def test_set_agent_state_by_activity_or_state(make: Make, fake: FakeTaskRouter) -> None:
    source = make()
    await source.snapshot()
    for state, activity in (("Break", "Break"), ("away", "Break"), ("available", "Available"),
                            ("offline", "Offline"), ("COACHING", "Coaching"),
                            # the shared vocabulary (domain.agent_control)
                            ("away:break", "Break"), ("logout", "Offline"),
                            ("end_acw", "Available"), ("away:Coaching", "Coaching")):
        before = len(fake.calls)
        result = await source.set_agent_state(W_DI, state)
        assert result.ok and result.message == f"Di is now {activity}", result.message
        (post,) = fake.requests()[before:]
        assert dict(parse_qsl(post.content.decode())) == {
            "ActivitySid": fake.activity(activity)[0]}
    result = await source.set_agent_state(W_DI, "nap")
    assert (result.ok, result.code) == (False, "unknown_state")
    assert "Available" in result.message
    fake.override = lambda r: (twilio_error(400, 20001, "Worker has pending reservations")
                               if r.method == "POST" else None)
    result = await source.set_agent_state(W_DI, "offline")
    assert (result.ok, result.code) == (False, "refused")
    assert "pending reservations" in result.message


async def test_set_agent_state_before_any_poll_loads_activities(make: Make,
                                                                fake: FakeTaskRouter) -> None:
    result = await make().set_agent_state(W_ANN, "lunch")
    assert result.code == "unknown_state"  # this workspace has no Lunch
    assert [r.url.path for r in fake.requests()] == [f"{WSP}/Activities"]
    result = await make().set_agent_state(W_ANN, "away:lunch")
    assert result.code == "unknown_state"  # not a plain "Break": the reason would be lost



async def test_a_bad_activities_list_does_not_fail_the_poll(make: Make,
                                                            fake: FakeTaskRouter) -> None:
    """Only agent-state changes need the activities: the first poll stands without
    them (said in a note), and a change reads them again when it needs them."""
    def spoil(kind: str, data: Any) -> Any:
        if kind == "activities":
            data["activities"] = "not a list"
        return data

    fake.mangle = spoil
    source = make()
    snap = await source.snapshot()
    assert {q.id for q in snap.queues} == {SALES, SUPPORT} and snap.agents
    assert any(n.startswith("activities not read (read again when needed; only "
                            "agent-state changes use them): activities: no 'activities' list")
               for n in source.notes), source.notes
    result = await source.set_agent_state(W_DI, "available")
    assert result.code == "error" and "activities" in result.message
    fake.mangle = None
    result = await source.set_agent_state(W_DI, "available")
    assert result.ok, result.message
    # A later bad list keeps the last good one.
    fake.mangle = spoil
    source._catalog_at = None
    await source.snapshot()
    assert any("the last list kept" in n for n in source.notes), source.notes
    assert (await source.set_agent_state(W_DI, "break")).ok


async def test_a_rate_limited_activities_list_still_backs_off(make: Make,
                                                              fake: FakeTaskRouter) -> None:
    fake.override = lambda r: (httpx.Response(429, headers={"Retry-After": "7"})
                               if r.url.path.endswith("/Activities") else None)
    with pytest.raises(RateLimited):
        await make().snapshot()


async def test_set_agent_state_checks_the_answer_is_the_change_asked(
        make: Make, fake: FakeTaskRouter) -> None:
    """The answer names the worker and activity it holds now: another worker, or another
    activity (changed meanwhile), is said as it is, never reported as done."""
    source = make()
    await source.snapshot()

    def other_worker(kind: str, data: Any) -> Any:
        return {**data, "sid": W_ANN} if kind == "worker" else data

    fake.mangle = other_worker
    result = await source.set_agent_state(W_DI, "break")
    assert (result.ok, result.code) == (False, "bad_response")
    assert W_ANN in result.message and "Di is now" not in result.message

    def other_activity(kind: str, data: Any) -> Any:
        if kind != "worker":
            return data
        a_sid, a_name, _ = fake.activity("Busy")
        return {**data, "activity_sid": a_sid, "activity_name": a_name}

    fake.mangle = other_activity
    result = await source.set_agent_state(W_DI, "break")
    assert (result.ok, result.code) == (False, "changed")
    assert result.message.startswith("Di is in Busy, not Break"), result.message

    fake.mangle = lambda kind, data: "<html>" if kind == "worker" else data
    result = await source.set_agent_state(W_DI, "break")
    assert result.ok and "check the next snapshot" in result.message


# -- settings ------------------------------------------------------------------------------


@pytest.mark.parametrize(("overrides", "expected"), [
    ({"workspace_sid": "WS123"}, "workspace SID"),
    ({"base_url": "http://taskrouter.example.com"}, "loopback"),
    ({"base_url": "https://user:pw@taskrouter.twilio.com"}, "credentials"),
    ({"username_env": "X"}, "exactly one"),
    ({"account_sid": None}, "exactly one"),
    ({"queues": ["sales"]}, "TaskQueue SIDs"),
    ({"queue_settings": {SALES: {"threshold_s": 10, "short_abandon_s": 20}}}, "short_abandon"),
    ({"move_attribute": "transfer queue"}, "attribute name"),
    ({"activity_map": {"Nap": "sleeping"}}, "activity_map"),
])
def test_settings_are_checked(overrides: dict[str, Any], expected: str) -> None:
    with pytest.raises(ValidationError) as caught:
        TwilioSettings(**{**SETTINGS, **overrides})
    assert expected in str(caught.value)


def test_settings_defaults() -> None:
    settings = TwilioSettings(**SETTINGS)
    assert settings.base_url == BASE
    assert settings.make_budget() is not None
    assert settings.make_budget().describe() == "300 requests per 60 s"
    assert TwilioSettings(**{**SETTINGS, "base_url": "http://127.0.0.1:4010"}).base_url


# -- contract: the vendor's OpenAPI spec -----------------------------------------------------


def in_ci(environ: Mapping[str, str] = os.environ) -> bool:
    """CI services set CI (to true, or 1): there a contract test must not skip quietly."""
    return environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


@pytest.fixture(scope="module")
def spec() -> dict[str, Any]:
    if not SPEC_PATH.is_file():
        reason = (f"the vendor spec {SPEC_PATH} is absent: the Twilio contract tests read "
                  "it from shared/specs/ beside the repo (never copied into it)")
        if in_ci():
            pytest.fail(f"{reason}; CI is set, so it must be there")
        pytest.skip(f"{reason}; skipped outside CI")
    return json.loads(SPEC_PATH.read_text())


@pytest.mark.parametrize(("value", "expected"), [
    ("true", True), ("1", True), ("True", True), ("", False), ("false", False), ("0", False),
])
def test_ci_is_read_from_the_environment(value: str, expected: bool) -> None:
    assert in_ci({"CI": value}) is expected
    assert not in_ci({})


RFC3339 = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)")


def resolve(spec: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        schema = spec["components"]["schemas"][name]
    return schema


def value_problems(spec: dict[str, Any], value: Any, schema: dict[str, Any],
                   where: str) -> list[str]:
    """Does a JSON value fit a schema? (types, patterns, formats, enums, nested)"""
    schema = resolve(spec, schema)
    kind = schema.get("type")
    if value is None:
        return [] if schema.get("nullable") or kind is None else [f"{where}: null"]
    if kind is None:  # untyped in the spec (tasks_by_status...): anything goes
        return []
    checks: dict[str, Callable[[Any], bool]] = {
        "string": lambda v: isinstance(v, str),
        "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
        "number": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
        "boolean": lambda v: isinstance(v, bool),
        "array": lambda v: isinstance(v, list),
        "object": lambda v: isinstance(v, dict),
    }
    if not checks[kind](value):
        return [f"{where}: {value!r} is not {kind}"]
    problems = []
    if kind == "string":
        if "pattern" in schema and not re.search(schema["pattern"], value):
            problems.append(f"{where}: {value!r} does not match {schema['pattern']}")
        if "enum" in schema and value not in schema["enum"]:
            problems.append(f"{where}: {value!r} not in {schema['enum']}")
        if schema.get("format") == "date-time" and not RFC3339.fullmatch(value):
            problems.append(f"{where}: {value!r} is not an RFC 3339 date-time")
    if kind == "integer" and "minimum" in schema and value < schema["minimum"]:
        problems.append(f"{where}: {value} under {schema['minimum']}")
    if kind == "array":
        for n, item in enumerate(value):
            problems += value_problems(spec, item, schema.get("items", {}), f"{where}[{n}]")
    if kind == "object" and "properties" in schema and schema.get("format") != "uri-map":
        for key, item in value.items():
            if key not in schema["properties"]:
                problems.append(f"{where}.{key}: not in the spec")
            else:
                problems += value_problems(spec, item, schema["properties"][key],
                                           f"{where}.{key}")
    return problems


def param_problems(spec: dict[str, Any], text: str, schema: dict[str, Any],
                   where: str) -> list[str]:
    """Does a query/path/form string fit its parameter schema?"""
    schema = resolve(spec, schema)
    kind = schema.get("type")
    if kind == "integer":
        if not re.fullmatch(r"-?[0-9]+", text):
            return [f"{where}: {text!r} is not an integer"]
        return value_problems(spec, int(text), schema, where)
    if kind == "boolean":
        return [] if text in ("true", "false") else [f"{where}: {text!r} is not boolean"]
    if kind == "array":
        return param_problems(spec, text, schema.get("items", {}), where)
    problems = value_problems(spec, text, schema, where)
    if "minLength" in schema and len(text) < schema["minLength"]:
        problems.append(f"{where}: {text!r} shorter than {schema['minLength']}")
    return problems


def operation(spec: dict[str, Any], method: str, path: str
              ) -> tuple[str, dict[str, Any], dict[str, str]]:
    """The one spec operation a request is for (path parameters must fit their schema)."""
    found = []
    for template, item in spec["paths"].items():
        op = item.get(method.lower())
        if op is None:
            continue
        regex = re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(template))
        match = re.fullmatch(regex, path)
        if not match:
            continue
        params = {p["name"]: p for p in op.get("parameters", []) if p["in"] == "path"}
        if all(not param_problems(spec, v, params[k]["schema"], k)
               for k, v in match.groupdict().items()):
            found.append((template, op, match.groupdict()))
    assert len(found) == 1, f"{method} {path} matches {[f[0] for f in found]} in the spec"
    return found[0]


def request_problems(spec: dict[str, Any], request: httpx.Request) -> list[str]:
    template, op, _ = operation(spec, request.method, request.url.path)
    where = f"{request.method} {template}"
    params = {(p["in"], p["name"]): p for p in op.get("parameters", [])}
    problems = []
    seen: dict[str, int] = {}
    for name, value in parse_qsl(request.url.query.decode(), keep_blank_values=True):
        seen[name] = seen.get(name, 0) + 1
        p = params.get(("query", name))
        if p is None:
            problems.append(f"{where}: query parameter {name} is not in the spec")
            continue
        problems += param_problems(spec, value, p["schema"], f"{where} ?{name}")
        if seen[name] > 1 and resolve(spec, p["schema"]).get("type") != "array":
            problems.append(f"{where}: {name} repeated but not an array")
    if "If-Match" in request.headers and ("header", "If-Match") not in params:
        problems.append(f"{where}: If-Match is not in the spec")
    if not request.headers.get("Authorization", "").startswith("Basic "):
        problems.append(f"{where}: no HTTP Basic credentials")
    if request.method == "GET":
        if request.content:
            problems.append(f"{where}: a GET with a body")
        return problems
    content_type = request.headers.get("content-type", "").split(";")[0]
    body = op.get("requestBody", {}).get("content", {})
    if content_type not in body:
        return [*problems, f"{where}: sends {content_type}, spec has {list(body)}"]
    schema = resolve(spec, body[content_type]["schema"])
    properties = schema.get("properties", {})
    if content_type == "application/x-www-form-urlencoded":
        for name, value in parse_qsl(request.content.decode(), keep_blank_values=True):
            if name not in properties:
                problems.append(f"{where}: form field {name} is not in the spec")
            else:
                problems += param_problems(spec, value, properties[name], f"{where} {name}")
    else:
        data = json.loads(request.content)
        if properties:
            problems += value_problems(spec, data, schema, where)
        else:
            # The spec leaves the bulk body untyped; the docs name the list QueueSids
            # and queueSids (SOURCES.md).
            for name, value in data.items():
                if name not in ("QueueSids", "queueSids"):
                    problems.append(f"{where}: body field {name} is undocumented")
                elif not (isinstance(value, list) and 0 < len(value) <= 50
                          and all(re.fullmatch(r"WQ[0-9a-fA-F]{32}", v) for v in value)):
                    problems.append(f"{where}: {name} is not 1 to 50 TaskQueue SIDs")
    return problems


def response_problems(spec: dict[str, Any], request: httpx.Request,
                      response: httpx.Response) -> list[str]:
    template, op, _ = operation(spec, request.method, request.url.path)
    answer = op["responses"].get(str(response.status_code))
    if answer is None:
        return [f"{request.method} {template}: status {response.status_code} not in spec"]
    schema = answer["content"]["application/json"]["schema"]
    problems = value_problems(spec, response.json(), schema, template)
    for header in response.headers:
        if header.lower() == "etag" and "ETag" not in answer.get("headers", {}):
            problems.append(f"{template}: sends an ETag the spec does not have")
    return problems


async def exercise(make: Make, fake: FakeTaskRouter, clock: Clock) -> None:
    """Every request kind the source sends: polls with every refresh, paging, and
    each action."""
    fake.page_size = 4
    source = make(**MOVE)
    await source.snapshot()
    clock.advance(700)
    await source.snapshot()
    await make(queues=None, stats_window="Minutes",
               queue_defaults={"task_channel": "voice"}).snapshot()
    assert (await source.move_contact(T1, SUPPORT)).ok
    assert (await source.set_agent_skills(W_ANN, [SALES, SUPPORT])).ok
    assert (await source.set_agent_state(W_BOB, "available")).ok


async def test_every_request_fits_the_spec(spec: dict[str, Any], make: Make,
                                           fake: FakeTaskRouter, clock: Clock) -> None:
    await exercise(make, fake, clock)
    problems = [p for r in fake.requests() for p in request_problems(spec, r)]
    assert problems == []
    operations = {operation(spec, r.method, r.url.path)[1]["operationId"]
                  for r in fake.requests()}
    assert operations == {
        "ListTaskQueue", "ListActivity", "ListWorker", "ListTask",
        "CreateTaskQueueBulkRealTimeStatistics", "FetchTaskQueueCumulativeStatistics",
        "FetchTask", "UpdateTask", "FetchWorker", "UpdateWorker"}
    asked = {name for r in fake.requests() for name, _ in parse_qsl(r.url.query.decode())}
    assert {"PageSize", "Page", "PageToken", "AssignmentStatus", "TaskQueueSid", "StartDate",
            "Minutes", "SplitByWaitTime", "TaskChannel"} <= asked


async def test_every_answer_the_fake_gives_fits_the_spec(
        spec: dict[str, Any], make: Make, fake: FakeTaskRouter, clock: Clock) -> None:
    """Keeps the fake honest: what the behaviour tests feed the parser is spec-shaped."""
    await exercise(make, fake, clock)
    problems = [p for c in fake.calls for p in response_problems(spec, c.request, c.response)]
    assert problems == []


#: parser documents -> the spec schema holding their fields
TYPED = {
    TaskQueueDoc: "taskrouter.v1.workspace.task_queue",
    ActivityDoc: "taskrouter.v1.workspace.activity",
    WorkerDoc: "taskrouter.v1.workspace.worker",
    TaskDoc: "taskrouter.v1.workspace.task",
    CumulativeDoc: "taskrouter.v1.workspace.task_queue.task_queue_cumulative_statistics",
    BulkRealtimeDoc: "taskrouter.v1.workspace.task_queue.task_queue_bulk_real_time_statistics",
    # Bulk items are untyped; they are the single-queue real-time statistics.
    RealtimeDoc: "taskrouter.v1.workspace.task_queue.task_queue_real_time_statistics",
}


def example(spec: dict[str, Any], path: str, method: str) -> dict[str, Any]:
    content = spec["paths"][path][method]["responses"]["200"]["content"]["application/json"]
    return next(iter(content["examples"].values()))["value"]


def test_every_field_we_read_is_in_the_spec(spec: dict[str, Any]) -> None:
    schemas = spec["components"]["schemas"]
    for model, name in TYPED.items():
        properties = schemas[name]["properties"]
        assert set(model.model_fields) <= set(properties), (model.__name__, name)
    meta = spec["paths"]["/v1/Workspaces/{WorkspaceSid}/Workers"]["get"]["responses"]["200"]
    meta_props = meta["content"]["application/json"]["schema"]["properties"]["meta"]
    assert set(PageMeta.model_fields) <= set(meta_props["properties"])
    # Untyped nested objects: their keys are in the spec's examples.
    queues = "/v1/Workspaces/{WorkspaceSid}/TaskQueues"
    realtime = example(spec, f"{queues}/RealTimeStatistics", "post")["task_queue_data"][0]
    cumulative = example(spec, f"{queues}/{{TaskQueueSid}}/CumulativeStatistics", "get")
    split = next(iter(cumulative["split_by_wait_time"].values()))
    nested: dict[type[BaseModel], dict[str, Any]] = {
        ActivityCount: realtime["activity_statistics"][0],
        TasksByStatus: realtime["tasks_by_status"],
        SplitDoc: split,
        SplitCounts: split["below"],
        DurationsDoc: cumulative["wait_duration_in_queue_until_accepted"],
    }
    for model, sample in nested.items():
        assert set(model.model_fields) <= set(sample), model.__name__
    # And the bulk items carry every real-time field the bulk call documents.
    bulk_doc = schemas[TYPED[BulkRealtimeDoc]]["properties"]["task_queue_data"]["description"]
    for name in RealtimeDoc.model_fields:
        if name != "longest_relative_task_age_in_queue":  # single-queue call only
            assert f"`{name}`" in bulk_doc, name


def generate(spec: dict[str, Any], schema: dict[str, Any], sample: Any, when: datetime,
             name: str = "") -> Any:
    """A value from a response schema alone: every property, typed as the spec says;
    untyped ones from the operation's example (the spec gives nothing else)."""
    schema = resolve(spec, schema)
    kind = schema.get("type")
    if kind is None and "properties" not in schema:
        return sample
    if kind == "object" or "properties" in schema:
        sample = sample if isinstance(sample, dict) else {}
        return {key: generate(spec, sub, sample.get(key), when, key)
                for key, sub in schema.get("properties", {}).items()}
    if kind == "array":
        items = schema.get("items", {})
        if resolve(spec, items).get("type") is None:
            return sample if isinstance(sample, list) else []
        return [generate(spec, items, (sample or [None])[0], when)]
    if kind == "integer":
        return schema.get("default", 0)
    if kind == "number":
        return 0.0
    if kind == "boolean":
        return False
    if "enum" in schema:
        return schema["enum"][0]
    if schema.get("nullable") and name in ("next_page_url", "previous_page_url"):
        return None
    if "pattern" in schema:
        prefix = re.match(r"\^([A-Z]{2})\[", schema["pattern"])
        return (prefix.group(1) if prefix else "ZZ") + "a" * 32
    if schema.get("format") == "date-time":
        return iso(when)
    if schema.get("format") == "uri":
        return f"{BASE}/v1"
    return "x"


async def test_answers_generated_from_the_spec_parse(spec: dict[str, Any], clock: Clock) -> None:
    """A workspace made of nothing but the spec's response schemas (and its examples
    where the spec is untyped) gives a sane snapshot: every typed counter is its
    default 0 and the example splits are 0 + 0, which adds up. (The examples' own
    counters, 100 answered with splits of 0, do not: see
    test_spec_examples_as_served_are_rejected_with_a_note.)"""
    start = POLICY.interval_start(clock.now)
    answers: dict[tuple[str, str], Any] = {}
    for path, item in spec["paths"].items():
        for method, op in item.items():
            if method in ("get", "post") and "200" in op.get("responses", {}):
                content = op["responses"]["200"]["content"]["application/json"]
                sample = next(iter(content.get("examples", {}).values()), {}).get("value")
                answers[(method.upper(), path)] = generate(spec, content["schema"], sample,
                                                           start)

    def handle(request: httpx.Request) -> httpx.Response:
        template, _, _ = operation(spec, request.method, request.url.path)
        return httpx.Response(200, json=answers[(request.method, template)])

    router = respx.Router(assert_all_called=False)
    router.route().mock(side_effect=handle)
    # The examples split by 5 and 10 s; the real-time example's queue is WQaaaa...
    settings = TwilioSettings(workspace_sid="WS" + "a" * 32, account_sid=AC,
                              password_env=TOKEN_ENV, day_stats=False,
                              queue_defaults={"threshold_s": 10, "short_abandon_s": 5})
    source = TwilioSource("spec", POLICY, settings,
                          transport=httpx.MockTransport(router.async_handler), clock=clock)
    try:
        snap = await source.snapshot()
    finally:
        await source.close()
    queue = "WQ" + "a" * 32
    assert [q.id for q in snap.queues] == [queue]
    assert [a.id for a in snap.agents] == ["WK" + "a" * 32]
    assert [c.id for c in snap.contacts] == ["WT" + "a" * 32]
    assert snap.interval_stats[queue].window_start == start
    assert source.live[queue].available_workers == 100  # the example (bulk items are untyped)
    assert snap.interval_stats[queue].offered == 0 and count_problems(snap) == []
    assert not any("rejected" in n for n in source.notes)
    for call in router.calls:  # and every answer we generated fits the spec
        assert response_problems(spec, call.request, call.response) == []


def test_spec_examples_parse(spec: dict[str, Any]) -> None:
    """The spec's own examples, as they are, fit our documents."""
    base = "/v1/Workspaces/{WorkspaceSid}"
    cases = [
        (f"{base}/TaskQueues/RealTimeStatistics", "post", BulkRealtimeDoc, None),
        (f"{base}/TaskQueues/{{TaskQueueSid}}/RealTimeStatistics", "get", RealtimeDoc, None),
        (f"{base}/TaskQueues/{{TaskQueueSid}}/CumulativeStatistics", "get", CumulativeDoc,
         None),
        (f"{base}/Workers", "get", WorkerDoc, "workers"),
        (f"{base}/Tasks", "get", TaskDoc, "tasks"),
        (f"{base}/Activities", "get", ActivityDoc, "activities"),
        (f"{base}/TaskQueues", "get", TaskQueueDoc, "task_queues"),
        (f"{base}/Tasks/{{Sid}}", "get", TaskDoc, None),
        (f"{base}/Workers/{{Sid}}", "get", WorkerDoc, None),
    ]
    for path, method, model, key in cases:
        value = example(spec, path, method)
        for item in value[key] if key else [value]:
            model.model_validate(item)
        if key:
            PageMeta.model_validate(value["meta"])


def test_budget_default_is_documented_rate() -> None:
    """300 per minute: the bulk call's documented 5 requests/s, averaged."""
    limit, window = TwilioSettings.default_budget or (0, 1.0)
    assert math.isclose(limit / window, 5.0)


# -- the counting rule and plausibility (issue 10) -----------------------------------------


async def test_counts_add_up_in_every_window(make: Make, fake: FakeTaskRouter,
                                             clock: Clock) -> None:
    source = make()
    snap = await source.snapshot()
    assert set(snap.interval_stats) == set(snap.day_stats) == {SALES, SUPPORT}
    assert count_problems(snap) == []
    clock.advance(900)  # refreshed counters, same rule
    fake.windows[(SUPPORT, "interval")] = Window(accepted=12, canceled=3, moved=4,
                                                 splits={60: (9, 1, 3, 2)})
    snap = await source.snapshot()
    assert snap.interval_stats[SUPPORT].offered == 19
    assert count_problems(snap) == []


def test_count_problems_can_fail() -> None:
    """The invariant check itself finds what it is for."""
    start = POLICY.interval_start(NOW)
    bad = QueueStats.trusted(queue_id="q", window_start=start, offered=10,
                                     answered=11, abandoned=0, answered_within_threshold=12,
                                     abandoned_short=0, abandoned_after_threshold=0,
                                     flowed_out=0, wait_answered_s=0.0, handled=0,
                                     handle_s=0.0)
    short = QueueStats(queue_id="q", window_start=start, offered=10, answered=5)
    snap = Snapshot.model_construct(taken_at=NOW, interval_start=start, day_start=start,
                                    interval_stats={"q": bad}, day_stats={"q": short})
    problems = count_problems(snap)
    assert any("interval q: answered 11" in p for p in problems)
    assert ("interval q: answered 11 + abandoned 0 + flowed out 0 exceed offered 10"
            in problems)  # the model's own check
    assert {"interval q: SL answered 1.091", "interval q: SL offered 1.200"} <= set(problems)
    assert any(p.startswith("day q: answered 5 + abandoned 0") for p in problems)
    assert count_problems(snap.model_copy(update={"interval_stats": {}}), exact=False) == []


def spec_example_router(spec: dict[str, Any], clock: Clock) -> respx.Router:
    """Every call answered with the spec's own example, as Prism would serve it, with
    only the statistics window corrected (the example counts from 2015)."""

    def handle(request: httpx.Request) -> httpx.Response:
        template, _, _ = operation(spec, request.method, request.url.path)
        data = json.loads(json.dumps(example(spec, template, request.method.lower())))
        if template.endswith("/CumulativeStatistics"):
            data["start_time"] = dict(parse_qsl(request.url.query.decode()))["StartDate"]
            data["end_time"] = iso(clock.now)
        return httpx.Response(200, json=data)

    router = respx.Router(assert_all_called=False)
    router.route().mock(side_effect=handle)
    return router


async def test_spec_examples_as_served_are_rejected_with_a_note(
        spec: dict[str, Any], clock: Clock) -> None:
    """Twilio's example workspace (offered 100, answered 100, abandoned 100, every split
    0 + 0, a task from 2014) is not shown as live numbers: the counters are rejected
    with a note, the 2014 task is dropped, and no clock-skew warning comes from it."""
    router = spec_example_router(spec, clock)
    settings = TwilioSettings(workspace_sid="WS" + "a" * 32, account_sid=AC,
                              password_env=TOKEN_ENV,
                              queue_defaults={"threshold_s": 10, "short_abandon_s": 5})
    source = TwilioSource("spec", POLICY, settings,
                          transport=httpx.MockTransport(router.async_handler), clock=clock)
    try:
        snap = await source.snapshot()
    finally:
        await source.close()
    queue = "WQ" + "a" * 32
    assert [q.id for q in snap.queues] == [queue]
    assert snap.interval_stats == {} and snap.day_stats == {}
    assert source.notes[0] == (
        "interval counters of 81f96435-3a05-11e5-9f81-98e0d9a1eb73 rejected (split at 10 s "
        "counts 0 + 0 of 100 answered and 0 + 0 of 100 abandoned); shown as no data")
    assert source.notes[1].startswith("day counters of 81f96435")
    notes = " | ".join(source.notes)
    assert snap.contacts == ()
    assert "dropped 1 unreadable task record(s)" in notes and "too long ago" in notes
    assert "clock" not in notes  # the 396,092,109 s "skew" came from that dropped task
    assert snap.queue_live[queue].waiting == 0  # the example's tasks_by_status: all 0
    assert count_problems(snap) == []


async def test_clock_skew_ignores_dropped_records(make: Make, fake: FakeTaskRouter) -> None:
    def spoil(kind: str, data: Any) -> Any:
        if kind == "tasks":
            for t in data["tasks"]:
                if t["sid"] == T1:  # created long ago, entered its queue in the future
                    t["date_created"] = "2014-05-14T14:26:54Z"
                    t["task_queue_entered_date"] = "2099-01-01T00:00:00Z"
        return data

    fake.mangle = spoil
    source = make()
    snap = await source.snapshot()
    assert T1 not in {c.id for c in snap.contacts}
    notes = " | ".join(source.notes)
    assert "dropped 1 unreadable task record(s)" in notes
    assert "clock" not in notes


async def test_queue_live_from_realtime_statistics(make: Make, fake: FakeTaskRouter,
                                                   clock: Clock) -> None:
    source = make()
    snap = await source.snapshot()
    sales, support = snap.queue_live[SALES], snap.queue_live[SUPPORT]
    assert (sales.waiting, support.waiting) == (3, 1)  # pending + reserved
    # The longest-waiting task is listed: its time in this queue, not since creation.
    assert sales.oldest_waiting_since == NOW - timedelta(seconds=50)
    assert support.oldest_waiting_since is None  # no pending task: nothing to report

    # Tasks TaskRouter counts but the listing cut short: the count and the age stand in.
    fake.tasks += [FakeTask(sid("WT", 20 + n), SALES, "pending", NOW - timedelta(seconds=400),
                            NOW - timedelta(seconds=400)) for n in range(3)]
    fake.page_size = 4  # one page of 4 tasks: the three oldest are not listed
    snap = await make(max_pages=1).snapshot()
    assert {c.id for c in snap.contacts if c.queue_id == SALES} == {T1, T2, T3}
    sales = snap.queue_live[SALES]
    assert sales.waiting == 6
    assert sales.oldest_waiting_since == NOW - timedelta(seconds=400)


async def test_queue_live_skipped_without_tasks_by_status(make: Make,
                                                          fake: FakeTaskRouter) -> None:
    fake.mangle = mangle_realtime(lambda d: d.pop("tasks_by_status"))
    snap = await make().snapshot()
    assert SALES not in snap.queue_live and SUPPORT in snap.queue_live


QS = TwilioSettings(**SETTINGS).queue(SALES)  # T = 20 s, S = 5 s
counts = st.integers(min_value=0, max_value=30_000)


@settings(max_examples=300, deadline=None)
@given(accepted=counts, canceled=counts, moved=counts,
       split_t=st.tuples(counts, counts, counts, counts),
       split_s=st.tuples(counts, counts, counts, counts))
def test_any_cumulative_answer_gives_true_counts_or_a_reason(
        accepted: int, canceled: int, moved: int, split_t: tuple[int, int, int, int],
        split_s: tuple[int, int, int, int]) -> None:
    """Whatever TaskRouter answers: counters that keep the rule, or none and a reason."""
    def split(v: tuple[int, int, int, int]) -> dict[str, Any]:
        return {"below": {"reservations_accepted": v[0], "tasks_canceled": v[1]},
                "above": {"reservations_accepted": v[2], "tasks_canceled": v[3]}}

    doc = CumulativeDoc.model_validate({
        "reservations_accepted": accepted, "tasks_canceled": canceled, "tasks_moved": moved,
        "split_by_wait_time": {"20": split(split_t), "5": split(split_s)}})
    start = POLICY.interval_start(NOW)
    stats, note = queue_stats(SALES, start, doc, QS)
    if stats is None:
        assert note
        return
    assert (stats.answered, stats.abandoned, stats.flowed_out) == (accepted, canceled, moved)
    snap = Snapshot(taken_at=NOW, interval_start=start, day_start=start,
                    interval_stats={SALES: stats})
    assert count_problems(snap) == []


def test_consistent_split_is_taken_as_it_is() -> None:
    doc = SplitDoc.model_validate({"below": {"reservations_accepted": 7, "tasks_canceled": 1},
                                   "above": {"reservations_accepted": 3, "tasks_canceled": 2}})
    assert check_split(20, doc, 10, 3) == Split(7, 1, 2, False)
    assert check_split(20, doc, 11, 3) == "split at 20 s counts 7 + 3 of 11 answered"


async def test_late_abandons_never_include_short_ones(make: Make, fake: FakeTaskRouter) -> None:
    """Sampled splits at S and T can disagree: the late count is clamped so that short
    abandons (left out of every rate) are never also late, and the note says so."""
    fake.windows[(SALES, "day")] = Window(
        accepted=18_000, canceled=2_000, splits={20: (4_500, 100, 4_500, 900),
                                                 5: (1_000, 600, 8_000, 400)})
    source = make()
    snap = await source.snapshot()
    day = snap.day_stats[SALES]
    assert (day.abandoned, day.abandoned_short, day.abandoned_after_threshold) == (
        2_000, 1_200, 800)
    (note,) = [n for n in source.notes if n.startswith("day counters of Sales:")]
    assert note == ("day counters of Sales: within 20 s and short abandons estimated from "
                    "TaskRouter's 10,000-task sample; 1000 abandon(s) both short and late: "
                    "counted short")
    assert len(note) <= 160  # what the health panel keeps of a note
    assert count_problems(snap) == []
