"""Lean repaints: only changed cells are refreshed and written (what SSH users pay for)."""

from __future__ import annotations

from rich.console import Console
from rich.segment import Segment
from rich.style import Style
from textual.app import App, ComposeResult
from textual.strip import Strip

from supervisor_tui.ui.cropped_updates import install_cropped_updates
from supervisor_tui.ui.widgets.lean import LeanText, changed_spans
from supervisor_tui.ui.widgets.status_bar import render_status
from tests.helpers import T0

BOLD = Style(bold=True)


def strip(*parts: tuple[str, Style | None]) -> Strip:
    return Strip([Segment(text, style) for text, style in parts])


def test_changed_spans_find_the_changed_cells_only() -> None:
    old = strip(("Sales   ", None), ("12", BOLD), ("  0:41", None))
    assert changed_spans(old, old) == []
    assert changed_spans(old, strip(("Sales   ", None), ("12", BOLD), ("  0:42", None))) \
        == [(15, 16)]
    # a style change is a change even when the text is the same
    assert changed_spans(old, strip(("Sales   ", None), ("12", None), ("  0:41", None))) \
        == [(8, 10)]
    # far-apart changes are separate spans; near ones merge
    far = strip(("Xales   ", None), ("12", BOLD), ("  0:42", None))
    assert changed_spans(old, far, gap=4) == [(0, 1), (15, 16)]
    assert changed_spans(old, far, gap=20) == [(0, 16)]
    assert changed_spans(None, old) == [(0, 16)]


def test_wide_characters_count_two_cells() -> None:
    old = strip(("名前 0:41", None))
    assert changed_spans(old, strip(("名前 0:42", None))) == [(8, 9)]


def test_partial_update_is_written_from_the_first_changed_cell() -> None:
    assert install_cropped_updates()
    from textual._compositor import ChopsUpdate

    row = strip(("Email             ", None), ("    6", BOLD), ("   8:42", None))
    update = ChopsUpdate([{0: row}], [(0, 29, 30)], [[row.cell_length]])
    out = update.render_segments(Console(color_system="truecolor", force_terminal=True))
    assert out.startswith("\x1b[1;30H")  # row 1, column 30: the changed digit
    assert "Email" not in out and out.count("2") == 1
    assert install_cropped_updates()  # idempotent


class Probe(App[None]):
    def compose(self) -> ComposeResult:
        yield LeanText("Waiting 3", id="t")


async def test_lean_text_refreshes_only_what_changed() -> None:
    app = Probe()
    async with app.run_test(size=(40, 3)) as pilot:
        text = app.query_one("#t", LeanText)
        await pilot.pause()
        seen: list[tuple] = []
        original = text.refresh

        def spy(*regions, **kw):  # type: ignore[no-untyped-def]
            seen.append((regions, kw))
            return original(*regions, **kw)

        text.refresh = spy  # type: ignore[method-assign]
        text.update("Waiting 3")
        assert seen == []  # same text: nothing to send
        text.update("Waiting 4")
        assert [r for regions, _ in seen for r in regions] == [(8, 0, 1, 1)]
        await pilot.pause()
        assert app.screen._compositor.render_strips()[0].text.startswith("Waiting 4")


def test_status_says_live_late_or_stale() -> None:
    def status(age: float | None) -> str:
        return render_status("Dashboard", T0, "10:00-10:30", {}, age, 10.0,
                             live_within_s=3.5).plain

    assert "live" in status(2.0)
    assert "data 5s old" in status(5.0)
    assert "STALE 0:12 old" in status(12.0)
    assert "waiting for data" in status(None)


async def test_grid_renewing_most_rows_keeps_the_cursor_on_its_queue_and_sees_a_new_one(
        ) -> None:
    """The dashboard's grid, unsorted, gets most rows as new objects each poll: it keeps
    the cursor's queue and patches in place, unless a place now holds another queue
    (then the keys are read again and the cursor follows its queue)."""
    from supervisor_tui.ui.widgets.grid import Column, Grid

    cols = [Column("q", "Queue", 8, lambda r, now: r[0]),
            Column("n", "Waiting", 8, lambda r, now: str(r[1]), align="right")]

    class One(App[None]):
        def compose(self) -> ComposeResult:
            yield Grid(cols, key_of=lambda r: r[0], now=lambda: T0, id="g")

    app = One()
    async with app.run_test(size=(40, 12)) as pilot:
        grid = app.query_one(Grid)
        grid.set_rows([(f"q{i}", 0) for i in range(8)])
        grid.move_to_key("q5")
        await pilot.pause()
        grid.set_rows([(f"q{i}", 1) for i in range(8)])  # every row new, same queues
        await pilot.pause()
        assert grid.cursor_key == "q5" and grid.cursor_row == ("q5", 1)
        renewed = [(f"q{i}", 2) for i in range(8)]
        renewed[2] = ("new", 9)  # another queue where q2 was, q5 moved up one place
        renewed = [r for r in renewed if r[0] != "q1"] + [("q1", 2)]
        grid.set_rows(renewed)
        await pilot.pause()
        assert grid.cursor_key == "q5" and grid.cursor_row == ("q5", 2)
        assert grid.move_to_key("new") and grid.cursor_row == ("new", 9)
        assert not grid.move_to_key("q2")


async def test_a_sorted_grid_after_logins_and_logouts_equals_a_fresh_sort() -> None:
    """The agents grid sorted by name: when agents log in or out the rows shift and the
    grid sorts again, reusing the keys of rows that are the same objects. Over random
    polls (state changes, renames, logins, logouts) its order, its keys and where the
    cursor is equal what a fresh sort gives."""
    import random

    from supervisor_tui.ui.widgets.grid import Column, Grid

    cols = [Column("name", "Name", 10, lambda r, now: r[1], sort_key=lambda r, now: r[1]),
            Column("state", "State", 8, lambda r, now: r[2])]

    class One(App[None]):
        def compose(self) -> ComposeResult:
            yield Grid(cols, key_of=lambda r: r[0], now=lambda: T0, id="g")

    rng = random.Random(3)
    rows = [(f"a{i}", rng.choice("KLMNOP") + str(i % 7), "on") for i in range(60)]
    app = One()
    async with app.run_test(size=(40, 12)) as pilot:
        grid = app.query_one(Grid)
        grid.sort_by("name")
        grid.set_rows(tuple(rows))
        for step in range(40):
            rows = list(rows)
            for _ in range(rng.randint(0, 4)):  # state changes: new objects, same key
                i = rng.randrange(len(rows))
                rows[i] = (rows[i][0], rows[i][1], rng.choice(("on", "acw", "away")))
            if step % 3 == 0:  # a rename: the sort key changes
                i = rng.randrange(len(rows))
                rows[i] = (rows[i][0], rng.choice("AKZ") + "x", rows[i][2])
            if step % 2 == 0:  # a logout and a login: the rows shift
                del rows[rng.randrange(len(rows))]
                rows.insert(rng.randrange(len(rows)), (f"n{step}", f"M{step}", "on"))
            if step % 5 == 0:  # a login alone: one row more
                rows.insert(rng.randrange(len(rows)), (f"m{step}", f"L{step}", "on"))
            keep = grid.cursor_key
            grid.set_rows(tuple(rows))
            await pilot.pause()
            fresh = sorted(rows, key=lambda r: r[1])
            assert list(grid.rows) == fresh, f"step {step}"
            assert [grid.key_of(r) for r in grid.rows] == [r[0] for r in fresh]
            assert all(grid.move_to_key(r[0]) and grid.cursor_row is r
                       for r in rng.sample(fresh, 5))
            if keep is not None and any(r[0] == keep for r in rows):
                assert grid.move_to_key(keep)
