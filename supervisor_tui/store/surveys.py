"""Survey responses in the shared store (``survey_responses``), per local day.

Written by the collector's webhook (``POST /v1/surveys``) and ``supervisor-tui surveys
import``; read by every console on the store (SQLite on the host, or PostgreSQL across
hosts: store/backend.py). The key is the tool and its response id, so a retried
webhook or a file imported twice is stored once; an id-only notification (pending, no
score) is completed when a scored form of the same response arrives, and never the
other way round.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo

from pydantic import ValidationError

from supervisor_tui.domain.surveys import SurveyResponse
from supervisor_tui.store import Store, StoreError
from supervisor_tui.store.backend import Db, first_line

SURVEYS = "survey_responses"
_FIELDS = ("tool", "response_id", "answered_at", "contact_id", "queue", "agent", "team",
           "customer", "tier", "csat", "nps", "survey_id")
_TYPES: dict[str, type] = {
    "response_key": str, "day": str, "tool": str, "response_id": str, "answered_at": str,
    "contact_id": str, "queue": str, "agent": str, "team": str, "customer": str,
    "tier": str, "csat": int, "nps": int, "survey_id": str, "received_at": str}
_COLUMNS = ("response_key", "day", *_FIELDS, "received_at")


@dataclass(frozen=True)
class Saved:
    """What one write did: new rows, pending rows completed with their scores, and
    responses already stored (a retry: nothing written)."""

    added: int = 0
    completed: int = 0
    duplicates: int = 0


def _ensure(db: Db) -> None:
    # (once per connection: Db.ddl remembers)
    db.create_table(SURVEYS, _TYPES, pk="response_key",
                    not_null=("day", "tool", "response_id", "answered_at", "received_at"))
    db.create_index(SURVEYS, ["day", "received_at"])


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
        _ensure(store.db)
    except store.db.Error as err:
        raise StoreError(f"cannot save survey responses: {first_line(err)}") from None
    added = completed = duplicates = 0
    with store._transaction("save survey responses", SURVEYS) as db:
        # What is stored already, read in chunks (not a round trip per response); kept
        # up to date below, so a response the batch repeats counts as it would one by one.
        keys = list(dict.fromkeys(r.key for r in responses))
        scores: dict[str, tuple[object, object]] = {}
        for i in range(0, len(keys), 500):  # (SQLite's variable limit)
            chunk = keys[i:i + 500]
            for key, csat, nps in db.execute(
                    f"select response_key, csat, nps from {SURVEYS} where response_key in "
                    f"({', '.join('?' * len(chunk))})", chunk).fetchall():
                scores[key] = (csat, nps)
        for r in responses:
            found = scores.get(r.key)
            row = _row(r, zone, received)
            if found is None:
                db.execute(f"insert into {SURVEYS} ({', '.join(_COLUMNS)}) values "
                           f"({', '.join('?' * len(_COLUMNS))})", row)
                added += 1
            elif found == (None, None) and not r.pending:
                sets = ", ".join(f"{c} = ?" for c in _COLUMNS[1:])
                db.execute(f"update {SURVEYS} set {sets} where response_key = ?",
                           [*row[1:], r.key])
                completed += 1
            else:
                duplicates += 1
                continue
            scores[r.key] = (r.csat, r.nps)
    return Saved(added, completed, duplicates)


def read_surveys(store: Store, day: str, received_since: str | None = None
                 ) -> list[SurveyResponse]:
    """The responses of a local day (YYYY-MM-DD), oldest first; with ``received_since``
    (ISO 8601 UTC) only those stored or completed at or after it (a console's refresh
    reads what is new). A row that no longer validates (written by a newer version?) is
    skipped, not fatal."""
    since = "" if received_since is None else " and received_at >= ?"
    db = store.db
    try:
        _ensure(db)
        rows = db.execute(
            f"select {', '.join(_FIELDS)} from {SURVEYS} where day = ?{since} "
            "order by answered_at, response_key",
            [day] if received_since is None else [day, received_since]).fetchall()
    except db.Error as err:
        raise StoreError(f"cannot read survey responses: {first_line(err)}") from None
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
    db = store.db
    try:
        _ensure(db)
        count, latest = db.execute(
            f"select count(*), max(received_at) from {SURVEYS} where day = ?",
            [day]).fetchone()
    except db.Error as err:
        raise StoreError(f"cannot read survey responses: {first_line(err)}") from None
    return int(count), str(latest or "")
