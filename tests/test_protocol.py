"""Protocol v1 documents: conversions, validation of bad documents, committed schema."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from supervisor_tui.domain.model import (
    ActionResult,
    AgentState,
    AgentStateKind,
    Channel,
    Contact,
    ContactState,
    Snapshot,
)
from supervisor_tui.protocol.documents import (
    PROTOCOL_VERSION,
    BroadcastRequest,
    Centre,
    DeltaDoc,
    ErrorDoc,
    MoveContactRequest,
    ProtocolError,
    SnapshotDoc,
    apply_delta,
    centre_snapshot,
    is_loopback,
    json_schema,
    parse_delta,
    parse_snapshot,
    schema_text,
    to_delta,
    to_doc,
    to_snapshot,
)
from tests.helpers import T0, centre

SCHEMA_FILE = Path(__file__).parent.parent / "docs" / "protocol.schema.json"


def wire(**changes: Any) -> dict[str, Any]:
    """The hand-built centre as JSON-ready data, with top-level ``changes``."""
    doc = to_doc(centre(), "pbx", ["snapshot", "broadcast"]).model_dump(mode="json")
    doc.update(changes)
    return doc


def test_committed_schema_is_generated_from_the_models() -> None:
    committed = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    assert committed == json_schema(), (
        "docs/protocol.schema.json is stale: run "
        "`.venv/bin/python -m supervisor_tui.protocol > docs/protocol.schema.json`")
    assert SCHEMA_FILE.read_text(encoding="utf-8") == schema_text()


def test_module_prints_the_schema() -> None:
    out = subprocess.run([sys.executable, "-m", "supervisor_tui.protocol"], check=True,
                         capture_output=True, text=True).stdout
    assert json.loads(out) == json_schema()


def test_schema_names_every_document() -> None:
    defs = json_schema()["$defs"]
    for name in ("SnapshotDoc", "DeltaDoc", "WireQueue", "QueueStats", "Agent", "Contact",
                 "HealthDoc", "MoveContactRequest", "AssignContactRequest", "SetSkillsRequest",
                 "SetAgentStateRequest", "BroadcastRequest", "ActionResult", "ErrorDoc"):
        assert name in defs
    offered = defs["QueueStats"]["properties"]["offered"]
    assert offered["minimum"] == 0  # negative counts are invalid by schema, too


def test_round_trip_through_json_keeps_the_centre() -> None:
    snap = centre()
    text = to_doc(snap, "pbx", ["snapshot"]).model_dump_json()
    back = to_snapshot(parse_snapshot(json.loads(text)))
    assert back == snap


def test_queues_read_from_the_wire_are_whole_models_sharing_one_field_set() -> None:
    from supervisor_tui.domain.model import Queue
    back = to_snapshot(parse_snapshot(wire()))
    made = [Queue.model_construct(**q.model_dump()) for q in back.queues]
    assert list(back.queues) == made  # as model_construct makes them: same fields, equal
    assert all(type(q) is Queue and q.model_fields_set == set(Queue.model_fields)
               for q in back.queues)
    assert len({id(q.model_fields_set) for q in back.queues}) == 1  # shared (memory)
    with pytest.raises(ValidationError):
        back.queues[0].name = "x"  # type: ignore[misc]  # frozen, as a validated one
    # Some fields only (not a whole queue): as model_construct, defaults filled in.
    part = Queue.of_fields({"id": "q9", "name": "Nine"})
    assert part == Queue.model_construct(id="q9", name="Nine") and part.threshold_s == 20.0


def test_to_snapshot_renames_the_source() -> None:
    back = to_snapshot(parse_snapshot(wire()), "remote")
    assert {q.source for q in back.queues} == {"remote"}
    assert {a.source for a in back.agents} == {"remote"}
    assert back.interval_stats["sales"].answered_within_threshold == 24
    assert back.day_stats["support"].offered == 10


def test_parse_can_rename_before_validating() -> None:
    doc = parse_snapshot(wire(), "remote")
    assert {q.source for q in doc.queues} | {a.source for a in doc.agents} == {"remote"}
    assert to_snapshot(doc, "remote").agents == to_snapshot(doc).agents


def test_queue_without_stats_gets_zero_counters() -> None:
    snap = centre()
    snap = snap.model_copy(update={"interval_stats": {}, "day_stats": {}})
    doc = SnapshotDoc.model_validate_json(to_doc(snap, "pbx", []).model_dump_json())
    assert doc.queues[0].interval.offered == 0
    assert doc.queues[0].day.window_start == snap.day_start


def test_capabilities_are_a_sorted_set() -> None:
    doc = to_doc(centre(), "pbx", ["broadcast", "snapshot", "broadcast"])
    assert doc.capabilities == ["broadcast", "snapshot"]


def _negative(doc: dict[str, Any]) -> dict[str, Any]:
    doc["queues"][0]["interval"]["offered"] = -3
    return doc


def _dup_agent(doc: dict[str, Any]) -> dict[str, Any]:
    doc["agents"].append(doc["agents"][0])
    return doc


def _foreign_stats(doc: dict[str, Any]) -> dict[str, Any]:
    doc["queues"][0]["day"]["queue_id"] = "support"
    return doc


def _lost_contact(doc: dict[str, Any]) -> dict[str, Any]:
    doc["contacts"][0]["queue_id"] = "nowhere"
    return doc


def _naive_since(doc: dict[str, Any]) -> dict[str, Any]:
    doc["agents"][0]["state"]["since"] = "2026-11-22T10:19:30"
    return doc


def _naive_last_since(doc: dict[str, Any]) -> dict[str, Any]:
    # (the others have offsets: the time checks compare the earliest and latest first)
    doc["agents"][-1]["state"]["since"] = "2026-11-22T10:19:30"
    return doc


def _old_last_entered(doc: dict[str, Any]) -> dict[str, Any]:
    doc["contacts"][-1]["entered_at"] = "2024-01-01T00:00:00Z"
    return doc


def _dup_last_contact(doc: dict[str, Any]) -> dict[str, Any]:
    doc["contacts"].append({**doc["contacts"][-1], "queue_id": "sales"})
    return doc


def _extra_field(doc: dict[str, Any]) -> dict[str, Any]:
    doc["agents"][0]["mood"] = "grumpy"
    return doc


@pytest.mark.parametrize(("data", "fragment"), [
    ([1, 2], "expected a JSON object, got an array"),
    ("hello", "got a str"),
    ({"error": {"code": "db_down", "message": "no database"}}, "server error db_down: no "
     "database"),
    ({"queues": []}, "no protocol version"),
    (wire(protocol=2), "server speaks protocol version 2; this console speaks 1"),
    (_negative(wire()), "queues.0.interval.offered: Input should be greater than or equal to 0"),
    (wire(agents="lots"), "agents: Input should be a valid list"),
    ({k: v for k, v in wire().items() if k != "taken_at"}, "taken_at: Field required"),
    (wire(taken_at="2026-11-22T10:20:00"), "taken_at: Input should have timezone info"),
    (wire(clock_rate=0), "clock_rate: Input should be greater than 0"),
    (_dup_agent(wire()), "duplicate agent id 'a1'"),
    (_foreign_stats(wire()), "day.queue_id 'support' is not the queue's id 'sales'"),
    (_lost_contact(wire()), "contact c1 is in unknown queue 'nowhere'"),
    (_naive_since(wire()), "agent a1 state.since has no UTC offset"),
    (_naive_last_since(wire()), "agent a4 state.since has no UTC offset"),
    (_old_last_entered(wire()), "contact c3 entered_at 2024-01-01T00:00:00+00:00 is "
     "implausibly far from taken_at"),
    (_dup_last_contact(wire()), "duplicate contact id 'c3'"),
    (_extra_field(wire()), "agents.0.mood: Extra inputs are not permitted"),
])
def test_bad_documents_give_one_line_reasons(data: Any, fragment: str) -> None:
    with pytest.raises(ProtocolError) as caught:
        parse_snapshot(data)
    reason = str(caught.value)
    assert fragment in reason
    assert "\n" not in reason and len(reason) < 300


def test_many_problems_are_counted_not_listed() -> None:
    doc = wire()
    for q in doc["queues"]:
        q["interval"]["offered"] = -1
        q["interval"]["answered"] = "many"
    with pytest.raises(ProtocolError, match=r"\(and 3 more problems\)$"):
        parse_snapshot(doc)


def test_server_text_in_errors_is_cleaned() -> None:
    with pytest.raises(ProtocolError) as caught:
        parse_snapshot({"error": {"code": "x\x1b[2J", "message": "boom\x1b]0;pwned\x07\nnext"}})
    assert "\x1b" not in str(caught.value) and "\n" not in str(caught.value)


def test_request_bodies() -> None:
    assert MoveContactRequest.model_validate_json('{"queue_id": "billing"}').queue_id == "billing"
    with pytest.raises(ValueError):
        MoveContactRequest.model_validate_json('{"queue_id": ""}')
    with pytest.raises(ValueError):
        BroadcastRequest(message="")
    with pytest.raises(ValueError):
        BroadcastRequest(message="x" * 5000)
    with pytest.raises(ValueError):
        MoveContactRequest.model_validate_json('{"queue_id": "a", "priority": 1}')


def test_responses() -> None:
    err = ErrorDoc.model_validate({"error": {"code": "not_waiting", "message": "answered"}})
    assert err.error.code == "not_waiting"
    assert ActionResult.model_validate({"ok": True, "code": "ok", "message": "done"}).ok


@pytest.mark.parametrize(("host", "loopback"), [
    ("127.0.0.1", True), ("127.8.9.10", True), ("::1", True), ("[::1]", True),
    ("localhost", True), ("LOCALHOST", True), ("0.0.0.0", False), ("::", False),
    ("10.1.2.3", False), ("sim.example.com", False), ("localhost.example.com", False),
])
def test_is_loopback(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback


def test_version_constant_matches_model() -> None:
    assert SnapshotDoc.model_fields["protocol"].default == PROTOCOL_VERSION
    assert parse_snapshot(wire()).taken_at == T0


# -- deltas ---------------------------------------------------------------------------

def moved_on(snap: Snapshot) -> Snapshot:
    """``snap`` ten seconds on: a1 takes c2, a4 logs off, a5 logs on, c1 is answered
    elsewhere (gone), c4 arrives, Sales' counters move. Everything else is the very
    same object, as a source hands out for records that did not change."""
    now = snap.taken_at + timedelta(seconds=10)
    a1, a2, a3, _a4 = snap.agents
    busy = AgentState(kind=AgentStateKind.ON_CONTACT, since=now)
    a1 = a1.model_copy(update={"state": busy, "contact_id": "c2", "queue_id": "sales"})
    a5 = a3.model_copy(update={"id": "a5", "name": "Ed"})
    _c1, c2, c3 = snap.contacts
    c2 = c2.model_copy(update={"state": ContactState.CONNECTED, "agent_id": "a1"})
    c4 = Contact(id="c4", queue_id="support", channel=Channel.CHAT, entered_at=now)
    sales = snap.interval_stats["sales"].model_copy(update={"offered": 41})
    return snap.model_copy(update={
        "taken_at": now, "agents": (a1, a2, a3, a5), "contacts": (c2, c3, c4),
        "interval_stats": {**snap.interval_stats, "sales": sales}})


def delta_between(old: Snapshot, new: Snapshot) -> DeltaDoc:
    head = to_doc(new, "pbx", ["snapshot"])
    text = to_delta(Centre.of(old), Centre.of(new), head).model_dump_json()
    return DeltaDoc.model_validate_json(text)  # what a client gets off the wire


def test_delta_carries_only_what_changed() -> None:
    old = centre()
    new = moved_on(old)
    delta = delta_between(old, new)
    assert [q.id for q in delta.queues] == ["sales"] and delta.queues_removed == []
    assert delta.queues[0].interval.offered == 41
    assert [a.id for a in delta.agents] == ["a1", "a5"] and delta.agents_removed == ["a4"]
    assert [c.id for c in delta.contacts] == ["c2", "c4"]
    assert delta.contacts_removed == ["c1"]
    assert delta.taken_at == new.taken_at and delta.source == "pbx"


def test_applying_a_delta_gives_the_new_snapshot() -> None:
    old = centre()
    new = moved_on(old)
    base = Centre.of(old)
    delta = delta_between(old, new)
    after = apply_delta(base, delta)
    assert centre_snapshot(after, delta) == new
    assert list(after.agents) == ["a1", "a2", "a3", "a5"]  # changed in place, new at the end
    assert after.agents["a2"] is base.agents["a2"]  # unchanged: the base's own object
    assert after.contacts["c3"] is base.contacts["c3"]
    assert after.queues["support"] is base.queues["support"]
    assert list(base.agents) == ["a1", "a2", "a3", "a4"]  # the base is untouched


def test_a_delta_moving_only_counters_keeps_the_queue_tuple_and_a_renamed_queue_does_not(
        ) -> None:
    """The console's board skips its pass over 5,000 queues when their tuple is the
    one it saw last poll: kept while every queue record is the same object."""
    old = centre()
    base = Centre.of(old)
    before = centre_snapshot(base, to_doc(old, "pbx", ["snapshot"]))
    new = moved_on(old)  # Sales' counters move, its settings do not
    delta = delta_between(old, new)
    after = centre_snapshot(apply_delta(base, delta), delta, before)
    assert after.queues is before.queues and after == new
    sales, *rest = new.queues
    renamed = new.model_copy(update={"queues": (sales.model_copy(update={"name": "Sales 2"}),
                                                *rest)})
    delta = delta_between(old, renamed)
    after = centre_snapshot(apply_delta(base, delta), delta, before)
    assert after.queues is not before.queues and after.queues[0].name == "Sales 2"
    assert after == renamed


def test_a_full_snapshot_fetched_again_keeps_the_objects_of_unchanged_records() -> None:
    """A collector restart: the console gets the whole centre again. Records equal to
    what it holds stay the very objects it holds (its books see only real changes);
    changed and new ones are the fresh ones; names are the console's."""
    from supervisor_tui.protocol.documents import keep_equal

    old = to_snapshot(parse_snapshot(wire()), "remote")
    base = Centre.of(old)
    new = moved_on(old)
    again = SnapshotDoc.model_validate_json(to_doc(new, "pbx", ["snapshot"]).model_dump_json())
    kept = keep_equal(again, base, "remote")
    snap = to_snapshot(again, "remote")
    by_id = {a.id: a for a in snap.agents}
    assert by_id["a2"] is base.agents["a2"] and by_id["a3"] is base.agents["a3"]
    assert by_id["a1"] is not base.agents["a1"] and by_id["a1"] == new.agents[0]
    assert {a.source for a in snap.agents} == {"remote"}
    assert snap.contacts[1] is base.contacts["c3"]  # c3 unchanged; c2 changed, c4 new
    assert snap.contacts[0] is not base.contacts["c2"]
    assert snap.day_stats["sales"] is base.queues["sales"][2]  # day unchanged
    assert snap.interval_stats["sales"] is not base.queues["sales"][1]  # offered 41
    assert snap.interval_stats["support"] is base.queues["support"][1]
    assert kept == 2 + 1 + 3  # a2, a3; c3; sales day, support interval and day
    assert snap == new.model_copy(update={
        "agents": tuple(a.model_copy(update={"source": "remote"}) for a in new.agents),
        "contacts": tuple(c.model_copy(update={"source": "remote"}) for c in new.contacts),
        "queues": snap.queues, "health": snap.health, "tier_stats": snap.tier_stats,
        "abandoned": snap.abandoned})


def test_a_queue_sent_again_for_its_counters_keeps_its_objects() -> None:
    """Every move of a queue's counters sends the queue again (~200 a second at 5,000
    queues): the console keeps its own Queue and unchanged counters, so its books
    (the tiles' sums, the index) see only what moved; a new target is a new Queue."""
    old = to_snapshot(parse_snapshot(wire()), "remote")
    base = Centre.of(old)
    after = apply_delta(base, delta_between(old, moved_on(old)), "remote")
    queue, interval, day, _ = after.queues["sales"]
    assert queue is base.queues["sales"][0] and day is base.queues["sales"][2]
    assert interval.offered == 41 and interval is not base.queues["sales"][1]
    retargeted = old.model_copy(update={"queues": tuple(
        q.model_copy(update={"sl_target": 0.9}) if q.id == "sales" else q
        for q in old.queues)})
    moved = apply_delta(base, delta_between(old, retargeted), "remote")
    assert moved.queues["sales"][0].sl_target == 0.9
    assert moved.queues["sales"][1] is base.queues["sales"][1]


def test_applying_renames_only_the_new_records() -> None:
    old = to_snapshot(parse_snapshot(wire()), "remote")
    delta = delta_between(old, moved_on(old))
    after = apply_delta(Centre.of(old), delta, "remote")
    assert {a.source for a in after.agents.values()} == {"remote"}
    assert {row[0].source for row in after.queues.values()} == {"remote"}


def test_records_rebuilt_with_the_same_content_are_not_sent() -> None:
    old = centre()
    copies = old.model_copy(update={"agents": tuple(a.model_copy() for a in old.agents)})
    delta = delta_between(old, copies)
    assert delta.agents == [] and delta.contacts == [] and delta.queues == []
    assert delta.agents_removed == delta.contacts_removed == delta.queues_removed == []


def delta_wire(**changes: Any) -> dict[str, Any]:
    old = centre()
    doc = delta_between(old, moved_on(old)).model_dump(mode="json")
    doc.update(changes)
    return doc


def _changed_and_removed(doc: dict[str, Any]) -> dict[str, Any]:
    doc["agents_removed"].append("a1")
    return doc


def _naive_entered(doc: dict[str, Any]) -> dict[str, Any]:
    doc["contacts"][0]["entered_at"] = "2026-11-22T10:19:30"
    return doc


@pytest.mark.parametrize(("data", "fragment"), [
    ([], "expected a JSON object, got an array"),
    ({"queues": []}, "not a supervisor-tui delta (no protocol version)"),
    (delta_wire(protocol=2), "server speaks protocol version 2"),
    ({k: v for k, v in delta_wire().items() if k != "agents_removed"},
     "invalid delta: agents_removed: Field required"),
    (wire(), "invalid delta: queues_removed: Field required (and 2 more problems)"),
    (delta_wire(agents_removed=["a4", "a4"]), "duplicate removed agent id 'a4'"),
    (_changed_and_removed(delta_wire()), "agent 'a1' is both changed and removed"),
    (_naive_entered(delta_wire()), "contact c2 entered_at has no UTC offset"),
    (delta_wire(contacts="some"), "invalid delta: contacts: Input should be a valid list"),
])
def test_bad_deltas_give_one_line_reasons(data: Any, fragment: str) -> None:
    with pytest.raises(ProtocolError) as caught:
        parse_delta(data)
    reason = str(caught.value)
    assert fragment in reason
    assert "\n" not in reason and len(reason) < 300


def test_a_delta_that_does_not_fit_the_base_is_refused() -> None:
    old = centre()
    base = Centre.of(old)
    delta = delta_between(old, moved_on(old))
    stranger = delta.model_copy(update={"agents_removed": ["zz\x1b[2J"]})
    with pytest.raises(ProtocolError, match=r"removes agent 'zz', which the console"):
        apply_delta(base, stranger)
    lost = delta.contacts[0].model_copy(update={"queue_id": "nowhere"})
    with pytest.raises(ProtocolError, match="contact c2 is in unknown queue 'nowhere'"):
        apply_delta(base, delta.model_copy(update={"contacts": [lost]}))
    # removing a queue strands c3, which the delta does not even mention
    gone = delta.model_copy(update={"queues_removed": ["support"]})
    with pytest.raises(ProtocolError, match="contact c3 is in unknown queue 'support'"):
        apply_delta(base, gone)
    assert list(base.agents) == ["a1", "a2", "a3", "a4"]  # nothing half-applied
