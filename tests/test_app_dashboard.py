"""Drive the console as a supervisor would, on a hand-built centre with known numbers."""

from __future__ import annotations

from supervisor_tui.ui.widgets.grid import Grid
from supervisor_tui.ui.widgets.kpi import KpiTile
from tests.helpers import (
    ScriptedSource,
    centre,
    help_rows,
    make_app,
    make_config,
    screen_text,
    screen_title,
    settle,
    shown_in,
    wait_for,
)


async def test_dashboard_shows_queues_kpis_and_escalations() -> None:
    app = make_app(ScriptedSource([centre()]))
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        text = screen_text(app)
        assert "Sales" in text and "Support" in text
        assert "! 75%" in text  # Sales: 24 / (30 + 2): 5 points under 80% = at risk
        assert "✓ 100%" in text  # Support
        # The Waiting tile: c1 and c2 in Sales, c3 in Support ("3" alone is in the clock).
        title, value = (line.strip("│┃ ") for line in
                        shown_in(app, app.screen.query_one("#kpi-waiting", KpiTile))[1:3])
        assert (title, value) == ("Waiting", "3")
        assert "1 contact(s) waiting past" in text  # c1: 95 s on a 20 s queue
        assert "VIP" in text
        assert "● pbx" in text


async def test_cursor_stays_on_its_queue_across_polls() -> None:
    source = ScriptedSource([centre()])
    app = make_app(source)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        grid = app.screen.query_one("#queues", Grid)
        await pilot.press("down")
        assert grid.cursor_key == "support"
        # Re-sorted data: support now comes first; the cursor follows the key.
        await pilot.press("s")  # sort by name descending -> Support first
        before = source.polls
        await settle(pilot)
        assert source.polls > before
        assert grid.cursor_key == "support"


async def test_enter_opens_queue_detail_with_erlang_and_waiting_contacts() -> None:
    app = make_app(ScriptedSource([centre()]))
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot, 1)
        text = screen_text(app)
        assert "Queue: Sales" in text
        assert "Erlang C" in text and "Needed now" in text
        assert "c1" in text and "c2" in text and "vip" in text
        assert text.index("c1") < text.index("c2")  # oldest first
        assert "Ana" in text and "Bo" in text
        await pilot.press("escape")
        await settle(pilot, 1)
        assert screen_title(app) == "Dashboard"


async def test_markup_and_escape_codes_in_names_are_shown_as_text() -> None:
    app = make_app(ScriptedSource([centre(sales_name="[bold red]Sales\x1b[2J")]))
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        text = screen_text(app)
        assert "[bold red]Sales" in text
        assert "\x1b" not in text


async def test_failing_source_keeps_numbers_and_says_stale() -> None:
    source = ScriptedSource([centre()])
    config = make_config(stale_after_s=0.3, poll_interval_s=0.1)
    app = make_app(source, config)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        source.fail_with = "HTTP 503 Service Unavailable"
        await wait_for(pilot, lambda: app.has_class("-stale"))
        await pilot.pause(0.3)
        text = screen_text(app)
        assert "STALE" in text
        assert "pbx" in text and ("degraded" in text or "DOWN" in text)
        assert "! 75%" in text  # last good values are kept
        assert app.has_class("-stale")


async def test_help_and_quit() -> None:
    app = make_app(ScriptedSource([centre()]))
    async with app.run_test(size=(100, 50)) as pilot:
        await settle(pilot)
        await pilot.press("question_mark")
        await settle(pilot, 1)
        text = screen_text(app)
        assert "Keys on this screen" in text and "Service level" in text
        assert ["s", "Sort"] in help_rows(app) and ["q ^q", "Quit"] in help_rows(app)
        await pilot.press("escape")
        await pilot.press("q")
        await settle(pilot, 1)
    assert app.return_code == 0


async def test_a_bug_while_applying_a_poll_does_not_kill_the_console() -> None:
    source = ScriptedSource([centre()])
    app = make_app(source)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)

        def broken(result):  # type: ignore[no-untyped-def]
            raise RuntimeError("boom")

        app.apply_poll = broken  # type: ignore[method-assign]
        polls = source.polls
        await wait_for(pilot, lambda: source.polls > polls + 1)
        await pilot.pause(1.1)  # the status bar ticks every second
        assert "display error: RuntimeError: boom" in screen_text(app)
        assert app.is_running


async def test_dashboard_catches_up_with_polls_that_landed_while_it_was_hidden() -> None:
    source = ScriptedSource([centre()])
    # No timed polls: the one poll below lands while the dashboard is hidden, and no
    # later poll can bring the new name to the dashboard in its place.
    app = make_app(source, make_config(poll_interval_s=3600))
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("a")  # agents screen; the dashboard is now hidden
        await wait_for(pilot, lambda: screen_title(app) == "Agents")
        source.snapshots = [centre(sales_name="Sales Renamed")]
        app.poll_now()
        await wait_for(pilot, lambda: app.board is not None
                       and app.board.rows_by_id["sales"].queue.name == "Sales Renamed")
        polls = source.polls
        await pilot.press("d")
        # In the queue table (the escalation list below it follows every poll anyway).
        await wait_for(pilot, lambda: "Sales Renamed" in "\n".join(
            shown_in(app, app.screen.query_one("#queues", Grid))))
        assert source.polls == polls  # shown from the hidden poll, not a new one


async def test_help_shows_config_table_names_and_keys_in_brackets_as_written() -> None:
    # Rich read "[groups]" in a plain string as a style tag and dropped it: the help
    # said "With  configured, g cycles...".
    app = make_app(ScriptedSource([centre()]))
    async with app.run_test(size=(120, 250)) as pilot:
        await settle(pilot)
        await pilot.press("I", "question_mark")  # intraday: its keys are [ and ]
        await settle(pilot, 1)
        text = " ".join(screen_text(app).split())
        for written in ("With [groups] configured", "([vendors], or the site",
                        "A user in [roles.scopes] sees", "supervisor ([crisis.paging])",
                        "([ ] switch;"):
            assert written in text, written
        assert ["[", "Previous"] in help_rows(app) and ["]", "Next queue"] in help_rows(app)
