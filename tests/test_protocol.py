"""Protocol v1 documents: conversions, validation of bad documents, committed schema."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from supervisor_tui.model import ActionResult
from supervisor_tui.protocol import (
    PROTOCOL_VERSION,
    BroadcastRequest,
    ErrorDoc,
    MoveContactRequest,
    ProtocolError,
    SnapshotDoc,
    is_loopback,
    json_schema,
    parse_snapshot,
    schema_text,
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
    for name in ("SnapshotDoc", "WireQueue", "QueueStats", "Agent", "Contact", "HealthDoc",
                 "MoveContactRequest", "AssignContactRequest", "SetSkillsRequest",
                 "SetAgentStateRequest", "BroadcastRequest", "ActionResult", "ErrorDoc"):
        assert name in defs
    offered = defs["QueueStats"]["properties"]["offered"]
    assert offered["minimum"] == 0  # negative counts are invalid by schema, too


def test_round_trip_through_json_keeps_the_centre() -> None:
    snap = centre()
    text = to_doc(snap, "pbx", ["snapshot"]).model_dump_json()
    back = to_snapshot(parse_snapshot(json.loads(text)))
    assert back == snap


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
