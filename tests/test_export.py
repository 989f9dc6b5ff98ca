"""``supervisor-tui export intervals`` (issue 13 item 4, intervals): a stored simulated
morning exported as CSV and JSON and read back by a parser: the columns are the
documented ones, the rows equal what was stored, counts add up, ratios are the screen's
formulas, times are UTC with the local time and zone beside them, and the command never
creates a store or overwrites a file."""

from __future__ import annotations

import csv
import io
import json
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from supervisor_tui.cli import main
from supervisor_tui.export import INTERVAL_EXPORT_COLUMNS
from supervisor_tui.sim.config import SimulatorConfig
from supervisor_tui.sources.simulator import SimulatorSource
from supervisor_tui.store import Store
from supervisor_tui.ui.state import ConsoleState
from tests.helpers import make_config
from tests.test_intraday_store import POLICY, _drive

START = datetime(2026, 11, 23, 8, 5, tzinfo=UTC)


@pytest.fixture(scope="module")
def stored(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store holding a simulated morning (08:00-10:30 UTC closed, 30-minute intervals)."""
    db = tmp_path_factory.mktemp("export") / "s.db"
    store = Store.open(db)
    wall = [START]
    source = SimulatorSource("sim", POLICY, SimulatorConfig(seed=5, start=START),
                             clock=lambda: wall[0])
    state = ConsoleState(make_config(), [source], store, clock=lambda: wall[0],
                         monotonic=time.monotonic)
    _drive(state, source, wall, polls=3 * 3600 // 47, step_s=47)
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


def test_csv_has_the_documented_columns_and_the_stored_rows(
        stored: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "export", "intervals", "--date", "2026-11-23", "--db",
                       str(stored), "--config", str(config_file(tmp_path, "Europe/Paris")))
    assert code == 0
    rows = list(csv.DictReader(io.StringIO(out)))
    assert tuple(rows[0].keys()) == INTERVAL_EXPORT_COLUMNS
    store = Store.open(stored)
    want = store.intervals(START - timedelta(hours=1), START + timedelta(hours=4))
    store.close()
    assert len(rows) == len(want) > 0
    for got, row in zip(rows, want, strict=True):
        start = datetime.fromisoformat(row["interval_start"]).astimezone(UTC)
        assert got["interval_start_utc"] == start.strftime("%Y-%m-%dT%H:%M:%SZ")
        # Paris is UTC+1 in November: the local start and the zone say so.
        assert got["interval_start_local"] == (start + timedelta(hours=1)).strftime(
            "%Y-%m-%dT%H:%M+01:00")
        assert got["zone"] == "Europe/Paris" and got["queue_id"] == row["queue_id"]
        offered, answered = int(got["offered"]), int(got["answered"])
        assert offered == row["offered"]
        assert offered == answered + int(got["abandoned"]) + int(got["flowed_out"])
        if answered:  # ratios: the screen's default formula, never above 1
            sl = int(got["answered_within_threshold"]) / (
                answered + int(got["abandoned_after_threshold"]))
            assert float(got["service_level"]) == pytest.approx(sl, abs=1e-4)
            assert 0 <= float(got["service_level"]) <= 1
            assert float(got["asa_s"]) == pytest.approx(row["wait_answered_s"] / answered,
                                                        abs=1e-3)
        else:
            assert got["asa_s"] == ""  # nothing answered: empty, not 0
        assert got["complete"] == "true"


def test_json_and_one_queue(stored: Path, tmp_path: Path,
                            capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "export", "intervals", "--date", "2026-11-23", "--queue",
                       "sales", "--format", "json", "--db", str(stored), "--config",
                       str(config_file(tmp_path, "UTC")))
    assert code == 0
    doc = json.loads(out)
    assert doc["export"] == "intervals" and doc["date"] == "2026-11-23"
    assert doc["zone"] == "UTC" and doc["columns"] == list(INTERVAL_EXPORT_COLUMNS)
    assert {r["queue_id"] for r in doc["rows"]} == {"sales"}
    assert [r["interval_start_utc"][11:16] for r in doc["rows"]] == [
        "08:00", "08:30", "09:00", "09:30", "10:00", "10:30"]


def test_the_local_day_decides_which_intervals(stored: Path, tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    # In Auckland (UTC+13 in November) the morning stored is the evening of the 23rd.
    args = ["export", "intervals", "--db", str(stored), "--config",
            str(config_file(tmp_path, "Pacific/Auckland"))]
    _, out, _ = run(capsys, *args, "--date", "2026-11-23")
    assert len(list(csv.DictReader(io.StringIO(out)))) > 0
    code, out, err = run(capsys, *args, "--date", "2026-11-24")
    assert code == 0 and list(csv.DictReader(io.StringIO(out))) == []
    assert "no stored intervals for 2026-11-24 (Pacific/Auckland)" in err


def test_never_creates_a_store_nor_overwrites_a_file(
        stored: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "nope.db"
    code, _, err = run(capsys, "export", "intervals", "--date", "2026-11-23", "--db",
                       str(missing))
    assert code == 2 and "no store at" in err and not missing.exists()
    target = tmp_path / "out.csv"
    code, _, err = run(capsys, "export", "intervals", "--date", "2026-11-23", "--db",
                       str(stored), "-o", str(target))
    assert code == 0 and target.read_text(encoding="utf-8").startswith("interval_start_utc,")
    assert "written to" in err
    target.write_text("keep me", encoding="utf-8")
    code, _, err = run(capsys, "export", "intervals", "--date", "2026-11-23", "--db",
                       str(stored), "-o", str(target))
    assert code == 1 and "cannot write" in err
    assert target.read_text(encoding="utf-8") == "keep me"


def test_a_bad_day_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["export", "intervals", "--date", "23/11/2026"])
    assert exit_.value.code == 2 and "not a day" in capsys.readouterr().err
