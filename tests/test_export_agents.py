"""Each agent's day exported (issue 13 item 4): ``E`` on the agents screen writes today's
agents to the file typed, and ``supervisor-tui export agents`` writes a stored day —
parsed back and checked against the morning worked out by hand."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from supervisor_tui.cli import main
from supervisor_tui.export_agents import AGENT_EXPORT_COLUMNS
from supervisor_tui.store import Store
from supervisor_tui.ui.app import SupervisorApp
from tests.helpers import make_config, settle, wait_for
from tests.test_toolkit_snapshots import bo_script


def console(db: Path | None = None) -> SupervisorApp:
    from tests.helpers import ScriptedSource

    return SupervisorApp(make_config(poll_interval_s=0.05), [ScriptedSource(bo_script())],
                         store=Store.open(db), user="sam")


def check_bo(row: dict[str, str]) -> None:
    # Bo (tests/test_toolkit_snapshots.bo_script): available 10:05:00-10:11:40 (400 s),
    # c7 on contact 10:11:40-10:16:40 then ACW to 10:19:30 (one handled, 470 s), on c9
    # since 10:19:30 (30 s by the frozen 10:20:00).
    assert row["name"] == "Bo" and row["team"] == "Red" and row["queues"] == "sales,support"
    assert row["handled"] == "1" and float(row["handle_s"]) == 470
    assert float(row["aht_s"]) == 470
    assert float(row["available_s"]) == 400
    assert float(row["on_contact_s"]) == 330 and float(row["acw_s"]) == 170
    assert float(row["logged_in_s"]) == 900
    assert float(row["occupancy"]) == pytest.approx(500 / 900, abs=1e-4)
    assert row["observed_since_utc"] == "2026-11-22T10:05:00Z"
    assert row["zone"] == "UTC"


async def test_e_on_the_agents_screen_exports_today_to_the_file_typed(tmp_path: Path) -> None:
    from supervisor_tui.ui.screens.escalations import DeskInput

    app = console()
    target = tmp_path / "agents.csv"
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: app.board is not None and
                       app.board.snapshot.taken_at == bo_script()[-1].taken_at)
        await pilot.press("a")
        await settle(pilot)
        await pilot.press("E")
        await settle(pilot)
        assert isinstance(app.screen, DeskInput)
        field = app.screen.query_one("#prompt-input")
        assert field.value.endswith("agents-2026-11-22.csv")  # type: ignore[attr-defined]
        field.value = str(target)  # type: ignore[attr-defined]
        await pilot.press("enter")
        await settle(pilot, 1)
        assert any("agent row(s) written to" in n.message for n in app._notifications)
    with target.open(encoding="utf-8") as f:
        reader = csv.DictReader(f)
        assert tuple(reader.fieldnames or ()) == AGENT_EXPORT_COLUMNS
        rows = {r["agent_id"]: r for r in reader}
    assert set(rows) == {"a1", "a2", "a3", "a4"}
    check_bo(rows["a2"])


async def test_export_agents_from_the_store_csv_and_json(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "s.db"
    app = console(db)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: app.board is not None and
                       app.board.snapshot.taken_at == bo_script()[-1].taken_at)
        app.state.record_history(app.board)  # (the minute's write, now)
    cfg = tmp_path / "c.toml"
    cfg.write_text('[console]\ntimezone = "UTC"\n')
    out = tmp_path / "agents.csv"
    assert main(["export", "agents", "--date", "2026-11-22", "--db", str(db),
                 "--config", str(cfg), "-o", str(out)]) == 0
    rows = {r["agent_id"]: r for r in csv.DictReader(out.open(encoding="utf-8"))}
    check_bo(rows["a2"])
    assert main(["export", "agents", "--date", "2026-11-22", "--db", str(db),
                 "--config", str(cfg), "--queue", "support", "--format", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["export"] == "agents" and doc["zone"] == "UTC"
    assert {r["agent_id"] for r in doc["rows"]} == {"a2", "a3", "a4"}  # serving support
    assert main(["export", "agents", "--date", "2026-11-21", "--db", str(db),
                 "--config", str(cfg)]) == 0
    assert "no stored agents" in capsys.readouterr().err


async def test_a_poll_is_painted_before_it_is_saved_and_the_last_one_saved_at_exit(
        tmp_path: Path) -> None:
    """Saving (history, the agents' day: ~1 s at 50,000 agents on a first poll) waits
    for the paint, so the numbers come first; a console closed before the save ran still
    writes its last poll."""
    from supervisor_tui.ui.widgets.grid import Grid

    db = tmp_path / "s.db"
    app = console(db)
    shown_at_save: list[int] = []
    save = app.state.record_history

    def watched(board):  # type: ignore[no-untyped-def]
        shown_at_save.append(len(app.screen.query_one("#queues", Grid).rows))
        return save(board)

    app.state.record_history = watched  # type: ignore[method-assign]
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: bool(shown_at_save))
        assert shown_at_save[0] > 0  # the first poll's queues were on screen already
        await wait_for(pilot, lambda: app.board is not None and
                       app.board.snapshot.taken_at == bo_script()[-1].taken_at)
        app._unsaved = app.board  # as if the app closes before its save ran
        app.state._last_history = None  # (the minute's sample is due)
    store = Store.open(db)
    try:
        assert {r["ts"] for r in store.history_since(bo_script()[0].taken_at)} >= {
            bo_script()[-1].taken_at.isoformat()}
    finally:
        store.close()
