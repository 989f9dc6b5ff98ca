"""Escalation desk: take, note, resolve — shared by two consoles on one database."""

from __future__ import annotations

from pathlib import Path

from supervisor_tui.store import Store
from supervisor_tui.ui.app import SupervisorApp
from supervisor_tui.ui.widgets.grid import Grid
from tests.helpers import ScriptedSource, centre, make_config, screen_text, wait_for


def console(db: Path | str, user: str, read_only: bool = False) -> SupervisorApp:
    return SupervisorApp(make_config(poll_interval_s=0.2), [ScriptedSource([centre()])],
                         store=Store.open(db), user=user, read_only=read_only)


async def open_desk(pilot) -> Grid:  # type: ignore[no-untyped-def]
    await wait_for(pilot, lambda: pilot.app.board is not None)
    await pilot.press("e")
    grid = pilot.app.screen.query_one("#desk", Grid)
    await wait_for(pilot, lambda: len(grid.rows) > 0)
    return grid


async def test_desk_lists_escalations_most_severe_first(tmp_path: Path) -> None:
    app = console(tmp_path / "s.db", "ann")
    async with app.run_test(size=(120, 30)) as pilot:
        grid = await open_desk(pilot)
        severities = [e.severity for e in grid.rows]
        assert severities[0] == "critical" and "VIP" in grid.rows[0].reason
        assert severities == sorted(severities, key=["critical", "warning", "info"].index)
        assert "‼ 1 critical" in screen_text(app)


async def test_two_consoles_share_ownership_and_notes(store_at: Path | str) -> None:
    db = store_at
    ann, bob = console(db, "ann"), console(db, "bob")
    async with ann.run_test(size=(120, 30)) as pa, bob.run_test(size=(120, 30)) as pb:
        grid_a = await open_desk(pa)
        vip = grid_a.cursor_key
        await pa.press("t")  # ann takes the VIP escalation
        await wait_for(pa, lambda: "Taken: c1 (vip) — done — u to undo" in screen_text(ann))
        await pa.press("n", *"calling back", "enter")
        await wait_for(pa, lambda: "◉ ann" in screen_text(ann))
        grid_b = await open_desk(pb)
        # Within one poll bob's console shows ann as the owner, and her note.
        await wait_for(pb, lambda: "◉ ann" in screen_text(bob))
        assert grid_b.cursor_key == vip
        await wait_for(pb, lambda: "calling back" in screen_text(bob))
        # Taking it from her asks first, naming the item and its owner; Esc leaves it.
        await pb.press("t")
        await wait_for(pb, lambda: "Take over c1 (vip) from ann?" in screen_text(bob))
        await pb.press("escape")
        await wait_for(pb, lambda: "Not done: c1 (vip) left with ann" in screen_text(bob))
        assert not any(r["user"] == "bob" for r in bob.audit.records())
        # Confirmed: bob owns it, and ann's desk tells her who took it over.
        await pb.press("t")
        await wait_for(pb, lambda: "Take over c1 (vip) from ann?" in screen_text(bob))
        await pb.press("y")
        await wait_for(pb, lambda: "◉ bob" in screen_text(bob))
        await wait_for(pa, lambda: "bob took over c1 (vip) (you had taken it)"
                       in screen_text(ann))
        await wait_for(pa, lambda: "◉ bob" in screen_text(ann))
        records = ann.audit.records()
        assert [(r["user"], r["outcome"], r["params"]["verb"]) for r in records] == [
            ("ann", "done", "taken"), ("ann", "done", "note"), ("bob", "done", "taken")]
        assert records[-1]["params"]["over"] == "ann"
        assert records[-1]["params"]["label"] == "c1 (vip)"


async def test_viewer_cannot_take(tmp_path: Path) -> None:
    app = console(tmp_path / "s.db", "guest", read_only=True)
    async with app.run_test(size=(120, 30)) as pilot:
        await open_desk(pilot)
        await pilot.press("t")  # not offered to a viewer; pressed anyway, it says why
        await wait_for(pilot, lambda: len(app.audit.records()) == 1)
        assert app.audit.records()[0]["outcome"] == "refused"
        assert "needs supervisor" in app.audit.records()[0]["response"]
        assert "needs supervisor" in screen_text(app)
        assert "◉" not in screen_text(app).split("Why")[1]
        assert app.store.escalation_states() == {}


async def test_new_critical_is_announced_and_can_be_silenced(tmp_path: Path) -> None:
    from datetime import timedelta

    from tests.helpers import T0

    calm = centre(now=T0 - timedelta(minutes=2))
    calm = calm.model_copy(update={"contacts": (), "agents": calm.agents[:2]})
    for announce in (True, False):
        app = SupervisorApp(make_config(poll_interval_s=0.2, announce=announce, bell=False),
                            [ScriptedSource([calm, centre()])],
                            store=Store.open(tmp_path / f"{announce}.db"), user="ann")
        async with app.run_test(size=(120, 30)) as pilot:
            await wait_for(pilot, lambda a=app: any(e.severity == "critical"
                                                    for e in a.escalations))
            await pilot.pause(0.2)
            notices = [n.message for n in app._notifications]
            assert any("VIP" in m for m in notices) is announce


# -- actions bind to what was chosen (issue 11.3) ---------------------------------------

def named_centre(now=None, drop: tuple[str, ...] = ()):  # type: ignore[no-untyped-def]
    """The test centre with customer names, minus the contacts in ``drop``."""
    from tests.helpers import T0

    snap = centre(now=now or T0)
    names = {"c1": "Dana Jensen", "c2": "Eli Moss", "c3": "Fay Lund"}
    contacts = tuple(c.model_copy(update={"customer": names[c.id]})
                     for c in snap.contacts if c.id not in drop)
    return snap.model_copy(update={"contacts": contacts})


async def test_note_lands_on_the_chosen_item_when_its_row_clears(tmp_path: Path) -> None:
    """n on the VIP, then the VIP is answered and its row clears before Enter: the note
    is still saved on the VIP, not on whichever row slid under the cursor."""
    from datetime import timedelta

    from tests.helpers import T0

    source = ScriptedSource([named_centre()])
    app = SupervisorApp(make_config(poll_interval_s=0.1), [source],
                        store=Store.open(tmp_path / "s.db"), user="ann")
    async with app.run_test(size=(120, 30)) as pilot:
        grid = await open_desk(pilot)
        vip = grid.cursor_key
        assert vip == "contact-wait:pbx:c1"
        await pilot.press("n")
        assert "Note on c1 Dana Jensen (vip)" in screen_text(app)
        # The VIP is answered; 40 s later (past any hold) the rows have moved on.
        source.snapshots = [named_centre(T0 + timedelta(seconds=40), drop=("c1",))]
        await wait_for(pilot, lambda: app.board is not None
                       and app.board.taken_at == T0 + timedelta(seconds=40))
        await wait_for(pilot, lambda: all(e.id != vip or not e.present
                                          for e in app.escalations))
        await pilot.pause(0.3)
        await pilot.press(*"calling back", "enter")
        await pilot.pause(0.2)
        assert [n["note"] for n in app.store.escalation_notes(vip)] == ["calling back"]
        for esc in app.escalations:
            assert app.store.escalation_notes(esc.id) == []


def churn(now, first: int, count: int = 4):  # type: ignore[no-untyped-def]
    """A desk that churns: VIP contacts c<first>.. c<first+count-1>, each waiting longer
    than the next, under their customer's name; a new poll drops the oldest."""
    from datetime import timedelta

    from supervisor_tui.domain.model import Channel, Contact, Tier

    snap = centre(now=now)
    contacts = tuple(
        Contact(id=f"c{n}", source="pbx", queue_id="sales", channel=Channel.VOICE, tier=Tier.VIP,
                customer=f"Customer {n}",
                entered_at=now - timedelta(seconds=200 - 10 * (n - first)))
        for n in range(first, first + count))
    return snap.model_copy(update={"contacts": contacts})


async def test_churning_desk_never_moves_under_a_dialog(tmp_path: Path) -> None:
    """Rows clear every poll. A note started on c11 and a confirmation to resolve c12
    (owned by bob) land on c11 and c12, and the cursor stays put while they are open."""
    from datetime import timedelta

    from supervisor_tui.store import TAKEN
    from tests.helpers import T0

    source = ScriptedSource([churn(T0, 10)])
    store = Store.open(tmp_path / "s.db")
    store.change_escalation("contact-wait:pbx:c12", TAKEN, "bob", T0)
    app = SupervisorApp(make_config(poll_interval_s=0.1), [source], store=store, user="ann")
    async with app.run_test(size=(120, 30)) as pilot:
        grid = await open_desk(pilot)
        await wait_for(pilot, lambda: grid.cursor_key == "contact-wait:pbx:c10")
        await pilot.press("down", "n")
        assert "Note on c11 Customer 11 (vip)" in screen_text(app)
        # Every poll from now on drops the oldest contact (c10, c11, ... go).
        source.snapshots = [churn(T0 + timedelta(seconds=40 * i), 10 + i) for i in range(1, 6)]
        await wait_for(pilot, lambda: source.snapshots == [] or len(source.snapshots) == 1)
        await pilot.pause(0.3)
        assert grid.cursor_key == "contact-wait:pbx:c11"  # untouched under the dialog
        await pilot.press(*"left a voicemail", "enter")
        await pilot.pause(0.2)
        assert [n["note"] for n in store.escalation_notes("contact-wait:pbx:c11")] == [
            "left a voicemail"]
        assert "Note saved on c11 Customer 11 (vip)" in screen_text(app)
        # The desk caught up: c11 is long gone, the cursor is on a live row.
        await wait_for(pilot, lambda: grid.cursor_key != "contact-wait:pbx:c11")
        for n in range(10, 16):
            if n != 11:
                assert store.escalation_notes(f"contact-wait:pbx:c{n}") == []


async def test_resolve_someone_elses_item_asks_and_binds_to_it(tmp_path: Path) -> None:
    from datetime import timedelta

    from supervisor_tui.store import TAKEN
    from tests.helpers import T0

    store = Store.open(tmp_path / "s.db")
    store.change_escalation("agent-acw:pbx:a3", TAKEN, "bob", T0)
    source = ScriptedSource([centre()])
    app = SupervisorApp(make_config(poll_interval_s=0.1), [source], store=store, user="ann")
    async with app.run_test(size=(120, 30)) as pilot:
        grid = await open_desk(pilot)
        await pilot.press("down")
        assert grid.cursor_key == "agent-acw:pbx:a3"
        await pilot.press("x")
        await wait_for(pilot, lambda: "Resolve agent Cy? It is already taken by bob; bob "
                       "will be told." in screen_text(app))
        # Meanwhile the VIP above it is answered: rows shift under the dialog.
        later = centre(T0 + timedelta(seconds=40))
        source.snapshots = [later.model_copy(update={"contacts": later.contacts[1:]})]
        await wait_for(pilot, lambda: "contact-wait:pbx:c1" not in app.state.tracker.result.by_id)
        await pilot.press("y")
        await wait_for(pilot, lambda: "Resolved: agent Cy (bob told) — done — u to undo"
                       in screen_text(app))
        assert store.escalation_states()["agent-acw:pbx:a3"]["state"] == "resolved"
        assert "contact-wait:pbx:c1" not in store.escalation_states()
        [notice] = store.notices_for("bob", T0 - timedelta(hours=1))
        assert notice["text"] == "ann resolved agent Cy (you had taken it)"
        # u undoes it (audited), and bob is told that too.
        await pilot.press("u")
        await wait_for(pilot, lambda: "Undone: agent Cy is taken by bob again"
                       in screen_text(app))
        assert store.escalation_states()["agent-acw:pbx:a3"]["owner"] == "bob"
        verbs = [(r["params"]["verb"], r["outcome"]) for r in app.audit.records()]
        assert verbs == [("resolved", "done"), ("undo", "done")]
        assert len(store.notices_for("bob", T0 - timedelta(hours=1))) == 2


async def test_a_waiting_contact_cannot_be_resolved_but_can_be_snoozed(tmp_path: Path) -> None:
    from datetime import timedelta

    from tests.helpers import T0

    source = ScriptedSource([centre()])
    app = SupervisorApp(make_config(poll_interval_s=0.1), [source],
                        store=Store.open(tmp_path / "s.db"), user="ann")
    async with app.run_test(size=(120, 30)) as pilot:
        grid = await open_desk(pilot)
        assert grid.cursor_key == "contact-wait:pbx:c1"
        await pilot.press("x")
        await wait_for(pilot, lambda: "c1 (vip) is still waiting: acknowledge (k) or "
                       "snooze (z) it" in screen_text(app))
        [record] = app.audit.records()
        assert (record["outcome"], record["params"]["verb"]) == ("refused", "resolved")
        await pilot.press("z")  # snoozed: off the desk and out of the counts
        await wait_for(pilot, lambda: "‼ 0 critical" in screen_text(app))
        assert all(e.id != "contact-wait:pbx:c1" for e in grid.rows)
        await pilot.press("h")  # shown again with h, as snoozed
        await wait_for(pilot, lambda: any(e.id == "contact-wait:pbx:c1" for e in grid.rows))
        assert "snoozed" in screen_text(app)
        await pilot.press("h")
        # Six minutes later (snooze_minutes is 5) the VIP, still waiting, is back.
        source.snapshots = [centre(T0 + timedelta(minutes=6))]
        await wait_for(pilot, lambda: any(e.id == "contact-wait:pbx:c1" for e in grid.rows))
        assert "snooze over" in screen_text(app) and "‼ 1 critical" in screen_text(app)
        # Acknowledge, then undo it: "done — u to undo", and u puts it back.
        await pilot.press("home", "k")
        await wait_for(pilot, lambda: "Acknowledged: c1 (vip) — done — u to undo"
                       in screen_text(app))
        await pilot.press("u")
        await wait_for(pilot, lambda: "Undone: c1 (vip) is snoozed again" in screen_text(app))
        verbs = [r["params"]["verb"] for r in app.audit.records()]
        assert verbs == ["resolved", "snoozed", "acknowledged", "undo"]


async def test_release_give_and_mine(tmp_path: Path) -> None:
    db = tmp_path / "shared.db"
    ann, bob = console(db, "ann"), console(db, "bob")
    async with ann.run_test(size=(120, 30)) as pa, bob.run_test(size=(120, 30)) as pb:
        grid_a = await open_desk(pa)
        grid_b = await open_desk(pb)
        await pa.press("l")  # nothing to release yet
        await wait_for(pa, lambda: "nobody has taken it" in screen_text(ann))
        await pa.press("t", "g")
        await wait_for(pa, lambda: "Give c1 (vip) to" in screen_text(ann))
        await pa.press(*"bob", "enter")
        await wait_for(pa, lambda: "Given: c1 (vip) to bob (bob told)" in screen_text(ann))
        await wait_for(pb, lambda: "ann gave you c1 (vip)" in screen_text(bob))
        await wait_for(pb, lambda: "◉ bob" in screen_text(bob))
        await pb.press("f")  # mine only: just the VIP
        await wait_for(pb, lambda: [e.id for e in grid_b.rows] == ["contact-wait:pbx:c1"])
        assert "mine only" in screen_text(bob)
        await pb.press("l")  # bob releases it: nobody's, so not in his "mine" view
        await wait_for(pb, lambda: len(grid_b.rows) == 0)
        await pb.press("f")
        await wait_for(pb, lambda: len(grid_b.rows) == 3)
        await wait_for(pa, lambda: "◉" not in screen_text(ann).split("Why")[1])
        assert len(grid_a.rows) == 3
        verbs = [(r["user"], r["params"]["verb"], r["outcome"]) for r in ann.audit.records()]
        assert verbs == [("ann", "release", "failed"), ("ann", "taken", "done"),
                         ("ann", "give", "done"), ("bob", "release", "done")]


async def test_answered_contact_greys_out_at_once_then_goes(tmp_path: Path) -> None:
    """The desk agrees with the dashboard: once the VIP is answered it no longer counts
    (no running Waiting clock), shows how its wait ended, then leaves the desk."""
    from datetime import timedelta

    from supervisor_tui.domain.model import ContactState
    from tests.helpers import T0

    source = ScriptedSource([centre()])
    app = SupervisorApp(make_config(poll_interval_s=0.1), [source],
                        store=Store.open(tmp_path / "s.db"), user="ann")
    async with app.run_test(size=(120, 30)) as pilot:
        grid = await open_desk(pilot)
        assert "‼ 1 critical" in screen_text(app)
        snap = centre(T0 + timedelta(seconds=4))
        answered = snap.contacts[0].model_copy(update={"state": ContactState.CONNECTED,
                                                       "agent_id": "a1"})
        source.snapshots = [snap.model_copy(update={"contacts": (answered,
                                                                 *snap.contacts[1:])})]
        await wait_for(pilot, lambda: "answered after 1:35" in screen_text(app))
        text = screen_text(app)
        assert "‼ 0 critical" in text and "– 1 left the queue" in text
        row = next(line for line in text.splitlines() if "answered after" in line)
        assert "– gone" in row and "1:35" in row  # the wait, frozen
        await pilot.pause(0.5)
        assert "answered after 1:35" in screen_text(app)  # not ticking, still shown
        await pilot.press("d")  # the dashboard's desk line agrees: nothing critical
        await wait_for(pilot, lambda: "Desk ‼0 " in screen_text(app))
        await pilot.press("e")
        # departed_show_s (15 s; the source clock runs at wall speed here) later it is gone.
        later = centre(T0 + timedelta(seconds=25))
        source.snapshots = [later.model_copy(update={"contacts": (answered,
                                                                  *later.contacts[1:])})]
        await wait_for(pilot, lambda: all(e.id != "contact-wait:pbx:c1" for e in grid.rows))
        assert "answered after" not in screen_text(app)


async def test_ages_freeze_on_stale_data_and_since_is_centre_time(tmp_path: Path) -> None:
    from datetime import timedelta

    from tests.helpers import T0

    now = [T0]
    mono = [1000.0]
    source = ScriptedSource([centre()])
    config = make_config(poll_interval_s=0.1, timezone="America/New_York", stale_after_s=10)
    app = SupervisorApp(config, [source], store=Store.open(tmp_path / "s.db"), user="ann",
                        clock=lambda: now[0], monotonic=lambda: mono[0])
    async with app.run_test(size=(120, 30)) as pilot:
        grid = await open_desk(pilot)
        # The VIP entered at 10:18:25 UTC: 05:18:25 in New York, the centre's zone.
        assert "since 05:18:25" in screen_text(app)

        def vip_row() -> str:
            return next(line for line in screen_text(app).splitlines() if "VIP" in line)

        assert "1:35" in vip_row() and "≥" not in vip_row()
        # The abandon rate was first seen at start-up: its age is only a bound.
        await pilot.press("end")
        assert grid.cursor_key == "queue-abandon:sales"
        assert "≥ 0:00" in screen_text(app) and "(began earlier)" in screen_text(app)
        source.fail_with = "connection refused"
        await wait_for(pilot, lambda: app.state.health["pbx"].consecutive_failures > 0)
        now[0], mono[0] = T0 + timedelta(seconds=30), 1030.0  # 30 s without data: STALE
        await wait_for(pilot, lambda: "STALE" in screen_text(app))
        await wait_for(pilot, lambda: "≥ 1:35" in vip_row())
        assert "STALE: ages frozen" in screen_text(app)
        now[0], mono[0] = T0 + timedelta(seconds=50), 1050.0
        await pilot.pause(0.3)
        assert "≥ 1:35" in vip_row()  # frozen, not ticking


async def test_help_lists_the_desk_keys_and_enter_opens(tmp_path: Path) -> None:
    app = console(tmp_path / "s.db", "ann")
    async with app.run_test(size=(120, 40)) as pilot:
        grid = await open_desk(pilot)
        await pilot.press("u")  # nothing done yet: it says so rather than nothing
        await wait_for(pilot, lambda: "Nothing to undo" in screen_text(app))
        await pilot.press("question_mark")
        await pilot.pause(0.2)
        text = screen_text(app)
        for words in ("Undo the last take", "Release (give up ownership)", "Give to…",
                      "Mine only", "Snooze", "Acknowledge", "Show resolved and snoozed"):
            assert words in text, words
        await pilot.press("escape")
        await pilot.pause(0.1)
        # Enter on the abandon-rate row opens its queue.
        await pilot.press("end", "enter")
        await wait_for(pilot, lambda: type(app.screen).__name__ == "QueueDetailScreen")
        assert grid.cursor_key == "queue-abandon:sales"


async def test_a_key_just_after_the_row_left_is_not_taken_for_the_neighbour(
        tmp_path: Path) -> None:
    """t pressed just as the chosen row leaves must not take whatever slid under the
    cursor: the desk says what happened and waits for a second press."""
    from datetime import timedelta

    from tests.helpers import T0

    source = ScriptedSource([churn(T0, 10)])
    app = SupervisorApp(make_config(poll_interval_s=0.1), [source],
                        store=Store.open(tmp_path / "s.db"), user="ann")
    async with app.run_test(size=(120, 30)) as pilot:
        grid = await open_desk(pilot)
        await wait_for(pilot, lambda: grid.cursor_key == "contact-wait:pbx:c10")
        # c10 is answered: greyed, the cursor stays on it, and nothing can take it.
        source.snapshots = [churn(T0 + timedelta(seconds=5), 11)]
        await wait_for(pilot, lambda: "left the queue after" in screen_text(app))
        assert grid.cursor_key == "contact-wait:pbx:c10"
        await pilot.press("t")
        await wait_for(pilot, lambda: "c10 Customer 10 (vip) left the queue after 3:20: "
                       "nothing to take" in screen_text(app))
        # Then its row goes; the cursor falls onto a live row. A t right then is not
        # for that row.
        source.snapshots = [churn(T0 + timedelta(seconds=30), 11)]
        await wait_for(pilot, lambda: grid.cursor_key not in (None, "contact-wait:pbx:c10"))
        landed = grid.cursor_key
        await pilot.press("t")
        await wait_for(pilot, lambda: "Not done: c10 Customer 10 (vip) just left the desk"
                       in screen_text(app))
        assert app.store.escalation_states() == {}
        await pilot.press("t")  # pressed again: meant for the row now under the cursor
        await wait_for(pilot, lambda: "Taken: " in screen_text(app))
        assert list(app.store.escalation_states()) == [landed]
