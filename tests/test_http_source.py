"""The http source against real servers on loopback: serve-sim, a garbage server, none."""

from __future__ import annotations

import json
import re
import shutil
import socket
import subprocess
from collections.abc import AsyncIterator, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import ValidationError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from supervisor_tui.domain.model import AgentStateKind, ContactState, Snapshot
from supervisor_tui.protocol.documents import DELTA_IM, parse_snapshot, to_doc, to_snapshot
from supervisor_tui.protocol.server import ProtocolServer, serve_in_thread
from supervisor_tui.protocol.shared_text import TextPool
from supervisor_tui.sim.config import SimulatorConfig
from supervisor_tui.sources.base import Capability, SourceError
from supervisor_tui.sources.http.settings import HttpSettings
from supervisor_tui.sources.http.source import HttpSource
from supervisor_tui.sources.simulator import SimulatorSource
from tests.helpers import centre
from tests.test_serve_sim import POLICY, T0, TOKEN, Swappable, host, make_sim


@pytest.fixture(scope="module")
def hosting() -> Iterator[tuple[Swappable, str]]:
    swappable = Swappable()
    with serve_in_thread(swappable) as base:
        yield swappable, base


@pytest.fixture
def sim() -> SimulatorSource:
    return make_sim()


@pytest.fixture
def url(hosting: tuple[Swappable, str], sim: SimulatorSource) -> str:
    return host(hosting, ProtocolServer(sim))


class Sources:
    """Makes HttpSources and closes them all at the end of the test."""

    def __init__(self) -> None:
        self.made: list[HttpSource] = []

    def __call__(self, url: str, name: str = "remote",
                 transport: httpx.AsyncBaseTransport | None = None,
                 **settings: Any) -> HttpSource:
        source = HttpSource(name, POLICY, HttpSettings(url=url, timeout_s=5, **settings),
                            transport=transport)
        self.made.append(source)
        return source


@pytest.fixture
async def sources() -> AsyncIterator[Sources]:
    made = Sources()
    yield made
    for source in made.made:
        await source.close()


def waiting(snap: Snapshot, queue: str = "sales") -> str:
    return next(c.id for c in snap.contacts
                if c.state == ContactState.WAITING and c.queue_id == queue)


async def test_snapshot_round_trip(url: str, sim: SimulatorSource, sources: Sources) -> None:
    remote = sources(url)
    got = await remote.snapshot()
    want = await sim.snapshot()
    assert got.taken_at == want.taken_at and got.clock_rate == want.clock_rate
    assert got.interval_start == want.interval_start and got.day_start == want.day_start
    assert got.queues == tuple(q.model_copy(update={"source": "remote"}) for q in want.queues)
    assert got.interval_stats == want.interval_stats and got.day_stats == want.day_stats
    assert got.agents == tuple(a.model_copy(update={"source": "remote"}) for a in want.agents)
    assert got.contacts == tuple(c.model_copy(update={"source": "remote"})
                                 for c in want.contacts)
    assert remote.server_source == "sim"


async def test_capabilities_come_from_the_server(url: str, sources: Sources) -> None:
    remote = sources(url)
    assert remote.capabilities == {Capability.SNAPSHOT}  # nothing promised before a poll
    await remote.snapshot()
    assert remote.capabilities == {Capability.SNAPSHOT, Capability.REASSIGN_CONTACT,
                                   Capability.MOVE_AGENTS, Capability.BROADCAST,
                                   Capability.AGENT_STATE, Capability.EMERGENCY_GROUP,
                                   Capability.CALLBACK}
    assert remote.supports(Capability.REASSIGN_CONTACT)


async def test_unchanged_centre_is_a_304_and_the_same_snapshot(url: str,
                                                               sources: Sources) -> None:
    remote = sources(url)
    first = await remote.snapshot()
    second = await remote.snapshot()
    assert second is first
    stats = remote.request_stats
    assert stats is not None
    assert stats.requests == 2 and stats.last_status == 304 and stats.failures == 0


async def test_two_consoles_see_one_centre(url: str, sources: Sources) -> None:
    alice, bob = sources(url, "alice"), sources(url, "bob")
    a0, b0 = await alice.snapshot(), await bob.snapshot()
    # The same contacts, each console naming them after its own source.
    assert [c.model_copy(update={"source": ""}) for c in a0.contacts] == [
        c.model_copy(update={"source": ""}) for c in b0.contacts]
    assert {c.source for c in a0.contacts} == {"alice"}
    contact = waiting(a0)
    result = await alice.move_contact(contact, "billing")
    assert result.ok, result.message
    b1 = await bob.snapshot()
    assert b1 is not b0
    assert next(c for c in b1.contacts if c.id == contact).queue_id == "billing"
    assert {a.source for a in b1.agents} == {"bob"}


async def test_actions_report_plain_reasons(url: str, sim: SimulatorSource,
                                            sources: Sources) -> None:
    remote = sources(url)
    snap = await remote.snapshot()
    unknown = await remote.move_contact("nope", "billing")
    assert (unknown.ok, unknown.code, unknown.message) == (False, "unknown_contact",
                                                           "no contact 'nope'")
    connected = next(c.id for c in snap.contacts if c.state == ContactState.CONNECTED)
    late = await remote.move_contact(connected, "billing")
    assert not late.ok and late.code == "not_waiting"
    assert late.message.startswith(f"contact {connected} is no longer waiting")
    gone = await remote.assign_contact(connected, "a001")
    assert not gone.ok and gone.code == "not_waiting"
    nobody = await remote.set_agent_skills("nobody", ["sales"])
    assert (nobody.ok, nobody.code) == (False, "unknown_agent")
    nap = await remote.set_agent_state("a001", "nap")
    assert (nap.ok, nap.code) == (False, "unknown_state")
    talking = next(a for a in snap.agents if a.contact_id is not None
                   and a.state.kind == AgentStateKind.ON_CONTACT)
    busy = await remote.set_agent_state(talking.id, "logout")
    assert (busy.ok, busy.code) == (False, "on_contact")
    assert busy.message.endswith(f"on a contact with {talking.contact_id}; try when it ends")
    free = next(a for a in snap.agents if a.state.kind in (
        AgentStateKind.AVAILABLE, AgentStateKind.AWAY, AgentStateKind.OFFLINE))
    out = await remote.set_agent_state(free.id, "away:lunch")
    assert out.ok, out.message
    assert sim.engine.agent_by_id[free.id].reason == "lunch"
    empty = await remote.broadcast("")
    assert (empty.ok, empty.code) == (False, "bad_request")
    assert not sim.engine.broadcasts
    sent = await remote.broadcast("Phones down: use chat")
    assert sent.ok and sent.message.startswith("message sent to")
    assert [m for _, m in sim.engine.broadcasts] == ["Phones down: use chat"]


async def test_skills_and_ids_with_odd_characters(url: str, sources: Sources) -> None:
    remote = sources(url)
    done = await remote.set_agent_skills("a001", ["billing", "sales"])
    assert done.ok, done.message
    agent = next(a for a in (await remote.snapshot()).agents if a.id == "a001")
    assert agent.skills == ("billing", "sales")
    odd = await remote.move_contact("a/b?c#d", "billing")  # quoted, not a path or query
    assert odd.code == "unknown_contact" and "a/b?c#d" in odd.message


class LoseFirstAnswer(httpx.AsyncHTTPTransport):
    """Delivers requests, but loses the answer to the first action (a network blip)."""

    def __init__(self) -> None:
        super().__init__()
        self.keys: list[str | None] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await super().handle_async_request(request)
        if request.method != "GET":
            self.keys.append(request.headers.get("Idempotency-Key"))
            if len(self.keys) == 1:
                await response.aread()
                await response.aclose()
                raise httpx.ReadError("connection reset by peer")
        return response


async def test_lost_answer_is_retried_once_and_acts_once(url: str, sim: SimulatorSource,
                                                         sources: Sources) -> None:
    transport = LoseFirstAnswer()
    remote = sources(url, transport=transport)
    result = await remote.broadcast("evacuate queue 3")
    assert result.ok, result.message
    assert len(transport.keys) == 2 and transport.keys[0] == transport.keys[1]
    assert transport.keys[0]
    assert [m for _, m in sim.engine.broadcasts] == ["evacuate queue 3"]  # once
    again = await remote.broadcast("evacuate queue 3")  # a new call is a new key
    assert again.ok and len(sim.engine.broadcasts) == 2
    assert transport.keys[2] != transport.keys[0]


async def test_a_crisis_broadcast_resent_with_its_outbox_key_is_shown_once(
        url: str, sim: SimulatorSource, sources: Sources) -> None:
    remote = sources(url)
    first = await remote.broadcast("Phones down: use chat", key="outbox-key-1")
    again = await remote.broadcast("Phones down: use chat", key="outbox-key-1")  # after a crash
    assert first.ok and again.ok
    assert [m for _, m in sim.engine.broadcasts] == ["Phones down: use chat"]


async def test_bearer_token(hosting: tuple[Swappable, str], sim: SimulatorSource,
                            sources: Sources, monkeypatch: pytest.MonkeyPatch) -> None:
    base = host(hosting, ProtocolServer(sim, token=TOKEN))
    monkeypatch.setenv("SIM_TOKEN", TOKEN)
    good = sources(base, token_env="SIM_TOKEN")
    assert (await good.snapshot()).agents
    assert (await good.broadcast("hello")).ok
    anonymous = sources(base)
    with pytest.raises(SourceError, match=r"authentication refused \(HTTP 401\)"):
        await anonymous.snapshot()
    refused = await anonymous.broadcast("hello")
    assert not refused.ok and "HTTP 401" in refused.message
    assert len(sim.engine.broadcasts) == 1


def test_missing_secret_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NOT_SET_TOKEN", raising=False)
    settings = HttpSettings(url="http://127.0.0.1:1", token_env="NOT_SET_TOKEN")
    with pytest.raises(SourceError, match="environment variable NOT_SET_TOKEN is not set"):
        HttpSource("remote", POLICY, settings)


def test_unusable_ca_bundle_is_a_clear_error(tmp_path: Path) -> None:
    for bundle, reason in ((tmp_path / "missing.pem", "No such file"),
                           (tmp_path / "junk.pem", "no certificate")):
        if bundle.name == "junk.pem":
            bundle.write_text("junk")
        settings = HttpSettings(url="https://sim.example", ca_bundle=str(bundle))
        with pytest.raises(SourceError, match=f"cannot use ca_bundle .*{reason}"):
            HttpSource("remote", POLICY, settings)


# -- a garbage server -----------------------------------------------------------------

def _doc(**changes: Any) -> dict[str, Any]:
    doc = to_doc(centre(), "pbx", ["snapshot"]).model_dump(mode="json")
    doc.update(changes)
    return doc


def _negative() -> dict[str, Any]:
    doc = _doc()
    doc["queues"][1]["day"]["abandoned"] = -4
    return doc


GARBAGE: dict[str, Response] = {
    "html": HTMLResponse("<html><head><title>Welcome to nginx!</title></head></html>"),
    "proxy": HTMLResponse("<html><title>502 Bad Gateway</title></html>", status_code=502),
    "broken": Response('{"protocol": 1, "queues": [', media_type="application/json"),
    "empty": Response(b"", media_type="application/json"),
    "array": JSONResponse([1, 2, 3]),
    "error": JSONResponse({"error": {"code": "db_down", "message": "database gone\x1b[2J"}}),
    "version": JSONResponse(_doc(protocol=2)),
    "negative": JSONResponse(_negative()),
    "types": JSONResponse(_doc(agents="lots")),
    "missing": JSONResponse({k: v for k, v in _doc().items() if k != "taken_at"}),
    "slow429": Response("slow down", status_code=429, headers={"Retry-After": "30"}),
}


def garbage_app() -> Starlette:
    async def snapshot(request: Request) -> Response:
        return GARBAGE[request.path_params["case"]]

    return Starlette(routes=[Route("/{case}/v1/snapshot", snapshot)])


@pytest.fixture(scope="module")
def garbage() -> Iterator[str]:
    with serve_in_thread(garbage_app()) as base:
        yield base


@pytest.mark.parametrize(("case", "reason"), [
    ("html", "HTTP 200 with not JSON: an HTML page (Welcome to nginx!)"),
    ("proxy", "HTTP 502 from GET /v1/snapshot: an HTML page (502 Bad Gateway)"),
    ("broken", "HTTP 200 with broken JSON"),
    ("empty", "HTTP 200 with broken JSON: an empty body"),
    ("array", "expected a JSON object, got an array"),
    ("error", "server error db_down: database gone"),
    ("version", "server speaks protocol version 2; this console speaks 1"),
    ("negative", "invalid snapshot: queues.1.day.abandoned: Input should be greater than or "
     "equal to 0"),
    ("types", "invalid snapshot: agents: Input should be a valid list"),
    ("missing", "invalid snapshot: taken_at: Field required"),
    ("slow429", "rate limited by the platform (HTTP 429); retry after 30 s"),
])
async def test_garbage_is_a_one_line_source_error(garbage: str, sources: Sources, case: str,
                                                  reason: str) -> None:
    remote = sources(f"{garbage}/{case}")
    with pytest.raises(SourceError) as caught:
        await remote.snapshot()
    message = str(caught.value)
    assert reason in message
    assert "\n" not in message and "\x1b" not in message and len(message) < 300
    assert caught.value.__cause__ is None  # `from None`: no chained traceback to print


async def test_dead_server(sources: Sources) -> None:
    with socket.socket() as probe:  # a port that was free a moment ago: nobody listens
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    remote = sources(f"http://127.0.0.1:{port}")
    with pytest.raises(SourceError) as caught:
        await remote.snapshot()
    assert str(caught.value).startswith("cannot reach 127.0.0.1:")
    assert "\n" not in str(caught.value)
    result = await remote.move_contact("c1", "billing")
    assert (result.ok, result.code) == (False, "not_confirmed")
    assert "check the next snapshot" in result.message
    stats = remote.request_stats
    assert stats is not None and stats.failures == 3  # the poll, the action and its retry


# -- settings -------------------------------------------------------------------------

@pytest.mark.parametrize(("settings", "problem"), [
    ({"url": "sim.example:8765"}, "must start with http:// or https://"),
    ({"url": "ftp://sim.example"}, "must start with http:// or https://"),
    ({"url": "https://"}, "has no host name"),
    ({"url": "https://bob:pw@sim.example"}, "must not contain credentials"),
    ({"url": "https://sim.example/?x=1"}, "must not have a ?query"),
    ({"url": "https://sim.example:99999"}, "has an invalid port"),
    ({"url": "http://10.0.0.5:8765", "token_env": "T"}, "clear text to 10.0.0.5"),
    ({"url": "http://sim.example", "username": "u", "password_env": "P"}, "clear text"),
    ({"url": "https://sim.example", "token_env": "T", "username": "u", "password_env": "P"},
     "not both"),
    ({"url": "https://sim.example", "username": "u"}, "go together"),
    ({"url": "https://sim.example", "verify": False}, "Extra inputs are not permitted"),
])
def test_bad_settings(settings: dict[str, Any], problem: str) -> None:
    with pytest.raises(ValidationError, match=re.escape(problem)):
        HttpSettings.model_validate({"type": "http", **settings})


def test_good_settings() -> None:
    local = HttpSettings.model_validate({"url": "http://127.0.0.1:8765/", "token_env": "T"})
    assert local.url == "http://127.0.0.1:8765" and local.type == "http"
    remote = HttpSettings.model_validate({"url": "https://sim.example/centre",
                                          "username": "u", "password_env": "P",
                                          "ca_bundle": "/etc/ca.pem"})
    assert remote.url == "https://sim.example/centre"
    assert HttpSettings.model_validate({"url": "http://[::1]:8765"}).url == "http://[::1]:8765"


async def test_path_prefix_is_kept(hosting: tuple[Swappable, str], sim: SimulatorSource,
                                   sources: Sources) -> None:
    inner = ProtocolServer(sim).app
    base = host(hosting, ProtocolServer(sim))

    async def prefixed(scope: Any, receive: Any, send: Any) -> None:  # a reverse proxy
        if scope["type"] == "http":
            assert scope["path"].startswith("/centre/")
            scope = {**scope, "path": scope["path"].removeprefix("/centre")}
        await inner(scope, receive, send)

    hosting[0].app = prefixed
    remote = sources(f"{base}/centre/")
    assert (await remote.snapshot()).queues


# -- TLS ------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:prime256v1", "-nodes", "-days", "1",
                    "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                    "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True)
    return cert, key


async def test_tls_is_verified(certificate: tuple[Path, Path], sim: SimulatorSource,
                               sources: Sources, monkeypatch: pytest.MonkeyPatch) -> None:
    cert, key = certificate
    monkeypatch.setenv("SIM_TOKEN", TOKEN)
    app = ProtocolServer(sim, token=TOKEN).app
    with serve_in_thread(app, ssl_certfile=str(cert), ssl_keyfile=str(key)) as base:
        assert base.startswith("https://")
        trusted = sources(base, token_env="SIM_TOKEN", ca_bundle=str(cert))
        assert (await trusted.snapshot()).agents
        untrusted = sources(base, token_env="SIM_TOKEN")
        with pytest.raises(SourceError, match=r"cannot reach 127\.0\.0\.1") as caught:
            await untrusted.snapshot()
        assert "CERTIFICATE_VERIFY_FAILED" in str(caught.value)
        await trusted.close()
        await untrusted.close()


# -- delta snapshots ------------------------------------------------------------------

class MovingClock:
    """The simulator's clock, moved by the test: the centre changes between polls."""

    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now

    def tick(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


def busy_sim(clock: MovingClock) -> SimulatorSource:
    return SimulatorSource("sim", POLICY, SimulatorConfig(seed=11, start=T0, scenario="surge"),
                           clock=clock)


async def full_snapshot(url: str, name: str = "remote") -> Snapshot:
    """What an old client (no deltas) sees right now."""
    async with httpx.AsyncClient(base_url=url, timeout=5) as client:
        response = await client.get("/v1/snapshot")
    assert response.status_code == 200
    return to_snapshot(parse_snapshot(response.json(), name), name)


def assert_same_centre(got: Snapshot, want: Snapshot) -> None:
    assert (got.taken_at, got.interval_start, got.day_start, got.clock_rate) == (
        want.taken_at, want.interval_start, want.day_start, want.clock_rate)
    assert got.queues == want.queues
    assert got.interval_stats == want.interval_stats and got.day_stats == want.day_stats
    assert got.agents == want.agents  # same records, same order
    assert got.contacts == want.contacts
    assert got == want


async def test_deltas_give_the_same_centre_as_full_snapshots(
        hosting: tuple[Swappable, str], sources: Sources) -> None:
    clock = MovingClock()
    sim = busy_sim(clock)
    base = host(hosting, ProtocolServer(sim, refresh_s=0))
    remote = sources(base)
    statuses = []
    previous: Snapshot | None = None
    for poll in range(30):
        # Act on what the last poll showed (the clock has not moved since), then let
        # the centre run on: 10 minutes in all, across an interval boundary.
        if previous is not None and poll % 3 == 0:
            contact = next((c for c in previous.contacts if c.state == ContactState.WAITING
                            and c.queue_id in ("sales", "billing")), None)
            if contact is not None:
                other = "billing" if contact.queue_id == "sales" else "sales"
                assert (await remote.move_contact(contact.id, other)).ok
        if previous is not None and poll % 5 == 0:
            agent = previous.agents[poll % len(previous.agents)]
            skills = ["billing", "sales"] if poll % 2 else ["sales"]
            assert (await remote.set_agent_skills(agent.id, skills)).ok
        clock.tick(20)
        got = await remote.snapshot()
        stats = remote.request_stats
        assert stats is not None
        statuses.append(stats.last_status)
        assert_same_centre(got, await full_snapshot(base))
        previous = got
    assert statuses[0] == 200
    assert set(statuses[1:]) <= {226, 304} and statuses.count(226) >= 25
    assert previous is not None and previous.interval_start > T0


async def test_repeated_queue_ids_and_skill_lists_are_one_object_each(
        hosting: tuple[Swappable, str], sources: Sources) -> None:
    """Issue 15 (memory): the JSON gives a new string for every mention of a queue, in
    each agent's skills and each contact; the console holds one of each, and one tuple
    per distinct skill list, through full snapshots and deltas alike, with the centre
    unchanged (equal to what a client without deltas reads)."""
    clock = MovingClock()
    sim = busy_sim(clock)
    base = host(hosting, ProtocolServer(sim, refresh_s=0))
    remote = sources(base)
    for poll in range(8):
        if poll in (2, 5):
            got = await remote.snapshot()
            for agent, skills in ((got.agents[0], ["billing", "sales"]),
                                  (got.agents[1], ["sales", "billing"])):
                assert (await remote.set_agent_skills(agent.id, skills)).ok
        clock.tick(20)
        got = await remote.snapshot()
        assert_same_centre(got, await full_snapshot(base))
    assert remote.request_stats is not None and remote.request_stats.last_status == 226
    queue_id = {q.id: q.id for q in got.queues}
    assert all(s is queue_id[s] for a in got.agents for s in a.skills)
    assert all(c.queue_id is queue_id[c.queue_id] for c in got.contacts)
    assert all(a.queue_id is queue_id[a.queue_id] for a in got.agents if a.queue_id)
    lists = {a.skills for a in got.agents}
    assert len({id(a.skills) for a in got.agents}) == len(lists) < len(got.agents)


@pytest.mark.parametrize("moves", [True, False], ids=["delta", "at-rest-304"])
async def test_the_first_reads_texts_are_shared_by_the_next_poll(
        hosting: tuple[Swappable, str], sources: Sources, moves: bool) -> None:
    """The first read hands its records over before their texts are shared (the first
    screen sooner); the next poll shares them, whether it brings a delta or a 304."""
    clock = MovingClock()
    base = host(hosting, ProtocolServer(busy_sim(clock), refresh_s=0 if moves else 3600))
    remote = sources(base)
    first = await remote.snapshot()
    queue_id = {q.id: q.id for q in first.queues}
    if moves:
        clock.tick(20)
    await remote.snapshot()
    assert remote.request_stats is not None
    assert remote.request_stats.last_status == (226 if moves else 304)
    held = [a for a in first.agents if a.skills]
    assert held and all(s is queue_id[s] for a in held for s in a.skills)
    assert len({id(a.skills) for a in held}) == len({a.skills for a in held})


def test_the_skill_list_pool_stays_bounded() -> None:
    pool = TextPool(most=3)
    lists = [tuple(f"q{i}{j}" for j in range(3)) for i in range(10)]
    assert [pool.skills(t) for t in lists] == lists
    assert len(pool) <= 3
    again = pool.skills(tuple("".join(("q9", str(j))) for j in range(3)))
    assert again is pool.skills(lists[9]) and again == lists[9]


async def test_unchanged_records_are_the_same_objects(url: str, sim: SimulatorSource,
                                                      sources: Sources) -> None:
    remote = sources(url)
    before = await remote.snapshot()
    contact = waiting(before)
    assert (await remote.move_contact(contact, "billing")).ok
    assert (await remote.set_agent_skills("a001", ["billing"])).ok
    after = await remote.snapshot()
    assert remote.request_stats is not None and remote.request_stats.last_status == 226
    assert_same_centre(after, await full_snapshot(url))
    old_agents = {a.id: a for a in before.agents}
    for a in after.agents:
        assert (a is old_agents[a.id]) == (a.id != "a001"), a.id
    old_contacts = {c.id: c for c in before.contacts}
    for c in after.contacts:
        assert (c is old_contacts[c.id]) == (c.id != contact), c.id
    assert {a.source for a in after.agents} == {"remote"}


async def test_expired_base_falls_back_to_a_full_snapshot(
        hosting: tuple[Swappable, str], sim: SimulatorSource, sources: Sources) -> None:
    base = host(hosting, ProtocolServer(sim, history_size=2))
    remote = sources(base)
    first = await remote.snapshot()
    for _ in range(3):  # three newer versions push ours out of the server's history
        assert (await remote.move_contact(waiting(first), "billing")).ok
        await full_snapshot(base)
        first = await full_snapshot(base)
    got = await remote.snapshot()
    assert remote.request_stats is not None and remote.request_stats.last_status == 200
    assert_same_centre(got, await full_snapshot(base))


async def test_two_clients_at_different_versions(url: str, sources: Sources) -> None:
    alice, bob = sources(url), sources(url)
    a0 = await alice.snapshot()
    assert (await alice.move_contact(waiting(a0), "billing")).ok
    b1 = await bob.snapshot()
    assert (await bob.move_contact(waiting(b1), "billing")).ok
    a2, b2 = await alice.snapshot(), await bob.snapshot()
    for remote in (alice, bob):
        assert remote.request_stats is not None and remote.request_stats.last_status == 226
    want = await full_snapshot(url)
    assert_same_centre(a2, want)
    assert_same_centre(b2, want)


class CorruptDelta(httpx.AsyncHTTPTransport):
    """Spoils the next delta answer in one way, then passes everything through."""

    def __init__(self, how: str) -> None:
        super().__init__()
        self.how: str | None = how

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        request.headers["Accept-Encoding"] = "identity"  # plain JSON, to edit
        response = await super().handle_async_request(request)
        if response.status_code != 226 or self.how is None:
            return response
        body = json.loads(await response.aread())
        headers = httpx.Headers(response.headers)
        del headers["Content-Length"]
        headers.pop("Content-Encoding", None)
        how, self.how = self.how, None
        if how == "broken":
            content = b'{"protocol": 1, "agents": ['
        else:
            if how == "invalid":
                del body["agents_removed"]
            elif how == "stranger":
                body["contacts_removed"].append("c-nobody")
            elif how == "base":
                headers["Delta-Base"] = '"some-other-version"'
            elif how == "im":
                headers["IM"] = "vcdiff"
            content = json.dumps(body).encode()
        return httpx.Response(226, headers=headers, content=content, request=request)


@pytest.mark.parametrize(("how", "reason"), [
    ("broken", "HTTP 226 with broken JSON"),
    ("invalid", "invalid delta: agents_removed: Field required"),
    ("stranger", "invalid delta: it removes contact 'c-nobody', which the console's "
     "snapshot does not have"),
    ("base", "the server sent a delta from another snapshot than this console's"),
    ("im", "HTTP 226 with an unknown delta format 'vcdiff'"),
])
async def test_a_bad_delta_fails_one_poll_and_the_next_is_full(
        url: str, sources: Sources, how: str, reason: str) -> None:
    remote = sources(url, transport=CorruptDelta(how))
    first = await remote.snapshot()
    assert (await remote.move_contact(waiting(first), "billing")).ok
    with pytest.raises(SourceError) as caught:
        await remote.snapshot()
    message = str(caught.value)
    assert reason in message
    assert "\n" not in message and len(message) < 300 and caught.value.__cause__ is None
    again = await remote.snapshot()  # no base any more: a full snapshot
    assert remote.request_stats is not None and remote.request_stats.last_status == 200
    assert_same_centre(again, await full_snapshot(url))
    assert (await remote.move_contact(waiting(again), "billing")).ok
    await remote.snapshot()  # and deltas again from there
    assert remote.request_stats.last_status == 226


async def test_emergency_group_switches_over_the_protocol(url: str, sim: SimulatorSource,
                                                          sources: Sources) -> None:
    remote = sources(url)
    await remote.snapshot()  # capabilities come with the snapshot
    assert remote.supports(Capability.EMERGENCY_GROUP)
    on = await remote.set_emergency("emergency", True)
    assert on.ok and sim.engine.emergency_group == "emergency"
    off = await remote.set_emergency("emergency", False)
    assert off.ok and "queue again" in off.message and sim.engine.emergency_group is None


# -- abandoned contacts and call-backs (issue 13 item 2) --------------------------------

async def test_abandoned_and_callbacks_over_the_protocol(url: str, sim: SimulatorSource,
                                                         sources: Sources) -> None:
    remote = sources(url)
    got = await remote.snapshot()
    want = await sim.snapshot()
    assert want.abandoned  # the outage leaves customers giving up
    assert got.abandoned == tuple(a.model_copy(update={"source": "remote"})
                                  for a in want.abandoned)
    assert remote.supports(Capability.CALLBACK)
    voice = {q.id for q in got.queues if q.channel == "voice"}
    target = next(a for a in reversed(got.abandoned) if a.queue_id in voice)
    result = await remote.create_callback(target.id, target.queue_id)
    assert result.ok, result.message
    after = await remote.snapshot()
    row = next(a for a in after.abandoned if a.id == target.id)
    assert row.callback_id is not None and row.source == "remote"
    callback = next(c for c in after.contacts if c.id == row.callback_id)
    assert callback.queue_id == target.queue_id and callback.customer == target.customer
    again = await remote.create_callback(target.id, target.queue_id)
    assert not again.ok and again.code == "conflict" and "already queued" in again.message
    missing = await remote.create_callback("no-such", target.queue_id)
    assert missing.code == "not_found"


def test_a_snapshot_without_abandoned_still_parses(sim: SimulatorSource) -> None:
    """An older server sends no ``abandoned``: an empty list, not an error."""
    import asyncio

    snap = asyncio.run(sim.snapshot())
    data = json.loads(to_doc(snap, "sim", ["snapshot"]).model_dump_json())
    assert data["abandoned"]
    del data["abandoned"]
    assert to_snapshot(parse_snapshot(data, "old"), "old").abandoned == ()


async def test_deltas_carry_only_new_and_changed_abandons(
        hosting: tuple[Swappable, str], sources: Sources) -> None:
    clock = MovingClock()
    sim = busy_sim(clock)
    base = host(hosting, ProtocolServer(sim, refresh_s=0))
    remote = sources(base)
    first = await remote.snapshot()
    assert first.abandoned
    voice = {q.id for q in first.queues if q.channel == "voice"}
    target = next(a for a in reversed(first.abandoned) if a.queue_id in voice)
    assert (await remote.create_callback(target.id, target.queue_id)).ok
    clock.tick(30)
    async with httpx.AsyncClient(base_url=base, timeout=5) as client:
        etag = remote._etag
        assert etag is not None and remote._centre is not None
        response = await client.get("/v1/snapshot", headers={"If-None-Match": etag,
                                                              "A-IM": DELTA_IM})
    assert response.status_code == 226
    delta = response.json()
    ids = [a["id"] for a in delta["abandoned"]]
    assert target.id in ids and len(ids) < len(first.abandoned)
    got = await remote.snapshot()
    assert_same_centre(got, await full_snapshot(base))
    row = next(a for a in got.abandoned if a.id == target.id)
    assert row.callback_id is not None
    assert [a.id for a in got.abandoned[:3]] == [a.id for a in first.abandoned[:3]]
