"""Survey figures on the console, driven with keys at 80x24: the CSAT tile appears once a
response is in the store, a VIP's low score is a desk item taken like any other, the
agent detail and the teams summary say CSAT and NPS with their n; wider, the team
columns and the queue detail."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from supervisor_tui.domain.model import Tier
from supervisor_tui.domain.surveys import SurveyResponse, SurveyTool
from supervisor_tui.store import Store
from supervisor_tui.store.surveys import save_surveys
from supervisor_tui.ui.app import SupervisorApp
from supervisor_tui.ui.screens.escalations import EscalationDeskScreen
from supervisor_tui.ui.widgets.grid import Grid
from supervisor_tui.ui.widgets.kpi import KpiTile
from tests.helpers import T0, ScriptedSource, centre, make_config, screen_text, wait_for

UTC_ZONE = ZoneInfo("UTC")
AT = T0 - timedelta(minutes=40)


def responses() -> list[SurveyResponse]:
    def r(rid: str, **kw: object) -> SurveyResponse:
        return SurveyResponse(tool=SurveyTool.GENERIC, response_id=rid, answered_at=AT,
                              **kw)  # type: ignore[arg-type]
    # Ana (a1, team Red): CSAT 1 (a VIP, NPS 2) and 5 -> 50 % (n=2), NPS +0 (n=2).
    # Bo by name (team Red): CSAT 4 -> Red 67 % (n=3). Cy (Blue): NPS 9 only.
    # The customer's name is hostile (markup, an escape): shown as text, cleaned.
    return [r("v1", csat=1, nps=2, tier=Tier.VIP, customer="[b]cust-99\x1b[2J", agent="a1",
              queue="sales", contact_id="c7"),
            r("v2", csat=5, nps=10, agent="a1", queue="sales"),
            r("v3", csat=4, agent="Bo", queue="support"),
            r("v4", nps=9, agent="a3", queue="support")]


def app_on(db: Path) -> SupervisorApp:
    config = make_config(poll_interval_s=0.2)
    config = config.model_copy(update={"surveys": config.surveys.model_copy(
        update={"refresh_s": 1.0})})
    return SupervisorApp(config, [ScriptedSource([centre()])], store=Store.open(db),
                         user="ann")


async def test_tile_desk_and_agent_detail_at_80x24(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    app = app_on(db)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: app.board is not None)
        tile = app.screen.query_one("#kpi-csat", KpiTile)
        await pilot.pause(0.3)
        assert not tile.display and "CSAT" not in screen_text(app)  # no response: no tile
        # The collector (or an import) writes today's responses to the shared store.
        writer = Store.open(db)
        save_surveys(writer, responses(), UTC_ZONE, AT)
        writer.close()
        # CSAT 1, 5, 4: two of three satisfied (4-5) = 67 %, n under min_sample (10).
        await wait_for(pilot, lambda: tile.display and "67%·3" in screen_text(app))
        assert "█ CSAT" in screen_text(app)  # (its title, cut to the tile at 80 columns)
        # The VIP's low score is on the desk: one warning, taken with t.
        await pilot.press("e")
        await wait_for(pilot, lambda: isinstance(app.screen, EscalationDeskScreen))
        grid = app.screen.query_one("#desk", Grid)
        eid = "survey-low:generic:v1"
        await wait_for(pilot, lambda: any(e.id == eid for e in grid.rows))
        for _ in range(len(grid.rows)):
            if grid.cursor_key == eid:
                break
            await pilot.press("down")
        assert grid.cursor_key == eid
        assert "VIP low score: CSAT 1/5, NPS 2/10 from [b]cust-99" in screen_text(app)
        await pilot.press("t")
        await wait_for(pilot, lambda: app.store is not None
                       and app.store.escalation_states().get(eid, {}).get("owner") == "ann")
        # Ana's detail (Enter on the agents screen) has her scores with their n.
        await pilot.press("a")
        await wait_for(pilot, lambda: "Ana" in screen_text(app))
        await pilot.press("enter")
        await wait_for(pilot, lambda: "Surveys CSAT" in screen_text(app))
        assert "Surveys CSAT 50% (n=2) avg 3.0/5 · NPS +0 (n=2)" in screen_text(app)
        await pilot.press("escape")
        # Teams (M) at 80 columns: the columns give way, the summary line says it.
        await pilot.press("M")
        await wait_for(pilot, lambda: "Surveys today" in screen_text(app))
        assert "CSAT 67% (n=3)" in screen_text(app)


async def test_team_columns_and_queue_detail_when_wide(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    store = Store.open(db)
    save_surveys(store, responses(), UTC_ZONE, AT)
    store.close()
    app = app_on(db)
    async with app.run_test(size=(160, 30)) as pilot:
        await wait_for(pilot, lambda: app.board is not None)
        await pilot.press("M")
        await wait_for(pilot, lambda: " CSAT " in screen_text(app))
        lines = screen_text(app).splitlines()
        red = next(line for line in lines if line.lstrip().startswith("Red "))
        blue = next(line for line in lines if line.lstrip().startswith("Blue "))
        # Red: CSAT 1, 5, 4 -> 67 % n3; NPS 2, 10 -> +0 n2. Blue: NPS 9 -> +100 n1.
        assert red.split()[-4:] == ["67%", "n3", "+0", "n2"]
        assert blue.split()[-3:] == ["—", "+100", "n1"]
        await pilot.press("d")
        await wait_for(pilot, lambda: "Sales" in screen_text(app))
        await pilot.press("enter")  # the first queue: Sales
        await wait_for(pilot, lambda: "Surveys today" in screen_text(app))
        print(screen_text(app))
        assert "Surveys today CSAT 50% (n=2) avg 3.0/5 · NPS +0 (n=2)" in screen_text(app)
