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
            conn = sqlite3.connect(path, timeout=5.0, check_same_thread=False)
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

    def record_history(self, rows: Iterable[dict]) -> int:
        """Append one sample per queue; returns rows written. Raises StoreError."""
        rows = list(rows)
        try:
            self.db[HISTORY].insert_all(rows, replace=True)  # type: ignore[union-attr]
        except sqlite3.Error as err:
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
            self.db.conn.commit()
        except sqlite3.Error as err:
            raise StoreError(f"cannot prune history: {err}") from None
        return cursor.rowcount

    def close(self) -> None:
        self.db.conn.close()
