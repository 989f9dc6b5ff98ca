"""serve-sim over real HTTP on loopback: ETags, idempotency, errors, auth, start-up."""

from __future__ import annotations

import argparse
import gzip
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime

import httpx
import pytest
from starlette.types import ASGIApp, Receive, Scope, Send

from supervisor_tui.config import Config
from supervisor_tui.domain.intervals import IntervalPolicy
from supervisor_tui.domain.model import ContactState, Snapshot
from supervisor_tui.protocol.documents import parse_delta, parse_snapshot, to_snapshot
from supervisor_tui.protocol.serve_args import DEFAULT_TOKEN_ENV, add_parser
from supervisor_tui.protocol.server import ProtocolServer, check_listen, run, serve_in_thread
from supervisor_tui.sim.config import SimulatorConfig
from supervisor_tui.sources.simulator import SimulatorSource
from tests.helpers import ScriptedSource, centre

T0 = datetime(2026, 11, 22, 10, 20, tzinfo=UTC)
POLICY = IntervalPolicy(minutes=30, tz="UTC")
TOKEN = "s3cret-token-for-tests-0123456789"


def make_sim() -> SimulatorSource:
    # A frozen clock: the centre changes only when an action changes it, so every
    # run sees the same contacts. The outage scenario leaves contacts waiting.
    return SimulatorSource("sim", POLICY, SimulatorConfig(seed=7, start=T0, scenario="outage"),
                           clock=lambda: T0)


@pytest.fixture
def sim() -> SimulatorSource:
    return make_sim()


class Swappable:
    """One real server per test module, serving each test's own app (fresh centre).

    Starting and stopping uvicorn costs ~0.2 s; this keeps the files fast.
    """

    def __init__(self) -> None:
        self.app: ASGIApp | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        assert self.app is not None
        await self.app(scope, receive, send)


@pytest.fixture(scope="module")
def hosting() -> Iterator[tuple[Swappable, str]]:
    swappable = Swappable()
    with serve_in_thread(swappable) as base:
        yield swappable, base


def host(hosting: tuple[Swappable, str], server: ProtocolServer) -> str:
    swappable, base = hosting
    swappable.app = server.app
    return base


@pytest.fixture
def url(hosting: tuple[Swappable, str], sim: SimulatorSource) -> str:
    return host(hosting, ProtocolServer(sim))


@pytest.fixture
async def client(url: str) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=url, timeout=5) as c:
        yield c


async def current(sim: SimulatorSource) -> Snapshot:
    return await sim.snapshot()


def waiting(snap: Snapshot, queue: str = "sales") -> str:
    return next(c.id for c in snap.contacts
                if c.state == ContactState.WAITING and c.queue_id == queue)


def answered(snap: Snapshot) -> str:
    return next(c.id for c in snap.contacts if c.state == ContactState.CONNECTED)


async def test_health_is_small_and_open(client: httpx.AsyncClient) -> None:
    response = await client.get("/v1/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "protocol": 1}


async def test_snapshot_is_the_simulators_centre(client: httpx.AsyncClient,
                                                 sim: SimulatorSource) -> None:
    response = await client.get("/v1/snapshot")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    doc = parse_snapshot(response.json())
    assert doc.source == "sim" and doc.protocol == 1
    assert set(doc.capabilities) == {"snapshot", "reassign_contact", "move_agents",
                                     "broadcast", "agent_state", "emergency_group", "callback"}
    assert to_snapshot(doc) == await current(sim)


async def test_etag_and_304(client: httpx.AsyncClient) -> None:
    first = await client.get("/v1/snapshot", headers={"Accept-Encoding": "identity"})
    etag = first.headers["ETag"]
    assert etag.startswith('"') and etag.endswith('"')  # strong
    assert first.headers["Cache-Control"] == "no-cache"
    again = await client.get("/v1/snapshot", headers={"If-None-Match": etag,
                                                      "Accept-Encoding": "identity"})
    assert again.status_code == 304 and again.content == b""
    assert again.headers["ETag"] == etag
    for header in (f"W/{etag}", f'"other", {etag}', "*"):
        response = await client.get("/v1/snapshot", headers={"If-None-Match": header})
        assert response.status_code == 304, header
    stale = await client.get("/v1/snapshot", headers={"If-None-Match": '"old"'})
    assert stale.status_code == 200


async def test_gzip_has_its_own_etag(client: httpx.AsyncClient) -> None:
    plain = await client.get("/v1/snapshot", headers={"Accept-Encoding": "identity"})
    zipped = await client.get("/v1/snapshot", headers={"Accept-Encoding": "gzip"})
    assert zipped.headers["Content-Encoding"] == "gzip"
    assert zipped.headers["ETag"] != plain.headers["ETag"]
    assert zipped.json() == plain.json()  # httpx inflates it
    assert len(gzip.compress(plain.content)) < len(plain.content) / 3
    # either tag says "unchanged", whichever encoding the client now asks for
    response = await client.get("/v1/snapshot", headers={
        "If-None-Match": plain.headers["ETag"], "Accept-Encoding": "gzip"})
    assert response.status_code == 304


async def test_a_big_centre_is_served_gzipped_once_for_consoles_starting_together(
        hosting: tuple[Swappable, str], monkeypatch: pytest.MonkeyPatch) -> None:
    # 4,000 agents: a body over 1 MiB, compressed in a worker thread (the server goes on
    # answering meanwhile) and only once for five consoles asking at the same moment;
    # each reads the very same document.
    import asyncio

    from supervisor_tui.protocol import server as server_module
    from supervisor_tui.sim.config import scaled_centre

    compressions: list[int] = []
    compress = gzip.compress

    def counted(data: bytes, *args: object, **kwargs: object) -> bytes:
        compressions.append(len(data))
        return compress(data, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(server_module.gzip, "compress", counted)
    sim = SimulatorSource("sim", POLICY, scaled_centre(queues=400, agents=4000),
                          clock=lambda: T0)
    async with httpx.AsyncClient(base_url=host(hosting, ProtocolServer(sim)),
                                 timeout=30) as client:
        plain = await client.get("/v1/snapshot", headers={"Accept-Encoding": "identity"})
        assert len(plain.content) > 2**20
        zipped = await asyncio.gather(*(client.get(
            "/v1/snapshot", headers={"Accept-Encoding": "gzip"}) for _ in range(5)))
    for answer in zipped:
        assert answer.headers["Content-Encoding"] == "gzip"
        assert answer.content == plain.content  # httpx inflates it
        assert answer.num_bytes_downloaded < len(plain.content) / 5
    assert compressions == [len(plain.content)]


async def test_an_action_changes_the_etag(client: httpx.AsyncClient,
                                          sim: SimulatorSource) -> None:
    before = await client.get("/v1/snapshot")
    contact = waiting(await current(sim))
    moved = await client.post(f"/v1/contacts/{contact}/move", json={"queue_id": "billing"})
    assert moved.status_code == 200 and moved.json()["ok"] is True
    after = await client.get("/v1/snapshot",
                             headers={"If-None-Match": before.headers["ETag"]})
    assert after.status_code == 200
    mine = next(c for c in parse_snapshot(after.json()).contacts if c.id == contact)
    assert mine.queue_id == "billing"


async def test_idempotency_key_replays_without_acting_twice(
        client: httpx.AsyncClient, sim: SimulatorSource) -> None:
    headers = {"Idempotency-Key": "drill-1"}
    first = await client.post("/v1/broadcast", json={"message": "systems down"},
                              headers=headers)
    second = await client.post("/v1/broadcast", json={"message": "systems down"},
                               headers=headers)
    assert first.status_code == second.status_code == 200
    assert second.content == first.content
    assert second.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers
    assert [m for _, m in sim.engine.broadcasts] == ["systems down"]
    # without a key, every request acts
    await client.post("/v1/broadcast", json={"message": "again"})
    await client.post("/v1/broadcast", json={"message": "again"})
    assert len(sim.engine.broadcasts) == 3


async def test_replayed_move_returns_the_first_result(client: httpx.AsyncClient,
                                                      sim: SimulatorSource) -> None:
    contact = waiting(await current(sim))
    path, body, headers = (f"/v1/contacts/{contact}/move", {"queue_id": "billing"},
                           {"Idempotency-Key": "move-1"})
    first = await client.post(path, json=body, headers=headers)
    assert first.json()["ok"] is True
    replay = await client.post(path, json=body, headers=headers)
    assert replay.json() == first.json()  # not "already in Billing"
    fresh = await client.post(path, json=body, headers={"Idempotency-Key": "move-2"})
    assert fresh.status_code == 409 and fresh.json()["error"]["code"] == "same_queue"


async def test_key_reused_for_another_request_is_refused(client: httpx.AsyncClient,
                                                         sim: SimulatorSource) -> None:
    headers = {"Idempotency-Key": "k"}
    await client.post("/v1/broadcast", json={"message": "one"}, headers=headers)
    other = await client.post("/v1/broadcast", json={"message": "two"}, headers=headers)
    assert other.status_code == 422
    assert other.json()["error"]["code"] == "idempotency_key_reused"
    assert len(sim.engine.broadcasts) == 1


async def test_idempotency_cache_is_bounded(hosting: tuple[Swappable, str],
                                            sim: SimulatorSource) -> None:
    server = ProtocolServer(sim, idempotency_size=2)
    async with httpx.AsyncClient(base_url=host(hosting, server)) as client:
        for key in ("k1", "k2", "k3", "k1"):
            await client.post("/v1/broadcast", json={"message": "hi"},
                              headers={"Idempotency-Key": key})
    assert len(server._done) == 2
    assert len(sim.engine.broadcasts) == 4  # k1 was forgotten, so it acted again


@pytest.mark.parametrize(("method", "path", "body", "status", "code"), [
    ("POST", "/v1/contacts/nope/move", {"queue_id": "billing"}, 404, "unknown_contact"),
    ("POST", "/v1/contacts/nope/assign", {"agent_id": "a001"}, 404, "unknown_contact"),
    ("PUT", "/v1/agents/nobody/skills", {"skills": ["sales"]}, 404, "unknown_agent"),
    ("PUT", "/v1/agents/a001/skills", {"skills": ["nope"]}, 422, "unknown_queue"),
    ("PUT", "/v1/agents/a001/state", {"state": "nap"}, 422, "unknown_state"),
    ("PUT", "/v1/agents/nobody/state", {"state": "logout"}, 404, "unknown_agent"),
    ("POST", "/v1/contacts/x/move", {}, 400, "bad_request"),
    ("POST", "/v1/contacts/x/move", {"queue_id": 3}, 400, "bad_request"),
    ("POST", "/v1/broadcast", {"message": ""}, 400, "bad_request"),
    ("GET", "/v1/nothing", None, 404, "not_found"),
    ("GET", "/v1/broadcast", None, 405, "method_not_allowed"),
])
async def test_errors_are_json(client: httpx.AsyncClient, method: str, path: str,
                               body: object, status: int, code: str) -> None:
    response = await client.request(method, path, json=body)
    assert response.status_code == status
    error = response.json()["error"]
    assert error["code"] == code and error["message"]


async def test_answered_contact_is_a_409_with_a_reason(client: httpx.AsyncClient,
                                                       sim: SimulatorSource) -> None:
    contact = answered(await current(sim))
    response = await client.post(f"/v1/contacts/{contact}/move", json={"queue_id": "billing"})
    assert response.status_code == 409
    error = response.json()["error"]
    assert error["code"] == "not_waiting"
    assert "no longer waiting" in error["message"] and "answered it" in error["message"]


async def test_broken_bodies(client: httpx.AsyncClient) -> None:
    broken = await client.post("/v1/broadcast", content=b"{not json",
                               headers={"Content-Type": "application/json"})
    assert broken.status_code == 400 and "Invalid JSON" in broken.json()["error"]["message"]
    huge = await client.post("/v1/broadcast", content=b"x" * 70_000)
    assert huge.status_code == 413
    bad_key = await client.post("/v1/broadcast", json={"message": "hi"},
                                headers={"Idempotency-Key": "k" * 201})
    assert bad_key.status_code == 400
    assert bad_key.json()["error"]["code"] == "bad_idempotency_key"


async def test_token_is_required_when_set(hosting: tuple[Swappable, str],
                                          sim: SimulatorSource) -> None:
    base = host(hosting, ProtocolServer(sim, token=TOKEN))
    async with httpx.AsyncClient(base_url=base) as client:
        anonymous = await client.get("/v1/snapshot")
        assert anonymous.status_code == 401
        assert anonymous.json()["error"]["code"] == "unauthorized"
        assert anonymous.headers["WWW-Authenticate"].startswith("Bearer")
        wrong = await client.get("/v1/snapshot", headers={"Authorization": "Bearer nope"})
        assert wrong.status_code == 401
        # nothing is learnt without the token, not even which paths exist
        assert (await client.get("/v1/nothing")).status_code == 401
        acted = await client.post("/v1/broadcast", json={"message": "hi"})
        assert acted.status_code == 401 and not sim.engine.broadcasts
        assert (await client.get("/v1/health")).status_code == 200
        good = await client.get("/v1/snapshot",
                                headers={"Authorization": f"Bearer {TOKEN}"})
        assert good.status_code == 200


async def test_source_failures_are_json(hosting: tuple[Swappable, str]) -> None:
    failing = ScriptedSource([centre()])
    failing.fail_with = "PBX API down"
    base = host(hosting, ProtocolServer(failing))
    async with httpx.AsyncClient(base_url=base) as client:
        down = await client.get("/v1/snapshot")
        assert down.status_code == 503
        assert down.json() == {"error": {"code": "source_unavailable",
                                         "message": "PBX API down"}}

    class Crashing(ScriptedSource):
        async def snapshot(self) -> Snapshot:
            raise RuntimeError("bug\nwith a second line")

    base = host(hosting, ProtocolServer(Crashing([centre()])))
    async with httpx.AsyncClient(base_url=base) as client:
        crash = await client.get("/v1/snapshot")
        assert crash.status_code == 500
        error = crash.json()["error"]
        assert error["code"] == "internal" and "RuntimeError: bug" in error["message"]
        assert "\n" not in error["message"] and "Traceback" not in crash.text


def test_check_listen() -> None:
    assert check_listen("127.0.0.1", None, "T") is None
    assert check_listen("::1", None, "T") is None
    assert check_listen("0.0.0.0", TOKEN, "T") is None
    refusal = check_listen("0.0.0.0", None, "MY_TOKEN")
    assert refusal and "MY_TOKEN" in refusal and "0.0.0.0" in refusal
    short = check_listen("127.0.0.1", "abc", "MY_TOKEN")
    assert short and "too short" in short


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seed", type=int)  # as the top-level CLI has
    add_parser(parser.add_subparsers(dest="command"))
    return parser.parse_args(argv)


def test_parser_defaults_and_overrides() -> None:
    args = parse(["serve-sim"])
    assert (args.host, args.port, args.token_env) == ("127.0.0.1", 8765, DEFAULT_TOKEN_ENV)
    assert not hasattr(args, "scenario") and args.seed is None
    assert parse(["--seed", "4", "serve-sim"]).seed == 4  # top-level option survives
    args = parse(["serve-sim", "--seed", "5", "--scenario", "surge", "--speed", "10"])
    assert (args.seed, args.scenario, args.speed) == (5, "surge", 10.0)
    with pytest.raises(SystemExit):
        parse(["serve-sim", "--port", "70000"])
    with pytest.raises(SystemExit):
        parse(["serve-sim", "--speed", "0"])


def test_refuses_to_start_off_loopback_without_a_token(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.delenv(DEFAULT_TOKEN_ENV, raising=False)
    code = run(parse(["serve-sim", "--host", "0.0.0.0", "--port", "0"]), Config())
    assert code == 2
    err = capsys.readouterr().err
    assert "refusing to listen on 0.0.0.0 without a token" in err
    assert DEFAULT_TOKEN_ENV in err and "Traceback" not in err


def test_refuses_a_short_token_and_half_tls(monkeypatch: pytest.MonkeyPatch,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("SHORT_TOKEN", "abc")
    args = parse(["serve-sim", "--port", "0", "--token-env", "SHORT_TOKEN"])
    assert run(args, Config()) == 2
    assert "too short" in capsys.readouterr().err
    assert run(parse(["serve-sim", "--tls-cert", "c.pem"]), Config()) == 2
    assert "go together" in capsys.readouterr().err


def test_port_in_use_is_a_clear_error(capsys: pytest.CaptureFixture[str]) -> None:
    from supervisor_tui.protocol.server import bind

    taken = bind("127.0.0.1", 0)
    try:
        port = taken.getsockname()[1]
        assert run(parse(["serve-sim", "--port", str(port)]), Config()) == 2
    finally:
        taken.close()
    assert f"cannot listen on 127.0.0.1:{port}" in capsys.readouterr().err


# -- delta snapshots ------------------------------------------------------------------

DELTA = {"A-IM": "snapshot-delta", "Accept-Encoding": "identity"}


async def test_delta_has_only_what_changed(client: httpx.AsyncClient,
                                           sim: SimulatorSource) -> None:
    first = await client.get("/v1/snapshot", headers={"Accept-Encoding": "identity"})
    before = parse_snapshot(first.json())
    contact = waiting(await current(sim))
    moved = await client.post(f"/v1/contacts/{contact}/move", json={"queue_id": "billing"})
    assert moved.status_code == 200
    delta = await client.get("/v1/snapshot",
                             headers={**DELTA, "If-None-Match": first.headers["ETag"]})
    assert delta.status_code == 226
    assert delta.headers["IM"] == "snapshot-delta"
    assert delta.headers["Delta-Base"] == first.headers["ETag"]
    assert "A-IM" in delta.headers["Vary"]
    doc = parse_delta(delta.json())
    full = await client.get("/v1/snapshot", headers={"Accept-Encoding": "identity"})
    after = parse_snapshot(full.json())
    assert delta.headers["ETag"] == full.headers["ETag"]  # the version it brings us to
    assert len(delta.content) < len(full.content) / 5
    # exactly the records that differ, worked out from the two full documents
    old_contacts = {c.id: c for c in before.contacts}
    assert doc.contacts == [c for c in after.contacts if old_contacts.get(c.id) != c]
    assert [c.id for c in doc.contacts] == [contact]
    assert doc.contacts[0].queue_id == "billing"
    old_agents = {a.id: a for a in before.agents}
    assert doc.agents == [a for a in after.agents if old_agents.get(a.id) != a]
    old_queues = {q.id: q for q in before.queues}
    assert doc.queues == [q for q in after.queues if old_queues.get(q.id) != q]
    assert doc.agents_removed == doc.contacts_removed == doc.queues_removed == []
    assert doc.taken_at == after.taken_at and doc.capabilities == after.capabilities


async def test_delta_only_when_asked_for_and_known(client: httpx.AsyncClient,
                                                  sim: SimulatorSource) -> None:
    first = await client.get("/v1/snapshot", headers={"Accept-Encoding": "identity"})
    etag = first.headers["ETag"]
    # the current version is still a 304, A-IM or not
    same = await client.get("/v1/snapshot", headers={**DELTA, "If-None-Match": etag})
    assert same.status_code == 304
    await client.post(f"/v1/contacts/{waiting(await current(sim))}/move",
                      json={"queue_id": "billing"})
    old_client = await client.get("/v1/snapshot", headers={"If-None-Match": etag})
    assert old_client.status_code == 200 and "IM" not in old_client.headers
    for unknown in ({"If-None-Match": '"never-served"'}, {}):
        full = await client.get("/v1/snapshot", headers={**DELTA, **unknown})
        assert full.status_code == 200
        assert parse_snapshot(full.json()).agents  # a whole snapshot
    # W/ and several candidates: the first known one is the base
    listed = await client.get("/v1/snapshot", headers={
        **DELTA, "If-None-Match": f'"never-served", W/{etag}'})
    assert listed.status_code == 226 and listed.headers["Delta-Base"] == f"W/{etag}"


async def test_gzip_etag_names_the_same_base(client: httpx.AsyncClient,
                                             sim: SimulatorSource) -> None:
    zipped = await client.get("/v1/snapshot", headers={"Accept-Encoding": "gzip"})
    etag_gz = zipped.headers["ETag"]
    assert etag_gz.endswith('-gz"')
    await client.post(f"/v1/contacts/{waiting(await current(sim))}/move",
                      json={"queue_id": "billing"})
    delta = await client.get("/v1/snapshot", headers={"A-IM": "snapshot-delta",
                                                      "If-None-Match": etag_gz})
    assert delta.status_code == 226 and delta.headers["Delta-Base"] == etag_gz
    assert delta.headers["ETag"].endswith('-gz"')  # the full body's tag in this coding
    assert len(parse_delta(delta.json()).contacts) == 1


async def test_deltas_are_built_once_per_base(hosting: tuple[Swappable, str],
                                              sim: SimulatorSource) -> None:
    server = ProtocolServer(sim)
    async with httpx.AsyncClient(base_url=host(hosting, server)) as client:
        first = await client.get("/v1/snapshot", headers={"Accept-Encoding": "identity"})
        await client.post(f"/v1/contacts/{waiting(await current(sim))}/move",
                          json={"queue_id": "billing"})
        headers = {**DELTA, "If-None-Match": first.headers["ETag"]}
        one = await client.get("/v1/snapshot", headers=headers)
        two = await client.get("/v1/snapshot", headers=headers)
    assert one.status_code == two.status_code == 226 and one.content == two.content
    assert server._cache is not None
    assert list(server._cache.deltas) == [first.headers["ETag"]]
    assert server._cache.deltas[first.headers["ETag"]].body == one.content


async def test_history_is_bounded(hosting: tuple[Swappable, str],
                                  sim: SimulatorSource) -> None:
    server = ProtocolServer(sim, history_size=2)
    async with httpx.AsyncClient(base_url=host(hosting, server)) as client:
        tags = []
        for _ in range(3):
            full = await client.get("/v1/snapshot", headers={"Accept-Encoding": "identity"})
            tags.append(full.headers["ETag"])
            await client.post(f"/v1/contacts/{waiting(await current(sim))}/move",
                              json={"queue_id": "billing"})
        expired = await client.get("/v1/snapshot", headers={**DELTA, "If-None-Match": tags[0]})
        kept = await client.get("/v1/snapshot", headers={**DELTA, "If-None-Match": tags[2]})
    assert len(set(tags)) == 3 and len(server._history) == 2
    assert expired.status_code == 200 and kept.status_code == 226
