"""The genesys source against a Genesys Cloud fake on respx (SaaS we cannot run here).

The fake plays both hosts of a region (``login.`` for OAuth, ``api.`` for the rest) in
the shapes of the platform SDKs' models: observation and aggregate query responses,
queue member listings, conversations with participants, emergency groups, and
Genesys' error body (``message``, ``code``, ``status``).
"""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest

from supervisor_tui.domain.intervals import IntervalPolicy
from supervisor_tui.domain.model import AgentStateKind, Channel
from supervisor_tui.poller import Poller
from supervisor_tui.sources.base import Capability, SourceError
from supervisor_tui.sources.genesys.documents import longest_wait_s
from supervisor_tui.sources.genesys.settings import GenesysSettings
from supervisor_tui.sources.genesys.source import GenesysSource
from supervisor_tui.sources.limits import RateLimited, RequestBudget
from tests.counting import count_problems

respx = pytest.importorskip("respx", reason="respx (a test dependency) is not installed")

API = "https://api.mypurecloud.ie"
LOGIN = "https://login.mypurecloud.ie"
POLICY = IntervalPolicy(minutes=30, tz="UTC")
NOW = datetime(2026, 11, 22, 10, 20, tzinfo=UTC)
ID_ENV = "SUPERVISOR_TUI_TEST_GENESYS_ID"
SECRET_ENV = "SUPERVISOR_TUI_TEST_GENESYS_SECRET"


def uid(n: int) -> str:
    return f"00000000-0000-4000-8000-{n:012x}"


Q1, Q2, Q3 = uid(0x101), uid(0x102), uid(0x103)
U1, U2, U3, U4, U5, U6, U7 = (uid(0x200 + n) for n in range(1, 8))
C1, C2, C3, C4, C5 = (uid(0x300 + n) for n in range(1, 6))
P1, P2, P3, P4, P5, P6 = (uid(0x400 + n) for n in range(1, 7))
GROUP = uid(0x501)

SETTINGS: dict[str, Any] = {
    "region": "mypurecloud.ie", "client_id_env": ID_ENV, "client_secret_env": SECRET_ENV,
    "queues": [Q1, Q2],
    "queue_settings": {
        Q1: {"threshold_s": 20, "short_abandon_s": 5},
        Q2: {"name": "Support", "channel": "chat", "media_types": ["message"],
             "sl_target": 0.9, "threshold_s": 60, "short_abandon_s": 0},
    },
    "emergency_group_id": GROUP,
}


def iso(when: datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%S.000Z")


def ago(seconds: float) -> datetime:
    return NOW - timedelta(seconds=seconds)


def epoch_ms(when: datetime) -> int:
    return int(when.timestamp() * 1000)


class Clock:
    def __init__(self, now: datetime = NOW) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


def genesys_error(status: int, code: str, message: str) -> httpx.Response:
    return httpx.Response(status, json={"message": message, "code": code, "status": status,
                                        "contextId": "ctx-1", "details": [], "errors": []})


def member(user: str, name: str, status: str, since: datetime, presence: str,
           modified: datetime, joined: bool = True) -> dict[str, Any]:
    return {
        "id": user, "name": name, "ringNumber": 1, "joined": joined, "memberBy": "user",
        "routingStatus": {"userId": user, "status": status, "startTime": iso(since)},
        "user": {"id": user, "name": name, "state": "active", "version": 4,
                 "presence": {"source": "PURECLOUD", "primary": True,
                              "modifiedDate": iso(modified),
                              "presenceDefinition": {"id": uid(0x900),
                                                     "systemPresence": presence}}},
        "selfUri": f"/api/v2/users/{user}",
    }


def waiting(conversation: str, since: datetime, name: str | None = None) -> dict[str, Any]:
    obs = {"observationDate": iso(since), "conversationId": conversation, "sessionId": uid(7),
           "routingPriority": 0, "direction": "inbound", "requestedRoutings": ["Standard"]}
    if name:
        obs["participantName"] = name
    return obs


def agg(metrics: dict[str, tuple[int, float]], views: dict[str, int]) -> dict[str, Any]:
    return {"interval": "x", "metrics": [
        {"metric": m, "stats": {"count": c, "sum": s, "max": 1, "min": 0}}
        for m, (c, s) in metrics.items()],
        "views": [{"name": n, "stats": {"count": c}} for n, c in views.items()]}


class FakeGenesys:
    """A Genesys Cloud org on respx."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.token_ttl = 86_400
        self.tokens_issued = 0
        self.valid_tokens: set[str] = set()
        self.refuse_all_tokens = False
        self.observations: list[dict[str, Any]] = []
        self.aggregates: dict[str, list[dict[str, Any]]] = {"interval": [], "day": []}
        self.members: dict[str, list[dict[str, Any]]] = {Q1: [], Q2: []}
        self.names = {Q1: "Sales", Q2: "Support in Genesys", Q3: "Billing"}
        self.conversations: dict[str, dict[str, Any]] = {}
        self.group = {"id": GROUP, "name": "Storm", "version": 3, "state": "active",
                      "enabled": False, "description": "floods",
                      "emergencyCallFlows": [{"emergencyFlow": {"id": uid(0x600)},
                                              "ivrs": [{"id": uid(0x601)}]}],
                      "selfUri": f"/api/v2/architect/emergencygroups/{GROUP}"}
        #: (kind, data) -> data, to spoil an answer
        self.mangle: Callable[[str, Any], Any] | None = None
        #: answer a request ourselves before the fake does
        self.override: Callable[[httpx.Request], httpx.Response | None] | None = None
        self.router = respx.Router(assert_all_called=False)
        self.router.route().mock(side_effect=self.handle)

    @property
    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.router.async_handler)

    @property
    def calls(self) -> list[Any]:
        return list(self.router.calls)

    def requests(self, path: str | None = None, method: str | None = None
                 ) -> list[httpx.Request]:
        """Requests to the API host (to the login host: path="/oauth/token")."""
        host = "login.mypurecloud.ie" if path == "/oauth/token" else "api.mypurecloud.ie"
        return [c.request for c in self.router.calls
                if c.request.url.host == host
                and (path is None or c.request.url.path == path)
                and (method is None or c.request.method == method)]

    def bodies(self, path: str) -> list[Any]:
        return [json.loads(r.content) for r in self.requests(path)]

    def revoke(self) -> None:
        self.valid_tokens.clear()

    def _answer(self, kind: str, data: Any, status: int = 200) -> httpx.Response:
        if self.mangle is not None:
            data = self.mangle(kind, data)
        return httpx.Response(status, json=data)

    def handle(self, request: httpx.Request) -> httpx.Response:
        if self.override is not None:
            answer = self.override(request)
            if answer is not None:
                return answer
        if request.url.host == "login.mypurecloud.ie":
            return self.token(request)
        auth = request.headers.get("Authorization", "")
        if self.refuse_all_tokens or auth.removeprefix("Bearer ") not in self.valid_tokens:
            return genesys_error(401, "authentication.required", "Invalid login credentials.")
        path, method = request.url.path, request.method
        if path == "/api/v2/analytics/queues/observations/query":
            return self._answer("observations", {"results": json.loads(json.dumps(
                self.observations))})
        if path == "/api/v2/analytics/conversations/aggregates/query":
            body = json.loads(request.content)
            start = datetime.fromisoformat(body["interval"].split("/")[0])
            kind = "day" if start == POLICY.day_start(self.clock.now) else "interval"
            results = json.loads(json.dumps(self.aggregates[kind]))
            return self._answer(kind, {"results": results} if results else {})
        if path == "/api/v2/routing/queues" and method == "GET":
            ids = parse_qs(request.url.query.decode()).get("id", [])
            return self._answer("queues", {"entities": [
                {"id": q, "name": self.names[q]} for q in ids if q in self.names],
                "pageSize": 100, "pageNumber": 1, "total": len(ids)})
        for qid in (Q1, Q2, Q3):
            if path == f"/api/v2/routing/queues/{qid}/members":
                return self.queue_members(request, qid)
        if path.startswith("/api/v2/conversations/"):
            return self.conversation(request)
        if path == f"/api/v2/architect/emergencygroups/{GROUP}":
            if method == "GET":
                return self._answer("group", dict(self.group))
            body = json.loads(request.content)
            if body.get("version") != self.group["version"]:
                return genesys_error(409, "conflict", "Version mismatch")
            self.group = {**body, "version": self.group["version"] + 1}
            return self._answer("group", dict(self.group))
        return genesys_error(404, "not.found", "The requested resource was not found.")

    def token(self, request: httpx.Request) -> httpx.Response:
        expected = base64.b64encode(b"client-id-1:client-secret-1").decode()
        if request.headers.get("Authorization") != f"Basic {expected}" or \
                parse_qs(request.content.decode()) != {"grant_type": ["client_credentials"]}:
            return httpx.Response(401, json={"error": "invalid_client",
                                             "description": "client not found"})
        self.tokens_issued += 1
        token = f"tok-{self.tokens_issued}-abcdefgh"
        self.valid_tokens.add(token)
        return self._answer("token", {"access_token": token, "token_type": "bearer",
                                      "expires_in": self.token_ttl})

    def queue_members(self, request: httpx.Request, qid: str) -> httpx.Response:
        if request.method == "POST":
            return httpx.Response(204)
        query = parse_qs(request.url.query.decode())
        size, number = int(query["pageSize"][0]), int(query["pageNumber"][0])
        everyone = self.members.get(qid, [])
        chunk = everyone[(number - 1) * size:number * size]
        more = number * size < len(everyone)
        data = {"entities": chunk, "pageSize": size, "pageNumber": number,
                "firstUri": "x", "selfUri": "x"}
        if more:
            data["nextUri"] = (f"/api/v2/routing/queues/{qid}/members?pageSize={size}"
                               f"&pageNumber={number + 1}")
        return self._answer("members", data)

    def conversation(self, request: httpx.Request) -> httpx.Response:
        parts = request.url.path.split("/")
        cid = parts[4]
        if cid not in self.conversations:
            return genesys_error(404, "not.found", "Conversation not found")
        if request.method == "GET":
            return self._answer("conversation", self.conversations[cid])
        return httpx.Response(202)


def participant(pid: str, purpose: str, state: str, ended: bool = False, **extra: Any
                ) -> dict[str, Any]:
    doc = {"id": pid, "purpose": purpose, "startTime": iso(ago(100)),
           "calls": [{"id": uid(0x700), "state": state, "direction": "inbound"}], **extra}
    if ended:
        doc["endTime"] = iso(ago(50))
    return doc


def centre(fake: FakeGenesys) -> None:
    """Two queues, worked by hand in test_snapshot_mapping."""
    fake.observations = [
        {"group": {"queueId": Q1}, "data": [
            {"metric": "oOnQueueUsers", "qualifier": "IDLE", "stats": {"count": 1}},
            {"metric": "oOnQueueUsers", "qualifier": "INTERACTING", "stats": {"count": 3}},
            {"metric": "oOffQueueUsers", "stats": {"count": 2}}]},
        {"group": {"queueId": Q1, "mediaType": "voice"}, "data": [
            {"metric": "oWaiting", "stats": {"count": 2}, "truncated": False,
             "observations": [waiting(C1, ago(95), "Mia Caller"), waiting(C2, ago(10))]},
            {"metric": "oInteracting", "stats": {"count": 3}},
            {"metric": "oLongestWaiting",
             "stats": {"count": 2, "calculatedMetricValue": epoch_ms(ago(95))}}]},
        {"group": {"queueId": Q1, "mediaType": "callback"}, "data": [
            {"metric": "oWaiting", "stats": {"count": 1},
             "observations": [waiting(C3, ago(30))]},
            {"metric": "oInteracting", "stats": {"count": 0}},
            {"metric": "oLongestWaiting",
             "stats": {"count": 1, "calculatedMetricValue": epoch_ms(ago(30))}}]},
        {"group": {"queueId": Q2}, "data": [
            {"metric": "oOnQueueUsers", "stats": {"count": 2}},
            {"metric": "oOffQueueUsers", "stats": {"count": 0}}]},
        {"group": {"queueId": Q2, "mediaType": "message"}, "data": [
            {"metric": "oWaiting", "stats": {"count": 1},
             "observations": [waiting(C4, ago(200), "\x1b[31mEve\x1b[0m")]},
            {"metric": "oInteracting", "stats": {"count": 1}},
            {"metric": "oLongestWaiting",
             "stats": {"count": 1, "calculatedMetricValue": epoch_ms(ago(200))}}]},
        # Not counted: Q2 counts messages only.
        {"group": {"queueId": Q2, "mediaType": "email"}, "data": [
            {"metric": "oWaiting", "stats": {"count": 5},
             "observations": [waiting(C5, ago(5000))]},
            {"metric": "oLongestWaiting",
             "stats": {"count": 5, "calculatedMetricValue": epoch_ms(ago(5000))}}]},
    ]
    fake.aggregates["interval"] = [
        {"group": {"queueId": Q1, "mediaType": "voice"}, "data": [agg(
            # nOffered counts arrivals (Genesys attributes it to the interval entered):
            # not read. Offered = answered 25 + abandoned 4 + flowed out 2.
            {"nOffered": (30, 0), "tAnswered": (25, 250_000), "tAbandon": (4, 120_000),
             "tFlowOut": (2, 80_000), "tHandle": (24, 7_200_000)},
            {"tAnsweredBelow20s": 20, "tAbandonFrom20s": 3, "tAbandonBelow5s": 1,
             "tAnsweredBelow60s": 24, "tAbandonFrom60s": 1})]},
        {"group": {"queueId": Q1, "mediaType": "callback"}, "data": [agg(
            {"nOffered": (2, 0), "tAnswered": (2, 40_000)}, {"tAnsweredBelow20s": 1})]},
        {"group": {"queueId": Q2, "mediaType": "message"}, "data": [agg(
            {"nOffered": (10, 0), "tAnswered": (9, 180_000), "tAbandon": (1, 90_000),
             "tHandle": (8, 2_400_000)},
            {"tAnsweredBelow60s": 8, "tAbandonFrom60s": 1, "tAnsweredBelow20s": 5,
             "tAbandonFrom20s": 1})]},
        {"group": {"queueId": Q2, "mediaType": "email"}, "data": [agg(
            {"nOffered": (50, 0)}, {})]},
    ]
    fake.aggregates["day"] = [
        {"group": {"queueId": Q1, "mediaType": "voice"}, "data": [agg(
            {"nOffered": (400, 0), "tAnswered": (380, 3_800_000), "tFlowOut": (12, 0)},
            {"tAnsweredBelow20s": 300})]},
    ]
    fake.members[Q1] = [
        member(U1, "Ann", "IDLE", ago(300), "ON_QUEUE", ago(300)),
        member(U2, "Bob", "INTERACTING", ago(60), "ON_QUEUE", ago(400)),
        member(U3, "Cy", "OFF_QUEUE", ago(3600), "BREAK", ago(600)),
        member(U4, "Di", "OFF_QUEUE", ago(9000), "OFFLINE", ago(7200)),
        member(U5, "Ed", "NOT_RESPONDING", ago(20), "ON_QUEUE", ago(500)),
        member(U6, "Flo", "OFF_QUEUE", ago(100), "AVAILABLE", ago(900)),
    ]
    fake.members[Q2] = [
        member(U1, "Ann", "IDLE", ago(300), "ON_QUEUE", ago(300)),
        member(U7, "Gus", "IDLE", ago(50), "ON_QUEUE", ago(50), joined=False),
    ]
    fake.conversations[C1] = {"id": C1, "startTime": iso(ago(120)), "participants": [
        participant(P1, "customer", "connected", name="Mia Caller"),
        participant(P2, "ivr", "disconnected", ended=True),
        participant(P3, "acd", "connected", queueId=Q1, name="Sales")]}
    fake.conversations[C2] = {"id": C2, "startTime": iso(ago(120)), "participants": [
        participant(P4, "customer", "connected"),
        participant(P5, "acd", "disconnected", ended=True, queueId=Q1),
        participant(P6, "agent", "connected", userId=U2, name="Bob")]}


@pytest.fixture(autouse=True)
def secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ID_ENV, "client-id-1")
    monkeypatch.setenv(SECRET_ENV, "client-secret-1")


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def fake(clock: Clock) -> FakeGenesys:
    f = FakeGenesys(clock)
    centre(f)
    return f


Make = Callable[..., GenesysSource]


@pytest.fixture
async def make(fake: FakeGenesys, clock: Clock) -> AsyncIterator[Make]:
    made: list[GenesysSource] = []

    def build(**overrides: Any) -> GenesysSource:
        settings = GenesysSettings(**{**SETTINGS, **overrides})
        source = GenesysSource("genesys", POLICY, settings, transport=fake.transport,
                               clock=clock)
        made.append(source)
        return source

    yield build
    for source in made:
        await source.close()


async def poll_counted(source: GenesysSource, fake: FakeGenesys) -> tuple[int, int, Any]:
    cost = source.poll_cost()
    before = len(fake.calls)
    snap = await source.snapshot()
    return cost, len(fake.calls) - before, snap


def one_line(err: BaseException) -> str:
    text = str(err)
    assert text and "\n" not in text and "Traceback" not in text
    return text


# -- mapping ---------------------------------------------------------------------------


async def test_snapshot_mapping(make: Make, fake: FakeGenesys) -> None:
    source = make()
    snap = await source.snapshot()
    q1, q2 = snap.queues
    assert (q1.id, q1.name, q1.channel, q1.threshold_s) == (Q1, "Sales", Channel.VOICE, 20)
    assert (q2.id, q2.name, q2.channel, q2.sl_target) == (Q2, "Support", Channel.CHAT, 0.9)
    # Live: Q1 voice 2 + callback 1 waiting; users counted once per queue (1 + 3 on queue).
    live = source.live
    assert (live[Q1].waiting, live[Q1].interacting, live[Q1].on_queue_users,
            live[Q1].off_queue_users) == (3, 3, 4, 2)
    assert live[Q1].longest_wait_s == pytest.approx(95)
    assert (live[Q2].waiting, live[Q2].interacting, live[Q2].on_queue_users) == (1, 1, 2)
    assert live[Q2].longest_wait_s == pytest.approx(200)  # the email group is not counted
    contacts = {c.id: c for c in snap.contacts}
    assert set(contacts) == {C1, C2, C3, C4}
    assert (contacts[C1].queue_id, contacts[C1].channel, contacts[C1].entered_at,
            contacts[C1].customer) == (Q1, Channel.VOICE, ago(95), "Mia Caller")
    assert contacts[C3].channel == Channel.VOICE  # a callback is a voice contact
    assert (contacts[C4].channel, contacts[C4].customer) == (Channel.CHAT, "Eve")
    # Interval counters, by hand: Q1 = voice + callback groups.
    s1 = snap.interval_stats[Q1]
    assert (s1.offered, s1.answered, s1.answered_within_threshold, s1.abandoned,
            s1.abandoned_after_threshold, s1.abandoned_short) == (33, 27, 21, 4, 3, 1)
    assert s1.flowed_out == 2
    assert (s1.wait_answered_s, s1.handled, s1.handle_s) == (290.0, 24, 7200.0)
    assert s1.window_start == datetime(2026, 11, 22, 10, 0, tzinfo=UTC)
    s2 = snap.interval_stats[Q2]  # T = 60 s, no short abandons, email not counted
    assert (s2.offered, s2.answered, s2.answered_within_threshold, s2.abandoned,
            s2.abandoned_after_threshold, s2.abandoned_short) == (10, 9, 8, 1, 1, 0)
    assert (s2.wait_answered_s, s2.handled, s2.handle_s) == (180.0, 8, 2400.0)
    d1, d2 = snap.day_stats[Q1], snap.day_stats[Q2]
    assert (d1.offered, d1.answered, d1.answered_within_threshold) == (392, 380, 300)
    assert d1.flowed_out == 12
    assert d1.window_start == datetime(2026, 11, 22, tzinfo=UTC)
    assert (d2.offered, d2.answered) == (0, 0)
    # Agents: routing status, else presence; since = routingStatus.startTime.
    agents = {a.name: a for a in snap.agents}
    assert {n: (a.state.kind, a.state.reason, a.state.since) for n, a in agents.items()} == {
        "Ann": (AgentStateKind.AVAILABLE, None, ago(300)),
        "Bob": (AgentStateKind.ON_CONTACT, None, ago(60)),
        "Cy": (AgentStateKind.AWAY, "break", ago(600)),  # presence changed after going off
        "Di": (AgentStateKind.OFFLINE, None, ago(7200)),
        "Ed": (AgentStateKind.AWAY, "not responding", ago(20)),
        "Flo": (AgentStateKind.AWAY, "off queue", ago(100)),
        "Gus": (AgentStateKind.AVAILABLE, None, ago(50)),
    }
    assert agents["Ann"].skills == (Q1, Q2) and agents["Ann"].id == U1
    assert agents["Gus"].skills == ()  # a member that has not joined gets no contacts
    assert agents["Bob"].skills == (Q1,)
    assert source.notes == ()


async def test_request_bodies(make: Make, fake: FakeGenesys) -> None:
    await make().snapshot()
    (obs,) = fake.bodies("/api/v2/analytics/queues/observations/query")
    assert obs["metrics"] == ["oWaiting", "oInteracting", "oLongestWaiting", "oOnQueueUsers",
                              "oOffQueueUsers"]
    assert obs["detailMetrics"] == ["oWaiting"]
    assert [p["value"] for p in obs["filter"]["predicates"]] == [Q1, Q2]
    assert {p["dimension"] for p in obs["filter"]["predicates"]} == {"queueId"}
    interval, day = sorted(fake.bodies("/api/v2/analytics/conversations/aggregates/query"),
                           key=lambda b: b["interval"], reverse=True)
    assert interval["interval"] == "2026-11-22T10:00:00.000Z/2026-11-22T10:20:00.000Z"
    assert day["interval"] == "2026-11-22T00:00:00.000Z/2026-11-22T10:20:00.000Z"
    assert interval["groupBy"] == ["queueId", "mediaType"]
    assert interval["metrics"] == ["tAnswered", "tAbandon", "tFlowOut", "tHandle"]
    assert {(v["name"], v["target"], json.dumps(v["range"])) for v in interval["views"]} == {
        ("tAnsweredBelow20s", "tAnswered", '{"lt": 20000}'),
        ("tAbandonFrom20s", "tAbandon", '{"gte": 20000}'),
        ("tAnsweredBelow60s", "tAnswered", '{"lt": 60000}'),
        ("tAbandonFrom60s", "tAbandon", '{"gte": 60000}'),
        ("tAbandonBelow5s", "tAbandon", '{"lt": 5000}'),
    }
    assert all(v["function"] == "rangeBound" for v in interval["views"])
    (names,) = fake.requests("/api/v2/routing/queues")
    assert parse_qs(names.url.query.decode())["id"] == [Q1]  # Q2 is named in settings
    members = fake.requests(f"/api/v2/routing/queues/{Q1}/members")[0]
    query = parse_qs(members.url.query.decode())
    assert query["expand"] == ["routingStatus", "presence"]
    assert (query["pageSize"], query["pageNumber"]) == (["100"], ["1"])


@pytest.mark.parametrize("value", [epoch_ms(ago(95)), 95_000])
async def test_longest_waiting_epoch_or_duration(make: Make, fake: FakeGenesys,
                                                 value: int) -> None:
    fake.observations[1]["data"][2]["stats"]["calculatedMetricValue"] = value
    source = make()
    await source.snapshot()
    assert source.live[Q1].longest_wait_s == pytest.approx(95)


def test_longest_wait_reading() -> None:
    assert longest_wait_s(epoch_ms(ago(61)), NOW) == pytest.approx(61)
    assert longest_wait_s(61_000, NOW) == 61
    # 1e11 ms as a duration would be three years: it is a timestamp (1973).
    assert longest_wait_s(1e11, NOW) > 1e9


async def test_truncated_waiting_list_is_said(make: Make, fake: FakeGenesys) -> None:
    item = fake.observations[1]["data"][0]
    item["stats"]["count"], item["truncated"] = 40, True
    source = make()
    snap = await source.snapshot()
    assert source.live[Q1].waiting == 41
    assert len([c for c in snap.contacts if c.queue_id == Q1]) == 3
    assert any("listed in part" in n and "Sales 3 of 41" in n for n in source.notes)


async def test_garbage_observations_are_dropped_and_said(make: Make,
                                                         fake: FakeGenesys) -> None:
    fake.observations[1]["data"][0]["observations"].append(
        {"observationDate": "yesterday", "conversationId": uid(0x3ff)})
    fake.observations[1]["data"][0]["observations"].append(
        {"observationDate": iso(ago(10)), "conversationId": "../../users"})
    source = make()
    snap = await source.snapshot()
    assert {c.id for c in snap.contacts} == {C1, C2, C3, C4}
    assert any("dropped 2 unreadable waiting conversation(s)" in n for n in source.notes)


# -- auth ------------------------------------------------------------------------------


async def test_token_by_client_credentials_cached_until_expiry(
        make: Make, fake: FakeGenesys, clock: Clock) -> None:
    fake.token_ttl = 600
    source = make()
    for _ in range(3):
        await source.snapshot()
        clock.advance(5)
    assert fake.tokens_issued == 1
    (token_request,) = fake.requests("/oauth/token")
    assert token_request.url.host == "login.mypurecloud.ie" and token_request.method == "POST"
    api = [r for r in fake.requests() if r.url.host == "api.mypurecloud.ie"]
    assert {r.headers["Authorization"] for r in api} == {"Bearer tok-1-abcdefgh"}
    # Renewed a minute before it expires (600 s), and planned in the poll's cost.
    clock.now = NOW + timedelta(seconds=541)
    cost, sent, _ = await poll_counted(source, fake)
    assert fake.tokens_issued == 2 and cost == sent


async def test_401_gets_one_new_token_and_a_retry(make: Make, fake: FakeGenesys) -> None:
    source = make()
    await source.snapshot()
    fake.revoke()  # e.g. the token was revoked in the admin UI
    snap = await source.snapshot()
    assert fake.tokens_issued == 2 and len(snap.queues) == 2
    assert all(r.headers["Authorization"] == "Bearer tok-2-abcdefgh"
               for r in fake.requests()[-3:])


async def test_401_after_a_new_token_is_a_clear_error(make: Make, fake: FakeGenesys) -> None:
    source = make()
    fake.refuse_all_tokens = True
    with pytest.raises(SourceError) as caught:
        await source.snapshot()
    assert "even with a new token" in one_line(caught.value)
    assert fake.tokens_issued == 2  # refreshed once, not in a loop


async def test_a_refused_replacement_is_retried_a_minute_later(
        make: Make, fake: FakeGenesys, clock: Clock) -> None:
    source = make()
    await source.snapshot()
    fake.revoke()
    await source.snapshot()  # tok-1 refused: tok-2
    fake.revoke()  # tok-2 refused within the minute: no third token for this poll
    with pytest.raises(SourceError):
        await source.snapshot()
    assert fake.tokens_issued == 2
    clock.advance(61)
    snap = await source.snapshot()  # not stuck with a dead token until it expires
    assert fake.tokens_issued == 3 and len(snap.agents) == 7


async def test_refused_client_credentials(make: Make, fake: FakeGenesys,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(SECRET_ENV, "wrong-secret")
    with pytest.raises(SourceError) as caught:
        await make().snapshot()
    text = one_line(caught.value)
    assert "OAuth token refused (HTTP 401: invalid_client" in text
    assert "wrong-secret" not in text


def test_missing_secret_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(SECRET_ENV)
    with pytest.raises(SourceError) as caught:
        GenesysSource("genesys", POLICY, GenesysSettings(**SETTINGS))
    assert SECRET_ENV in one_line(caught.value)


# -- cost, paging and budget ---------------------------------------------------------------


async def test_poll_cost_equals_requests_sent(make: Make, fake: FakeGenesys,
                                              clock: Clock) -> None:
    source = make()
    # token + observations + members of 2 queues + interval + day + names of Q1
    cost, sent, _ = await poll_counted(source, fake)
    assert (cost, sent) == (7, 7)
    clock.advance(2)
    assert (await poll_counted(source, fake))[:2] == (3, 3)  # observations + members
    clock.advance(15)
    assert (await poll_counted(source, fake))[:2] == (4, 4)  # + interval counters
    clock.advance(300)
    assert (await poll_counted(source, fake))[:2] == (5, 5)  # + day counters
    assert source.last_poll_requests == 5


async def test_member_paging(make: Make, fake: FakeGenesys, clock: Clock) -> None:
    fake.members[Q1] = [member(uid(0x10000 + i), f"Agent {i:03d}", "IDLE", ago(60),
                               "ON_QUEUE", ago(60)) for i in range(150)]
    source = make()
    cost, sent, snap = await poll_counted(source, fake)
    assert (cost, sent) == (7, 8)  # page count unknown before the first listing
    assert len({a.id for a in snap.agents}) == 152  # and Ann and Gus of Q2
    pages = fake.requests(f"/api/v2/routing/queues/{Q1}/members")
    assert [parse_qs(r.url.query.decode())["pageNumber"] for r in pages] == [["1"], ["2"]]
    clock.advance(2)
    assert (await poll_counted(source, fake))[:2] == (4, 4)  # exact from now on


async def test_members_refresh_period(make: Make, fake: FakeGenesys, clock: Clock) -> None:
    source = make(members_refresh_s=30)
    await source.snapshot()
    clock.advance(5)
    cost, sent, snap = await poll_counted(source, fake)
    assert (cost, sent) == (1, 1)
    assert len(snap.agents) == 7  # from the last listing


async def test_poller_never_exceeds_the_budget(make: Make, fake: FakeGenesys,
                                               clock: Clock) -> None:
    ticks = [0.0]
    source = make()
    source._client.budget = source._auth.login.budget = RequestBudget(
        9, 60.0, monotonic=lambda: ticks[0])
    poller = Poller([source], interval_s=0.01, timeout_s=5)
    sent = []
    for _ in range(4):
        before = len(fake.calls)
        result = await poller.poll_once()
        assert result.errors == ()
        sent.append(len(fake.calls) - before)
        ticks[0] += 1
        clock.advance(1)
    assert sent == [7, 0, 0, 0]  # 2 left in the window: a 3-request poll waits
    ticks[0] += 60
    result = await poller.poll_once()
    assert result.errors == () and len(fake.calls) == 10
    assert source.request_stats.rate_limited == 0


async def test_optional_reads_wait_for_budget_room(make: Make, fake: FakeGenesys) -> None:
    source = make()
    source._client.budget = source._auth.login.budget = RequestBudget(
        6, 60.0, monotonic=lambda: 0.0)
    cost, sent, snap = await poll_counted(source, fake)
    assert (cost, sent) == (6, 6)  # token, observations, 2 member lists, interval, day
    assert "queue names not refreshed: no room in the request budget" in source.notes
    assert snap.queues[0].name == Q1  # the id stands in for the name


async def test_429_raises_rate_limited_with_retry_after(make: Make, fake: FakeGenesys) -> None:
    fake.override = lambda r: (httpx.Response(429, headers={"Retry-After": "12"})
                               if r.url.path.endswith("observations/query") else None)
    with pytest.raises(RateLimited) as caught:
        await make().snapshot()
    assert caught.value.retry_after == 12.0


# -- garbage in ----------------------------------------------------------------------------


@pytest.mark.parametrize(("status", "body", "expected"), [
    (502, "<html><head><title>502 Bad Gateway</title></head></html>", "Bad Gateway"),
    (200, "<html><title>Down for maintenance</title></html>", "not JSON"),
    (200, '{"message": "Invalid query: too many predicates", "code": "bad.request", '
          '"status": 400}', "Genesys answered with an error: Invalid query"),
    (200, '{"results": "none"}', "results"),
])
async def test_junk_answers_are_one_line_errors(make: Make, fake: FakeGenesys, status: int,
                                                body: str, expected: str) -> None:
    fake.override = lambda r: (httpx.Response(status, text=body,
                                              headers={"content-type": "text/html"})
                               if r.url.path.endswith("observations/query") else None)
    with pytest.raises(SourceError) as caught:
        await make().snapshot()
    assert expected in one_line(caught.value)


def obs_stats(group: int, item: int, **change: Any) -> Callable[[str, Any], Any]:
    def apply(kind: str, data: Any) -> Any:
        if kind == "observations":
            data["results"][group]["data"][item]["stats"].update(change)
        return data
    return apply


def agg_view(name: str, count: Any) -> Callable[[str, Any], Any]:
    def apply(kind: str, data: Any) -> Any:
        if kind == "interval":
            for view in data["results"][0]["data"][0]["views"]:
                if view["name"] == name:
                    view["stats"]["count"] = count
        return data
    return apply


def drop_group(index: int) -> Callable[[str, Any], Any]:
    def apply(kind: str, data: Any) -> Any:
        if kind == "observations":
            data["results"] = [g for g in data["results"]
                               if g["group"]["queueId"] != [Q1, Q2][index]]
        return data
    return apply


def spoil_members(change: Callable[[dict[str, Any]], Any]) -> Callable[[str, Any], Any]:
    def apply(kind: str, data: Any) -> Any:
        if kind == "members":
            change(data)
        return data
    return apply


@pytest.mark.parametrize(("mangle", "expected"), [
    (obs_stats(1, 0, count=-3), "negative count -3"),
    (obs_stats(1, 0, count="many"), "not a count"),
    (obs_stats(1, 0, count=True), "true/false"),
    (obs_stats(1, 2, calculatedMetricValue=3e9), "which is absurd"),  # 34 days as ms
    (obs_stats(1, 2, calculatedMetricValue=epoch_ms(NOW + timedelta(hours=1))),
     "in the future"),
    (obs_stats(1, 2, calculatedMetricValue=-5), "not a duration"),
    (agg_view("tAnsweredBelow20s", -1), "negative count"),
    (spoil_members(lambda d: d.update(entities="none")), "'entities' is not a list"),
    (spoil_members(lambda d: d.update(pageNumber=7)), "asked for page 1, got 7"),
])
async def test_garbage_rejects_the_poll(make: Make, fake: FakeGenesys,
                                        mangle: Callable[[str, Any], Any],
                                        expected: str) -> None:
    fake.mangle = mangle
    with pytest.raises(SourceError) as caught:
        await make().snapshot()
    assert expected in one_line(caught.value)


async def test_a_queue_without_observations_has_unknown_live_counts(
        make: Make, fake: FakeGenesys) -> None:
    """The schema promises no group per queue: a missing one is said, its live counts
    are unknown (not zero waiting), and the rest of the poll stands."""
    fake.mangle = drop_group(1)
    source = make()
    snap = await source.snapshot()
    assert Q1 in snap.queue_live and Q2 not in snap.queue_live
    assert {q.id for q in snap.queues} == {Q1, Q2} and Q2 in snap.interval_stats
    assert any(n.startswith("no observations for 1 of 2 queue(s) (Support...)")
               for n in source.notes), source.notes


@pytest.mark.parametrize(("mangle", "expected"), [
    (agg_view("tAnsweredBelow20s", 27), "answered within threshold 28 exceeds answered 27"),
    (agg_view("tAbandonFrom20s", 9), "1 short + 9 abandons after 20 s of 4 abandoned"),
    (agg_view("tAbandonBelow5s", 5), "5 short + 3 abandons after 20 s of 4 abandoned"),
])
async def test_impossible_counters_reject_only_that_queue(
        make: Make, fake: FakeGenesys, mangle: Callable[[str, Any], Any],
        expected: str) -> None:
    """Views count subsets of their metric: more cannot be true. The queue's interval
    shows no figures and the poll says why; the other queue, the day and the live data
    stand."""
    fake.mangle = mangle
    source = make()
    snap = await source.snapshot()
    assert Q1 not in snap.interval_stats and Q2 in snap.interval_stats
    assert Q1 in snap.day_stats
    assert len(snap.contacts) == 4
    assert source.notes[0] == f"interval counters of Sales rejected ({expected}); shown as no data"
    assert count_problems(snap) == []
    result = await Poller([make()]).poll_once()
    assert result.health["genesys"].notes[0] == source.notes[0]


async def test_counts_add_up_in_every_window(make: Make, fake: FakeGenesys) -> None:
    snap = await make().snapshot()
    assert set(snap.interval_stats) == set(snap.day_stats) == {Q1, Q2}
    assert count_problems(snap) == []


async def test_arrivals_are_not_offered(make: Make, fake: FakeGenesys) -> None:
    """nOffered (arrivals this interval) larger or smaller than what left the queue
    changes nothing: 28 arrived, 31 left (some had arrived in the previous interval)."""
    fake.aggregates["interval"][0]["data"][0]["metrics"][0]["stats"]["count"] = 28
    snap = await make().snapshot()
    assert snap.interval_stats[Q1].offered == 33
    assert count_problems(snap) == []


async def test_200_error_body_from_members(make: Make, fake: FakeGenesys) -> None:
    fake.mangle = spoil_members(lambda d: (d.clear(), d.update(
        message="Queue not found", code="not.found")))
    with pytest.raises(SourceError) as caught:
        await make().snapshot()
    assert "Genesys answered with an error: Queue not found" in one_line(caught.value)


async def test_garbage_members_are_dropped_and_said(make: Make, fake: FakeGenesys) -> None:
    fake.members[Q1][2]["routingStatus"]["startTime"] = iso(NOW + timedelta(hours=2))
    fake.members[Q1][3]["id"] = "not-a-uuid"
    source = make()
    snap = await source.snapshot()
    assert {a.name for a in snap.agents} == {"Ann", "Bob", "Ed", "Flo", "Gus"}
    assert any("dropped 2 unreadable member record(s)" in n for n in source.notes)


async def test_a_failed_poll_keeps_the_last_good_data(make: Make, fake: FakeGenesys) -> None:
    source = make()
    poller = Poller([source], interval_s=0.01, timeout_s=5)
    good = await poller.poll_once()
    fake.mangle = obs_stats(1, 0, count=-1)
    bad = await poller.poll_once()
    assert bad.errors and "negative count" in bad.errors[0]
    assert bad.snapshot is not None and bad.snapshot.contacts == good.snapshot.contacts


# -- actions ---------------------------------------------------------------------------


async def test_move_contact_blind_transfers_the_acd_participant(make: Make,
                                                                fake: FakeGenesys) -> None:
    source = make()
    result = await source.move_contact(C1, Q2)
    assert (result.ok, result.code) == (True, "ok"), result.message
    assert "Support" in result.message
    (post,) = fake.requests(method="POST")
    assert post.url.path == f"/api/v2/conversations/{C1}/participants/{P3}/replace/queue"
    assert json.loads(post.content) == {"queueId": Q2}


async def test_assign_contact_transfers_to_the_agent(make: Make, fake: FakeGenesys) -> None:
    source = make()
    result = await source.assign_contact(C1, U6)
    assert result.ok, result.message
    (post,) = fake.requests(method="POST")
    assert post.url.path == f"/api/v2/conversations/{C1}/participants/{P3}/replace/agent"
    assert json.loads(post.content) == {"userId": U6}


async def test_move_contact_races_and_refusals(make: Make, fake: FakeGenesys) -> None:
    source = make()
    answered = await source.move_contact(C2, Q2)
    assert (answered.ok, answered.code) == (False, "not_waiting")
    assert "already answered by Bob" in answered.message
    same = await source.move_contact(C1, Q1)
    assert (same.ok, same.code) == (False, "same_queue")
    gone = await source.move_contact(uid(0x3aa), Q2)
    assert (gone.ok, gone.code) == (False, "not_found")
    assert fake.requests(method="POST") == []
    # Answered between our look and our transfer: Genesys says 400.
    fake.override = lambda r: (genesys_error(400, "conversation.error.participant.state",
                                             "Participant is not in a valid state")
                               if r.method == "POST" and r.url.host.startswith("api.")
                               else None)
    raced = await source.move_contact(C1, Q2)
    assert (raced.ok, raced.code) == (False, "not_waiting")
    assert "Participant is not in a valid state" in raced.message
    assert "\n" not in raced.message


async def test_move_contact_when_the_answer_is_lost(make: Make, fake: FakeGenesys) -> None:
    source = make()
    fake.override = lambda r: (httpx.Response(503, text="<html><title>Unavailable</title>")
                               if r.method == "POST" and r.url.host.startswith("api.")
                               else None)
    result = await source.move_contact(C1, Q2)
    assert (result.ok, result.code) == (False, "not_confirmed")
    assert "check the next snapshot" in result.message
    assert len(fake.requests(method="POST")) == 1  # never sent twice


async def test_actions_refuse_bad_input_without_a_request(make: Make,
                                                          fake: FakeGenesys) -> None:
    source = make()
    assert (await source.move_contact("../../users", Q2)).code == "unknown_contact"
    assert (await source.move_contact(C1, Q3)).code == "unknown_queue"
    assert (await source.assign_contact(C1, "bob")).code == "unknown_agent"
    assert (await source.set_agent_skills("x", [Q1])).code == "unknown_agent"
    assert (await source.set_agent_skills(U3, [Q3])).code == "unknown_queue"
    assert (await source.set_emergency(uid(0x999), True)).code == "refused"
    assert fake.calls == []


async def test_set_agent_skills_adds_and_removes_members(make: Make,
                                                         fake: FakeGenesys) -> None:
    source = make()
    early = await source.set_agent_skills(U3, [Q2])
    assert (early.ok, early.code) == (False, "not_ready")
    snap = await source.snapshot()
    before = len(fake.calls)
    result = await source.set_agent_skills(U3, [Q2])
    assert result.ok, result.message
    assert result.message == "added to Support; removed from Sales"
    add, remove = fake.requests(method="POST")[-2:]
    assert add.url.path == f"/api/v2/routing/queues/{Q2}/members" and not add.url.query
    assert remove.url.path == f"/api/v2/routing/queues/{Q1}/members"
    assert parse_qs(remove.url.query.decode()) == {"delete": ["true"]}
    assert json.loads(add.content) == json.loads(remove.content) == [{"id": U3}]
    assert len(fake.calls) - before == 2
    same = await source.set_agent_skills(U3, [Q2])
    assert (same.ok, same.message) == (True, "no change: already a member of exactly those "
                                       "queues")
    assert snap.agents  # the listing it relied on


async def test_set_agent_skills_partial_failure(make: Make, fake: FakeGenesys) -> None:
    source = make()
    await source.snapshot()
    fake.override = lambda r: (genesys_error(400, "bad.request", "Member added by group")
                               if r.method == "POST" and "delete" in str(r.url) else None)
    result = await source.set_agent_skills(U1, [Q2])
    assert (result.ok, result.code) == (False, "refused")
    assert "Member added by group" in result.message
    fake.override = lambda r: (genesys_error(400, "bad.request", "Member added by group")
                               if r.method == "POST" and "delete" in str(r.url) else None)
    result = await source.set_agent_skills(U3, [Q2])
    assert (result.ok, result.code) == (False, "partial")
    assert result.message.startswith("added to Support; then remove from Sales: HTTP 400")


async def test_set_emergency_reads_then_writes_enabled(make: Make, fake: FakeGenesys) -> None:
    source = make()
    assert Capability.EMERGENCY_GROUP in source.capabilities
    result = await source.set_emergency("", True)
    assert (result.ok, result.message) == (True, "emergency group Storm is now active")
    get, put = fake.requests(f"/api/v2/architect/emergencygroups/{GROUP}")
    assert (get.method, put.method) == ("GET", "PUT")
    body = json.loads(put.content)
    assert body["enabled"] is True and body["version"] == 3
    # read-only in the schema: never sent back (tests/test_genesys_contract.py checks all)
    assert not {"id", "state", "selfUri"} & set(body), body
    assert body["emergencyCallFlows"][0]["emergencyFlow"]["id"] == uid(0x600)  # kept
    again = await source.set_emergency(GROUP, True)
    assert (again.ok, again.message) == (True, "emergency group Storm was already active")
    assert len(fake.requests(method="PUT")) == 1


async def test_set_emergency_conflict(make: Make, fake: FakeGenesys) -> None:
    source = make()
    fake.override = lambda r: (genesys_error(409, "conflict", "Version mismatch")
                               if r.method == "PUT" else None)
    result = await source.set_emergency("", True)
    assert (result.ok, result.code) == (False, "changed")


async def test_capabilities_follow_the_configuration(make: Make) -> None:
    full = make()
    assert full.capabilities == frozenset({Capability.SNAPSHOT, Capability.REASSIGN_CONTACT,
                                           Capability.MOVE_AGENTS,
                                           Capability.EMERGENCY_GROUP,
                                           Capability.AGENT_STATE})
    bare = make(emergency_group_id=None, allow_transfers=False, allow_membership=False,
                allow_agent_state=False)
    assert bare.capabilities == frozenset({Capability.SNAPSHOT})
    assert (await bare.move_contact(C1, Q2)).code == "unsupported"
    assert (await bare.set_emergency("", True)).code == "unsupported"
    assert (await bare.set_agent_state(U1, "available")).code == "unsupported"


async def test_action_after_a_revoked_token(make: Make, fake: FakeGenesys) -> None:
    source = make()
    await source.snapshot()
    fake.revoke()
    result = await source.move_contact(C1, Q2)
    assert result.ok, result.message
    assert fake.tokens_issued == 2 and len(fake.requests(method="POST", path=(
        f"/api/v2/conversations/{C1}/participants/{P3}/replace/queue"))) == 1


# -- settings ----------------------------------------------------------------------------


@pytest.mark.parametrize(("overrides", "expected"), [
    ({"region": "my purecloud"}, "region host"),
    ({"queues": ["sales"]}, "not queue ids"),
    ({"queues": []}, "at least 1"),
    ({"queue_settings": {"sales": {}}}, "keys must be queue ids"),
    ({"queue_settings": {Q1: {"short_abandon_s": 30}}}, "short_abandon_s"),
    ({"queue_settings": {Q1: {"media_types": ["Voice!"]}}}, "media types"),
    ({"emergency_group_id": "storm"}, "emergency group id"),
    ({"api_url": "http://api.example"}, "loopback"),
])
def test_settings_are_checked(overrides: dict[str, Any], expected: str) -> None:
    with pytest.raises(ValueError) as caught:
        GenesysSettings(**{**SETTINGS, **overrides})
    assert expected in str(caught.value)


def test_settings_defaults() -> None:
    s = GenesysSettings(**SETTINGS)
    assert (s.api(), s.login()) == (API, LOGIN)
    assert GenesysSettings(**{**SETTINGS, "region": "api.usw2.pure.cloud"}).login() == \
        "https://login.usw2.pure.cloud"
    assert GenesysSettings.default_budget == (300, 60.0)
    budget = s.make_budget()
    assert budget is not None and (budget.limit, budget.window_s) == (300, 60.0)
    local = GenesysSettings(**{**SETTINGS, "api_url": "http://127.0.0.1:8080/",
                               "login_url": "http://localhost:8081"})
    assert (local.api(), local.login()) == ("http://127.0.0.1:8080", "http://localhost:8081")
