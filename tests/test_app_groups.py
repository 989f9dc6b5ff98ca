"""The dashboard's band per queue group, driven with keys at 80x24 and 200x60, on the
hand-built centre (tests.helpers.centre: numbers worked out in its docstring)."""

from __future__ import annotations

from supervisor_tui.config import Config, parse_config
from supervisor_tui.ui.widgets.kpi import KpiTile
from supervisor_tui.ui.widgets.lean import LeanText
from tests.helpers import (
    ScriptedSource,
    centre,
    help_rows,
    make_app,
    screen_text,
    settle,
    shown_in,
    wait_for,
)

GROUPS = {"[b]floor[/b]": ["sales", "support", "ghost"], "sales only": ["sales"]}


def config(groups: dict[str, list[str]] | None = None) -> Config:
    return parse_config({"console": {"timezone": "UTC", "poll_interval_s": 0.1},
                         "groups": GROUPS if groups is None else groups}, "test")


def tile(app, tile_id: str) -> tuple[str, str]:  # type: ignore[no-untyped-def]
    """(title, value) as the terminal shows them."""
    lines = [line.strip("│┃▎▌▐█ ") for line in
             shown_in(app, app.screen.query_one(f"#{tile_id}", KpiTile))]
    lines = [line for line in lines if line and not set(line) <= set("╭╮╰╯─━┏┓┗┛")]
    return lines[0], lines[1]


def band_text(app) -> str:  # type: ignore[no-untyped-def]
    return "\n".join(line.strip() for line in
                     shown_in(app, app.screen.query_one("#band-label", LeanText)))


async def test_g_cycles_the_band_through_each_group_at_80x24() -> None:
    app = make_app(ScriptedSource([centre()]), config())
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert band_text(app) == "▶ Centre (all 2 queues) · g: [b]floor[/b] › sales only"
        assert tile(app, "kpi-waiting") == ("Waiting", "3")

        await pilot.press("g")  # the first group: Sales + Support (+ an unknown id)
        await wait_for(pilot, lambda: "▶ [b]floor[/b]" in band_text(app))
        # Offered 40 + 10, answered 30 + 10; Sales and Support keep their own targets.
        assert band_text(app).splitlines() == [
            "▶ [b]floor[/b] · 2 queues · offered 50 · answered 40  ⚠ not reported: ghost",
            "SL by target: 80%/20s ! 75% n 32 · 90%/1m ✓ 100% n 10"]
        assert tile(app, "kpi-waiting") == ("Waiting", "3")  # 2 in Sales + 1 in Support
        # Two targets: the worst SL, labelled with its threshold, never a blend.
        assert tile(app, "kpi-sl")[1] == "! 75% 20s"
        assert tile(app, "kpi-agents")[1] == "1 / 4"  # Bo, in both queues, counted once

        await pilot.press("g")
        await wait_for(pilot, lambda: "▶ sales only" in band_text(app))
        assert band_text(app) == "▶ sales only · 1 queue · offered 40 · answered 30"
        assert tile(app, "kpi-waiting") == ("Waiting", "2")
        assert tile(app, "kpi-sl")[1] == "! 75%"  # one target: one figure, no label
        assert tile(app, "kpi-agents")[1] == "1 / 2"  # Ana available, Bo on a contact
        assert tile(app, "kpi-abandon")[1] == "10.5%"  # 4 of 38 (short ones left out)

        await pilot.press("g")  # and back to the whole centre
        await wait_for(pilot, lambda: band_text(app).startswith("▶ Centre"))
        assert tile(app, "kpi-waiting") == ("Waiting", "3")
        assert tile(app, "kpi-agents")[1] == "1 / 4"

        await pilot.press("question_mark")
        await pilot.pause(0.3)
        assert ["g", "Group band"] in help_rows(app)


async def test_every_group_stacked_on_a_wall_sized_terminal() -> None:
    app = make_app(ScriptedSource([centre()]), config())
    async with app.run_test(size=(200, 60)) as pilot:
        await settle(pilot)
        summary = shown_in(app, app.screen.query_one("#group-summary", LeanText))
        floor, sales = (line.strip() for line in summary[:2])
        assert floor.startswith("[b]floor[/b]")  # markup in a name is shown as text
        assert "80%/20s ! 75%  90%/1m ✓ 100%  │ wait 3 (1 over)" in floor
        assert "│ 50 offered, 40 answered, aband 8.3%" in floor  # 4 / 48 (2 short out)
        assert "avail 1/4 · on 1 · acw 1 · away 1" in floor
        assert "⚠ not reported: ghost" in floor
        assert sales.startswith("sales only") and "wait 2 (1 over)" in sales
        await pilot.press("g", "g")
        await pilot.pause(0.2)
        summary = shown_in(app, app.screen.query_one("#group-summary", LeanText))
        assert summary[1].strip().startswith("▶ sales only")
        assert "g Group band" in screen_text(app)  # in the footer


async def test_no_groups_no_band_line_and_g_says_how() -> None:
    app = make_app(ScriptedSource([centre()]), config({}))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert not app.screen.query("#band-label")
        assert "Group band" not in screen_text(app)  # not in the footer: nothing to cycle
        await pilot.press("g")
        await wait_for(pilot, lambda: any("No queue groups configured: add a [groups] table"
                                          in n.message for n in app._notifications))
        assert tile(app, "kpi-waiting") == ("Waiting", "3")


async def test_a_wall_shows_a_groups_group_as_a_queues_view() -> None:
    from supervisor_tui.store import Store
    from supervisor_tui.ui.app import SupervisorApp

    config = parse_config({"console": {"timezone": "UTC", "poll_interval_s": 0.1},
                           "groups": {"voice": ["support", "ghost"]},
                           "wall": {"views": ["queues:voice"], "pause_on": []}}, "test")
    snap = centre()  # without its VIP caller in Sales (a critical strip names Sales)
    calm = snap.model_copy(update={"contacts": tuple(c for c in snap.contacts
                                                     if c.id != "c1")})
    app = SupervisorApp(config, [ScriptedSource([calm])], store=Store.open(None), wall=True)
    async with app.run_test(size=(200, 60)) as pilot:
        await settle(pilot)
        text = screen_text(app)
        assert "Support" in text and "Sales" not in text  # the [groups] group, only it
        assert "ghost" in text  # the wall names a queue no source reports


async def test_the_command_palette_picks_a_groups_band_by_name() -> None:
    app = make_app(ScriptedSource([centre()]), config())
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("ctrl+p")
        await pilot.pause(0.2)
        await pilot.press(*"band sales")
        await pilot.pause(0.5)
        await pilot.press("enter")
        await wait_for(pilot, lambda: band_text(app).startswith("▶ sales only"))
        assert tile(app, "kpi-waiting") == ("Waiting", "2")
