"""Dialogs that prevent mistakes, driven as a supervisor would: only compatible targets,
the best one preselected, a labelled count whose cap is said aloud, previews that follow
the live data, and a typed confirmation before stripping a queue of its agents."""

from __future__ import annotations

from datetime import timedelta

from textual.widgets import Input

from supervisor_tui.domain import fmt
from supervisor_tui.domain.preview import agents_text, restaffed, working_agents
from supervisor_tui.ui.screens.move_agents import MoveAgentsScreen
from supervisor_tui.ui.screens.reassign import ReassignScreen
from supervisor_tui.ui.widgets.grid import Grid
from tests.dialog_helpers import RecordingSource, voice_centre
from tests.helpers import T0, centre, make_app, screen_text, wait_for


async def open_sales(pilot) -> None:  # type: ignore[no-untyped-def]
    app = pilot.app
    await wait_for(pilot, lambda: app.board is not None)
    app.screen.query_one("#queues", Grid).move_to_key("sales")
    await pilot.press("enter")
    await wait_for(pilot, lambda: "Waiting, oldest first" in screen_text(app))


async def open_reassign(pilot, key: str = "r") -> ReassignScreen:  # type: ignore[no-untyped-def]
    await open_sales(pilot)
    await pilot.press(key)
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, ReassignScreen))
    screen = pilot.app.screen
    assert isinstance(screen, ReassignScreen)
    return screen


def modal_text(app) -> str:  # type: ignore[no-untyped-def]
    """The dialog's text with its lines joined, so a wrapped sentence reads whole."""
    inside = []
    for line in screen_text(app).splitlines():
        if line.count("█") >= 2:
            inside.append(line[line.index("█") + 1:line.rindex("█")].strip())
    return " ".join(part for part in inside if part)


def modal_free_text(app) -> str:  # type: ignore[no-untyped-def]
    return " ".join(screen_text(app).split())


def target_keys(screen: ReassignScreen) -> list[str]:
    return [t.row.queue.id for t in screen.query_one("#targets", Grid).rows]


async def test_only_compatible_targets_are_offered_and_the_best_is_preselected() -> None:
    source = RecordingSource([voice_centre()])
    app = make_app(source)
    async with app.run_test(size=(110, 32)) as pilot:
        screen = await open_reassign(pilot)
        await wait_for(pilot, lambda: target_keys(screen) != [])
        # The chat queue and the other platform's voice queue are not offered...
        assert sorted(target_keys(screen)) == ["backup", "retention"]
        text = modal_text(app)
        assert "Not offered" in text and "Support (a chat queue)" in text
        assert "Partner (on source partner)" in text
        # ...and the best one (2 agents free: answered at once) is under the cursor, not
        # the first by name (Backup: nobody free).
        assert screen.query_one("#targets", Grid).cursor_key == "retention"
        assert "answered at once" in text and "Sales → Retention" in text
        await pilot.press("y")
        await wait_for(pilot, lambda: "1 of 1 moved" in screen_text(app))
        assert source.moves == [("c1", "retention")]


async def test_when_waits_change_the_best_target_is_named_not_moved_under_the_cursor(
        ) -> None:
    source = RecordingSource([voice_centre()])
    app = make_app(source)
    async with app.run_test(size=(110, 32)) as pilot:
        screen = await open_reassign(pilot)
        await wait_for(pilot, lambda: target_keys(screen) != [])
        grid = screen.query_one("#targets", Grid)
        assert grid.cursor_key == "retention"
        assert "Preselected: the shortest predicted wait" in modal_text(app)
        # Six callers arrive in Retention: the 7th in line there waits (7 - 2 free) x
        # 200 s AHT / 2 agents = 8:20; Backup, 1 x 200 s / 1 agent = 3:20, is now best.
        source.snapshots = [voice_centre(retention_waiting=6)]
        await wait_for(pilot, lambda: "Shortest predicted wait now: Backup (3:20)"
                       in modal_text(app))
        assert grid.cursor_key == "retention"  # nothing moved under the cursor
        assert "Preselected" not in modal_text(app)
        await pilot.press("up" if target_keys(screen).index("backup") == 0 else "down")
        await wait_for(pilot, lambda: "Preselected" in modal_text(app))
        assert grid.cursor_key == "backup" and "Sales → Backup" in modal_text(app)


async def test_no_compatible_queue_is_said_plainly_and_y_tries_nothing() -> None:
    source = RecordingSource([centre()])  # Sales is voice, Support chat: nowhere to go
    app = make_app(source)
    async with app.run_test(size=(110, 32)) as pilot:
        await open_reassign(pilot)
        await wait_for(pilot, lambda: "No compatible queue: no other voice queue on pbx"
                       in screen_text(app))
        await pilot.press("y")
        await pilot.pause(0.2)
        assert "No compatible queue to move to" in screen_text(app)
        assert source.moves == [] and app.audit.records() == []


async def test_overflow_count_is_labelled_focused_and_its_cap_said_aloud() -> None:
    source = RecordingSource([voice_centre()])
    app = make_app(source)
    async with app.run_test(size=(110, 32)) as pilot:
        screen = await open_reassign(pilot, "o")
        await wait_for(pilot, lambda: "How many, oldest first?" in screen_text(app))
        count = screen.query_one("#reassign-count", Input)
        assert app.focused is count  # typing goes straight into the count
        await pilot.press("2", "0")
        await wait_for(pilot, lambda: "20 asked, 2 waiting: will move 2" in screen_text(app))
        assert count.value == "20"
        assert "Move 2 contact(s)" in screen_text(app)
        await pilot.press("enter")  # to the target list, best preselected
        assert app.focused is screen.query_one("#targets", Grid)
        await pilot.press("y")
        await wait_for(pilot, lambda: "2 of 2 moved" in screen_text(app))
        assert source.moves == [("c1", "retention"), ("c2", "retention")]


async def test_overflow_of_zero_moves_nothing_and_says_why() -> None:
    source = RecordingSource([voice_centre()])
    app = make_app(source)
    async with app.run_test(size=(110, 32)) as pilot:
        await open_reassign(pilot, "o")
        await pilot.press("0", "enter", "y")
        await wait_for(pilot, lambda: "type a number from 1 to 2" in screen_text(app))
        assert source.moves == []
        # Both callers are answered while the dialog is open: it still names the
        # source it would move on, and says once why nothing can move.
        source.snapshots = [voice_centre(T0 + timedelta(seconds=2), drop=("c1", "c2"))]
        await wait_for(pilot, lambda: "nobody is waiting now" in modal_free_text(app))
        await pilot.press("y")
        await wait_for(pilot, lambda: "Nothing to move: nobody is waiting now."
                       in modal_free_text(app))
        assert "on ?" not in modal_free_text(app) and "on pbx" in modal_free_text(app)
        assert "nothing to move." not in modal_free_text(app)
        assert source.moves == []


async def test_preview_follows_the_live_data_and_a_gone_contact_is_not_moved() -> None:
    source = RecordingSource([voice_centre()])
    app = make_app(source)
    async with app.run_test(size=(110, 32)) as pilot:
        await open_reassign(pilot)
        await wait_for(pilot, lambda: "waiting 0 → 1" in screen_text(app))  # Retention
        # Next polls: four callers join Retention; the preview counts them.
        source.snapshots = [voice_centre(T0 + timedelta(seconds=2), retention_waiting=4)]
        await wait_for(pilot, lambda: "waiting 4 → 5" in screen_text(app))
        # Then our VIP is answered before we confirm: nothing left to move.
        source.snapshots = [voice_centre(T0 + timedelta(seconds=4), drop=("c1",))]
        await wait_for(pilot, lambda: "c1 is no longer waiting in Sales" in screen_text(app))
        await pilot.press("y")
        await pilot.pause(0.2)
        assert source.moves == [] and app.audit.records() == []


async def test_stripping_the_last_agent_needs_a_typed_confirmation() -> None:
    source = RecordingSource([voice_centre()])
    app = make_app(source)
    async with app.run_test(size=(110, 32)) as pilot:
        await open_sales(pilot)
        row = app.board.rows_by_id["sales"]
        staffing = row.staffing
        sl_now = fmt.pct(staffing.predicted_sl_with_staffed)
        assert f"Predicted SL with {int(staffing.effective)} effective: {sl_now}" \
            in modal_free_text(app)
        # Without Ana, by the board's own count (whatever its rule for effective agents):
        without_ana = working_agents(restaffed(row, [a for a in row.serving if a.id != "a1"]))
        assert 0 < without_ana < staffing.needed  # the scenario: short, not empty
        await pilot.press("m")
        await wait_for(pilot, lambda: isinstance(app.screen, MoveAgentsScreen))
        await pilot.press("minus")  # remove Sales from agents' queues
        grid = app.screen.query_one("#candidates", Grid)
        await wait_for(pilot, lambda: {a.id for a in grid.rows} == {"a1", "a2"})
        grid.move_to_key("a1")
        await pilot.press("space")
        shown = f"effective agents {agents_text(staffing.effective)} → {agents_text(without_ana)}"
        await wait_for(pilot, lambda: shown in screen_text(app))
        assert f"predicted SL {sl_now} →" in screen_text(app)  # the queue detail's figure
        # Under what Erlang C needs, with callers waiting: already loud.
        assert (f"DANGER: this leaves Sales with {agents_text(without_ana)} effective "
                f"agent(s), under the {staffing.needed} Erlang C needs, with 2 waiting"
                ) in modal_text(app)
        grid.move_to_key("a2")
        await pilot.press("space")
        await wait_for(pilot, lambda: "DANGER" in screen_text(app))
        assert "leaves Sales with NO AGENT and 2 waiting" in screen_text(app)
        await pilot.press("y")  # y alone: asks for the word, changes nothing
        await wait_for(pilot, lambda: "Type REMOVE and Enter" in screen_text(app))
        assert app.focused is app.screen.query_one("#danger-confirm", Input)
        assert source.skill_changes == []
        await pilot.press("y", "e", "s", "enter")  # not the word
        await wait_for(pilot, lambda: "nothing was changed" in screen_text(app))
        assert source.skill_changes == []
        await pilot.press("y")
        await pilot.press(*"REMOVE", "enter")
        await wait_for(pilot, lambda: "2 of 2 changed" in screen_text(app))
        assert sorted(source.skill_changes) == [("a1", ()), ("a2", ("support",))]


async def test_adding_agents_needs_no_typed_word() -> None:
    source = RecordingSource([voice_centre()])
    app = make_app(source)
    async with app.run_test(size=(110, 32)) as pilot:
        await open_sales(pilot)
        await pilot.press("m")
        await wait_for(pilot, lambda: isinstance(app.screen, MoveAgentsScreen))
        grid = app.screen.query_one("#candidates", Grid)
        await wait_for(pilot, lambda: len(grid.rows) > 0)
        await pilot.press("space")
        await wait_for(pilot, lambda: "predicted SL" in screen_text(app))
        assert "DANGER" not in screen_text(app)
        await pilot.press("y")
        await wait_for(pilot, lambda: "1 of 1 changed" in screen_text(app))
        assert len(source.skill_changes) == 1

