"""The crisis tables in the shared store, and the one transaction helper they all use.

Every table lives in the Store's database (store/backend.py: the SQLite file of one
host, or PostgreSQL for every host), so every console sees the same incidents,
banners and outbox. Writes that must be atomic across processes run in ``immediate``:
SQLite's ``BEGIN IMMEDIATE`` takes the write lock before anything is read; on
PostgreSQL the transaction takes the named advisory locks its caller gives, and the
outbox claims rows with ``FOR UPDATE SKIP LOCKED``. Either way two consoles never both
act on what they each read.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import sqlite_utils

from supervisor_tui.store import StoreError
from supervisor_tui.store.backend import Db, as_db, first_line

INCIDENTS = "crisis_incidents"
TIMELINE = "crisis_timeline"
MESSAGES = "crisis_messages"
OUTBOX = "crisis_outbox"
BANNERS = "crisis_banners"
REFS = "crisis_refs"  # per (incident, channel): the receiver's id, e.g. a Statuspage incident


#: outbox columns added later (see add_missing_columns):
#: attempt_by — "host:pid:nonce user" of the console or CLI that made the last attempt;
#: dispatched_at — when that attempt's request went out (NULL: claimed, nothing sent yet);
#: outcome_unknown — 1 while the last attempt's outcome is unknown (timed out, dropped,
#: or its sender was killed mid-send).
OUTBOX_ADDED: dict[str, type] = {"attempt_by": str, "dispatched_at": float,
                                 "outcome_unknown": int}


class CrisisStoreError(StoreError):
    """The crisis tables cannot be read or written; the message is for humans."""


def ensure_schema(db: Db | sqlite_utils.Database) -> Db:
    """Create the crisis tables if missing (safe to race: every step is IF NOT EXISTS);
    returns the Db (a bare sqlite-utils Database is wrapped)."""
    db = as_db(db)
    try:
        _create(db)
    except db.Error as err:
        raise CrisisStoreError(f"cannot create the crisis tables: {first_line(err)}") from None
    return db


def _create(db: Db) -> None:
    db.create_table(INCIDENTS, {
        "id": int, "uid": str, "title": str, "severity": str, "queues": str, "impact": str,
        "eta": str, "state": str, "declared_at": str, "declared_by": str,
        "resolved_at": str, "resolved_by": str, "updated_at": str,
    }, "id", not_null=("uid", "title", "severity", "queues", "state", "declared_at",
                       "declared_by"), defaults={"impact": "", "eta": "", "queues": "[]"})
    db.create_index(INCIDENTS, ["uid"], unique=True)
    db.create_index(INCIDENTS, ["state"])

    db.create_table(TIMELINE, {
        "id": int, "incident_id": int, "ts": str, "kind": str, "user": str, "text": str,
        "data": str,
    }, "id", not_null=("incident_id", "ts", "kind", "user", "text"), defaults={"data": "{}"})
    db.create_index(TIMELINE, ["incident_id", "id"])

    db.create_table(MESSAGES, {
        "id": int, "uid": str, "incident_id": int, "template": str, "kind": str,
        "created_at": str, "created_by": str, "variables": str,
    }, "id", not_null=("uid", "incident_id", "template", "kind", "created_at", "created_by"))
    db.create_index(MESSAGES, ["uid"], unique=True)

    db.create_table(OUTBOX, {
        "id": int, "message_id": int, "incident_id": int, "channel": str,
        "channel_type": str, "recipient": str, "idem_key": str, "subject": str, "body": str,
        "meta": str, "state": str, "attempts": int, "next_attempt_at": float,
        "lease_owner": str, "lease_until": float, "last_error": str, "last_status": int,
        "external_id": str, "created_at": str, "updated_at": str, "delivered_at": str,
        **OUTBOX_ADDED,
    }, "id", not_null=("message_id", "incident_id", "channel", "channel_type", "recipient",
                       "idem_key", "subject", "body", "state", "attempts", "next_attempt_at"),
        defaults={"attempts": 0, "meta": "{}", "subject": ""})
    db.add_missing_columns(OUTBOX, OUTBOX_ADDED)
    # The key is unique per (message, channel, recipient) by construction; the index
    # makes a bug that reuses one a loud error instead of a silent double send.
    db.create_index(OUTBOX, ["idem_key"], unique=True)
    db.create_index(OUTBOX, ["state", "next_attempt_at"])
    db.create_index(OUTBOX, ["incident_id", "channel", "recipient", "id"])
    db.create_index(OUTBOX, ["message_id"])

    db.create_table(BANNERS, {
        "id": int, "incident_id": int, "idem_key": str, "ts": str, "text": str,
    }, "id", not_null=("incident_id", "idem_key", "ts", "text"))
    db.create_index(BANNERS, ["idem_key"], unique=True)
    db.create_index(BANNERS, ["incident_id", "id"])

    db.create_table(REFS, {"incident_id": int, "channel": str, "external_id": str},
                    ("incident_id", "channel"), not_null=("external_id",))


@contextmanager
def immediate(db: Db, what: str, *locks: str) -> Iterator[Db]:
    """One write transaction holding the named ``locks`` (SQLite: ``BEGIN IMMEDIATE``,
    which holds them all; none named: the crisis tables' one lock); database errors
    become CrisisStoreError."""
    if db.in_transaction:
        # Joining another caller's transaction would tie our commit to theirs.
        raise CrisisStoreError(f"cannot {what}: the store is inside another transaction")
    try:
        with db.transaction(*(locks or ("crisis",))):
            yield db
    except db.Error as err:
        raise CrisisStoreError(f"cannot {what}: {first_line(err)}") from None


def query(db: Db, sql: str, args: list[Any] | tuple[Any, ...] = (),
          what: str = "read the crisis tables") -> list[dict[str, Any]]:
    try:
        return db.query(sql, list(args))
    except db.Error as err:
        raise CrisisStoreError(f"cannot {what}: {first_line(err)}") from None


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
