"""Copy a SQLite store into an empty PostgreSQL store (``supervisor-tui store copy``):
moving a centre's consoles from one host's file to the shared server without losing
the escalation desk, the history, the crisis tables or the audit log.

Every table of the file is copied as it is, in one transaction (all or nothing), into a
store whose tables hold no rows yet (never merged: ids and the audit chain could not
be kept). Tables the target does not have yet are made first by the modules that own
them (opening the Store, the audit log, the crisis tables and the pages), and any other
from the file's own columns. Ids are kept; each auto-increment id then continues after
the highest copied, the audit log's head counter after SQLite's (a deleted tail stays
visible as such), and the copied chain is verified on the target against the file's.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from supervisor_tui.store import Store, StoreError
from supervisor_tui.store.audit import AUDIT, HEAD, AuditLog, VerifyResult
from supervisor_tui.store.backend import Db, SqliteDb, first_line, quote

_BATCH = 2000
_SKIP = re.compile(r"sqlite_|.*_fts")  # SQLite's own tables


@dataclass
class Copied:
    tables: dict[str, int] = field(default_factory=dict)  # table -> rows copied
    source_audit: VerifyResult | None = None
    target_audit: VerifyResult | None = None


def _tables(db: SqliteDb) -> list[tuple[str, bool]]:
    """(name, has a rowid) of the file's tables, in creation order."""
    rows = db.execute("SELECT name, sql FROM sqlite_master WHERE type = 'table' "
                      "ORDER BY rowid").fetchall()
    return [(name, "without rowid" not in (sql or "").lower()) for name, sql in rows
            if not _SKIP.match(name)]


def _columns(db: SqliteDb, table: str) -> list[tuple[str, str, int]]:
    """(name, declared type, position in the primary key) of a file's table."""
    return [(r[1], (r[2] or "").upper(), int(r[5]))
            for r in db.execute(f"PRAGMA table_info({table})")]


def _kind(declared: str) -> type:
    if "INT" in declared:
        return int
    if any(word in declared for word in ("REAL", "FLOA", "DOUB", "NUM")):
        return float
    return str


def _make_missing(source: SqliteDb, target: Db, table: str) -> None:
    """A table no module made on the target: from the file's columns."""
    cols = _columns(source, table)
    pk = [name for name, _, n in sorted(cols, key=lambda c: c[2]) if n > 0]
    target.create_table(table, {name: _kind(kind) for name, kind, _ in cols}, pk or
                        [cols[0][0]])


def copy_store(source: SqliteDb, target: Store,
               progress: Callable[[str, int], None] | None = None) -> Copied:
    """Copy every table of ``source`` into ``target`` (PostgreSQL). Raises StoreError
    (for humans) when the target is not empty or either side fails."""
    db = target.db
    if db.dialect != "postgres":
        raise StoreError("the target must be a PostgreSQL store ([store] url)")
    from supervisor_tui.crisis.db import ensure_schema
    from supervisor_tui.crisis.paging import PageBook

    done = Copied()
    try:
        done.source_audit = (AuditLog(source, create=False).verify()
                             if source.table_exists(AUDIT) else None)
        AuditLog(db, create=False)  # the modules' own tables first, with their indexes
        ensure_schema(db)
        PageBook(db)
        tables = _tables(source)
        for name, _ in tables:
            if not db.table_exists(name):
                _make_missing(source, db, name)
        full = [name for name, _ in tables if db.execute(
            f"SELECT 1 FROM {name} LIMIT 1").fetchone() is not None]
    except source.Error as err:
        raise StoreError(f"cannot read the SQLite store: {first_line(err)}") from None
    except db.Error as err:
        raise StoreError(f"cannot prepare the PostgreSQL store: {first_line(err)}") from None
    if full:
        raise StoreError(f"the PostgreSQL store already has rows in {', '.join(full)}: "
                         "copy into an empty store only (never merged)")
    try:
        with db.transaction("store", "schema", AUDIT):
            for name, rowid in tables:
                done.tables[name] = _copy_table(source, db, name, rowid)
                if progress is not None:
                    progress(name, done.tables[name])
            high = source.execute("SELECT seq FROM sqlite_sequence WHERE name = ?",
                                  [AUDIT]).fetchone() if source.table_exists(
                                      "sqlite_sequence") else None
            if high:
                db.execute(f"UPDATE {HEAD} SET high = ? WHERE high < ?", [high[0], high[0]])
    except source.Error as err:
        raise StoreError(f"cannot read the SQLite store: {err}; nothing copied") from None
    except db.Error as err:
        raise StoreError(f"cannot copy into the PostgreSQL store: {first_line(err)}; "
                         "nothing copied") from None
    if done.source_audit is not None:
        done.target_audit = AuditLog(db, create=False).verify()
    return done


def _copy_table(source: SqliteDb, db: Db, name: str, rowid: bool) -> int:
    have = db.columns(name)
    cols = [c for c, _, _ in _columns(source, name) if c in have]
    listed = ", ".join(quote(c) for c in cols)
    marks = ", ".join("?" * len(cols))
    order = " ORDER BY rowid" if rowid else ""
    cursor = source.execute(f"SELECT {listed} FROM {name}{order}")
    count = 0
    while rows := cursor.fetchmany(_BATCH):
        db.executemany(f"INSERT INTO {name} ({listed}) VALUES ({marks})", rows)
        count += len(rows)
    if count and "id" in cols and _has_identity(db, name):
        # the next auto-increment id follows the highest copied
        db.execute(f"SELECT setval(pg_get_serial_sequence(?, 'id'), max(id)) FROM {name}",
                   [name])
    return count


def _has_identity(db: Db, table: str) -> bool:
    row: Any = db.execute("SELECT pg_get_serial_sequence(?, 'id')", [table]).fetchone()
    return bool(row and row[0])
