"""The audit log: append-only and tamper-evident, in the store's SQLite file.

Every action attempt (allowed, refused, failed or done) is one row. Each row carries
``prev_hash`` (the previous row's hash) and ``hash`` = sha256 over a canonical JSON of
its own fields and ``prev_hash``, so editing, deleting, inserting or reordering rows
breaks the chain at that point and ``verify`` names the first bad row.

What a hash chain cannot show on its own: someone able to write the file can rewrite
the whole tail consistently. Triggers refuse UPDATE and DELETE (against accidents, not
attackers), ``verify`` checks the ids are gapless and that SQLite's AUTOINCREMENT
counter agrees the last row is the last one ever written, and ``VerifyResult.last_hash``
is what to record elsewhere (a ticket, a log shipper) to pin the chain down.

Appends run in ``BEGIN IMMEDIATE``: the write lock is taken before the previous hash
is read, so two consoles appending at once queue up instead of forking the chain.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

import sqlite_utils

from supervisor_tui.store import StoreError

AUDIT = "audit_log"
GENESIS = "0" * 64  # prev_hash of the first row
# Hashed, in this order of meaning (the JSON is key-sorted anyway).
HASHED = ("id", "ts", "user", "role", "action", "subject", "params", "outcome", "response",
          "prev_hash")


class AuditError(StoreError):
    """The audit log cannot be read or written; the message is for humans."""


class Outcome(StrEnum):
    ALLOWED = "allowed"  # permitted, about to be attempted
    REFUSED = "refused"  # not permitted (role, read-only, capability)
    FAILED = "failed"  # attempted, did not happen
    DONE = "done"  # attempted and confirmed by the source


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    checked: int  # rows found intact (all of them when ok)
    first_bad_id: int | None
    reason: str
    last_hash: str = GENESIS  # of the last intact row: record it elsewhere to pin the chain


def canonical_params(params: Mapping[str, Any] | None) -> str:
    """The one JSON text for ``params``: sorted keys, no spaces, UTF-8 kept as is."""
    return json.dumps(dict(params or {}), sort_keys=True, separators=(",", ":"),
                      ensure_ascii=False, default=str)


def record_hash(record: Mapping[str, Any]) -> str:
    """sha256 of a record's hashed fields; ``params`` as stored text or as a mapping
    (so an exported record can be checked without the database)."""
    fields = {name: record.get(name) for name in HASHED}
    if not isinstance(fields["params"], str):
        fields["params"] = canonical_params(fields["params"])
    text = json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _utc_iso(moment: datetime) -> str:
    if moment.tzinfo is None:
        raise ValueError("audit times must be timezone-aware")
    # One fixed format, so text order is time order in SQL.
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS {AUDIT} (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    ts TEXT NOT NULL,
    user TEXT NOT NULL,
    role TEXT NOT NULL,
    action TEXT NOT NULL,
    subject TEXT NOT NULL,
    params TEXT NOT NULL,
    outcome TEXT NOT NULL,
    response TEXT,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS {AUDIT}_ts ON {AUDIT} (ts);
CREATE TRIGGER IF NOT EXISTS {AUDIT}_no_update BEFORE UPDATE ON {AUDIT}
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER IF NOT EXISTS {AUDIT}_no_delete BEFORE DELETE ON {AUDIT}
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
"""


class AuditLog:
    """The audit table of one database connection (share the Store's ``db``)."""

    def __init__(self, db: sqlite_utils.Database, lock: threading.Lock | None = None) -> None:
        self.db = db
        # One connection may be shared by threads (check_same_thread=False): keep each
        # append's transaction whole. Pass the lock the connection's other writers use,
        # or their statements can land inside (or block) an append. Other processes
        # are kept out by BEGIN IMMEDIATE.
        self._lock = lock or threading.Lock()
        try:
            with self._lock:
                self.db.conn.executescript(_SCHEMA)
        except sqlite3.Error as err:
            raise AuditError(f"cannot create the audit log: {err}") from None

    def append(
        self,
        *,
        user: str,
        role: str,
        action: str,
        subject: str,
        outcome: Outcome | str,
        params: Mapping[str, Any] | None = None,
        response: str | None = None,
        ts: datetime | None = None,
    ) -> dict[str, Any]:
        """Append one record and return it as stored (params decoded). Raises AuditError."""
        record: dict[str, Any] = {
            "ts": _utc_iso(ts or datetime.now(UTC)),
            "user": user, "role": role, "action": action, "subject": subject,
            "params": canonical_params(params),
            "outcome": Outcome(outcome).value,
            "response": response,
        }
        conn = self.db.conn
        with self._lock:
            if conn.in_transaction:
                # Joining someone else's transaction would make our chain link depend on
                # their commit or rollback: refuse loudly rather than fork or lose it.
                raise AuditError("cannot append to the audit log inside another transaction")
            try:
                conn.execute("BEGIN IMMEDIATE")
                try:
                    last = conn.execute(
                        f"SELECT id, hash FROM {AUDIT} ORDER BY id DESC LIMIT 1").fetchone()
                    # Next id from the AUTOINCREMENT counter, so a deleted tail row is a
                    # visible gap rather than a reused id.
                    seq = conn.execute("SELECT seq FROM sqlite_sequence WHERE name = ?",
                                       [AUDIT]).fetchone()
                    record["id"] = max(seq[0] if seq else 0, last[0] if last else 0) + 1
                    record["prev_hash"] = last[1] if last else GENESIS
                    record["hash"] = record_hash(record)
                    columns = ", ".join(record)
                    conn.execute(
                        f"INSERT INTO {AUDIT} ({columns}) VALUES "
                        f"({', '.join('?' * len(record))})", list(record.values()))
                    conn.execute("COMMIT")
                except BaseException:
                    if conn.in_transaction:  # SQLite may have rolled back already
                        conn.execute("ROLLBACK")
                    raise
            except sqlite3.Error as err:
                raise AuditError(f"cannot write the audit log: {err}") from None
        return _decoded(record)

    def records(self, since: datetime | None = None) -> list[dict[str, Any]]:
        """Records in chain order, those at or after ``since`` if given."""
        sql, args = f"SELECT * FROM {AUDIT}", []
        if since is not None:
            sql += " WHERE ts >= ?"
            args.append(_utc_iso(since))
        try:
            return [_decoded(row) for row in self.db.query(sql + " ORDER BY id", args)]
        except sqlite3.Error as err:
            raise AuditError(f"cannot read the audit log: {err}") from None

    def verify(self) -> VerifyResult:
        """Walk the chain from the first row; stop at the first inconsistency."""
        try:
            with self._lock:
                # The counter first: an append landing between the two reads then shows
                # as one row more than counted (harmless), never as a missing row.
                seq = self.db.conn.execute(
                    "SELECT seq FROM sqlite_sequence WHERE name = ?", [AUDIT]).fetchone()
                rows = self._rows()
                try:
                    return self._walk(rows, seq[0] if seq else 0)
                finally:
                    rows.close()  # release the read at once, even when stopping early
        except sqlite3.Error as err:
            raise AuditError(f"cannot read the audit log: {err}") from None

    @staticmethod
    def _walk(rows: Iterator[dict[str, Any]], high: int) -> VerifyResult:
        checked, prev_id, prev_hash, older_hash = 0, 0, GENESIS, GENESIS
        for row in rows:
            rid = row["id"]
            if rid != prev_id + 1:
                what = "the first row" if prev_id == 0 else f"row {prev_id}"
                return VerifyResult(False, checked, rid, f"row {rid} follows {what}: "
                                    f"{rid - prev_id - 1} row(s) missing (deleted?)", prev_hash)
            if record_hash(row) != row["hash"]:
                return VerifyResult(False, checked, rid, f"row {rid} does not match its "
                                    "hash (edited?)", prev_hash)
            if row["prev_hash"] != prev_hash:
                if prev_id == 0:
                    return VerifyResult(False, 0, rid, f"row {rid} does not start the chain "
                                        "(rows before it replaced?)", GENESIS)
                # This row is intact, so the link it recorded is genuine: the row before
                # it was rewritten and rehashed (or rows were moved).
                return VerifyResult(False, checked - 1, prev_id, f"row {rid} records a "
                                    f"different hash for row {prev_id} (row {prev_id} "
                                    "rewritten and rehashed, or moved?)", older_hash)
            checked, prev_id = checked + 1, rid
            older_hash, prev_hash = prev_hash, row["hash"]
        if high > prev_id:
            return VerifyResult(False, checked, prev_id + 1, f"rows {prev_id + 1}..{high} "
                                "were written and are gone (deleted?)", prev_hash)
        return VerifyResult(True, checked, None, f"{checked} record(s) intact", prev_hash)

    def _rows(self) -> Iterator[dict[str, Any]]:
        # Streamed: one SELECT is one consistent read, and the log may be long.
        cursor = self.db.conn.execute(f"SELECT * FROM {AUDIT} ORDER BY id")
        names = [d[0] for d in cursor.description]
        for row in cursor:
            yield dict(zip(names, row, strict=True))


def _decoded(row: Mapping[str, Any]) -> dict[str, Any]:
    record = dict(row)
    record["params"] = json.loads(record["params"])
    return record
