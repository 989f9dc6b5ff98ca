"""Escalation desk: take, note, resolve — shared by two consoles on one database."""

from __future__ import annotations

from pathlib import Path

from supervisor_tui.app import SupervisorApp
from supervisor_tui.store import Store
from supervisor_tui.widgets.grid import Grid
from tests.helpers import ScriptedSource, centre, make_config, screen_text, wait_for


def console(db: Path, user: str, read_only: bool = False) -> SupervisorApp:
    return SupervisorApp(make_config(poll_interval_s=0.2), [ScriptedSource([centre()])],
                         store=Store.open(db), user=user, read_only=read_only)


async def open_desk(pilot) -> Grid:  # type: ignore[no-untyped-def]
    await wait_for(pilot, lambda: pilot.app.board is not None)
    await pilot.press("e")
    grid = pilot.app.screen.query_one("#desk", Grid)
    await wait_for(pilot, lambda: len(grid.rows) > 0)
    return grid


async def test_desk_lists_escalations_most_severe_first(tmp_path: Path) -> None:
    app = console(tmp_path / "s.db", "ann")
    async with app.run_test(size=(120, 30)) as pilot:
        grid = await open_desk(pilot)
        severities = [e.severity for e in grid.rows]
        assert severities[0] == "critical" and "VIP" in grid.rows[0].reason
        assert severities == sorted(severities, key=["critical", "warning", "info"].index)
        assert "‼ 1 critical" in screen_text(app)


async def test_two_consoles_share_ownership_and_notes(tmp_path: Path) -> None:
    db = tmp_path / "shared.db"
    ann, bob = console(db, "ann"), console(db, "bob")
    async with ann.run_test(size=(120, 30)) as pa, bob.run_test(size=(120, 30)) as pb:
        grid_a = await open_desk(pa)
        vip = grid_a.cursor_key
        await pa.press("t")  # ann takes the VIP escalation
        await pa.press("n", *"calling back", "enter")
        await wait_for(pa, lambda: "◉ ann" in screen_text(ann))
        grid_b = await open_desk(pb)
        # Within one poll bob's console shows ann as the owner, and her note.
        await wait_for(pb, lambda: "◉ ann" in screen_text(bob))
        assert grid_b.cursor_key == vip
        await wait_for(pb, lambda: "calling back" in screen_text(bob))
        await pb.press("t")  # bob cannot take it from her: refused, and the refusal kept
        await wait_for(pb, lambda: any(r["user"] == "bob" for r in bob.audit.records()))
        assert bob.audit.records()[-1]["response"] == "already taken by ann"
        assert "◉ ann" in screen_text(bob)
        await pa.press("x")  # ann resolves it: it leaves both desks
        await wait_for(pb, lambda: all(e.id != vip for e in grid_b.rows))
        records = ann.audit.records()
        assert [(r["user"], r["outcome"]) for r in records] == [
            ("ann", "done"), ("ann", "done"), ("bob", "failed"), ("ann", "done")]


async def test_viewer_cannot_take(tmp_path: Path) -> None:
    app = console(tmp_path / "s.db", "guest", read_only=True)
    async with app.run_test(size=(120, 30)) as pilot:
        await open_desk(pilot)
        await pilot.press("t")
        await wait_for(pilot, lambda: len(app.audit.records()) == 1)
        assert app.audit.records()[0]["outcome"] == "refused"
        assert "needs supervisor" in app.audit.records()[0]["response"]
        assert "◉" not in screen_text(app).split("Why")[1]


async def test_new_critical_is_announced_and_can_be_silenced(tmp_path: Path) -> None:
    from datetime import timedelta

    from tests.helpers import T0

    calm = centre(now=T0 - timedelta(minutes=2))
    calm = calm.model_copy(update={"contacts": (), "agents": calm.agents[:2]})
    for announce in (True, False):
        app = SupervisorApp(make_config(poll_interval_s=0.2, announce=announce, bell=False),
                            [ScriptedSource([calm, centre()])],
                            store=Store.open(tmp_path / f"{announce}.db"), user="ann")
        async with app.run_test(size=(120, 30)) as pilot:
            await wait_for(pilot, lambda a=app: any(e.severity == "critical"
                                                    for e in a.escalations))
            await pilot.pause(0.2)
            notices = [n.message for n in app._notifications]
            assert any("VIP" in m for m in notices) is announce
