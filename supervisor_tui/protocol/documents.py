"""supervisor-tui's own HTTP/JSON wire protocol, version 1 (see docs/protocol.md).

Pure pydantic, no I/O: ``serve_sim`` writes these documents and ``sources.http`` reads
them. The documents reuse the domain models of ``model`` (Queue, QueueStats, Agent,
Contact, ActionResult), so a field added to the domain is a visible change to the
schema, which a test compares with the committed ``docs/protocol.schema.json``.

Versioning: a v1 document is closed (unknown fields are errors, like the domain
models). Any change to the fields is a new protocol version served under a new path
prefix (``/v2/...``); a server may serve several versions side by side.

Delta snapshots (an optional part of v1): a client that holds a snapshot asks for
what changed since it (``A-IM: snapshot-delta`` with its ETag in ``If-None-Match``) and
the server answers ``226 IM Used`` with a ``DeltaDoc``, or with the full snapshot when
it no longer knows that base. ``Centre`` is what both sides diff and patch: a snapshot's
records by id, so unchanged records keep their identity from poll to poll.

``python -m supervisor_tui.protocol`` prints the JSON Schema of every document.
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from operator import is_
from typing import Annotated, Any, Final, Literal, Self, TypeVar

from pydantic import (
    AwareDatetime,
    Field,
    ValidationError,
    model_validator,
)
from pydantic.json_schema import models_json_schema

from supervisor_tui.domain.model import (
    EARLIEST,
    LATEST,
    MAX_ABANDONED,
    MAX_THRESHOLD_S,
    AbandonedContact,
    ActionResult,
    Agent,
    Contact,
    Frozen,
    Queue,
    QueueStats,
    Snapshot,
    Tier,
    TierStats,
)
from supervisor_tui.domain.text import clean

#: Final: its type is Literal[1], the type of every document's ``protocol`` field
PROTOCOL_VERSION: Final = 1
#: every endpoint of this version lives under this path
PREFIX = "/v1"
#: action requests with this header are performed at most once per key
IDEMPOTENCY_HEADER = "Idempotency-Key"
#: set (to "true") on a response replayed from the idempotency cache
REPLAYED_HEADER = "Idempotent-Replayed"
#: longest accepted broadcast message, in characters
MAX_MESSAGE = 2000
#: the instance-manipulation (RFC 3229) a client names in ``A-IM`` to accept a delta;
#: the server's ``IM`` header names it on a delta answer
DELTA_IM = "snapshot-delta"
#: status of a delta answer ("IM Used", RFC 3229)
IM_USED = 226
#: on a delta answer: the ETag of the snapshot the delta applies to
DELTA_BASE_HEADER = "Delta-Base"
#: optional parts a server advertises in ``capabilities`` (consoles ignore names they do
#: not know, so advertising them breaks no older console): a server-sent event stream
#: at ``GET /v1/events`` that names each new version as it appears...
EVENTS_CAPABILITY = "events"
#: ...and the health of the sources behind the server at ``GET /v1/sources`` (a
#: collector: "genesys down", not just "collector up")
SOURCES_CAPABILITY = "sources"
#: the event stream's event names: a new snapshot version (data: EventDoc); the health
#: of a source behind the server changed, the snapshot did not (data: EventDoc)
VERSION_EVENT = "version"
HEALTH_EVENT = "health"
#: a server sends something (a comment line when nothing happens) at least this often,
#: so a client can tell a quiet stream from a dead one
HEARTBEAT_MAX_S = 15.0

# What a document may claim (issue #11): beyond these it is garbage, refused with a
# one-line reason rather than shown as live (or overflowing date arithmetic).
#: window starts (interval, day, each queue's counters) lie within this of taken_at
WINDOW_SLACK = timedelta(days=1, hours=1)  # a day, and the hour a DST change adds
#: an agent's state or a contact's wait began at most this long before taken_at...
PAST_LIMIT = timedelta(days=400)
#: ...and at most this long after it (clock skew between platform parts)
FUTURE_SLACK = timedelta(days=1)
#: the longest average handle time a queue can have
MAX_AHT_S = 86400.0
#: more offered traffic than any centre (10x the biggest): the numbers are garbage
MAX_TRAFFIC_ERLANGS = 100_000.0
#: a time with a UTC offset, in a sane year
AwareWhen = Annotated[AwareDatetime, Field(ge=EARLIEST, le=LATEST)]
#: a window this young gives no arrival rate (as metrics.MIN_RATE_WINDOW_S)
_RATE_WINDOW_S = 60.0
#: source seconds per wall-clock second: the simulator runs fast, never a million times
ClockRate = Field(1.0, gt=0, le=1e6, allow_inf_nan=False,
                  description="source seconds per wall-clock second (the simulator's speed)")


class WireQueue(Queue):
    """A queue with its counters for the current interval and for today."""

    interval: QueueStats = Field(description="counters since the snapshot's interval_start")
    day: QueueStats = Field(description="counters since the snapshot's day_start")
    tiers: TierStats | None = Field(
        None, description="optional: the same counters split by customer tier (gold and "
        "vip; standard is the rest of the queue's), from servers whose source knows tiers")

    @model_validator(mode="after")
    def _stats_are_ours(self) -> Self:
        # (one cheap test per counters object; the name is made only for a refusal:
        # 30,000 of them in a big centre's snapshot)
        split = self.tiers
        every: list[tuple[str, Tier | None, QueueStats]] = [
            ("interval", None, self.interval), ("day", None, self.day)]
        if split is not None:
            for window, by_tier in (("interval", split.interval), ("day", split.day)):
                every.extend((window, tier, stats) for tier, stats in by_tier.items())
        for window, tier, stats in every:
            problem = _not_ours(stats, self.id)
            if problem:
                which = window if tier is None else f"tiers.{window}.{tier.value}"
                raise ValueError(f"{which}{problem}")
        return self


def _not_ours(stats: QueueStats, queue_id: str) -> str | None:
    """Why ``stats`` cannot be queue ``queue_id``'s counters (after their name), or None."""
    if stats.queue_id != queue_id:
        return f".queue_id {stats.queue_id!r} is not the queue's id {queue_id!r}"
    if stats.handled and stats.handle_s / stats.handled > MAX_AHT_S:
        return f": average handle time of {stats.handle_s / stats.handled:.3g} s is absurd"
    if stats.answered and stats.wait_answered_s / stats.answered > MAX_THRESHOLD_S:
        return f": average wait of {stats.wait_answered_s / stats.answered:.3g} s is absurd"
    return None


class SnapshotDoc(Frozen):
    """``GET /v1/snapshot``: the whole centre as the server sees it at ``taken_at``."""

    protocol: Literal[1] = Field(PROTOCOL_VERSION, description="wire protocol version")
    source: str = Field(description="the server's name for what it serves; clients may "
                        "rename it (the source name fields inside are informational)")
    capabilities: list[str] = Field(
        default_factory=lambda: ["snapshot"],
        description="what the server can do: snapshot, reassign_contact, move_agents, "
        "broadcast, agent_state, emergency_group, callback; clients ignore names they do "
        "not know")
    taken_at: AwareWhen = Field(description="the server's clock when this was taken")
    interval_start: AwareWhen = Field(description="start of the current interval")
    day_start: AwareWhen = Field(description="start of the current day")
    clock_rate: float = ClockRate
    queues: list[WireQueue] = Field(default_factory=list)
    agents: list[Agent] = Field(default_factory=list)
    contacts: list[Contact] = Field(default_factory=list,
                                    description="waiting and in-progress contacts")
    abandoned: list[AbandonedContact] = Field(
        default_factory=list, max_length=MAX_ABANDONED,
        description="today's abandoned contacts, newest last (at most the last "
        f"{MAX_ABANDONED}); optional: absent or empty when the server reports none")

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        _unique("queue", (q.id for q in self.queues))
        _unique("agent", (a.id for a in self.agents))
        _unique("contact", (c.id for c in self.contacts))
        _unique("abandoned contact", (a.id for a in self.abandoned))
        queue_ids = {q.id for q in self.queues}
        _check_times(self)
        for c in self.contacts:
            if queue_ids and c.queue_id not in queue_ids:
                raise ValueError(f"contact {c.id} is in unknown queue {c.queue_id!r}")
        return self


class DeltaDoc(Frozen):
    """``GET /v1/snapshot`` answered ``226 IM Used``: what changed since the client's
    snapshot (named by the ``Delta-Base`` header). Every list is required, so a full
    snapshot can never be mistaken for a delta."""

    protocol: Literal[1] = Field(PROTOCOL_VERSION, description="wire protocol version")
    source: str = Field(description="as in SnapshotDoc")
    capabilities: list[str] = Field(default_factory=lambda: ["snapshot"],
                                    description="as in SnapshotDoc (the whole list)")
    taken_at: AwareWhen = Field(description="the server's clock when this was taken")
    interval_start: AwareWhen = Field(description="start of the current interval")
    day_start: AwareWhen = Field(description="start of the current day")
    clock_rate: float = ClockRate
    queues: list[WireQueue] = Field(description="queues added, or whose definition or "
                                    "counters changed, with both sets of counters")
    queues_removed: list[str] = Field(description="ids of queues gone since the base")
    agents: list[Agent] = Field(description="agents added or changed since the base")
    agents_removed: list[str] = Field(description="ids of agents gone since the base")
    contacts: list[Contact] = Field(description="contacts added or changed since the base")
    contacts_removed: list[str] = Field(description="ids of contacts gone since the base")
    abandoned: list[AbandonedContact] = Field(
        default_factory=list, max_length=MAX_ABANDONED,
        description="abandoned contacts added (appended: newest last) or changed since the "
        "base; optional, like abandoned_removed (absent: none)")
    abandoned_removed: list[str] = Field(
        default_factory=list, max_length=10 * MAX_ABANDONED,
        description="ids of abandoned contacts gone since the base (past the last "
        f"{MAX_ABANDONED}, or a new day)")

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        for kind, records, removed in (("queue", self.queues, self.queues_removed),
                                       ("agent", self.agents, self.agents_removed),
                                       ("contact", self.contacts, self.contacts_removed)):
            ids = [r.id for r in records]
            _unique(kind, ids)
            _unique(f"removed {kind}", removed)
            both = set(ids).intersection(removed)
            if both:
                raise ValueError(f"{kind} {min(both)!r} is both changed and removed")
        ids = [a.id for a in self.abandoned]
        _unique("abandoned contact", ids)
        _unique("removed abandoned contact", self.abandoned_removed)
        both = set(ids).intersection(self.abandoned_removed)
        if both:
            raise ValueError(f"abandoned contact {min(both)!r} is both changed and removed")
        # What the base already held was checked when it arrived; only the new records
        # need the checks SnapshotDoc makes (queue membership is checked on applying).
        _check_times(self)
        return self


def _unique(kind: str, ids: Iterable[str]) -> None:
    ids = list(ids)
    if len(set(ids)) == len(ids):  # the usual case, in C; else find the first again
        return
    seen: set[str] = set()
    for i in ids:
        if i in seen:
            raise ValueError(f"duplicate {kind} id {i!r}")
        seen.add(i)


def _aware(what: str, when: datetime) -> None:
    if when.tzinfo is None or when.utcoffset() is None:
        raise ValueError(f"{what} has no UTC offset")


def _near(what: str, when: datetime, now: datetime, before: timedelta,
          after: timedelta) -> None:
    _aware(what, when)
    if not now - before <= when <= now + after:
        raise ValueError(f"{what} {when.isoformat()} is implausibly far from taken_at "
                         f"{now.isoformat()}")


def _check_times(doc: SnapshotDoc | DeltaDoc) -> None:
    """Every time in ``doc`` (its new records, for a delta) has an offset and lies where
    its meaning puts it relative to ``taken_at``; every queue's offered traffic is
    plausible. The nested domain models take any datetime in a sane year; on the wire a
    time without an offset is ambiguous, so it is refused rather than the zone guessed."""
    now = doc.taken_at
    _near("interval_start", doc.interval_start, now, WINDOW_SLACK, WINDOW_SLACK)
    _near("day_start", doc.day_start, now, WINDOW_SLACK, WINDOW_SLACK)
    for q in doc.queues:
        for which, stats in (("interval", q.interval), ("day", q.day)):
            _near(f"queue {q.id} {which}.window_start", stats.window_start, now,
                  WINDOW_SLACK, WINDOW_SLACK)
            elapsed = (now - stats.window_start).total_seconds()
            if elapsed >= _RATE_WINDOW_S and stats.handled:
                traffic = stats.offered / elapsed * (stats.handle_s / stats.handled)
                if traffic > MAX_TRAFFIC_ERLANGS:
                    raise ValueError(f"queue {q.id} {which}: offered traffic of "
                                     f"{traffic:.3g} Erlangs is absurd")
    _check_since("agent {} state.since", doc.agents, [a.state.since for a in doc.agents],
                 now)
    _check_since("contact {} entered_at", doc.contacts, [c.entered_at for c in doc.contacts],
                 now)
    _check_since("abandoned contact {} abandoned_at", doc.abandoned,
                 [a.abandoned_at for a in doc.abandoned], now)


def _check_since(what: str, records: Sequence[Any], times: list[datetime],
                 now: datetime) -> None:
    """Each of ``times`` (of ``records``) has an offset and lies within PAST_LIMIT
    before / FUTURE_SLACK after ``now``; the first record that does not is named."""
    if _all_near(times, now, PAST_LIMIT, FUTURE_SLACK):
        return
    for record, at in zip(records, times, strict=True):
        _near(what.format(record.id), at, now, PAST_LIMIT, FUTURE_SLACK)


def _all_near(times: list[datetime], now: datetime, before: timedelta,
              after: timedelta) -> bool:
    """Whether every one of ``times`` has an offset and lies within ``before`` /
    ``after`` of ``now``: the earliest and latest compared, in C (~50 ms less at 50,000
    agents than one check each). False when any is off. Ordering a time without an
    offset against one with it raises, so times that order among themselves and against
    ``now`` (which has one) all have one."""
    if not times:
        return True
    try:
        return now - before <= min(times) and max(times) <= now + after
    except TypeError:
        return False


class HealthDoc(Frozen):
    """``GET /v1/health``: open even when a token is required (for load balancers)."""

    status: Literal["ok"] = "ok"
    protocol: int = PROTOCOL_VERSION


class UpstreamSource(Frozen):
    """One source behind the server, as the server polls it."""

    name: str = Field(min_length=1, max_length=256)
    status: Literal["ok", "degraded", "down"] = Field(
        description="ok; degraded: its last poll(s) failed; down: several in a row failed "
        "(its records in the snapshot are its last good ones)")
    age_s: float | None = Field(None, ge=0, le=1e9, allow_inf_nan=False,
                                description="seconds since its last good poll, when the "
                                "document was made (null: none yet); ages, not times, so "
                                "the two clocks need not agree")
    last_error: str | None = Field(None, max_length=500, description="its last failure")
    error_age_s: float | None = Field(None, ge=0, le=1e9, allow_inf_nan=False,
                                      description="seconds since that failure")
    consecutive_failures: int = Field(0, ge=0)
    notes: list[str] = Field(default_factory=list, max_length=20,
                             description="doubts about its last good poll")


class SourcesDoc(Frozen):
    """``GET /v1/sources`` (capability ``sources``): the health of every source the
    server polls. Its snapshot holds each one's last good records."""

    protocol: Literal[1] = Field(PROTOCOL_VERSION, description="wire protocol version")
    sources: list[UpstreamSource] = Field(max_length=1000)


class EventDoc(Frozen):
    """The data of a ``version`` or ``health`` event on ``GET /v1/events``."""

    etag: str = Field(max_length=200, description="the ETag of the current snapshot (as "
                      "served without gzip); a client holding it has nothing to fetch")
    taken_at: AwareWhen | None = Field(None, description="that snapshot's taken_at")


class MoveContactRequest(Frozen):
    """``POST /v1/contacts/{contact_id}/move``: put a waiting contact in another queue."""

    queue_id: str = Field(min_length=1)


class AssignContactRequest(Frozen):
    """``POST /v1/contacts/{contact_id}/assign``: give a waiting contact to an agent."""

    agent_id: str = Field(min_length=1)


class SetSkillsRequest(Frozen):
    """``PUT /v1/agents/{agent_id}/skills``: the queues the agent serves, preferred first."""

    skills: list[str] = Field(max_length=1000)


class SetAgentStateRequest(Frozen):
    """``PUT /v1/agents/{agent_id}/state``: "available", "away:<reason>", "end_acw" or
    "logout" (``domain.agent_control``)."""

    state: str = Field(min_length=1, max_length=100)


class EmergencyRequest(Frozen):
    """``PUT /v1/emergency``: switch the centre's emergency group on or off (while on,
    new voice calls hear the emergency message instead of queueing)."""

    group: str = Field("emergency", min_length=1, max_length=100)
    active: bool


class CallbackRequest(Frozen):
    """``POST /v1/abandoned/{abandoned_id}/callback``: queue a call-back for one of
    today's abandoned contacts in a (voice) queue, as a contact agents answer."""

    queue_id: str = Field(min_length=1, max_length=256)


class BroadcastRequest(Frozen):
    """``POST /v1/broadcast``: a message shown to every logged-in agent."""

    message: str = Field(min_length=1, max_length=MAX_MESSAGE)


class ErrorBody(Frozen):
    code: str = Field(description="for programs: unauthorized, bad_request, not_found, "
                      "unknown_contact, not_waiting, ...")
    message: str = Field(description="one line for people")


class ErrorDoc(Frozen):
    """Every non-2xx response: ``{"error": {"code": ..., "message": ...}}``."""

    error: ErrorBody


#: every document of the protocol, by the name used in the schema and the docs
DOCUMENTS: tuple[type[Frozen], ...] = (
    SnapshotDoc, DeltaDoc, HealthDoc, MoveContactRequest, AssignContactRequest, SetSkillsRequest,
    SetAgentStateRequest, EmergencyRequest, BroadcastRequest, CallbackRequest, ActionResult,
    ErrorDoc, SourcesDoc, EventDoc)


# -- conversions ---------------------------------------------------------------------

def to_doc(snapshot: Snapshot, source: str, capabilities: Iterable[str]) -> SnapshotDoc:
    """A domain snapshot as a wire document (trusted data: no re-validation)."""
    tiers = snapshot.tier_stats
    queues = [_wire_queue(q, *_stats(snapshot, q), tiers.get(q.id)) for q in snapshot.queues]
    return SnapshotDoc.model_construct(
        protocol=PROTOCOL_VERSION, source=source, capabilities=sorted(set(capabilities)),
        taken_at=snapshot.taken_at, interval_start=snapshot.interval_start,
        day_start=snapshot.day_start, clock_rate=snapshot.clock_rate, queues=queues,
        agents=list(snapshot.agents), contacts=list(snapshot.contacts),
        abandoned=list(snapshot.abandoned))


def _stats(snapshot: Snapshot, q: Queue) -> tuple[QueueStats, QueueStats]:
    """A queue's interval and day counters; zero counters when the source has none."""
    interval = snapshot.interval_stats.get(q.id) or QueueStats(
        queue_id=q.id, window_start=snapshot.interval_start)
    day = snapshot.day_stats.get(q.id) or QueueStats(
        queue_id=q.id, window_start=snapshot.day_start)
    return interval, day


def _wire_queue(q: Queue, interval: QueueStats, day: QueueStats,
                tiers: TierStats | None = None) -> WireQueue:
    return WireQueue.of_fields({**q.__dict__, "interval": interval, "day": day, "tiers": tiers})


def to_snapshot(doc: SnapshotDoc, source: str | None = None) -> Snapshot:
    """A validated wire document as a domain snapshot; ``source`` renames every item."""
    queue_fields = tuple(Queue.model_fields)
    queues = []
    for q in doc.queues:
        # (the fields read from __dict__: ``dict(q)`` first asks the model for ``keys``,
        # and pydantic's answer to a missing attribute costs ~15 us: 75 ms at 5,000 queues)
        own = q.__dict__
        fields = {k: own[k] for k in queue_fields}
        if source is not None:
            fields["source"] = source
        queues.append(Queue.of_fields(fields))
    agents: Iterable[Agent] = doc.agents
    if source is not None:
        # The document was just validated and nothing else holds its agents and contacts
        # yet, so they are renamed in place: a frozen-model copy of 10,000 agents costs
        # ~50 ms.
        _rename(doc.agents, source)
        _rename(doc.contacts, source)
        _rename(doc.abandoned, source)
    return Snapshot.model_construct(
        taken_at=doc.taken_at, interval_start=doc.interval_start, day_start=doc.day_start,
        queues=tuple(queues),
        interval_stats={q.id: q.interval for q in doc.queues},
        day_stats={q.id: q.day for q in doc.queues},
        agents=tuple(agents), contacts=tuple(doc.contacts), health={},
        clock_rate=doc.clock_rate, abandoned=tuple(doc.abandoned),
        tier_stats={q.id: q.tiers for q in doc.queues if q.tiers is not None})


#: a queue with its interval and day counters, and their split by tier (if reported)
QueueRow = tuple[Queue, QueueStats, QueueStats, TierStats | None]
_Record = TypeVar("_Record")


@dataclass(frozen=True, slots=True)
class Centre:
    """A snapshot's records by id, in snapshot order: what deltas are made from (server)
    and applied to (client). Never changed once built (a delta makes a new one), so a
    version can be kept and shared; the records are the snapshot's own objects, so a
    diff compares identities first."""

    queues: dict[str, QueueRow]
    agents: dict[str, Agent]
    contacts: dict[str, Contact]
    abandoned: dict[str, AbandonedContact] = field(default_factory=dict)  # newest last

    @classmethod
    def of(cls, snapshot: Snapshot) -> Centre:
        tiers = snapshot.tier_stats
        return cls(queues={q.id: (q, *_stats(snapshot, q), tiers.get(q.id))
                           for q in snapshot.queues},
                   agents={a.id: a for a in snapshot.agents},
                   contacts={c.id: c for c in snapshot.contacts},
                   abandoned={a.id: a for a in snapshot.abandoned})


def _changes(old: Mapping[str, _Record],
             new: Mapping[str, _Record]) -> tuple[list[_Record], list[str]]:
    """Records of ``new`` added or changed since ``old``, and ids of those removed.

    Sources hand out the same object for an unchanged record, so ``is`` settles almost
    every comparison; equality catches a record rebuilt with the same content.
    """
    changed = [r for i, r in new.items() if (o := old.get(i)) is not r and o != r]
    return changed, [i for i in old if i not in new]


def to_delta(base: Centre, current: Centre, head: SnapshotDoc) -> DeltaDoc:
    """What changed from ``base`` to ``current`` (trusted data: no re-validation);
    ``head`` is the current snapshot's document, for its time, source and capabilities."""
    queues, queues_removed = _changes(base.queues, current.queues)
    agents, agents_removed = _changes(base.agents, current.agents)
    contacts, contacts_removed = _changes(base.contacts, current.contacts)
    abandoned, abandoned_removed = _changes(base.abandoned, current.abandoned)
    return DeltaDoc.model_construct(
        protocol=PROTOCOL_VERSION, source=head.source, capabilities=head.capabilities,
        taken_at=head.taken_at, interval_start=head.interval_start, day_start=head.day_start,
        clock_rate=head.clock_rate, queues=[_wire_queue(*row) for row in queues],
        queues_removed=queues_removed, agents=agents, agents_removed=agents_removed,
        contacts=contacts, contacts_removed=contacts_removed,
        abandoned=abandoned, abandoned_removed=abandoned_removed)


def apply_delta(base: Centre, delta: DeltaDoc, source: str | None = None) -> Centre:
    """``base`` moved on by a validated delta, as a new Centre (``base`` is untouched, so
    a delta that does not fit leaves nothing half-applied). Changed records keep their
    place, new ones are appended, and every other record is ``base``'s own object.
    ``source`` renames the new queues and agents, as ``to_snapshot`` does."""
    queue_fields = set(Queue.model_fields)
    queues = _patch("queue", base.queues, delta.queues_removed, [
        (q.id, _kept(base.queues.get(q.id), _queue(q, queue_fields, source), q))
        for q in delta.queues])
    if source is not None:  # just validated and held by nothing else: see to_snapshot
        _rename(delta.agents, source)
        _rename(delta.contacts, source)
        _rename(delta.abandoned, source)
    agents = _patch("agent", base.agents, delta.agents_removed,
                    [(a.id, a) for a in delta.agents])
    contacts = _patch("contact", base.contacts, delta.contacts_removed,
                      [(c.id, c) for c in delta.contacts])
    if queues:
        # A removed queue may strand a contact the delta does not mention.
        check = contacts.values() if delta.queues_removed else delta.contacts
        for c in check:
            if c.queue_id not in queues:
                raise ProtocolError(f"invalid delta: contact {c.id} is in unknown queue "
                                    f"{clean(c.queue_id, 60)!r}")
    abandoned = _patch("abandoned contact", base.abandoned, delta.abandoned_removed,
                       [(a.id, a) for a in delta.abandoned])
    return Centre(queues=queues, agents=agents, contacts=contacts, abandoned=abandoned)


def keep_equal(doc: SnapshotDoc, base: Centre, source: str | None = None) -> int:
    """Put ``base``'s own object in ``doc`` wherever a record equals it; how many.

    A full snapshot fetched again (a collector restart, a resync) is mostly the centre
    the console already holds: keeping those objects means the console's books see
    only what really changed, and the fresh copies are freed at once instead of the
    old ones being freed among the new (memory the allocator could not give back:
    three re-fetches at 50,000 agents left the console at 458 MiB instead of 287).
    ``doc`` must be one just validated and held by nothing else (it is changed in
    place, as ``to_snapshot`` renames); ``source`` renames it first, as that does."""
    if source is not None:
        _rename(doc.agents, source)
        _rename(doc.contacts, source)
        _rename(doc.abandoned, source)
    kept = 0
    lists: tuple[tuple[list[Any], Mapping[str, Any]], ...] = (
        (doc.agents, base.agents), (doc.contacts, base.contacts),
        (doc.abandoned, base.abandoned))
    for items, held in lists:
        get = held.get
        for i, item in enumerate(items):
            before = get(item.id)
            if before is not None and before is not item and before == item:
                items[i] = before
                kept += 1
    for q in doc.queues:
        row = base.queues.get(q.id)
        if row is None:
            continue
        for name, before in (("interval", row[1]), ("day", row[2])):
            if getattr(q, name) == before:
                q.__dict__[name] = before  # (frozen: in place, like _rename)
                kept += 1
    return kept


def _kept(before: QueueRow | None, queue: Queue, q: WireQueue) -> QueueRow:
    """A changed queue record, with ``before``'s own objects where they are equal: a
    queue is sent again whenever its counters move (~200 a second at 5,000 queues), and
    its settings almost never change with them. The console's books follow objects by
    identity (the tiles' sums re-read every row of a queue that is a new object)."""
    if before is None:
        return queue, q.interval, q.day, q.tiers
    old_queue, old_interval, old_day, old_tiers = before
    return (old_queue if old_queue == queue else queue,
            old_interval if old_interval == q.interval else q.interval,
            old_day if old_day == q.day else q.day,
            old_tiers if old_tiers is not None and old_tiers == q.tiers else q.tiers)


_set = object.__setattr__


def _rename(items: Iterable[Agent | Contact | AbandonedContact], source: str) -> None:
    for item in items:
        if item.source != source:
            _set(item, "source", source)  # (frozen: the object's own field, in place)


def _queue(q: WireQueue, fields: set[str], source: str | None) -> Queue:
    values = {k: v for k, v in q.__dict__.items() if k in fields}
    if source is not None:
        values["source"] = source
    return Queue.of_fields(values)


def _patch(kind: str, base: dict[str, _Record], removed: list[str],
           changed: Iterable[tuple[str, _Record]]) -> dict[str, _Record]:
    records = dict(base)
    for i in removed:
        if records.pop(i, None) is None:
            raise ProtocolError(f"invalid delta: it removes {kind} {clean(i, 60)!r}, which "
                                "the console's snapshot does not have")
    records.update(changed)
    return records


def centre_snapshot(centre: Centre, head: DeltaDoc | SnapshotDoc,
                    previous: Snapshot | None = None) -> Snapshot:
    """The domain snapshot of a Centre, timed and paced by ``head``; ``previous``'s
    queue tuple where every queue is the same object (the console's board then skips
    its pass over the queues)."""
    rows = centre.queues.values()
    queues = tuple(r[0] for r in rows)
    if previous is not None and len(previous.queues) == len(queues) and all(
            map(is_, queues, previous.queues)):
        queues = previous.queues
    return Snapshot.model_construct(
        taken_at=head.taken_at, interval_start=head.interval_start, day_start=head.day_start,
        queues=queues,
        interval_stats={r[0].id: r[1] for r in rows}, day_stats={r[0].id: r[2] for r in rows},
        agents=tuple(centre.agents.values()), contacts=tuple(centre.contacts.values()),
        health={}, clock_rate=head.clock_rate, abandoned=tuple(centre.abandoned.values()),
        tier_stats={r[0].id: r[3] for r in rows if r[3] is not None})


class ProtocolError(ValueError):
    """A document that is not a valid v1 document; ``str()`` is one line for the screen."""


def parse_snapshot(data: Any, source: str | None = None) -> SnapshotDoc:
    """Validate parsed JSON as a snapshot document, with a one-line reason if it is not.

    ``source`` renames every queue and agent in ``data`` (which this mutates) before
    validation: setting a key on 10,000 dicts is far cheaper than copying 10,000 models.
    """
    return _parse(SnapshotDoc, "snapshot", data, source)


def parse_delta(data: Any, source: str | None = None) -> DeltaDoc:
    """``parse_snapshot`` for a delta document (same reasons, same renaming)."""
    return _parse(DeltaDoc, "delta", data, source)


_Doc = TypeVar("_Doc", SnapshotDoc, DeltaDoc)


def _parse(model: type[_Doc], what: str, data: Any, source: str | None) -> _Doc:
    if not isinstance(data, dict):
        raise ProtocolError(f"expected a JSON object, got {_json_kind(data)}")
    error = data.get("error")
    if isinstance(error, dict) and "taken_at" not in data:
        raise ProtocolError(f"server error {clean(error.get('code', '?'), 40)}: "
                            f"{clean(error.get('message', ''), 160)}")
    version = data.get("protocol")
    if version != PROTOCOL_VERSION:
        if version is None:
            raise ProtocolError(f"not a supervisor-tui {what} (no protocol version)")
        raise ProtocolError(f"server speaks protocol version {clean(version, 20)}; "
                            f"this console speaks {PROTOCOL_VERSION}")
    if source is not None:
        for key in ("queues", "agents", "contacts", "abandoned"):
            items = data.get(key)
            if isinstance(items, list):
                for item in items:
                    if isinstance(item, dict):
                        item["source"] = source
    try:
        return model.model_validate(data)
    except ValidationError as err:
        raise ProtocolError(f"invalid {what}: {describe(err)}") from None


def describe(err: ValidationError) -> str:
    """The first problem of a validation error as one line, and how many more."""
    problems = err.errors(include_url=False, include_input=False)
    first = problems[0]
    where = ".".join(str(part) for part in first["loc"])
    msg = first["msg"].removeprefix("Value error, ")
    if first["type"] == "unexpected_keyword_argument":  # a record's (dataclass) wording
        msg = "Extra inputs are not permitted"  # as every model says it
    text = f"{where}: {msg}" if where else msg
    more = len(problems) - 1
    if more:
        text += f" (and {more} more problem{'s' if more > 1 else ''})"
    return clean(text, 240)


def _json_kind(data: Any) -> str:
    if isinstance(data, list):
        return "an array"
    if data is None:
        return "null"
    return f"a {type(data).__name__}"


def is_loopback(host: str) -> bool:
    """True for ``localhost`` and loopback IP literals (no DNS look-up)."""
    host = host.strip("[]").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


# -- schema --------------------------------------------------------------------------

def json_schema() -> dict[str, Any]:
    """JSON Schema (2020-12) of every v1 document, as ``$defs`` named after the models."""
    _, defs = models_json_schema([(m, "validation") for m in DOCUMENTS],
                                 ref_template="#/$defs/{model}")
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": f"supervisor-tui protocol v{PROTOCOL_VERSION}",
        "description": "Documents of the supervisor-tui HTTP/JSON protocol "
        "(docs/protocol.md). Generated by `python -m supervisor_tui.protocol`.",
        "$defs": defs["$defs"],
    }


def schema_text() -> str:
    """The schema as committed in docs/protocol.schema.json."""
    return json.dumps(json_schema(), indent=2, sort_keys=True) + "\n"


if __name__ == "__main__":
    print(schema_text(), end="")
