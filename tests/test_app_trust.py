"""Numbers a supervisor can trust, as the screen shows them (issue: counts that add up,
per-channel headlines, windows named, small samples greyed, one clock, stale frozen)."""

from __future__ import annotations

import gc
import re
from datetime import timedelta

import pytest

from supervisor_tui.domain.model import QueueStats, Snapshot
from supervisor_tui.ui.widgets.kpi import KpiTile
from tests.helpers import (
    POLICY,
    T0,
    ScriptedSource,
    centre,
    close_slowly,
    make_app,
    make_config,
    screen_text,
    settle,
    wait_for,
)


def tile(app, tile_id: str) -> str:  # type: ignore[no-untyped-def]
    t = app.screen.query_one(f"#{tile_id}", KpiTile)
    return f"{t.title_text} | {t._value.plain} | {t._sub.plain}"


def later(first: Snapshot, minutes: int, extra: dict[str, dict[str, float]]) -> Snapshot:
    """``first`` ``minutes`` later, with ``extra`` counters added to today's."""
    now = first.taken_at + timedelta(minutes=minutes)
    day = {}
    for qid, stats in first.day_stats.items():
        add = extra.get(qid, {})
        day[qid] = QueueStats(**{**stats.model_dump(),
                                 **{k: getattr(stats, k) + v for k, v in add.items()}})
    snap = centre(now)
    return snap.model_copy(update={"day_stats": day})


async def test_tiles_name_their_window_and_channel_group_and_w_switches_it() -> None:
    first = centre()
    # 15 minutes on, Sales has had 20 more contacts: 19 answered in time, 1 short abandon.
    second = later(first, 15, {"sales": {"offered": 20, "answered": 19,
                                          "answered_within_threshold": 19, "abandoned": 1,
                                          "abandoned_short": 1, "wait_answered_s": 95}})
    app = make_app(ScriptedSource([first, second]))
    async with app.run_test(size=(160, 40)) as pilot:
        await settle(pilot, 3)
        assert app.board.taken_at == second.taken_at
        sl = tile(app, "kpi-sl")
        assert sl.startswith("SL 10:30")  # the interval, in the centre's clock
        assert sl.split(" | ")[2].startswith("live · ")  # ... of the live channel group
        await pilot.press("w")
        await pilot.pause(0.2)
        sl = tile(app, "kpi-sl")
        # The last 15 minutes: 19 answered in time of 19 (the short abandon is left out).
        assert sl.startswith("SL 15m | ✓ 100% | live"), sl
        assert "n 19" in sl
        abandon = tile(app, "kpi-abandon")
        assert abandon.startswith("Aband 15m"), abandon
        assert "0 of 19 · +1 short" in abandon  # 0 / (20 offered - 1 short)
        text = screen_text(app)
        # On screen, not only in the widgets: each tile's group and sample under its
        # value (the tiles were one line too short for it until 2026-12-08).
        assert "live · n 19" in text and "live · 0 of 19" in text, text
        assert "SL 15m" in text  # the queue table's header names the window too
        await pilot.press("w", "w", "w")  # 30m, 60m, then today
        await pilot.pause(0.2)
        assert tile(app, "kpi-sl").startswith("SL today")


async def test_a_figure_on_few_contacts_is_greyed_with_its_count() -> None:
    app = make_app(ScriptedSource([centre()]), make_config(min_sample=50))
    async with app.run_test(size=(160, 40)) as pilot:
        await settle(pilot)
        sl = app.screen.query_one("#kpi-sl", KpiTile)
        # Live group: Sales (24 of 32) + Support chat (10 of 10) = 34 of 42 contacts,
        # against targets weighted by contacts (80% x 32 + 90% x 10) / 42 = 82%.
        assert sl._value.plain == "! 81%·42", sl._value.plain
        assert sl.has_class("low_sample")
        text = screen_text(app)
        assert "75%·32" in text  # Sales row: 24 / (30 + 2), under the 50-contact minimum


async def test_enough_contacts_are_shown_plainly() -> None:
    app = make_app(ScriptedSource([centre()]), make_config(min_sample=10))
    async with app.run_test(size=(160, 40)) as pilot:
        await settle(pilot)
        sl = app.screen.query_one("#kpi-sl", KpiTile)
        assert "·" not in sl._value.plain
        assert not sl.has_class("low_sample")


async def test_the_clock_is_the_centres_zone_and_says_so() -> None:
    # 10:20 UTC on 22 November is 11:20 in Paris (CET); intervals are Paris's too.
    app = make_app(ScriptedSource([centre()]), make_config(timezone="Europe/Paris"))
    async with app.run_test(size=(160, 40)) as pilot:
        await settle(pilot)
        bar = screen_text(app).splitlines()[0]
        assert "11:20" in bar and "CET" in bar, bar
        assert "11:00-11:30" in bar
        assert "10:20" not in bar  # not the machine's (UTC) clock


async def test_waits_freeze_on_stale_data() -> None:
    source = ScriptedSource([centre()])
    app = make_app(source, make_config(stale_after_s=0.3))
    async with app.run_test(size=(160, 40)) as pilot:
        await settle(pilot)
        source.fail_with = "connection refused"
        await wait_for(pilot, app.state.is_stale)
        await pilot.pause(1.2)
        text = screen_text(app)
        assert "STALE" in text
        # c1 entered 95 s before the last data: it reads "at least 1:35", not a clock
        # that keeps running on numbers nobody updates.
        assert "≥1:35" in text, text
        assert "1:36" not in text and "1:37" not in text


async def test_status_follows_the_shown_percent() -> None:
    from supervisor_tui.domain.board import SLStatus, sl_status

    assert sl_status(0.796, 0.8) is SLStatus.OK  # shows "80%": on target
    assert sl_status(0.754, 0.8) is SLStatus.AT_RISK  # "75%": 5 points under
    assert sl_status(0.744, 0.8) is SLStatus.MISSED  # "74%"
    assert POLICY.minutes == 30 and T0.minute == 20


async def test_queue_detail_counts_add_up_and_show_short_abandons() -> None:
    app = make_app(ScriptedSource([centre()]))
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("enter")  # Sales
        await settle(pilot, 1)
        text = screen_text(app)

        def interval_and_today(label: str) -> tuple[str, str]:
            """A count row's first and last cells (the rolling window is between)."""
            row = next(line for line in text.splitlines()
                       if line.strip().startswith(label + "  "))
            cells = re.split(r" {2,}", row.split("▏")[0].strip())
            return cells[1], cells[-1]

        # 40 offered = 30 answered + 6 abandoned (4 counted, 2 short) + 4 flowed out.
        assert interval_and_today("Offered") == ("40", "40")
        assert interval_and_today("Answered") == ("30", "30")
        assert interval_and_today("Aband+short") == ("4+2", "4+2")
        # 4 / (40 - 2): short ones left out of both
        assert interval_and_today("Aband rate") == ("10.5%", "10.5%")
        assert interval_and_today("Flowed out") == ("4", "4")
        assert "effective" in text and "Erl" in text  # Erlang C shows its inputs
        # Over SSH at 80x24 every figure stays on its line: "4 (+2)" used to wrap its
        # "(+2)" under the next window's column, so it read as other numbers.
        await pilot.resize_terminal(80, 24)
        await settle(pilot, 1)
        text = screen_text(app)
        for label, cells in (("Aband+short", ["4+2", "0+0", "4+2"]),
                             ("Aband rate", ["10.5%", "—", "10.5%"])):
            row = next(ln for ln in text.splitlines() if ln.strip().startswith(label))
            assert row.split("▏")[0].split()[-3:] == cells, row


@pytest.mark.parametrize("source_down", [False, True], ids=["polls-land", "source-down"])
async def test_a_console_closing_while_its_clock_ticks_and_polls_land_exits_cleanly(
        source_down: bool) -> None:
    # Under run_test Textual takes each screen's widgets down while the app's timers and
    # the poller still run (a real run stops them first): a tick or a poll in between
    # found a dashboard without its grid (NoMatches), and failed a CI run at random.
    source = ScriptedSource([centre()])
    app = make_app(source, make_config(stale_after_s=0.3))

    def go_down() -> None:  # stale data: every tick re-renders the waits
        source.fail_with = "connection refused"

    # 0.1 s polls land; the 1 s clock ticks, once on data over 0.9 s old
    polls = close_slowly(app, 2.2 if source_down else 1.0, go_down if source_down else None)
    async with app.run_test(size=(160, 40)) as pilot:
        await settle(pilot)
    assert polls[1] > polls[0]  # polls did land while it closed
    assert app.problem is None or "display error" not in app.problem, app.problem
    assert gc.isenabled()  # held for a poll it never painted, let go as it closed
