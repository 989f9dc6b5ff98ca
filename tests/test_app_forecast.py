"""Forecast vs actual on the console: the intraday screen's forecast columns and chart,
the projected day SL, and "Need" from the forecast (Pilot at 80x24)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from supervisor_tui.domain import erlang
from supervisor_tui.domain.forecast import ForecastRow
from supervisor_tui.store.forecasts import save_forecast
from tests.helpers import T0, ScriptedSource, centre, make_app, screen_text, screen_title, settle
from tests.test_app_intraday import fill, line

NINE = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)  # T0 is 10:20 UTC, the centre's zone


def forecast(app) -> None:  # type: ignore[no-untyped-def]
    """Sales: 09:00-11:30 (10:30 and 11:00 with scheduled agents); Support: 10:00."""
    def at(minutes: int, contacts: float, scheduled: float | None = None) -> ForecastRow:
        return ForecastRow("sales", NINE + timedelta(minutes=minutes), 30, contacts, 240,
                           None, scheduled)

    rows = [at(0, 50), at(30, 16), at(60, 60), at(90, 60, 11), at(120, 30, 6),
            ForecastRow("support", NINE + timedelta(hours=1), 30, 30, 300)]
    save_forecast(app.store, rows, UTC, user="wfm", source_file="f.csv", now=T0)


async def test_intraday_shows_forecast_variance_and_staffing_at_80x24() -> None:
    app = make_app(ScriptedSource([centre()]))
    fill(app)
    forecast(app)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("I", "right_square_bracket")
        await settle(pilot, 1)
        assert screen_title(app) == "Intraday: Sales"
        text = screen_text(app)
        lines = text.splitlines()
        assert all(len(ln) <= 80 for ln in lines) and len(lines) == 24
        header = line(text, "Interval").split()
        assert header == ["Interval", "Off", "Fc", "Var", "Abn", "SL", "AHT", "FcAHT",
                          "Req/Sch/In"], header
        # 09:00: 40 offered against 50 forecast = -20%; 50 calls x 4 min = 6.7 Erlangs
        # need 10 agents for 80% in 20 s at most 85% busy; no scheduled column; 6 in.
        row = line(text, "09:00-09:30").split()
        assert row[1:4] == ["40", "50", "-20%"], row
        assert row[-2:] == ["4:00", "10/—/6"], row
        assert line(text, "09:30-10:00").split()[1:4] == ["20", "16", "+25%"]
        # Under way, 20 of 30 minutes gone: 40 offered against 60 x 2/3 = 40 forecast.
        assert line(text, "10:00-now").split()[1:4] == ["40", "40", "+0%"]
        # Later today, the forecast alone: 60 calls = 8 Erlangs need 11; 11 scheduled.
        later = line(text, "10:30-11:00").split()
        assert later[1:4] == ["—", "60", "—"] and later[-1] == "11/11/—", later
        # Projected day SL: so far 24 within of 32 counted; to come: a third of 10:00's
        # 60 at the 2 effective agents now (8 Erlangs: none within), 10:30's 60 with 11
        # scheduled, 11:00's 30 with 6.
        s1 = erlang.service_level(8, 11, 240, 20)
        s2 = erlang.service_level(4, 6, 240, 20)
        projected = (24 + 60 * s1 + 30 * s2) / (32 + 20 + 60 + 30)
        head = line(text, "Projected day SL").strip()
        assert head == (f"Projected day SL {projected:.0%}  so far 75% of 32, 110 to come "
                        "(logged in+scheduled)"), head
        assert "Forecast 216 today; recorded so far 100 vs 106 (-6%)" in text
        # The chart has the forecast as a second series under Offered.
        # 50, 16, 60, 60, 30 in eighths of the top (60): 7, 2, 8, 8, 4.
        assert line(text, "forecast").split() == ["forecast", "▇▂██▄"]
        # The live group sums its queues: at 10:00 Sales 40 + Support 10 offered against
        # (60 + 30) x 2/3 = 60 forecast; required 11 + 9 (Support's 5 Erlangs for 90% in
        # 60 s) agents; nothing scheduled for Support, so no sum of scheduled.
        await pilot.press("left_square_bracket")
        await settle(pilot, 1)
        assert screen_title(app).startswith("Intraday: All live")
        support_need = erlang.staffing(30, 1800, 300, 0.9, 60, 0.85).agents
        now_row = line(screen_text(app), "10:00-now").split()
        assert now_row[1:4] == ["50", "60", "-17%"], now_row
        assert now_row[-1].startswith(f"{11 + support_need}/—/"), now_row
        await pilot.press("right_square_bracket")
        await settle(pilot, 1)
        # f: back to last week's columns.
        await pilot.press("f")
        await settle(pilot, 1)
        assert "LW SL" in screen_text(app) and "Req/Sch/In" not in screen_text(app)


async def test_without_a_forecast_the_screen_is_as_before() -> None:
    app = make_app(ScriptedSource([centre()]))
    fill(app)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("I", "right_square_bracket")
        await settle(pilot, 1)
        text = screen_text(app)
        assert "LW SL" in text and "Fc" not in line(text, "Interval").split()
        assert "Projected" not in text


async def test_need_uses_the_forecast_and_says_so() -> None:
    app = make_app(ScriptedSource([centre()]))
    forecast(app)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        text = screen_text(app)
        header = line(text, "Queue")
        col = header.index("Need")
        # 10:00's forecast for Sales, 60 calls x 4 min = 8 Erlangs: 11 agents for 80% in
        # 20 s at most 85% busy (the live rates would say otherwise), red: 2 effective.
        sales = line(text, "Sales")
        assert sales[col - 2:col + 4].split() == ["11", "fc"], sales
        # Support's 10:00: 30 chats x 5 min = 5 Erlangs for 90% in 60 s.
        need = erlang.staffing(30, 1800, 300, 0.9, 60, 0.85).agents
        support = line(text, "Support")
        assert support[col - 2:col + 4].split() == [str(need), "fc"], support
        await pilot.press("enter")  # Sales's detail
        await settle(pilot, 1)
        assert screen_title(app) == "Queue: Sales"
        detail = screen_text(app)
        assert "Needed now 11 (fc)  effective 2.0  short 9.0" in detail
        assert "forecast 30-min interval: 60 × 4:00 AHT (Erlang C)" in detail
