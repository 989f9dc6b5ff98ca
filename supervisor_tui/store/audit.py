"""The audit log: append-only and tamper-evident, in the store's SQLite file.

Every action attempt (allowed, refused, failed or done) is one row. Each row carries
``prev_hash`` (the previous row's hash) and ``hash`` = sha256 over a canonical JSON of
its own fields and ``prev_hash``, so editing, deleting, inserting or reordering rows
breaks the chain at that point and ``verify`` names the first bad row.

What a hash chain cannot show on its own: someone able to write the file can rewrite
the whole tail consistently, renumber after a delete, or cut the tail off. Triggers
refuse UPDATE and DELETE (against accidents, not attackers) and ``verify`` checks the
ids are gapless and agree with SQLite's AUTOINCREMENT counter, but all of that lives in
the same file. Two anchors outside the store close the gap (``[audit]`` in the config):

- ``key_file``: an HMAC key the store does not hold. Every record also carries
  ``mac`` = HMAC-SHA256(key, hash), so a rewritten, rehashed or renumbered record
  cannot be made to verify without the key. The file is created (0600) on first use;
  its optional second line ``from-id N`` says which record is the first keyed one.
- ``anchor_file``: an append-only text file, one JSON line (id, hash, mac) per record,
  written right after each commit. Since each hash covers the previous one, the
  newest anchored line pins every record up to it: a truncated log, a rewritten or
  renumbered range, and a rebuilt chain all stop matching it. Make it ``chattr +a`` or
  ship it off the host (syslog) so whoever can write the store cannot rewrite it.

Each record also carries the OS ``uid`` and ``host`` of the process that wrote it (in
the hash), so a name is never the only evidence of who acted.

Appends run in one write transaction that takes the log's lock before the previous
hash is read (SQLite: ``BEGIN IMMEDIATE``; PostgreSQL: an advisory lock, and the
``audit_log_head`` counter row, which also plays SQLite's AUTOINCREMENT counter), so two
consoles appending at once — on one host or many — queue up instead of forking the
chain. On PostgreSQL triggers refuse UPDATE, DELETE and TRUNCATE in the same spirit.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
import socket
import threading
from collections.abc import Generator, Iterator, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

import sqlite_utils

from supervisor_tui.store import StoreError
from supervisor_tui.store.backend import Db, as_db, first_line, quote

AUDIT = "audit_log"
GENESIS = "0" * 64  # prev_hash of the first row
# Hashed, in this order of meaning (the JSON is key-sorted anyway).
HASHED = ("id", "ts", "user", "role", "action", "subject", "params", "outcome", "response",
          "prev_hash")
# Hashed when present: records written before these columns existed have NULL there and
# keep verifying; blanking them in a newer record changes its hash.
HASHED_IF_SET = ("uid", "host")


class AuditError(StoreError):
    """The audit log cannot be read or written; the message is for humans."""


class _AnchorTampered(AuditError):
    """The anchor file itself was edited: a verify failure, not a read error."""


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
    # Not tampering, but short of proof: rows before the key or the anchor existed,
    # rows the anchor has not seen yet. Say them next to "intact".
    warnings: tuple[str, ...] = ()
    macs_checked: int = 0  # rows whose MAC was checked against the key
    anchored_to: int | None = None  # the newest anchored row, matched (None: no anchor)
    # The oldest anchored row: an anchor file that starts late was started on an existing
    # log, or deleted and started again (which only an append-only file prevents).
    anchored_from: int | None = None

    @property
    def proven(self) -> str:
        """What an intact result shows, in words (for the CLI and the audit screen)."""
        said = [f"{self.checked} record(s), hash chain intact"]
        if self.macs_checked:
            said.append(f"{self.macs_checked} MAC(s) valid")
        if self.anchored_to:
            said.append(f"matches the anchor file up to record {self.anchored_to}")
            if self.anchored_from and self.anchored_from > 1:
                said[-1] += f" (which starts at record {self.anchored_from})"
        return ", ".join(said)


def canonical_params(params: Mapping[str, Any] | None) -> str:
    """The one JSON text for ``params``: sorted keys, no spaces, UTF-8 kept as is."""
    return json.dumps(dict(params or {}), sort_keys=True, separators=(",", ":"),
                      ensure_ascii=False, default=str)


def record_hash(record: Mapping[str, Any]) -> str:
    """sha256 of a record's hashed fields; ``params`` as stored text or as a mapping
    (so an exported record can be checked without the database)."""
    fields = {name: record.get(name) for name in HASHED}
    fields.update({name: record[name] for name in HASHED_IF_SET
                   if record.get(name) is not None})
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
    hash TEXT NOT NULL,
    uid INTEGER,
    host TEXT,
    mac TEXT
);
CREATE INDEX IF NOT EXISTS {AUDIT}_ts ON {AUDIT} (ts);
CREATE TRIGGER IF NOT EXISTS {AUDIT}_no_update BEFORE UPDATE ON {AUDIT}
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER IF NOT EXISTS {AUDIT}_no_delete BEFORE DELETE ON {AUDIT}
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
"""


HEAD = "audit_log_head"  # PostgreSQL: the highest id ever written (SQLite: sqlite_sequence)
_PG_SCHEMA = (
    f"""CREATE TABLE IF NOT EXISTS {AUDIT} (id BIGINT PRIMARY KEY, ts TEXT NOT NULL,
    "user" TEXT NOT NULL, role TEXT NOT NULL, action TEXT NOT NULL, subject TEXT NOT NULL,
    params TEXT NOT NULL, outcome TEXT NOT NULL, response TEXT, prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL, uid INTEGER, host TEXT, mac TEXT)""",
    f"CREATE INDEX IF NOT EXISTS {AUDIT}_ts ON {AUDIT} (ts)",
    f"CREATE TABLE IF NOT EXISTS {HEAD} (one INTEGER PRIMARY KEY CHECK (one = 1),"
    " high BIGINT NOT NULL)",
    f"INSERT INTO {HEAD} (one, high) VALUES (1, 0) ON CONFLICT DO NOTHING",
)
# The guards, made once (by the tables' owner: a console's role may not own them).
_PG_GUARDS = (
    f"""CREATE OR REPLACE FUNCTION {AUDIT}_append_only() RETURNS trigger LANGUAGE plpgsql
    AS $$ BEGIN RAISE EXCEPTION 'the audit log is append-only'; END $$""",
    f"CREATE OR REPLACE TRIGGER {AUDIT}_no_change BEFORE UPDATE OR DELETE ON {AUDIT}"
    f" FOR EACH ROW EXECUTE FUNCTION {AUDIT}_append_only()",
    f"CREATE OR REPLACE TRIGGER {AUDIT}_no_truncate BEFORE TRUNCATE ON {AUDIT}"
    f" FOR EACH STATEMENT EXECUTE FUNCTION {AUDIT}_append_only()",
)

# Columns added after the first release: added to older stores on open.
_ADDED_COLUMNS: dict[str, type] = {"uid": int, "host": str, "mac": str}


def mac_of(key: bytes, record_hash_hex: str) -> str:
    return hmac.new(key, record_hash_hex.encode("ascii"), hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class AuditKey:
    """The HMAC key from ``key_file``, and the first record id it covers."""

    secret: bytes
    from_id: int = 1

    @classmethod
    def load(cls, path: Path, *, create: bool, next_id: int = 1) -> AuditKey:
        """Read ``path``; if absent and ``create``, make one (0600) covering records
        from ``next_id`` on. Raises AuditError."""
        try:
            text = path.read_text(encoding="ascii")
        except FileNotFoundError:
            if not create:
                raise AuditError(f"audit key file {path} does not exist") from None
            return cls._create(path, next_id)
        except (OSError, UnicodeDecodeError) as err:
            raise AuditError(f"cannot read the audit key file {path}: {err}") from None
        lines = [line.strip() for line in text.splitlines() if line.strip()]
        try:
            secret = bytes.fromhex(lines[0]) if lines else b""
            from_id = 1
            for line in lines[1:]:
                word, _, value = line.partition(" ")
                if word == "from-id":
                    from_id = int(value)
        except ValueError:
            raise AuditError(f"audit key file {path}: expected a hex key on the first line "
                             "and optionally 'from-id N' on the second") from None
        if len(secret) < 16:
            raise AuditError(f"audit key file {path}: the key must be at least 16 bytes "
                             "(32 hex digits); e.g. `openssl rand -hex 32`")
        return cls(secret, from_id)

    @classmethod
    def _create(cls, path: Path, next_id: int) -> AuditKey:
        key = cls(secrets.token_bytes(32), next_id)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another console made it first: use theirs
            return cls.load(path, create=False)
        except OSError as err:
            raise AuditError(f"cannot create the audit key file {path}: {err}") from None
        with os.fdopen(fd, "w", encoding="ascii") as out:
            out.write(f"{key.secret.hex()}\nfrom-id {next_id}\n")
        return key


class AuditLog:
    """The audit table of one database connection (share the Store's ``db``).

    ``key_file`` / ``anchor_file``: see the module docstring. ``create`` lets a missing
    key file be made and a missing anchor file be started (consoles, which write);
    ``audit --verify`` passes False so that checking never invents its own evidence.
    """

    def __init__(self, db: Db | sqlite_utils.Database, lock: threading.Lock | None = None, *,
                 key_file: Path | None = None, anchor_file: Path | None = None,
                 create: bool = True) -> None:
        self.db = as_db(db)
        self.key_file, self.anchor_file = key_file, anchor_file
        self.uid = os.getuid()
        self.host = socket.gethostname()
        # One connection may be shared by threads (check_same_thread=False): keep each
        # append's transaction whole. Pass the lock the connection's other writers use,
        # or their statements can land inside (or block) an append. Other processes
        # are kept out by BEGIN IMMEDIATE.
        self._lock = lock or threading.Lock()
        try:
            with self._lock:
                if self.db.dialect == "sqlite":
                    self.db.conn.executescript(_SCHEMA)
                    self.db.add_missing_columns(AUDIT, _ADDED_COLUMNS)
                else:
                    for statement in _PG_SCHEMA:
                        self.db.ddl(statement)
                    if not self.db.execute(
                            "SELECT 1 FROM pg_trigger WHERE tgrelid = to_regclass(?) AND"
                            " tgname = ?", [AUDIT, f"{AUDIT}_no_truncate"]).fetchone():
                        for statement in _PG_GUARDS:
                            self.db.ddl(statement)
                head = self._head()
        except self.db.Error as err:
            raise AuditError(f"cannot create the audit log: {first_line(err)}") from None
        self.key = (AuditKey.load(key_file, create=create, next_id=head[0] + 1)
                    if key_file is not None else None)
        if anchor_file is not None and create and not anchor_file.exists() and head[0]:
            # Start the anchor at today's head: it pins everything written so far.
            self._anchor(head[0], head[1], self._mac(head[0], head[1]))

    @classmethod
    def for_config(cls, db: Db | sqlite_utils.Database, audit: Any,
                   lock: threading.Lock | None = None, *, create: bool = True) -> AuditLog:
        """With the key and anchor files of an ``[audit]`` section (config.AuditConfig)."""
        return cls(db, lock, key_file=audit.key_file, anchor_file=audit.anchor_file,
                   create=create)

    def _head(self) -> tuple[int, str]:
        """(id, hash) of the newest row, or (0, GENESIS)."""
        last = self.db.execute(
            f"SELECT id, hash FROM {AUDIT} ORDER BY id DESC LIMIT 1").fetchone()
        return (last[0], last[1]) if last else (0, GENESIS)

    def _high(self, db: Db) -> int:
        """The highest id ever written (a deleted tail row leaves it behind)."""
        if db.dialect == "sqlite":
            seq = db.execute("SELECT seq FROM sqlite_sequence WHERE name = ?",
                             [AUDIT]).fetchone()
        else:
            seq = db.execute(f"SELECT high FROM {HEAD}").fetchone()
        return int(seq[0]) if seq else 0

    def _mac(self, rid: int, digest: str) -> str | None:
        if self.key is None or rid < self.key.from_id:
            return None
        return mac_of(self.key.secret, digest)

    def _anchor(self, rid: int, digest: str, mac: str | None) -> None:
        assert self.anchor_file is not None
        line = {"id": rid, "hash": digest, **({"mac": mac} if mac else {})}
        data = (json.dumps(line, separators=(",", ":")) + "\n").encode("ascii")
        try:
            self.anchor_file.parent.mkdir(parents=True, exist_ok=True)
            # O_APPEND: one short write lands whole at the end, whoever else appends.
            fd = os.open(self.anchor_file, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
            try:
                os.write(fd, data)
            finally:
                os.close(fd)
        except OSError as err:
            raise AuditError(f"record {rid} written, but the anchor file "
                             f"{self.anchor_file} could not be: {err}") from None

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
            "uid": self.uid,
            "host": self.host,
        }
        db = self.db
        with self._lock:
            if db.in_transaction:
                # Joining someone else's transaction would make our chain link depend on
                # their commit or rollback: refuse loudly rather than fork or lose it.
                raise AuditError("cannot append to the audit log inside another transaction")
            try:
                with db.transaction(AUDIT):  # one writer order, across hosts
                    last = db.execute(
                        f"SELECT id, hash FROM {AUDIT} ORDER BY id DESC LIMIT 1").fetchone()
                    # Next id from the counter, so a deleted tail row is a visible gap
                    # rather than a reused id.
                    record["id"] = max(self._high(db), last[0] if last else 0) + 1
                    record["prev_hash"] = last[1] if last else GENESIS
                    record["hash"] = record_hash(record)
                    record["mac"] = self._mac(record["id"], record["hash"])
                    columns = ", ".join(quote(c) for c in record)
                    db.execute(
                        f"INSERT INTO {AUDIT} ({columns}) VALUES "
                        f"({', '.join('?' * len(record))})", list(record.values()))
                    if db.dialect != "sqlite":  # (SQLite's AUTOINCREMENT counter moves itself)
                        db.execute(f"UPDATE {HEAD} SET high = ? WHERE high < ?",
                                   [record["id"], record["id"]])
            except db.Error as err:
                raise AuditError(f"cannot write the audit log: {first_line(err)}") from None
            if self.anchor_file is not None:  # after the commit: never anchor a rollback
                self._anchor(record["id"], record["hash"], record["mac"])
        return _decoded(record)

    def records(self, since: datetime | None = None) -> list[dict[str, Any]]:
        """Records in chain order, those at or after ``since`` if given."""
        sql, args = f"SELECT * FROM {AUDIT}", []
        if since is not None:
            sql += " WHERE ts >= ?"
            args.append(_utc_iso(since))
        try:
            return [_decoded(row) for row in self.db.query(sql + " ORDER BY id", args)]
        except self.db.Error as err:
            raise AuditError(f"cannot read the audit log: {first_line(err)}") from None

    def verify(self) -> VerifyResult:
        """Walk the chain from the first row; stop at the first inconsistency."""
        try:
            with self._lock, self.db.lock:
                # The counter first: an append landing between the two reads then shows
                # as one row more than counted (harmless), never as a missing row.
                high = self._high(self.db)
                try:
                    anchor, first = self._read_anchor()
                except _AnchorTampered as err:
                    return VerifyResult(False, 0, None, str(err))
                rows = self._rows()
                try:
                    result = self._walk(rows, high, self.key, anchor)
                finally:
                    rows.close()  # release the read at once, even when stopping early
        except self.db.Error as err:
            raise AuditError(f"cannot read the audit log: {first_line(err)}") from None
        return replace(result, anchored_from=first) if first else result

    def _read_anchor(self) -> tuple[tuple[int, str] | None, int | None]:
        """The newest (id, hash) in the anchor file (None when none is configured), and
        the oldest id in it."""
        if self.anchor_file is None:
            return None, None
        try:
            text = self.anchor_file.read_text(encoding="ascii")
        except FileNotFoundError:
            return (0, GENESIS), None  # configured but absent: any row in the log fails
        except (OSError, UnicodeDecodeError) as err:
            raise AuditError(f"cannot read the anchor file {self.anchor_file}: {err}"
                             ) from None
        best, first = (0, GENESIS), None
        for number, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            try:
                entry = json.loads(line)
                rid, digest = int(entry["id"]), str(entry["hash"])
            except (ValueError, KeyError, TypeError):
                raise _AnchorTampered(f"anchor file {self.anchor_file} line {number} is "
                                      "not an anchor (edited?)") from None
            expected = self._mac(rid, digest)
            if expected is not None and not hmac.compare_digest(
                    str(entry.get("mac", "")), expected):
                raise _AnchorTampered(f"anchor file {self.anchor_file} line {number} has a "
                                      "wrong MAC (forged?)")
            if rid > best[0]:
                best = (rid, digest)
            first = rid if first is None else min(first, rid)
        return best, first

    @staticmethod
    def _walk(rows: Iterator[dict[str, Any]], high: int, key: AuditKey | None = None,
              anchor: tuple[int, str] | None = None) -> VerifyResult:
        checked, prev_id, prev_hash, older_hash = 0, 0, GENESIS, GENESIS
        anchor_id, anchor_hash = anchor or (0, GENESIS)
        warnings: list[str] = []
        unkeyed = macs = 0  # rows with no MAC before the key's first id; MACs checked
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
            if key is not None:
                if rid < key.from_id:
                    unkeyed += 1
                elif not row.get("mac") or not hmac.compare_digest(
                        row["mac"], mac_of(key.secret, row["hash"])):
                    what = "has no MAC" if not row.get("mac") else "has a wrong MAC"
                    return VerifyResult(False, checked, rid, f"row {rid} {what} (rewritten "
                                        "by someone without the key?)", prev_hash)
                else:
                    macs += 1
            if rid == anchor_id and row["hash"] != anchor_hash:
                return VerifyResult(False, checked, rid, f"row {rid} differs from the hash "
                                    "the anchor file recorded for it (rewritten, renumbered "
                                    "or rebuilt?)", prev_hash)
            checked, prev_id = checked + 1, rid
            older_hash, prev_hash = prev_hash, row["hash"]
        if anchor_id > prev_id:
            return VerifyResult(False, checked, prev_id + 1, f"the anchor file records row "
                                f"{anchor_id} but the log ends at row {prev_id} (truncated?)",
                                prev_hash)
        if high > prev_id:
            return VerifyResult(False, checked, prev_id + 1, f"rows {prev_id + 1}..{high} "
                                "were written and are gone (deleted?)", prev_hash)
        if unkeyed:
            warnings.append(f"rows 1..{unkeyed} were written before the audit key and "
                            "carry no MAC")
        if anchor is not None and prev_id > anchor_id:
            if not anchor_id:
                return VerifyResult(False, checked, 1, f"the anchor file is missing or empty "
                                    f"but the log has {prev_id} row(s) (deleted? a console "
                                    "with [audit] anchor_file starts it)", prev_hash)
            warnings.append(f"rows {anchor_id + 1}..{prev_id} are not in the anchor file "
                            "(written by a console without it, or its write failed)")
        return VerifyResult(True, checked, None, f"{checked} record(s) intact", prev_hash,
                            tuple(warnings), macs, anchor_id if anchor is not None else None)

    def _rows(self) -> Generator[dict[str, Any], None, None]:  # closed early by verify
        # Streamed: one SELECT is one consistent read, and the log may be long.
        cursor = self.db.execute(f"SELECT * FROM {AUDIT} ORDER BY id")
        names = [d[0] for d in cursor.description]
        for row in cursor:
            yield dict(zip(names, row, strict=True))


def _decoded(row: Mapping[str, Any]) -> dict[str, Any]:
    record = dict(row)
    record["params"] = json.loads(record["params"])
    return record
