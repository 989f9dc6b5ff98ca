"""Vendors (V), tier columns and the tier block, and scoped users, driven with keys at
80x24 and 200x60 against the hand-computed centre of tests/vendor_centre.py."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from rich.text import Text

from supervisor_tui.config import parse_config
from supervisor_tui.domain.model import Channel, Contact
from supervisor_tui.store import Store
from supervisor_tui.ui.app import SupervisorApp
from supervisor_tui.ui.widgets.grid import Grid
from tests.helpers import (
    T0,
    ScriptedSource,
    centre,
    help_rows,
    screen_text,
    screen_title,
    settle,
    wait_for,
)
from tests.vendor_centre import VENDOR_CONFIG, vendor_centre


def console(user: str = "sam", **extra: object) -> SupervisorApp:
    data = {"console": {"timezone": "UTC", "poll_interval_s": 0.1}, **VENDOR_CONFIG, **extra}
    return SupervisorApp(parse_config(data, "test"), [ScriptedSource([vendor_centre()])],
                         store=Store.open(None), clock=lambda: T0, user=user)


def line_of(app: SupervisorApp, start: str) -> str:
    return next(line for line in screen_text(app).splitlines()
                if line.strip().startswith(start))


async def open_vendors(pilot) -> None:  # type: ignore[no-untyped-def]
    await settle(pilot)
    await pilot.press("V")
    await wait_for(pilot, lambda: screen_title(pilot.app) == "Vendors")
    await pilot.pause(0.1)


async def test_vendors_at_80x24_by_hand_with_the_misses_in_red() -> None:
    app = console()
    async with app.run_test(size=(80, 24)) as pilot:
        await open_vendors(pilot)
        text = screen_text(app)
        assert "3 vendors" in text and "1 missing their contract" in text
        acme = line_of(app, "Acme BPO")
        # SL 24/32 = 75% (n 32) against 70%; abandon 4/38 = 10.5% against 5%.
        assert re.search(r"✓ 75% n32\s+70%/20s\s", acme), acme
        assert "10.5% ≤5.0%" in acme
        globex = line_of(app, "Globex")
        assert "100% n10" in globex and "90%/30s≠" in globex
        offshore = line_of(app, "Offshore")
        assert re.search(r"—\s+none\s", offshore), offshore
        # The missed cells are red, the met ones are not.
        grid = app.screen.query_one("#vendors", Grid)
        rows = {v.key: v for v in grid._input}
        assert rows["acme"].misses == {"aht", "abandon"}
        cells = {c.key: c for c in grid.columns}
        for key, red in (("sl", False), ("abandon", True), ("aht", True), ("name", True)):
            cell = cells[key].cell(rows["acme"], T0)
            assert isinstance(cell, Text) and ("red" in str(cell.style)) is red, key
        assert "red" not in str(cells["name"].cell(rows["globex"], T0).style)
        assert "Adh —: no schedule" in text
        await pilot.press("question_mark")
        await wait_for(pilot, lambda: "Keys on this screen" in screen_text(app))
        keys = {row[0]: row[1] for row in help_rows(app) if len(row) > 1}
        assert keys.get("w") == "Window" and keys.get("V") == "Vendors"


async def test_vendors_at_200x60_every_column_and_w_switches_window() -> None:
    app = console()
    async with app.run_test(size=(200, 60)) as pilot:
        await open_vendors(pilot)
        header = line_of(app, "Vendor ")
        for label in ("Q", "SL", "Contract", "AHT", "Aband", "Adh", "Av/On/ACW/Aw", "In"):
            assert label in header.split(), (label, header)
        acme = line_of(app, "Acme BPO")
        # AHT 240 s against 200 s; team Red: Ana available, Bo on a contact.
        assert "4:00 ≤3:20" in acme and re.search(r"1/1/0/0\s+2$", acme), acme
        globex = line_of(app, "Globex")
        assert re.search(r"0/1/1/1\*\s+3$", globex), globex  # Support's agents, starred
        await pilot.press("w")
        await wait_for(pilot, lambda: "last" in line_of(app, "3 vendors"))


async def test_a_scoped_user_sees_only_their_vendors_queues_on_every_screen() -> None:
    app = console(user="alice")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        board = app.board
        assert board is not None and [r.queue.id for r in board.rows] == ["sales"]
        text = screen_text(app)
        assert "Sales" in text and "Support" not in text
        assert "alice (supervisor · acme)" in text.splitlines()[0]
        await pilot.press("a")
        await wait_for(pilot, lambda: screen_title(app) == "Agents")
        await pilot.pause(0.1)
        text = screen_text(app)
        assert "Ana" in text and "Bo" in text
        assert "Cy" not in text and "Di" not in text  # Support's agents
        await pilot.press("d", "A")
        await wait_for(pilot, lambda: "Abandoned today" in screen_text(app))
        await pilot.pause(0.1)
        text = screen_text(app)
        assert "Sal Abandon" in text and "Sue Abandon" not in text
        await open_vendors(pilot)
        assert "Acme BPO" in screen_text(app) and "Globex" not in screen_text(app)


async def test_a_scoped_user_is_refused_outside_the_scope_and_audited() -> None:
    app = console(user="alice", roles={"scopes": {"alice": ["vendor:acme"]},
                                       "users": {"alice": "admin"}})
    async with app.run_test(size=(120, 30)) as pilot:
        await settle(pilot)
        # A contact of Support moved into Sales: Support is outside alice's scope.
        c3 = Contact(id="c3", source="pbx", queue_id="support", channel=Channel.CHAT,
                     entered_at=T0)
        result = await app.actions.reassign_contact(c3, "sales")
        assert not result.ok and result.code == "refused"
        assert result.message == "alice sees vendor:acme only; support is outside it"
        assert app.audit is not None
        record = app.audit.records()[-1]  # type: ignore[attr-defined]
        assert (record["user"], record["outcome"]) == ("alice", "refused")
        # An admin, but scoped: declaring an incident reaches the whole centre.
        await pilot.press("c")
        await wait_for(pilot, lambda: screen_title(app) == "Crisis")
        await pilot.press("i")
        await wait_for(pilot, lambda: "reaches the whole centre" in screen_text(app) + " ".join(
            n.message for n in app._notifications))


# -- tiers on the dashboard (t) and in the queue detail --------------------------------

async def test_tier_columns_at_80x24_and_back() -> None:
    app = console()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("t")
        await wait_for(pilot, lambda: "VIP SL" in screen_text(app))
        sales = line_of(app, "Sales")
        # VIP 7/9 = 78% (9 contacts: greyed with its count), gold 4/4, standard 13/19.
        assert re.search(r"✗ 78%·9\s+✓ 100%·4\s+✗ 68%", sales), sales
        assert re.search(r"Support\s+1\s+0:30\s+—\s+—\s+—", line_of(app, "Support"))
        assert "tiers: not reported by pbx (Support)" in screen_text(app)
        # The centre's live queues that report a split (Sales only), summed.
        assert "live (1/2 queues) VIP ✗ 78%·9 Gold ✓ 100%·4 Std ✗ 68%" in screen_text(app)
        await pilot.press("question_mark")
        await wait_for(pilot, lambda: "Keys on this screen" in screen_text(app))
        keys = {row[0]: row[1] for row in help_rows(app) if len(row) > 1}
        assert keys.get("t") == "Tiers"
        await pilot.press("escape", "t")
        await wait_for(pilot, lambda: "VIP SL" not in screen_text(app))
        assert "tiers: not reported" not in screen_text(app)
        assert re.search(r"Sales .*75%", line_of(app, "Sales"))


async def test_tier_columns_at_200x60_add_up_to_the_queue() -> None:
    app = console()
    async with app.run_test(size=(200, 60)) as pilot:
        await settle(pilot)
        await pilot.press("t")
        await wait_for(pilot, lambda: "VIP SL" in screen_text(app))
        cells = line_of(app, "Sales").split()
        # Columns: Queue Wait# Oldest, 3 SLs (2 tokens each), then per tier Ab ASA Off.
        assert cells[:3] == ["Sales", "2", "1:35"]
        vip_ab, vip_asa, vip_off, gold_ab, gold_asa, gold_off, std_ab, std_asa, std_off = (
            cells[9:18])
        assert (vip_ab, vip_asa, gold_ab, gold_asa, std_ab, std_asa) == (
            "20.0%", "0:10·8", "20%·5", "0:05·4", "4.3%", "0:11")
        assert int(vip_off) + int(gold_off) + int(std_off) == 40  # Sales offered
        for label in ("VIP Off", "Gold ASA", "Std Ab"):
            assert label in line_of(app, "Queue ")


async def test_queue_detail_tier_block_at_80x24() -> None:
    app = console()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("enter")  # Sales, the first queue
        await wait_for(pilot, lambda: screen_title(app) == "Queue: Sales")
        await pilot.pause(0.1)
        vip = line_of(app, "VIP")
        assert re.search(r"VIP\s+10\s+✗ 78%\s+90%/20s\s+9\s+0:10·8\s+20\.0%", vip), vip
        assert re.search(r"gold\s+5\s+✓ 100%\s+85%/20s\s+4", line_of(app, "gold"))
        assert re.search(r"standard\s+25\s+✗ 68%\s+80%/20s\s+19\s+0:11\s+4\.3%",
                         line_of(app, "standard"))
        await pilot.press("escape", "down", "enter")  # Support: its source gives no split
        await wait_for(pilot, lambda: screen_title(app) == "Queue: Support")
        await wait_for(pilot, lambda: "Tiers: not reported by pbx" in screen_text(app))


# -- the wall's vendors view ------------------------------------------------------------

async def test_wall_vendors_view_worst_first() -> None:
    data = {"console": {"timezone": "UTC", "poll_interval_s": 0.1}, **VENDOR_CONFIG,
            "wall": {"views": ["vendors", "dashboard"], "rotate_s": 60, "pause_on": []}}
    app = SupervisorApp(parse_config(data, "test"), [ScriptedSource([vendor_centre()])],
                        store=Store.open(None), clock=lambda: T0, wall=True)
    async with app.run_test(size=(200, 60)) as pilot:
        await settle(pilot)
        await wait_for(pilot, lambda: "missing their contract" in screen_text(app))
        text = screen_text(app)
        assert "1 missing their contract" in text and "2 on contract" in text
        lines = [line for line in text.splitlines()
                 if line.strip().startswith(("Acme BPO", "Globex", "Offshore"))]
        assert [line.split()[0] for line in lines] == ["Acme", "Globex", "Offshore"]
        assert re.search(r"✓ 75% n32\s+70%/20s\s+4:00\s+10\.5%\s+2\s+abandon, AHT",
                         lines[0]), lines[0]


async def test_hostile_site_names_are_shown_as_text() -> None:
    from datetime import timedelta

    from supervisor_tui.domain.model import Agent, AgentState, AgentStateKind
    from tests import hostile

    names = [*hostile.HOSTILE[:40], "[bold red]Evil[/]\x1b]0;owned\x07", "[@click=app.quit]x[/]"]
    snap = vendor_centre()
    agents = tuple(Agent(id=f"h{i}", source="pbx", name=f"Agent {i}", site=name or "x",
                         state=AgentState(kind=AgentStateKind.AVAILABLE,
                                          since=T0 - timedelta(seconds=i)))
                   for i, name in enumerate(names))
    queues = tuple(q.model_copy(update={"site": "[blink]Q[/]\x1b[2J"}) for q in snap.queues)
    snap = snap.model_copy(update={"agents": snap.agents + agents, "queues": queues})
    app = SupervisorApp(parse_config({"console": {"timezone": "UTC", "poll_interval_s": 0.1}},
                                     "test"), [ScriptedSource([snap])],
                        store=Store.open(None), clock=lambda: T0)
    async with app.run_test(size=(200, 60)) as pilot:
        await open_vendors(pilot)
        text = screen_text(app)
        assert not re.search("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]", text)
        assert "[bold red]Evil[/]" in text and "[@click=app.quit]x[/]" in text
        assert "[blink]Q[/]" in text  # the queues' vendor, named by their source
        await pilot.press("end", "enter")
        await pilot.pause(0.2)
        assert app.is_running


async def test_a_scoped_users_export_holds_only_their_queues(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import csv
    from datetime import timedelta

    from supervisor_tui.store.abandoned import AbandonedRecorder
    from supervisor_tui.ui.screens.abandoned import AbandonedScreen
    from tests.test_app_export_events import export_to

    db = tmp_path / "s.db"
    store = Store.open(db)  # another console on the host recorded every queue's abandons
    AbandonedRecorder().record(store, vendor_centre().abandoned, T0, timedelta(days=2))
    store.close()
    data = {"console": {"timezone": "UTC", "poll_interval_s": 0.1}, **VENDOR_CONFIG}
    app = SupervisorApp(parse_config(data, "test"), [ScriptedSource([vendor_centre()])],
                        store=Store.open(db), clock=lambda: T0, user="alice")
    target = tmp_path / "abandoned.csv"
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("A")
        await wait_for(pilot, lambda: isinstance(app.screen, AbandonedScreen)
                       and "Abandoned today" in screen_text(app))
        said = await export_to(pilot, "x", target)
        assert "1 abandoned contact row(s) written" in said, said
        rows = list(csv.DictReader(target.open(encoding="utf-8", newline="")))
        assert [r["abandoned_id"] for r in rows] == ["x1"]  # not Support's x2


async def test_vendor_adherence_from_the_loaded_schedule(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """tests/test_app_schedule.py's morning: team Red (Ana 25 of 25 min, Bo 5 of 20 after
    grace) adheres 30 of 45 scheduled minutes = 67%, under Acme's 90%: missed."""
    from tests.test_app_schedule import SCHEDULE, snapshot

    watch = tmp_path / "schedule.csv"
    watch.write_text(SCHEDULE, encoding="utf-8")
    vendors = {"acme": {"name": "Acme BPO", "teams": ["Red"], "queues": ["sales"],
                        "contract": {"adherence_min": 0.9}}}
    data = {"console": {"timezone": "UTC", "poll_interval_s": 0.1}, "vendors": vendors,
            "schedule": {"watch": str(watch), "grace_min": 5, "escalate_after_min": 10}}
    app = SupervisorApp(parse_config(data, "test"), [ScriptedSource([snapshot(0)])],
                        store=Store.open(tmp_path / "s.db"), clock=lambda: T0)
    async with app.run_test(size=(200, 30)) as pilot:
        await open_vendors(pilot)
        await wait_for(pilot, lambda: "67% ≥90%" in line_of(app, "Acme BPO"))
        grid = app.screen.query_one("#vendors", Grid)
        acme = next(v for v in grid._input if v.key == "acme")
        assert acme.adherence == pytest.approx(30 / 45) and "adherence" in acme.misses


async def test_a_scope_naming_nothing_known_is_said_once() -> None:
    app = console(user="zoe", roles={"scopes": {"zoe": ["vendor:initech"]}})
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await wait_for(pilot, lambda: any("vendor:initech names no configured vendor"
                                          in n.message for n in app._notifications))
        assert app.board is not None and app.board.rows == ()
        await pilot.pause(0.3)  # more polls: not said again
        assert sum("initech" in n.message for n in app._notifications) == 1


async def test_enter_opens_a_vendor_its_queues_and_agents_at_80x24() -> None:
    app = console()
    async with app.run_test(size=(80, 24)) as pilot:
        await open_vendors(pilot)
        await pilot.press("enter")  # Acme BPO, the first row
        await wait_for(pilot, lambda: screen_title(app) == "Vendor: Acme BPO")
        await pilot.pause(0.1)
        text = screen_text(app)
        assert "✓ 75% n32" in line_of(app, "Acme BPO")
        assert re.search(r"^Sales\s", text, re.M) and "Support" not in text
        assert "Ana" in text and "Bo" in text and "Cy" not in text  # team Red
        await pilot.press("down", "tab", "enter")
        await wait_for(pilot, lambda: "Ana  team Red" in screen_text(app))  # her detail
        await pilot.press("escape")
        await wait_for(pilot, lambda: screen_title(app) == "Vendor: Acme BPO")
        await pilot.press("escape", "down", "enter")  # Globex: no agent of its own
        await wait_for(pilot, lambda: screen_title(app) == "Vendor: Globex")
        await pilot.pause(0.1)
        text = screen_text(app)
        assert "Support" in text and all(n in text for n in ("Bo", "Cy", "Di"))
        await pilot.press("enter")  # its queue
        await wait_for(pilot, lambda: screen_title(app) == "Queue: Support")


async def test_no_vendor_configured_says_how_to_name_one_within_80_columns() -> None:
    data = {"console": {"timezone": "UTC", "poll_interval_s": 0.1}}
    app = SupervisorApp(parse_config(data, "test"), [ScriptedSource([centre()])],
                        store=Store.open(None), clock=lambda: T0, user="sam")
    async with app.run_test(size=(80, 24)) as pilot:
        await open_vendors(pilot)
        text = screen_text(app)
        assert "0 vendors" in text and "No vendor known" in text
        # the whole hint is on screen, not cut at the right edge
        assert "to the config," in text and "(docs/vendors.md)." in text, text
        assert "Adh —" not in text  # no vendor: nothing to say about their adherence


def test_a_small_sample_abandon_rate_fits_its_column_without_false_decimals() -> None:
    from supervisor_tui.domain.board import WindowMetrics
    from supervisor_tui.domain.model import QueueStats
    from supervisor_tui.ui.widgets.tiers import _rate

    def window(rate: float, n: int) -> WindowMetrics:
        stats = QueueStats.trusted(queue_id="q", window_start=datetime(2026, 11, 23, tzinfo=UTC))
        return WindowMetrics(stats=stats, service_level=None, asa_s=None,
                             aht_s=None, abandon_rate=rate, abandon_n=n)

    one = window(1.0, 1)
    assert _rate(one, 10).plain == "100%·1"  # was "100.0%·1", cut in its 7-column cell
    many = window(0.514, 35)
    assert _rate(many, 10).plain == "51.4%"
