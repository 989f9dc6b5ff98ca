"""Survey responses in the shared store (``survey_responses``), per local day.

Written by the collector's webhook (``POST /v1/surveys``) and ``supervisor-tui surveys
import``; read by every console on the store. The key is the tool and its response id,
so a retried webhook or a file imported twice is stored once; an id-only notification
(pending, no score) is completed when a scored form of the same response arrives, and
never the other way round. Plain SQL (no SQLite-only syntax) so it ports to the
PostgreSQL backend.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo

from pydantic import ValidationError

from supervisor_tui.domain.surveys import SurveyResponse
from supervisor_tui.store import Store, StoreError

SURVEYS = "survey_responses"
_FIELDS = ("tool", "response_id", "answered_at", "contact_id", "queue", "agent", "team",
           "customer", "tier", "csat", "nps", "survey_id")
_SCHEMA = (
    f"create table if not exists {SURVEYS} (key TEXT PRIMARY KEY, day TEXT NOT NULL,"
    " tool TEXT NOT NULL, response_id TEXT NOT NULL, answered_at TEXT NOT NULL,"
    " received_at TEXT NOT NULL, contact_id TEXT, queue TEXT, agent TEXT, team TEXT,"
    " customer TEXT, tier TEXT, csat INTEGER, nps INTEGER, survey_id TEXT)",
    f"create index if not exists idx_{SURVEYS}_day on {SURVEYS} (day)",
)


@dataclass(frozen=True)
class Saved:
    """What one write did: new rows, pending rows completed with their scores, and
    responses already stored (a retry: nothing written)."""

    added: int = 0
    completed: int = 0
    duplicates: int = 0


def _ensure(conn: sqlite3.Connection) -> None:
    for statement in _SCHEMA:
        conn.execute(statement)


def _row(r: SurveyResponse, zone: tzinfo, received: datetime) -> list[object]:
    values = r.model_dump(include=set(_FIELDS))
    values["tool"] = r.tool.value
    values["tier"] = r.tier.value if r.tier is not None else None
    values["answered_at"] = r.answered_at.astimezone(UTC).isoformat()
    return [r.key, r.answered_at.astimezone(zone).date().isoformat(), *(
        values[f] for f in _FIELDS), received.astimezone(UTC).isoformat()]


def save_surveys(store: Store, responses: Sequence[SurveyResponse], zone: tzinfo,
                 received: datetime) -> Saved:
    """Store ``responses`` in one transaction (all or none); ``zone``: the centre's, for
    the local day each counts in."""
    try:
        _ensure(store.db.conn)
    except sqlite3.Error as err:
        raise StoreError(f"cannot save survey responses: {err}") from None
    added = completed = duplicates = 0
    columns = ("key", "day", *_FIELDS, "received_at")
    with store._transaction("save survey responses") as conn:
        for r in responses:
            found = conn.execute(f"select csat, nps from {SURVEYS} where key = ?",
                                 [r.key]).fetchone()
            row = _row(r, zone, received)
            if found is None:
                conn.execute(f"insert into {SURVEYS} ({', '.join(columns)}) values "
                             f"({', '.join('?' * len(columns))})", row)
                added += 1
            elif found[0] is None and found[1] is None and not r.pending:
                sets = ", ".join(f"{c} = ?" for c in columns[1:])
                conn.execute(f"update {SURVEYS} set {sets} where key = ?", [*row[1:], r.key])
                completed += 1
            else:
                duplicates += 1
    return Saved(added, completed, duplicates)


def read_surveys(store: Store, day: str, received_since: str | None = None
                 ) -> list[SurveyResponse]:
    """The responses of a local day (YYYY-MM-DD), oldest first; with ``received_since``
    (ISO 8601 UTC) only those stored or completed at or after it (a console's refresh
    reads what is new). A row that no longer validates (written by a newer version?) is
    skipped, not fatal."""
    since = "" if received_since is None else " and received_at >= ?"
    try:
        _ensure(store.db.conn)
        rows = store.db.conn.execute(
            f"select {', '.join(_FIELDS)} from {SURVEYS} where day = ?{since} "
            "order by answered_at, key",
            [day] if received_since is None else [day, received_since]).fetchall()
    except sqlite3.Error as err:
        raise StoreError(f"cannot read survey responses: {err}") from None
    out: list[SurveyResponse] = []
    for row in rows:
        values = {k: v for k, v in zip(_FIELDS, row, strict=True) if v is not None}
        try:
            out.append(SurveyResponse.model_validate(values))
        except ValidationError:
            continue
    return out


def surveys_version(store: Store, day: str) -> tuple[int, str]:
    """(rows, latest received_at) of a day: a cheap test of whether to read again."""
    try:
        _ensure(store.db.conn)
        count, latest = store.db.conn.execute(
            f"select count(*), max(received_at) from {SURVEYS} where day = ?",
            [day]).fetchone()
    except sqlite3.Error as err:
        raise StoreError(f"cannot read survey responses: {err}") from None
    return int(count), str(latest or "")
