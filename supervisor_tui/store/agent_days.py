"""Each agent's day in the shared store (``agent_days``), for ``export agents`` and so a
restarted console continues today's totals instead of starting again.

A row is written when the agent's totals change (a state change, a contact finished),
not every poll: an agent who stays available for an hour costs nothing. What they are
in *now* is kept as ``current_state`` and ``current_from``, and ``agent_day_cover``
says up to when each source's agents were last seen; a reader extends the current
state to that time. So the stored figures are true up to the last poll of a running
console at the price of one small row per source per write.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from functools import lru_cache
from typing import TypedDict, cast

from supervisor_tui.domain.agent_day import AgentDayBook, SavedDay
from supervisor_tui.domain.model import AgentStateKind
from supervisor_tui.store import Store, StoreError
from supervisor_tui.store.backend import Db, first_line

AGENT_DAYS = "agent_days"
AGENT_DAY_COVER = "agent_day_cover"

#: seconds-in-state columns, one per AgentStateKind value
STATE_COLUMNS: dict[str, str] = {
    "available": "available_s", "on_contact": "on_contact_s",
    "after_contact_work": "acw_s", "away": "away_s", "offline": "offline_s",
}


class AgentDayRow(TypedDict):
    day: str  # the centre's local date, YYYY-MM-DD
    source: str
    agent_id: str
    name: str
    team: str
    queues: str  # the queue ids the agent serves, comma-separated
    handled: int
    handle_s: float
    available_s: float
    on_contact_s: float
    acw_s: float
    away_s: float
    offline_s: float
    current_state: str | None  # None: not in the feed at the last sight
    current_from: str | None  # ISO 8601 UTC: the current state counts from here
    observed_since: str  # ISO 8601 UTC: the figures cover from here
    covered_until: str  # ISO 8601 UTC: up to here (the last poll that saw them)


_COLUMNS: tuple[str, ...] = tuple(AgentDayRow.__annotations__)
_STORED = tuple(c for c in _COLUMNS if c != "covered_until")
_TYPES: dict[str, type] = {
    "day": str, "source": str, "agent_id": str, "name": str, "team": str, "queues": str,
    "handled": int, "handle_s": float, "available_s": float, "on_contact_s": float,
    "acw_s": float, "away_s": float, "offline_s": float, "current_state": str,
    "current_from": str, "observed_since": str, "written_until": str}


def _ensure(db: Db) -> None:
    # (cheap when the tables exist)
    db.create_table(AGENT_DAYS, _TYPES, pk=("day", "source", "agent_id"),
                    not_null=("day", "source", "agent_id"))
    db.create_table(AGENT_DAY_COVER, {"day": str, "source": str, "covered_until": str},
                    pk=("day", "source"), not_null=("day", "source"))


def write_agent_days(store: Store, rows: Iterable[AgentDayRow], covers: Mapping[str, str],
                     day: str, prune_before: str | None = None) -> None:
    """Upsert the changed agents' rows and each source's cover time (one transaction);
    days before ``prune_before`` (a date) are deleted. ``rows`` is read once, as it is
    written: the first save at 50,000 agents held them all at once (+12 MiB, the
    console's peak memory)."""
    try:
        _ensure(store.db)
    except store.db.Error as err:
        raise StoreError(f"cannot save agent figures: {first_line(err)}") from None
    with store._transaction("save agent figures", AGENT_DAYS) as conn:
        names = (*_STORED, "written_until")
        conn.executemany(
            f"insert into {AGENT_DAYS} ({', '.join(names)}) values "
            f"({', '.join('?' * len(names))}) on conflict (day, source, agent_id) do update"
            " set " + ", ".join(f"{c} = excluded.{c}" for c in names[3:]),
            ([r[c] for c in _STORED] + [r["covered_until"]]  # type: ignore[literal-required]
             for r in rows))
        conn.executemany(
            f"insert into {AGENT_DAY_COVER} (day, source, covered_until) values (?, ?, ?)"
            " on conflict (day, source) do update set covered_until = excluded.covered_until",
            [(day, s, until) for s, until in covers.items()])
        if prune_before is not None:
            conn.execute(f"delete from {AGENT_DAYS} where day < ?", [prune_before])
            conn.execute(f"delete from {AGENT_DAY_COVER} where day < ?", [prune_before])


def read_agent_days(store: Store, day: str) -> list[AgentDayRow]:
    """The day's rows, the current state extended to its source's last poll, by source
    and agent id."""
    conn = store.db
    try:
        _ensure(conn)
        cover = dict(conn.execute(f"select source, covered_until from {AGENT_DAY_COVER}"
                                  " where day = ?", [day]).fetchall())
        cursor = conn.execute(f"select {', '.join(_STORED)}, written_until from {AGENT_DAYS}"
                              " where day = ? order by source, agent_id", [day])
        raw = [dict(zip((*_STORED, "written_until"), r, strict=True)) for r in cursor.fetchall()]
    except conn.Error as err:
        raise StoreError(f"cannot read agent figures: {first_line(err)}") from None
    rows: list[AgentDayRow] = []
    for r in raw:
        written = r.pop("written_until")
        until = written
        if r["current_state"] is not None:
            until = max(written, cover.get(r["source"], written))
        r["covered_until"] = until
        rows.append(with_current(cast(AgentDayRow, r)))
    return rows


def with_current(row: AgentDayRow) -> AgentDayRow:
    """The row with its current state's time, ``current_from`` to ``covered_until``,
    added to that state's seconds (a stored row holds closed states only)."""
    column = STATE_COLUMNS.get(row["current_state"] or "")
    if column is None or row["current_from"] is None:
        return row
    spent = (datetime.fromisoformat(row["covered_until"]) -
             datetime.fromisoformat(row["current_from"])).total_seconds()
    out: dict[str, object] = dict(row)
    out[column] = float(row[column] or 0.0) + max(0.0, spent)  # type: ignore[literal-required]
    return cast(AgentDayRow, out)


# -- to and from the domain's AgentDayBook -------------------------------------------

# Most agents share their cover and observed-since instants (the source's last poll, the
# console's start): each written once (the first save at 50,000 agents ~0.1 s less).
@lru_cache(maxsize=4096)
def _iso(when: datetime) -> str:
    return when.astimezone(UTC).isoformat()


#: each state with its column, as the book keys them
_KIND_COLUMNS = tuple((AgentStateKind(kind), column) for kind, column in STATE_COLUMNS.items())


def rows_of(book: AgentDayBook, keys: Iterable[str], day: str) -> Iterator[AgentDayRow]:
    """The stored form of these agents' days (closed states' seconds, the current state
    and since when it counts), one at a time."""
    for key in keys:
        d = book.days.get(key)
        agent = book.agent(key)
        until = book.covered_until(key)
        if d is None or agent is None or until is None:
            continue
        spent = d.seconds_in
        seconds = {column: spent.get(kind, 0.0) for kind, column in _KIND_COLUMNS}
        yield AgentDayRow(
            day=day, source=agent.source, agent_id=agent.id, name=agent.name,
            team=agent.team, queues=",".join(agent.skills), handled=d.handled,
            handle_s=round(d.handle_s, 3), available_s=seconds["available_s"],
            on_contact_s=seconds["on_contact_s"], acw_s=seconds["acw_s"],
            away_s=seconds["away_s"], offline_s=seconds["offline_s"],
            current_state=None if d.current is None else d.current.value,
            current_from=None if d.counted_from is None else _iso(d.counted_from),
            observed_since=_iso(d.observed_since), covered_until=_iso(until))


def saved_of(rows: Sequence[AgentDayRow]) -> dict[str, SavedDay]:
    """Rows read back (``read_agent_days``: current state already extended) as totals a
    console continues from."""
    saved: dict[str, SavedDay] = {}
    for r in rows:
        seconds = {AgentStateKind(kind): float(r[column] or 0.0)  # type: ignore[literal-required]
                   for kind, column in STATE_COLUMNS.items()}
        saved[f"{r['source']}:{r['agent_id']}"] = SavedDay(
            handled=int(r["handled"] or 0), handle_s=float(r["handle_s"] or 0.0),
            seconds_in=seconds, observed_since=datetime.fromisoformat(r["observed_since"]),
            covered_until=datetime.fromisoformat(r["covered_until"]))
    return saved
