"""The intraday screen (I): today by interval beside the same day last week, as stored."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from supervisor_tui.store import INTERVAL_COUNTERS
from tests.helpers import T0, ScriptedSource, centre, make_app, screen_text, screen_title, settle


def stored(queue: str, start: datetime, offered: int, within: int,
           channel: str = "voice", target: float = 0.8) -> dict:
    counts = dict.fromkeys(INTERVAL_COUNTERS, 0)
    answered = offered - 2
    counts.update(offered=offered, answered=answered, answered_within_threshold=within,
                  abandoned=2, abandoned_short=1, abandoned_after_threshold=1,
                  wait_answered_s=15.0 * answered, handled=answered,
                  handle_s=240.0 * answered)
    return {"queue_id": queue, "interval_start": start.isoformat(), "interval_minutes": 30,
            "channel": channel, **counts, "sl_target": target, "threshold_s": 20.0,
            "agents_staffed_at_close": 6.0, "agents_needed_at_close": 7, "complete": 1}


NINE = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)  # T0 is 10:20 UTC (the centre's zone)


def fill(app) -> None:  # type: ignore[no-untyped-def]
    rows = [stored("sales", NINE, 40, 29), stored("sales", NINE + timedelta(minutes=30), 20, 9),
            stored("support", NINE, 10, 8, channel="chat", target=0.9),
            stored("sales", NINE - timedelta(days=7), 33, 30)]
    app.store.record_intervals(rows, T0, timedelta(days=35))


def line(text: str, start: str) -> str:
    return next(ln for ln in text.splitlines() if ln.strip().startswith(start))


async def test_the_key_opens_today_by_interval_with_the_stored_figures() -> None:
    app = make_app(ScriptedSource([centre()]))
    fill(app)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("I")
        await settle(pilot, 1)
        assert screen_title(app) == "Intraday: All live queues (voice, chat, social)"
        text = screen_text(app)
        # The live group sums Sales and Support: 40 + 10 offered at 09:00, 38 + 8 answered,
        # SL (29 + 8) / (46 + 2) = 77% against targets weighted by sample (80%, 90%).
        row = line(text, "09:00-09:30").split()
        assert row[1:4] == ["50", "46", "2+2"], row
        # SL 77% against targets weighted by sample, (80% x 39 + 90% x 9) / 48 = 82%: "!"
        assert row[4:6] == ["!", "77%"], row
        # Last week's same interval beside it (Sales only was stored then): 33 offered,
        # SL 30 / (31 + 1) = 94%.
        assert row[-3:] == ["33", "✓", "94%"], row
        assert line(text, "10:00-now").split()[1:3] == ["50", "40"]  # open, from the board
        await pilot.press("right_square_bracket")  # next view: Sales
        await settle(pilot, 1)
        assert screen_title(app) == "Intraday: Sales"
        text = screen_text(app)
        row = line(text, "09:00-09:30").split()
        # Stored: 40 offered, 38 answered, 1 counted + 1 short abandon, SL 29/(38+1) = 74%.
        assert row[1:4] == ["40", "38", "1+1"], row
        assert row[4:6] == ["✗", "74%"], row
        assert row[6:8] == ["0:15", "4:00"], row  # ASA 15 s, AHT 4 min
        assert row[8] == "6/7", row  # staffed vs Erlang C need at close
        late = line(text, "09:30-10:00").split()
        assert late[1:3] == ["20", "18"] and late[-2:] == ["—", "—"], late
        await pilot.press("right_square_bracket")
        await settle(pilot, 1)
        assert screen_title(app) == "Intraday: Support"
        assert line(screen_text(app), "09:00-09:30").split()[1:3] == ["10", "8"]
        await pilot.press("left_square_bracket", "left_square_bracket")
        await settle(pilot, 1)
        assert screen_title(app).startswith("Intraday: All live")


async def test_an_empty_store_says_no_history_yet() -> None:
    app = make_app(ScriptedSource([centre()]))
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("I")
        await settle(pilot, 1)
        text = screen_text(app)
        assert "No history yet" in text
        assert "10:00-now" in text  # the open interval still shows, from the board


async def test_it_fits_80x24_and_200x60() -> None:
    for size in ((80, 24), (200, 60)):
        app = make_app(ScriptedSource([centre()]))
        fill(app)
        async with app.run_test(size=size) as pilot:
            await settle(pilot)
            await pilot.press("I")
            await settle(pilot, 1)
            text = screen_text(app)
            lines = text.splitlines()
            assert screen_title(app).startswith("Intraday"), lines[0]
            assert len(lines) == size[1] and all(len(ln) <= size[0] for ln in lines)
            assert "Offered" in text and "Interval" in text  # chart and table headers
            assert line(text, "09:00-09:30").split()[1] == "50"
            await pilot.press("right_square_bracket")
            await settle(pilot, 1)
            assert screen_title(app) == "Intraday: Sales"


async def test_queue_detail_shows_todays_offered_per_interval_once_there_is_history() -> None:
    app = make_app(ScriptedSource([centre()]))
    fill(app)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("enter")  # Sales
        await settle(pilot, 1)
        text = screen_text(app)
        # 09:00 (40), 09:30 (20) stored, 10:00 so far (40): three bars, the tallest full.
        assert "█▄█ offered per 30 min today (max 40; last: so far)" in text
    empty = make_app(ScriptedSource([centre()]))
    async with empty.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot, 1)
        assert "offered per" not in screen_text(empty)  # no history: nothing drawn


async def test_the_command_palette_picks_a_queue_on_the_intraday_screen() -> None:
    from tests.helpers import wait_for

    app = make_app(ScriptedSource([centre()]))
    fill(app)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("I")
        await settle(pilot, 1)
        await pilot.press("ctrl+p")
        await pilot.pause(0.2)
        await pilot.press(*"intraday: support")
        await wait_for(pilot, lambda: "Intraday: Support" in screen_text(app))
        await pilot.press("enter")
        await wait_for(pilot, lambda: screen_title(app) == "Intraday: Support")
        assert line(screen_text(app), "09:00-09:30").split()[1:3] == ["10", "8"]


async def test_x_exports_the_view_shown_to_the_file_typed(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import csv

    from supervisor_tui.ui.screens.escalations import DeskInput

    app = make_app(ScriptedSource([centre()]))
    fill(app)
    target = tmp_path / "out" / "sales.csv"
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("I", "right_square_bracket")  # the Sales view
        await settle(pilot, 1)
        await pilot.press("x")
        await settle(pilot)
        assert isinstance(app.screen, DeskInput)
        # A path is suggested (under the user data directory, never the cwd): replace it.
        field = app.screen.query_one("#prompt-input")
        assert field.value.endswith("intervals-2026-11-22-sales.csv")  # type: ignore[attr-defined]
        field.value = str(target)  # type: ignore[attr-defined]
        await pilot.press("enter")
        await settle(pilot, 1)
        rows = list(csv.DictReader(target.open(encoding="utf-8")))
        assert [(r["queue_id"], r["interval_start_utc"], r["offered"]) for r in rows] == [
            ("sales", "2026-11-22T09:00:00Z", "40"), ("sales", "2026-11-22T09:30:00Z", "20")]
        assert any("2 interval row(s) written to" in n.message for n in app._notifications)
        await pilot.press("x")  # the same file again: refused, the file kept
        await settle(pilot)
        app.screen.query_one("#prompt-input").value = str(target)  # type: ignore[attr-defined]
        await pilot.press("enter")
        await settle(pilot, 1)
        assert any(n.message.startswith("Not exported") for n in app._notifications)
        assert len(list(csv.DictReader(target.open(encoding="utf-8")))) == 2


async def test_an_interval_that_closes_while_the_screen_is_open_is_shown_closed() -> None:
    # The closed interval is saved just after the paint of the next interval's first
    # poll: a screen that read the store at that paint, and kept the read for the
    # interval, went from 09:30-10:00 straight to 10:30-now, while its own export and
    # every other view had 10:00-10:30.
    source = ScriptedSource([centre()])
    app = make_app(source)
    fill(app)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("I")
        await settle(pilot, 1)
        assert line(screen_text(app), "10:00-now").split()[1] == "50"
        source.snapshots = [centre(T0 + timedelta(minutes=15))]  # 10:35: 10:00 closes
        await settle(pilot, 3)
        text = screen_text(app)
        assert screen_title(app).startswith("Intraday: All live")
        # closed, as stored ("≥": the last poll's figures, the test jumps the boundary)
        assert line(text, "10:00-10:30").split()[1:3] == ["≥", "50"], text
        assert line(text, "10:30-now")
        await pilot.press("d", "enter")  # the queue detail of Sales, across the next close
        await settle(pilot, 1)
        assert "█▄██ offered per 30 min today" in screen_text(app)
        source.snapshots = [centre(T0 + timedelta(minutes=45))]  # 11:05: 10:30 closes
        await settle(pilot, 3)
        # 09:00 (40), 09:30 (20), 10:00 (40), 10:30 (40) stored, 11:00 so far (40)
        assert "█▄███ offered per 30 min today" in screen_text(app)


async def test_a_stored_interval_later_than_now_is_not_shown() -> None:
    # Another console's clock ahead, or a simulator run at 30x on the same store, left
    # 11:00-11:30 stored while this console's day is at 10:20: it cannot be true yet.
    app = make_app(ScriptedSource([centre()]))
    fill(app)
    app.store.record_intervals([stored("sales", NINE + timedelta(hours=2), 77, 70)], T0,
                               timedelta(days=35))
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("I", "right_square_bracket")  # Sales
        await settle(pilot, 1)
        text = screen_text(app)
        assert screen_title(app) == "Intraday: Sales"
        assert line(text, "09:30-10:00") and line(text, "10:00-now")
        assert "11:00-11:30" not in text and "77" not in text.split("Interval", 1)[1]
