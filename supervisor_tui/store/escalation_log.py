"""Each escalation occurrence in the shared store (``escalation_log``), for ``export
escalations``: when it was first seen and cleared, its highest severity, and who first
acknowledged and took it, and resolved it, when.

``escalation_state`` keeps only the latest state of an escalation id, and an id comes
back (the same queue under target twice in a day); this log keeps one row per
occurrence, keyed (id, first_seen). The console writes what its tracker reports each
poll (new, raised, cleared: nothing on a quiet poll); the desk writes its changes as
they are made. Several consoles on one store see the same occurrence: a new one is not
added while a row for that id from the same day is still open (or cleared after it
began), and every change goes to the newest row of the id.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TypedDict, cast

from supervisor_tui.domain.escalation import SEVERITY_RANK, Escalation, Severity, start_known
from supervisor_tui.store import (
    ACKNOWLEDGED,
    ESC_NOTES,
    GIVE,
    OPEN,
    RESOLVED,
    TAKEN,
    Store,
    StoreError,
)
from supervisor_tui.store.backend import Db, first_line
from supervisor_tui.store.rows import EscalationState

ESCALATION_LOG = "escalation_log"


class OccurrenceRow(TypedDict):
    """One occurrence of an escalation, as stored (times UTC, ISO 8601)."""

    id: str
    first_seen: str
    kind: str
    severity: str  # the highest it reached
    queue_id: str | None
    source: str
    subject_type: str
    subject_id: str
    label: str
    reason: str  # as first raised
    began_earlier: int  # 1: first_seen is only this console's first sight of it
    cleared_at: str | None  # the last time the condition held (None: not seen to clear)
    ended: str | None  # how a contact's escalation ended: "answered", "left the queue"...
    acknowledged_by: str | None
    acknowledged_at: str | None
    taken_by: str | None
    taken_at: str | None
    resolved_by: str | None
    resolved_at: str | None


_COLUMNS: tuple[str, ...] = tuple(OccurrenceRow.__annotations__)
# The newest occurrence of an id: where every change goes (a row is named by its key,
# the id and first_seen: [0] and [3]).
_NEWEST = (f"select id, severity, cleared_at, first_seen from {ESCALATION_LOG}"
           " where id = ? order by first_seen desc limit 1")
_ROW = "id = ? and first_seen = ?"


def _ensure(db: Db) -> None:
    # (cheap when they exist)
    db.create_table(ESCALATION_LOG, {c: int if c == "began_earlier" else str
                                     for c in _COLUMNS}, pk=("id", "first_seen"))
    db.create_index(ESCALATION_LOG, ["first_seen"])


def _iso(when: datetime) -> str:
    return when.astimezone(UTC).isoformat()


def _schema(store: Store, failing: str) -> None:
    try:
        _ensure(store.db)
    except store.db.Error as err:
        raise StoreError(f"cannot {failing}: {first_line(err)}") from None


def record_escalations(store: Store, *, new: Sequence[Escalation],
                       raised: Sequence[Escalation], cleared: Sequence[Escalation],
                       day_start: datetime, observing_since: datetime | None,
                       prune_before: datetime | None = None) -> None:
    """One poll's news from the tracker, in one transaction. ``day_start``: today's
    start (an open row from before it is a console that stopped, not this one); rows
    first seen before ``prune_before`` are deleted (with news only: a quiet poll writes
    nothing)."""
    if not (new or raised or cleared):
        return
    _schema(store, "save escalation log")
    with store._transaction("save escalation log", ESCALATION_LOG) as conn:
        for esc in new:
            first = _iso(esc.first_seen)
            row = conn.execute(_NEWEST, [esc.id]).fetchone()
            if row is not None and row[3] >= _iso(day_start) and (
                    row[2] is None or row[2] >= first):
                # Another console (or this one before a restart) logged it already;
                # seen active again, it is not cleared (yet).
                _raise(conn, row, esc.severity)
                if row[2] is not None:
                    conn.execute(f"update {ESCALATION_LOG} set cleared_at = null,"
                                 f" ended = null where {_ROW}", [row[0], row[3]])
                continue
            conn.execute(
                f"insert into {ESCALATION_LOG} (id, first_seen, kind, severity,"
                " queue_id, source, subject_type, subject_id, label, reason, began_earlier)"
                " values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) on conflict do nothing",
                [esc.id, first, esc.kind.value, esc.severity, esc.queue_id, esc.source,
                 esc.subject_type.value, esc.subject_id, esc.label, esc.reason,
                 int(not start_known(esc, observing_since))])
        for esc in raised:
            row = conn.execute(_NEWEST, [esc.id]).fetchone()
            if row is not None:
                _raise(conn, row, esc.severity)
        for esc in cleared:
            row = conn.execute(_NEWEST, [esc.id]).fetchone()
            if row is not None and row[2] is None:
                conn.execute(f"update {ESCALATION_LOG} set cleared_at = ?, ended = ?"
                             f" where {_ROW}",
                             [_iso(esc.last_seen or esc.first_seen), esc.ended, row[0], row[3]])
        if prune_before is not None:
            conn.execute(f"delete from {ESCALATION_LOG} where first_seen < ?",
                         [_iso(prune_before)])


def _raise(conn: Db, row: tuple[object, ...], severity: Severity) -> None:
    if SEVERITY_RANK[severity] > SEVERITY_RANK.get(str(row[1]), 0):
        conn.execute(f"update {ESCALATION_LOG} set severity = ? where {_ROW}",
                     [severity.value, row[0], row[3]])


def record_desk_change(store: Store, eid: str, verb: str, user: str, at: datetime,
                       to_user: str = "") -> None:
    """A change made on the desk, on the id's newest occurrence: the first acknowledge
    and the first take (or give) are kept; a resolve is the latest, a reopen undoes it."""
    when = _iso(at)
    sets: dict[str, tuple[str, str | None, bool]] = {
        # verb -> (field, by (None: cleared), keep the first one?)
        ACKNOWLEDGED: ("acknowledged", user, True),
        TAKEN: ("taken", user, True),
        GIVE: ("taken", to_user, True),
        RESOLVED: ("resolved", user, False),
        OPEN: ("resolved", None, False),
    }
    if verb not in sets:
        return  # snooze, release: not in the export
    field, by, first = sets[verb]
    _schema(store, "save escalation log")
    with store._transaction("save escalation log", ESCALATION_LOG) as conn:
        row = conn.execute(_NEWEST, [eid]).fetchone()
        if row is None:
            return  # never logged (a store written before the log existed)
        only = f" and {field}_at is null" if first else ""
        conn.execute(f"update {ESCALATION_LOG} set {field}_by = ?, {field}_at = ?"
                     f" where {_ROW}{only}",
                     [by, when if by is not None else None, row[0], row[3]])


def record_desk_undo(store: Store, eid: str, undone: EscalationState) -> None:
    """An undo on the desk: what the undone change wrote here (same time) is cleared."""
    field = {ACKNOWLEDGED: "acknowledged", TAKEN: "taken", RESOLVED: "resolved"}.get(
        undone["state"])
    if field is None or not undone["updated_at"]:
        return
    when = _iso(datetime.fromisoformat(undone["updated_at"]))
    _schema(store, "save escalation log")
    with store._transaction("save escalation log", ESCALATION_LOG) as conn:
        row = conn.execute(_NEWEST, [eid]).fetchone()
        if row is not None:
            conn.execute(f"update {ESCALATION_LOG} set {field}_by = null, {field}_at = null"
                         f" where {_ROW} and {field}_at = ?", [row[0], row[3], when])


@dataclass(frozen=True)
class Occurrence:
    row: OccurrenceRow
    notes: int  # notes written on the id from first_seen until its next occurrence


def read_escalations(store: Store, start: datetime, end: datetime,
                     queue_id: str | None = None) -> list[Occurrence]:
    """Occurrences first seen in [start, end) (one queue or all), oldest first, with
    their notes counted."""
    where, args = "first_seen >= ? and first_seen < ?", [_iso(start), _iso(end)]
    if queue_id is not None:
        where += " and queue_id = ?"
        args.append(queue_id)
    ids = f"select id from {ESCALATION_LOG} where {where}"
    conn = store.db
    try:
        _ensure(conn)
        rows = [cast(OccurrenceRow, dict(zip(_COLUMNS, r, strict=True))) for r in conn.execute(
            f"select {', '.join(_COLUMNS)} from {ESCALATION_LOG} where {where}"
            " order by first_seen, id", args)]
        if not rows:
            return []
        # Every occurrence of these ids (where the next one begins) and their notes.
        starts: dict[str, list[datetime]] = {}
        for eid, first in conn.execute(f"select id, first_seen from {ESCALATION_LOG}"
                                       f" where id in ({ids}) order by first_seen", args):
            starts.setdefault(eid, []).append(datetime.fromisoformat(first))
        notes: dict[str, list[datetime]] = {}
        for eid, ts in conn.execute(f"select escalation_id, ts from {ESC_NOTES}"
                                    f" where escalation_id in ({ids})", args):
            if ts:
                notes.setdefault(eid, []).append(datetime.fromisoformat(ts))
    except (*conn.Error, ValueError) as err:  # type: ignore[misc]
        raise StoreError(f"cannot read the escalation log: {first_line(err)}") from None
    out: list[Occurrence] = []
    for row in rows:
        begins = datetime.fromisoformat(row["first_seen"])
        after = [s for s in starts.get(row["id"], []) if s > begins]
        until = after[0] if after else None
        count = sum(1 for ts in notes.get(row["id"], [])
                    if ts >= begins and (until is None or ts < until))
        out.append(Occurrence(row, count))
    return out

