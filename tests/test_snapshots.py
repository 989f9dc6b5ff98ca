"""SVG snapshots of the main screens at SSH size (80x24) and wall size (200x60).

Time is frozen (wall clock and monotonic), so the same centre renders identically.
Update after an intended visual change with ``pytest --snapshot-update`` and look at
the report before committing.
"""

from __future__ import annotations

import pytest

from supervisor_tui.store import Store
from supervisor_tui.ui.app import SupervisorApp
from tests.helpers import T0, ScriptedSource, centre, make_config, still

SIZES = [(80, 24), (200, 60)]
THEMES = ["default", "high-contrast"]


def frozen_app(theme: str = "default") -> SupervisorApp:
    return SupervisorApp(
        make_config(poll_interval_s=3600),
        [ScriptedSource([centre()])],
        store=Store.open(None),
        clock=lambda: T0,
        monotonic=lambda: 1000.0,
        user="sam",  # the desk shows who you are: not whoever runs the tests
        theme_name=theme,
    )


async def _settle(pilot) -> None:  # type: ignore[no-untyped-def]
    await pilot.pause(0.2)
    await still(pilot)


@pytest.mark.parametrize("theme", THEMES)
@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_dashboard(snap_compare, size: tuple[int, int], theme: str) -> None:  # type: ignore[no-untyped-def]
    assert snap_compare(frozen_app(theme), terminal_size=size, run_before=_settle)


@pytest.mark.parametrize("theme", THEMES)
@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_agents(snap_compare, size: tuple[int, int], theme: str) -> None:  # type: ignore[no-untyped-def]
    async def go(pilot) -> None:  # type: ignore[no-untyped-def]
        await _settle(pilot)
        await pilot.press("a")
        await _settle(pilot)

    assert snap_compare(frozen_app(theme), terminal_size=size, run_before=go)


@pytest.mark.parametrize("theme", THEMES)
@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_queue_detail(snap_compare, size: tuple[int, int], theme: str) -> None:  # type: ignore[no-untyped-def]
    async def go(pilot) -> None:  # type: ignore[no-untyped-def]
        await _settle(pilot)
        await pilot.press("enter")
        await _settle(pilot)

    assert snap_compare(frozen_app(theme), terminal_size=size, run_before=go)


@pytest.mark.parametrize("theme", THEMES)
@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_escalation_desk(snap_compare, size: tuple[int, int], theme: str) -> None:  # type: ignore[no-untyped-def]
    async def go(pilot) -> None:  # type: ignore[no-untyped-def]
        await _settle(pilot)
        await pilot.press("e")
        await _settle(pilot)

    assert snap_compare(frozen_app(theme), terminal_size=size, run_before=go)
