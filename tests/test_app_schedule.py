"""Schedule adherence on the console, driven with keys at 80x24: a watched schedule file
imported into the store, the adherence columns, tile, team column and agent detail with
hand-computed values, the escalation once an agent is out N minutes, a changed and a
broken file, and the wall's count.

The centre (tests.helpers, times UTC, day 2026-11-22), grace 5 min, escalate after 10:
- Ana (Red) available since 09:55, scheduled Open 09:55-12:00: 25 min in at 10:20.
- Bo (Red) on a contact since 10:00, scheduled Break 10:00-10:30: out since 10:00,
  20 min scheduled, 20 - 5 grace = 15 min out; out 20 min >= 10: an escalation.
- Cy (Blue, matched by name) in ACW since 10:00, scheduled Open 09:00-11:00: 20 min in.
- Di is not in the schedule; Zed is in it but no source reports him.
Centre: (25 + 5 + 20) adhering of 65 scheduled minutes = 76.9 % -> "77%", 3 scheduled,
1 out. Red: 30 / 45 = 66.7 % -> "67%"; Blue 100 %.
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

from supervisor_tui.config import Config, parse_config
from supervisor_tui.domain.model import Agent, AgentState, AgentStateKind, Snapshot
from supervisor_tui.store import Store
from supervisor_tui.store.schedules import schedule_meta
from supervisor_tui.ui.app import SupervisorApp
from supervisor_tui.ui.widgets.grid import Grid
from tests.helpers import T0, ScriptedSource, centre, screen_text, screen_title, settle, wait_for

SCHEDULE = """agent,start,end,activity
a1,09:55,12:00,Open
a2,10:00,10:30,Break
a2,10:30,12:00,Open
cy,09:00,11:00,Open
Zed,09:00,17:00,Open
a9,10:00,xx,Open
"""


def snapshot(now_offset_min: float) -> Snapshot:
    now = T0 + timedelta(minutes=now_offset_min)
    snap = centre(now)
    base = snap.agents

    def moved(a: Agent, kind: AgentStateKind, since_min: float) -> Agent:
        return a.model_copy(update={"state": AgentState(
            kind=kind, since=T0 + timedelta(minutes=since_min))})

    agents = (moved(base[0], AgentStateKind.AVAILABLE, -25),
              moved(base[1], AgentStateKind.ON_CONTACT, -20),
              moved(base[2], AgentStateKind.AFTER_CONTACT_WORK, -20), base[3])
    return snap.model_copy(update={"agents": agents})


def config(watch: Path) -> Config:
    return parse_config({"console": {"timezone": "UTC", "poll_interval_s": 0.1},
                         "schedule": {"watch": str(watch), "grace_min": 5,
                                      "escalate_after_min": 10}}, "test")


def out_escalations(app: SupervisorApp) -> list[str]:
    return [e.id for e in app.escalations if e.kind == "agent_adherence"]


def line_of(app: SupervisorApp, name: str) -> str:
    return next(line for line in screen_text(app).splitlines()
                if f" {name} " in f" {line}")


async def test_watched_schedule_columns_tile_escalation_at_80x24(tmp_path: Path) -> None:
    watch = tmp_path / "today.csv"
    watch.write_text(SCHEDULE)
    db = tmp_path / "store.db"
    # 10:05 first (Bo out 5 min: no escalation yet), then 10:20 on every later poll
    source = ScriptedSource([snapshot(-15), snapshot(0)])
    app = SupervisorApp(config(watch), [source], store=Store.open(db), user="sam")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await wait_for(pilot, lambda: out_escalations(app) == ["agent-adherence:pbx:a2"])
        esc = next(e for e in app.escalations if e.kind == "agent_adherence")
        assert esc.first_seen == T0 - timedelta(minutes=10)  # out since 10:00, + 10 min
        assert esc.reason.startswith("Bo out of adherence: scheduled Break (away), is on a "
                                     "contact")
        # on the desk like the other agent rules
        await pilot.press("e")
        await wait_for(pilot, lambda: "Bo out of adherence: scheduled Break" in screen_text(app))
        await pilot.press("d")
        # imported into the store by this console, as its user
        store = Store.open(db)
        meta = schedule_meta(store, "2026-11-22")
        store.close()
        assert meta is not None and meta.origin == f"watch:{watch}"
        assert (meta.imported_by, meta.entries, meta.rejected) == ("sam", 5, 1)
        # the dashboard tile: "Adh today" / "77% n3"
        await pilot.pause(0.2)
        text = screen_text(app)
        assert "Adh today" in text and "77% n3" in text

        await pilot.press("a")
        await wait_for(pilot, lambda: screen_title(app) == "Agents")
        await pilot.pause(0.3)
        grid = app.screen.query_one("#agents", Grid)
        shown = [c.key for c, _ in grid._columns_for(grid.size.width)]
        assert {"adh", "out"} <= set(shown)
        assert "✗ OUT    15 Sales" in line_of(app, "Bo")  # in/OUT now, minutes out today
        assert "✓ in" in line_of(app, "Ana") and "✓ in" in line_of(app, "Cy")
        assert "✗" not in line_of(app, "Di") and "✓" not in line_of(app, "Di")
        assert "adherence 77% today · ✗ 1 OUT" in text_of_filters(app)
        # sortable: most minutes out first
        grid.sort_by("out")
        await pilot.pause(0.1)
        assert grid.rows[0].name == "Bo"

        # the agent detail: today's schedule beside the state history
        grid.move_to_key("pbx:a2")
        await pilot.press("enter")
        await pilot.pause(0.3)
        detail = screen_text(app)
        assert "Adhere  25%" in detail  # 5 of 20 scheduled minutes adhering
        assert "▶ 10:00-10:30 Break (away)" in detail and "✗ OUT since 10:00" in detail
        await pilot.press("escape")
        await pilot.pause(0.2)

        # the file changes: Bo's break moved to 10:30; picked up on a poll
        watch.write_text(SCHEDULE.replace("a2,10:00,10:30,Break\na2,10:30,12:00,Open",
                                          "a2,10:00,10:30,Open\na2,10:30,11:00,Break"))
        os.utime(watch, ns=(1, 1))
        await wait_for(pilot, lambda: "✓ in" in line_of(app, "Bo"))
        assert "adherence 100% today" in text_of_filters(app)

        # a broken file keeps the last good schedule and says why
        watch.write_text("who,when\n")
        os.utime(watch, ns=(2, 2))
        kept = "Keeping the last good schedule (10:20): schedule file"
        await wait_for(pilot, lambda: kept in text_of_filters(app))
        assert app.state.schedule.problem is not None  # (in full in the notice)
        assert "no column for agent, start, end, activity" in app.state.schedule.problem
        assert "✓ in" in line_of(app, "Bo")

        await pilot.press("M")
        await wait_for(pilot, lambda: screen_title(app) == "Teams")
        await pilot.pause(0.3)
        assert "100% n2" in line_of(app, "Red") and "100% n1" in line_of(app, "Blue")


def text_of_filters(app: SupervisorApp) -> str:
    from textual.widgets import Static

    return str(app.screen.query_one("#agent-filters", Static).render())


async def test_team_column_and_wall_count(tmp_path: Path) -> None:
    watch = tmp_path / "today.csv"
    watch.write_text(SCHEDULE)
    app = SupervisorApp(config(watch), [ScriptedSource([snapshot(0)])], store=Store.open(None))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("M")
        await wait_for(pilot, lambda: screen_title(app) == "Teams")
        await wait_for(pilot, lambda: "67% n2 ✗1" in screen_text(app))
        assert "100% n1" in line_of(app, "Blue")
    wall = SupervisorApp(config(watch), [ScriptedSource([snapshot(0)])],
                         store=Store.open(None), wall=True)
    async with wall.run_test(size=(200, 60)) as pilot:
        await settle(pilot)
        await pilot.press("a")  # the agents view
        await wait_for(pilot, lambda: "1 OUT OF ADHERENCE" in screen_text(wall))
        assert "adherence 77% today · 3 scheduled" in screen_text(wall)
        await wait_for(pilot, lambda: "ADH" in screen_text(wall))


async def test_a_restarted_console_continues_todays_adherence(tmp_path: Path) -> None:
    """The first console saves Bo's morning (10:00-10:20: 20 min scheduled, 15 out); it
    stops, Bo comes back at 10:35. A new console at 10:40 continues from the store:
    20 + 5 (10:35-10:40) scheduled, still 15 out; 10:20-10:35 was seen by nobody and is
    not judged. Without the stored figures it would say 5 scheduled, 0 out."""
    watch = tmp_path / "today.csv"
    watch.write_text(SCHEDULE)
    db = tmp_path / "store.db"
    first = SupervisorApp(config(watch), [ScriptedSource([snapshot(0)])], store=Store.open(db))
    async with first.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await wait_for(pilot, lambda: "pbx:a2" in first.state.schedule.now.by_agent)
    later = snapshot(20)
    bo = later.agents[1].model_copy(update={"state": AgentState(
        kind=AgentStateKind.AVAILABLE, since=T0 + timedelta(minutes=15))})
    later = later.model_copy(update={"agents": (later.agents[0], bo, *later.agents[2:])})
    second = SupervisorApp(config(watch), [ScriptedSource([later])], store=Store.open(db))
    async with second.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("a")
        await wait_for(pilot, lambda: "✓ in     15 Sales" in line_of(second, "Bo"))
        bo_now = second.state.schedule.now.by_agent["pbx:a2"]
        assert (bo_now.scheduled_s, bo_now.out_s) == (25 * 60, 15 * 60)
