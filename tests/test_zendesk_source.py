"""The zendesk source against a Zendesk Talk fake on respx (SaaS we cannot run here).

The fake answers in the shapes of Zendesk's Talk stats documentation: one object per
stats endpoint, offset paging with an absolute ``next_page`` link and a ``count``.
"""

from __future__ import annotations

import base64
import math
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest

from supervisor_tui.domain import metrics
from supervisor_tui.domain.intervals import IntervalPolicy
from supervisor_tui.domain.model import AgentStateKind, Channel, SLFormula
from supervisor_tui.poller import Poller
from supervisor_tui.sources.base import Capability, SourceError
from supervisor_tui.sources.limits import RateLimited, RequestBudget
from supervisor_tui.sources.zendesk.settings import ZendeskSettings
from supervisor_tui.sources.zendesk.source import ZendeskSource
from tests.counting import count_problems

respx = pytest.importorskip("respx", reason="respx (a test dependency) is not installed")

BASE = "https://acme.zendesk.com"
STATS = "/api/v2/channels/voice/stats"
POLICY = IntervalPolicy(minutes=30, tz="UTC")
NOW = datetime(2026, 11, 22, 10, 20, tzinfo=UTC)
TOKEN_ENV = "SUPERVISOR_TUI_TEST_ZENDESK_TOKEN"
OAUTH_ENV = "SUPERVISOR_TUI_TEST_ZENDESK_OAUTH"
SETTINGS: dict[str, Any] = {"subdomain": "acme", "email": "sup@acme.test",
                            "token_env": TOKEN_ENV}


class Clock:
    def __init__(self, now: datetime = NOW) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@dataclass
class FakeAgent:
    agent_id: int
    name: str
    state: str
    call_status: str | None = None
    accepted: int = 0
    talk: int = 0
    hold: int = 0
    wrap: int = 0

    def doc(self) -> dict[str, Any]:
        return {"agent_id": self.agent_id, "name": self.name, "agent_state": self.state,
                "call_status": self.call_status, "via": "client", "avatar_url": None,
                "forwarding_number": None, "calls_accepted": self.accepted,
                "calls_denied": 0, "calls_missed": 1, "online_time": 3600,
                "available_time": 1800, "away_time": 60, "transfers_only_time": 0,
                "total_call_duration": self.talk + self.hold, "total_talk_time": self.talk,
                "total_hold_time": self.hold, "total_wrap_up_time": self.wrap,
                "average_talk_time": 0, "average_hold_time": 0, "average_wrap_up_time": 0,
                "accepted_transfers": 0, "started_transfers": 0, "calls_put_on_hold": 0,
                "accepted_third_party_conferences": 0, "started_third_party_conferences": 0}


class FakeZendesk:
    def __init__(self) -> None:
        self.queue: dict[str, Any] = {"agents_online": 6, "average_wait_time": 40,
                                      "callbacks_waiting": 1, "calls_waiting": 4,
                                      "embeddable_callbacks_waiting": 0,
                                      "longest_wait_time": 95}
        self.overview: dict[str, Any] = {
            "average_call_duration": 300, "average_queue_wait_time": 30,
            "average_wrap_up_time": 40, "max_calls_waiting": 9, "max_queue_wait_time": 400,
            "total_call_duration": 90000, "total_calls": 320, "total_voicemails": 5,
            "total_wrap_up_time": 4000, "average_time_to_answer": 25,
            "total_calls_abandoned_in_queue": 17, "total_inbound_calls": 290,
            "total_calls_with_exceeded_queue_wait_time": 3,
            "total_outbound_calls": 30}
        self.agents: list[FakeAgent] = [
            FakeAgent(101, "Ann", "online", None, 10, 3000, 120, 400),
            FakeAgent(102, "Bob", "online", "on_call", 12, 3600, 0, 500),
            FakeAgent(103, "Cy", "away", None, 5, 1500, 60, 200),
            FakeAgent(104, "Di", "transfers_only"),
            FakeAgent(105, "Ed", "offline"),
            FakeAgent(106, "Flo", "online", "wrap_up", 3, 900, 30, 100),
        ]
        #: (kind, data) -> data, to spoil an answer
        self.mangle: Callable[[str, Any], Any] | None = None
        #: answer a request ourselves before the fake does
        self.override: Callable[[httpx.Request], httpx.Response | None] | None = None
        self.next_host = BASE
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

    def _answer(self, kind: str, data: Any) -> httpx.Response:
        if self.mangle is not None:
            data = self.mangle(kind, data)
        return httpx.Response(200, json=data)

    def handle(self, request: httpx.Request) -> httpx.Response:
        if self.override is not None:
            answer = self.override(request)
            if answer is not None:
                return answer
        path = request.url.path
        if path == f"{STATS}/current_queue_activity":
            return self._answer("queue", {"current_queue_activity": dict(self.queue)})
        if path == f"{STATS}/account_overview":
            return self._answer("overview", {"account_overview": dict(self.overview)})
        if path in (f"{STATS}/agents_activity", f"{STATS}/agents_activity.json"):
            query = parse_qs(request.url.query.decode())
            per_page = int(query.get("per_page", ["100"])[0])
            page = int(query.get("page", ["1"])[0])
            chunk = self.agents[(page - 1) * per_page:page * per_page]
            more = page * per_page < len(self.agents)
            next_page = (f"{self.next_host}{STATS}/agents_activity.json?page={page + 1}"
                         f"&per_page={per_page}") if more else None
            return self._answer("agents", {
                "agents_activity": [a.doc() for a in chunk], "next_page": next_page,
                "previous_page": None, "count": len(self.agents)})
        return httpx.Response(404, json={"error": "InvalidEndpoint",
                                         "description": "Not found"})


@pytest.fixture(autouse=True)
def token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(TOKEN_ENV, "zd-api-token-1234")
    monkeypatch.setenv(OAUTH_ENV, "zd-oauth-token-5678")


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def fake() -> FakeZendesk:
    return FakeZendesk()


Make = Callable[..., ZendeskSource]


@pytest.fixture
async def make(fake: FakeZendesk, clock: Clock) -> AsyncIterator[Make]:
    made: list[ZendeskSource] = []

    def build(**overrides: Any) -> ZendeskSource:
        settings = ZendeskSettings(**{**SETTINGS, **overrides})
        source = ZendeskSource("zendesk", POLICY, settings, transport=fake.transport,
                               clock=clock)
        made.append(source)
        return source

    yield build
    for source in made:
        await source.close()


async def poll_counted(source: ZendeskSource, fake: FakeZendesk) -> tuple[int, int, Any]:
    cost = source.poll_cost()
    before = len(fake.calls)
    snap = await source.snapshot()
    return cost, len(fake.calls) - before, snap


def one_line(err: BaseException) -> str:
    text = str(err)
    assert text and "\n" not in text and "Traceback" not in text
    return text


# -- mapping ---------------------------------------------------------------------------


async def test_snapshot_mapping(make: Make, fake: FakeZendesk, clock: Clock) -> None:
    source = make(account_tz="America/New_York", queue_name="Phones", threshold_s=30)
    snap = await source.snapshot()
    (queue,) = snap.queues
    assert (queue.id, queue.name, queue.channel, queue.threshold_s, queue.source) == (
        "talk", "Phones", Channel.VOICE, 30.0, "zendesk")
    assert snap.contacts == ()  # Zendesk lists no calls: none are made up
    assert snap.interval_stats == {}
    by_name = {a.name: a for a in snap.agents}
    assert {n: (a.state.kind, a.state.reason) for n, a in by_name.items()} == {
        "Ann": (AgentStateKind.AVAILABLE, None),
        "Bob": (AgentStateKind.ON_CONTACT, None),
        "Cy": (AgentStateKind.AWAY, "away"),
        "Di": (AgentStateKind.AWAY, "transfers only"),
        "Ed": (AgentStateKind.OFFLINE, None),
        "Flo": (AgentStateKind.AFTER_CONTACT_WORK, None),
    }
    assert all(a.state.since == NOW and a.skills == ("talk",) for a in snap.agents)
    assert by_name["Ann"].id == "101"
    # Day counters, worked by hand: accepted 10 + 12 + 5 + 3 = 30; handle time
    # (3000+120+400) + (3600+0+500) + (1500+60+200) + (900+30+100) = 10410 s.
    stats = snap.day_stats["talk"]
    assert (stats.abandoned, stats.handled, stats.handle_s) == (17, 30, 10410.0)
    # Offered: what left the queue today (30 accepted + 17 abandoned + 3 past the maximum
    # wait), not the 290 inbound calls (arrivals, some still in the IVR or waiting).
    assert (stats.offered, stats.flowed_out) == (50, 3)
    assert metrics.abandon_rate(stats) == pytest.approx(17 / 50)
    # Nothing that could feed a made-up service level.
    assert (stats.answered, stats.answered_within_threshold,
            stats.abandoned_after_threshold, stats.wait_answered_s) == (0, 0, 0, 0.0)
    assert metrics.service_level(stats) is None
    assert metrics.service_level(stats, SLFormula.ANSWERED) is None
    assert count_problems(snap, exact=False) == []  # offered > the rest: the accepted
    # The account's day: midnight in New York, not the console's UTC midnight.
    assert stats.window_start == datetime(2026, 11, 22, 5, 0, tzinfo=UTC)
    day = source.day_counts
    assert day is not None and (day.offered, day.abandoned, day.answered) == (290, 17, 30)
    live = source.live
    assert live is not None
    assert (live.calls_waiting, live.callbacks_waiting, live.waiting) == (4, 1, 5)
    assert live.longest_wait_s == 95.0 and live.agents_online == 6
    assert live.oldest_since == NOW - timedelta(seconds=95)
    assert source.notes[0].startswith("Talk queue now: 4 call(s) + 1 callback(s) waiting, "
                                      "longest 1m35s")
    assert any("290 inbound, 30 accepted, 17 abandoned" in n for n in source.notes)
    assert any("first saw the state" in n for n in source.notes)


async def test_since_is_when_first_seen(make: Make, fake: FakeZendesk, clock: Clock) -> None:
    source = make()
    first = await source.snapshot()
    clock.advance(10)
    fake.agents[0].call_status = "on_call"  # Ann takes a call
    second = await source.snapshot()
    ann = next(a for a in second.agents if a.name == "Ann")
    bob = next(a for a in second.agents if a.name == "Bob")
    assert ann.state.kind == AgentStateKind.ON_CONTACT and ann.state.since == NOW + timedelta(
        seconds=10)
    assert bob.state.since == NOW
    assert bob is next(a for a in first.agents if a.name == "Bob")  # unchanged: same object


async def test_state_map_and_unmapped_states(make: Make, fake: FakeZendesk) -> None:
    fake.agents[3].state = "on_break"
    fake.agents[2].state = "away"
    source = make(state_map={"Away": "offline"})
    snap = await source.snapshot()
    kinds = {a.name: (a.state.kind, a.state.reason) for a in snap.agents}
    assert kinds["Cy"] == (AgentStateKind.OFFLINE, None)
    assert kinds["Di"] == (AgentStateKind.AWAY, "on break")
    assert any("not in state_map" in n and "on_break" in n for n in source.notes)


async def test_missing_plan_fields_show_nothing_rather_than_zero_truth(
        make: Make, fake: FakeZendesk) -> None:
    fake.overview = {"total_calls": 12, "total_call_duration": 600}  # below Professional
    source = make()
    snap = await source.snapshot()
    assert snap.day_stats["talk"].abandoned == 0
    assert source.day_counts is not None and source.day_counts.offered is None
    assert any("? inbound" in n for n in source.notes)
    assert any("no abandoned count" in n for n in source.notes)


# -- paging, cost and budget ---------------------------------------------------------------


async def test_paging_follows_next_page(make: Make, fake: FakeZendesk) -> None:
    fake.agents = [FakeAgent(1000 + i, f"Agent {i}", "online") for i in range(250)]
    source = make()
    cost, sent, snap = await poll_counted(source, fake)
    assert (cost, sent) == (3, 5)  # first poll: page count unknown until the first answer
    assert len(snap.agents) == 250 and len({a.id for a in snap.agents}) == 250
    pages = [r for r in fake.requests() if r.url.path.startswith(f"{STATS}/agents_activity")]
    assert [parse_qs(r.url.query.decode()).get("page", ["1"])[0] for r in pages] == [
        "1", "2", "3"]
    assert all(parse_qs(r.url.query.decode())["per_page"] == ["100"] for r in pages)
    cost, sent, _ = await poll_counted(source, fake)
    assert (cost, sent) == (1 + 3, 4)  # Zendesk's count gave the page count: exact now


async def test_poll_cost_equals_requests_sent(make: Make, fake: FakeZendesk,
                                              clock: Clock) -> None:
    source = make(overview_refresh_s=60)
    cost, sent, _ = await poll_counted(source, fake)
    assert (cost, sent) == (3, 3)  # queue activity, one agents page, the overview
    clock.advance(5)
    cost, sent, _ = await poll_counted(source, fake)
    assert (cost, sent) == (2, 2)  # the overview is fresh
    clock.advance(60)
    cost, sent, _ = await poll_counted(source, fake)
    assert (cost, sent) == (3, 3)
    assert source.last_poll_requests == 3


async def test_day_rollover_rereads_the_overview(make: Make, fake: FakeZendesk,
                                                 clock: Clock) -> None:
    source = make(overview_refresh_s=3600)
    await source.snapshot()
    clock.now = datetime(2026, 11, 23, 0, 0, 5, tzinfo=UTC)
    cost, sent, snap = await poll_counted(source, fake)
    assert (cost, sent) == (3, 3)
    assert snap.day_stats["talk"].window_start == datetime(2026, 11, 23, tzinfo=UTC)


async def test_poller_never_exceeds_the_budget(make: Make, fake: FakeZendesk,
                                               clock: Clock) -> None:
    ticks = [0.0]
    source = make(overview_refresh_s=3600)
    source._client.budget = RequestBudget(7, 60.0, monotonic=lambda: ticks[0])
    poller = Poller([source], interval_s=0.01, timeout_s=5)
    sent: list[int] = []
    for _ in range(6):
        before = len(fake.calls)
        result = await poller.poll_once()
        assert result.errors == ()  # waits for room: never a 429 of our own making
        sent.append(len(fake.calls) - before)
        ticks[0] += 1.0
        clock.advance(1)
    assert sent == [3, 2, 2, 0, 0, 0]  # 7 in the window, then the poller waits
    ticks[0] += 60
    await poller.poll_once()
    assert len(fake.calls) == 9 and source.request_stats.rate_limited == 0


# -- auth ------------------------------------------------------------------------------


async def test_api_token_is_basic_email_slash_token(make: Make, fake: FakeZendesk) -> None:
    await make().snapshot()
    expected = base64.b64encode(b"sup@acme.test/token:zd-api-token-1234").decode()
    assert {r.headers["Authorization"] for r in fake.requests()} == {f"Basic {expected}"}


async def test_oauth_token_is_bearer(make: Make, fake: FakeZendesk) -> None:
    await make(email=None, token_env=None, oauth_token_env=OAUTH_ENV).snapshot()
    assert {r.headers["Authorization"] for r in fake.requests()} == {
        "Bearer zd-oauth-token-5678"}


def test_missing_secret_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(TOKEN_ENV)
    with pytest.raises(SourceError) as caught:
        ZendeskSource("zendesk", POLICY, ZendeskSettings(**SETTINGS))
    assert TOKEN_ENV in one_line(caught.value)


# -- failures ----------------------------------------------------------------------------


async def test_429_raises_rate_limited_with_retry_after(make: Make, fake: FakeZendesk) -> None:
    fake.override = lambda r: (httpx.Response(429, headers={"Retry-After": "7"})
                               if r.url.path.endswith("current_queue_activity") else None)
    source = make()
    with pytest.raises(RateLimited) as caught:
        await source.snapshot()
    assert caught.value.retry_after == 7.0
    assert "429" in one_line(caught.value)


@pytest.mark.parametrize(("status", "body", "expected"), [
    (502, "<html><head><title>502 Bad Gateway</title></head></html>", "Bad Gateway"),
    (200, "<!DOCTYPE html><html><title>Maintenance</title></html>", "not JSON"),
    (200, "[1, 2]", "expected a JSON object"),
    (200, '{"error": "InvalidEndpoint", "description": "Not found"}',
     "Zendesk answered with an error: InvalidEndpoint: Not found"),
    (200, '{"error": {"title": "Forbidden", "message": "Talk is off"}}',
     "Forbidden: Talk is off"),
    (200, '{"something": "else"}', "no 'current_queue_activity'"),
    (200, '{"current_queue_activity": [1]}', "expected an object"),
    (200, '{"current_queue_activity": {"calls_waiting": 1, "longest_wait_time": NaN}}',
     "not a duration"),
])
async def test_junk_answers_are_one_line_errors(make: Make, fake: FakeZendesk, status: int,
                                                body: str, expected: str) -> None:
    fake.override = lambda r: (httpx.Response(status, text=body,
                                              headers={"content-type": "text/html"})
                               if r.url.path.endswith("current_queue_activity") else None)
    with pytest.raises(SourceError) as caught:
        await make().snapshot()
    assert expected in one_line(caught.value)


def spoil(kind: str, change: Callable[[dict[str, Any]], None]) -> Callable[[str, Any], Any]:
    def apply(k: str, data: Any) -> Any:
        if k == kind:
            change(data[{"queue": "current_queue_activity",
                         "overview": "account_overview"}[kind]])
        return data
    return apply


@pytest.mark.parametrize(("mangle", "expected"), [
    (spoil("queue", lambda d: d.update(calls_waiting=-2)), "negative count -2"),
    (spoil("queue", lambda d: d.update(calls_waiting="many")), "not a count"),
    (spoil("queue", lambda d: d.update(calls_waiting=True)), "true/false"),
    (spoil("queue", lambda d: d.pop("longest_wait_time")), "longest_wait_time"),
    (spoil("queue", lambda d: d.update(longest_wait_time=-1)), "not a duration"),
    (spoil("queue", lambda d: d.update(longest_wait_time=10**6)), "absurd"),
    (spoil("overview", lambda d: d.update(total_calls_abandoned_in_queue=-5)),
     "negative count"),
])
async def test_garbage_rejects_the_poll(make: Make, fake: FakeZendesk,
                                        mangle: Callable[[str, Any], Any],
                                        expected: str) -> None:
    fake.mangle = mangle
    with pytest.raises(SourceError) as caught:
        await make().snapshot()
    assert expected in one_line(caught.value)


async def test_impossible_day_counts_are_not_shown(make: Make, fake: FakeZendesk) -> None:
    fake.overview["total_calls_abandoned_in_queue"] = 900  # of 290 inbound
    source = make()
    snap = await source.snapshot()
    assert snap.day_stats == {}
    assert len(snap.agents) == 6 and snap.queue_live["talk"].waiting == 4
    assert source.notes[1] == ("day counters of Talk rejected (900 abandoned of 290 inbound "
                               "calls); shown as no data")
    result = await Poller([make()]).poll_once()
    assert result.health["zendesk"].notes[1] == source.notes[1]


async def test_counts_keep_the_rule_without_plan_fields(make: Make,
                                                       fake: FakeZendesk) -> None:
    fake.overview.pop("total_calls_with_exceeded_queue_wait_time")
    snap = await make().snapshot()
    stats = snap.day_stats["talk"]
    assert (stats.offered, stats.flowed_out) == (47, 0)
    assert count_problems(snap, exact=False) == []
    assert count_problems(snap, exact=True) != []  # the documented exception, and only it


async def test_a_failed_poll_keeps_the_last_good_data(make: Make, fake: FakeZendesk) -> None:
    source = make()
    poller = Poller([source], interval_s=0.01, timeout_s=5)
    good = await poller.poll_once()
    fake.mangle = spoil("queue", lambda d: d.update(calls_waiting=-1))
    bad = await poller.poll_once()
    assert bad.errors and "negative count" in bad.errors[0]
    assert bad.snapshot is not None and bad.snapshot.agents == good.snapshot.agents


async def test_garbage_agent_records_are_dropped_and_said(make: Make,
                                                          fake: FakeZendesk) -> None:
    def spoil_agents(kind: str, data: Any) -> Any:
        if kind == "agents":
            data["agents_activity"][0]["calls_accepted"] = -1
            data["agents_activity"][1]["agent_id"] = "x'; drop"
        return data
    fake.mangle = spoil_agents
    source = make()
    snap = await source.snapshot()
    assert len(snap.agents) == 4
    assert any("dropped 2 unreadable agent record(s)" in n for n in source.notes)


async def test_mostly_garbage_agents_reject_the_poll(make: Make, fake: FakeZendesk) -> None:
    def spoil_agents(kind: str, data: Any) -> Any:
        if kind == "agents":
            for item in data["agents_activity"][:4]:
                item["agent_state"] = None
        return data
    fake.mangle = spoil_agents
    with pytest.raises(SourceError) as caught:
        await make().snapshot()
    assert "4 of 6 records unreadable" in one_line(caught.value)


async def test_paging_never_leaves_our_host(make: Make, fake: FakeZendesk) -> None:
    fake.agents = [FakeAgent(1000 + i, f"A{i}", "online") for i in range(150)]
    fake.next_host = "https://evil.example"
    with pytest.raises(SourceError) as caught:
        await make().snapshot()
    assert "another host" in one_line(caught.value)
    assert all(r.url.host == "acme.zendesk.com" for r in fake.requests())


async def test_paging_in_circles_is_an_error(make: Make, fake: FakeZendesk) -> None:
    def loop(kind: str, data: Any) -> Any:
        if kind == "agents":
            data["next_page"] = f"{BASE}{STATS}/agents_activity.json?page=2&per_page=100"
        return data
    fake.mangle = loop
    with pytest.raises(SourceError) as caught:
        await make().snapshot()
    assert "circles" in one_line(caught.value)


async def test_max_pages_cuts_and_says(make: Make, fake: FakeZendesk) -> None:
    fake.agents = [FakeAgent(1000 + i, f"A{i}", "online") for i in range(250)]
    source = make(max_pages=2)
    _, sent, snap = await poll_counted(source, fake)
    assert len(snap.agents) == 200 and sent == 4
    assert any("cut at 2 pages" in n for n in source.notes)
    assert source.poll_cost() == 1 + 2  # never plans more than max_pages


# -- read-only ----------------------------------------------------------------------------


async def test_read_only(make: Make, fake: FakeZendesk) -> None:
    source = make()
    assert source.capabilities == frozenset({Capability.SNAPSHOT})
    result = await source.move_contact("1", "talk")
    assert (result.ok, result.code) == (False, "unsupported")
    assert fake.calls == []


# -- settings ----------------------------------------------------------------------------


@pytest.mark.parametrize(("overrides", "expected"), [
    ({"base_url": "https://x.example"}, "exactly one of subdomain or base_url"),
    ({"subdomain": "bad domain"}, "subdomain"),
    ({"token_env": None}, "email and token_env go together"),
    ({"oauth_token_env": OAUTH_ENV}, "either email + token_env"),
    ({"email": None, "token_env": None}, "either email + token_env"),
    ({"subdomain": None, "base_url": "http://zd.example"}, "loopback"),
    ({"subdomain": None, "base_url": "https://zd.example/api"}, "scheme://host"),
    ({"account_tz": "Mars/Olympus"}, "unknown time zone"),
    ({"short_abandon_s": 30}, "short_abandon_s"),
])
def test_settings_are_checked(overrides: dict[str, Any], expected: str) -> None:
    with pytest.raises(ValueError) as caught:
        ZendeskSettings(**{**SETTINGS, **overrides})
    assert expected in str(caught.value)


def test_settings_defaults() -> None:
    s = ZendeskSettings(**SETTINGS)
    assert s.url() == "https://acme.zendesk.com"
    assert ZendeskSettings.default_budget == (200, 60.0)
    budget = s.make_budget()
    assert budget is not None and (budget.limit, budget.window_s) == (200, 60.0)
    # 200 a minute can never reach the queue-activity limit of 2,500 per 5 minutes.
    assert 200 * 5 < 2500
    local = ZendeskSettings(subdomain=None, base_url="http://127.0.0.1:9/",
                            oauth_token_env=OAUTH_ENV)
    assert local.url() == "http://127.0.0.1:9"
    assert math.isclose(s.threshold_s, 20.0)
