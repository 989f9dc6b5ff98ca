"""Paging the on-call supervisor (issue 13 item 8): the pure decision, the store's
once-per-key record, and end to end through a real loopback webhook receiver with a
controlled clock — paged after N minutes, re-paged, not again once taken; two consoles
on one database page each key once."""

from __future__ import annotations

import asyncio
import random
import threading
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from supervisor_tui.audited import Auditor
from supervisor_tui.config import ConfigError, parse_config
from supervisor_tui.crisis.config import CrisisConfig
from supervisor_tui.crisis.paging import PAGE_INCIDENT, PageBook
from supervisor_tui.crisis.service import CrisisService
from supervisor_tui.domain.escalation import Escalation, EscalationKind, Severity, SubjectType
from supervisor_tui.domain.paging import (
    DuePage,
    PageRecord,
    PagingConfig,
    due_pages,
    page_due,
    page_key,
    page_text,
)
from supervisor_tui.domain.roles import Role
from supervisor_tui.paging import ACTION, Pager
from supervisor_tui.store import ACKNOWLEDGED, RESOLVED, SNOOZED, TAKEN, Store
from supervisor_tui.store.audit import AuditLog
from tests.crisis_helpers import ENV, T0, FakeClock, Receiver

RULES = PagingConfig(enabled=True, who="Dana (on-call)", channels=["pager"],
                     after_minutes=5, repeat_minutes=10)


def esc(eid: str = "contact-wait:pbx:c1", severity: Severity = Severity.CRITICAL,
        first_seen: datetime = T0, **kw: Any) -> Escalation:
    return Escalation(id=eid, kind=EscalationKind.CONTACT_WAIT, severity=severity,
                      reason=kw.pop("reason", "VIP waiting over 0:30"),
                      subject_type=SubjectType.CONTACT, subject_id=eid.rsplit(":", 1)[-1],
                      queue_id="sales", source="pbx", first_seen=first_seen,
                      since=first_seen, label=kw.pop("label", "c1 Ann Lee (vip)"), **kw)


def state(word: str, at: datetime, owner: str = "", until: str = "") -> dict[str, object]:
    return {"id": "x", "state": word, "owner": owner, "updated_at": at.isoformat(),
            "updated_by": owner or "bob", "until": until, "seq": 1}


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


# -- the decision (pure) ------------------------------------------------------------------


def test_first_page_after_n_minutes_then_repages_every_repeat() -> None:
    e = esc()
    assert page_due(e, None, None, RULES, at(4.99)) is None  # not yet N minutes
    assert page_due(e, None, None, RULES, at(5)) == 1
    first = PageRecord(1, at(5.2))
    assert page_due(e, None, first, RULES, at(15.1)) is None  # 9.9 min after page 1
    assert page_due(e, None, first, RULES, at(15.2)) == 2
    assert page_due(e, None, PageRecord(2, at(15.2)), RULES, at(25.2)) == 3


def test_no_page_once_someone_has_it() -> None:
    e, now = esc(), at(30)
    assert page_due(e, state(TAKEN, at(1), owner="bob"), None, RULES, now) is None
    assert page_due(e, state(ACKNOWLEDGED, at(6)), None, RULES, now) is None
    assert page_due(e, state(RESOLVED, at(6)), None, RULES, now) is None
    # An acknowledge about an earlier occurrence of the same id does not count.
    assert page_due(e, state(ACKNOWLEDGED, at(-60)), None, RULES, now) == 1
    # Taken over before it (re)appeared still counts: ownership never lapses.
    assert page_due(e, state(TAKEN, at(-60), owner="bob"), None, RULES, now) is None
    # Released (open again): paged again.
    assert page_due(e, state("open", at(20)), PageRecord(1, at(5)), RULES, now) == 2


def test_snoozed_waits_until_the_snooze_ends() -> None:
    e = esc()
    snoozed = state(SNOOZED, at(4), until=at(12).isoformat())
    assert page_due(e, snoozed, None, RULES, at(11)) is None
    assert page_due(e, snoozed, None, RULES, at(12.5)) == 1


def test_clearing_departed_other_severities_and_the_cap() -> None:
    now = at(30)
    assert page_due(esc(last_seen=at(29)), None, None, RULES, now) is None  # clearing
    assert page_due(esc(ended="answered"), None, None, RULES, now) is None
    assert page_due(esc(severity=Severity.WARNING), None, None, RULES, now) is None
    warn = RULES.model_copy(update={"severities": [Severity.WARNING, Severity.CRITICAL]})
    assert page_due(esc(severity=Severity.WARNING), None, None, warn, now) == 1
    capped = RULES.model_copy(update={"max_pages": 2})
    assert page_due(esc(), None, PageRecord(2, at(5)), capped, now) is None
    off = RULES.model_copy(update={"enabled": False})
    assert due_pages([esc()], {}, {}, off, now) == []


def test_due_pages_keys_are_id_and_number_most_severe_then_oldest() -> None:
    older = esc("queue-sl:billing", first_seen=at(-10), label="queue Billing")
    newer = esc("contact-wait:pbx:c2", first_seen=at(0))
    paged = esc("contact-wait:pbx:c3", first_seen=at(-20))
    due = due_pages([newer, paged, older], {}, {paged.id: PageRecord(4, at(0))}, RULES,
                    at(10))
    assert [(d.escalation.id, d.number, d.key) for d in due] == [
        ("contact-wait:pbx:c3", 5, "contact-wait:pbx:c3#5"),
        ("queue-sl:billing", 1, "queue-sl:billing#1"),
        ("contact-wait:pbx:c2", 1, "contact-wait:pbx:c2#1")]
    assert page_key("a", 2) == "a#2"


def test_page_text_is_clean_and_bounded() -> None:
    hostile = esc(label="c1 \x1b]0;pwned\x07Eve[bold]", reason="wait\x1b[2J over 0:30")
    pages = [DuePage(hostile, 2)] + [DuePage(esc(f"contact-wait:pbx:c{i}"), 1)
                                     for i in range(2, 9)]
    subject, body = page_text(pages, "Dana", at(12), "12:12", max_items=3)
    assert subject == "Page: 8 unowned critical items on the escalation desk"
    assert "\x1b" not in body and "\x07" not in body
    assert body.count("\n- ") == 4 and body.endswith("- and 5 more")
    assert "(page 2)" in body and "on the desk 12:00" in body
    _, sms = page_text(pages, "Dana", at(12), "12:12", short=True)
    assert "\n" not in sms and len(sms) <= 300 and "+5 more" in sms


def test_config_is_checked_with_clear_messages() -> None:
    with pytest.raises(ConfigError) as err:
        parse_config({"crisis": {"paging": {"enabled": True, "channels": ["nope"]}}})
    text = str(err.value)
    assert "paging.who: name the on-call supervisor" in text
    assert "unknown channel 'nope'" in text
    with pytest.raises(ConfigError, match="reaches the floor or the public"):
        parse_config({"crisis": {"paging": {"enabled": True, "who": "Dana",
                                            "channels": ["floor"]}}})
    with pytest.raises(ConfigError, match="repeat_minutes"):
        parse_config({"crisis": {"paging": {"repeat_minutes": 0}}})
    assert parse_config({}).crisis.paging.enabled is False  # off unless configured


# -- end to end: store, audit, outbox, a real webhook receiver -------------------------------


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


def crisis(url: str, **paging: Any) -> CrisisConfig:
    return CrisisConfig.model_validate({
        "delivery": {"max_attempts": 3, "backoff_base_s": 1, "backoff_max_s": 5},
        "channels": {"pager": {"type": "webhook", "url": f"{url}/page", "timeout_s": 2}},
        "paging": {"enabled": True, "who": "Dana (on-call)", "channels": ["pager"],
                   "after_minutes": 5, "repeat_minutes": 10, **paging}})


class Console:
    """One console's paging: its store connection, audit log, pager and delivery worker."""

    def __init__(self, config: CrisisConfig, store: Store, clock: FakeClock,
                 user: str = "alice") -> None:
        self.store, self.clock = store, clock
        self.audit = AuditLog(store.db)
        self.service = CrisisService(config, store.db, user=user, role=Role.SUPERVISOR,
                                     audit=self.audit, env=ENV, clock=clock,
                                     sleep=clock.sleep, rng=random.Random(1))
        self.pager = Pager(config, PageBook(store.db), Auditor(self.audit, user,
                                                                Role.SUPERVISOR),
                           lambda t: f"{t:%H:%M}")

    async def tick(self, escalations: list[Escalation]) -> Any:
        result = self.pager.run(escalations, self.store.escalation_states(), self.clock())
        await self.service.deliver(wait_s=0)
        self.pager.refresh(self.clock())
        return result


def pages_received(receiver: Receiver) -> list[dict[str, Any]]:
    return [r.json() for r in receiver.to("/page")]


async def test_paged_after_n_minutes_repaged_and_not_again_once_taken(
        receiver: Receiver) -> None:
    clock = FakeClock(T0)
    store = Store.open(None)
    console = Console(crisis(receiver.url), store, clock)
    item = esc()  # critical, on the desk since T0, nobody owns it

    clock.now = at(4.5)
    assert (await console.tick([item])).queued is None
    assert pages_received(receiver) == []

    clock.now = at(5)
    first = await console.tick([item])
    assert first.queued is not None and first.problem is None
    [doc] = pages_received(receiver)
    assert doc["type"] == "escalation.page" and doc["incident"] is None
    assert [i["key"] for i in doc["page"]["items"]] == [f"{item.id}#1"]
    assert doc["page"]["who"] == "Dana (on-call)"
    assert "c1 Ann Lee (vip): VIP waiting over 0:30, on the desk 5:00" in doc["text"]
    mark = console.pager.marks[item.id]
    assert (mark.count, mark.outcome) == (1, "delivered")
    assert mark.text("10:05") == "paged 1× · last 10:05 to Dana (on-call) via pager (delivered)"

    clock.now = at(14.9)  # 9.9 minutes after page 1: not yet
    assert (await console.tick([item])).queued is None
    clock.now = at(15)
    await console.tick([item])
    docs = pages_received(receiver)
    assert [d["page"]["items"][0]["key"] for d in docs] == [f"{item.id}#1", f"{item.id}#2"]
    assert "(page 2)" in docs[1]["text"]
    assert console.pager.marks[item.id].count == 2

    store.change_escalation(item.id, TAKEN, "bob", at(16))
    for minutes in (25, 35, 60):
        clock.now = at(minutes)
        assert (await console.tick([item])).queued is None
    assert len(pages_received(receiver)) == 2

    # Each page audited: the intent, what was queued, and each delivery attempt.
    records = [r for r in console.audit.records() if r["action"] == ACTION]
    assert [r["outcome"] for r in records] == ["allowed", "done", "allowed", "done"]
    done = records[1]
    assert done["params"]["who"] == "Dana (on-call)" and done["params"]["channels"] == ["pager"]
    assert done["params"]["paged"] == [f"{item.id}#1"]
    assert "to Dana (on-call) via pager" in done["response"]
    delivered = [r for r in console.audit.records() if r["action"] == "crisis_delivered"]
    assert [r["params"]["message_id"] for r in delivered] == [
        records[1]["params"]["message_id"], records[3]["params"]["message_id"]]
    assert all(r["params"]["incident_id"] == PAGE_INCIDENT for r in delivered)
    await console.service.aclose()


async def test_a_failing_receiver_is_retried_with_the_same_key_and_failure_is_said(
        receiver: Receiver) -> None:
    clock = FakeClock(at(6))
    console = Console(crisis(receiver.url), Store.open(None), clock)
    receiver.plan(1, 503)
    await console.tick([esc()])
    assert console.pager.marks[esc().id].outcome.startswith("retrying: HTTP 503")
    clock.now += timedelta(seconds=5)
    await console.tick([esc()])
    keys = [r.key for r in receiver.to("/page")]
    assert len(keys) == 2 and keys[0] == keys[1]  # the same delivery, retried
    assert console.pager.marks[esc().id].outcome == "delivered"
    assert len(pages_received(receiver)) == 2  # and no second page was queued

    receiver.plan(10, 400)
    clock.now = at(17)
    told: list[str] = []
    console.service.worker.listener = lambda a: told.append(
        console.pager.attempt_notice(a) or "")
    await console.tick([esc()])
    assert console.pager.marks[esc().id].outcome.startswith("failed: pager: HTTP 400")
    assert told and told[-1].startswith("Page to Dana (on-call) via pager failed: HTTP 400")


async def test_nothing_is_paged_without_an_audit_log(receiver: Receiver) -> None:
    clock = FakeClock(at(6))
    store = Store.open(None)
    console = Console(crisis(receiver.url), store, clock)
    console.pager.auditor = Auditor(None, "alice", Role.SUPERVISOR)
    result = await console.tick([esc()])
    assert result.queued is None and "audit log is unavailable" in (result.problem or "")
    assert pages_received(receiver) == [] and console.pager.marks == {}


def test_two_consoles_on_one_database_page_each_key_once(receiver: Receiver,
                                                         store_at: Path | str) -> None:
    """Three consoles, each with its own connection and clock, run their passes at the
    same moments over 40 minutes of escalations: every page key reaches the receiver
    exactly once, and each item was paged at N minutes, then every 10."""
    db = store_at
    config = crisis(receiver.url)
    setup = Store.open(db)
    PageBook(setup.db)  # the tables, as the first console to start makes them
    setup.close()
    items = [esc(f"contact-wait:pbx:c{i}", first_seen=at(-i)) for i in range(6)]
    barrier = threading.Barrier(3)
    errors: list[BaseException] = []

    def console(n: int) -> None:
        try:
            clock = FakeClock(T0)
            me = Console(config, Store.open(db), clock, user=f"user{n}")

            async def run() -> None:
                for second in range(0, 40 * 60 + 1, 30):
                    clock.now = T0 + timedelta(seconds=second)
                    barrier.wait(10)  # every console's pass at the same centre time
                    await me.tick(items)
                await me.service.aclose()

            asyncio.run(run())
        except BaseException as err:
            errors.append(err)
            barrier.abort()

    threads = [threading.Thread(target=console, args=(n,)) for n in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors, errors
    keys = [i["key"] for d in pages_received(receiver) for i in d["page"]["items"]]
    assert len(keys) == len(set(keys))  # never doubled
    # Item i (on the desk since -i minutes) is due at 5-i, then every 10 minutes.
    expected = {f"{e.id}#{n}" for e in items for n in range(1, 10)
                if 5 - int(e.id[-1]) + 10 * (n - 1) <= 40}
    assert set(keys) == expected
    # And each webhook delivery arrived once (one idempotency key per request).
    sent = [r.key for r in receiver.to("/page")]
    assert len(sent) == len(set(sent))
    # The consoles did race: some found their pages already recorded by another.
    audit = AuditLog(Store.open(db).db).records()
    done = [r for r in audit if r["action"] == ACTION and r["outcome"] == "done"]
    raced = [r for r in done if r["response"] == "already paged by another console"]
    assert raced and len(done) - len(raced) == len(pages_received(receiver))
