"""The console pages the on-call supervisor ([crisis.paging]) and the desk says so (80x24).

A real loopback webhook receiver gets the page; the desk's Owner column reads
"paged 1×" for the unowned VIP and its detail line says when, to whom, through which
channel and what became of it. Taking the item puts the owner back in the column.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from supervisor_tui.config import Config, parse_config
from supervisor_tui.domain.model import Snapshot
from supervisor_tui.store import Store
from supervisor_tui.ui.app import SupervisorApp
from supervisor_tui.ui.widgets.grid import Grid
from tests.crisis_helpers import Receiver
from tests.helpers import T0, ScriptedSource, centre, help_rows, screen_text, wait_for


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


def paging_config(url: str, **paging: Any) -> Config:
    return parse_config({
        "console": {"timezone": "UTC", "poll_interval_s": 0.2},
        "crisis": {
            "channels": {"pager": {"type": "webhook", "url": f"{url}/page",
                                   "timeout_s": 2}},
            # The VIP in tests.helpers.centre has been critical for 65 s: one minute pages.
            "paging": {"enabled": True, "who": "Dana (on-call)", "channels": ["pager"],
                       "after_minutes": 1, "repeat_minutes": 10, "check_s": 1, **paging},
        }}, "test")


def desk_row(app: SupervisorApp, label: str) -> str:
    return next((line for line in screen_text(app).splitlines() if label in line
                 and "CRIT" in line), "")


async def test_the_desk_shows_the_page_then_the_owner(receiver: Receiver,
                                                      tmp_path: Path) -> None:
    app = SupervisorApp(paging_config(receiver.url), [ScriptedSource([centre()])],
                        store=Store.open(tmp_path / "s.db"), user="ann")
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: app.board is not None)
        await pilot.press("e")
        grid = app.screen.query_one("#desk", Grid)
        await wait_for(pilot, lambda: len(grid.rows) > 0)
        await wait_for(pilot, lambda: "paged 1×" in desk_row(app, "VIP"))
        await wait_for(pilot, lambda: "(delivered)" in screen_text(app))
        [page] = [r.json() for r in receiver.to("/page")]
        assert [i["label"] for i in page["page"]["items"]] == ["c1 (vip)"]
        assert page["page"]["who"] == "Dana (on-call)"
        text = screen_text(app)
        assert "paged 1× · last 10:20 to Dana (on-call) via pager (delivered)" in text
        # The page is in the audit log with what it was about and where it went.
        done = [r for r in app.audit.records() if r["action"] == "escalation_page"
                and r["outcome"] == "done"]
        assert done[0]["params"]["paged"] == [grid.rows[0].id + "#1"]
        # Taken: the Owner column names the owner; the detail keeps the page history.
        await pilot.press("t")
        await wait_for(pilot, lambda: "◉ ann" in desk_row(app, "VIP"))
        assert "paged 1×" not in desk_row(app, "VIP")
        assert "paged 1× · last 10:20" in screen_text(app)
        await pilot.pause(1.5)  # more than one paging pass: nothing new is sent
        assert len(receiver.to("/page")) == 1


async def test_a_receiver_that_refuses_the_page_is_said(receiver: Receiver,
                                                        tmp_path: Path) -> None:
    receiver.plan(10, 404)
    app = SupervisorApp(paging_config(receiver.url), [ScriptedSource([centre()])],
                        store=Store.open(tmp_path / "s.db"), user="ann")
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: app.board is not None)
        await wait_for(pilot, lambda: any(
            n.message.startswith("Page to Dana (on-call) via pager failed: HTTP 404")
            and n.severity == "error" for n in app._notifications))
        await pilot.press("e")
        await wait_for(pilot, lambda: "(failed: pager: HTTP 404" in screen_text(app))
        assert "paged 1×" in desk_row(app, "VIP")
        # ? on the desk says what the Owner column's "paged 1×" means
        await pilot.press("question_mark")
        await pilot.press("end")  # the glossary's end: the desk's own marks
        await wait_for(pilot, lambda: any(r[0] == "paged 2×" for r in help_rows(app)))
        [row] = [r for r in help_rows(app) if r[0] == "paged 2×"]
        assert row[1].startswith("Escalation desk, Owner: an unowned")


def test_only_a_console_that_sends_crisis_messages_pages(receiver: Receiver,
                                                          tmp_path: Path) -> None:
    config = paging_config(receiver.url)
    store = Store.open(tmp_path / "s.db")
    assert SupervisorApp(config, [ScriptedSource([centre()])], store=store,
                         user="ann").pager is not None
    # A wall (read-only) only looks; with paging off (the default) nobody pages.
    assert SupervisorApp(config, [ScriptedSource([centre()])], store=store, user="ann",
                         read_only=True).pager is None
    off = config.model_copy(update={"crisis": config.crisis.model_copy(update={
        "paging": config.crisis.paging.model_copy(update={"enabled": False})})})
    assert SupervisorApp(off, [ScriptedSource([centre()])], store=store,
                         user="ann").pager is None


async def test_no_page_from_stale_data(receiver: Receiver, tmp_path: Path) -> None:
    """A centre clock at 60x (a fast simulator) makes a 3-minute rule due within ~2 s of
    wall time. Once the source stops answering, the data is stale and its clock stands
    still: nothing is paged. The same centre with a live source is paged."""
    class Fast(ScriptedSource):
        """The same contacts, the centre's clock at 60x the wall clock."""

        async def snapshot(self) -> Snapshot:
            base = await super().snapshot()
            elapsed = 60.0 * (time.monotonic() - started)
            return base.model_copy(update={"clock_rate": 60.0,
                                           "taken_at": T0 + timedelta(seconds=elapsed)})

    async def pages_after(fail: bool) -> int:
        source = Fast([centre()])
        config = paging_config(receiver.url, after_minutes=3)
        config = config.model_copy(update={"console": config.console.model_copy(
            update={"stale_after_s": 0.5})})
        app = SupervisorApp(config, [source], store=Store.open(tmp_path / f"{fail}.db"),
                            user="ann")
        async with app.run_test(size=(80, 24)) as pilot:
            await wait_for(pilot, lambda: app.board is not None)
            if fail:
                source.fail_with = "connection refused"
                await wait_for(pilot, app.state.is_stale)
            await pilot.pause(4.0)  # 4 wall s = 4 centre minutes while live
            return set(app.pages)

    started = time.monotonic()
    assert await pages_after(fail=True) == set() and receiver.to("/page") == []
    # Live, the VIP is paged (and, with the clock running, the waits that went critical).
    assert "contact-wait:pbx:c1" in await pages_after(fail=False)
    assert receiver.to("/page")
