"""Exports of the day's events (docs/export.md): abandoned contacts and escalation
occurrences as stored by the consoles (``store/abandoned.py``, ``store/escalation_log.py``),
for ``supervisor-tui export abandoned|escalations`` and ``x`` / ``E`` on their screens.

The conventions are ``export intervals``'s (``supervisor_tui.export``): the centre's local
day, every time UTC (``Z``) with the local time beside it and the zone in a column,
stable columns (added at the end, never renamed), empty where a value does not exist
(never 0), and one CSV cell rule (``export.csv_cell``). Text from sources (customers,
labels, reasons) is cleaned of control and escape characters here as well as at the
model boundary: the store may hold rows written by any console.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Sequence
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from supervisor_tui.domain.fmt import utc_stamp
from supervisor_tui.domain.intervals import IntervalPolicy
from supervisor_tui.domain.intraday import day_bounds
from supervisor_tui.domain.text import clean
from supervisor_tui.export import to_csv
from supervisor_tui.export_agents import AGENT_EXPORT_COLUMNS, agent_records
from supervisor_tui.store import Store
from supervisor_tui.store.abandoned import AbandonedRow, read_abandoned
from supervisor_tui.store.escalation_log import Occurrence, read_escalations

#: the columns of ``export abandoned``, in order (a stable contract: add, never rename)
ABANDONED_EXPORT_COLUMNS: tuple[str, ...] = (
    "abandoned_at_utc", "abandoned_at_local", "zone", "entered_at_utc", "entered_at_local",
    "source", "abandoned_id", "queue_id", "channel", "tier", "customer", "handle",
    "waited_s", "short", "callback", "callback_id", "callback_state", "callback_by",
    "callback_created_utc", "callback_updated_by", "callback_updated_utc",
)

#: the columns of ``export escalations``, in order (a stable contract: add, never rename)
ESCALATION_EXPORT_COLUMNS: tuple[str, ...] = (
    "first_seen_utc", "first_seen_local", "zone", "first_seen_is_first_sight",
    "escalation_id", "kind", "severity", "queue_id", "source", "subject_type", "subject_id",
    "label", "reason", "cleared_utc", "cleared_local", "ended",
    "acknowledged_by", "acknowledged_utc", "acknowledged_local",
    "taken_by", "taken_utc", "taken_local", "resolved_by", "resolved_utc", "resolved_local",
    "minutes_to_acknowledge", "minutes_to_take", "minutes_to_resolve", "notes",
)


def _when(text: str | None) -> datetime | None:
    if not text:
        return None
    when = datetime.fromisoformat(text)
    return (when if when.tzinfo else when.replace(tzinfo=UTC)).astimezone(UTC)


def _utc(when: datetime | None) -> str | None:
    return None if when is None else utc_stamp(when)


def _local(when: datetime | None, zone: ZoneInfo) -> str | None:
    return None if when is None else when.astimezone(zone).isoformat(timespec="seconds")


def _text(value: str | None, max_len: int = 200) -> str | None:
    return None if value is None else clean(value, max_len)


def abandoned_record(row: AbandonedRow, zone: ZoneInfo) -> dict[str, Any]:
    """One stored abandoned contact as an export record (ABANDONED_EXPORT_COLUMNS).

    ``callback``: "source" (queued on the source as contact ``callback_id``: its outcome
    is the source's to report, so the state is "queued"), "tracked" (in the shared store:
    waiting, done or no_answer, and who), or empty (none)."""
    abandoned, entered = _when(row["abandoned_at"]), _when(row["entered_at"])
    kind = state = by = created = updated_by = updated = None
    if row["callback_id"]:
        kind, state = "source", "queued"
    elif row["tracked_state"]:
        kind, state, by = "tracked", row["tracked_state"], row["tracked_by"]
        created, updated_by = _when(row["tracked_at"]), row["tracked_updated_by"]
        updated = _when(row["tracked_updated_at"])
    return {
        "abandoned_at_utc": _utc(abandoned), "abandoned_at_local": _local(abandoned, zone),
        "zone": zone.key,
        "entered_at_utc": _utc(entered), "entered_at_local": _local(entered, zone),
        "source": _text(row["source"]), "abandoned_id": _text(row["id"], 256),
        "queue_id": _text(row["queue_id"], 256), "channel": row["channel"],
        "tier": row["tier"], "customer": _text(row["customer"]),
        "handle": _text(row["handle"]), "waited_s": round(row["waited_s"], 1),
        "short": bool(row["short"]), "callback": kind,
        "callback_id": _text(row["callback_id"], 256), "callback_state": state,
        "callback_by": _text(by), "callback_created_utc": _utc(created),
        "callback_updated_by": _text(updated_by), "callback_updated_utc": _utc(updated),
    }


def _minutes(start: datetime, end: datetime | None) -> float | None:
    # (clamped: two consoles' clocks may put a take a moment before the first sight)
    return None if end is None else round(max((end - start).total_seconds(), 0.0) / 60, 2)


def escalation_record(occurrence: Occurrence, zone: ZoneInfo) -> dict[str, Any]:
    """One stored escalation occurrence as an export record (ESCALATION_EXPORT_COLUMNS).

    The minutes run from ``first_seen`` (when it first needed a human as far as the
    console saw): when ``first_seen_is_first_sight`` it began before that, and they are
    a lower bound."""
    row = occurrence.row
    first = _when(row["first_seen"])
    assert first is not None  # (the key: never empty)
    cleared, acked = _when(row["cleared_at"]), _when(row["acknowledged_at"])
    taken, resolved = _when(row["taken_at"]), _when(row["resolved_at"])
    return {
        "first_seen_utc": _utc(first), "first_seen_local": _local(first, zone),
        "zone": zone.key, "first_seen_is_first_sight": bool(row["began_earlier"]),
        "escalation_id": _text(row["id"], 512), "kind": row["kind"],
        "severity": row["severity"], "queue_id": _text(row["queue_id"], 256),
        "source": _text(row["source"]), "subject_type": row["subject_type"],
        "subject_id": _text(row["subject_id"], 256), "label": _text(row["label"]),
        "reason": _text(row["reason"], 500),
        "cleared_utc": _utc(cleared), "cleared_local": _local(cleared, zone),
        "ended": _text(row["ended"]),
        "acknowledged_by": _text(row["acknowledged_by"]), "acknowledged_utc": _utc(acked),
        "acknowledged_local": _local(acked, zone),
        "taken_by": _text(row["taken_by"]), "taken_utc": _utc(taken),
        "taken_local": _local(taken, zone),
        "resolved_by": _text(row["resolved_by"]), "resolved_utc": _utc(resolved),
        "resolved_local": _local(resolved, zone),
        "minutes_to_acknowledge": _minutes(first, acked),
        "minutes_to_take": _minutes(first, taken),
        "minutes_to_resolve": _minutes(first, resolved),
        "notes": occurrence.notes,
    }


def to_json(kind: str, day: date, zone: ZoneInfo, columns: Sequence[str],
            records: Sequence[dict[str, Any]]) -> str:
    """The JSON form: the rows with what they are beside them."""
    return json.dumps({"export": kind, "date": day.isoformat(), "zone": zone.key,
                       "columns": list(columns), "rows": list(records)},
                      indent=1, ensure_ascii=False) + "\n"


#: what each export reads and how a row becomes a record
KINDS: dict[str, tuple[str, tuple[str, ...]]] = {
    "abandoned": ("abandoned contacts", ABANDONED_EXPORT_COLUMNS),
    "escalations": ("escalations", ESCALATION_EXPORT_COLUMNS),
    "agents": ("agents", AGENT_EXPORT_COLUMNS),
}


def export_day(kind: str, store: Store, day: date, policy: IntervalPolicy,
               queue_id: str | None = None, fmt: str = "csv",
               queues: Collection[str] | None = None) -> tuple[str, int]:
    """``kind``'s rows of the centre's local ``day`` (one queue or all) as CSV or JSON
    text, and how many. ``queues``: only rows of these queues (a scoped user's,
    [roles.scopes]); an escalation about no queue (an agent's) is then left out.
    Raises StoreError."""
    zone = policy.zone
    start, end = day_bounds(day, policy)
    if kind == "abandoned":
        records = [abandoned_record(r, zone)
                   for r in read_abandoned(store, start, end, queue_id)]
    elif kind == "escalations":
        records = [escalation_record(o, zone)
                   for o in read_escalations(store, start, end, queue_id)]
    elif kind == "agents":  # (a day of figures per agent, not events: export_agents.py)
        records = agent_records(store, day, zone, queue_id)
    else:
        raise ValueError(f"unknown export {kind!r}")
    if queues is not None and kind in ("abandoned", "escalations"):
        records = [r for r in records if r["queue_id"] in queues]
    columns = KINDS[kind][1]
    text = (to_json(kind, day, zone, columns, records) if fmt == "json"
            else to_csv(records, columns))
    return text, len(records)
