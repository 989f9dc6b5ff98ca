"""``export abandoned`` and ``export escalations`` (issue 13 item 4): a simulated morning
polled by a console state (abandoned contacts and escalation occurrences written as the
polls bring them), then exported by the CLI as CSV and JSON and read back by a parser:
the documented columns, the stored rows, UTC times with the local time and zone beside
them, call-backs joined, who took what and when, hostile text made harmless."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import sqlite3
import time
import unicodedata
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from supervisor_tui.audited import Auditor
from supervisor_tui.cli import main
from supervisor_tui.desk import DeskActions
from supervisor_tui.domain.escalation import Escalation, EscalationKind, Severity, SubjectType
from supervisor_tui.domain.model import AbandonedContact, Channel, Tier
from supervisor_tui.domain.roles import Role
from supervisor_tui.export import csv_cell, to_csv
from supervisor_tui.export_events import ABANDONED_EXPORT_COLUMNS, ESCALATION_EXPORT_COLUMNS
from supervisor_tui.sim.config import SimulatorConfig
from supervisor_tui.sources.simulator import SimulatorSource
from supervisor_tui.store import ACKNOWLEDGED, RESOLVED, TAKEN, Store
from supervisor_tui.store.abandoned import ABANDONED, AbandonedRecorder, write_abandoned
from supervisor_tui.store.audit import AuditLog
from supervisor_tui.store.escalation_log import (
    ESCALATION_LOG,
    read_escalations,
    record_escalations,
)
from supervisor_tui.ui.state import ConsoleState
from tests.helpers import make_config
from tests.hostile import HOSTILE
from tests.test_intraday_store import POLICY

START = datetime(2026, 11, 23, 8, 5, tzinfo=UTC)


def drive(state: ConsoleState, source: SimulatorSource, wall: list[datetime], polls: int,
          step_s: float) -> None:
    """Poll as the app does: the board, the store, then the escalation rules."""
    for _ in range(polls):
        wall[0] += timedelta(seconds=step_s)
        board = state.take_snapshot(asyncio.run(source.snapshot()))
        state.record_history(board)
        result = state.tracker.update(board.snapshot, state.config.escalations,
                                      state.owned(), index=board.index)
        state.record_escalations(result)


def console(store: Store, seed: int = 5) -> tuple[ConsoleState, SimulatorSource,
                                                   list[datetime]]:
    wall = [START]
    source = SimulatorSource("sim", POLICY, SimulatorConfig(seed=seed, start=START),
                             clock=lambda: wall[0])
    state = ConsoleState(make_config(), [source], store, clock=lambda: wall[0],
                         monotonic=time.monotonic)
    return state, source, wall


@pytest.fixture(scope="module")
def stored(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store holding a simulated morning (08:05-09:45 UTC, a poll every 20 s), one
    tracked call-back, one call-back queued on the simulator, and desk work: ann took
    and resolved the first escalation (with two notes), bob acknowledged the second."""
    db = tmp_path_factory.mktemp("events") / "s.db"
    store = Store.open(db)
    state, source, wall = console(store)
    drive(state, source, wall, polls=150, step_s=20)
    listed = state.board.snapshot.abandoned if state.board else ()
    first, second = listed[0], listed[1]
    store.add_callback(abandoned_id=first.id, source="sim", queue_id=first.queue_id,
                       customer=first.customer or "", number=first.handle or "", user="ann",
                       now=wall[0])
    assert source.engine.create_callback(second.id, second.queue_id).ok
    occurrences = read_escalations(store, START - timedelta(hours=1),
                                   START + timedelta(hours=3))
    one, two = occurrences[0].row["id"], occurrences[1].row["id"]
    audit = AuditLog(store.db)
    ann = DeskActions(Auditor(audit, "ann", Role.SUPERVISOR), store)
    bob = DeskActions(Auditor(audit, "bob", Role.SUPERVISOR), store)
    at = wall[0]
    assert ann.change(one, TAKEN, at, label="one").result.ok
    assert ann.note(one, "called the customer", at + timedelta(minutes=1), "one").result.ok
    assert ann.note(one, "=HYPERLINK(\"http://x\")", at + timedelta(minutes=2), "one").result.ok
    assert ann.change(one, RESOLVED, at + timedelta(minutes=3), label="one").result.ok
    assert bob.change(two, ACKNOWLEDGED, at + timedelta(minutes=4), label="two").result.ok
    drive(state, source, wall, polls=3, step_s=20)  # the queued call-back reaches the store
    store.close()
    return db


def config_file(tmp_path: Path, zone: str) -> Path:
    path = tmp_path / "c.toml"
    path.write_text(f'[console]\ntimezone = "{zone}"\n', encoding="utf-8")
    return path


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def export(capsys: pytest.CaptureFixture[str], db: Path, tmp_path: Path, what: str,
           *more: str, zone: str = "Europe/Paris") -> tuple[int, str, str]:
    return run(capsys, "export", what, "--date", "2026-11-23", "--db", str(db),
               "--config", str(config_file(tmp_path, zone)), *more)


def utc(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)


# -- abandoned ---------------------------------------------------------------------------

def test_abandoned_csv_is_every_stored_contact_with_its_call_back(
        stored: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = export(capsys, stored, tmp_path, "abandoned")
    assert code == 0
    rows = list(csv.DictReader(io.StringIO(out)))
    assert tuple(rows[0].keys()) == ABANDONED_EXPORT_COLUMNS
    conn = sqlite3.connect(stored)
    want = conn.execute(f"select id, abandoned_at, waited_s, short from {ABANDONED}"
                        " order by abandoned_at").fetchall()
    assert len(rows) == len(want) > 20
    for got, (aid, at, waited, short) in zip(rows, want, strict=True):
        when = datetime.fromisoformat(at)
        assert got["abandoned_id"] == aid and got["zone"] == "Europe/Paris"
        assert got["abandoned_at_utc"] == when.strftime("%Y-%m-%dT%H:%M:%SZ")
        # Paris is UTC+1 in November: the local time says so.
        assert got["abandoned_at_local"] == (when + timedelta(hours=1)).strftime(
            "%Y-%m-%dT%H:%M:%S+01:00")
        entered = utc(got["entered_at_utc"])
        assert (utc(got["abandoned_at_utc"]) - entered).total_seconds() == pytest.approx(
            float(got["waited_s"]), abs=1.1)  # (whole seconds in the file)
        assert float(got["waited_s"]) == pytest.approx(waited, abs=0.05)
        assert got["short"] == ("true" if short else "false")
        assert got["customer"] and got["channel"] in ("voice", "chat", "email", "social")
    by_kind = {r["callback"]: r for r in rows if r["callback"]}
    assert set(by_kind) == {"tracked", "source"}
    tracked, queued = by_kind["tracked"], by_kind["source"]
    assert (tracked["callback_state"], tracked["callback_by"]) == ("waiting", "ann")
    assert tracked["callback_created_utc"].endswith("Z") and tracked["callback_id"] == ""
    assert queued["callback_state"] == "queued" and queued["callback_id"]
    assert queued["callback_by"] == ""  # empty where it does not apply, never 0
    assert sum(r["callback"] == "" for r in rows) == len(rows) - 2


def test_abandoned_json_and_one_queue(stored: Path, tmp_path: Path,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = export(capsys, stored, tmp_path, "abandoned", "--queue", "sales",
                          "--format", "json", zone="UTC")
    assert code == 0
    doc = json.loads(out)
    assert doc["export"] == "abandoned" and doc["date"] == "2026-11-23"
    assert doc["zone"] == "UTC" and doc["columns"] == list(ABANDONED_EXPORT_COLUMNS)
    assert doc["rows"] and {r["queue_id"] for r in doc["rows"]} == {"sales"}
    assert all(isinstance(r["short"], bool) and isinstance(r["waited_s"], float)
               for r in doc["rows"])
    assert all(r["callback"] is None for r in doc["rows"] if r["callback_id"] is None
               and r["callback_state"] is None)


def test_the_local_day_decides_and_an_empty_day_says_so(
        stored: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # In Auckland (UTC+13 in November) the stored morning is the evening of the 23rd.
    code, out, err = export(capsys, stored, tmp_path, "escalations", zone="Pacific/Auckland")
    assert code == 0 and len(list(csv.DictReader(io.StringIO(out)))) > 0
    code, out, err = run(capsys, "export", "abandoned", "--date", "2026-11-24", "--db",
                         str(stored), "--config", str(config_file(tmp_path, "Pacific/Auckland")))
    assert code == 0 and out.startswith("abandoned_at_utc,")
    assert list(csv.DictReader(io.StringIO(out))) == []
    assert "no stored abandoned contacts for 2026-11-24 (Pacific/Auckland)" in err


def test_a_poll_writes_only_what_is_new(store_at: Path | str) -> None:
    store = Store.open(store_at)
    state, source, wall = console(store)
    drive(state, source, wall, polls=30, step_s=20)
    assert state.board is not None
    listed = state.board.snapshot.abandoned
    count = store.db.conn.execute(f"select count(*) from {ABANDONED}").fetchone()[0]
    assert count == len(listed) > 0
    log = state.abandoned_log
    assert log.pending(listed) == []  # the same list again: nothing to write
    assert log.record(store, listed, wall[0], timedelta(days=35)) == 0
    # One new abandon among the listed: just that one is written.
    extra = listed[-1].model_copy(update={"id": "c-new", "abandoned_at": wall[0]})
    assert log.pending((*listed, extra)) == [extra]
    assert log.record(store, (*listed, extra), wall[0], timedelta(days=35)) == 1
    # A source that builds its list anew each poll: equal contacts are not written again,
    # one whose call-back was queued since is.
    rebuilt = tuple(a.model_copy() for a in (*listed, extra))
    called = rebuilt[0].model_copy(update={"callback_id": "cb-1"})
    assert log.pending(rebuilt) == []
    assert log.pending((called, *rebuilt[1:])) == [called]
    assert log.record(store, (called, *rebuilt[1:]), wall[0], timedelta(days=35)) == 1
    assert store.db.conn.execute(f"select callback_id from {ABANDONED} where id = ?",
                                 [called.id]).fetchone() == ("cb-1",)
    # A second console on the store (a restart, or another user) adds no duplicate.
    AbandonedRecorder().record(store, (*listed, extra), wall[0], timedelta(days=35))
    total = store.db.conn.execute(f"select count(*) from {ABANDONED}").fetchone()[0]
    assert total == count + 1
    store.close()


# -- escalations -------------------------------------------------------------------------

def test_escalations_csv_says_who_took_what_and_when(
        stored: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = export(capsys, stored, tmp_path, "escalations")
    assert code == 0
    rows = list(csv.DictReader(io.StringIO(out)))
    assert tuple(rows[0].keys()) == ESCALATION_EXPORT_COLUMNS
    conn = sqlite3.connect(stored)
    assert len(rows) == conn.execute(f"select count(*) from {ESCALATION_LOG}").fetchone()[0]
    assert [r["first_seen_utc"] for r in rows] == sorted(r["first_seen_utc"] for r in rows)
    kinds = {r["kind"] for r in rows}
    assert {"contact_wait", "queue_sl"} & kinds and kinds <= {k.value for k in EscalationKind}
    one, two = rows[0], rows[1]
    assert one["taken_by"] == "ann" and one["resolved_by"] == "ann"
    assert one["notes"] == "2" and two["notes"] == "0"
    first = utc(one["first_seen_utc"])
    for what in ("take", "resolve"):
        at = utc(one[f"{'taken' if what == 'take' else 'resolved'}_utc"])
        assert float(one[f"minutes_to_{what}"]) == pytest.approx(
            (at - first).total_seconds() / 60, abs=0.02)
    assert float(one["minutes_to_resolve"]) - float(one["minutes_to_take"]) == pytest.approx(
        3.0, abs=0.02)
    assert one["minutes_to_acknowledge"] == "" and one["acknowledged_by"] == ""
    assert two["acknowledged_by"] == "bob" and two["minutes_to_acknowledge"] != ""
    assert two["taken_by"] == "" and two["minutes_to_take"] == ""  # not 0: never taken
    assert one["first_seen_local"] == (first + timedelta(hours=1)).strftime(
        "%Y-%m-%dT%H:%M:%S+01:00")
    for row in rows:
        assert row["severity"] in ("info", "warning", "critical")
        assert row["first_seen_is_first_sight"] in ("true", "false")
        if row["cleared_utc"]:
            assert utc(row["cleared_utc"]) >= utc(row["first_seen_utc"])
    # Most cleared during the morning; the contacts' say how they ended.
    assert sum(bool(r["cleared_utc"]) for r in rows) > len(rows) // 2
    assert any(r["ended"] for r in rows if r["kind"] == "contact_wait")


def test_escalations_json_and_one_queue(stored: Path, tmp_path: Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = export(capsys, stored, tmp_path, "escalations", "--format", "json",
                          "--queue", "sales", zone="UTC")
    assert code == 0
    doc = json.loads(out)
    assert doc["export"] == "escalations" and doc["columns"] == list(ESCALATION_EXPORT_COLUMNS)
    assert doc["rows"] and {r["queue_id"] for r in doc["rows"]} == {"sales"}
    assert all(r["minutes_to_take"] is None or r["minutes_to_take"] >= 0 for r in doc["rows"])
    assert all(isinstance(r["notes"], int) for r in doc["rows"])


def esc(eid: str, first_seen: datetime, severity: Severity = Severity.WARNING,
        last_seen: datetime | None = None) -> Escalation:
    return Escalation(id=eid, kind=EscalationKind.QUEUE_SL, severity=severity,
                      reason="Sales under target", subject_type=SubjectType.QUEUE,
                      subject_id="sales", queue_id="sales", source="sim",
                      first_seen=first_seen, last_seen=last_seen, label="queue Sales")


def test_occurrences_two_consoles_notes_and_undo(store_at: Path | str) -> None:
    store = Store.open(store_at)
    day = START.replace(hour=0, minute=0)
    t = START
    record_escalations(store, new=[esc("queue-sl:sales", t)], raised=[], cleared=[],
                       day_start=day, observing_since=t - timedelta(hours=1))
    # A second console sees the same occurrence (its own first sight is later): one row.
    record_escalations(store, new=[esc("queue-sl:sales", t + timedelta(minutes=3))],
                       raised=[esc("queue-sl:sales", t, Severity.CRITICAL)], cleared=[],
                       day_start=day, observing_since=t)
    desk = DeskActions(Auditor(AuditLog(store.db), "ann", Role.SUPERVISOR), store)
    taken = desk.change("queue-sl:sales", TAKEN, t + timedelta(minutes=5), label="Sales")
    assert taken.result.ok and taken.change is not None
    assert desk.note("queue-sl:sales", "first", t + timedelta(minutes=6), "Sales").result.ok
    assert desk.undo(taken.change, t + timedelta(minutes=7), "Sales").result.ok
    record_escalations(store, new=[], raised=[], day_start=day, observing_since=t,
                       cleared=[esc("queue-sl:sales", t, last_seen=t + timedelta(minutes=20))])
    # A console restarting a minute after it cleared sees it still there: the same
    # occurrence, active again (then cleared again with the next clear).
    record_escalations(store, new=[esc("queue-sl:sales", t)], raised=[], cleared=[],
                       day_start=day, observing_since=t + timedelta(minutes=21))
    assert read_escalations(store, day, day + timedelta(days=1))[0].row["cleared_at"] is None
    record_escalations(store, new=[], raised=[], day_start=day, observing_since=t,
                       cleared=[esc("queue-sl:sales", t, last_seen=t + timedelta(minutes=25))])
    # It comes back in the afternoon: a new occurrence, with its own note.
    later = t + timedelta(hours=4)
    record_escalations(store, new=[esc("queue-sl:sales", later)], raised=[], cleared=[],
                       day_start=day, observing_since=t)
    assert desk.note("queue-sl:sales", "again", later + timedelta(minutes=1), "Sales").result.ok
    assert desk.change("queue-sl:sales", TAKEN, later + timedelta(minutes=2),
                       label="Sales").result.ok
    got = read_escalations(store, day, day + timedelta(days=1))
    assert [(o.row["first_seen"][11:16], o.notes) for o in got] == [("08:05", 1),
                                                                  ("12:05", 1)]
    morning, afternoon = got[0].row, got[1].row
    assert morning["severity"] == "critical"  # raised, kept at its highest
    assert morning["taken_by"] is None  # the take was undone
    assert morning["cleared_at"] is not None and morning["cleared_at"][11:16] == "08:30"
    assert afternoon["taken_by"] == "ann" and afternoon["cleared_at"] is None
    assert morning["began_earlier"] == 0
    store.close()


# -- hostile text -----------------------------------------------------------------------

NASTY = ["=HYPERLINK(\"http://evil\",\"click\")", "+44 20 7946 0000", "-2+3",
         "@SUM(A1:A9)", "\tindented", "\x1b]0;pwned\x07Bob", "Ann\x1b[2J\x1b[31mRed",
         "\u202egnp.exe", "O'Brien, \"Jr\"\nline two"]


def test_hostile_names_reach_the_csv_harmless(tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "s.db"
    store = Store.open(db)
    names = NASTY + HOSTILE[:200]
    contacts = [AbandonedContact.model_construct(  # as a source wrote it, unvalidated
        id=f"h{i}", queue_id="sales", channel=Channel.VOICE, tier=Tier.STANDARD,
        customer=name, handle=name, waited_s=30.0, short=False, callback_id=None,
        abandoned_at=START + timedelta(seconds=i), source="sim")
        for i, name in enumerate(names)]
    write_abandoned(store, contacts)
    store.close()
    target = tmp_path / "out.csv"
    code, _, _ = export(capsys, db, tmp_path, "abandoned", "-o", str(target), zone="UTC")
    assert code == 0
    raw = target.read_text(encoding="utf-8")
    assert "\x1b" not in raw and "\x07" not in raw and "\u202e" not in raw
    rows = list(csv.DictReader(io.StringIO(raw, newline="")))
    assert len(rows) == len(names)
    for row in rows:
        for cell in (row["customer"], row["handle"]):
            # nothing a spreadsheet would run, nothing a terminal would obey
            assert not cell.startswith(("=", "+", "-", "@", "\t", "\r"))
            assert not any(unicodedata.category(ch) == "Cc" for ch in cell)
    by_id = {r["abandoned_id"]: r["customer"] for r in rows}
    assert by_id["h0"] == "'=HYPERLINK(\"http://evil\",\"click\")"
    assert by_id["h1"] == "'+44 20 7946 0000" and by_id["h3"] == "'@SUM(A1:A9)"
    assert by_id["h5"] == "Bob" and by_id["h6"] == "AnnRed"
    assert by_id["h8"] == "O'Brien, \"Jr\" line two"  # quoted by the CSV, one line


def test_one_cell_rule_for_every_export() -> None:
    assert [csv_cell(v) for v in ("=1+1", "-3", -3, 2.5, None, True, "queue")] == [
        "'=1+1", "'-3", -3, 2.5, "", "true", "queue"]
    # intervals go through the same rule: a queue id from a source is text.
    text = to_csv([{"queue_id": "=cmd|' /C calc'!A0", "offered": -1}], ("queue_id", "offered"))
    assert text.splitlines()[1] == "'=cmd|' /C calc'!A0,-1"


def test_never_creates_a_store_nor_overwrites_a_file(
        stored: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "nope.db"
    code, _, err = run(capsys, "export", "escalations", "--date", "2026-11-23", "--db",
                       str(missing))
    assert code == 2 and "no store at" in err and not missing.exists()
    target = tmp_path / "esc.json"
    code, _, err = export(capsys, stored, tmp_path, "escalations", "--format", "json", "-o",
                          str(target))
    assert code == 0 and "row(s) of escalations of 2026-11-23 (Europe/Paris) written" in err
    before = target.read_text(encoding="utf-8")
    code, _, err = export(capsys, stored, tmp_path, "abandoned", "-o", str(target))
    assert code == 1 and "cannot write" in err
    assert target.read_text(encoding="utf-8") == before
