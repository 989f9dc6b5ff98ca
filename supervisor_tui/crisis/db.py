"""The crisis tables in the shared store, and the one transaction helper they all use.

Every table lives in the Store's SQLite file (WAL), so every console on the host sees
the same incidents, banners and outbox. Writes that must be atomic across processes
run in ``BEGIN IMMEDIATE``: the write lock is taken before anything is read, so two
consoles never both act on what they each read.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import sqlite_utils

from supervisor_tui.store import StoreError

INCIDENTS = "crisis_incidents"
TIMELINE = "crisis_timeline"
MESSAGES = "crisis_messages"
OUTBOX = "crisis_outbox"
BANNERS = "crisis_banners"
REFS = "crisis_refs"  # per (incident, channel): the receiver's id, e.g. a Statuspage incident


#: outbox columns added later (see _add_missing_columns):
#: attempt_by — "host:pid:nonce user" of the console or CLI that made the last attempt;
#: dispatched_at — when that attempt's request went out (NULL: claimed, nothing sent yet);
#: outcome_unknown — 1 while the last attempt's outcome is unknown (timed out, dropped,
#: or its sender was killed mid-send).
OUTBOX_ADDED: dict[str, Any] = {"attempt_by": str, "dispatched_at": float,
                                "outcome_unknown": int}


class CrisisStoreError(StoreError):
    """The crisis tables cannot be read or written; the message is for humans."""


def ensure_schema(db: sqlite_utils.Database) -> None:
    """Create the crisis tables if missing (safe to race: every step is IF NOT EXISTS)."""
    try:
        _create(db)
    except sqlite3.Error as err:
        raise CrisisStoreError(f"cannot create the crisis tables: {err}") from None


def _create(db: sqlite_utils.Database) -> None:
    def table(name: str, columns: dict[str, Any], pk: Any, not_null: set[str],
              defaults: dict[str, Any] | None = None) -> sqlite_utils.db.Table:
        found = db[name]
        found.create(columns, pk=pk, not_null=not_null,  # type: ignore[union-attr]
                     defaults=defaults or {}, if_not_exists=True)
        return found  # type: ignore[return-value]

    incidents = table(INCIDENTS, {
        "id": int, "uid": str, "title": str, "severity": str, "queues": str, "impact": str,
        "eta": str, "state": str, "declared_at": str, "declared_by": str,
        "resolved_at": str, "resolved_by": str, "updated_at": str,
    }, "id", {"uid", "title", "severity", "queues", "state", "declared_at", "declared_by"},
        {"impact": "", "eta": "", "queues": "[]"})
    incidents.create_index(["uid"], unique=True, if_not_exists=True)
    incidents.create_index(["state"], if_not_exists=True)

    timeline = table(TIMELINE, {
        "id": int, "incident_id": int, "ts": str, "kind": str, "user": str, "text": str,
        "data": str,
    }, "id", {"incident_id", "ts", "kind", "user", "text"}, {"data": "{}"})
    timeline.create_index(["incident_id", "id"], if_not_exists=True)

    messages = table(MESSAGES, {
        "id": int, "uid": str, "incident_id": int, "template": str, "kind": str,
        "created_at": str, "created_by": str, "variables": str,
    }, "id", {"uid", "incident_id", "template", "kind", "created_at", "created_by"})
    messages.create_index(["uid"], unique=True, if_not_exists=True)

    outbox = table(OUTBOX, {
        "id": int, "message_id": int, "incident_id": int, "channel": str,
        "channel_type": str, "recipient": str, "idem_key": str, "subject": str, "body": str,
        "meta": str, "state": str, "attempts": int, "next_attempt_at": float,
        "lease_owner": str, "lease_until": float, "last_error": str, "last_status": int,
        "external_id": str, "created_at": str, "updated_at": str, "delivered_at": str,
        **OUTBOX_ADDED,
    }, "id", {"message_id", "incident_id", "channel", "channel_type", "recipient",
              "idem_key", "subject", "body", "state", "attempts", "next_attempt_at"},
        {"attempts": 0, "meta": "{}", "subject": ""})
    _add_missing_columns(outbox, OUTBOX_ADDED)
    # The key is unique per (message, channel, recipient) by construction; the index
    # makes a bug that reuses one a loud error instead of a silent double send.
    outbox.create_index(["idem_key"], unique=True, if_not_exists=True)
    outbox.create_index(["state", "next_attempt_at"], if_not_exists=True)
    outbox.create_index(["incident_id", "channel", "recipient", "id"], if_not_exists=True)
    outbox.create_index(["message_id"], if_not_exists=True)

    banners = table(BANNERS, {
        "id": int, "incident_id": int, "idem_key": str, "ts": str, "text": str,
    }, "id", {"incident_id", "idem_key", "ts", "text"})
    banners.create_index(["idem_key"], unique=True, if_not_exists=True)
    banners.create_index(["incident_id", "id"], if_not_exists=True)

    table(REFS, {"incident_id": int, "channel": str, "external_id": str},
          ("incident_id", "channel"), {"external_id"})


def _add_missing_columns(table: Any, columns: dict[str, Any]) -> None:
    """Columns added after the first release: a store made by an older version gets them
    (two consoles may race to add one; the loser finds it there)."""
    for name, kind in columns.items():
        if name in table.columns_dict:
            continue
        try:
            table.add_column(name, kind)
        except sqlite3.OperationalError:
            if name not in table.columns_dict:
                raise


@contextmanager
def immediate(db: sqlite_utils.Database, what: str) -> Iterator[sqlite3.Connection]:
    """One ``BEGIN IMMEDIATE`` transaction; sqlite errors become CrisisStoreError."""
    conn = db.conn
    if conn.in_transaction:
        # Joining another caller's transaction would tie our commit to theirs.
        raise CrisisStoreError(f"cannot {what}: the store is inside another transaction")
    try:
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
    except sqlite3.Error as err:
        raise CrisisStoreError(f"cannot {what}: {err}") from None


def query(db: sqlite_utils.Database, sql: str, args: list[Any] | tuple[Any, ...] = (),
          what: str = "read the crisis tables") -> list[dict[str, Any]]:
    try:
        return list(db.query(sql, list(args)))
    except sqlite3.Error as err:
        raise CrisisStoreError(f"cannot {what}: {err}") from None


def iso(moment: datetime) -> str:
    """One fixed UTC format, so text order is time order in SQL."""
    if moment.tzinfo is None:
        raise ValueError("crisis times must be timezone-aware")
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def parse_iso(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


def dumps(data: Any) -> str:
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      default=str)
