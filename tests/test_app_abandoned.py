"""The Abandoned screen (A), driven as a supervisor would: today's abandons VIP first,
short ones hidden until h, b calls the customer back (y confirms): on the simulator a
waiting contact appears in the queue; a viewer is refused with the reason (audited); a
source that cannot queue call-backs gets one tracked in the store, then D marks it done."""

from __future__ import annotations

from datetime import timedelta

import pytest

from supervisor_tui.domain.model import (
    MAX_ABANDONED,
    AbandonedContact,
    Channel,
    ContactState,
    Tier,
)
from supervisor_tui.sources.base import Source
from supervisor_tui.store import CALLBACK_DONE, Store
from supervisor_tui.ui.app import SupervisorApp
from supervisor_tui.ui.screens.abandoned import AbandonedScreen
from supervisor_tui.ui.widgets.grid import Grid
from tests.dialog_helpers import RecordingSource
from tests.helpers import T0, centre, make_config, screen_text, wait_for
from tests.test_serve_sim import make_sim


def console(source: Source, read_only: bool = False, store: Store | None = None
            ) -> SupervisorApp:
    return SupervisorApp(make_config(), [source], store=store or Store.open(None), user="sam",
                         read_only=read_only)


def text(app: SupervisorApp) -> str:
    return " ".join(screen_text(app).split())


async def open_abandoned(pilot) -> Grid:  # type: ignore[no-untyped-def]
    app = pilot.app
    await wait_for(pilot, lambda: app.board is not None)
    await pilot.press("A")
    await wait_for(pilot, lambda: isinstance(app.screen, AbandonedScreen)
                   and "Abandoned today" in text(app))
    return app.screen.query_one("#abandoned", Grid)


@pytest.mark.parametrize("size", [(80, 24), (200, 60)])
async def test_vip_first_call_back_and_see_it_wait_in_the_queue(size: tuple[int, int]) -> None:
    sim = make_sim()
    app = console(sim)
    async with app.run_test(size=size) as pilot:
        grid = await open_abandoned(pilot)
        assert app.board is not None
        snap = app.board.snapshot
        shown = [r.ab for r in grid.rows]
        assert shown and all(not a.short for a in shown)
        hidden = sum(a.short for a in snap.abandoned)
        if hidden:
            assert f"{hidden} short hidden" in text(app)
        ranks = [{"vip": 0, "gold": 1, "standard": 2}[a.tier.value] for a in shown]
        assert ranks == sorted(ranks)  # VIP and gold first
        first = shown[0]
        assert first.tier is Tier.VIP
        same_tier = [a for a in shown if a.tier is first.tier]
        assert first.abandoned_at == max(a.abandoned_at for a in same_tier)  # then newest
        assert "Call-backs waiting: none" in text(app)
        assert "b Call back" in screen_text(app).splitlines()[-1]
        await pilot.press("b")
        await wait_for(pilot, lambda: "Call back" in text(app) and "y confirms" in text(app))
        assert sim.engine._abandon_by_id[first.id].callback is None  # not before y
        await pilot.press("y")
        await wait_for(pilot, lambda: "queued as contact" in text(app))
        callback = sim.engine._abandon_by_id[first.id].callback
        assert callback is not None
        await wait_for(pilot, lambda: "queued (sim) · waiting" in text(app))
        board = app.board
        assert board is not None
        contact = next(c for c in board.snapshot.contacts if c.id == callback.id)
        assert contact.state is ContactState.WAITING and contact.queue_id == first.queue_id
        assert f"Call-backs waiting: {app.screen.queue_name(first.queue_id, 20)} 1" in text(app)
        assert app.audit is not None
        assert [(r["action"], r["outcome"]) for r in app.audit.records()] == [
            ("callback", "allowed"), ("callback", "done")]
        await pilot.press("h")  # short abandons shown, marked *
        await wait_for(pilot, lambda: len(grid.rows) == len(board.snapshot.abandoned))
        app.open_queue(first.queue_id)  # the queue detail counts it too
        await wait_for(pilot, lambda: "Waiting, oldest first · 1 call-back" in text(app))


async def test_a_viewer_cannot_call_back_and_is_told_why() -> None:
    app = console(make_sim(), read_only=True)
    async with app.run_test(size=(120, 30)) as pilot:
        await open_abandoned(pilot)
        assert "b Call back" not in screen_text(app).splitlines()[-1]
        await pilot.press("b")
        await wait_for(pilot, lambda: "sam is a viewer; callback needs supervisor" in text(app))
        assert app.audit is not None
        assert [(r["action"], r["outcome"]) for r in app.audit.records()] == [
            ("callback", "refused")]


def with_abandons() -> list:  # type: ignore[type-arg]
    snap = centre()
    abandons = (
        AbandonedContact(id="c30", queue_id="sales", channel=Channel.VOICE,
                         customer="Zoe Standard", handle="+44 7700 9xx xx3", waited_s=40,
                         abandoned_at=T0 - timedelta(minutes=1), source="pbx"),
        AbandonedContact(id="c20", queue_id="sales", channel=Channel.VOICE, tier=Tier.GOLD,
                         customer="Gil Gold", handle="+44 7700 9xx xx2", waited_s=35,
                         abandoned_at=T0 - timedelta(minutes=9), source="pbx"),
        AbandonedContact(id="c10", queue_id="sales", channel=Channel.VOICE, tier=Tier.VIP,
                         customer="Vi \x1b[31mVip", handle="+44 7700 9xx xx1", waited_s=50,
                         abandoned_at=T0 - timedelta(minutes=20), source="pbx"),
        AbandonedContact(id="c40", queue_id="sales", channel=Channel.VOICE, waited_s=2,
                         customer="Sho Short", abandoned_at=T0 - timedelta(minutes=2),
                         short=True, source="pbx"),
    )
    return [snap.model_copy(update={"abandoned": abandons})]


async def test_without_the_capability_a_tracked_callback_then_done(tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "store.db"
    app = console(RecordingSource(with_abandons()), store=Store.open(path))
    async with app.run_test(size=(80, 24)) as pilot:
        grid = await open_abandoned(pilot)
        assert [r.ab.id for r in grid.rows] == ["c10", "c20", "c30"]  # VIP, gold, newest
        assert "1 short hidden" in text(app) and "Sho Short" not in text(app)
        assert "\x1b" not in screen_text(app) and "Vi Vip" in text(app)
        assert "+44 7700 9xx xx1" in text(app)  # at 80x24 too: the number to call back
        await pilot.press("h")
        await wait_for(pilot, lambda: "Sho Short" in text(app))
        await pilot.press("h")
        await wait_for(pilot, lambda: "Sho Short" not in text(app))
        await pilot.press("b")
        await wait_for(pilot, lambda: "y confirms" in text(app) and "will track" in text(app))
        await pilot.press("y")
        await wait_for(pilot, lambda: "tracked · waiting" in text(app))
        assert "Call-backs waiting: Sales 1" in text(app)
        other = Store.open(path)  # another console on the same store sees it
        assert [(r["customer"], r["state"]) for r in other.callbacks()] == [
            ("Vi Vip", "waiting")]
        await pilot.press("D")
        await wait_for(pilot, lambda: "tracked · done (sam)" in text(app))
        assert other.callbacks()[0]["state"] == CALLBACK_DONE
        assert "Call-backs waiting: none" in text(app)
        await pilot.press("down", "D")  # Gil Gold: nothing to mark yet
        await wait_for(pilot, lambda: "no call-back for this contact yet" in text(app))
        assert app.audit is not None
        assert [(r["action"], r["subject"], r["outcome"]) for r in app.audit.records()] == [
            ("callback", "abandoned c10", "allowed"), ("callback", "abandoned c10", "done"),
            ("callback", "call-back pbx:c10", "allowed"),
            ("callback", "call-back pbx:c10", "done")]
        other.close()


async def test_a_list_capped_at_the_newest_500_says_the_days_count() -> None:
    # A source sends today's newest 500 abandons only: "Abandoned today: 500" was the
    # cap, not a count. The day's counters say how many there were.
    snap = centre()
    abandons = tuple(
        AbandonedContact(id=f"a{i}", queue_id="sales", channel=Channel.VOICE, waited_s=40,
                         abandoned_at=T0 - timedelta(seconds=i), source="pbx")
        for i in range(MAX_ABANDONED))
    counted = sum(s.abandoned for s in snap.day_stats.values())
    more = {"sales": 600}  # 600 more contacts offered to Sales today, all abandoned
    day = {q: s.model_copy(update={"offered": s.offered + more.get(q, 0),
                                   "abandoned": s.abandoned + more.get(q, 0)})
           for q, s in snap.day_stats.items()}
    capped = snap.model_copy(update={"abandoned": abandons, "day_stats": day})
    app = console(RecordingSource([capped]))
    async with app.run_test(size=(120, 30)) as pilot:
        await open_abandoned(pilot)
        assert f"Abandoned today: {counted + 600} · the newest 500 listed" in text(app)
    # Counters short of the list (a source that does not keep them): at least the list.
    short = capped.model_copy(update={"day_stats": snap.day_stats})
    app = console(RecordingSource([short]))
    async with app.run_test(size=(120, 30)) as pilot:
        await open_abandoned(pilot)
        assert "Abandoned today: 500+ · the newest 500 listed" in text(app)
