from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from supervisor_tui.store import Store, StoreError

T0 = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)


def sample(ts: datetime, queue: str = "sales", waiting: int = 3) -> dict:
    return {"ts": ts.isoformat(), "queue_id": queue, "service_level": 0.8, "waiting": waiting,
            "longest_wait_s": 12.0, "offered": 10, "answered": 8, "abandoned": 1}


def test_history_round_trip_and_prune(tmp_path: Path) -> None:
    store = Store.open(tmp_path / "s.db")
    store.record_history([sample(T0 - timedelta(days=20)), sample(T0)])
    assert len(store.history_since(T0 - timedelta(days=30))) == 2
    assert store.prune_history(T0, timedelta(days=14)) == 1
    assert [r["waiting"] for r in store.history_since(T0 - timedelta(days=30))] == [3]


def test_two_connections_share_one_file(tmp_path: Path) -> None:
    a, b = Store.open(tmp_path / "s.db"), Store.open(tmp_path / "s.db")
    a.record_history([sample(T0)])
    assert len(b.history_since(T0 - timedelta(minutes=1))) == 1


def test_unwritable_path_is_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(StoreError, match="cannot open database"):
        Store.open(blocker / "sub" / "s.db")


def test_escalation_state_is_shared_and_take_is_exclusive(tmp_path: Path) -> None:
    from supervisor_tui.store import ACKNOWLEDGED, RESOLVED, TAKEN

    a, b = Store.open(tmp_path / "s.db"), Store.open(tmp_path / "s.db")
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
