"""The collector's full body, made from each record's JSON kept across versions: byte for
byte the document's own JSON at every version, and only changed records made again."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from supervisor_tui.domain.model import Queue
from supervisor_tui.protocol.body import BodyWriter
from supervisor_tui.protocol.documents import SnapshotDoc, to_doc
from supervisor_tui.sim.config import scaled_centre
from supervisor_tui.sources.simulator import SimulatorSource
from tests.helpers import POLICY, centre


async def test_each_version_is_the_documents_json_and_only_new_records_are_made() -> None:
    wall = [datetime(2030, 1, 1, 9, tzinfo=UTC)]
    cfg = scaled_centre(queues=40, agents=400).model_copy(update={"start": wall[0]})
    source = SimulatorSource("floor", POLICY, cfg, clock=lambda: wall[0])
    writer = BodyWriter()
    previous = None
    for step in range(12):
        wall[0] += timedelta(seconds=2)
        snap = await source.snapshot()
        doc = to_doc(snap, "floor", ["snapshot"])
        assert writer.body(doc) == doc.model_dump_json().encode()
        records = len(doc.queues) + len(doc.agents) + len(doc.contacts) + len(doc.abandoned)
        if previous is None:
            assert writer.made == records
        else:
            # What is new since the last version: agents and contacts that are new
            # objects, abandoned ones, and queues whose counters or settings moved.
            new = (sum(a is not previous.agent(a.id) for a in doc.agents)
                   + sum(c is not previous.contact(c.id) for c in doc.contacts)
                   + sum(ab is not previous.abandoned_(ab.id) for ab in doc.abandoned)
                   + sum(previous.queue_parts(q.id) != _parts(q) for q in doc.queues))
            assert writer.made == new < records
        previous = _Seen(doc)
        assert step < 1 or writer.made > 0  # the centre moves: something is made again


def _parts(q: object) -> tuple[int, ...]:
    return tuple(map(id, vars(q).values()))


class _Seen:
    """The records of one version by id, held (so their ids mean them)."""

    def __init__(self, doc: SnapshotDoc) -> None:
        self.doc = doc
        self._agents = {a.id: a for a in doc.agents}
        self._contacts = {c.id: c for c in doc.contacts}
        self._abandoned = {a.id: a for a in doc.abandoned}
        self._queues = {q.id: _parts(q) for q in doc.queues}

    def agent(self, i: str) -> object:
        return self._agents.get(i)

    def contact(self, i: str) -> object:
        return self._contacts.get(i)

    def abandoned_(self, i: str) -> object:
        return self._abandoned.get(i)

    def queue_parts(self, i: str) -> tuple[int, ...] | None:
        return self._queues.get(i)


def test_an_equal_record_in_a_new_object_and_a_renamed_queue_are_written_anew() -> None:
    writer = BodyWriter()
    snap = centre()
    doc = to_doc(snap, "pbx", ["snapshot"])
    writer.body(doc)
    a1 = snap.agents[0]
    renamed = Queue.model_validate({**snap.queues[0].model_dump(), "name": "Sales & Renewals"})
    moved = snap.model_copy(update={
        "agents": (a1.model_copy(update={"name": "Ana Lima"}), *snap.agents[1:]),
        "queues": (renamed, *snap.queues[1:])})
    doc = to_doc(moved, "pbx", ["snapshot"])
    body = writer.body(doc)
    assert body == doc.model_dump_json().encode()
    assert b'"name":"Ana Lima"' in body and b'"name":"Sales & Renewals"' in body
    assert writer.made == 2  # that agent and that queue; the rest reused
    # A record gone is not written again.
    gone = moved.model_copy(update={"agents": moved.agents[1:]})
    doc = to_doc(gone, "pbx", ["snapshot"])
    body = writer.body(doc)
    assert body == doc.model_dump_json().encode() and b"Ana Lima" not in body


def test_two_sources_with_the_same_agent_id_each_keep_their_own_json() -> None:
    snap = centre()
    a1 = snap.agents[0]
    twin = a1.model_copy(update={"source": "crm", "name": "Ana of the CRM"})
    merged = snap.model_copy(update={"agents": (*snap.agents, twin)})
    writer = BodyWriter()
    writer.body(to_doc(merged, "hq", ["snapshot"]))
    doc = to_doc(merged, "hq", ["snapshot"])
    assert writer.body(doc) == doc.model_dump_json().encode()
    assert writer.made == 0  # both reused: neither pushes the other out
