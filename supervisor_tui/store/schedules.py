"""Today's schedule in the shared store, so every console on it judges adherence against
the same one (``schedule import``, or a console's watched file).

One import per local day: its entries replace the day's in one transaction (a reader
sees the old schedule or the new one, never half of each), with who imported it, when,
from where, a digest of the file (a console watching the same file as another does not
import it twice) and a ``seq`` that grows with every import, so consoles re-read the
entries only when it moved. Plain SQL (no SQLite-only constructs beyond what the other
store modules use) so it ports to the PostgreSQL backend.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from supervisor_tui.domain.adherence import SavedAdherence
from supervisor_tui.domain.schedule import Expected, ScheduleEntry
from supervisor_tui.store import Store, StoreError
from supervisor_tui.store.backend import first_line

IMPORTS = "schedule_imports"
ENTRIES = "schedule_entries"

_META = "day, seq, imported_by, imported_at, origin, digest, entries, rejected"


@dataclass(frozen=True, slots=True)
class ScheduleImport:
    day: str  # the centre's local date, YYYY-MM-DD
    seq: int  # grows with every import (any day): consoles re-read when it moves
    imported_by: str
    imported_at: str  # ISO 8601 UTC
    origin: str  # the file as named, "watch:" before a console's watched file
    digest: str  # sha256 of the file's bytes
    entries: int
    rejected: int  # rows the parser refused (said when imported)


def _ensure(store: Store) -> None:
    # (once per connection: Db.ddl remembers; locked on PostgreSQL)
    store.db.create_table(IMPORTS, {
        "day": str, "seq": int, "imported_by": str, "imported_at": str, "origin": str,
        "digest": str, "entries": int, "rejected": int}, pk="day", not_null=("seq",))
    store.db.create_table(ENTRIES, {
        "day": str, "n": int, "agent": str, "start_at": str, "end_at": str,
        "activity": str, "expected": str}, pk=("day", "n"),
        not_null=("day", "n", "agent", "start_at", "end_at", "expected"))


def _meta(row: Sequence[Any]) -> ScheduleImport:
    return ScheduleImport(day=row[0], seq=int(row[1]), imported_by=row[2] or "",
                          imported_at=row[3] or "", origin=row[4] or "", digest=row[5] or "",
                          entries=int(row[6] or 0), rejected=int(row[7] or 0))


def save_schedule(store: Store, day: str, entries: Sequence[ScheduleEntry], *, origin: str,
                  digest: str, rejected: int, user: str, now: datetime) -> ScheduleImport:
    """Replace ``day``'s schedule with ``entries`` (one transaction). Raises StoreError."""
    try:
        _ensure(store)
    except store.db.Error as err:
        raise StoreError(f"cannot save the schedule: {first_line(err)}") from None
    with store._transaction("save the schedule") as conn:
        top = conn.execute(f"select max(seq) from {IMPORTS}").fetchone()[0] or 0
        meta = ScheduleImport(day=day, seq=int(top) + 1, imported_by=user,
                              imported_at=now.astimezone(UTC).isoformat(), origin=origin,
                              digest=digest, entries=len(entries), rejected=rejected)
        conn.execute(f"delete from {ENTRIES} where day = ?", [day])
        conn.executemany(
            f"insert into {ENTRIES} (day, n, agent, start_at, end_at, activity, expected)"
            " values (?, ?, ?, ?, ?, ?, ?)",
            [(day, n, e.agent, e.start.astimezone(UTC).isoformat(),
              e.end.astimezone(UTC).isoformat(), e.activity, e.expected.value)
             for n, e in enumerate(entries)])
        conn.execute(f"delete from {IMPORTS} where day = ?", [day])
        conn.execute(f"insert into {IMPORTS} ({_META}) values (?, ?, ?, ?, ?, ?, ?, ?)",
                     [meta.day, meta.seq, meta.imported_by, meta.imported_at, meta.origin,
                      meta.digest, meta.entries, meta.rejected])
    return meta


def schedule_meta(store: Store, day: str) -> ScheduleImport | None:
    """The day's import (who, when, from where, ``seq``) without its entries: one row,
    what a console reads each poll."""
    try:
        _ensure(store)
        row = store.db.execute(f"select {_META} from {IMPORTS} where day = ?",
                               [day]).fetchone()
    except store.db.Error as err:
        raise StoreError(f"cannot read the schedule: {first_line(err)}") from None
    return None if row is None else _meta(row)


def read_schedule(store: Store, day: str) -> tuple[ScheduleImport | None, list[ScheduleEntry]]:
    """The day's import and its entries, in file order. One statement, so the two agree
    (an import saved meanwhile is seen whole or not at all) without taking the store's
    write lock, as a transaction here did, from every console re-reading it."""
    meta_columns = ", ".join(f"i.{c.strip()}" for c in _META.split(","))
    try:
        _ensure(store)
        rows = store.db.execute(
            f"select {meta_columns}, e.agent, e.start_at, e.end_at, e.activity, e.expected"
            f" from {IMPORTS} i left join {ENTRIES} e on e.day = i.day where i.day = ?"
            " order by e.n", [day]).fetchall()
    except store.db.Error as err:
        raise StoreError(f"cannot read the schedule: {first_line(err)}") from None
    if not rows:
        return None, []
    width = len(_META.split(","))
    entries = [ScheduleEntry(agent, datetime.fromisoformat(start), datetime.fromisoformat(end),
                             activity or "", Expected(expected))
               for agent, start, end, activity, expected in (r[width:] for r in rows)
               if agent is not None]  # (an import of no entries: one row, no entry)
    return _meta(rows[0]), entries


# -- adherence so far, so a restarted console continues --------------------------------

ADHERENCE = "adherence_days"


def _ensure_adherence(store: Store) -> None:
    store.db.create_table(ADHERENCE, {
        "day": str, "agent_key": str, "scheduled_s": float, "out_s": float,
        "judged_until": str, "judged_from": str}, pk=("day", "agent_key"),
        not_null=("day", "agent_key"))


def write_adherence(store: Store, day: str, figures: Mapping[str, SavedAdherence],
                    prune_before: str | None = None) -> None:
    """Upsert each agent's adherence so far (one transaction); days before
    ``prune_before`` are deleted. Raises StoreError."""
    try:
        _ensure_adherence(store)
    except store.db.Error as err:
        raise StoreError(f"cannot save adherence: {first_line(err)}") from None
    with store._transaction("save adherence") as conn:
        keys = list(figures)
        for i in range(0, len(keys), 500):  # (an upsert both backends read the same way)
            chunk = keys[i:i + 500]
            conn.execute(f"delete from {ADHERENCE} where day = ? and agent_key in "
                         f"({', '.join('?' * len(chunk))})", [day, *chunk])
        conn.executemany(
            f"insert into {ADHERENCE} (day, agent_key, scheduled_s, out_s, judged_until,"
            " judged_from) values (?, ?, ?, ?, ?, ?)",
            [(day, key, round(f.scheduled_s, 3), round(f.out_s, 3),
              f.until.astimezone(UTC).isoformat(), f.first.astimezone(UTC).isoformat())
             for key, f in figures.items()])
        if prune_before is not None:
            conn.execute(f"delete from {ADHERENCE} where day < ?", [prune_before])


def read_adherence(store: Store, day: str) -> dict[str, SavedAdherence]:
    """The day's stored adherence per agent key ("source:id")."""
    try:
        _ensure_adherence(store)
        rows = store.db.execute(
            f"select agent_key, scheduled_s, out_s, judged_until, judged_from from {ADHERENCE}"
            " where day = ?", [day]).fetchall()
    except store.db.Error as err:
        raise StoreError(f"cannot read adherence: {first_line(err)}") from None
    return {key: SavedAdherence(float(sched or 0.0), float(out or 0.0),
                                datetime.fromisoformat(until), datetime.fromisoformat(first))
            for key, sched, out, until, first in rows}
