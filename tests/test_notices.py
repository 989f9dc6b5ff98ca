"""New-critical notices as a supervisor meets them in a surge: one combined notice, a
counter in the status bar, nothing over a dialog, per-category mute/snooze, the bell
only for the categories chosen, and source text never read as markup."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from supervisor_tui.config import parse_config
from supervisor_tui.domain.model import Channel, Contact, Snapshot, Tier
from supervisor_tui.store import Store
from supervisor_tui.ui.app import SupervisorApp
from supervisor_tui.ui.screens.reassign import ReassignScreen
from supervisor_tui.ui.widgets.grid import Grid
from tests.helpers import T0, ScriptedSource, centre, screen_text, wait_for


def snapshot(seconds: float, *, vip: bool = False, late: int = 0,
             sales_name: str = "Sales") -> Snapshot:
    """The test centre ``seconds`` after T0 with: a VIP 95 s in Sales (critical tier
    wait) if ``vip``, and ``late`` callers 10 minutes in Sales (critical waits)."""
    now = T0 + timedelta(seconds=seconds)
    snap = centre(now, sales_name=sales_name)
    keep = tuple(c for c in snap.contacts if c.id != "c1" or vip)
    extra = tuple(Contact(id=f"s{i}", source="pbx", queue_id="sales", channel=Channel.VOICE,
                          tier=Tier.STANDARD, entered_at=now - timedelta(seconds=600 + i))
                  for i in range(late))
    return snap.model_copy(update={"contacts": keep + extra})


def app_with(source: ScriptedSource, **notify: Any) -> SupervisorApp:
    config = parse_config({"console": {"timezone": "UTC", "poll_interval_s": 0.1},
                           "notify": {"every_s": 0, **notify}}, "test")
    return SupervisorApp(config, [source], store=Store.open(None), user="sam")


def critical_notices(app: SupervisorApp) -> list[str]:
    return [n.message for n in app._notifications if n.title.startswith("New critical")]


async def started(pilot) -> None:  # type: ignore[no-untyped-def]
    await wait_for(pilot, lambda: pilot.app.board is not None)
    await pilot.pause(0.3)  # the backlog found at start-up is never announced


async def test_a_surge_gives_one_combined_notice_and_a_counter_until_the_desk() -> None:
    source = ScriptedSource([snapshot(0)])
    app = app_with(source)
    async with app.run_test(size=(120, 30)) as pilot:
        await started(pilot)
        assert critical_notices(app) == []
        source.snapshots = [snapshot(2, vip=True, late=2)]  # three new critical at once
        await wait_for(pilot, lambda: critical_notices(app) != [])
        await pilot.pause(0.3)
        notices = critical_notices(app)
        assert len(notices) == 1 and notices[0].startswith("3 new critical — e")
        assert "‼ 3 new critical — e" in screen_text(app)
        await pilot.press("e")
        await wait_for(pilot, lambda: "new critical" not in screen_text(app).splitlines()[0])
        await pilot.press("d")
        await pilot.pause(0.3)
        assert "‼" not in screen_text(app).splitlines()[0]  # looked at: no longer new


async def test_at_80x24_a_notice_is_one_line_not_a_box_over_the_table() -> None:
    source = ScriptedSource([snapshot(0)])
    app = app_with(source)
    async with app.run_test(size=(80, 24)) as pilot:
        await started(pilot)
        source.snapshots = [snapshot(2, vip=True, late=2)]
        await wait_for(pilot, lambda: any("new critical" in n.message
                                          for n in app._notifications))
        await pilot.pause(0.3)
        [notice] = [n for n in app._notifications if "new critical" in n.message]
        assert notice.title == "" and notice.message.startswith("3 new critical — e")
        assert len(notice.message) <= 36  # half the width, less its frame: one line
        # (its frame is one row too at this size: app.tcss, seen in tmux)
        assert "‼ 3 new critical — e" in screen_text(app).splitlines()[0]  # the count


async def test_no_notice_over_a_dialog_it_waits_until_the_dialog_closes() -> None:
    source = ScriptedSource([snapshot(0)])
    app = app_with(source)
    async with app.run_test(size=(120, 30)) as pilot:
        await started(pilot)
        app.screen.query_one("#queues", Grid).move_to_key("sales")
        await pilot.press("enter")
        await wait_for(pilot, lambda: "Waiting, oldest first" in screen_text(app))
        await pilot.press("r")  # reassign c2: a dialog
        await wait_for(pilot, lambda: isinstance(app.screen, ReassignScreen))
        source.snapshots = [snapshot(2, vip=True, late=1)]
        await wait_for(pilot, lambda: sum(e.severity == "critical"
                                          for e in app.escalations) == 2)
        await pilot.pause(1.5)  # polls and ticks go by: still nothing over the dialog
        assert critical_notices(app) == []
        assert isinstance(app.screen, ReassignScreen)
        await pilot.press("escape")
        await wait_for(pilot, lambda: critical_notices(app) != [], timeout=5)
        assert critical_notices(app)[0].startswith("2 new critical — e")


async def test_notices_arriving_close_together_are_combined() -> None:
    source = ScriptedSource([snapshot(0)])
    app = app_with(source, every_s=1.5)
    async with app.run_test(size=(120, 30)) as pilot:
        await started(pilot)
        source.snapshots = [snapshot(2, vip=True)]
        await wait_for(pilot, lambda: len(critical_notices(app)) == 1)
        assert critical_notices(app)[0].startswith("1 new critical — e · VIP waiting")
        source.snapshots = [snapshot(3, vip=True, late=1)]
        await pilot.pause(0.4)
        source.snapshots = [snapshot(4, vip=True, late=2)]
        await pilot.pause(0.4)
        assert len(critical_notices(app)) == 1  # held: the last notice is too recent
        await wait_for(pilot, lambda: len(critical_notices(app)) == 2, timeout=4)
        assert critical_notices(app)[1].startswith("2 new critical — e")


async def test_a_muted_category_is_counted_but_not_announced_and_can_be_unmuted() -> None:
    source = ScriptedSource([snapshot(0)])
    app = app_with(source, mute=["tier_wait"])
    async with app.run_test(size=(120, 30)) as pilot:
        await started(pilot)
        source.snapshots = [snapshot(2, vip=True)]
        await wait_for(pilot, lambda: "‼ 1 new critical — e" in screen_text(app))
        await pilot.pause(0.5)
        assert critical_notices(app) == []
        # Unmute from the command palette, then mute another category there.
        await pilot.press("ctrl+p")
        await pilot.pause(0.3)
        await pilot.press(*"unmute vip")
        await wait_for(pilot, lambda: "Notices: unmute VIP / gold waits (muted)"
                       in screen_text(app))
        await pilot.press("enter")
        await wait_for(pilot, lambda: any("Notices back on: VIP / gold waits" in n.message
                                          for n in app._notifications))
        assert app.notices.silenced(app.notices.config.mute[0]) is None


async def test_N_snoozes_the_categories_of_the_last_notice() -> None:
    source = ScriptedSource([snapshot(0)])
    app = app_with(source)
    async with app.run_test(size=(120, 30)) as pilot:
        await started(pilot)
        source.snapshots = [snapshot(2, late=1)]
        await wait_for(pilot, lambda: len(critical_notices(app)) == 1)
        await pilot.press("N")
        await wait_for(pilot, lambda: any("Snoozed for 15 min: contacts waiting too long"
                                          in n.message for n in app._notifications))
        source.snapshots = [snapshot(3, late=3)]  # two more late callers: snoozed
        await wait_for(pilot, lambda: "‼ 3 new critical — e" in screen_text(app))
        source.snapshots = [snapshot(4, vip=True, late=3)]  # another category: shown
        await wait_for(pilot, lambda: len(critical_notices(app)) == 2)
        assert critical_notices(app)[1].startswith("1 new critical — e · VIP waiting")
        await pilot.press("question_mark")  # the key is in the help
        await wait_for(pilot, lambda: "Snooze the last notice's categories" in screen_text(app))


async def test_the_bell_rings_only_for_the_chosen_categories() -> None:
    source = ScriptedSource([snapshot(0)])
    app = app_with(source, bell=["tier_wait"])
    rings: list[int] = []
    app.bell = lambda: rings.append(1)  # type: ignore[method-assign]
    async with app.run_test(size=(120, 30)) as pilot:
        await started(pilot)
        source.snapshots = [snapshot(2, late=1)]  # a late caller: announced, no bell
        await wait_for(pilot, lambda: len(critical_notices(app)) == 1)
        assert rings == []
        source.snapshots = [snapshot(3, vip=True, late=1)]  # a VIP: chosen, rings
        await wait_for(pilot, lambda: len(critical_notices(app)) == 2)
        assert rings == [1]


async def test_markup_in_a_queue_name_is_shown_as_text() -> None:
    name = "[link=https://x/]a[/lin open[/"
    source = ScriptedSource([snapshot(0, sales_name=name)])
    app = app_with(source)
    async with app.run_test(size=(120, 30)) as pilot:
        await started(pilot)
        source.snapshots = [snapshot(2, late=1, sales_name=name)]
        await wait_for(pilot, lambda: len(critical_notices(app)) == 1)
        await pilot.pause(0.3)  # the toast has rendered: the app is still up
        assert app.is_running
        assert "[link=https://x/]a[/lin" in critical_notices(app)[0]
