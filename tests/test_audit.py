"""The audit log: append, verify, tamper detection, concurrent appenders."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlite_utils

from supervisor_tui.store import Store, StoreError
from supervisor_tui.store.audit import (
    AUDIT,
    GENESIS,
    AuditError,
    AuditLog,
    Outcome,
    record_hash,
)

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


def test_two_connections_interleaved_keep_one_chain(store_at: Path | str) -> None:
    a = AuditLog(Store.open(store_at).db)
    b = AuditLog(Store.open(store_at).db)
    for i in range(20):
        (a if i % 2 else b).append(user=f"u{i % 2}", role="supervisor", action="x",
                                   subject=str(i), outcome="done")
    for log in (a, b):
        result = log.verify()
        assert (result.ok, result.checked) == (True, 20)
    assert [r["subject"] for r in a.records()] == [str(i) for i in range(20)]


def test_threads_sharing_one_connection(store_at: Path | str) -> None:
    store = Store.open(store_at)  # one connection, check_same_thread=False
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
from supervisor_tui.store.audit import AuditLog
from supervisor_tui.store import Store
path, name, n, go = sys.argv[1], sys.argv[2], int(sys.argv[3]), Path(sys.argv[4])
log = AuditLog(Store.open(path).db)
while not go.exists():
    time.sleep(0.005)
for i in range(n):
    log.append(user=name, role="supervisor", action="x", subject=str(i), outcome="done")
    time.sleep(0.002)  # let the other process in: without it one may starve the other
"""


def test_two_processes_appending_at_once_never_fork_the_chain(tmp_path: Path,
                                                              store_at: Path | str) -> None:
    path, go = store_at, tmp_path / "go"
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


def test_shares_the_store_database(store_at: Path | str) -> None:
    store = Store.open(store_at)
    log = AuditLog(store.db)
    fill(log, 2)
    store.record_history([{"ts": T0.isoformat(), "queue_id": "sales", "service_level": 0.8,
                           "waiting": 1, "longest_wait_s": 3.0, "offered": 1,
                           "answered": 1, "abandoned": 0}])
    fill(log, 1)
    store.close()
    again = AuditLog(Store.open(store_at).db)  # schema creation is idempotent
    assert again.verify().checked == 3


# -- anchored outside the store: what a chain alone cannot catch ---------------------------


def rehash_from(db: sqlite_utils.Database, first_id: int) -> None:
    """What a careful attacker with the file does after an edit: recompute every hash
    from ``first_id`` on, so the chain in the file is consistent again."""
    prev = (db.conn.execute(f"select hash from {AUDIT} where id = ?", [first_id - 1])
            .fetchone() or [GENESIS])[0]
    for row in list(db.query(f"select * from {AUDIT} where id >= ? order by id", [first_id])):
        row["prev_hash"] = prev
        prev = record_hash(row)
        db.conn.execute(f"update {AUDIT} set prev_hash = ?, hash = ? where id = ?",
                        [row["prev_hash"], prev, row["id"]])
    db.conn.commit()


def edit_and_rehash_tail(db: sqlite_utils.Database) -> None:
    tamper(db, f"update {AUDIT} set user = 'mallory', response = 'never happened' "
           f"where id = (select max(id) from {AUDIT})")
    rehash_from(db, db.conn.execute(f"select max(id) from {AUDIT}").fetchone()[0])


def delete_and_renumber(db: sqlite_utils.Database) -> None:
    tamper(db, f"delete from {AUDIT} where id = 3")
    db.conn.execute(f"update {AUDIT} set id = id - 1 where id > 3")
    db.conn.execute("update sqlite_sequence set seq = (select max(id) from audit_log) "
                    "where name = 'audit_log'")
    db.conn.commit()
    rehash_from(db, 3)


def truncate(db: sqlite_utils.Database) -> None:
    tamper(db, f"delete from {AUDIT} where id > 3")
    db.conn.execute("update sqlite_sequence set seq = 3 where name = 'audit_log'")
    db.conn.commit()


ATTACKS = {"edit-and-rehash-tail": edit_and_rehash_tail,
           "delete-and-renumber": delete_and_renumber, "truncate": truncate}


@pytest.mark.parametrize("attack", ATTACKS)
def test_without_an_anchor_a_careful_edit_goes_unseen(tmp_path: Path, attack: str) -> None:
    """Why the anchors exist: each attack leaves a chain that checks out on its own."""
    log = AuditLog(Store.open(tmp_path / "s.db").db)
    fill(log, 6)
    ATTACKS[attack](log.db)
    assert log.verify().ok


@pytest.mark.parametrize("attack", ATTACKS)
def test_the_anchor_file_and_key_catch_every_careful_edit(tmp_path: Path, attack: str) -> None:
    key, anchor = tmp_path / "keys" / "audit.key", tmp_path / "anchor" / "audit.anchor"
    log = AuditLog(Store.open(tmp_path / "s.db").db, key_file=key, anchor_file=anchor)
    fill(log, 6)
    good = log.verify()
    assert (good.ok, good.macs_checked, good.anchored_to, good.warnings) == (True, 6, 6, ())
    assert key.stat().st_mode & 0o777 == 0o600  # created on first use, owner only
    assert len(anchor.read_text().splitlines()) == 6
    ATTACKS[attack](log.db)
    # A verifier that did not write (create=False), as `audit --verify` opens it.
    result = AuditLog(Store.open(tmp_path / "s.db").db, key_file=key, anchor_file=anchor,
                      create=False).verify()
    assert not result.ok, attack
    # Each anchor alone is enough for this attack, except truncation, which only the
    # anchor file sees (a key cannot show that rows that verified are now gone).
    only_anchor = AuditLog(log.db, anchor_file=anchor, create=False).verify()
    assert not only_anchor.ok, attack
    only_key = AuditLog(log.db, key_file=key, create=False).verify()
    assert only_key.ok is (attack == "truncate"), (attack, only_key.reason)


def test_what_each_attack_is_reported_as(tmp_path: Path) -> None:
    reasons = {}
    for attack, do in ATTACKS.items():
        base = tmp_path / attack
        log = AuditLog(Store.open(base / "s.db").db, key_file=base / "k",
                       anchor_file=base / "a")
        fill(log, 6)
        do(log.db)
        reasons[attack] = log.verify().reason
    assert "row 6 has a wrong MAC" in reasons["edit-and-rehash-tail"]
    assert "row 3 has a wrong MAC" in reasons["delete-and-renumber"]
    assert "anchor file records row 6 but the log ends at row 3 (truncated?)" in \
        reasons["truncate"]


def test_a_deleted_or_edited_anchor_file_is_detected(tmp_path: Path) -> None:
    anchor, key = tmp_path / "a", tmp_path / "k"
    log = AuditLog(Store.open(tmp_path / "s.db").db, key_file=key, anchor_file=anchor)
    fill(log, 3)
    lines = anchor.read_text().splitlines()
    forged = json.loads(lines[2])
    forged["hash"] = "f" * 64  # someone with the anchor file but not the key
    anchor.write_text("\n".join([*lines[:2], json.dumps(forged)]) + "\n")
    assert "line 3 has a wrong MAC (forged?)" in log.verify().reason
    anchor.write_text("\n".join([*lines[:2], "garbage"]) + "\n")
    assert "line 3 is not an anchor (edited?)" in log.verify().reason
    anchor.unlink()
    result = log.verify()
    assert not result.ok and "anchor file is missing" in result.reason


def test_records_carry_uid_and_host_in_the_hash(log: AuditLog) -> None:
    first = log.append(user="ana", role="supervisor", action="x", subject="s", outcome="done")
    assert first["uid"] == os.getuid() and first["host"] == __import__("socket").gethostname()
    tamper(log.db, f"update {AUDIT} set uid = 4242 where id = 1")
    assert not log.verify().ok  # which account acted is part of what the hash proves


def test_an_older_store_keeps_verifying_and_the_key_covers_what_follows(tmp_path: Path) -> None:
    """A store from before uid/host/mac (the old schema, old hashes) is upgraded in place;
    a key configured later covers the records from then on, and says so."""
    path = tmp_path / "old.db"
    old = sqlite_utils.Database(path)
    old.conn.executescript(f"""CREATE TABLE {AUDIT} (id INTEGER PRIMARY KEY AUTOINCREMENT,
        ts TEXT NOT NULL, user TEXT NOT NULL, role TEXT NOT NULL, action TEXT NOT NULL,
        subject TEXT NOT NULL, params TEXT NOT NULL, outcome TEXT NOT NULL, response TEXT,
        prev_hash TEXT NOT NULL, hash TEXT NOT NULL);""")
    prev = GENESIS
    for i in (1, 2):
        row = {"id": i, "ts": T0.isoformat(), "user": "ana", "role": "supervisor",
               "action": "x", "subject": str(i), "params": "{}", "outcome": "done",
               "response": None, "prev_hash": prev}
        row["hash"] = prev = record_hash(row)
        old[AUDIT].insert(row)
    log = AuditLog(Store.open(path).db, key_file=tmp_path / "k", anchor_file=tmp_path / "a")
    assert (tmp_path / "k").read_text().splitlines()[1] == "from-id 3"
    assert len((tmp_path / "a").read_text().splitlines()) == 1  # started at today's head
    fill(log, 2)
    result = log.verify()
    assert (result.ok, result.checked, result.macs_checked, result.anchored_to) == \
        (True, 4, 2, 4)
    assert result.proven == ("4 record(s), hash chain intact, 2 MAC(s) valid, matches the "
                             "anchor file up to record 4 (which starts at record 2)")
    assert result.warnings == ("rows 1..2 were written before the audit key and carry no MAC",)


def test_a_missing_key_is_refused_not_invented_when_checking(tmp_path: Path) -> None:
    db = Store.open(tmp_path / "s.db").db
    with pytest.raises(AuditError, match="does not exist"):
        AuditLog(db, key_file=tmp_path / "nope", create=False)
    assert not (tmp_path / "nope").exists()
    (tmp_path / "short").write_text("abcd\n")
    with pytest.raises(AuditError, match="at least 16 bytes"):
        AuditLog(db, key_file=tmp_path / "short")


async def test_the_audit_screen_verifies_against_the_anchors(tmp_path: Path) -> None:
    """L then v on a console configured with [audit]: says what was checked; after the
    tail is cut off behind its back, says TAMPERED."""
    from supervisor_tui.config import AuditConfig
    from supervisor_tui.ui.app import SupervisorApp
    from tests.helpers import ScriptedSource, centre, make_config, wait_for

    config = make_config(poll_interval_s=3600).model_copy(update={
        "audit": AuditConfig(key_file=tmp_path / "k", anchor_file=tmp_path / "a")})
    store = Store.open(tmp_path / "s.db")
    app = SupervisorApp(config, [ScriptedSource([centre()])], store=store, user="sam")
    assert app.audit is not None
    fill(app.audit, 4)  # type: ignore[arg-type]
    async with app.run_test(size=(120, 30)) as pilot:
        await wait_for(pilot, lambda: app.board is not None)
        await pilot.press("L", "v")
        await wait_for(pilot, lambda: app._notifications)
        assert [n.message for n in app._notifications][-1] == (
            "Audit log OK: 4 record(s), hash chain intact, 4 MAC(s) valid, matches the "
            "anchor file up to record 4")
        truncate(store.db)
        await pilot.press("v")
        await wait_for(pilot, lambda: "TAMPERED" in list(app._notifications)[-1].message)
        assert "truncated?" in list(app._notifications)[-1].message
