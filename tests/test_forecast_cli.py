"""supervisor-tui forecast import / show, checked in the store and the audit log."""

from __future__ import annotations

import json
import os
import pwd
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from supervisor_tui.cli import main
from supervisor_tui.store import INTERVAL_COUNTERS, Store
from supervisor_tui.store.audit import AuditLog
from supervisor_tui.store.forecasts import read_forecast

FIXTURES = Path(__file__).parent / "fixtures" / "forecasts"
NINE = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)


def stored(queue: str, start: datetime, offered: int, within: int) -> dict:
    counts = dict.fromkeys(INTERVAL_COUNTERS, 0)
    answered = offered - 2
    counts.update(offered=offered, answered=answered, answered_within_threshold=within,
                  abandoned=2, abandoned_short=1, abandoned_after_threshold=1,
                  wait_answered_s=15.0 * answered, handled=answered,
                  handle_s=240.0 * answered)
    return {"queue_id": queue, "interval_start": start.isoformat(), "interval_minutes": 30,
            "channel": "voice", **counts, "sl_target": 0.8, "threshold_s": 20.0,
            "agents_staffed_at_close": 6.0, "agents_needed_at_close": 7, "complete": 1}


@pytest.fixture
def centre(tmp_path: Path) -> tuple[Path, Path]:
    """A UTC centre whose store holds Sales's 09:00 and 09:30 of 22 Nov 2026."""
    config = tmp_path / "config.toml"
    config.write_text('[console]\ntimezone = "UTC"\n[sources.pbx]\ntype = "http"\n'
                      'url = "http://127.0.0.1:9"\n', encoding="utf-8")
    db = tmp_path / "store.db"
    store = Store.open(db)
    store.record_intervals([stored("sales", NINE, 40, 29),
                            stored("sales", NINE + timedelta(minutes=30), 20, 9),
                            stored("support", NINE, 10, 8)],
                           datetime.now(UTC), timedelta(days=10_000))
    store.close()
    return config, db


def run(centre: tuple[Path, Path], *args: str) -> int:
    config, db = centre
    return main(["forecast", *args, "--db", str(db), "--config", str(config)])


def test_import_stores_replaces_per_queue_and_audits(centre, capsys) -> None:
    assert run(centre, "import", str(FIXTURES / "nice_iex_ct_forecast.txt")) == 0
    out = capsys.readouterr().out
    assert "4 interval(s) for 2 queue(s) on 2026-11-22 (UTC, 30-min intervals)" in out
    assert "stored sales 2026-11-22: 3 interval(s)" in out
    store = Store.open(centre[1])
    rows = read_forecast(store, "2026-11-22")
    assert [(r.queue_id, f"{r.start:%H:%M}", r.contacts, r.scheduled) for r in rows] == [
        ("sales", "09:00", 40, 6), ("support", "09:00", 12, None),
        ("sales", "09:30", 36, 6), ("sales", "10:00", 60, 8)]
    # A second file for Sales replaces Sales's day whole; Support keeps its forecast.
    assert run(centre, "import", str(FIXTURES / "verint_forecast.csv")) == 0
    assert "stored sales 2026-11-22: 3 interval(s) (replaced 3)" in capsys.readouterr().out
    assert [r.required for r in read_forecast(store, "2026-11-22", "sales")] == [7, 7, 10]
    assert len(read_forecast(store, "2026-11-22", "support")) == 1
    records = [r for r in AuditLog(store.db).records() if r["action"] == "forecast_import"]
    assert [r["outcome"] for r in records] == ["allowed", "done", "allowed", "done"]
    assert records[1]["params"]["queues"] == ["sales", "support"]
    assert records[1]["subject"] == "forecast 2026-11-22"
    store.close()


def test_rejected_rows_and_unknown_queues_are_said(centre, capsys) -> None:
    assert run(centre, "import", str(FIXTURES / "bad_rows.csv"), "--date", "2026-11-22") == 0
    captured = capsys.readouterr()
    assert "rejected 7 row(s):" in captured.err
    assert "  line 3: starts at 09:15, not on one of the centre's 30-min intervals" in (
        captured.err)
    assert "unknown queue(s), not imported: nosuch (known: sales, support)" in captured.err
    assert "stored sales 2026-11-22: 2 interval(s)" in captured.out
    # A dry run checks and stores nothing.
    assert run(centre, "import", str(FIXTURES / "forecast.json"), "--date", "2026-11-22",
               "--dry-run") == 0
    assert "dry run: nothing stored" in capsys.readouterr().out
    store = Store.open(centre[1])
    assert len(read_forecast(store, "2026-11-22")) == 2
    store.close()


def test_bad_files_give_a_clear_message_and_store_nothing(centre, tmp_path, capsys) -> None:
    assert run(centre, "import", str(tmp_path / "missing.csv")) == 2
    assert "cannot read" in capsys.readouterr().err
    broken = tmp_path / "f.json"
    broken.write_text("{nope", encoding="utf-8")
    assert run(centre, "import", str(broken)) == 2
    assert "f.json: line 1: not JSON" in capsys.readouterr().err
    only_bad = tmp_path / "bad.csv"
    only_bad.write_text("queue,start,contacts,aht\nsales,09:00,x,240\n", encoding="utf-8")
    assert run(centre, "import", str(only_bad), "--date", "2026-11-22") == 1
    assert "nothing to import" in capsys.readouterr().err


def test_a_viewer_is_refused_and_the_refusal_audited(centre, capsys) -> None:
    config, db = centre
    me = pwd.getpwuid(os.getuid()).pw_name
    config.write_text(config.read_text() + f'[roles.users]\n"{me}" = "viewer"\n')
    assert run(centre, "import", str(FIXTURES / "verint_forecast.csv")) == 1
    assert "needs supervisor" in capsys.readouterr().err
    store = Store.open(db)
    assert read_forecast(store, "2026-11-22") == []
    assert AuditLog(store.db).records()[-1]["outcome"] == "refused"
    store.close()


def test_show_puts_the_forecast_beside_the_stored_intervals(centre, capsys) -> None:
    assert run(centre, "import", str(FIXTURES / "nice_iex_ct_forecast.txt")) == 0
    capsys.readouterr()
    assert run(centre, "show", "--date", "2026-11-22", "--json") == 0
    doc = json.loads(capsys.readouterr().out)
    sales = next(q for q in doc["queues"] if q["queue_id"] == "sales")
    # Stored 09:00 and 09:30: 40 + 20 = 60 offered against 40 + 36 = 76 forecast.
    assert (sales["offered_so_far"], sales["forecast_so_far"]) == (60, 76)
    assert sales["volume_variance"] == pytest.approx((60 - 76) / 76)
    assert sales["actual_aht_s"] == 240 and sales["aht_variance"] == 0
    # 10:00's 60 calls x 240 s = 8 Erlangs need 11 agents for 80% in 20 s at <= 85% busy.
    assert sales["required_peak"] == 11
    # The day is over: the projection is what happened, (29 + 9) / (39 + 19).
    p = sales["projection"]
    assert p["so_far"] == pytest.approx(38 / 58) and p["remaining_contacts"] == 0
    assert p["service_level"] == pytest.approx(38 / 58)
    assert run(centre, "show", "--date", "2026-11-22") == 0
    text = capsys.readouterr().out
    assert "sales: 3 intervals, 136 contacts, 09:00-10:30" in text
    line = next(ln for ln in text.splitlines() if ln.strip().startswith("sales "))
    assert line.split()[1:3] == ["60/76", "-21%"], line
    assert run(centre, "show", "--date", "2026-11-21") == 0
    assert "no forecast stored for 2026-11-21 (UTC)" in capsys.readouterr().out


def test_import_reaches_the_configured_store_on_either_backend(store_at, tmp_path,
                                                               capsys) -> None:
    config = tmp_path / "c.toml"
    text = '[console]\ntimezone = "UTC"\n'
    args = ["forecast", "import", str(FIXTURES / "verint_forecast.csv"), "--config",
            str(config)]
    if isinstance(store_at, str):  # PostgreSQL: the config's [store] url
        text += f'[store]\nurl = "{store_at}"\n'
    else:
        args += ["--db", str(store_at)]
    config.write_text(text, encoding="utf-8")
    assert main(args) == 0, capsys.readouterr().err
    assert "stored sales 2026-11-22: 3 interval(s)" in capsys.readouterr().out
    store = Store.open(store_at)
    try:
        assert [r.contacts for r in read_forecast(store, "2026-11-22", "sales")] == [40, 36, 60]
    finally:
        store.close()
