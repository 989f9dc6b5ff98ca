"""supervisor-tui schedule import / show, checked through the store."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from supervisor_tui.cli import main
from supervisor_tui.store import Store
from supervisor_tui.store.audit import AuditLog
from supervisor_tui.store.schedules import read_schedule

FIX = Path(__file__).parent / "fixtures" / "schedules"
DAY = "2026-12-06"


@pytest.fixture
def env(tmp_path: Path) -> tuple[Path, Path]:
    config = tmp_path / "config.toml"
    config.write_text('[console]\ntimezone = "Europe/London"\n'
                      '[schedule.activities]\n"Tea Party" = "away"\n')
    return tmp_path / "store.db", config


def run(env: tuple[Path, Path], *args: str) -> int:
    db, config = env
    return main(["schedule", *args, "--db", str(db), "--config", str(config)])


def stored(db: Path, day: str = DAY) -> tuple[object, list]:
    store = Store.open(db)
    try:
        return read_schedule(store, day)
    finally:
        store.close()


def test_good_file_imported_and_audited(env: tuple[Path, Path],
                                        capsys: pytest.CaptureFixture[str]) -> None:
    assert run(env, "import", str(FIX / "verint_schedule.csv"), "--date", DAY) == 0
    out = capsys.readouterr().out
    assert "3 entries for 2026-12-06 (csv, 0 rows rejected)" in out
    assert "no console has seen agents on 2026-12-06 yet" in out
    meta, entries = stored(env[0])
    assert meta is not None and (meta.entries, meta.rejected) == (3, 0)
    assert meta.origin.endswith("verint_schedule.csv") and len(meta.digest) == 64
    assert [(e.agent, e.activity, e.start.hour) for e in entries] == [
        ("1001", "Phone", 8), ("1001", "Lunch", 12), ("1002", "Training", 13)]
    store = Store.open(env[0])
    records = [r for r in AuditLog(store.db).records() if r["action"] == "schedule_import"]
    store.close()
    assert [r["outcome"] for r in records] == ["allowed", "done"]
    assert records[0]["subject"] == DAY and records[0]["params"]["entries"] == 3
    # show reads it back
    assert run(env, "show", "--date", DAY) == 0
    shown = capsys.readouterr().out
    assert "Schedule for 2026-12-06: 3 entries" in shown
    assert "1001                     08:00-12:00  Phone" in shown


def test_partial_rejects_listed_by_line_and_strict_refuses(
        env: tuple[Path, Path], capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    iex = tmp_path / "iex.txt"
    shutil.copy(FIX / "nice_iex_schedule_detail.txt", iex)
    assert run(env, "import", str(iex), "--date", DAY, "--strict") == 1
    captured = capsys.readouterr()
    assert "line 8: unreadable time '25:00'" in captured.out
    assert "rows rejected (--strict); nothing imported" in captured.err
    assert stored(env[0]) == (None, [])  # nothing written
    assert run(env, "import", str(iex), "--date", DAY) == 0
    out = capsys.readouterr().out
    # "Tea Party" is mapped in this config: only the bad time is rejected
    assert "1 rows rejected" in out and "rejected line 8: unreadable time" in out
    meta, entries = stored(env[0])
    assert meta is not None and meta.rejected == 1 and len(entries) == meta.entries
    # a hostile name stays data in the store
    assert any(e.agent == "1002" for e in entries)


def test_broken_files_exit_non_zero_and_keep_the_schedule(
        env: tuple[Path, Path], capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert run(env, "import", str(FIX / "verint_schedule.csv"), "--date", DAY) == 0
    before = stored(env[0])
    bad = tmp_path / "bad.csv"
    bad.write_text("who,when\nx,y\n")
    cases = [(tmp_path / "missing.csv", "no such file"),
             (bad, "line 1: no column for agent, start, end, activity (header: who, when)"),
             (FIX / "verint_schedule.csv", "no entry on 2026-12-09")]
    for path, why in cases:
        day = "2026-12-09" if "verint" in path.name else DAY
        assert run(env, "import", str(path), "--date", day) == 1
        err = capsys.readouterr().err
        assert why in err and "nothing imported" in err
    binary = tmp_path / "x.json"
    binary.write_bytes(b"\xff\xfe[")
    assert run(env, "import", str(binary), "--date", DAY) == 1
    assert "not UTF-8" in capsys.readouterr().err
    assert stored(env[0]) == before  # the good schedule is untouched


def test_viewer_refused_and_show_json(env: tuple[Path, Path],
                                      capsys: pytest.CaptureFixture[str]) -> None:
    db, config = env
    config.write_text('[console]\ntimezone = "Europe/London"\n[roles]\ndefault = "viewer"\n')
    assert run(env, "import", str(FIX / "calabrio_schedule.csv"), "--date", DAY) == 1
    assert "schedule import needs supervisor" in capsys.readouterr().err
    assert stored(db) == (None, [])
    config.write_text('[console]\ntimezone = "Europe/London"\n')
    assert run(env, "import", str(FIX / "calabrio_schedule.csv"), "--date", DAY) == 0
    capsys.readouterr()
    assert run(env, "show", "--date", DAY, "--json") == 0
    data = json.loads(capsys.readouterr().out)
    assert data["import"]["entries"] == 3
    assert data["entries"][1] == {"agent": "Ben Jones", "start": "2026-12-06T09:00:00+00:00",
                                  "end": "2026-12-06T09:30:00+00:00", "activity": "Meeting",
                                  "expected": "away"}


def test_a_console_sees_a_schedule_imported_elsewhere_within_five_seconds(
        env: tuple[Path, Path]) -> None:
    """The console looks at the store's schedule every 5 s, not every poll (a round
    trip each on PostgreSQL): an import by another console is in force at the first
    poll 5 s after it, and not read again in between."""
    from datetime import UTC, datetime, timedelta
    from zoneinfo import ZoneInfo

    from supervisor_tui.config.schedule import ScheduleConfig
    from supervisor_tui.schedules import ScheduleKeeper

    clock = [100.0]
    store = Store.open(env[0])
    keeper = ScheduleKeeper(ScheduleConfig(), store, ZoneInfo("Europe/London"),
                            monotonic=lambda: clock[0])
    now = datetime(2026, 12, 6, 10, tzinfo=UTC)
    day_start = datetime(2026, 12, 6, tzinfo=UTC)
    keeper.poll((), now, day_start)
    assert not keeper.has_schedule  # nothing imported yet
    assert run(env, "import", str(FIX / "verint_schedule.csv"), "--date", DAY) == 0
    for step in range(4):  # polls within the 5 s: not looked at again
        clock[0] += 1.0
        keeper.poll((), now + timedelta(seconds=step), day_start)
        assert not keeper.has_schedule
    clock[0] += 1.0
    keeper.poll((), now + timedelta(seconds=5), day_start)
    assert keeper.has_schedule and keeper.meta is not None and keeper.meta.entries == 3
    store.close()
