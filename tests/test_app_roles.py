"""Role-aware footers and the status bar: a viewer is not offered keys it cannot use,
everyone sees who they are acting as, and a console whose store cannot be written
says so for as long as it runs."""

from __future__ import annotations

from pathlib import Path

import pytest

from supervisor_tui.cli import build_app, build_parser
from supervisor_tui.store import Store
from supervisor_tui.ui.app import SupervisorApp
from tests.helpers import T0, ScriptedSource, centre, make_config, screen_text, wait_for

SIZE = (160, 30)  # wide enough for every footer key to fit
DESK_KEYS = ("k Acknowledge", "t Take", "x Resolve", "n Note", "r Reassign",
             "m Move agents")
DETAIL_KEYS = ("r Reassign", "o Overflow", "m Move agents")


def console(read_only: bool, **config: object) -> SupervisorApp:
    return SupervisorApp(make_config(poll_interval_s=3600, **config),
                         [ScriptedSource([centre()])], store=Store.open(None),
                         clock=lambda: T0, monotonic=lambda: 1000.0, user="sam",
                         read_only=read_only)


def footer(app: SupervisorApp) -> str:
    return screen_text(app).splitlines()[-1]


def status(app: SupervisorApp) -> str:
    return screen_text(app).splitlines()[0]


@pytest.mark.parametrize("read_only", [False, True], ids=["supervisor", "viewer"])
async def test_the_footer_offers_only_keys_the_role_can_use(read_only: bool) -> None:
    app = console(read_only)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.board is not None)
        await pilot.press("e")
        await wait_for(pilot, lambda: "Escalations" in status(app))
        await pilot.pause(0.1)
        for key in DESK_KEYS:
            assert (key in footer(app)) is not read_only, (key, footer(app))
        assert "Open" in footer(app)  # looking around stays
        await pilot.press("d", "enter")  # the first queue's detail
        await wait_for(pilot, lambda: "Back" in footer(app))
        for key in DETAIL_KEYS:
            assert (key in footer(app)) is not read_only, (key, footer(app))


async def test_a_viewer_pressing_a_hidden_key_is_refused_with_the_reason() -> None:
    """Not offered is not dead: the key still answers, refuses, and the attempt is in
    the audit log like any other refusal."""
    app = console(read_only=True)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.board is not None)
        await pilot.press("e")
        await wait_for(pilot, lambda: bool(app.escalations))
        await pilot.press("x")
        await wait_for(pilot, lambda: app.audit is not None and app.audit.records())
        assert "sam is a viewer" in screen_text(app) + " ".join(
            n.message for n in app._notifications)
        assert app.store is not None and app.store.escalation_states() == {}
        [record] = app.audit.records()  # type: ignore[union-attr]
        assert (record["user"], record["role"], record["outcome"]) == (
            "sam", "viewer", "refused")
        for key in DESK_KEYS:  # and the footer still does not offer them
            assert key not in footer(app)


async def test_the_crisis_keys_follow_the_crisis_roles() -> None:
    """Crisis needs admin for declare/send/resolve; a supervisor keeps the note."""
    app = console(read_only=False)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.board is not None)
        await pilot.press("c")
        await wait_for(pilot, lambda: "Crisis" in status(app))
        await pilot.pause(0.1)
        bar = footer(app)
        for key in ("i Declare", "s Send", "u Follow-up", "r Resolve"):
            assert key not in bar, (key, bar)
        assert "t Timeline" in bar and "x Export" in bar


@pytest.mark.parametrize("read_only,role", [(False, "supervisor"), (True, "viewer")])
async def test_the_status_bar_shows_who_and_which_role(read_only: bool, role: str) -> None:
    app = console(read_only)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: app.board is not None)
        await pilot.pause(0.1)
        assert f"sam ({role})" in status(app)
        await pilot.press("a")  # on every screen
        await wait_for(pilot, lambda: "Agents" in status(app))
        assert f"sam ({role})" in status(app)
        assert "NOT SHARED" not in screen_text(app)


async def test_an_unwritable_db_says_not_shared_for_the_whole_run(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where the store's directory should be")
    config = tmp_path / "c.toml"
    config.write_text('[console]\ntimezone = "UTC"\npoll_interval_s = 0.1\n'
                      "[store]\nhistory_every_s = 0.1\n")
    args = build_parser().parse_args(["--config", str(config), "--db",
                                      str(blocker / "supervisor.db")])
    app = build_app(args)
    assert isinstance(app, SupervisorApp)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: app.board is not None)
        await pilot.pause(0.1)
        assert "NOT SHARED · NOT AUDITED" in status(app)
        # History is then "saved" (in memory), which clears app.state.problem at the first
        # record: the standing warning must not go with it.
        await wait_for(pilot, lambda: app.state.problem is None)
        await pilot.pause(0.3)
        assert "NOT SHARED · NOT AUDITED" in status(app)
        await pilot.press("e")
        await wait_for(pilot, lambda: "Escalations" in status(app))
        assert "NOT SHARED · NOT AUDITED" in status(app)


async def test_an_audit_log_that_cannot_open_says_not_audited(tmp_path: Path) -> None:
    (tmp_path / "bad.key").write_text("not hex\n")
    config = tmp_path / "c.toml"
    config.write_text('[console]\ntimezone = "UTC"\npoll_interval_s = 0.1\n'
                      '[audit]\nkey_file = "bad.key"\n')
    args = build_parser().parse_args(["--config", str(config), "--db",
                                      str(tmp_path / "s.db")])
    app = build_app(args)
    assert isinstance(app, SupervisorApp)
    async with app.run_test(size=(100, 24)) as pilot:
        await wait_for(pilot, lambda: app.board is not None)
        await pilot.pause(0.1)
        line = status(app)
        assert "NOT AUDITED" in line and "NOT SHARED" not in line
        assert app.actions.refusal("escalation") is not None  # and nothing can be done


async def test_a_wall_does_not_name_whoever_runs_it() -> None:
    app = SupervisorApp(make_config(poll_interval_s=3600), [ScriptedSource([centre()])],
                        store=Store.open(None), clock=lambda: T0, monotonic=lambda: 1000.0,
                        user="kiosk", wall=True)
    async with app.run_test(size=(120, 30)) as pilot:
        await wait_for(pilot, lambda: app.board is not None)
        await pilot.pause(0.2)
        assert "WALL" in status(app) and "kiosk" not in screen_text(app)


async def test_a_read_only_db_file_says_not_shared_too(tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """A store file the account may not write opens (SQLite reads it); the console must
    not pretend its actions are kept. (Tests run as root, who may write anything, so
    the permission check is made to answer as it would for a supervisor's account.)"""
    import os

    db = tmp_path / "s.db"
    Store.open(db).close()
    real_access = os.access
    monkeypatch.setattr(os, "access", lambda p, mode, **kw: False if Path(p) == db
                        and mode == os.W_OK else real_access(p, mode, **kw))
    app = build_app(build_parser().parse_args(["--db", str(db)]))
    assert isinstance(app, SupervisorApp)
    async with app.run_test(size=(100, 24)) as pilot:
        await wait_for(pilot, lambda: app.board is not None)
        await pilot.pause(0.1)
        assert "NOT SHARED · NOT AUDITED" in status(app)
