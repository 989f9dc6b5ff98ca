"""SVG snapshots of the supervisor's toolkit screens (issue 13) at SSH size (80x24) and
wall size (200x60): intraday with last week beside it, abandoned contacts, the agent
detail with the day's figures, and live thresholds.

Time is frozen as in tests/test_snapshots.py. Update after an intended visual change
with ``pytest --snapshot-update`` and look at the report before committing.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from supervisor_tui.domain.model import AgentStateKind
from supervisor_tui.store import Store
from supervisor_tui.ui.app import SupervisorApp
from tests.helpers import T0, ScriptedSource, centre, make_config, still
from tests.test_app_abandoned import with_abandons
from tests.test_app_agent_control import _bo
from tests.test_app_intraday import fill

SIZES = [(80, 24), (200, 60)]
K = AgentStateKind


def frozen_app(snapshots: list | None = None,  # type: ignore[type-arg]
               poll_s: float = 3600) -> SupervisorApp:
    app = SupervisorApp(
        make_config(poll_interval_s=poll_s),
        [ScriptedSource(snapshots or [centre()])],
        store=Store.open(None),
        clock=lambda: T0,
        monotonic=lambda: 1000.0,
        user="sam",
    )
    return app


async def _settle(pilot) -> None:  # type: ignore[no-untyped-def]
    await pilot.pause(0.2)


def press(*keys: str, after_polls: int = 0):  # type: ignore[no-untyped-def]
    """Press ``keys`` once the app has polled ``after_polls`` times (a scripted morning
    played out, however loaded the machine)."""
    async def go(pilot) -> None:  # type: ignore[no-untyped-def]
        [source] = pilot.app.sources
        while source.polls < after_polls:
            await pilot.pause(0.05)
        await _settle(pilot)
        for key in keys:
            await pilot.press(key)
            await _settle(pilot)
        await still(pilot)
    return go


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_intraday(snap_compare, size: tuple[int, int]) -> None:  # type: ignore[no-untyped-def]
    app = frozen_app()
    fill(app)
    assert snap_compare(app, terminal_size=size, run_before=press("I", "right_square_bracket"))


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_abandoned(snap_compare, size: tuple[int, int]) -> None:  # type: ignore[no-untyped-def]
    assert snap_compare(frozen_app(with_abandons()), terminal_size=size,
                        run_before=press("A"))


def bo_script() -> list:  # type: ignore[type-arg]
    """Bo's morning over four polls (the last one stays): available from 10:05, contact
    c7 10:11:40-10:16:40 then ACW to 10:19:30 (one handled in 7:50), now on c9."""
    def bo(s: float, kind: AgentStateKind, since: float, contact: str | None):  # type: ignore[no-untyped-def]
        return _bo(centre(T0 + timedelta(seconds=s)), kind, T0 + timedelta(seconds=since),
                   contact)

    return [bo(-600, K.AVAILABLE, -900, None), bo(-300, K.ON_CONTACT, -500, "c7"),
            bo(-120, K.AFTER_CONTACT_WORK, -200, "c7"), centre()]


#: polls after which Bo's morning has been seen whole (its four, and one of the last again)
BO_POLLS = 5


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_agent_detail(snap_compare, size: tuple[int, int]) -> None:  # type: ignore[no-untyped-def]
    assert snap_compare(frozen_app(bo_script(), poll_s=0.05), terminal_size=size,
                        run_before=press("a", "down", "enter", after_polls=BO_POLLS))


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_thresholds(snap_compare, size: tuple[int, int]) -> None:  # type: ignore[no-untyped-def]
    assert snap_compare(frozen_app(), terminal_size=size, run_before=press("T"))


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_teams(snap_compare, size: tuple[int, int]) -> None:  # type: ignore[no-untyped-def]
    # Bo's morning (one handled) gives team Red its AHT.
    assert snap_compare(frozen_app(bo_script(), poll_s=0.05), terminal_size=size,
                        run_before=press("M", after_polls=BO_POLLS))
