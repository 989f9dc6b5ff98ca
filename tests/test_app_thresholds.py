"""The Thresholds screen (T), driven by key: an admin edits a queue's SL target (a
nonsense value is refused with the reason), confirms with y, sees it on the dashboard,
and puts the config's value back; a supervisor sees the values read-only, and a change
key pressed anyway says why and is audited."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from textual.widgets import Input

from supervisor_tui.config import Config, parse_config
from supervisor_tui.domain.escalation import EscalationKind
from supervisor_tui.store import Store
from supervisor_tui.ui.app import SupervisorApp
from supervisor_tui.ui.screens.thresholds import ThresholdsScreen
from supervisor_tui.ui.widgets.grid import Grid
from tests.dialog_helpers import RecordingSource
from tests.helpers import T0, centre, screen_text, wait_for

KEY = "queue.sales.sl_target"


def config() -> Config:
    return parse_config({"console": {"timezone": "UTC", "poll_interval_s": 0.1},
                         "roles": {"users": {"ada": "admin"}}}, "test")


def console(db: Path, user: str) -> SupervisorApp:
    return SupervisorApp(config(), [RecordingSource([centre()])], store=Store.open(db),
                         user=user)


def text(app: SupervisorApp) -> str:
    return " ".join(screen_text(app).split())


def footer(app: SupervisorApp) -> str:
    return screen_text(app).splitlines()[-1]


async def open_thresholds(pilot) -> Grid:  # type: ignore[no-untyped-def]
    app = pilot.app
    await wait_for(pilot, lambda: app.board is not None)
    await pilot.press("T")
    await wait_for(pilot, lambda: isinstance(app.screen, ThresholdsScreen)
                   and KEY in text(app))
    grid = app.screen.query_one("#thresholds", Grid)
    assert grid.move_to_key(KEY)
    await pilot.pause(0.05)
    return grid


def sales_target(app: SupervisorApp) -> float:
    assert app.board is not None
    return app.board.rows_by_id["sales"].queue.sl_target


@pytest.mark.parametrize("size", [(80, 24), (200, 60)])
async def test_an_admin_edits_confirms_sees_it_and_resets(tmp_path: Path,
                                                          size: tuple[int, int]) -> None:
    db = tmp_path / "s.db"
    app = console(db, "ada")
    async with app.run_test(size=size) as pilot:
        await open_thresholds(pilot)
        await wait_for(pilot, lambda: "Edit" in footer(app) and "Reset" in footer(app))
        await pilot.press("enter")
        field = app.screen.query_one("#edit-input", Input)
        await wait_for(pilot, lambda: field.has_focus)
        assert field.value == "0.8"
        field.value = "1.5"  # nonsense: refused with the config model's own reason
        await pilot.press("enter")
        await wait_for(pilot, lambda: "less than or equal to 1" in text(app))
        assert Store.open(db).live_settings() == {}
        field.value = "70%"
        await pilot.press("enter")
        await wait_for(pilot, lambda: "y confirms" in text(app))
        assert sales_target(app) == 0.8  # not before y
        await pilot.press("y")
        await wait_for(pilot, lambda: "✓ queue.sales.sl_target = 70%" in text(app))
        await wait_for(pilot, lambda: sales_target(app) == 0.7)
        await wait_for(pilot, lambda: "70% *live" in text(app) and "ada" in text(app))
        assert app.audit is not None
        done = [r for r in app.audit.records() if r["action"] == "live_settings"]
        assert [r["outcome"] for r in done] == ["allowed", "done"]
        assert done[-1]["subject"] == KEY and done[-1]["role"] == "admin"
        params = done[-1]["params"]
        params = params if isinstance(params, dict) else json.loads(params)
        assert (params["key"], params["before"], params["after"]) == (KEY, 0.8, 0.7)
        await pilot.press("d")  # the dashboard: SL status against the live target
        await wait_for(pilot, lambda: app.board is not None
                       and app.board.rows_by_id["sales"].live_target)
        if size[0] >= 200:
            await wait_for(pilot, lambda: "70%/20s*" in text(app))
        await open_thresholds(pilot)
        await pilot.press("backspace")
        await wait_for(pilot, lambda: "the config's 80%" in text(app))
        await pilot.press("y")
        await wait_for(pilot, lambda: sales_target(app) == 0.8)
        row = Store.open(db).live_settings()[KEY]
        assert row["value"] is None and row["updated_by"] == "ada"


async def test_a_supervisor_sees_values_read_only_and_is_refused_audited(
        tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    app = console(db, "sam")
    async with app.run_test(size=(120, 30)) as pilot:
        await open_thresholds(pilot)
        await wait_for(pilot, lambda: "Read-only: sam is a supervisor; live settings needs "
                       "admin" in text(app))
        for key in ("Edit", "Confirm", "Reset"):
            assert key not in footer(app), (key, footer(app))
        await pilot.press("enter")  # from habit: answers and records
        await wait_for(pilot, lambda: "live settings needs admin" in " ".join(
            str(n.message) for n in app._notifications))
        assert not app.screen.has_class("-editing")
        await pilot.press("backspace")
        assert app.audit is not None
        records = [r for r in app.audit.records() if r["action"] == "live_settings"]
        assert [(r["role"], r["outcome"], r["subject"]) for r in records] == [
            ("supervisor", "refused", KEY)] * 2
        assert Store.open(db).live_settings() == {}


async def test_a_change_made_elsewhere_reaches_this_console_at_its_next_poll(
        tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    app = console(db, "sam")
    async with app.run_test(size=(120, 30)) as pilot:
        await wait_for(pilot, lambda: app.board is not None)
        assert EscalationKind.AGENT_ACW not in app.notices.muted
        other = Store.open(db)  # another admin's console on the same store
        assert other.set_live_setting("notify.mute", '["agent_acw"]', "ada", T0, 0).done
        assert other.set_live_setting("escalations.acw_limit_s", "900", "ada", T0, 0).done
        assert other.set_live_setting(KEY, "0.7", "ada", T0, 0).done
        await wait_for(pilot, lambda: EscalationKind.AGENT_ACW in app.notices.muted)
        await wait_for(pilot, lambda: sales_target(app) == 0.7)
        assert app.config.escalations.acw_limit_s == 900
        assert app.state.base_config.escalations.acw_limit_s == 120
        assert app.notices.config.mute == [EscalationKind.AGENT_ACW]
