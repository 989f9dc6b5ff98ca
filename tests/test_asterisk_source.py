"""The asterisk source against a loopback AMI server (tests/ami_fake.py) speaking AMI as
Asterisk writes it: login, the QueueStatus dump, live app_queue events, and what goes
wrong on a real network: writes cut anywhere, a socket dropped mid-message, a PBX
restart, a refused login, garbage and hostile field values."""

from __future__ import annotations

import asyncio
import hashlib
import re
import shutil
import ssl
import subprocess
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from supervisor_tui.domain import metrics
from supervisor_tui.domain.intervals import IntervalPolicy
from supervisor_tui.domain.model import (
    ActionCode,
    AgentStateKind,
    ContactState,
    HealthStatus,
    SLFormula,
    Snapshot,
    Tier,
)
from supervisor_tui.poller import Poller
from supervisor_tui.sources.asterisk.protocol import AmiError, encode, parse
from supervisor_tui.sources.asterisk.settings import AsteriskSettings
from supervisor_tui.sources.asterisk.source import AsteriskSource
from supervisor_tui.sources.base import Capability, SourceError
from tests.ami_fake import (
    CHALLENGE,
    SECRET,
    USER,
    EntryP,
    FakeAsterisk,
    MemberP,
    channel,
    event,
    in_thread,
)
from tests.counting import count_problems
from tests.hostile import require as hostile_strings

POLICY = IntervalPolicy(minutes=30, tz="UTC")
NOW = datetime(2026, 12, 6, 10, 5, tzinfo=UTC)
SECRET_ENV = "SUPERVISOR_TUI_TEST_AMI_SECRET"


class Clock:
    def __init__(self, now: datetime = NOW) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


async def until(condition: Callable[[], Any], timeout: float = 5.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        if loop.time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.01)


async def live_snapshot(source: AsteriskSource, timeout: float = 6.0) -> Snapshot:
    """The next snapshot once the source is live again (after a reconnect's back-off)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        try:
            return await source.snapshot()
        except SourceError:
            if loop.time() > deadline:
                raise
            await asyncio.sleep(0.02)


def settings(port: int, **extra: Any) -> AsteriskSettings:
    base: dict[str, Any] = {"type": "asterisk", "host": "127.0.0.1", "port": port,
                            "username": USER, "secret_env": SECRET_ENV, "timeout_s": 3,
                            "move_context": "queues",
                            "queue_settings": {"sales": {"move_exten": "600",
                                                         "wrapup_s": 15},
                                               "support": {"channel": "voice",
                                                           "move_exten": "601"}},
                            "tier_by_priority": {"vip": 10, "gold": 5}}
    return AsteriskSettings.model_validate(base | extra)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def fake() -> AsyncIterator[FakeAsterisk]:
    server = FakeAsterisk()
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
async def source(fake: FakeAsterisk, clock: Clock, monkeypatch: pytest.MonkeyPatch
                 ) -> AsyncIterator[AsteriskSource]:
    monkeypatch.setenv(SECRET_ENV, SECRET)
    src = AsteriskSource("pbx", POLICY, settings(fake.port), clock=clock)
    yield src
    await src.close()


def join(uid: str, queue: str = "sales", name: str = "Farah Nasser",
         num: str = "+441632960555", count: int = 1) -> str:
    return event("QueueCallerJoin", *channel(uid, name, num), ("Queue", queue),
                 ("Position", count), ("Count", count))


def leave(uid: str, queue: str = "sales") -> str:
    return event("QueueCallerLeave", *channel(uid), ("Queue", queue), ("Count", 0),
                 ("Position", 1))


def connect(uid: str, interface: str, hold: int | str, queue: str = "sales",
            member: str = "Alice Martin") -> str:
    return event("AgentConnect", *channel(uid),
                 *channel(f"{uid}9", member, interface[-4:], f"{interface}-0000001a", "Dest"),
                 ("Queue", queue), ("MemberName", member), ("Interface", interface),
                 ("RingTime", 3), ("HoldTime", hold))


def complete(uid: str, interface: str, talk: int, queue: str = "sales",
             member: str = "Alice Martin") -> str:
    return event("AgentComplete", *channel(uid),
                 *channel(f"{uid}9", member, interface[-4:], f"{interface}-0000001a", "Dest"),
                 ("Queue", queue), ("MemberName", member), ("Interface", interface),
                 ("HoldTime", 12), ("TalkTime", talk), ("Reason", "caller"))


def abandon(uid: str, hold: int, queue: str = "sales") -> str:
    return event("QueueCallerAbandon", *channel(uid), ("Queue", queue), ("Position", 1),
                 ("OriginalPosition", 2), ("HoldTime", hold))


def member_status(interface: str, name: str, status: int, queue: str = "sales",
                  paused: int = 0, reason: str = "", last_call: int = 0,
                  ev: str = "QueueMemberStatus", membership: str = "dynamic") -> str:
    return event(ev, ("Queue", queue), ("MemberName", name), ("Interface", interface),
                 ("StateInterface", interface), ("Membership", membership), ("Penalty", 0),
                 ("CallsTaken", 24), ("LastCall", last_call), ("LastPause", 0),
                 ("LoginTime", 1796536800), ("InCall", 0), ("Status", status),
                 ("Paused", paused), ("PausedReason", reason), ("Ringinuse", 0),
                 ("Wrapuptime", 0))


# -- the wire ------------------------------------------------------------------------------


def test_parse_keeps_values_as_sent_and_counts_junk() -> None:
    message, junk = parse("Event: QueueMember\r\nPausedReason: \r\nName: Zoë: lead\r\n"
                          "free text without a colon\r\nServicelevelPerf: 87.1".encode())
    assert message == {"event": "QueueMember", "pausedreason": "", "name": "Zoë: lead",
                       "servicelevelperf": "87.1"}
    assert junk == 1


def test_an_action_never_carries_a_line_break() -> None:
    assert encode("QueuePause", {"Interface": "PJSIP/1001", "Reason": "lunch"}, "sup-1") == (
        b"Action: QueuePause\r\nActionID: sup-1\r\nInterface: PJSIP/1001\r\n"
        b"Reason: lunch\r\n\r\n")
    with pytest.raises(AmiError, match="line break"):
        encode("QueuePause", {"Reason": "x\r\n\r\nAction: Originate"}, "sup-2")


def test_settings_refuse_a_clear_text_secret_to_another_host() -> None:
    with pytest.raises(ValueError, match="clear text"):
        settings(5038, host="pbx.example.net", auth="plain")
    with pytest.raises(ValueError, match="context"):
        settings(5038, move_context="queues\r\nAction: Originate")
    assert settings(5038, host="pbx.example.net").auth == "md5"


# -- login, resync, snapshot ------------------------------------------------------------------


async def test_logs_in_by_challenge_and_reads_the_centre(source: AsteriskSource,
                                                         fake: FakeAsterisk) -> None:
    snap = await source.snapshot()
    login = fake.named("Login")[0]
    assert login["AuthType"] == "MD5" and "Secret" not in login
    assert login["Key"] == hashlib.md5((CHALLENGE + SECRET).encode()).hexdigest()
    assert login["Events"] == "agent,system"  # no call/dialplan/CDR traffic
    assert len(fake.named("QueueStatus")) == 1
    assert [q.id for q in snap.queues] == ["sales", "support"]
    sales = snap.queues[0]
    assert sales.threshold_s == 30  # the queue's servicelevel (QueueParams ServiceLevel)
    assert snap.queues[1].threshold_s == 20  # servicelevel unset: app_queue default
    agents = {a.id: a for a in snap.agents}
    assert agents["PJSIP/1001"].state.kind == AgentStateKind.AVAILABLE
    assert agents["PJSIP/1001"].skills == ("sales", "support")
    assert agents["PJSIP/1002"].state.kind == AgentStateKind.ON_CONTACT
    chen = agents["PJSIP/1003"].state
    assert (chen.kind, chen.reason) == (AgentStateKind.AWAY, "lunch")
    assert chen.since == datetime(2026, 12, 6, 9, 50, tzinfo=UTC)  # LastPause
    assert agents["PJSIP/1004"].state.kind == AgentStateKind.OFFLINE
    waiting = {c.id: c for c in snap.contacts}
    vip = waiting["1796551425.101"]
    assert vip.entered_at == NOW - timedelta(seconds=75) and vip.tier == Tier.VIP
    assert vip.customer == "Dana Whitfield"
    assert waiting["1796551476.107"].customer == "+441632960777"  # name "unknown": number
    assert waiting["1796551491.112"].queue_id == "support"
    assert all(c.state == ContactState.WAITING for c in snap.contacts)
    # nothing was counted yet: the console started mid-interval and says so
    assert snap.interval_stats["sales"].offered == 0
    assert snap.interval_stats["sales"].window_start == NOW
    assert any("counts from 10:05:00 only" in n for n in source.notes)
    assert source.poll_cost() == 0
    # the second poll sends nothing to Asterisk, and hands out the same objects
    before = len(fake.actions)
    again = await source.snapshot()
    assert len(fake.actions) == before
    assert all(a is b for a, b in zip(again.agents, snap.agents, strict=True))


async def test_live_events_are_counted_once_by_outcome(source: AsteriskSource,
                                                       fake: FakeAsterisk,
                                                       clock: Clock) -> None:
    await source.snapshot()
    # answered in 12 s (within 30): app_queue leaves the queue, then bridges
    await fake.push(leave("1796551425.101") + connect("1796551425.101", "PJSIP/1001", 87))
    # a new caller answered in 8 s
    await fake.push(join("1796551500.201") + leave("1796551500.201")
                    + connect("1796551500.201", "PJSIP/1003", 8))
    # abandoned after 41 s (after the threshold) and after 3 s (short)
    await fake.push(join("1796551502.202") + abandon("1796551502.202", 41)
                    + leave("1796551502.202"))
    await fake.push(join("1796551503.203") + abandon("1796551503.203", 3)
                    + leave("1796551503.203"))
    # left with no answer (Queue() timeout): flowed out once settle_s has passed
    await fake.push(join("1796551504.204") + leave("1796551504.204"))
    # timed out of support and straight into sales (the dialplan's next Queue()):
    # flowed out of support at once, waiting in sales
    await fake.push(join("1796551505.205", "support") + leave("1796551505.205", "support")
                    + join("1796551505.205", "sales"))
    await until(lambda: "1796551504.204" not in source.state.callers
                and source.state.members["PJSIP/1003"].contact is not None)
    clock.advance(1)
    snap = await source.snapshot()
    sales = snap.interval_stats["sales"]
    assert (sales.offered, sales.answered, sales.abandoned, sales.flowed_out) == (4, 2, 2, 0)
    clock.advance(5)
    snap = await source.snapshot()
    sales = snap.interval_stats["sales"]
    assert (sales.offered, sales.answered, sales.answered_within_threshold) == (5, 2, 1)
    assert (sales.abandoned, sales.abandoned_short, sales.abandoned_after_threshold) == (2, 1, 1)
    assert sales.flowed_out == 1 and sales.wait_answered_s == 95
    assert snap.interval_stats["support"].flowed_out == 1
    assert next(c for c in snap.contacts if c.id == "1796551505.205").queue_id == "sales"
    assert sales.window_start == NOW  # counted since the connection began
    assert count_problems(snap) == []
    assert metrics.service_level(sales, SLFormula.ANSWERED_AND_ABANDONED_AFTER) == 1 / 3
    alice = next(a for a in snap.agents if a.id == "PJSIP/1001")
    assert alice.state.kind == AgentStateKind.ON_CONTACT
    assert alice.contact_id == "1796551425.101" and alice.queue_id == "sales"
    talking = next(c for c in snap.contacts if c.id == "1796551425.101")
    assert talking.state == ContactState.CONNECTED and talking.agent_id == "PJSIP/1001"
    assert [a.id for a in snap.abandoned] == ["1796551502.202", "1796551503.203"]
    assert snap.abandoned[1].short and snap.abandoned[0].handle == "+441632960555"
    # the call ends: handled with its talk time, then wrap-up (sales wrapup_s = 15)
    await fake.push(complete("1796551425.101", "PJSIP/1001", 184)
                    + member_status("PJSIP/1001", "Alice Martin", 1))
    await until(lambda: source.state.members["PJSIP/1001"].contact is None)
    snap = await source.snapshot()
    assert snap.interval_stats["sales"].handled == 1
    assert snap.interval_stats["sales"].handle_s == 184
    alice = next(a for a in snap.agents if a.id == "PJSIP/1001")
    assert alice.state.kind == AgentStateKind.AFTER_CONTACT_WORK
    clock.advance(16)
    snap = await source.snapshot()
    alice = next(a for a in snap.agents if a.id == "PJSIP/1001")
    assert alice.state.kind == AgentStateKind.AVAILABLE
    assert alice.state.since == clock.now  # from when the wrap-up ended
    # the day counts the same callers; the next interval starts from nothing
    assert snap.day_stats["sales"].offered == 5
    clock.now = datetime(2026, 12, 6, 10, 30, 1, tzinfo=UTC)
    snap = await source.snapshot()
    assert snap.interval_stats["sales"].offered == 0
    # heard throughout: the new interval is whole, not a sample
    assert snap.interval_stats["sales"].window_start == datetime(2026, 12, 6, 10, 30,
                                                                 tzinfo=UTC)
    assert not any(n.startswith("interval counts") for n in source.notes)
    assert snap.day_stats["sales"].offered == 5


async def test_members_follow_their_events(source: AsteriskSource, fake: FakeAsterisk,
                                           clock: Clock) -> None:
    await source.snapshot()
    await fake.push(member_status("PJSIP/1003", "Chen Wei", 1, ev="QueueMemberPause")
                    + member_status("PJSIP/1005", "Gus Ferreira", 1, queue="support",
                                    ev="QueueMemberAdded")
                    + member_status("PJSIP/1001", "Alice Martin", 1, queue="support",
                                    ev="QueueMemberRemoved")
                    + member_status("PJSIP/1001", "Alice Martin", 1, paused=1,
                                    reason="training", ev="QueueMemberPause"))
    await until(lambda: "PJSIP/1005" in source.state.members
                and source.state.members["PJSIP/1001"].queues["sales"].paused)
    clock.advance(1)
    agents = {a.id: a for a in (await source.snapshot()).agents}
    assert agents["PJSIP/1003"].state.kind == AgentStateKind.AVAILABLE
    assert agents["PJSIP/1005"].skills == ("support",)
    assert agents["PJSIP/1001"].skills == ("sales",)
    # paused in every queue it still serves: away, with the reason
    assert (agents["PJSIP/1001"].state.kind, agents["PJSIP/1001"].state.reason) == (
        AgentStateKind.AWAY, "training")
    assert agents["PJSIP/1001"].state.since == clock.now  # no LastPause: first seen


# -- the network -------------------------------------------------------------------------------


async def test_messages_cut_into_pieces_read_the_same(fake: FakeAsterisk, clock: Clock,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(SECRET_ENV, SECRET)
    whole = AsteriskSource("pbx", POLICY, settings(fake.port), clock=clock)
    expected = await whole.snapshot()
    await whole.close()
    fake.entries[2].name = "Zoë Ångström 山田"  # multi-byte characters, cut mid-character
    fake.split = 3
    pieces = AsteriskSource("pbx", POLICY, settings(fake.port), clock=clock)
    try:
        snap = await pieces.snapshot()
        await fake.push(join("1796551600.301", name="Łukasz Żółw"))
        await until(lambda: "1796551600.301" in pieces.state.callers, 10)
        snap = await pieces.snapshot()
    finally:
        await pieces.close()
    assert [a.model_dump() for a in snap.agents] == [a.model_dump() for a in expected.agents]
    names = {c.id: c.customer for c in snap.contacts}
    assert names["1796551491.112"] == "Zoë Ångström 山田"
    assert names["1796551600.301"] == "Łukasz Żółw"


async def test_a_dropped_socket_is_stale_then_resynced(source: AsteriskSource,
                                                       fake: FakeAsterisk,
                                                       clock: Clock) -> None:
    poller = Poller([source], interval_s=0.05, timeout_s=5, clock=clock)
    first = await poller.poll_once()
    assert first.health["pbx"].status == HealthStatus.OK
    # cut mid-message: half an event, then nothing
    await fake.push(join("1796551600.401")[:60])
    clock.advance(2)
    fake.drop()
    # meanwhile (events missed): a waiting caller was answered, another joined
    fake.entries = [e for e in fake.entries if e.uid != "1796551425.101"]
    fake.entries.append(EntryP("sales", "1796551610.402", 4))
    await until(lambda: not source._live)
    result = await poller.poll_once()
    health = result.health["pbx"]
    assert health.status == HealthStatus.DEGRADED
    assert "not live since 10:05:02" in (health.last_error or "")
    assert "connection closed by Asterisk" in (health.last_error or "")
    # the last good data is kept (shown stale by its health), not replaced
    assert result.snapshot is not None and first.snapshot is not None
    assert result.snapshot.contacts == first.snapshot.contacts
    assert result.snapshot.taken_at == first.snapshot.taken_at
    clock.advance(3)
    snap = await live_snapshot(source)
    assert fake.logins == 2 and len(fake.named("QueueStatus")) == 2
    ids = {c.id for c in snap.contacts}
    assert "1796551425.101" not in ids and "1796551610.402" in ids
    assert "interval: 1 caller(s) left while events were missed: outcome unknown, not " \
        "counted" in source.notes
    assert any("interval counts miss 3 s of events" in n for n in source.notes)
    assert source.sessions == 2


async def test_a_pbx_restart(source: AsteriskSource, fake: FakeAsterisk,
                             clock: Clock) -> None:
    await source.snapshot()
    await fake.push(event("Shutdown", ("Shutdown", "Cleanly"), ("Restart", "True")))
    await until(lambda: not source._live)
    with pytest.raises(SourceError, match="shutting down to restart"):
        await source.snapshot()
    clock.advance(20)
    fake.drop()
    # Asterisk comes back: no caller survived, members reloaded from queues.conf
    fake.entries = []
    fake.uptime = 12
    snap = await live_snapshot(source)
    assert snap.contacts == ()
    assert any("Asterisk restarted (up 12 s" in n for n in source.notes)
    assert len(fake.named("QueueStatus")) == 2


async def test_a_reload_resyncs(source: AsteriskSource, fake: FakeAsterisk) -> None:
    before = await source.snapshot()
    fake.members.append(MemberP("support", "Hana Sato", "PJSIP/1006"))
    fake.queues = fake.queues[:1]  # support removed from queues.conf...
    bob = next(a for a in before.agents if a.id == "PJSIP/1002")
    await fake.push(block_reload("app_queue.so"))
    await until(lambda: len(fake.named("QueueStatus")) == 2 and source._live)
    snap = await source.snapshot()
    assert [q.id for q in snap.queues] == ["sales"]  # ...and gone here
    assert next(a for a in snap.agents if a.id == "PJSIP/1002") is bob  # unchanged: kept
    assert "PJSIP/1004" not in {a.id for a in snap.agents}  # only in support
    await fake.push(block_reload("chan_pjsip.so"))  # another module: nothing to do
    await asyncio.sleep(0.1)
    assert len(fake.named("QueueStatus")) == 2


def block_reload(module: str) -> str:
    return "Event: Reload\r\nPrivilege: system,all\r\nModule: " + module + \
        "\r\nStatus: 0\r\n\r\n"


async def test_a_silent_connection_is_found_by_ping(fake: FakeAsterisk, clock: Clock,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(SECRET_ENV, SECRET)
    source = AsteriskSource("pbx", POLICY, settings(fake.port, ping_every_s=2, timeout_s=0.5),
                            clock=clock)
    try:
        await source.snapshot()
        fake.silent = True  # the socket stays open; nothing answers any more
        await until(lambda: not source._live, 5)
        with pytest.raises(SourceError, match=r"Ping: no answer within 0\.5 s"):
            await source.snapshot()
        assert fake.named("Ping")
        fake.silent = False
        await live_snapshot(source)
    finally:
        await source.close()


async def test_a_refused_login_says_so_and_backs_off(fake: FakeAsterisk, clock: Clock,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(SECRET_ENV, "wrong")
    source = AsteriskSource("pbx", POLICY, settings(fake.port), clock=clock)
    try:
        with pytest.raises(SourceError) as err:
            await source.snapshot()
        assert "login as sup refused (Authentication failed)" in str(err.value)
        assert "wrong" not in str(err.value)
        await asyncio.sleep(0.3)
        assert len(fake.named("Login")) == 1  # not hammered: backing off
    finally:
        await source.close()


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1, made by the openssl command."""
    if shutil.which("openssl") is None:
        pytest.skip("the openssl command is needed to make a test certificate")
    where = tmp_path_factory.mktemp("tls")
    cert, key = where / "cert.pem", where / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                    "-keyout", str(key), "-out", str(cert), "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1"],
                   check=True, capture_output=True, timeout=60)
    return cert, key


async def test_over_tls_the_certificate_is_verified(certificate: tuple[Path, Path],
                                                    clock: Clock,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    cert, key = certificate
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    fake = FakeAsterisk()
    await fake.start(tls=context)
    monkeypatch.setenv(SECRET_ENV, SECRET)
    trusted = AsteriskSource("pbx", POLICY, settings(fake.port, tls=True, ca_bundle=str(cert),
                                                     auth="plain"), clock=clock)
    untrusted = AsteriskSource("pbx", POLICY, settings(fake.port, tls=True), clock=clock)
    try:
        snap = await trusted.snapshot()
        assert len(snap.queues) == 2
        assert fake.named("Login")[0]["Secret"] == SECRET  # plain, but inside TLS
        with pytest.raises(SourceError, match=r"TLS with 127\.0\.0\.1:\d+ failed: "
                                              r"self.signed certificate"):
            await untrusted.snapshot()
    finally:
        await trusted.close()
        await untrusted.close()
        await fake.stop()
    with pytest.raises(ValueError, match="clear text"):
        settings(5039, host="pbx.example.net", auth="plain")
    assert settings(5039, host="pbx.example.net", auth="plain", tls=True).tls


async def test_not_an_ami_server(clock: Clock, monkeypatch: pytest.MonkeyPatch) -> None:
    async def http(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"HTTP/1.1 400 Bad Request\r\n\r\n")
        writer.close()

    server = await asyncio.start_server(http, "127.0.0.1", 0)
    monkeypatch.setenv(SECRET_ENV, SECRET)
    source = AsteriskSource("pbx", POLICY, settings(server.sockets[0].getsockname()[1]),
                            clock=clock)
    try:
        with pytest.raises(SourceError, match="is not an AMI server"):
            await source.snapshot()
    finally:
        await source.close()
        server.close()


# -- hostile data ------------------------------------------------------------------------------


async def test_garbage_fields_are_ignored_and_said(source: AsteriskSource, fake: FakeAsterisk,
                                                   clock: Clock) -> None:
    def garbage(session: Any, dump: str) -> str:
        return dump.replace("Wait: 24", "Wait: -24").replace("Status: 5", "Status: x")

    fake.status_hook = garbage
    snap = await source.snapshot()
    assert "1796551476.107" not in {c.id for c in snap.contacts}  # negative wait: dropped
    await fake.push(connect("1796551425.101", "PJSIP/1001", "1e9")
                    + "no colon here\r\nEvent: UnknownThing\r\n\r\n"
                    + abandon("1796551491.112", 99_999_999))
    await until(lambda: source.state.garbage >= 4)
    clock.advance(1)
    snap = await source.snapshot()
    assert count_problems(snap) == []
    assert snap.interval_stats["sales"].answered == 0  # its HoldTime was garbage
    assert snap.interval_stats["support"].abandoned == 0
    assert "PJSIP/1004" not in {a.id for a in snap.agents}  # its QueueMember was garbage
    assert any("AMI event(s) with unreadable fields ignored (first: QueueEntry: wait out "
               "of range" in n for n in source.notes), source.notes


async def test_hostile_caller_names_are_cleaned(source: AsteriskSource, fake: FakeAsterisk,
                                                clock: Clock) -> None:
    strings = hostile_strings()
    await source.snapshot()
    for i, text in enumerate(strings[:40]):
        line = text.replace("\r", " ").replace("\n", " ")  # AMI cannot carry a line break
        await fake.push(join(f"1796551700.{i}", name=line, num=line[:30]))
    await until(lambda: sum(1 for u in source.state.callers if u.startswith("17965517"))
                >= min(40, len(strings)), 10)
    snap = await source.snapshot()
    unsafe = re.compile("[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
    for contact in snap.contacts:
        assert not unsafe.search(contact.customer or ""), repr(contact.customer)


async def test_an_oversized_message_drops_the_connection(fake: FakeAsterisk, clock: Clock,
                                                         monkeypatch: pytest.MonkeyPatch
                                                         ) -> None:
    monkeypatch.setenv(SECRET_ENV, SECRET)
    source = AsteriskSource("pbx", POLICY, settings(fake.port, max_message_kib=4),
                            clock=clock)
    try:
        await source.snapshot()
        await fake.push("Event: QueueMemberStatus\r\nQueue: sales\r\nMemberName: "
                        + "x" * 8000)
        await until(lambda: not source._live)
        with pytest.raises(SourceError, match="a message over 4 KiB"):
            await source.snapshot()
        await live_snapshot(source)  # reconnected
    finally:
        await source.close()


# -- actions ------------------------------------------------------------------------------------


async def test_away_with_a_reason_and_back(source: AsteriskSource, fake: FakeAsterisk) -> None:
    await source.snapshot()
    assert source.supports(Capability.AGENT_STATE)
    result = await source.set_agent_state("PJSIP/1001", "away:coaching")
    assert result.ok, result.message
    sent = fake.actions[-1]
    assert sent[0] == ("Action", "QueuePause") and sent[1][0] == "ActionID"
    assert sent[2:] == [("Interface", "PJSIP/1001"), ("Paused", "true"),
                        ("Reason", "coaching")]  # no Queue: in every queue
    result = await source.set_agent_state("PJSIP/1001", "available")
    assert result.ok and fake.actions[-1][2:] == [("Interface", "PJSIP/1001"),
                                                  ("Paused", "false")]
    # an agent on a call is never changed: nothing sent
    before = len(fake.actions)
    result = await source.set_agent_state("PJSIP/1002", "away:break")
    assert result.code == ActionCode.ON_CONTACT and len(fake.actions) == before
    assert (await source.set_agent_state("PJSIP/1001", "end_acw")).code == \
        ActionCode.UNSUPPORTED
    assert (await source.set_agent_state("PJSIP/9999", "available")).code == \
        ActionCode.UNKNOWN_AGENT
    fake.responses["QueuePause"] = lambda a: ("Error", "Interface not found")
    result = await source.set_agent_state("PJSIP/1001", "away:break")
    assert not result.ok and "Interface not found" in result.message


async def test_move_an_agent_between_queues(source: AsteriskSource, fake: FakeAsterisk) -> None:
    await source.snapshot()
    result = await source.set_agent_skills("PJSIP/1003", ["support"])
    assert result.ok, result.message
    add, remove = fake.actions[-2], fake.actions[-1]
    assert add[0] == ("Action", "QueueAdd")
    # Chen is away (lunch) everywhere: added paused, with the same reason
    assert add[2:] == [("Queue", "support"), ("Interface", "PJSIP/1003"),
                       ("MemberName", "Chen Wei"), ("Paused", "true"), ("Reason", "lunch")]
    assert remove[0] == ("Action", "QueueRemove")
    assert remove[2:] == [("Queue", "sales"), ("Interface", "PJSIP/1003")]
    # a static member (queues.conf) cannot be removed over AMI: refused before sending
    before = len(fake.actions)
    result = await source.set_agent_skills("PJSIP/1004", ["sales"])
    assert result.code == ActionCode.BAD_REQUEST and "static member" in result.message
    assert len(fake.actions) == before
    assert (await source.set_agent_skills("PJSIP/1001", ["nope"])).code == \
        ActionCode.UNKNOWN_QUEUE
    # half done is said as such
    fake.responses["QueueRemove"] = lambda a: ("Error", "Unable to remove interface: Not there")
    result = await source.set_agent_skills("PJSIP/1002", ["support"])
    assert result.code == ActionCode.PARTIAL and not result.ok
    assert result.message == ("Bob Okafor: added to support; NOT removed from sales: Unable "
                              "to remove interface: Not there")


async def test_move_a_waiting_caller(source: AsteriskSource, fake: FakeAsterisk,
                                     clock: Clock) -> None:
    await source.snapshot()
    assert source.supports(Capability.REASSIGN_CONTACT)
    result = await source.move_contact("1796551425.101", "support")
    assert result.ok, result.message
    assert fake.actions[-1][0] == ("Action", "Redirect")
    assert fake.actions[-1][2:] == [("Channel", "PJSIP/trunk-.101"), ("Context", "queues"),
                                    ("Exten", "601"), ("Priority", "1")]
    # app_queue reports the redirected caller as abandoned: counted as flowed out
    await fake.push(abandon("1796551425.101", 80) + leave("1796551425.101")
                    + join("1796551425.101", queue="support"))
    await until(lambda: source.state.callers.get("1796551425.101") is not None
                and source.state.callers["1796551425.101"].queue == "support")
    clock.advance(1)
    snap = await source.snapshot()
    sales = snap.interval_stats["sales"]
    assert (sales.offered, sales.abandoned, sales.flowed_out) == (1, 0, 1)
    assert snap.abandoned == ()
    # answered in support: a new caller there, counted there (not taken as settled)
    await fake.push(leave("1796551425.101", "support")
                    + connect("1796551425.101", "PJSIP/1001", 6, queue="support"))
    await until(lambda: source.state.members["PJSIP/1001"].contact == "1796551425.101")
    snap = await source.snapshot()
    support = snap.interval_stats["support"]
    assert (support.offered, support.answered, support.answered_within_threshold) == (1, 1, 1)
    assert snap.interval_stats["sales"].offered == 1 and count_problems(snap) == []
    assert (await source.move_contact("1796551425.101", "sales")).code == \
        ActionCode.NOT_WAITING  # answered meanwhile
    assert (await source.move_contact("1796551476.107", "sales")).code == \
        ActionCode.SAME_QUEUE
    assert (await source.move_contact("1796551476.107", "billing")).code == \
        ActionCode.UNKNOWN_QUEUE
    assert (await source.move_contact("nope", "sales")).code == ActionCode.NOT_WAITING
    fake.responses["Redirect"] = lambda a: ("Error", f"Channel does not exist: {a['Channel']}")
    result = await source.move_contact("1796551476.107", "support")
    assert result.code == ActionCode.NOT_WAITING and "hung up" in result.message


async def test_actions_while_disconnected_say_so(source: AsteriskSource,
                                                 fake: FakeAsterisk) -> None:
    await source.snapshot()
    await fake.stop()
    await until(lambda: not source._live)
    result = await source.set_agent_state("PJSIP/1001", "away:break")
    assert result.code == ActionCode.SOURCE_ERROR and "not live" in result.message


async def test_without_move_context_callers_cannot_be_moved(
        fake: FakeAsterisk, clock: Clock, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(SECRET_ENV, SECRET)
    source = AsteriskSource("pbx", POLICY, settings(fake.port, move_context=None), clock=clock)
    try:
        assert not source.supports(Capability.REASSIGN_CONTACT)
        result = await source.move_contact("1796551425.101", "support")
        assert result.code == ActionCode.UNSUPPORTED and "move_context" in result.message
    finally:
        await source.close()


# -- check-config --probe ---------------------------------------------------------------------


def test_probe_connects_and_logs_in(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    from supervisor_tui.cli import main

    monkeypatch.setenv(SECRET_ENV, SECRET)
    fake = FakeAsterisk()
    with in_thread(fake) as port:
        config = tmp_path / "pbx.toml"
        config.write_text(f'[sources.pbx]\ntype = "asterisk"\nhost = "127.0.0.1"\n'
                          f'port = {port}\nusername = "{USER}"\nsecret_env = "{SECRET_ENV}"\n')
        assert main(["check-config", "--probe", str(config)]) == 0
        out = capsys.readouterr().out
        assert "pbx: OK" in out and "2 queues, 4 agents, 3 waiting" in out
        assert "interval counts from" in out  # the first poll: mid-interval, a sample
        monkeypatch.setenv(SECRET_ENV, "wrong")
        assert main(["check-config", "--probe", str(config)]) == 1
        out = capsys.readouterr().out
        assert "pbx: FAILED — not live: login as sup refused (Authentication failed)" in out
        assert "Traceback" not in out
