"""SVG snapshots of the wall views at SSH size (80x24) and wall size (200x60), in the
default and the high-contrast theme, and of the stale banner.

Time is frozen (wall clock and monotonic) and rotation is slow, so each view renders
identically every run. Update after an intended visual change with
``pytest --snapshot-update`` and look at the report before committing.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from supervisor_tui.config import parse_config
from supervisor_tui.store import Store
from supervisor_tui.ui.app import SupervisorApp
from supervisor_tui.ui.screens.wall import WallScreen
from tests.helpers import T0, ScriptedSource, centre, wait_for
from tests.test_wall import calm_centre

SIZES = [(80, 24), (200, 60)]
THEMES = ["default", "high-contrast"]
VIEWS = ["dashboard", "queues:floor", "escalations", "agents"]


def frozen_wall(view: str, theme: str, now: list[datetime] | None = None) -> SupervisorApp:
    """The wall with ``view`` first in the rotation. Only the escalations view gets the
    centre with a critical VIP caller: anywhere else it would pause rotation there."""
    clock = now or [T0]
    order = [view, *(v for v in VIEWS if v != view)]
    config = parse_config({
        "console": {"timezone": "UTC", "poll_interval_s": 3600},
        # billing is configured but no source reports it: the view says so.
        "wall": {"views": order, "rotate_s": 600, "theme": theme,
                 "queue_groups": {"floor": ["sales", "support", "billing"]}},
    }, "test")
    snapshot = centre() if view == "escalations" else calm_centre()
    return SupervisorApp(config, [ScriptedSource([snapshot])], store=Store.open(None),
                         wall=True, clock=lambda: clock[0], monotonic=lambda: 1000.0)


async def _settle(pilot) -> None:  # type: ignore[no-untyped-def]
    app = pilot.app
    await wait_for(pilot, lambda: app.board is not None and app._escalations_seeded)
    await pilot.pause(0.2)


@pytest.mark.parametrize("theme", THEMES)
@pytest.mark.parametrize("view", VIEWS)
@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_wall_view(snap_compare, size: tuple[int, int], view: str,  # type: ignore[no-untyped-def]
                   theme: str) -> None:
    assert snap_compare(frozen_wall(view, theme), terminal_size=size, run_before=_settle)


@pytest.mark.parametrize("theme", THEMES)
@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_wall_stale(snap_compare, size: tuple[int, int], theme: str) -> None:  # type: ignore[no-untyped-def]
    now = [T0]

    async def go(pilot) -> None:  # type: ignore[no-untyped-def]
        await _settle(pilot)
        now[0] = T0 + timedelta(minutes=2, seconds=35)  # no answer since: 2:35 old
        await wait_for(pilot, lambda: pilot.app.screen.has_class("-wall-stale"))
        assert isinstance(pilot.app.screen, WallScreen)
        await pilot.pause(0.2)

    assert snap_compare(frozen_wall("dashboard", theme, now), terminal_size=size,
                        run_before=go)
