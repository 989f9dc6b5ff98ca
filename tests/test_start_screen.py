"""``--screen``: the console opens on the screen asked for (a team lead's terminal on
the agents), builds only that one, and every other screen is a key away as usual."""

from __future__ import annotations

from pathlib import Path

import pytest

from supervisor_tui.cli import START_SCREENS, build_app, build_parser
from supervisor_tui.ui.app import SupervisorApp
from supervisor_tui.ui.screens.dashboard import DashboardScreen
from tests.helpers import make_config, screen_text, screen_title, wait_for


def console(tmp_path: Path, *options: str) -> SupervisorApp:
    config = tmp_path / "c.toml"
    config.write_text('[console]\ntimezone = "UTC"\npoll_interval_s = 0.2\n')
    args = build_parser().parse_args(["--config", str(config), "--db",
                                      str(tmp_path / "s.db"), *options])
    app = build_app(args)
    assert isinstance(app, SupervisorApp)
    return app


async def test_it_opens_on_the_agents_screen_with_its_data_and_no_dashboard_built(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    built: list[str] = []
    compose = DashboardScreen.compose

    def noted(self: DashboardScreen):  # type: ignore[no-untyped-def]
        built.append("dashboard")
        return compose(self)

    monkeypatch.setattr(DashboardScreen, "compose", noted)
    app = console(tmp_path, "--screen", "agents")
    async with app.run_test(size=(120, 30)) as pilot:
        await wait_for(pilot, lambda: app.board is not None)
        await pilot.pause(0.1)
        assert screen_title(app) == "Agents"
        text = screen_text(app)
        assert "60 of 60 agents" in text and "Ana A." in text  # the simulator's, live
        assert built == []
        await pilot.press("d")
        await wait_for(pilot, lambda: screen_title(app) == "Dashboard")
        await pilot.pause(0.1)
        assert built == ["dashboard"]
        assert "Waiting" in screen_text(app)  # the board, shown at once from the last poll


async def test_by_default_it_opens_on_the_dashboard(tmp_path: Path) -> None:
    app = console(tmp_path)
    async with app.run_test(size=(120, 30)) as pilot:
        await wait_for(pilot, lambda: app.board is not None)
        assert screen_title(app) == "Dashboard"


def test_every_screen_named_is_one_the_app_has() -> None:
    assert set(START_SCREENS) == set(SupervisorApp.MODES)
    with pytest.raises(ValueError, match="no screen"):  # (nor does the app take one)
        SupervisorApp(make_config(), [], screen="nowhere")


def test_a_screen_that_does_not_exist_is_a_usage_error(
        capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        build_parser().parse_args(["--screen", "nowhere"])
    assert exit_.value.code == 2
    assert "invalid choice: 'nowhere'" in capsys.readouterr().err
