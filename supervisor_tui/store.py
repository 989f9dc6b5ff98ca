"""The local store: one SQLite file (WAL) shared by every console on the host.

sqlite-utils for every table. This issue keeps per-queue metric history (feeding the
trends); later issues add escalation state, the audit log and the crisis outbox.

Failure to open or write the store never stops the console: ``open_store`` returns
``None`` with a reason, and write errors (disk full, read-only file) are reported to
the caller, which shows them and carries on with in-memory trends.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from datetime import datetime, timedelta
from pathlib import Path

import sqlite_utils

HISTORY = "queue_history"
ESC_STATE = "escalation_state"
ESC_NOTES = "escalation_notes"

# Escalation workflow states shared by every console on the host.
OPEN, ACKNOWLEDGED, TAKEN, RESOLVED = "open", "acknowledged", "taken", "resolved"


class StoreError(Exception):
    """The store cannot be opened or written; the message is for humans."""


class Store:
    def __init__(self, db: sqlite_utils.Database, path: Path | None) -> None:
        self.db = db
        self.path = path
        self._ensure_schema()

    @classmethod
    def open(cls, path: Path | str | None) -> Store:
        """Open (creating if needed) the store at ``path``; ``None`` = in memory."""
        if path is None:
            return cls(sqlite_utils.Database(memory=True), None)
        path = Path(path)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            # isolation_level=None: we issue BEGIN IMMEDIATE ourselves where it matters.
            conn = sqlite3.connect(path, timeout=5.0, check_same_thread=False,
                                   isolation_level=None)
            db = sqlite_utils.Database(conn)
            db.enable_wal()
            store = cls(db, path)
        except (OSError, sqlite3.Error) as err:
            raise StoreError(f"cannot open database {path}: {err}") from None
        return store

    def _ensure_schema(self) -> None:
        table = self.db[HISTORY]
        if not table.exists():
            table.create(  # type: ignore[union-attr]
                {
                    "ts": str,
                    "queue_id": str,
                    "service_level": float,
                    "waiting": int,
                    "longest_wait_s": float,
                    "offered": int,
                    "answered": int,
                    "abandoned": int,
                },
                pk=("queue_id", "ts"),
            )
            table.create_index(["ts"], if_not_exists=True)  # type: ignore[union-attr]
        self._ensure_escalation_schema()

    def _ensure_escalation_schema(self) -> None:
        if not self.db[ESC_STATE].exists():
            self.db[ESC_STATE].create(  # type: ignore[union-attr]
                {"id": str, "state": str, "owner": str, "updated_at": str, "updated_by": str},
                pk="id",
            )
        if not self.db[ESC_NOTES].exists():
            self.db[ESC_NOTES].create(  # type: ignore[union-attr]
                {"id": int, "escalation_id": str, "ts": str, "user": str, "note": str},
                pk="id",
            )
            self.db[ESC_NOTES].create_index(["escalation_id"])  # type: ignore[union-attr]

    def escalation_states(self) -> dict[str, dict]:
        """State of every escalation someone has touched, keyed by escalation id."""
        try:
            return {row["id"]: row for row in self.db[ESC_STATE].rows}  # type: ignore[union-attr]
        except sqlite3.Error as err:
            raise StoreError(f"cannot read escalation state: {err}") from None

    def escalation_notes(self, escalation_id: str) -> list[dict]:
        try:
            return list(self.db[ESC_NOTES].rows_where(  # type: ignore[union-attr]
                "escalation_id = ?", [escalation_id], order_by="id"))
        except sqlite3.Error as err:
            raise StoreError(f"cannot read notes: {err}") from None

    def set_escalation_state(self, escalation_id: str, state: str, user: str,
                             now: datetime) -> tuple[bool, str]:
        """Move an escalation to ``state`` as ``user``; returns (done, why not).

        Atomic across processes (BEGIN IMMEDIATE): if another supervisor took it
        first, "take" is refused with their name rather than silently overwritten.
        """
        conn = self.db.conn
        try:
            conn.execute("BEGIN IMMEDIATE")
            row = conn.execute(f"select state, owner from {ESC_STATE} where id = ?",
                               [escalation_id]).fetchone()
            current, owner = (row[0], row[1]) if row else (OPEN, "")
            if state == TAKEN and current == TAKEN and owner and owner != user:
                conn.execute("ROLLBACK")
                return False, f"already taken by {owner}"
            if current == RESOLVED and state != OPEN:
                conn.execute("ROLLBACK")
                return False, "already resolved"
            new_owner = user if state == TAKEN else (owner or "")
            if state == OPEN:
                new_owner = ""
            conn.execute(
                f"insert or replace into {ESC_STATE} (id, state, owner, updated_at, updated_by)"
                " values (?, ?, ?, ?, ?)",
                [escalation_id, state, new_owner, now.isoformat(), user])
            conn.execute("COMMIT")
        except sqlite3.Error as err:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise StoreError(f"cannot save escalation state: {err}") from None
        return True, ""

    def add_escalation_note(self, escalation_id: str, user: str, note: str,
                            now: datetime) -> None:
        try:
            with self.db.conn:
                self.db[ESC_NOTES].insert(  # type: ignore[union-attr]
                    {"escalation_id": escalation_id, "ts": now.isoformat(), "user": user,
                     "note": note})
        except sqlite3.Error as err:
            raise StoreError(f"cannot save note: {err}") from None

    def record_history(self, rows: Iterable[dict]) -> int:
        """Append one sample per queue; returns rows written. Raises StoreError."""
        rows = list(rows)
        conn = self.db.conn
        try:
            conn.execute("BEGIN")  # one transaction, not one commit per row
            self.db[HISTORY].insert_all(rows, replace=True)  # type: ignore[union-attr]
            conn.execute("COMMIT")
        except sqlite3.Error as err:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise StoreError(f"cannot write history: {err}") from None
        return len(rows)

    def history_since(self, since: datetime) -> list[dict]:
        try:
            return list(
                self.db.query(
                    f"select * from {HISTORY} where ts >= ? order by ts",
                    [since.isoformat()],
                )
            )
        except sqlite3.Error as err:
            raise StoreError(f"cannot read history: {err}") from None

    def prune_history(self, now: datetime, keep: timedelta) -> int:
        try:
            cursor = self.db.execute(
                f"delete from {HISTORY} where ts < ?", [(now - keep).isoformat()]
            )
        except sqlite3.Error as err:
            raise StoreError(f"cannot prune history: {err}") from None
        return cursor.rowcount

    def close(self) -> None:
        self.db.conn.close()
