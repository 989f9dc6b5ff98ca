"""The audit log: append, verify, tamper detection, concurrent appenders."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlite_utils

from supervisor_tui.audit import (
    AUDIT,
    GENESIS,
    AuditError,
    AuditLog,
    Outcome,
    record_hash,
)
from supervisor_tui.store import Store, StoreError

T0 = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)
ROOT = Path(__file__).resolve().parent.parent


def fill(log: AuditLog, n: int = 5) -> list[dict]:
    return [log.append(user="ana", role="supervisor", action="reassign_contact",
                       subject=f"contact:c{i}", params={"to_queue": "support", "n": i},
                       outcome=Outcome.DONE, response="moved", ts=T0 + timedelta(minutes=i))
            for i in range(1, n + 1)]


def tamper(db: sqlite_utils.Database, sql: str, args: tuple = ()) -> None:
    """What someone with the file and the sqlite3 shell can do: drop the guards, edit."""
    db.conn.executescript(f"DROP TRIGGER {AUDIT}_no_update; DROP TRIGGER {AUDIT}_no_delete;")
    db.conn.execute(sql, args)
    db.conn.commit()


@pytest.fixture
def log() -> AuditLog:
    return AuditLog(sqlite_utils.Database(memory=True))


def test_append_returns_the_stored_record_and_verifies(log: AuditLog) -> None:
    first = log.append(user="ana", role="supervisor", action="take_escalation",
                       subject="escalation:queue-sl:sales", outcome="allowed",
                       params={"note": "on it — ça va"}, ts=T0)
    assert first["id"] == 1 and first["prev_hash"] == GENESIS
    assert first["ts"] == "2026-11-22T10:00:00.000000+00:00"
    assert first["params"] == {"note": "on it — ça va"} and first["response"] is None
    second = log.append(user="bo", role="viewer", action="reassign_contact",
                        subject="contact:c1", outcome=Outcome.REFUSED,
                        response="viewers cannot reassign")
    assert second["prev_hash"] == first["hash"] and second["params"] == {}
    assert log.records() == [first, second]
    result = log.verify()
    assert (result.ok, result.checked, result.first_bad_id) == (True, 2, None)
    assert result.last_hash == second["hash"]


def test_exported_records_can_be_checked_without_the_database(log: AuditLog) -> None:
    for record in fill(log, 3):
        assert record_hash(record) == record["hash"]  # params as a dict
    row = next(iter(log.db.query(f"select * from {AUDIT} where id = 2")))
    assert record_hash(row) == row["hash"]  # params as stored text


def test_records_since(log: AuditLog) -> None:
    fill(log, 5)
    assert [r["id"] for r in log.records(since=T0 + timedelta(minutes=3))] == [3, 4, 5]
    # Another zone, same instant
    later = (T0 + timedelta(minutes=4)).astimezone(
        __import__("zoneinfo").ZoneInfo("America/New_York"))
    assert [r["id"] for r in log.records(since=later)] == [4, 5]


def test_bad_input_is_refused(log: AuditLog) -> None:
    with pytest.raises(ValueError):
        log.append(user="a", role="r", action="x", subject="s", outcome="maybe")
    with pytest.raises(ValueError, match="timezone"):
        log.append(user="a", role="r", action="x", subject="s", outcome="done",
                   ts=datetime(2026, 1, 1))
    assert log.records() == []


def test_the_table_refuses_updates_and_deletes(log: AuditLog) -> None:
    fill(log, 2)
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        log.db.execute(f"update {AUDIT} set user = 'mallory' where id = 1")
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        log.db.execute(f"delete from {AUDIT} where id = 2")


def test_an_edited_row_is_detected(log: AuditLog) -> None:
    fill(log, 5)
    tamper(log.db, f"update {AUDIT} set outcome = 'refused' where id = 3")
    result = log.verify()
    assert (result.ok, result.checked, result.first_bad_id) == (False, 2, 3)
    assert "edited" in result.reason


def test_an_edited_params_text_is_detected(log: AuditLog) -> None:
    fill(log, 3)
    tamper(log.db, f"update {AUDIT} set params = ? where id = 2", ('{"n":2,"to_queue":"x"}',))
    assert log.verify().first_bad_id == 2


def test_a_deleted_row_is_detected(log: AuditLog) -> None:
    fill(log, 5)
    tamper(log.db, f"delete from {AUDIT} where id = 3")
    result = log.verify()
    assert (result.ok, result.first_bad_id) == (False, 4)
    assert "missing" in result.reason


def test_a_deleted_tail_is_detected_and_new_appends_do_not_hide_it(log: AuditLog) -> None:
    fill(log, 5)
    tamper(log.db, f"delete from {AUDIT} where id >= 4")
    result = log.verify()
    assert (result.ok, result.checked, result.first_bad_id) == (False, 3, 4)
    assert "gone" in result.reason
    log.append(user="ana", role="supervisor", action="x", subject="s", outcome="done")
    assert log.verify().first_bad_id == 6  # the gap stays visible


def test_reordered_rows_are_detected(log: AuditLog) -> None:
    fill(log, 5)
    # Swap the contents of rows 2 and 3, keeping the ids in order.
    tamper(log.db, f"update {AUDIT} set id = -2 where id = 2")
    log.db.execute(f"update {AUDIT} set id = 2 where id = 3")
    log.db.execute(f"update {AUDIT} set id = 3 where id = -2")
    log.db.conn.commit()
    result = log.verify()
    assert (result.ok, result.first_bad_id) == (False, 2)


def test_a_rewritten_and_rehashed_row_is_detected_by_the_next(log: AuditLog) -> None:
    records = fill(log, 5)
    forged = dict(records[1], user="mallory")
    forged["hash"] = record_hash(forged)
    tamper(log.db, f"update {AUDIT} set user = ?, hash = ? where id = 2",
           ("mallory", forged["hash"]))
    result = log.verify()
    assert (result.ok, result.checked, result.first_bad_id) == (False, 1, 2)
    assert "row 3 records a different hash for row 2" in result.reason
    assert result.last_hash == records[0]["hash"]


def test_a_replaced_first_row_is_detected(log: AuditLog) -> None:
    fill(log, 2)
    tamper(log.db, f"update {AUDIT} set prev_hash = ? where id = 1", ("f" * 64,))
    # Its own hash now fails first; rehashing it moves the blame to the link.
    assert log.verify().first_bad_id == 1


def test_rewriting_the_whole_tail_changes_the_last_hash(log: AuditLog) -> None:
    """What a chain alone cannot catch, and why last_hash is worth recording elsewhere."""
    records = fill(log, 3)
    anchored = log.verify().last_hash
    forged = dict(records[2], response="never happened")
    forged["hash"] = record_hash(forged)
    tamper(log.db, f"update {AUDIT} set response = ?, hash = ? where id = 3",
           (forged["response"], forged["hash"]))
    result = log.verify()
    assert result.ok and result.last_hash != anchored


def test_two_connections_interleaved_keep_one_chain(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    a = AuditLog(sqlite_utils.Database(path))
    b = AuditLog(sqlite_utils.Database(path))
    for i in range(20):
        (a if i % 2 else b).append(user=f"u{i % 2}", role="supervisor", action="x",
                                   subject=str(i), outcome="done")
    for log in (a, b):
        result = log.verify()
        assert (result.ok, result.checked) == (True, 20)
    assert [r["subject"] for r in a.records()] == [str(i) for i in range(20)]


def test_threads_sharing_one_connection(tmp_path: Path) -> None:
    store = Store.open(tmp_path / "s.db")  # one connection, check_same_thread=False
    log = AuditLog(store.db)

    def work(name: str) -> None:
        for i in range(40):
            log.append(user=name, role="supervisor", action="x", subject=str(i),
                       outcome="done")

    threads = [threading.Thread(target=work, args=(n,)) for n in ("t1", "t2")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert (log.verify().ok, log.verify().checked) == (True, 80)


APPENDER = """
import sys, time
from pathlib import Path
import sqlite_utils
from supervisor_tui.audit import AuditLog
from supervisor_tui.store import Store
path, name, n, go = sys.argv[1], sys.argv[2], int(sys.argv[3]), Path(sys.argv[4])
log = AuditLog(Store.open(path).db)
while not go.exists():
    time.sleep(0.005)
for i in range(n):
    log.append(user=name, role="supervisor", action="x", subject=str(i), outcome="done")
    time.sleep(0.002)  # let the other process in: without it one may starve the other
"""


def test_two_processes_appending_at_once_never_fork_the_chain(tmp_path: Path) -> None:
    path, go = tmp_path / "s.db", tmp_path / "go"
    Store.open(path).close()  # create it (WAL) before the race
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    procs = [subprocess.Popen([sys.executable, "-c", APPENDER, str(path), name, "60", str(go)],
                              env=env, stderr=subprocess.PIPE, text=True)
             for name in ("p1", "p2")]
    go.touch()
    for proc in procs:
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
    log = AuditLog(Store.open(path).db)
    result = log.verify()
    assert (result.ok, result.checked) == (True, 120), result.reason
    records = log.records()
    assert [r["id"] for r in records] == list(range(1, 121))
    users = [r["user"] for r in records]
    assert users.count("p1") == users.count("p2") == 60
    assert "p2" in users[:60] and "p1" in users[60:], "the appends should have raced"
    # Each process's own records stay in its order.
    for name in ("p1", "p2"):
        assert [r["subject"] for r in records if r["user"] == name] == [
            str(i) for i in range(60)]


def test_no_append_inside_someone_elses_transaction(log: AuditLog) -> None:
    log.db.conn.execute("create table other (x)")
    log.db.conn.execute("insert into other values (1)")  # opens an implicit transaction
    with pytest.raises(AuditError, match="inside another transaction"):
        log.append(user="a", role="r", action="x", subject="s", outcome="done")
    assert isinstance(AuditError("x"), StoreError)  # callers catching StoreError get it too


def test_shares_the_store_database(tmp_path: Path) -> None:
    store = Store.open(tmp_path / "s.db")
    log = AuditLog(store.db)
    fill(log, 2)
    store.record_history([{"ts": T0.isoformat(), "queue_id": "sales", "service_level": 0.8,
                           "waiting": 1, "longest_wait_s": 3.0, "offered": 1,
                           "answered": 1, "abandoned": 0}])
    fill(log, 1)
    store.close()
    again = AuditLog(Store.open(tmp_path / "s.db").db)  # schema creation is idempotent
    assert again.verify().checked == 3
