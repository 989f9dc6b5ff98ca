"""The outbox and its worker: retries, timeouts, permanent failures, resuming after a
kill, two consoles on one database, ordering, permissions and the audit trail."""

from __future__ import annotations

import asyncio
import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from supervisor_tui.config import Role
from supervisor_tui.crisis.config import CrisisConfig
from supervisor_tui.crisis.outbox import SENDING, RetryPolicy
from supervisor_tui.crisis.service import CrisisError, CrisisService
from supervisor_tui.store import Store
from supervisor_tui.store.audit import AuditLog
from tests.crisis_helpers import ENV, FakeClock, Receiver

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


def hooks_config(url: str, *paths: str, timeout_s: float = 2.0, **delivery: Any) -> dict:
    """Plain webhooks (one per path) and a template "t" on all of them."""
    return {
        "delivery": {"max_attempts": 4, "backoff_base_s": 2, "backoff_max_s": 60,
                     "send_wait_s": 600, **delivery},
        "channels": {p: {"type": "webhook", "url": f"{url}/{p}", "timeout_s": timeout_s}
                     for p in paths},
        "templates": {"t": {"channels": list(paths), "text": "${impact}"},
                      "u": {"channels": list(paths), "text": "update: ${impact}"}},
    }


def service_for(config: dict | CrisisConfig, store: Store | None = None, *,
                role: Role = Role.ADMIN, clock: FakeClock | None = None,
                **kw: Any) -> CrisisService:
    store = store or Store.open(None)
    clock = clock or FakeClock()
    if isinstance(config, dict):
        config = CrisisConfig.model_validate(config)
    audit = kw.pop("audit", AuditLog(store.db))
    return CrisisService(config, store.db, user="alice", role=role, audit=audit, env=ENV,
                         clock=clock, sleep=clock.sleep, rng=random.Random(3), **kw)


def declare(service: CrisisService) -> int:
    return service.declare("Payments down", "critical", ["sales"], impact="long waits",
                           eta="11:00").id


def audit_actions(service: CrisisService) -> list[tuple[str, str]]:
    return [(r["action"], r["outcome"]) for r in service.audit.records()]


# -- retries ------------------------------------------------------------------------------


async def test_retry_after_500s_then_delivered_with_one_key(receiver: Receiver) -> None:
    receiver.plan(2, 500)
    clock = FakeClock()
    service = service_for(hooks_config(receiver.url, "a"), clock=clock)
    declare(service)
    (row,) = (await service.send("t", {})).rows
    assert row.state == "delivered" and row.attempts == 3
    reqs = receiver.to("/a")
    assert len(reqs) == 3 and {r.key for r in reqs} == {row.key}
    # Backoff with jitter: within [base/2, base] then [2*base/2, 2*base].
    waits = [s for s in clock.slept if s > 0.05]
    assert 1.0 <= waits[0] <= 2.0 and 2.0 <= waits[1] <= 4.0
    assert [a for a in audit_actions(service) if a[0].startswith("crisis_")
            and a[0] != "crisis_declare"] == [
        ("crisis_message", "allowed"), ("crisis_message", "done"),
        ("crisis_send", "allowed"), ("crisis_retry", "failed"),
        ("crisis_send", "allowed"), ("crisis_retry", "failed"),
        ("crisis_send", "allowed"), ("crisis_delivered", "done")]
    kinds = [e.kind for e in service.timeline(1)]
    assert kinds == ["declared", "message", "retrying", "retrying", "delivered"]


async def test_401_fails_at_once_with_the_reason(receiver: Receiver) -> None:
    receiver.plan(1, 401, body=b'{"error": "invalid token"}')
    service = service_for(hooks_config(receiver.url, "a"))
    declare(service)
    (row,) = (await service.send("t", {})).rows
    assert row.state == "failed" and row.attempts == 1 and len(receiver.requests) == 1
    assert row.last_error == ("HTTP 401: invalid token — authentication refused; check the "
                              "credentials in the environment")
    assert row.last_status == 401
    failed = [r for r in service.audit.records() if r["action"] == "crisis_failed"]
    assert failed[0]["response"] == row.last_error and failed[0]["params"]["key"] == row.key


async def test_retry_after_header_is_honoured(receiver: Receiver) -> None:
    receiver.plan(1, 429, headers={"Retry-After": "30"})
    clock = FakeClock()
    service = service_for(hooks_config(receiver.url, "a"), clock=clock)
    declare(service)
    queued = service.queue("t", {})
    await service.worker.deliver_due()
    (row,) = service.deliveries(queued.message_id)
    assert row.state == "retrying"
    assert row.next_attempt_at == pytest.approx(clock.now.timestamp() + 30)
    (row,) = (await service.send_queued(queued)).rows
    assert row.state == "delivered" and sum(clock.slept) >= 30


async def test_timeout_on_a_hanging_receiver_then_retry(receiver: Receiver) -> None:
    receiver.plan(1, 200, hang_s=20)
    service = service_for(hooks_config(receiver.url, "a", timeout_s=0.8))
    declare(service)
    started = time.monotonic()
    (row,) = (await service.send("t", {})).rows
    assert time.monotonic() - started < 10  # the hang was cut at timeout_s, not waited out
    assert row.state == "delivered" and row.attempts == 2
    assert [r.key for r in receiver.to("/a")] == [row.key, row.key]
    retry = next(e for e in service.timeline(1) if e.kind == "retrying")
    assert "no answer within 0.8 s" in retry.text


async def test_gives_up_after_max_attempts(receiver: Receiver) -> None:
    receiver.plan(99, 503)
    service = service_for(hooks_config(receiver.url, "a"))
    declare(service)
    (row,) = (await service.send("t", {})).rows
    assert row.state == "failed" and row.attempts == 4 and len(receiver.requests) == 4
    assert row.last_error.startswith("gave up after 4 attempts: HTTP 503")


async def test_unreachable_receiver_is_retried(receiver: Receiver) -> None:
    from tests.crisis_helpers import free_port

    service = service_for(hooks_config(f"http://127.0.0.1:{free_port()}", "a"))
    declare(service)
    queued = service.queue("t", {})
    await service.worker.deliver_due()
    (row,) = service.deliveries(queued.message_id)
    assert row.state == "retrying" and "cannot reach 127.0.0.1" in row.last_error


def test_backoff_is_exponential_capped_and_jittered() -> None:
    policy = RetryPolicy(max_attempts=10, base_s=2, max_s=60)
    rng = random.Random(1)
    for attempt, ceiling in [(1, 2), (2, 4), (3, 8), (5, 32), (6, 60), (9, 60)]:
        delays = [policy.delay(attempt, None, rng) for _ in range(50)]
        assert all(ceiling / 2 <= d <= ceiling for d in delays)
        assert len(set(delays)) > 1  # jittered
    assert policy.delay(1, 120.0, rng) == 120.0
    assert policy.delay(1, 10**6, rng) == policy.retry_after_max_s


# -- ordering ------------------------------------------------------------------------------


async def test_an_update_never_overtakes_the_message_it_updates(receiver: Receiver) -> None:
    receiver.plan(1, 500)  # the first message's first attempt fails
    service = service_for(hooks_config(receiver.url, "a"))
    declare(service)
    first = service.queue("t", {})
    second = service.queue("u", {"impact": "better"})
    await service.worker.drain()
    bodies = [r.json()["text"] for r in receiver.to("/a")]
    assert bodies == ["long waits", "long waits", "update: better"]
    assert [r.state for r in service.deliveries(first.message_id) +
            service.deliveries(second.message_id)] == ["delivered", "delivered"]


# -- crash and resume ---------------------------------------------------------------------


CONFIG_TOML = """
[crisis.delivery]
send_wait_s = 30
[crisis.channels.fast]
type = "webhook"
url = "{url}/fast"
[crisis.channels.slow]
type = "webhook"
url = "{url}/slow"
timeout_s = 60
[crisis.templates.t]
channels = ["fast", "slow"]
text = "${{impact}}"
"""


async def test_kill_9_between_send_and_commit_resends_with_the_same_key(
        receiver: Receiver, tmp_path: Path, store_at: Path | str) -> None:
    cfg = tmp_path / "config.toml"
    text = CONFIG_TOML.format(url=receiver.url)
    # the CLI finds the store as a console would: --db (a file), or [store] url
    where = ["--db", str(store_at)] if isinstance(store_at, Path) else []
    cfg.write_text(text if where else f'[store]\nurl = "{store_at}"\n{text}')
    from supervisor_tui.cli.crisis import load_configs

    _, crisis = load_configs(cfg)
    store = Store.open(store_at)
    service = CrisisService(crisis, store.db, user="alice", role=Role.ADMIN,
                            audit=AuditLog(store.db))
    declare(service)
    queued = service.queue("t", {})
    # /slow receives the request, then never answers: the sender is mid-send.
    receiver.plan(1, 200, path="/slow", hang_s=60)
    proc = subprocess.Popen(
        [sys.executable, "-m", "supervisor_tui.cli.crisis", "--config", str(cfg), *where,
         "crisis", "deliver"], cwd=ROOT, stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not (
                receiver.to("/slow") and receiver.to("/fast")
                and {r.state for r in service.deliveries(queued.message_id)}
                == {"delivered", SENDING}):
            await asyncio.sleep(0.05)
        os.kill(proc.pid, signal.SIGKILL)  # no cleanup, no commit
        proc.wait(5)
    finally:
        if proc.poll() is None:
            proc.kill()
    fast, slow = service.deliveries(queued.message_id)
    assert (fast.state, slow.state) == ("delivered", SENDING)
    assert slow.lease_owner.split(":")[1] == str(proc.pid)

    # The next start (here: `crisis deliver` in this process) takes the row over at
    # once — its owner is gone — and re-sends it with the same key.
    rows = await service.deliver(wait_s=10)
    assert [r.state for r in rows] == ["delivered"]
    assert len(receiver.to("/fast")) == 1  # delivered rows are never sent again
    slow_keys = [r.key for r in receiver.to("/slow")]
    assert slow_keys == [slow.key, slow.key]  # the receiver sees one distinct key
    resend = [r for r in service.audit.records() if r["action"] == "crisis_send"
              and r["params"]["recovered"]]
    assert len(resend) == 1 and "same key" in resend[0]["response"]
    assert service.status() == []


async def test_a_live_consoles_row_is_left_alone_until_its_lease_expires(
        receiver: Receiver, store_at: Path | str) -> None:
    db = store_at
    clock = FakeClock()
    one = service_for(hooks_config(receiver.url, "a"), Store.open(db), clock=clock)
    declare(one)
    queued = one.queue("t", {})
    # Console one claims the row and "hangs" (we never let it finish).
    (claimed, _), = one.outbox.claim(one.worker.owner, clock.now.timestamp(),
                                     one.worker._lease_s)
    two = service_for(hooks_config(receiver.url, "a"), Store.open(db), clock=clock)
    assert await two.worker.deliver_due() == 0  # same pid, alive: not taken over
    clock.now += timedelta(seconds=two.worker._lease_s(claimed) + 1)
    assert await two.worker.deliver_due() == 1  # lease expired: its holder is gone
    (row,) = two.deliveries(queued.message_id)
    assert row.state == "delivered" and row.attempts == 2
    # One finally wakes up and tries to record its outcome: the row is no longer its own.
    assert not one.outbox.mark_delivered(claimed, one.worker.owner, clock.now, "late", 200,
                                         None, keep_ref=False)
    assert one.deliveries(queued.message_id)[0].attempts == 2


def test_two_workers_on_one_db_never_both_deliver_a_row(receiver: Receiver,
                                                        store_at: Path | str) -> None:
    db = store_at
    channels = [f"c{i}" for i in range(8)]
    config = CrisisConfig.model_validate(hooks_config(receiver.url, *channels,
                                                      backoff_base_s=0.05))
    setup = service_for(config, Store.open(db))
    declare(setup)
    for _ in range(5):  # 40 rows, ordered per channel
        setup.queue("t", {})
    receiver.plan(10, 500)  # some retries in the mix
    receiver.plan(1000, 200, hang_s=0.01)  # then slow enough for the consoles to overlap
    errors: list[BaseException] = []
    delivered_by: list[set[int]] = [set() for _ in range(3)]

    def console(n: int) -> None:
        try:
            store = Store.open(db)
            service = CrisisService(
                config, store.db, user="bob", role=Role.SUPERVISOR, audit=AuditLog(store.db),
                env=ENV, listener=lambda a: a.state == "delivered"
                and delivered_by[n].add(a.row.id))
            asyncio.run(service.deliver(wait_s=30))
        except BaseException as err:  # re-raised below, in the test's thread
            errors.append(err)

    threads = [threading.Thread(target=console, args=(n,)) for n in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors
    rows = setup.status(include_settled=True)
    assert len(rows) == 40 and {r.state for r in rows} == {"delivered"}, [
        r.last_error for r in rows if r.state != "delivered"]
    # Every row delivered by exactly one console, and the work really was shared.
    assert sum(len(d) for d in delivered_by) == 40
    assert set().union(*delivered_by) == {r.id for r in rows}
    assert sum(bool(d) for d in delivered_by) >= 2
    # The receiver saw each key once per attempt, and exactly one 200 per row.
    sent = [r.key for r in receiver.requests]
    assert len(sent) == 50 and len(set(sent)) == 40
    for row in rows:
        assert sent.count(row.key) == row.attempts


# -- permissions, audit, incidents ---------------------------------------------------------


async def test_only_admins_send_declare_and_resolve(receiver: Receiver) -> None:
    store = Store.open(None)
    admin = service_for(hooks_config(receiver.url, "a"), store)
    incident = declare(admin)
    sup = service_for(hooks_config(receiver.url, "a"), store, role=Role.SUPERVISOR)
    for attempt in (lambda: sup.queue("t", {}), lambda: sup.declare("x", "minor"),
                    lambda: sup.resolve(incident)):
        with pytest.raises(CrisisError, match=r"alice is a supervisor; crisis .* needs admin"):
            attempt()
    sup.note(incident, "opened overflow to billing")  # supervisors may record actions
    assert admin.status() == [] and receiver.requests == []
    refused = [r for r in admin.audit.records() if r["outcome"] == "refused"]
    assert [r["action"] for r in refused] == ["crisis_message", "crisis_declare",
                                              "crisis_resolve"]
    assert admin.timeline(incident)[-1].text == "opened overflow to billing"


async def test_nothing_is_queued_without_an_audit_log(receiver: Receiver) -> None:
    store = Store.open(None)
    admin = service_for(hooks_config(receiver.url, "a"), store)
    declare(admin)
    blind = service_for(hooks_config(receiver.url, "a"), store, audit=None)
    with pytest.raises(CrisisError, match="audit log is unavailable"):
        blind.queue("t", {})
    assert admin.status() == []


async def test_incident_lifecycle_banner_and_timeline(receiver: Receiver,
                                                      store_at: Path | str) -> None:
    db = store_at
    one = service_for(hooks_config(receiver.url, "a"), Store.open(db))
    two = service_for(hooks_config(receiver.url, "a"), Store.open(db))
    minor = one.declare("Chat slow", "minor", ["chat"])
    major = one.declare("IVR down", "critical", ["sales", "billing"], impact="no calls",
                        eta="12:00")
    assert [b.incident.title for b in two.banners()] == ["IVR down", "Chat slow"]
    assert [i.id for i in two.active_incidents()] == [major.id, minor.id]
    with pytest.raises(CrisisError, match="several incidents are active"):
        one.queue("t", {})
    one.queue("t", {"impact": "calls failing"}, incident_id=major.id)
    assert two.incident(major.id).impact == "calls failing"  # becomes the new default
    one.resolve(major.id, note="carrier fixed")
    with pytest.raises(CrisisError, match="is resolved"):
        one.queue("t", {}, incident_id=major.id)
    with pytest.raises(CrisisError, match="already resolved"):
        one.resolve(major.id)
    # The resolved one stays on the banner as an all clear ([crisis] all_clear_banner_s).
    assert [(b.incident.id, b.incident.active) for b in two.banners()] == [
        (minor.id, True), (major.id, False)]
    assert [e.kind for e in two.timeline(major.id)] == ["declared", "updated", "message",
                                                        "resolved"]
    with pytest.raises(CrisisError, match="no incident #99"):
        two.timeline(99)


async def test_failed_rows_can_be_requeued_with_the_same_key(receiver: Receiver,
                                                            store_at: Path | str) -> None:
    receiver.plan(1, 403)
    service = service_for(hooks_config(receiver.url, "a"), Store.open(store_at))
    declare(service)
    (row,) = (await service.send("t", {})).rows
    assert row.state == "failed"
    assert service.requeue_failed([row.id]) == 1
    (again,) = await service.deliver()
    assert again.state == "delivered" and again.key == row.key


async def test_a_consoles_background_worker_delivers_and_reports(receiver: Receiver) -> None:
    seen: list[tuple[str, str]] = []
    store = Store.open(None)
    config = CrisisConfig.model_validate(hooks_config(receiver.url, "a", poll_s=0.05))
    service = CrisisService(config, store.db, user="ann", role=Role.ADMIN,
                            audit=AuditLog(store.db), env=ENV,
                            listener=lambda a: seen.append((a.row.target, a.state)))
    declare(service)
    stop = asyncio.Event()
    task = asyncio.create_task(service.run_worker(stop))
    queued = service.queue("t", {})  # what a crisis screen does on "send"
    for _ in range(100):
        if service.deliveries(queued.message_id)[0].state == "delivered":
            break
        await asyncio.sleep(0.02)
    stop.set()
    await asyncio.wait_for(task, 2)
    await service.aclose()
    assert seen == [("a", "delivered")]
    assert service.worker.last_error is None
