"""Export from the Abandoned screen (x) and the escalation desk (E: x resolves there),
driven at 80x24 on the simulator as a supervisor would, the files read back by a
parser: what the screens showed is in them, with what was done about it."""

from __future__ import annotations

import csv
from pathlib import Path

from supervisor_tui.export_events import ABANDONED_EXPORT_COLUMNS, ESCALATION_EXPORT_COLUMNS
from supervisor_tui.store import Store
from supervisor_tui.ui.app import SupervisorApp
from supervisor_tui.ui.screens.abandoned import AbandonedScreen
from supervisor_tui.ui.screens.escalations import DeskInput, EscalationDeskScreen
from supervisor_tui.ui.widgets.grid import Grid
from tests.helpers import make_config, screen_text, wait_for
from tests.test_serve_sim import make_sim


def console(db: Path) -> SupervisorApp:
    return SupervisorApp(make_config(), [make_sim()], store=Store.open(db), user="sam")


def text(app: SupervisorApp) -> str:
    return " ".join(screen_text(app).split())


async def export_to(pilot, key: str, path: Path | str) -> str:  # type: ignore[no-untyped-def]
    """Press the export key, check the suggested path, type ``path``: the notice."""
    app = pilot.app
    seen = len(app._notifications)
    await pilot.press(key)
    await wait_for(pilot, lambda: isinstance(app.screen, DeskInput))
    field = app.screen.query_one("#prompt-input")
    suggested = field.value
    field.value = str(path)
    await pilot.press("enter")
    await wait_for(pilot, lambda: len(app._notifications) > seen)
    return f"{suggested} | {list(app._notifications)[-1].message}"


async def test_x_on_the_abandoned_screen_writes_todays_contacts(tmp_path: Path) -> None:
    app = console(tmp_path / "s.db")
    target = tmp_path / "out" / "abandoned.csv"
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: app.board is not None)
        await pilot.press("A")
        await wait_for(pilot, lambda: isinstance(app.screen, AbandonedScreen)
                       and "Abandoned today" in text(app))
        assert "x Export" in screen_text(app).splitlines()[-1]
        grid = app.screen.query_one("#abandoned", Grid)
        first = grid.rows[0].ab
        await pilot.press("b")  # call the first customer back on the simulator
        await wait_for(pilot, lambda: "y confirms" in text(app))
        await pilot.press("y")
        await wait_for(pilot, lambda: "queued (sim) · waiting" in text(app))
        said = await export_to(pilot, "x", target)
        assert "/exports/abandoned-2026-11-22.csv |" in said  # suggested: the data dir
        assert "row(s) written to" in said
        assert app.board is not None
        listed = app.board.snapshot.abandoned
        rows = list(csv.DictReader(target.open(encoding="utf-8", newline="")))
        assert tuple(rows[0]) == ABANDONED_EXPORT_COLUMNS
        # Every abandon of the day, short ones too (hidden on screen until h), once.
        assert sorted(r["abandoned_id"] for r in rows) == sorted(a.id for a in listed)
        assert sum(r["short"] == "true" for r in rows) == sum(a.short for a in listed)
        called = next(r for r in rows if r["abandoned_id"] == first.id)
        assert (called["callback"], called["callback_state"]) == ("source", "queued")
        assert called["customer"] == first.customer and called["tier"] == first.tier.value
        assert f"{len(rows)} abandoned contact row(s) written to {target}" in said
        # The same file again is refused and kept; a relative path is refused.
        said = await export_to(pilot, "x", target)
        assert "Not exported" in said and "File exists" in said
        assert len(list(csv.DictReader(target.open(encoding="utf-8")))) == len(rows)
        said = await export_to(pilot, "x", "abandoned.csv")
        assert "not a full path" in said and not Path("abandoned.csv").exists()


async def test_e_on_the_desk_writes_who_took_what_and_when(tmp_path: Path) -> None:
    app = console(tmp_path / "s.db")
    target = tmp_path / "escalations.csv"
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: app.board is not None)
        await pilot.press("e")
        await wait_for(pilot, lambda: isinstance(app.screen, EscalationDeskScreen))
        grid = app.screen.query_one("#desk", Grid)
        await wait_for(pilot, lambda: len(grid.rows) > 1)
        taken = grid.cursor_row
        assert taken is not None
        await pilot.press("t")
        await wait_for(pilot, lambda: "— done — u to undo" in text(app))
        await pilot.press("n", *"calling back", "enter")
        await wait_for(pilot, lambda: "Note saved" in text(app))
        await pilot.press("down")
        acked = grid.cursor_row
        assert acked is not None and acked.id != taken.id
        await pilot.press("k")
        await wait_for(pilot, lambda: "Acknowledged" in text(app))
        said = await export_to(pilot, "E", target)
        assert "/exports/escalations-2026-11-22.csv |" in said
        rows = list(csv.DictReader(target.open(encoding="utf-8", newline="")))
        assert tuple(rows[0]) == ESCALATION_EXPORT_COLUMNS
        assert f"{len(rows)} escalation row(s) written to {target}" in said
        by_id = {r["escalation_id"]: r for r in rows}
        # Every escalation the desk had is in the file, once.
        assert {e.id for e in app.escalations} <= set(by_id)
        assert len(by_id) == len(rows)
        mine = by_id[taken.id]
        assert (mine["taken_by"], mine["notes"], mine["kind"]) == (
            "sam", "1", taken.kind.value)
        assert mine["first_seen_utc"] == taken.first_seen.strftime("%Y-%m-%dT%H:%M:%SZ")
        assert float(mine["minutes_to_take"]) >= 0 and mine["acknowledged_by"] == ""
        other = by_id[acked.id]
        assert other["acknowledged_by"] == "sam" and other["taken_by"] == ""
        assert other["minutes_to_take"] == "" and other["notes"] == "0"
        assert mine["zone"] == "UTC" and mine["first_seen_local"].endswith("+00:00")
