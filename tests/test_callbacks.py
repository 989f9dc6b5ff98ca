"""Call-backs for abandoned contacts (issue 13 item 2): queued on a source that can,
tracked in the shared store otherwise; every attempt audited, viewers refused."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from supervisor_tui.actions import Actions
from supervisor_tui.domain.intervals import IntervalPolicy
from supervisor_tui.domain.model import AbandonedContact, Channel, Tier
from supervisor_tui.domain.roles import Role
from supervisor_tui.sim.config import default_centre
from supervisor_tui.sources.base import Source
from supervisor_tui.sources.simulator import SimulatorSource
from supervisor_tui.store import CALLBACK_DONE, CALLBACK_NO_ANSWER, CALLBACK_WAITING, Store
from tests.test_actions import Sink

POLICY = IntervalPolicy(minutes=30, tz="UTC")
NOW = datetime(2026, 5, 5, 10, 0, tzinfo=UTC)


def abandon(source: str = "pbx", id: str = "c7") -> AbandonedContact:
    return AbandonedContact(id=id, queue_id="sales", channel=Channel.VOICE, tier=Tier.VIP,
                            customer="Ann Lee", handle="+44 7700 9xx xx1", waited_s=42,
                            abandoned_at=NOW - timedelta(minutes=3), source=source)


class Plain(Source):
    """A source that cannot queue call-backs (Twilio, Genesys, Zendesk today)."""

    async def snapshot(self):  # type: ignore[no-untyped-def]  # never polled here
        raise NotImplementedError


def test_tracked_callbacks_are_shared_by_two_stores_on_one_file(store_at: Path | str) -> None:
    path = store_at
    one, two = Store.open(path), Store.open(path)
    row, why = one.add_callback(abandoned_id="c7", source="pbx", queue_id="sales",
                                customer="Ann Lee", number="+44 7700 9xx xx1", user="kim",
                                now=NOW)
    assert row is not None and why == "" and row["state"] == CALLBACK_WAITING
    seen = two.callbacks(NOW - timedelta(hours=1))
    assert [(r["id"], r["customer"], r["created_by"]) for r in seen] == [
        ("pbx:c7", "Ann Lee", "kim")]
    again, why = two.add_callback(abandoned_id="c7", source="pbx", queue_id="sales",
                                  customer="Ann Lee", number="", user="lou", now=NOW)
    assert again is None and "already tracked (by kim, waiting)" in why
    done, why = two.set_callback_state("pbx:c7", CALLBACK_DONE, "lou", NOW + timedelta(minutes=1))
    assert done is not None and done["updated_by"] == "lou"
    assert one.callbacks()[0]["state"] == CALLBACK_DONE
    twice, why = one.set_callback_state("pbx:c7", CALLBACK_DONE, "kim", NOW)
    assert twice is None and why == "already done (by lou)"
    assert one.set_callback_state("pbx:c7", CALLBACK_NO_ANSWER, "kim", NOW)[0] is not None
    assert one.set_callback_state("pbx:nobody", CALLBACK_DONE, "kim", NOW)[1] == \
        "no tracked call-back pbx:nobody"
    assert two.callbacks(NOW + timedelta(hours=1)) == []  # yesterday's are not today's
    one.close()
    two.close()


async def test_a_source_without_the_capability_gets_a_tracked_callback() -> None:
    sink, store = Sink(), Store.open(None)
    actions = Actions([Plain("pbx", POLICY)], sink, "kim", Role.SUPERVISOR)
    assert not actions.callback_on_source("pbx")
    result = await actions.create_callback(abandon(), "sales", store, NOW)
    assert result.ok and "tracked in the shared store" in result.message
    assert store.callbacks()[0]["number"] == "+44 7700 9xx xx1"
    again = await actions.create_callback(abandon(), "sales", store, NOW)
    assert not again.ok and "already tracked" in again.message
    marked = actions.mark_callback("pbx:c7", CALLBACK_NO_ANSWER, store, NOW)
    assert marked.ok and store.callbacks()[0]["state"] == CALLBACK_NO_ANSWER
    outcomes = [(r["action"], r["subject"], r["outcome"]) for r in sink.records]
    assert outcomes == [
        ("callback", "abandoned c7", "allowed"), ("callback", "abandoned c7", "done"),
        ("callback", "abandoned c7", "allowed"), ("callback", "abandoned c7", "failed"),
        ("callback", "call-back pbx:c7", "allowed"), ("callback", "call-back pbx:c7", "done")]
    nowhere = await actions.create_callback(abandon(id="c8"), "sales", None, NOW)
    assert not nowhere.ok and "no shared store" in nowhere.message


async def test_a_viewer_cannot_call_back_and_the_attempt_is_audited() -> None:
    sink = Sink()
    sim = SimulatorSource("sim", POLICY, default_centre().model_copy(
        update={"seed": 4, "start": NOW}), clock=lambda: NOW)
    snap = await sim.snapshot()
    actions = Actions([sim], sink, "sam", Role.VIEWER)
    target = next(a for a in snap.abandoned if a.channel == Channel.VOICE)
    result = await actions.create_callback(target, target.queue_id, Store.open(None), NOW)
    assert not result.ok and result.code == "refused"
    assert "sam is a viewer; callback needs supervisor" in result.message
    assert [r["outcome"] for r in sink.records] == ["refused"]
    ok = await Actions([sim], sink, "kim", Role.SUPERVISOR).create_callback(
        target, target.queue_id, None, NOW)  # on the source: no store needed
    assert ok.ok and "queued as contact" in ok.message
    assert [r["outcome"] for r in sink.records] == ["refused", "allowed", "done"]
