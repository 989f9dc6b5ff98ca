"""The ``connect`` source against a boto3 Connect client wrapped in botocore's ``Stubber``:
every request is checked against the service model botocore ships (and against the exact
parameters we expect), every canned answer is validated against the same model. The
model does not check metric names inside requests, so that is checked here too."""

from __future__ import annotations

import math
import re
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import botocore.session
import pytest
from botocore.stub import ANY, Stubber

from supervisor_tui.domain.intervals import IntervalPolicy
from supervisor_tui.domain.model import AgentStateKind, Channel, ContactState
from supervisor_tui.sources.base import Capability, SourceError
from supervisor_tui.sources.connect import documents as docs
from supervisor_tui.sources.connect.documents import oldest_age_s, v2_metrics
from supervisor_tui.sources.connect.settings import ConnectSettings
from supervisor_tui.sources.connect.source import ConnectSource
from supervisor_tui.sources.limits import RateLimited
from tests.counting import count_problems

POLICY = IntervalPolicy(minutes=30, tz="UTC")
NOW = datetime(2026, 11, 22, 10, 20, tzinfo=UTC)
ISTART = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)
DSTART = datetime(2026, 11, 22, 0, 0, tzinfo=UTC)


def uid(n: int) -> str:
    return f"00000000-0000-4000-8000-{n:012x}"


INST = uid(0x1)
ARN = f"arn:aws:connect:eu-west-2:123456789012:instance/{INST}"
Q1, Q2, Q3 = uid(0x101), uid(0x102), uid(0x103)
U1, U2, U3, U4, U5, U6, U7 = (uid(0x200 + n) for n in range(1, 8))
C1, C2, C3 = uid(0x301), uid(0x302), uid(0x303)
P1, P2 = uid(0x401), uid(0x402)
AVAIL, OFF, LUNCH, BREAK = uid(0x501), uid(0x502), uid(0x503), uid(0x504)
FLOW = uid(0x601)
HOSTILE = "Support\x1b[31m\x1b]0;pwned\x07"

SETTINGS: dict[str, Any] = {
    "instance_arn": ARN, "max_requests": 10_000, "max_concurrency": 1,
    "queue_settings": {Q2: {"channel": "chat", "threshold_s": 60, "short_abandon_s": 0}},
    "transfer_flow_id": FLOW,
}


class Clock:
    def __init__(self, now: datetime = NOW) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


def status_arn(sid: str) -> str:
    return f"{ARN}/agent-state/{sid}"


def ago(seconds: float, clock: Clock | None = None) -> datetime:
    return (clock.now if clock else NOW) - timedelta(seconds=seconds)


# -- canned answers (shapes of the service model; Stubber validates them) ---------------


def current(qid: str, **values: float) -> dict[str, Any]:
    units = dict(docs.CURRENT_METRICS)
    return {"Dimensions": {"Queue": {"Id": qid, "Arn": f"{ARN}/queue/{qid}"}},
            "Collections": [{"Metric": {"Name": name, "Unit": units[name]}, "Value": value}
                            for name, value in values.items()]}


def lt(name: str, seconds: int) -> dict[str, Any]:
    return {"Name": name, "Threshold": [{"Comparison": "LT", "ThresholdValue": float(seconds)}]}


def v2row(qid: str, t: int, s: int, *, answered: float, in_t: float, avg: float | None,
          abandoned: float, under_t: float, under_s: float, flowed: float, handled: float,
          handle_s: float | None) -> dict[str, Any]:
    items: list[tuple[dict[str, Any], float | None]] = [
        ({"Name": docs.ANSWERED}, answered), (lt(docs.ANSWERED_IN_X, t), in_t),
        ({"Name": docs.AVG_ANSWER}, avg), ({"Name": docs.ABANDONED}, abandoned),
        (lt(docs.ABANDONED_IN_X, t), under_t), ({"Name": docs.FLOWED_OUT}, flowed),
        ({"Name": docs.HANDLED}, handled), ({"Name": docs.HANDLE_TIME}, handle_s)]
    if 0 < s < t:
        items.append((lt(docs.ABANDONED_IN_X, s), under_s))
    return {"Dimensions": {"QUEUE": qid},
            "Collections": [{"Metric": m, **({"Value": v} if v is not None else {})}
                            for m, v in items]}


def user_data(user: str, status: str, status_name: str, since: datetime,
              profile: str = P1, contacts: list[dict[str, Any]] | None = None
              ) -> dict[str, Any]:
    return {"User": {"Id": user, "Arn": f"{ARN}/agent/{user}"},
            "RoutingProfile": {"Id": profile, "Arn": f"{ARN}/routing-profile/{profile}"},
            "Status": {"StatusStartTimestamp": since, "StatusArn": status_arn(status),
                       "StatusName": status_name},
            "Contacts": contacts or []}


def agent_contact(cid: str, channel: str, state: str, since: datetime, queue: str
                  ) -> dict[str, Any]:
    return {"ContactId": cid, "Channel": channel, "InitiationMethod": "INBOUND",
            "AgentContactState": state, "StateStartTimestamp": since,
            "ConnectedToAgentTimestamp": since, "Queue": {"Id": queue}}


class Centre:
    """A small instance: three standard queues (one named with escape sequences), two
    routing profiles, four agent statuses, six users (one not logged in)."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.queues = [(Q1, "Sales"), (Q2, HOSTILE), (Q3, "Billing")]
        self.statuses = [(AVAIL, "Available", "ROUTABLE"), (OFF, "Offline", "OFFLINE"),
                         (LUNCH, "Lunch", "CUSTOM"), (BREAK, "Break", "CUSTOM")]
        self.profiles = {P1: ("Sales and billing", [Q1, Q3]), P2: ("Support", [Q2])}
        self.users = [(U1, "ann"), (U2, "bob"), (U3, "cat"), (U4, "dan"), (U5, "eve"),
                      (U6, "fay"), (U7, "gus")]

    def live(self) -> list[dict[str, Any]]:
        return [current(Q1, CONTACTS_IN_QUEUE=3.0, OLDEST_CONTACT_AGE=75.0,
                        AGENTS_ONLINE=4.0, AGENTS_AVAILABLE=1.0, AGENTS_ON_CONTACT=1.0,
                        AGENTS_AFTER_CONTACT_WORK=0.0, AGENTS_STAFFED=3.0),
                current(Q2, CONTACTS_IN_QUEUE=0.0, AGENTS_ONLINE=1.0,
                        AGENTS_AFTER_CONTACT_WORK=1.0)]  # Q3: no row at all (sparse)

    def v2(self, kind: str) -> dict[tuple[int, int], list[dict[str, Any]]]:
        k = 1 if kind == "interval" else 10
        return {(20, 5): [v2row(Q1, 20, 5, answered=40 * k, in_t=30 * k, avg=12.0,
                                abandoned=6 * k, under_t=4 * k, under_s=3 * k, flowed=2 * k,
                                handled=38 * k, handle_s=38 * k * 300.0)],
                (60, 0): [v2row(Q2, 60, 0, answered=10 * k, in_t=9 * k, avg=30.0,
                                abandoned=1 * k, under_t=1 * k, under_s=0, flowed=0,
                                handled=10 * k, handle_s=10 * k * 600.0)]}

    def user_list(self) -> list[dict[str, Any]]:
        c = self.clock
        return [
            user_data(U1, AVAIL, "Available", ago(30, c)),
            user_data(U2, AVAIL, "Available", ago(900, c), contacts=[
                agent_contact(C1, "VOICE", "CONNECTED", ago(95, c), Q1)]),
            user_data(U3, AVAIL, "Available", ago(400, c), profile=P2, contacts=[
                agent_contact(C2, "TASK", "ENDED", ago(20, c), Q2)]),
            user_data(U4, LUNCH, "Lunch", ago(600, c)),
            user_data(U5, OFF, "Offline", ago(7200, c)),
            user_data(U7, AVAIL, "Available", ago(300, c), profile=P2, contacts=[
                agent_contact(C3, "EMAIL", "CONNECTED", ago(240, c), Q2)]),
        ]


class Stubbed:
    """A real boto3 Connect client under a Stubber, and the answers a poll expects."""

    def __init__(self, centre: Centre) -> None:
        self.centre = centre
        self.any_time = False  # the probe runs on the wall clock
        self.client = boto3.client("connect", region_name="eu-west-2",
                                   aws_access_key_id="AKIDEXAMPLE",
                                   aws_secret_access_key="test-secret-key-1")
        self.stub = Stubber(self.client)
        self.stub.activate()

    def add(self, op: str, answer: dict[str, Any], params: dict[str, Any]) -> None:
        self.stub.add_response(op, answer, params)

    def error(self, op: str, code: str, message: str, status: int) -> None:
        self.stub.add_client_error(op, service_error_code=code, service_message=message,
                                   http_status_code=status)

    # one poll's requests, in the order a one-at-a-time source sends them

    def catalog(self, users_pages: int = 1) -> None:
        c = self.centre
        self.add("list_queues", {"QueueSummaryList": [
            {"Id": q, "Arn": f"{ARN}/queue/{q}", "Name": n, "QueueType": "STANDARD"}
            for q, n in c.queues]},
            {"InstanceId": INST, "QueueTypes": ["STANDARD"], "MaxResults": 1000})
        self.add("list_agent_statuses", {"AgentStatusSummaryList": [
            {"Id": s, "Arn": status_arn(s), "Name": n, "Type": t} for s, n, t in c.statuses]},
            {"InstanceId": INST, "MaxResults": 1000})
        self.add("list_routing_profiles", {"RoutingProfileSummaryList": [
            {"Id": p, "Arn": f"{ARN}/routing-profile/{p}", "Name": n}
            for p, (n, _) in c.profiles.items()]}, {"InstanceId": INST, "MaxResults": 1000})
        users = [{"Id": u, "Arn": f"{ARN}/agent/{u}", "Username": n} for u, n in c.users]
        size = math.ceil(len(users) / users_pages)
        for page in range(users_pages):
            answer: dict[str, Any] = {"UserSummaryList": users[page * size:(page + 1) * size]}
            if page < users_pages - 1:
                answer["NextToken"] = f"users-{page + 1}"
            params: dict[str, Any] = {"InstanceId": INST, "MaxResults": 1000}
            if page:
                params["NextToken"] = f"users-{page}"
            self.add("list_users", answer, params)

    def current(self, queues: list[str], results: list[dict[str, Any]]) -> None:
        self.add("get_current_metric_data", {"MetricResults": results}, {
            "InstanceId": INST, "Filters": {"Queues": queues}, "Groupings": ["QUEUE"],
            "CurrentMetrics": [{"Name": n, "Unit": u} for n, u in docs.CURRENT_METRICS],
            "MaxResults": 100})

    def v2(self, start: datetime, groups: dict[tuple[int, int], list[str]],
           rows: dict[tuple[int, int], list[dict[str, Any]]]) -> None:
        for (t, s), queues in groups.items():
            self.add("get_metric_data_v2", {"MetricResults": rows.get((t, s), [])}, {
                "ResourceArn": ARN, "StartTime": ANY if self.any_time else start,
                "EndTime": ANY if self.any_time else self.centre.clock.now.replace(
                    microsecond=0),
                "Filters": [{"FilterKey": "QUEUE", "FilterValues": queues}],
                "Groupings": ["QUEUE"], "Metrics": v2_metrics(t, s), "MaxResults": 100})

    def users(self, chunk: list[str], answer: list[dict[str, Any]]) -> None:
        self.add("get_current_user_data", {"UserDataList": answer}, {
            "InstanceId": INST, "Filters": {"Agents": chunk}, "MaxResults": 100})

    def profile(self, pid: str) -> None:
        _, queues = self.centre.profiles[pid]
        self.add("list_routing_profile_queues", {"RoutingProfileQueueConfigSummaryList": [
            {"QueueId": q, "QueueArn": f"{ARN}/queue/{q}", "QueueName": "x",
             "Priority": n + 1, "Delay": 0, "Channel": "VOICE"} for n, q in enumerate(queues)]},
            {"InstanceId": INST, "RoutingProfileId": pid, "MaxResults": 100})

    def first_poll(self) -> None:
        c = self.centre
        self.catalog()
        self.current([Q1, Q2, Q3], c.live())
        groups = {(20, 5): [Q1, Q3], (60, 0): [Q2]}
        self.v2(ISTART, groups, c.v2("interval"))
        self.v2(DSTART, groups, c.v2("day"))
        self.users(sorted(u for u, _ in c.users), c.user_list())
        self.profile(P1)
        self.profile(P2)

    def done(self) -> None:
        self.stub.assert_no_pending_responses()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def aws(clock: Clock) -> Iterator[Stubbed]:
    stubbed = Stubbed(Centre(clock))
    yield stubbed
    stubbed.stub.deactivate()


def make(aws: Stubbed, clock: Clock, **overrides: Any) -> ConnectSource:
    settings = ConnectSettings(**{**SETTINGS, **overrides})
    return ConnectSource("connect", POLICY, settings, client=aws.client, clock=clock)


def one_line(err: BaseException) -> str:
    text = str(err)
    assert text and "\n" not in text and "Traceback" not in text
    return text


# -- a normal centre -------------------------------------------------------------------


async def test_a_normal_centre(aws: Stubbed, clock: Clock) -> None:
    source = make(aws, clock)
    aws.first_poll()
    cost = source.poll_cost()
    snap = await source.snapshot()
    aws.done()
    assert source.last_poll_requests == 12
    assert cost == 4 + 1 + 2  # the catalog, then re-planned: its size was unknown

    names = {q.id: q.name for q in snap.queues}
    assert names[Q1] == "Sales" and names[Q3] == "Billing"
    assert "\x1b" not in names[Q2] and "\x07" not in names[Q2]
    assert names[Q2].startswith("Support")
    assert {q.id: q.channel for q in snap.queues}[Q2] is Channel.CHAT

    # real-time: grouped by queue, so OLDEST_CONTACT_AGE is seconds
    assert snap.queue_live[Q1].waiting == 3
    assert snap.queue_live[Q1].oldest_waiting_since == NOW - timedelta(seconds=75)
    assert snap.queue_live[Q2].waiting == 0 and snap.queue_live[Q3].waiting == 0
    assert source.live[Q1].agents["AGENTS_STAFFED"] == 3

    # counters by the counting rule
    s1 = snap.interval_stats[Q1]
    assert (s1.offered, s1.answered, s1.answered_within_threshold) == (48, 40, 30)
    assert (s1.abandoned, s1.abandoned_short, s1.abandoned_after_threshold) == (6, 3, 2)
    assert (s1.flowed_out, s1.handled) == (2, 38)
    assert s1.wait_answered_s == pytest.approx(480.0) and s1.handle_s == 38 * 300.0
    assert s1.window_start == ISTART
    s2 = snap.interval_stats[Q2]
    assert (s2.offered, s2.abandoned_short, s2.abandoned_after_threshold) == (11, 0, 0)
    assert snap.interval_stats[Q3].offered == 0  # no row: no contacts in the window
    assert snap.day_stats[Q1].offered == 480 and snap.day_stats[Q1].window_start == DSTART
    assert count_problems(snap) == []

    agents = {a.id: a for a in snap.agents}
    assert set(agents) == {U1, U2, U3, U4, U5, U7}  # fay is not logged in
    assert agents[U1].name == "ann" and agents[U1].state.kind is AgentStateKind.AVAILABLE
    assert agents[U1].state.since == NOW - timedelta(seconds=30)
    assert agents[U1].skills == (Q1, Q3)
    bob = agents[U2]
    assert bob.state.kind is AgentStateKind.ON_CONTACT
    assert bob.state.since == NOW - timedelta(seconds=95)
    assert (bob.contact_id, bob.queue_id) == (C1, Q1)
    assert agents[U3].state.kind is AgentStateKind.AFTER_CONTACT_WORK
    assert agents[U3].skills == (Q2,)
    assert agents[U4].state.kind is AgentStateKind.AWAY
    assert agents[U4].state.reason == "lunch"
    assert agents[U5].state.kind is AgentStateKind.OFFLINE
    contacts = {c.id: c for c in snap.contacts}
    assert contacts[C1].state is ContactState.CONNECTED
    assert contacts[C1].channel is Channel.VOICE and contacts[C1].agent_id == U2
    assert contacts[C2].state is ContactState.WRAP_UP
    assert contacts[C2].channel is Channel.CHAT  # a task takes its queue's channel
    assert source.notes == ()
    assert source.capabilities == {Capability.SNAPSHOT, Capability.AGENT_STATE,
                                   Capability.MOVE_AGENTS, Capability.REASSIGN_CONTACT}


async def test_a_steady_poll_sends_what_it_counted(aws: Stubbed, clock: Clock) -> None:
    source = make(aws, clock)
    aws.first_poll()
    first = await source.snapshot()
    unchanged = aws.centre.user_list()  # the same states, 5 s later; ann goes to lunch
    unchanged[0] = user_data(U1, LUNCH, "Lunch", NOW + timedelta(seconds=2))
    clock.advance(5)
    aws.current([Q1, Q2, Q3], aws.centre.live())
    aws.users(sorted(u for u, _ in aws.centre.users), unchanged)
    cost = source.poll_cost()
    snap = await source.snapshot()
    aws.done()
    # counters and the catalog are not due yet: real-time metrics and agent states only
    assert cost == source.last_poll_requests == 2
    assert snap.interval_stats[Q1] == first.interval_stats[Q1]
    # an agent whose state did not change is the very same object (identity reuse)
    assert {a.id: a for a in snap.agents}[U4] is {a.id: a for a in first.agents}[U4]
    ann = {a.id: a for a in snap.agents}[U1]
    assert (ann.state.kind, ann.state.reason) == (AgentStateKind.AWAY, "lunch")
    assert ann.state.since == NOW + timedelta(seconds=2)


# -- the units trap --------------------------------------------------------------------


def test_oldest_contact_age_is_milliseconds_without_groupings() -> None:
    # Connect's own example: 24113.0 labelled SECONDS, ungrouped, is 24 seconds
    assert oldest_age_s(24113.0, grouped=False) == pytest.approx(24.113)
    assert oldest_age_s(24.0, grouped=True) == 24.0


async def test_an_absurd_oldest_age_rejects_that_queue_only(aws: Stubbed,
                                                            clock: Clock) -> None:
    # 24,113,000 "seconds" is what a millisecond value read as seconds would look like
    aws.centre.live = lambda: [  # type: ignore[method-assign]
        current(Q1, CONTACTS_IN_QUEUE=2.0, OLDEST_CONTACT_AGE=24_113_000.0),
        current(Q2, CONTACTS_IN_QUEUE=1.0, OLDEST_CONTACT_AGE=24.0)]
    source = make(aws, clock, max_wait_s=86_400)
    aws.first_poll()
    snap = await source.snapshot()
    assert Q1 not in snap.queue_live
    assert snap.queue_live[Q2].oldest_waiting_since == NOW - timedelta(seconds=24)
    assert any("real-time metrics of Sales rejected" in n and "absurd" in n
               for n in source.notes)


# -- paging and batching ---------------------------------------------------------------


async def test_paging_and_batches_of_100(aws: Stubbed, clock: Clock) -> None:
    many = [uid(0x1000 + n) for n in range(150)]
    aws.centre.users = [(uid(0x5000 + n), f"agent{n}") for n in range(230)]
    source = make(aws, clock, queues=many, day_stats=False)
    aws.catalog(users_pages=3)
    aws.current(many[:100], [current(many[0], CONTACTS_IN_QUEUE=1.0,
                                     OLDEST_CONTACT_AGE=10.0)])
    aws.current(many[100:], [current(many[149], CONTACTS_IN_QUEUE=2.0,
                                     OLDEST_CONTACT_AGE=20.0)])
    aws.v2(ISTART, {(20, 5): many[:100]}, {})
    aws.v2(ISTART, {(20, 5): many[100:]}, {})
    ids = sorted(u for u, _ in aws.centre.users)
    for chunk in (ids[:100], ids[100:200], ids[200:]):
        aws.users(chunk, [user_data(u, AVAIL, "Available", ago(5)) for u in chunk])
    aws.profile(P1)
    aws.profile(P2)
    snap = await source.snapshot()
    aws.done()
    # configured queues the catalog does not list are shown by id
    assert len(snap.queues) == 150 and {q.name for q in snap.queues} >= {many[3]}
    assert snap.queue_live[many[0]].waiting == 1 and snap.queue_live[many[149]].waiting == 2
    # the users' routing profiles serve none of the configured queues: not this source's
    assert len(snap.interval_stats) == 150 and len(snap.agents) == 0


async def test_a_large_centre_is_read_in_turns(aws: Stubbed, clock: Clock) -> None:
    aws.centre.users = [(uid(0x5000 + n), f"agent{n}") for n in range(350)]
    ids = sorted(u for u, _ in aws.centre.users)
    chunks = [ids[:100], ids[100:200], ids[200:300], ids[300:]]
    source = make(aws, clock, max_poll_requests=5, day_stats=False,
                  queue_settings={})
    # poll 1: the catalog (4 requests) and the real-time metrics (1) fill it
    aws.catalog()
    aws.current([Q1, Q2, Q3], aws.centre.live())
    snap = await source.snapshot()
    aws.done()
    assert snap.agents == ()
    assert "interval counters not refreshed: no room in this poll's requests" in source.notes
    assert "agent states still being read: 350 of 350 users not read yet" in source.notes
    # poll 2: counters, then three of four groups of users
    clock.advance(5)
    aws.current([Q1, Q2, Q3], aws.centre.live())
    aws.v2(ISTART, {(20, 5): [Q1, Q2, Q3]}, {})
    for chunk in chunks[:3]:
        aws.users(chunk, [user_data(u, AVAIL, "Available", ago(5, clock)) for u in chunk])
    assert source.poll_cost() == 5
    snap = await source.snapshot()
    aws.done()
    assert len(snap.agents) == 300
    assert "agent states still being read: 50 of 350 users not read yet" in source.notes
    # poll 3: the group never read comes first, then the oldest
    clock.advance(5)
    aws.current([Q1, Q2, Q3], aws.centre.live())
    for chunk in (chunks[3], chunks[0], chunks[1], chunks[2]):
        aws.users(chunk, [user_data(u, AVAIL, "Available", ago(5, clock)) for u in chunk])
    snap = await source.snapshot()
    aws.done()
    assert len(snap.agents) == 350 and source.last_poll_requests == 5
    assert not any("still being read" in n for n in source.notes)


# -- throttling and errors -------------------------------------------------------------


async def test_throttling_is_rate_limited_and_counted(aws: Stubbed, clock: Clock) -> None:
    source = make(aws, clock)
    aws.error("list_queues", "ThrottlingException", "Rate exceeded", 429)
    with pytest.raises(RateLimited) as caught:
        await source.snapshot()
    text = one_line(caught.value)
    assert "throttled by Amazon Connect (ThrottlingException)" in text
    assert source.request_stats is not None and source.request_stats.rate_limited == 1


async def test_access_denied_names_the_permission(aws: Stubbed, clock: Clock) -> None:
    source = make(aws, clock)
    aws.catalog()
    aws.error("get_current_metric_data", "AccessDeniedException",
              "User is not authorized\x1b[2J", 403)
    with pytest.raises(SourceError) as caught:
        await source.snapshot()
    text = one_line(caught.value)
    assert "access denied (AccessDeniedException" in text
    assert "connect:GetCurrentMetricData" in text and "\x1b" not in text


async def test_denied_agent_states_leave_the_queues_standing(aws: Stubbed,
                                                             clock: Clock) -> None:
    source = make(aws, clock)
    c = aws.centre
    aws.catalog()
    aws.current([Q1, Q2, Q3], c.live())
    groups = {(20, 5): [Q1, Q3], (60, 0): [Q2]}
    aws.v2(ISTART, groups, c.v2("interval"))
    aws.v2(DSTART, groups, c.v2("day"))
    aws.error("get_current_user_data", "AccessDeniedException", "no", 403)
    aws.profile(P1)
    aws.profile(P2)
    snap = await source.snapshot()
    assert snap.queue_live[Q1].waiting == 3 and snap.agents == ()
    assert any("connect:GetCurrentUserData" in n for n in source.notes)


async def test_an_unreachable_endpoint_is_a_clear_error(monkeypatch: pytest.MonkeyPatch
                                                        ) -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv("TEST_CONNECT_KEY", "AKIDEXAMPLE")
    monkeypatch.setenv("TEST_CONNECT_SECRET", "a-secret-that-must-not-show")
    settings = ConnectSettings(instance_arn=ARN, endpoint_url=f"http://127.0.0.1:{port}",
                               access_key_id_env="TEST_CONNECT_KEY",
                               secret_access_key_env="TEST_CONNECT_SECRET", timeout_s=2)
    source = ConnectSource("connect", POLICY, settings)
    with pytest.raises(SourceError) as caught:
        await source.snapshot()
    text = one_line(caught.value)
    assert "cannot reach Amazon Connect" in text
    assert "a-secret-that-must-not-show" not in text
    await source.close()


# -- sparse and garbage ----------------------------------------------------------------


async def test_sparse_but_valid_answers(aws: Stubbed, clock: Clock) -> None:
    source = make(aws, clock, day_stats=False)
    c = aws.centre
    aws.catalog()
    aws.current([Q1, Q2, Q3], [{"Dimensions": {"Queue": {"Id": Q1}},
                                "Collections": [{"Metric": {"Name": "CONTACTS_IN_QUEUE",
                                                            "Unit": "COUNT"}}]}])
    aws.v2(ISTART, {(20, 5): [Q1, Q3], (60, 0): [Q2]}, {})
    # a user with no status and no contacts, another with a status the catalog lacks
    aws.users(sorted(u for u, _ in c.users), [
        {"User": {"Id": U1}},
        {"User": {"Id": U2}, "Status": {"StatusName": "Available"}}])
    aws.profile(P1)
    aws.profile(P2)
    snap = await source.snapshot()
    aws.done()
    assert {q: v.waiting for q, v in snap.queue_live.items()} == {Q1: 0, Q2: 0, Q3: 0}
    assert all(s.offered == 0 for s in snap.interval_stats.values())
    agents = {a.id: a for a in snap.agents}
    assert agents[U2].state.kind is AgentStateKind.AVAILABLE
    assert agents[U1].state.kind is AgentStateKind.AWAY  # no status: not routable
    assert agents[U1].skills == ()  # no routing profile: serves nothing known


async def test_garbage_is_dropped_and_said(aws: Stubbed, clock: Clock) -> None:
    source = make(aws, clock, day_stats=False)
    c = aws.centre
    aws.catalog()
    aws.current([Q1, Q2, Q3], [current(Q1, CONTACTS_IN_QUEUE=-4.0),
                               current(Q2, CONTACTS_IN_QUEUE=2.5),
                               current(Q3, CONTACTS_IN_QUEUE=float("nan"))])
    rows = {(20, 5): [v2row(Q1, 20, 5, answered=10, in_t=12, avg=5.0, abandoned=0,
                            under_t=0, under_s=0, flowed=0, handled=0, handle_s=0.0),
                      v2row(Q3, 20, 5, answered=3, in_t=1, avg=None, abandoned=0,
                            under_t=0, under_s=0, flowed=0, handled=0, handle_s=None)],
            (60, 0): [v2row(Q2, 60, 0, answered=1, in_t=1, avg=1e30, abandoned=0,
                            under_t=0, under_s=0, flowed=0, handled=0, handle_s=0.0)]}
    aws.v2(ISTART, {(20, 5): [Q1, Q3], (60, 0): [Q2]}, rows)
    aws.users(sorted(u for u, _ in c.users), [
        user_data(U1, AVAIL, "Available", datetime(2150, 1, 1, tzinfo=UTC)),
        user_data("not-a-user-id", AVAIL, "Available", ago(5)),
        user_data(U4, BREAK, "Break\x1b[5m", ago(60))])
    aws.profile(P1)
    aws.profile(P2)
    snap = await source.snapshot()
    aws.done()
    assert snap.queue_live == {}  # every queue's live figures rejected
    assert snap.interval_stats == {}  # and every window
    notes = " | ".join(source.notes)
    assert "real-time metrics of Sales and 2 more queue(s) rejected" in notes
    assert "interval counters of Sales and 2 more queue(s) rejected" in notes
    assert "answered within threshold 12 exceeds answered 10" in notes
    assert "1 unreadable agent states dropped" in notes
    assert "1 agent state(s) dropped: status start lies in the future" in notes
    agents = {a.id: a for a in snap.agents}
    assert set(agents) == {U4} and agents[U4].state.reason == "break"
    assert count_problems(snap) == []


# -- what we ask for is in the service model --------------------------------------------


def test_every_name_we_send_is_in_the_service_model() -> None:
    model = botocore.session.get_session().get_service_model("connect")
    enum = {n: set(model.shape_for(n).enum) for n in (
        "CurrentMetricName", "Unit", "Grouping", "QueueType", "AgentStatusType",
        "ContactState", "Channel")}
    for name, unit in docs.CURRENT_METRICS:
        assert name in enum["CurrentMetricName"] and unit in enum["Unit"]
    assert "QUEUE" in enum["Grouping"] and "STANDARD" in enum["QueueType"]
    assert {"ROUTABLE", "CUSTOM", "OFFLINE"} <= enum["AgentStatusType"]
    assert set(docs.CHANNELS) <= enum["Channel"]
    assert docs._BUSY | {"ENDED", "MISSED", "ERROR", "REJECTED"} <= enum["ContactState"]
    # GetMetricDataV2's names are no enum: the model documents them, one <dt> each, with
    # the thresholds each takes
    v2 = model.operation_model("GetMetricDataV2")
    doc = v2.input_shape.members["Metrics"].documentation
    listed = set(re.findall(r"<dt>([A-Z0-9_]+)</dt>", doc))
    assert len(listed) > 50
    for metric in v2_metrics(20, 5):
        assert metric["Name"] in listed, metric["Name"]
    text = re.sub(r"<[^>]+>", " ", doc)
    for name in (docs.ANSWERED_IN_X, docs.ABANDONED_IN_X):
        entry = text[text.index(f" {name} "):][:700]
        assert "Threshold" in entry and "LT" in entry, entry
    assert "QUEUE" in v2.input_shape.members["Groupings"].documentation


def test_v2_thresholds_fit_the_documented_range() -> None:
    for t, s in ((1, 0), (20, 5), (20, 20), (86_400, 3_600)):
        for metric in v2_metrics(t, s):
            for threshold in metric.get("Threshold", []):
                assert 1 <= threshold["ThresholdValue"] <= 604_800


# -- actions ---------------------------------------------------------------------------


async def polled(aws: Stubbed, clock: Clock, **overrides: Any) -> ConnectSource:
    source = make(aws, clock, **overrides)
    aws.first_poll()
    await source.snapshot()
    aws.done()
    return source


async def test_agent_state_changes(aws: Stubbed, clock: Clock) -> None:
    source = await polled(aws, clock)
    aws.add("put_user_status", {}, {"InstanceId": INST, "UserId": U4, "AgentStatusId": AVAIL})
    result = await source.set_agent_state(U4, "available")
    assert result.ok and result.message == "dan set to Available"
    aws.add("put_user_status", {}, {"InstanceId": INST, "UserId": U1, "AgentStatusId": LUNCH})
    assert (await source.set_agent_state(U1, "away:lunch")).ok
    aws.add("put_user_status", {}, {"InstanceId": INST, "UserId": U3, "AgentStatusId": OFF})
    result = await source.set_agent_state(U3, "logout")
    assert result.ok and "when after-contact work ends" in result.message
    aws.done()
    # refused without a request
    on_contact = await source.set_agent_state(U2, "away:break")
    assert on_contact.code == "on_contact" and C1 in on_contact.message
    assert (await source.set_agent_state(U3, "end_acw")).code == "unsupported"
    unknown = await source.set_agent_state(U1, "away:gym")
    assert unknown.code == "unknown_state" and "Lunch, Break" in unknown.message
    assert (await source.set_agent_state(uid(0x999), "available")).code == "unknown_agent"
    aws.done()


async def test_a_refused_state_change_says_why(aws: Stubbed, clock: Clock) -> None:
    source = await polled(aws, clock)
    aws.error("put_user_status", "AccessDeniedException", "not allowed", 403)
    result = await source.set_agent_state(U1, "away:break")
    assert not result.ok and result.code == "refused"
    assert "connect:PutUserStatus" in result.message


async def test_moving_an_agent_to_a_routing_profile(aws: Stubbed, clock: Clock) -> None:
    source = await polled(aws, clock)
    aws.add("update_user_routing_profile", {},
            {"InstanceId": INST, "UserId": U1, "RoutingProfileId": P2})
    result = await source.set_agent_skills(U1, [Q2])
    assert result.ok and "routing profile Support" in result.message
    aws.done()
    assert (await source.set_agent_skills(U1, [Q1])).code == "no_skill"
    assert (await source.set_agent_skills(U1, [Q3, Q1])).message.startswith("no change")
    assert (await source.set_agent_skills(U1, [uid(0x777)])).code == "unknown_queue"


async def test_moving_an_email_contact(aws: Stubbed, clock: Clock) -> None:
    source = await polled(aws, clock)
    import uuid

    # derived from the contact and the queue: a re-sent move carries the same token
    token = str(uuid.uuid5(uuid.NAMESPACE_URL, f"connect:{C3}:{Q1}"))
    aws.add("transfer_contact", {"ContactId": C3},
            {"InstanceId": INST, "ContactId": C3, "QueueId": Q1, "ContactFlowId": FLOW,
             "ClientToken": token})
    result = await source.move_contact(C3, Q1)
    assert result.ok and result.message == f"contact {C3} transferred to Sales"
    aws.done()
    voice = await source.move_contact(C1, Q3)
    assert voice.code == "channel_mismatch" and "only task and email" in voice.message
    ended = await source.move_contact(C2, Q1)  # a task in after-contact work
    assert ended.code == "not_waiting" and "has ended" in ended.message
    assert (await source.move_contact(C3, Q2)).code == "same_queue"
    assert (await source.move_contact(uid(0x888), Q1)).code == "unknown_contact"
    assert (await source.assign_contact(C3, U1)).code == "unsupported"


async def test_a_move_without_an_answer_is_not_confirmed(monkeypatch: pytest.MonkeyPatch,
                                                         aws: Stubbed, clock: Clock) -> None:
    from botocore.exceptions import ReadTimeoutError

    source = await polled(aws, clock)

    def lost(**_: Any) -> dict[str, Any]:
        raise ReadTimeoutError(endpoint_url="https://connect.eu-west-2.amazonaws.com")

    monkeypatch.setattr(aws.client, "transfer_contact", lost)
    result = await source.move_contact(C3, Q1)
    assert result.code == "not_confirmed" and "check the next snapshot" in result.message


def test_without_a_flow_moves_are_not_offered(aws: Stubbed, clock: Clock) -> None:
    source = make(aws, clock, transfer_flow_id=None, allow_profile_moves=False)
    assert Capability.REASSIGN_CONTACT not in source.capabilities
    assert Capability.MOVE_AGENTS not in source.capabilities


# -- settings, config and the probe ----------------------------------------------------


@pytest.mark.parametrize(("change", "message"), [
    ({"instance_arn": "arn:aws:connect:eu-west-2:123:instance/x"}, "instance ARN"),
    ({"access_key_id_env": "KEY"}, "go together"),
    ({"queues": ["sales"]}, "not queue ids"),
    ({"access_key_id_env": "AKIA SECRET", "secret_access_key_env": "S"}, "environment"),
    ({"queue_settings": {Q1: {"threshold_s": 5, "short_abandon_s": 10}}}, "short_abandon_s"),
])
def test_settings_refuse_nonsense(change: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        ConnectSettings(**{"instance_arn": ARN, **change})


def test_settings_read_the_arn() -> None:
    settings = ConnectSettings(instance_arn=ARN)
    assert (settings.region, settings.instance_id) == ("eu-west-2", INST)
    assert settings.make_budget() is not None and settings.make_budget().limit == 5  # type: ignore[union-attr]


def test_validating_a_connect_config_loads_no_sdk(tmp_path: Path) -> None:
    config = tmp_path / "c.toml"
    config.write_text(f'[sources.aws]\ntype = "connect"\ninstance_arn = "{ARN}"\n')
    code = ("import sys\nfrom supervisor_tui.config import load_config\n"
            f"c = load_config({str(config)!r}, required=True)\n"
            "assert c.sources['aws'].type == 'connect'\n"
            "import supervisor_tui.sources.connect as pkg\n"
            "assert pkg.ConnectSettings is type(c.sources['aws'])\n"
            "print(sorted({n.split('.')[0] for n in sys.modules} & {'boto3', 'botocore'}))")
    root = Path(__file__).resolve().parent.parent
    proc = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True,
                          text=True, timeout=60, check=True)
    assert proc.stdout.strip() == "[]"


def test_check_config_probe(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, clock: Clock,
                            aws: Stubbed, capsys: pytest.CaptureFixture[str]) -> None:
    from supervisor_tui.cli import main
    from supervisor_tui.sources.connect import source as module

    aws.any_time = True
    aws.first_poll()
    monkeypatch.setattr(module, "make_client", lambda name, settings: aws.client)
    config = tmp_path / "connect.toml"
    config.write_text(f'[sources.aws]\ntype = "connect"\ninstance_arn = "{ARN}"\n'
                      "max_requests = 1000\nmax_concurrency = 1\n"
                      f'[sources.aws.queue_settings."{Q2}"]\nchannel = "chat"\n'
                      "threshold_s = 60\nshort_abandon_s = 0\n")
    assert main(["check-config", "--probe", str(config)]) == 0
    out = capsys.readouterr().out
    assert "aws (connect)" in out and "aws: OK" in out
    assert "3 queues, 6 agents, 0 waiting" in out  # Connect lists no waiting contacts
    assert "agent_state" in out and "move_agents" in out
    aws.error("list_queues", "AccessDeniedException", "denied", 403)
    assert main(["check-config", "--probe", str(config)]) == 1
    out = capsys.readouterr().out
    assert "aws: FAILED" in out and "connect:ListQueues" in out and "Traceback" not in out


async def test_requests_are_paced_by_the_budget(monkeypatch: pytest.MonkeyPatch,
                                                aws: Stubbed, clock: Clock) -> None:
    import time

    sent: list[float] = []
    for op in ("get_current_metric_data", "get_metric_data_v2", "get_current_user_data",
               "list_routing_profile_queues"):
        original = getattr(aws.client, op)

        def timed(*args: Any, _original: Any = original, **kwargs: Any) -> Any:
            sent.append(time.monotonic())
            return _original(*args, **kwargs)

        monkeypatch.setattr(aws.client, op, timed)
    source = make(aws, clock, max_requests=3, budget_window_s=0.4)
    aws.first_poll()
    await source.snapshot()
    aws.done()
    assert len(sent) == 8
    # never more than 3 requests in any 0.4 s: the poll waited for room, it did not fail
    for n, start in enumerate(sent):
        assert sum(1 for t in sent[n:] if t - start < 0.35) <= 3  # thread start jitter
    assert sent[-1] - sent[0] >= 0.4


async def test_the_poller_merges_it_and_backs_off_when_throttled(aws: Stubbed,
                                                                  clock: Clock) -> None:
    from supervisor_tui.domain.model import HealthStatus
    from supervisor_tui.poller import Poller

    source = make(aws, clock)
    poller = Poller([source], interval_s=5)
    aws.first_poll()
    result = await poller.poll_once()
    assert result.snapshot is not None and result.fresh and not result.errors
    assert {q.id for q in result.snapshot.queues} == {Q1, Q2, Q3}
    assert result.health["connect"].status is HealthStatus.OK
    clock.advance(5)
    aws.error("get_current_metric_data", "ThrottlingException", "Rate exceeded", 429)
    result = await poller.poll_once()
    health = result.health["connect"]
    assert health.status is HealthStatus.DEGRADED
    assert health.last_error is not None and "throttled by Amazon Connect" in health.last_error
    # the last good data stays, to be shown as stale
    assert result.snapshot is not None and len(result.snapshot.agents) == 6
