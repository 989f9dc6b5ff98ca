"""Abandoned contacts in the shared store (``abandoned_contacts``), for ``export
abandoned`` of any kept day: a snapshot carries only today's newest 500, and only while
the source is up.

Every console on the store writes what its polls show: a row is inserted once per
contact (key: source, id, abandoned_at — the simulator starts its ids again each run,
so an id alone is not unique over the days kept) and rewritten only when the source
queues a call-back for it. ``AbandonedRecorder`` remembers the objects it wrote, so a
poll that brings nothing new writes nothing and one that does writes just those rows.
Tracked call-backs (``callbacks``) are joined when the day is read.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import TypedDict, cast

from supervisor_tui.domain.model import AbandonedContact
from supervisor_tui.store import CALLBACKS, Store, StoreError
from supervisor_tui.store.backend import Db, first_line

ABANDONED = "abandoned_contacts"

_STORED = ("source", "id", "abandoned_at", "entered_at", "queue_id", "channel", "tier",
           "customer", "handle", "waited_s", "short", "callback_id")
_TYPES: dict[str, type] = {c: str for c in _STORED} | {"waited_s": float, "short": int}


class AbandonedRow(TypedDict):
    """One abandoned contact as stored, with its tracked call-back (if any) joined."""

    source: str
    id: str
    abandoned_at: str  # UTC, ISO 8601
    entered_at: str  # UTC, ISO 8601: abandoned_at less the wait
    queue_id: str
    channel: str
    tier: str
    customer: str | None
    handle: str | None  # the number or handle to call back on, as the source gave it
    waited_s: float
    short: int  # 1: under the queue's short-abandon time (out of every rate)
    callback_id: str | None  # the call-back contact the source queued, if any
    # from ``callbacks`` (a call-back tracked in the store); None when there is none
    tracked_state: str | None
    tracked_by: str | None
    tracked_at: str | None  # when it was created
    tracked_updated_by: str | None
    tracked_updated_at: str | None


_COLUMNS: tuple[str, ...] = tuple(AbandonedRow.__annotations__)


def _ensure(db: Db) -> None:
    # (cheap when they exist)
    db.create_table(ABANDONED, _TYPES, pk=("source", "id", "abandoned_at"),
                    not_null=("source", "id", "abandoned_at"))
    # a day (and the retention cut) is a range of abandoned_at
    db.create_index(ABANDONED, ["abandoned_at"])


def _iso(when: datetime) -> str:
    return when.astimezone(UTC).isoformat()


def _values(ab: AbandonedContact) -> tuple[object, ...]:
    return (ab.source, ab.id, _iso(ab.abandoned_at),
            _iso(ab.abandoned_at - timedelta(seconds=ab.waited_s)), ab.queue_id,
            ab.channel.value, ab.tier.value, ab.customer, ab.handle,
            round(ab.waited_s, 3), int(ab.short), ab.callback_id)


def write_abandoned(store: Store, contacts: Sequence[AbandonedContact],
                    prune_before: datetime | None = None) -> None:
    """Insert these contacts (a row already there keeps its values, except a call-back
    queued since); rows abandoned before ``prune_before`` are deleted. One transaction."""
    try:
        _ensure(store.db)
    except store.db.Error as err:
        raise StoreError(f"cannot save abandoned contacts: {first_line(err)}") from None
    with store._transaction("save abandoned contacts", ABANDONED) as conn:
        if contacts:
            conn.executemany(
                f"insert into {ABANDONED} ({', '.join(_STORED)}) values "
                f"({', '.join('?' * len(_STORED))}) on conflict (source, id, abandoned_at)"
                " do update set callback_id = excluded.callback_id"
                " where excluded.callback_id is not null",
                [_values(ab) for ab in contacts])
        if prune_before is not None:
            conn.execute(f"delete from {ABANDONED} where abandoned_at < ?",
                         [_iso(prune_before)])


def read_abandoned(store: Store, start: datetime, end: datetime,
                   queue_id: str | None = None) -> list[AbandonedRow]:
    """Contacts abandoned in [start, end) (one queue or all), oldest first, with their
    tracked call-back."""
    where, args = "a.abandoned_at >= ? and a.abandoned_at < ?", [_iso(start), _iso(end)]
    if queue_id is not None:
        where += " and a.queue_id = ?"
        args.append(queue_id)
    select = ", ".join(f"a.{c}" for c in _STORED)
    try:
        _ensure(store.db)
        cursor = store.db.execute(
            f"select {select}, c.state, c.created_by, c.created_at, c.updated_by,"
            f" c.updated_at from {ABANDONED} a left join {CALLBACKS} c"
            " on c.id = a.source || ':' || a.id"
            f" where {where} order by a.abandoned_at, a.source, a.id", args)
        return [cast(AbandonedRow, dict(zip(_COLUMNS, row, strict=True)))
                for row in cursor.fetchall()]
    except store.db.Error as err:
        raise StoreError(f"cannot read abandoned contacts: {first_line(err)}") from None


class AbandonedRecorder:
    """What this console has written, so each poll writes only what is new or changed.

    A stored row changes only when a call-back is queued on the source, so a contact
    written before is compared by key and ``callback_id`` alone (sources that rebuild
    their list every poll cost a dict lookup per contact; the simulator and the
    protocol's deltas hand back the very same tuple, one comparison). A poll with no
    new abandon writes nothing and does not touch the store."""

    def __init__(self) -> None:
        self._listed: tuple[AbandonedContact, ...] | None = None
        self._written: dict[tuple[str, str, datetime], AbandonedContact] = {}

    def pending(self, listed: tuple[AbandonedContact, ...]) -> list[AbandonedContact]:
        """The contacts of ``listed`` not yet written as they are now."""
        if listed is self._listed:
            return []
        written = self._written
        return [ab for ab in listed
                if (was := written.get((ab.source, ab.id, ab.abandoned_at))) is None
                or (was is not ab and was.callback_id != ab.callback_id)]

    def written(self, listed: tuple[AbandonedContact, ...]) -> None:
        """``listed`` is in the store: remember it (and forget what is no longer listed,
        so memory stays at one snapshot's list)."""
        self._listed = listed
        self._written = {(ab.source, ab.id, ab.abandoned_at): ab for ab in listed}

    def record(self, store: Store, listed: tuple[AbandonedContact, ...], now: datetime,
               keep: timedelta) -> int:
        """Write the new or changed contacts of ``listed`` (and drop rows older than
        ``keep``); returns how many were written. Raises StoreError (nothing is
        remembered then: the next poll tries again)."""
        new = self.pending(listed)
        if new:
            write_abandoned(store, new, prune_before=now - keep)
        self.written(listed)
        return len(new)
