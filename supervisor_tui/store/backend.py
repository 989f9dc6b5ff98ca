"""The store's backend seam: one small connection interface, two databases.

Every table of the shared store (store/*, crisis/*) is written through a ``Db``:

- ``SqliteDb`` (the embedded default): one file, WAL, sqlite-utils underneath; a
  write transaction is ``BEGIN IMMEDIATE``, so writers on the host queue up.
- ``PgDb`` (store/postgres.py, loaded only when a ``postgresql://`` URL is given):
  every console on every host; a write transaction takes a named lock
  (``pg_advisory_xact_lock``) for what it reads-then-writes, and the crisis outbox
  claims with ``SELECT … FOR UPDATE SKIP LOCKED``.

The SQL itself is written once, in the subset both speak (``?`` parameters,
``INSERT … ON CONFLICT … DO UPDATE / DO NOTHING``, ``RETURNING id``, ``"user"``
quoted); what differs is asked of the ``Db`` by name — the column types and the
auto-increment id in ``create_table``, ``skip_locked``, ``lock`` — never rewritten
from SQL text (PgDb only turns ``?`` into psycopg's ``%s``).
"""

from __future__ import annotations

import sqlite3
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, ClassVar

import sqlite_utils

#: a URL scheme that selects PostgreSQL
PG_SCHEMES = ("postgresql://", "postgres://")

Args = Sequence[Any] | Mapping[str, Any]


def is_pg_url(location: object) -> bool:
    return isinstance(location, str) and location.startswith(PG_SCHEMES)


def first_line(err: BaseException) -> str:
    """A driver's message without its detail lines (psycopg adds the server's hints)."""
    text = str(err).strip()
    return text.splitlines()[0] if text else type(err).__name__


class Db(ABC):
    """One connection to the store's database (shared by a console's threads: every
    statement and every transaction holds ``lock``)."""

    #: "sqlite" or "postgres"
    dialect: ClassVar[str]
    #: the driver's exception classes: callers turn them into StoreError messages
    Error: tuple[type[Exception], ...]
    #: ``FOR UPDATE SKIP LOCKED`` where rows can be locked (empty on SQLite, whose
    #: write transaction already excludes every other writer)
    skip_locked: ClassVar[str] = ""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self._ddl_done: set[str] = set()

    # -- statements -----------------------------------------------------------------

    @abstractmethod
    def execute(self, sql: str, args: Args = ()) -> Any:
        """Run one statement; returns a DB-API cursor (rowcount, fetchone, fetchall,
        description, iteration). Outside ``transaction`` it commits at once."""

    @abstractmethod
    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        """``rows`` may be a generator: read once, as written."""

    def query(self, sql: str, args: Args = ()) -> list[dict[str, Any]]:
        """Rows as dicts keyed by column name."""
        with self.lock:
            cursor = self.execute(sql, args)
            names = [d[0] for d in cursor.description]
            return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]

    def insert_id(self, sql: str, args: Args = ()) -> int:
        """An ``INSERT … RETURNING id`` and the id it made."""
        with self.lock:
            row = self.execute(sql, args).fetchone()
        return int(row[0])

    @property
    @abstractmethod
    def in_transaction(self) -> bool: ...

    @property
    @abstractmethod
    def conn(self) -> Any:
        """The driver's connection on SQLite; the Db itself on PostgreSQL (so code that
        calls ``db.conn.execute`` runs on both). New code: call ``db.execute``."""

    @abstractmethod
    def transaction(self, *locks: str) -> Any:
        """A context manager: one write transaction (commit, or rollback on any error)
        that first takes the named ``locks`` (e.g. ``"escalation_state:<id>"``): two
        transactions naming one lock run one after the other, across processes and
        hosts. Nested use is refused (it would tie one caller's commit to another's)."""

    @abstractmethod
    def close(self) -> None: ...

    # -- schema ---------------------------------------------------------------------

    @abstractmethod
    def table_exists(self, name: str) -> bool: ...

    @abstractmethod
    def columns(self, table: str) -> set[str]: ...

    def create_table(self, name: str, columns: Mapping[str, type], pk: str | Sequence[str],
                     *, not_null: Sequence[str] = (), defaults: Mapping[str, Any] | None = None,
                     without_rowid: bool = False) -> None:
        """CREATE TABLE IF NOT EXISTS from Python types (str, int, float); a single
        ``int`` primary key is an auto-increment id."""
        keys = (pk,) if isinstance(pk, str) else tuple(pk)
        defaults = defaults or {}
        parts: list[str] = []
        for col, kind in columns.items():
            if keys == (col,) and kind is int:
                parts.append(f"{quote(col)} {self.auto_id}")
                continue
            part = f"{quote(col)} {self.type_name(kind)}"
            if col in not_null:
                part += " NOT NULL"
            if col in defaults:
                value = defaults[col]
                part += f" DEFAULT {value}" if isinstance(value, int | float) else (
                    " DEFAULT '" + str(value).replace("'", "''") + "'")
            parts.append(part)
        if not (len(keys) == 1 and columns.get(keys[0]) is int):
            parts.append(f"PRIMARY KEY ({', '.join(quote(k) for k in keys)})")
        tail = " WITHOUT ROWID" if without_rowid and self.dialect == "sqlite" else ""
        self.ddl(f"CREATE TABLE IF NOT EXISTS {name} ({', '.join(parts)}){tail}")

    def create_index(self, table: str, columns: Sequence[str], *, unique: bool = False,
                     name: str | None = None) -> None:
        """CREATE INDEX IF NOT EXISTS, named as sqlite-utils names them (so a store it
        made is not indexed twice)."""
        name = name or f"idx_{table}_{'_'.join(columns)}"
        self.ddl(f"CREATE {'UNIQUE ' if unique else ''}INDEX IF NOT EXISTS {name} "
                 f"ON {table} ({', '.join(quote(c) for c in columns)})")

    def add_missing_columns(self, table: str, columns: Mapping[str, type]) -> None:
        """Columns added after a table was first made (two consoles may race to add
        one; the loser finds it there)."""
        have = self.columns(table)
        for name, kind in columns.items():
            if name in have:
                continue
            try:
                self.ddl(f"ALTER TABLE {table} ADD COLUMN {quote(name)} "
                         f"{self.type_name(kind)}")
            except self.Error:
                if name not in self.columns(table):
                    raise

    def ddl(self, sql: str) -> None:
        """A schema statement, safe to run by two consoles at once; run once per
        connection (modules ensure their tables before each write: on PostgreSQL that
        would be a locked round trip per poll)."""
        if sql in self._ddl_done:
            return
        self._ddl(sql)
        self._ddl_done.add(sql)

    @abstractmethod
    def _ddl(self, sql: str) -> None: ...

    auto_id: ClassVar[str]

    @abstractmethod
    def type_name(self, kind: type) -> str: ...


_QUOTED = {"user"}  # reserved in PostgreSQL: always written "user"


def quote(column: str) -> str:
    return f'"{column}"' if column in _QUOTED else column


class SqliteDb(Db):
    """The embedded store: one SQLite file (WAL) shared by the consoles on one host.
    ``sqlite`` is the sqlite-utils Database (older stores' migrations use it)."""

    dialect = "sqlite"
    Error = (sqlite3.Error,)
    auto_id = "INTEGER PRIMARY KEY"

    def __init__(self, sqlite: sqlite_utils.Database, path: Path | None = None) -> None:
        super().__init__()
        self.sqlite = sqlite
        self.path = path

    @classmethod
    def open(cls, path: Path | None) -> SqliteDb:
        """The file at ``path`` (created if needed; None: in memory). Raises sqlite3.Error
        or OSError."""
        if path is None:
            return cls(sqlite_utils.Database(memory=True))
        path.parent.mkdir(parents=True, exist_ok=True)
        # isolation_level=None: transactions are ours (BEGIN IMMEDIATE where it matters).
        conn = sqlite3.connect(path, timeout=5.0, check_same_thread=False,
                               isolation_level=None)
        db = sqlite_utils.Database(conn)
        _wal(db, timeout_s=5.0)
        return cls(db, path)

    @property
    def conn(self) -> sqlite3.Connection:
        return self.sqlite.conn

    def execute(self, sql: str, args: Args = ()) -> sqlite3.Cursor:
        with self.lock:
            return self.conn.execute(sql, args)

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        with self.lock:
            self.conn.executemany(sql, rows)

    @property
    def in_transaction(self) -> bool:
        return self.conn.in_transaction

    @contextmanager
    def transaction(self, *locks: str) -> Iterator[SqliteDb]:
        # BEGIN IMMEDIATE takes the file's write lock before anything is read: every
        # named lock at once, for every process on the host.
        with self.lock:
            conn = self.conn
            if conn.in_transaction:
                raise sqlite3.OperationalError("the store is inside another transaction")
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield self
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:  # SQLite may have rolled back already
                    conn.execute("ROLLBACK")
                raise

    def close(self) -> None:
        self.conn.close()

    def table_exists(self, name: str) -> bool:
        return self.sqlite.table(name).exists()

    def columns(self, table: str) -> set[str]:
        return {row[1] for row in self.conn.execute(f"PRAGMA table_info({table})")}

    def _ddl(self, sql: str) -> None:
        with self.lock:
            self.conn.execute(sql)

    def type_name(self, kind: type) -> str:
        # sqlite-utils' names, so a table it created and one made here look alike
        return {str: "TEXT", int: "INTEGER", float: "FLOAT"}[kind]


def _wal(db: sqlite_utils.Database, timeout_s: float) -> None:
    """Put the file in WAL mode. Switching does not wait on the busy handler (SQLite
    answers "database is locked" at once while another connection writes), so consoles
    starting together on a new file try again until ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            if db.journal_mode != "wal":
                db.enable_wal()
            return
        except sqlite3.OperationalError as err:
            if "locked" not in str(err) or time.monotonic() > deadline:
                raise
            time.sleep(0.02)


def open_db(location: Path | str | None) -> Db:
    """A ``postgresql://`` URL opens PgDb; a path (or None: in memory) SqliteDb. Raises
    the backend's ``Error`` or OSError."""
    if is_pg_url(location):
        from supervisor_tui.store.postgres import PgDb

        return PgDb.connect(str(location))
    return SqliteDb.open(None if location is None else Path(location))


def as_db(db: Db | sqlite_utils.Database) -> Db:
    """A Db for callers that still hand over a bare sqlite-utils Database."""
    return db if isinstance(db, Db) else SqliteDb(db)
