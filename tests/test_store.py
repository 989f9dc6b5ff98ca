from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from supervisor_tui.store import Store, StoreError

T0 = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)


def sample(ts: datetime, queue: str = "sales", waiting: int = 3) -> dict:
    return {"ts": ts.isoformat(), "queue_id": queue, "service_level": 0.8, "waiting": waiting,
            "longest_wait_s": 12.0, "offered": 10, "answered": 8, "abandoned": 1}


def test_history_round_trip_and_prune(store_at: Path | str) -> None:
    store = Store.open(store_at)
    store.record_history([sample(T0 - timedelta(days=20)), sample(T0)])
    assert len(store.history_since(T0 - timedelta(days=30))) == 2
    assert store.prune_history(T0, timedelta(days=14)) == 1
    assert [r["waiting"] for r in store.history_since(T0 - timedelta(days=30))] == [3]


def test_two_connections_share_one_file(store_at: Path | str) -> None:
    a, b = Store.open(store_at), Store.open(store_at)
    a.record_history([sample(T0)])
    assert len(b.history_since(T0 - timedelta(minutes=1))) == 1


def test_unwritable_path_is_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(StoreError, match="cannot open database"):
        Store.open(blocker / "sub" / "s.db")


def test_escalation_state_is_shared_and_take_is_exclusive(store_at: Path | str) -> None:
    from supervisor_tui.store import ACKNOWLEDGED, RESOLVED, TAKEN

    a, b = Store.open(store_at), Store.open(store_at)
    assert a.set_escalation_state("contact-wait:sim:c1", TAKEN, "ann", T0) == (True, "")
    assert b.escalation_states()["contact-wait:sim:c1"]["owner"] == "ann"
    assert b.set_escalation_state("contact-wait:sim:c1", TAKEN, "bob", T0) == (
        False, "already taken by ann")
    b.add_escalation_note("contact-wait:sim:c1", "bob", "customer called back", T0)
    assert [n["note"] for n in a.escalation_notes("contact-wait:sim:c1")] == [
        "customer called back"]
    assert a.set_escalation_state("queue-sl:sales", ACKNOWLEDGED, "ann", T0)[0]
    assert a.set_escalation_state("contact-wait:sim:c1", RESOLVED, "ann", T0)[0]
    assert b.escalation_states()["contact-wait:sim:c1"]["state"] == RESOLVED


def test_someone_elses_item_needs_confirming_and_tells_the_owner(store_at: Path | str) -> None:
    from supervisor_tui.store import RESOLVED, TAKEN

    a, b = Store.open(store_at), Store.open(store_at)
    eid = "contact-wait:sim:c1"
    assert a.change_escalation(eid, TAKEN, "ann", T0).done
    refused = b.change_escalation(eid, RESOLVED, "bob", T0, label="c1 Dana Jensen (vip)")
    assert (refused.done, refused.confirm, refused.why) == (False, True, "already taken by ann")
    assert a.notices_for("ann", T0) == []
    done = b.change_escalation(eid, RESOLVED, "bob", T0, force=True,
                               label="c1 Dana Jensen (vip)")
    assert done.done and done.told == ("ann",)
    [notice] = a.notices_for("ann", T0 - timedelta(minutes=1))
    assert notice["text"] == "bob resolved c1 Dana Jensen (vip) (you had taken it)"
    a.mark_notices_seen([notice["id"]], T0)
    assert a.notices_for("ann", T0)[0]["seen_at"] == T0.isoformat()
    # Resolved: nothing but reopen.
    assert b.change_escalation(eid, TAKEN, "bob", T0).why == "already resolved (o reopens it)"


def test_release_and_give(store_at: Path | str) -> None:
    from supervisor_tui.store import GIVE, OPEN, RELEASE, TAKEN

    store = Store.open(store_at)
    eid = "queue-sl:sales"
    assert store.change_escalation(eid, RELEASE, "ann", T0).why == "nobody has taken it"
    store.change_escalation(eid, TAKEN, "ann", T0)
    assert store.change_escalation(eid, RELEASE, "bob", T0).why.startswith("taken by ann")
    gave = store.change_escalation(eid, GIVE, "ann", T0, to_user="bob", label="queue Sales")
    assert gave.done and gave.told == ("bob",)
    row = store.escalation_states()[eid]
    assert (row["state"], row["owner"], row["updated_by"]) == (TAKEN, "bob", "ann")
    assert [n["text"] for n in store.notices_for("bob", T0)] == ["ann gave you queue Sales"]
    assert store.change_escalation(eid, RELEASE, "bob", T0).done
    row = store.escalation_states()[eid]
    assert (row["state"], row["owner"]) == (OPEN, "")


def test_undo_puts_back_what_was_there_unless_changed_since(store_at: Path | str) -> None:
    from supervisor_tui.store import ACKNOWLEDGED, RESOLVED, TAKEN

    a, b = Store.open(store_at), Store.open(store_at)
    eid = "contact-wait:sim:c1"
    took = a.change_escalation(eid, TAKEN, "ann", T0)
    resolved = a.change_escalation(eid, RESOLVED, "ann", T0)
    assert a.undo_escalation(resolved, "ann", T0).done
    row = a.escalation_states()[eid]
    assert (row["state"], row["owner"]) == (TAKEN, "ann")
    # Once someone (even oneself) changed it again, an older change is not undone.
    assert a.undo_escalation(resolved, "ann", T0).why == "not undone: ann changed it since"
    acked = b.change_escalation(eid, ACKNOWLEDGED, "bob", T0)
    assert a.undo_escalation(took, "ann", T0).why == "not undone: bob changed it since"
    assert b.undo_escalation(acked, "bob", T0).done
    assert a.escalation_states()[eid]["state"] == TAKEN


def test_old_store_gains_snooze_and_undo_columns(tmp_path: Path) -> None:
    import sqlite3

    path = tmp_path / "old.db"
    conn = sqlite3.connect(path)
    conn.execute("create table escalation_state (id text primary key, state text, "
                 "owner text, updated_at text, updated_by text)")
    conn.execute("insert into escalation_state values ('x', 'taken', 'ann', ?, 'ann')",
                 [T0.isoformat()])
    conn.commit()
    conn.close()
    from supervisor_tui.store import RELEASE

    store = Store.open(path)
    assert store.change_escalation("x", RELEASE, "ann", T0).done
