"""The genesys source against Genesys Cloud's published schemas, over real HTTP.

A small org (tests/fixtures/genesys/org.json) is served on a loopback HTTP server that
checks every request the source sends against the schema subset cut from the vendor's
Platform API definitions (tests/fixtures/genesys/schemas.json, README there: source and
commit): the operation exists, its query parameters and values are the schema's, and the
body has no property the schema does not name nor one it marks read-only. Every answer
the server gives is checked against the operation's answer schema too, so the fake
cannot drift from the platform. ``sparse.json`` holds answers with only what the schemas
require: a poll must stand on them.
"""

from __future__ import annotations

import copy
import json
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest

from supervisor_tui.domain.intervals import IntervalPolicy
from supervisor_tui.domain.model import AgentStateKind
from supervisor_tui.sources.base import Capability
from supervisor_tui.sources.genesys.documents import emergency_update
from supervisor_tui.sources.genesys.settings import GenesysSettings
from supervisor_tui.sources.genesys.source import GenesysSource
from supervisor_tui.store import Store
from supervisor_tui.ui.app import SupervisorApp
from supervisor_tui.ui.screens.agent_detail import AgentDetailScreen
from supervisor_tui.ui.widgets.grid import Grid
from tests.genesys_schema import (
    answer_problems,
    definition,
    fixture,
    operation,
    problems,
    request_problems,
)
from tests.helpers import make_config, screen_text, wait_for

POLICY = IntervalPolicy(minutes=30, tz="UTC")
ID_ENV, SECRET_ENV = "SUPERVISOR_TUI_TEST_GC_ID", "SUPERVISOR_TUI_TEST_GC_SECRET"
ORG = fixture("org.json")
Q1, Q2 = list(ORG["queues"])
ANN, BOB, CY, DI, ED = (u["id"] for u in ORG["users"])
C1, C2 = (w["conversationId"] for w in ORG["waiting"])
GROUP = ORG["emergency_group"]["id"]
DEFS = {d["languageLabels"]["en_US"]: d for d in ORG["presence_definitions"]["entities"]}
ON_QUEUE = DEFS["On Queue"]["id"]

Answer = tuple[int, Any]


def iso(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + \
        f"{when.microsecond // 1000:03d}Z"


class Org:
    """The org's state and its API, in the schemas' shapes; problems are collected."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.started = datetime.now(UTC)
        self.users = {u["id"]: {**u, "since": self.started - timedelta(minutes=7)}
                      for u in copy.deepcopy(ORG["users"])}
        self.waiting = {w["conversationId"]: w for w in copy.deepcopy(ORG["waiting"])}
        self.definitions = copy.deepcopy(ORG["presence_definitions"])
        self.group = copy.deepcopy(ORG["emergency_group"])
        self.problems: list[str] = []
        self.seen: list[tuple[str, str, list[tuple[str, str]], Any]] = []
        #: (method, path, body) -> an answer of our own, before the org's
        self.override: Callable[[str, str, Any], Answer | None] | None = None
        #: operation key -> the answer to give instead (sparse.json)
        self.canned: dict[str, Any] = {}

    # -- the server's entry point ------------------------------------------------------

    def serve(self, method: str, path: str, query: list[tuple[str, str]], raw: bytes
              ) -> Answer:
        with self.lock:
            if path == "/oauth/token":
                return 200, {"access_token": "tok-1-abcdefgh", "token_type": "bearer",
                             "expires_in": 86_400}
            self.problems += request_problems(method, path, query, raw)
            body = json.loads(raw) if raw else None
            self.seen.append((method, path, query, body))
            answer = self.override(method, path, body) if self.override else None
            if answer is None:
                op = operation(method, path)
                if op is not None and op.key in self.canned:
                    answer = 200, copy.deepcopy(self.canned[op.key])
                else:
                    answer = self.answer(method, path, dict(query), query, body)
            status, doc = answer
            self.problems += answer_problems(method, path, status, doc)
            if status >= 300:
                self.problems += problems(doc, definition("users.ErrorBody"), request=False)
            return answer

    def sent(self, method: str, tail: str) -> list[Any]:
        return [body for m, p, _, body in self.seen if m == method and p.endswith(tail)]

    # -- the API -----------------------------------------------------------------------

    def answer(self, method: str, path: str, params: dict[str, str],
               query: list[tuple[str, str]], body: Any) -> Answer:
        parts = path.split("/")
        if path.endswith("/observations/query"):
            return 200, self.observations()
        if path.endswith("/aggregates/query"):
            return 200, self.aggregates(body)
        if path == "/api/v2/routing/queues":
            ids = [v for k, v in query if k == "id"]
            return 200, {"entities": [{"id": q, "name": ORG["queues"][q]} for q in ids],
                         "pageSize": 100, "pageNumber": 1, "total": len(ids)}
        if path.endswith("/members"):
            return self.members(method, parts[5], params, body)
        if path.startswith("/api/v2/conversations/"):
            return self.conversation(method, parts[4], parts[-1], body)
        if path.startswith("/api/v2/architect/emergencygroups/"):
            return self.emergency(method, body)
        if path.endswith("/routingstatus"):
            return self.routing_status(method, parts[4], body)
        if path == "/api/v2/presence/definitions":
            entities = [d for d in self.definitions["entities"]
                        if params.get("deactivated") != "FALSE" or not d["deactivated"]]
            return 200, {"total": len(entities), "entities": entities}
        if path.endswith("/presences/purecloud"):
            return self.presence(parts[4], body)
        return 404, {"message": "not found", "code": "not.found", "status": 404}

    def observations(self) -> dict[str, Any]:
        now = datetime.now(UTC)
        results = []
        for qid in ORG["queues"]:
            mine = [w for w in self.waiting.values() if w["queueId"] == qid]
            media = mine[0]["mediaType"] if mine else "voice"
            oldest = max((w["waited_s"] for w in mine), default=0)
            members = [u for u in self.users.values() if qid in u["queues"]]
            on = [u for u in members if u["routing"] != "OFF_QUEUE"]
            data: list[dict[str, Any]] = [
                {"metric": "oWaiting", "stats": {"count": len(mine)}, "truncated": False,
                 "observations": [{
                     "observationDate": iso(now - timedelta(seconds=w["waited_s"])),
                     "conversationId": w["conversationId"], "routingPriority": 0,
                     "participantName": w["participantName"], "direction": "inbound",
                     "requestedRoutings": ["Standard"]} for w in mine]},
                {"metric": "oInteracting", "stats": {"count": sum(
                    u["routing"] == "INTERACTING" for u in on)}},
                {"metric": "oOffQueueUsers", "stats": {"count": len(members) - len(on)}}]
            if oldest:
                data.append({"metric": "oLongestWaiting", "stats": {
                    "calculatedMetricValue": int((now.timestamp() - oldest) * 1000)}})
            for status in sorted({u["routing"] for u in on}):
                data.append({"metric": "oOnQueueUsers", "qualifier": status, "stats": {
                    "count": sum(u["routing"] == status for u in on)}})
            results.append({"group": {"queueId": qid, "mediaType": media}, "data": data})
        return {"results": results}

    def aggregates(self, body: dict[str, Any]) -> dict[str, Any]:
        start = body["interval"].split("/")[0]
        views = [{"name": v["name"], "stats": {"count": 1 if "Below" in v["name"] else 0}}
                 for v in body.get("views", [])]
        return {"results": [{"group": {"queueId": qid, "mediaType": "voice"}, "data": [{
            "interval": body["interval"],
            "metrics": [{"metric": "tAnswered", "stats": {"count": 2, "sum": 30_000.0,
                                                           "max": 20_000.0}},
                        {"metric": "tAbandon", "stats": {"count": 1, "sum": 3_000.0}},
                        {"metric": "tHandle", "stats": {"count": 2, "sum": 400_000.0}}],
            "views": views}]} for qid in ORG["queues"]] if start else []}

    def member(self, u: dict[str, Any]) -> dict[str, Any]:
        since = iso(u["since"])
        definition = next(d for d in self.definitions["entities"] if d["id"] == u["presence"])
        system = definition["systemPresence"]
        # user presences spell system presences in capitals ("ON_QUEUE", "MEAL")
        spelled = "ON_QUEUE" if system == "OnQueue" else system.upper()
        return {"id": u["id"], "name": u["name"], "ringNumber": 1, "joined": True,
                "memberBy": "user",
                "routingStatus": {"userId": u["id"], "status": u["routing"],
                                  "startTime": since},
                "user": {"id": u["id"], "name": u["name"], "state": "active", "version": 2,
                         "presence": {"source": "PURECLOUD", "primary": True,
                                      "modifiedDate": since,
                                      "presenceDefinition": {"id": u["presence"],
                                                             "systemPresence": spelled}}},
                "selfUri": f"/api/v2/users/{u['id']}"}

    def members(self, method: str, qid: str, params: dict[str, str], body: Any) -> Answer:
        if method == "POST":
            for item in body:
                queues = self.users[item["id"]]["queues"]
                if params.get("delete") == "true":
                    queues.remove(qid)
                elif qid not in queues:
                    queues.append(qid)
            return 204, None
        size, number = int(params["pageSize"]), int(params["pageNumber"])
        everyone = [self.member(u) for u in self.users.values() if qid in u["queues"]]
        page: dict[str, Any] = {"entities": everyone[(number - 1) * size:number * size],
                                "pageSize": size, "pageNumber": number}
        if number * size < len(everyone):
            page["nextUri"] = f"/api/v2/routing/queues/{qid}/members?pageNumber={number + 1}"
        return 200, page

    def conversation(self, method: str, cid: str, action: str, body: Any) -> Answer:
        w = self.waiting.get(cid)
        if w is None:
            return 404, {"message": "Conversation not found", "code": "not.found",
                         "status": 404}
        if method == "POST":
            if action == "queue":
                w["queueId"] = body["queueId"]
            else:
                del self.waiting[cid]
            return 202, None
        media = "calls" if w["mediaType"] == "voice" else "messages"
        start = iso(datetime.now(UTC) - timedelta(seconds=w["waited_s"] + 20))
        return 200, {"id": cid, "startTime": start, "participants": [
            {"id": "00000000-0000-4000-8000-0000000004ff", "purpose": "customer",
             "name": w["participantName"], "startTime": start,
             media: [{"id": "00000000-0000-4000-8000-0000000005ff", "state": "connected"}]},
            {"id": w["acd"], "purpose": "acd", "queueId": w["queueId"], "startTime": start,
             media: [{"id": "00000000-0000-4000-8000-0000000005fe", "state": "connected"}]}]}

    def emergency(self, method: str, body: Any) -> Answer:
        if method == "PUT":
            if body.get("version") != self.group["version"]:
                return 409, {"message": "Version mismatch", "code": "conflict",
                             "status": 409}
            # the server keeps its read-only fields; the client sent the rest
            self.group = {**self.group, **body, "version": self.group["version"] + 1,
                          "dateModified": iso(datetime.now(UTC))}
            self.group["division"] = {**self.group["division"], "selfUri": "/x"}
        return 200, copy.deepcopy(self.group)

    def routing_status(self, method: str, uid: str, body: Any) -> Answer:
        u = self.users.get(uid)
        if u is None:
            return 404, {"message": "user not found", "code": "not.found", "status": 404}
        if method == "PUT":
            if u["routing"] == "INTERACTING":
                return 400, {"message": "An invalid routing status transition was attempted.",
                             "code": "general.bad.request", "status": 400}
            u["routing"], u["since"] = body["status"], datetime.now(UTC)
            if body["status"] == "IDLE":
                u["presence"] = ON_QUEUE
        return 200, {"userId": uid, "status": u["routing"], "startTime": iso(u["since"])}

    def presence(self, uid: str, body: Any) -> Answer:
        u = self.users.get(uid)
        if u is None:
            return 404, {"message": "user not found", "code": "presenceservice.usernotfound",
                         "status": 404}
        wanted = body["presenceDefinition"]["id"]
        found = next((d for d in self.definitions["entities"] if d["id"] == wanted), None)
        if found is None:
            return 400, {"message": "no such presence", "code": "invalid.value",
                         "status": 400}
        u["presence"], u["since"] = wanted, datetime.now(UTC)
        u["routing"] = "IDLE" if found["systemPresence"] == "OnQueue" else "OFF_QUEUE"
        return 200, {"source": "PURECLOUD", "primary": True, "modifiedDate": iso(u["since"]),
                     "presenceDefinition": {"id": wanted,
                                            "systemPresence": found["systemPresence"]}}


class Handler(BaseHTTPRequestHandler):
    server: Any

    def _any(self) -> None:
        parts = urlsplit(self.path)
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if parts.path != "/oauth/token" and \
                self.headers.get("Authorization") != "Bearer tok-1-abcdefgh":
            status, doc = 401, {"message": "no token", "code": "authentication.required",
                                "status": 401}
        else:
            status, doc = self.server.org.serve(self.command, parts.path,
                                                parse_qsl(parts.query), raw)
        data = b"" if doc is None else json.dumps(doc).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_PUT = do_PATCH = _any

    def log_message(self, format: str, *args: Any) -> None:  # quiet: no request log
        pass


@pytest.fixture
def org() -> Iterator[Org]:
    yield Org()


@pytest.fixture
def url(org: Org) -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.org = org  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


Make = Callable[..., GenesysSource]


@pytest.fixture
async def make(url: str, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Make]:
    monkeypatch.setenv(ID_ENV, "client-id")
    monkeypatch.setenv(SECRET_ENV, "client-secret")
    made: list[GenesysSource] = []

    def build(**overrides: Any) -> GenesysSource:
        settings = GenesysSettings(**{
            "api_url": url, "login_url": url, "client_id_env": ID_ENV,
            "client_secret_env": SECRET_ENV, "queues": [Q1, Q2],
            "queue_settings": {Q1: {"threshold_s": 20, "short_abandon_s": 5},
                               Q2: {"name": "Chat", "channel": "chat"}},
            "emergency_group_id": GROUP, **overrides})
        made.append(GenesysSource("gc", POLICY, settings))
        return made[-1]

    yield build
    for source in made:
        await source.close()


# -- the fixtures and the validator ------------------------------------------------------


def test_the_fixtures_fit_the_schemas() -> None:
    assert problems(ORG["presence_definitions"],
                    definition("presence.OrganizationPresenceDefinitionEntityListing"),
                    request=False) == []
    assert problems(ORG["emergency_group"], definition("architect.EmergencyGroup"),
                    request=False) == []
    sparse = fixture("sparse.json")
    for key, doc in sparse.items():
        if key.startswith(("GET ", "POST ")):
            method, path = key.split(" ", 1)
            assert answer_problems(method, path, 200, doc) == [], key
    when = "2026-12-06T10:00:00.000Z"
    text = json.dumps(sparse).replace("OBSERVED", when).replace("SINCE", when)
    filled = json.loads(text)
    for key, name in (("observations_with_sparse_items", "QueueObservationQueryResponse"),
                      ("aggregates_with_sparse_items", "ConversationAggregateQueryResponse")):
        assert problems(filled[key], definition(f"analytics.{name}"), request=False) == []
    assert problems(filled["members_with_sparse_items"],
                    definition("routing.QueueMemberEntityListing"), request=False) == []


def test_the_validator_finds_what_does_not_fit() -> None:
    """The checks can fail: each kind of misfit is named."""
    group = definition("architect.EmergencyGroup")
    # what the source sent before: the group as read, enabled flipped
    old = {**ORG["emergency_group"], "enabled": True}
    found = problems(old, group, request=True)
    for name in ("id", "state", "dateCreated", "selfUri", "division.selfUri"):
        assert f"$.{name}: read-only, must not be sent" in found, found
    assert problems(emergency_update(ORG["emergency_group"], True), group,
                    request=True) == []
    assert problems({"name": "x", "colour": "red"}, group, request=True) == [
        "$.colour: not in the schema"]
    assert problems({"name": "x", "colour": "red"}, group, request=False) == []
    assert problems({"enabled": "yes"}, group, request=True) == [
        "$: required 'name' is missing", "$.enabled: str where the schema has boolean"]
    assert problems({"status": "ASLEEP", "startTime": "soon"},
                    definition("users.RoutingStatus"), request=False) == [
        "$.status: 'ASLEEP' is not one of the schema's values",
        "$.startTime: 'soon' is not a date-time"]
    assert problems({"version": True, "name": "x"}, group, request=True) == [
        "$.version: bool where the schema has integer"]
    assert request_problems("GET", f"/api/v2/routing/queues/{Q1}/members",
                            [("pageSize", "ten"), ("expand", "mood"), ("colour", "x")],
                            b"") == [
        "GET /api/v2/routing/queues/{queueId}/members: query pageSize='ten': not an integer",
        "GET /api/v2/routing/queues/{queueId}/members: query expand='mood': not one of the "
        "schema's values",
        "GET /api/v2/routing/queues/{queueId}/members: query parameter 'colour' is not in "
        "the schema"]
    assert request_problems("DELETE", "/api/v2/users/x", [], b"") == [
        "DELETE /api/v2/users/x: no such operation in the fixtures"]
    assert answer_problems("GET", f"/api/v2/users/{ANN}/routingstatus", 200,
                           {"status": 7}) == [
        "GET /api/v2/users/{userId}/routingstatus -> 200: $.status: int where the schema "
        "has string"]


# -- a poll and every action -------------------------------------------------------------


async def test_a_poll_and_every_action_fit_the_schemas(make: Make, org: Org) -> None:
    source = make()
    assert Capability.AGENT_STATE in source.capabilities
    snap = await source.snapshot()
    states = {a.id: (a.state.kind, a.state.reason) for a in snap.agents}
    assert states == {ANN: (AgentStateKind.AVAILABLE, None),
                      BOB: (AgentStateKind.ON_CONTACT, None),
                      CY: (AgentStateKind.AWAY, "meal"),  # the presence, under the user
                      DI: (AgentStateKind.AWAY, "not responding"),
                      ED: (AgentStateKind.OFFLINE, None)}
    assert {c.id: c.queue_id for c in snap.contacts} == {C1: Q1, C2: Q2}
    assert snap.queue_live[Q1].waiting == 1 and snap.interval_stats[Q1].answered == 2
    assert source.notes == ()

    results = [
        await source.move_contact(C1, Q2),
        await source.assign_contact(C2, ANN),
        await source.set_agent_skills(ANN, [Q1, Q2]),
        await source.set_emergency("", True),
        await source.set_emergency("", False),
        await source.set_agent_state(CY, "available"),  # off queue: the On Queue presence
        await source.set_agent_state(DI, "available"),  # not responding: IDLE again
        await source.set_agent_state(ANN, "away:lunch"),  # the Meal system presence
        await source.set_agent_state(ANN, "away:coaching"),  # a presence of that label
        await source.set_agent_state(ANN, "logout"),
    ]
    assert [r.message for r in results] == [
        f"conversation {C1} transferred to Chat",
        f"conversation {C2} transferred to Ann Idle",
        "added to Chat",
        "emergency group Storm is now active",
        "emergency group Storm is now inactive",
        "Cy Lunch is now On Queue",
        "Di Missed is available again (was not responding)",
        "Ann Idle is now Meal",
        "Ann Idle is now Coaching",
        "Ann Idle is now Offline",
    ]
    assert all(r.ok for r in results)
    assert org.sent("PUT", "/routingstatus") == [{"status": "IDLE"}]
    assert [b["presenceDefinition"]["id"] for b in org.sent("PATCH", "/purecloud")] == [
        ON_QUEUE, DEFS["Meal"]["id"], DEFS["Coaching"]["id"], DEFS["Offline"]["id"]]
    # the emergency group: written back without its read-only fields, the rest kept
    on, off = org.sent("PUT", f"/emergencygroups/{GROUP}")
    assert on["emergencyCallFlows"] == ORG["emergency_group"]["emergencyCallFlows"]
    assert not {"id", "state", "selfUri", "dateCreated"} & set(on)
    assert (on["version"], off["version"]) == (3, 4)

    snap = await source.snapshot()
    states = {a.id: (a.state.kind, a.state.reason) for a in snap.agents}
    assert states[CY] == (AgentStateKind.AVAILABLE, None)
    assert states[DI] == (AgentStateKind.AVAILABLE, None)
    assert states[ANN] == (AgentStateKind.OFFLINE, None)
    assert org.problems == []
    # the presence definitions were read once, without the deactivated ones
    reads = [q for m, p, q, _ in org.seen if p == "/api/v2/presence/definitions"]
    assert reads == [[("deactivated", "FALSE")]]


async def test_sparse_answers_keep_the_poll(make: Make, org: Org) -> None:
    """Answers with only what the schemas require: the poll stands and says what is
    unknown (the adapter once required ``results`` and failed the whole poll)."""
    sparse = fixture("sparse.json")
    org.canned = {k: v for k, v in sparse.items() if k.startswith(("GET ", "POST "))}
    source = make()
    snap = await source.snapshot()
    assert [q.name for q in snap.queues] == [Q1, "Chat"]  # no names came: ids stand in
    assert snap.queue_live == {} and snap.agents == () and snap.contacts == ()
    assert snap.interval_stats[Q1].offered == 0  # no results: nothing was counted
    assert any(n.startswith("no observations for 2 of 2 queue(s)") for n in source.notes)

    now = datetime.now(UTC)
    text = json.dumps(sparse).replace("OBSERVED", iso(now - timedelta(seconds=30))) \
        .replace("SINCE", iso(now - timedelta(minutes=3)))
    filled = json.loads(text)
    org.canned = {
        "POST /api/v2/analytics/queues/observations/query":
            filled["observations_with_sparse_items"],
        "POST /api/v2/analytics/conversations/aggregates/query":
            filled["aggregates_with_sparse_items"],
        "GET /api/v2/routing/queues/{queueId}/members": filled["members_with_sparse_items"]}
    source = make()
    snap = await source.snapshot()
    # one waiting conversation without an id: counted, not listed
    assert snap.queue_live[Q1].waiting == 1 and snap.contacts == ()
    assert snap.queue_live[Q2].waiting == 0
    stats = snap.interval_stats[Q1]
    assert (stats.answered, stats.answered_within_threshold, stats.abandoned) == (3, 2, 0)
    # the member with only a user: its presence (under the user) read; one with no id
    # at all is dropped and said
    assert [(a.id, a.state.kind, a.state.reason) for a in snap.agents] == [
        (CY, AgentStateKind.AWAY, "meal")]
    assert any("a member without an id" in n for n in source.notes), source.notes
    assert org.problems == []


# -- agent state: refusals and races -----------------------------------------------------


async def test_agent_state_refusals(make: Make, org: Org) -> None:
    source = make()
    await source.snapshot()
    before = len(org.seen)
    result = await source.set_agent_state(BOB, "away:break")
    assert (result.ok, result.code) == (False, "on_contact")
    assert result.message == "Bob Talking is on a conversation (interacting): try when it ends"
    result = await source.set_agent_state(ANN, "end_acw")
    assert (result.ok, result.code) == (False, "unsupported")
    assert (await source.set_agent_state(ANN, "sleep")).code == "unknown_state"
    assert (await source.set_agent_state("ann", "available")).code == "unknown_agent"
    assert org.sent("PATCH", "/purecloud") == [] and org.sent("PUT", "/routingstatus") == []
    assert len(org.seen) == before + 1  # only Bob's routing status was read

    result = await source.set_agent_state(ANN, "away:nap")
    assert (result.ok, result.code) == (False, "unknown_state")
    assert result.message.startswith("no presence for away (nap) in this org (has: ")
    assert "Coaching" in result.message and "Old lunch" not in result.message
    assert (await source.set_agent_state(ANN, "available")).message == \
        "Ann Idle was already available"

    org.definitions["entities"] = [d for d in org.definitions["entities"]
                                   if d["systemPresence"] != "Offline"]
    fresh = make()
    result = await fresh.set_agent_state(ANN, "logout")
    assert (result.ok, result.code) == (False, "unknown_state")
    assert result.message.startswith("no presence for log out in this org")
    assert org.problems == []


async def test_agent_state_answers_are_checked(make: Make, org: Org) -> None:
    """An answer must be this user in the state asked: anything else is said as it is."""
    source = make()
    await source.snapshot()

    def sticky(method: str, path: str, body: Any) -> Answer | None:
        if method == "PATCH":  # the user stays in (or went to) Break meanwhile
            return 200, {"source": "PURECLOUD", "primary": True,
                         "presenceDefinition": {"id": DEFS["Break"]["id"],
                                                "systemPresence": "Break"}}
        return None

    org.override = sticky
    result = await source.set_agent_state(ANN, "away:lunch")
    assert (result.ok, result.code) == (False, "changed")
    assert result.message.startswith("Ann Idle is in Break, not Meal")

    def other_user(method: str, path: str, body: Any) -> Answer | None:
        if path.endswith("/routingstatus"):
            return 200, {"userId": BOB, "status": "IDLE"}
        return None

    org.override = other_user
    result = await source.set_agent_state(ANN, "away:lunch")
    assert (result.ok, result.code) == (False, "bad_response")
    assert BOB in result.message

    def not_idle(method: str, path: str, body: Any) -> Answer | None:
        if method == "PUT" and path.endswith("/routingstatus"):
            return 200, {"userId": DI, "status": "OFF_QUEUE"}
        return None

    org.override = not_idle
    result = await source.set_agent_state(DI, "available")
    assert (result.ok, result.code) == (False, "changed")
    assert result.message.startswith("Di Missed is off_queue, not available")

    def forbidden(method: str, path: str, body: Any) -> Answer | None:
        if method == "PATCH":
            return 403, {"message": "Not authorized to update another user's presence",
                         "code": "presence.not.authorized.update.other.user.presence",
                         "status": 403}
        return None

    org.override = forbidden
    result = await source.set_agent_state(ANN, "away:break")
    assert (result.ok, result.code) == (False, "forbidden")
    assert "Not authorized to update another user's presence" in result.message
    assert org.problems == []


# -- as a supervisor does it -------------------------------------------------------------


async def test_a_supervisor_changes_genesys_agents_from_the_console(make: Make,
                                                                    org: Org) -> None:
    """Agents screen at 80x24 over the loopback org: Enter on Cy (at lunch), v, y puts
    her On Queue and the next poll shows her available; Bob, on a conversation, is
    refused with the reason; every request fits the schemas."""
    source = make()
    # one poll a second: the org's 300-a-minute budget is not the thing under test
    app = SupervisorApp(make_config(poll_interval_s=1.0), [source], store=Store.open(None),
                        user="sam")

    def shown() -> str:
        return " ".join(screen_text(app).split())

    def kind_of(agent_id: str) -> AgentStateKind | None:
        board = app.board
        agents = board.snapshot.agents if board is not None else ()
        return next((a.state.kind for a in agents if a.id == agent_id), None)

    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: kind_of(CY) is AgentStateKind.AWAY)
        await pilot.press("a")
        await wait_for(pilot, lambda: "Cy Lunch" in shown())
        grid = app.screen.query_one("#agents", Grid)
        assert grid.move_to_key(f"gc:{CY}")
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, AgentDetailScreen))
        await pilot.press("v")
        await wait_for(pilot, lambda: "Available: Cy Lunch?" in shown())
        assert org.sent("PATCH", "/purecloud") == []  # not before y
        await pilot.press("y")
        await wait_for(pilot, lambda: "1 of 1 changed (available)" in shown())
        assert [b["presenceDefinition"]["id"] for b in org.sent("PATCH", "/purecloud")] \
            == [ON_QUEUE]
        await wait_for(pilot, lambda: kind_of(CY) is AgentStateKind.AVAILABLE)
        await pilot.press("escape")
        await wait_for(pilot, lambda: not isinstance(app.screen, AgentDetailScreen))
        grid = app.screen.query_one("#agents", Grid)
        assert grid.move_to_key(f"gc:{BOB}")
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, AgentDetailScreen))
        await pilot.press("b")
        await wait_for(pilot, lambda: "[break]" in shown())
        await pilot.press("y")
        await wait_for(pilot, lambda: "0 of 1 changed" in shown())
        assert "try when it ends" in shown()
        assert len(org.sent("PATCH", "/purecloud")) == 1
    assert org.problems == []
