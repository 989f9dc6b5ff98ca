"""Wall terminal: rotates, pauses on critical, refuses actions, shouts when stale, and
keeps going through resizes, midnight and interval boundaries."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from supervisor_tui.cli import build_parser
from supervisor_tui.config import Config, ConfigError, Role, parse_config
from supervisor_tui.config.wall import WallConfig, WallTheme
from supervisor_tui.domain.model import Snapshot
from supervisor_tui.store import Store
from supervisor_tui.ui.app import SupervisorApp
from supervisor_tui.ui.screens.help import HelpScreen
from supervisor_tui.ui.screens.wall import WallScreen
from supervisor_tui.ui.themes import HIGH_CONTRAST, HIGH_CONTRAST_ANSI
from tests.helpers import (
    T0,
    ScriptedSource,
    centre,
    close_slowly,
    screen_text,
    screen_title,
    wait_for,
)

VIEWS = ["dashboard", "queues:floor", "escalations", "agents"]


def calm_centre(now: datetime = T0) -> Snapshot:
    """The test centre without its VIP caller (c1, 95 s on a 20 s voice queue), so
    nothing in it is critical."""
    snap = centre(now)
    return snap.model_copy(update={"contacts": tuple(c for c in snap.contacts
                                                     if c.id != "c1")})


def wall_config(console: dict[str, Any] | None = None, **wall: Any) -> Config:
    data = {
        "console": {"timezone": "UTC", "poll_interval_s": 0.1, **(console or {})},
        # Clear as soon as the condition is gone: the tests move snapshot time by hand.
        "escalations": {"clear_after_s": 0},
        "wall": {"views": VIEWS, "rotate_s": 0.3,
                 "queue_groups": {"floor": ["sales", "support"]}, **wall},
    }
    return parse_config(data, "test")


def wall_app(source: ScriptedSource, config: Config | None = None,
             **kwargs: Any) -> SupervisorApp:
    return SupervisorApp(config or wall_config(), [source], store=Store.open(None), wall=True,
                         **kwargs)


def wall_screen(app: SupervisorApp) -> WallScreen:
    screen = app.screen
    assert isinstance(screen, WallScreen), f"left the wall for {type(screen).__name__}"
    return screen


async def settle(pilot) -> None:  # type: ignore[no-untyped-def]
    await wait_for(pilot, lambda: pilot.app.board is not None)
    await pilot.pause(0.2)


async def test_wall_rotates_through_the_configured_views_in_order() -> None:
    app = wall_app(ScriptedSource([calm_centre()]))
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        assert app.actions.role is Role.VIEWER  # a wall is read-only whatever the roles say
        seen: list[str] = []

        def record() -> bool:
            view = wall_screen(app).current_view
            if not seen or seen[-1] != view:
                seen.append(view)
            return len(seen) >= 6

        await wait_for(pilot, record)
        start = VIEWS.index(seen[0])
        assert seen[:6] == [VIEWS[(start + i) % 4] for i in range(6)]
        titles = {"dashboard": "WALL · Dashboard", "queues:floor": "WALL · Queues: floor",
                  "escalations": "WALL · Escalations", "agents": "WALL · Agents"}
        assert titles[wall_screen(app).current_view] in screen_text(app)
        assert not wall_screen(app).paused


async def test_each_view_shows_its_numbers() -> None:
    app = wall_app(ScriptedSource([calm_centre()]), wall_config(rotate_s=600))
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        text = screen_text(app)
        assert "WALL · Dashboard" in text and "! AT RISK" in text  # SL 81% vs 82% target
        assert "Sales" in text and "Support" in text and "✓ OK" in text
        await pilot.press("right")
        await wait_for(pilot, lambda: "WALL · Queues: floor" in screen_text(app))
        assert "1 ! AT RISK" in screen_text(app)
        await pilot.press("a")
        await wait_for(pilot, lambda: "WALL · Agents" in screen_text(app))
        text = screen_text(app)
        assert "ACW" in text and "Cy in after-contact work" in text
        await pilot.press("e")
        await wait_for(pilot, lambda: "WALL · Escalations" in screen_text(app))
        assert "Needs a human" in screen_text(app)


async def test_critical_pauses_for_one_view_then_a_strip_rides_on_every_view() -> None:
    source = ScriptedSource([calm_centre()])
    # 0.6 s views: long enough that a loaded CI machine paints the paused view in time
    app = wall_app(source, wall_config(rotate_s=0.6))
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        assert not wall_screen(app).paused
        assert "CRITICAL " not in screen_text(app)
        source.snapshots = [centre(T0 + timedelta(seconds=5))]  # a VIP waits 95 s: critical
        await wait_for(pilot, lambda: wall_screen(app).paused)
        assert wall_screen(app).current_view == "escalations"
        # the pause is set before the view repaints with the new item: wait for both
        await wait_for(pilot, lambda: wall_screen(app).paused
                       and "PAUSED · resumes in" in screen_text(app)
                       and "VIP waiting" in screen_text(app))
        # One view's time (0.6 s) later rotation goes on, though the VIP still waits...
        await wait_for(pilot, lambda: not wall_screen(app).paused, timeout=2.0)
        assert any(e.severity == "critical" for e in app.escalations)
        # ...and every view carries the critical strip.
        seen: dict[str, str] = {}

        def record() -> bool:
            seen.setdefault(wall_screen(app).current_view, screen_text(app))
            return len(seen) == 4

        await wait_for(pilot, record, timeout=5.0)
        for view, shown in seen.items():
            assert "‼ 1 CRITICAL" in shown and "VIP waiting in Sales" in shown, view

        source.snapshots = [calm_centre(T0 + timedelta(seconds=60))]  # the VIP was answered
        await wait_for(pilot, lambda: "‼ 1 CRITICAL" not in screen_text(app))
        assert not wall_screen(app).paused


def surge(polls: int) -> list[Snapshot]:
    """A new VIP past the limit on every poll."""
    from supervisor_tui.domain.model import Channel, Contact, Tier

    out = []
    for i in range(polls):
        now = T0 + timedelta(seconds=i)
        snap = calm_centre(now)
        vips = tuple(Contact(id=f"v{j}", source="pbx", queue_id="sales", channel=Channel.VOICE,
                             tier=Tier.VIP, entered_at=now - timedelta(seconds=95 + i - j))
                     for j in range(i + 1))
        out.append(snap.model_copy(update={"contacts": snap.contacts + vips}))
    return out


async def test_a_surge_does_not_park_the_wall_on_the_escalations() -> None:
    source = ScriptedSource([calm_centre()])
    app = wall_app(source)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        source.snapshots = surge(40)  # a new critical every 0.1 s poll, for 4 s
        samples: list[str] = []
        for _ in range(60):  # 3 s
            await pilot.pause(0.05)
            samples.append(wall_screen(app).current_view)
        assert set(samples) == set(VIEWS)  # every view was shown during the surge
        assert samples.count("escalations") / len(samples) < 0.6  # (was: 100%)
        assert "CRITICAL" in screen_text(app)


async def test_what_pauses_rotation_is_configurable() -> None:
    source = ScriptedSource([calm_centre()])
    app = wall_app(source, wall_config(pause_on=[]))  # never pause: the strip says it
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        source.snapshots = [centre(T0 + timedelta(seconds=5))]
        await wait_for(pilot, lambda: "‼ 1 CRITICAL" in screen_text(app))
        for _ in range(10):
            await pilot.pause(0.1)
            assert not wall_screen(app).paused
    # Pause on agents past their ACW limit (a warning here: Cy, 10 min).
    app = wall_app(ScriptedSource([calm_centre()]), wall_config(pause_on=["agent_acw"],
                                                                rotate_s=600))
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: wall_screen(app).paused)
        assert wall_screen(app).current_view == "escalations"


async def test_actions_are_refused_with_a_visible_reason_and_nothing_waits_for_a_key() -> None:
    app = wall_app(ScriptedSource([centre()]), wall_config(rotate_s=600))
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await wait_for(pilot, lambda: wall_screen(app).current_view == "escalations")
        await pilot.press("t")  # take the escalation: what a supervisor console would do
        await pilot.pause(0.1)
        text = screen_text(app)
        assert "Refused: take an escalation" in text and "read-only" in text
        for key in ("r", "m", "enter", "k", "x", "L", "question_mark", "ctrl+p", "d"):
            await pilot.press(key)
            await pilot.pause(0.05)
            screen = wall_screen(app)  # no dialog, help screen or palette on top
            assert not isinstance(screen, HelpScreen)
        assert app.actions.refusal("reassign_contact") is not None
        assert app.store is not None and app.state.escalation_states == {}  # nothing was taken
        assert "Refused: open the audit log" in screen_text(app)


async def test_stale_data_flips_the_banner_on_and_back_off() -> None:
    source = ScriptedSource([calm_centre()])
    # The wall's own limit (0.4 s) overrides the console's (10 s).
    app = wall_app(source, wall_config(rotate_s=600, stale_after_s=0.4))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert not wall_screen(app).has_class("-wall-stale")
        assert "STALE DATA" not in screen_text(app)
        source.fail_with = "HTTP 503 Service Unavailable"
        await wait_for(pilot, lambda: wall_screen(app).has_class("-wall-stale"))
        await pilot.pause(0.1)
        text = screen_text(app)
        assert "STALE DATA" in text and "NOT LIVE" in text and "last update" in text
        assert "HTTP 503" in text
        assert "! AT RISK" in text  # the last numbers are kept, dimmed, not blanked

        source.fail_with = None
        await wait_for(pilot, lambda: not wall_screen(app).has_class("-wall-stale"))
        await pilot.pause(0.1)
        assert "STALE DATA" not in screen_text(app)


async def test_survives_resizes_down_to_tiny_and_back() -> None:
    app = wall_app(ScriptedSource([calm_centre()]), wall_config(rotate_s=0.2))
    async with app.run_test(size=(200, 60)) as pilot:
        await settle(pilot)
        assert wall_screen(app).has_class("-wall-wide", "-wall-tall")
        for size in [(80, 24), (30, 8), (120, 40), (1, 1), (200, 60)]:
            await pilot.resize_terminal(*size)
            await pilot.pause(0.3)  # at least one rotation at each size
            assert "display error" not in (app.state.problem or "")
            screen = wall_screen(app)
        assert screen.has_class("-wall-wide", "-wall-tall")
        await pilot.resize_terminal(80, 24)
        await pilot.pause(0.1)
        assert screen.has_class("-wall-narrow", "-wall-short")
        assert "WALL" in screen_text(app)
        assert app.is_running


async def test_keeps_going_across_midnight_and_interval_boundaries() -> None:
    before = datetime(2026, 11, 22, 23, 59, 50, tzinfo=UTC)
    after = datetime(2026, 11, 23, 0, 0, 10, tzinfo=UTC)
    source = ScriptedSource([calm_centre(before)])
    app = wall_app(source, wall_config(rotate_s=0.2))
    async with app.run_test(size=(200, 60)) as pilot:
        await settle(pilot)
        await wait_for(pilot, lambda: "23:30-00:00" in screen_text(app))
        source.snapshots = [calm_centre(after)]
        await wait_for(pilot, lambda: "00:00-00:30" in screen_text(app))
        await pilot.pause(0.5)  # rotate over the new day's numbers
        assert app.state.problem is None
        assert app.board is not None and app.board.taken_at == after


async def test_a_source_down_from_the_start_never_reads_as_all_clear() -> None:
    source = ScriptedSource([calm_centre()])
    source.fail_with = "connection refused"
    app = wall_app(source, wall_config(rotate_s=0.2, views=["escalations", "agents"]))
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: "connection refused" in screen_text(app)
                       or "DOWN" in screen_text(app))
        await pilot.pause(0.5)  # both views shown at least once
        text = screen_text(app)
        assert "Waiting for the first poll" in text
        assert "Nothing needs a human" not in text and "No agent is past" not in text


async def test_queues_that_do_not_fit_are_summarised_worst_first() -> None:
    snap = calm_centre()
    extra = tuple(snap.queues[1].model_copy(update={"id": f"q{i:02d}",
                                                    "name": f"Queue {i:02d}"})
                  for i in range(20))  # no stats this interval: NO DATA
    app = wall_app(ScriptedSource([snap.model_copy(update={"queues": snap.queues + extra})]),
                   wall_config(rotate_s=600, views=["queues"]))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        text = screen_text(app)
        assert "! AT RISK" in text.split("Status", 1)[1]  # Sales, the worst, is on screen
        assert "+3 more: 2 · NO DATA · 1 ✓ OK" in text  # hidden, but counted by status
        assert "Queue 00" in text


def test_scaled_digits_keep_strokes_unbroken() -> None:
    from supervisor_tui.ui.widgets.wall import scale_glyph_lines

    one = ["╺┓ ", " ┃ ", "╺┻╸"]
    assert scale_glyph_lines(one, 1) == one
    assert scale_glyph_lines(one, 2) == ["╺━┓", "  ┃", "  ┃", "  ┃", "╺━┻━╸", ""]


async def test_no_bell_on_the_wall_unless_configured() -> None:
    app = wall_app(ScriptedSource([calm_centre()]))
    assert app.config.console.bell is False
    loud = wall_app(ScriptedSource([calm_centre()]), wall_config(bell=True))
    assert loud.config.console.bell is True


async def test_high_contrast_theme_from_config_and_for_the_normal_console() -> None:
    app = wall_app(ScriptedSource([calm_centre()]), wall_config(theme="high-contrast"))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert app.theme == HIGH_CONTRAST
        assert app.ansi_theme_dark is HIGH_CONTRAST_ANSI  # Rich "green"/"red" remapped too
    console = SupervisorApp(wall_config(), [ScriptedSource([centre()])], store=Store.open(None),
                            theme_name="high-contrast")
    async with console.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        assert console.theme == HIGH_CONTRAST
        assert screen_title(console) == "Dashboard"  # the normal console, not a wall
        console.theme = "textual-dark"  # e.g. from the command palette
        await pilot.pause(0.05)
        assert console.ansi_theme_dark is not HIGH_CONTRAST_ANSI


def test_wall_config_defaults_and_validation() -> None:
    default = WallConfig()
    assert default.views == ["dashboard", "queues", "escalations", "agents"]
    assert default.theme is WallTheme.DEFAULT and default.bell is False
    assert parse_config({}, "t").wall == default
    with pytest.raises(ConfigError, match="unknown view 'wallboard'"):
        parse_config({"wall": {"views": ["wallboard"]}}, "t")
    with pytest.raises(ConfigError, match="no queue group 'vip'"):
        parse_config({"wall": {"views": ["queues:vip"]}}, "t")
    with pytest.raises(ConfigError, match=r"wall\.theme"):
        parse_config({"wall": {"theme": "neon"}}, "t")
    with pytest.raises(ConfigError, match="no queue ids: empty"):
        parse_config({"wall": {"queue_groups": {"empty": []}}}, "t")
    assert default.pause_on == ["critical"] and default.pause_for_s == default.rotate_s
    with pytest.raises(ConfigError, match="unknown 'everything'"):
        parse_config({"wall": {"pause_on": ["everything"]}}, "t")
    with pytest.raises(ConfigError, match=r"pause_s \(60\) is longer than rotate_s"):
        parse_config({"wall": {"rotate_s": 15, "pause_s": 60}}, "t")


def test_cli_has_wall_and_theme_flags() -> None:
    args = build_parser().parse_args(["--wall", "--theme", "high-contrast"])
    assert args.wall is True and args.theme == "high-contrast"
    assert build_parser().parse_args([]).wall is False


async def test_wall_headlines_follow_each_queues_own_target() -> None:
    """An email 7 minutes old is well inside its 1-hour target: the wall's longest-wait
    tile must not call it late, and names the queue it measures."""
    from supervisor_tui.domain.model import Channel, Contact, Queue

    snap = calm_centre()
    email = Queue(id="email", name="Email", channel=Channel.EMAIL, sl_target=0.9,
                  threshold_s=3600, source="pbx")
    letter = Contact(id="m1", source="pbx", queue_id="email", channel=Channel.EMAIL,
                     entered_at=T0 - timedelta(minutes=7, seconds=33))
    snap = snap.model_copy(update={"queues": (*snap.queues, email),
                                   "contacts": (*snap.contacts, letter)})
    app = wall_app(ScriptedSource([snap]), wall_config(views=["dashboard"]))
    async with app.run_test(size=(200, 60)) as pilot:
        await settle(pilot)
        text = screen_text(app)
        assert "PAST ITS TARGET" not in text and "PAST THRESHOLD" not in text, text
        # c2 waits 12 s of Sales's 20 s (60%); the email 7:33 of an hour (13%): Sales leads.
        assert "WITHIN ITS TARGET" in text
        assert "Sales · target 20s" in text
        assert "live · " in text  # the SL tile says which channel group it covers


async def test_a_wall_closing_while_it_rotates_exits_cleanly() -> None:
    # A rotation (0.2 s) due while Textual takes the wall's widgets down (run_test
    # closes an app with its timers running) must not look for views that are gone.
    app = wall_app(ScriptedSource([calm_centre()]), wall_config(rotate_s=0.2))
    close_slowly(app, 0.7)
    async with app.run_test(size=(200, 60)) as pilot:
        await settle(pilot)
    assert "display error" not in (app.state.problem or "")
