"""Test helpers: a hand-built centre with known numbers, and screen text capture."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from textual.app import App
from textual.widget import Widget

from supervisor_tui.config import Config, parse_config
from supervisor_tui.domain.index import SnapshotIndex
from supervisor_tui.domain.intervals import IntervalPolicy
from supervisor_tui.domain.model import (
    Agent,
    AgentState,
    AgentStateKind,
    Channel,
    Contact,
    Queue,
    QueueStats,
    Snapshot,
    Tier,
)
from supervisor_tui.sources.base import Source, SourceError
from supervisor_tui.store import Store

T0 = datetime(2026, 11, 22, 10, 20, tzinfo=UTC)
POLICY = IntervalPolicy(minutes=30, tz="UTC")


def centre(now: datetime = T0, sales_name: str = "Sales") -> Snapshot:
    """Two queues with numbers worked out by hand.

    Sales (voice, 80% in 20 s): 40 offered = 30 answered (24 within 20 s) + 6 abandoned
    (2 short, 2 after the threshold) + 4 flowed out -> SL 24/(30+2) = 75%.
    Support (chat, 90% in 60 s): 10 offered, 10 answered, all within -> 100%.
    """
    istart = POLICY.interval_start(now)
    dstart = POLICY.day_start(now)
    queues = (
        Queue(id="sales", name=sales_name, channel=Channel.VOICE, sl_target=0.8,
              threshold_s=20, source="pbx"),
        Queue(id="support", name="Support", channel=Channel.CHAT, sl_target=0.9,
              threshold_s=60, source="pbx"),
    )
    interval = {
        "sales": QueueStats(queue_id="sales", window_start=istart, offered=40, answered=30,
                            answered_within_threshold=24, abandoned=6, abandoned_short=2,
                            abandoned_after_threshold=2, wait_answered_s=300,
                            handled=28, handle_s=28 * 240, flowed_out=4),
        "support": QueueStats(queue_id="support", window_start=istart, offered=10,
                              answered=10, answered_within_threshold=10, wait_answered_s=50,
                              handled=10, handle_s=10 * 300),
    }
    day = {k: v.model_copy(update={"window_start": dstart}) for k, v in interval.items()}
    since = now - timedelta(seconds=30)
    agents = (
        Agent(id="a1", source="pbx", name="Ana", team="Red", skills=("sales",),
              state=AgentState(kind=AgentStateKind.AVAILABLE, since=since)),
        Agent(id="a2", source="pbx", name="Bo", team="Red", skills=("sales", "support"),
              state=AgentState(kind=AgentStateKind.ON_CONTACT, since=since),
              contact_id="c9", queue_id="sales"),
        Agent(id="a3", source="pbx", name="Cy", team="Blue", skills=("support",),
              state=AgentState(kind=AgentStateKind.AFTER_CONTACT_WORK,
                               since=now - timedelta(minutes=10))),
        Agent(id="a4", source="pbx", name="Di", team="Blue", skills=("support",),
              state=AgentState(kind=AgentStateKind.AWAY, reason="lunch",
                               since=now - timedelta(minutes=5))),
    )
    contacts = (
        Contact(id="c1", source="pbx", queue_id="sales", channel=Channel.VOICE, tier=Tier.VIP,
                entered_at=now - timedelta(seconds=95)),
        Contact(id="c2", source="pbx", queue_id="sales", channel=Channel.VOICE,
                entered_at=now - timedelta(seconds=12)),
        Contact(id="c3", source="pbx", queue_id="support", channel=Channel.CHAT, tier=Tier.GOLD,
                entered_at=now - timedelta(seconds=30)),
    )
    return Snapshot(taken_at=now, interval_start=istart, day_start=dstart, queues=queues,
                    interval_stats=interval, day_stats=day, agents=agents, contacts=contacts)


class ScriptedSource(Source):
    """Returns ``snapshots`` in turn (the last one forever); can be told to fail."""

    def __init__(self, snapshots: list[Snapshot], name: str = "pbx") -> None:
        super().__init__(name, POLICY)
        self.snapshots = list(snapshots)
        self.fail_with: str | None = None
        self.polls = 0

    async def snapshot(self) -> Snapshot:
        self.polls += 1
        if self.fail_with:
            raise SourceError(self.fail_with)
        return self.snapshots.pop(0) if len(self.snapshots) > 1 else self.snapshots[0]


def make_config(**console: object) -> Config:
    data = {"console": {"timezone": "UTC", "poll_interval_s": 0.1, **console}}
    return parse_config(data, "test")


def make_app(source: Source, config: Config | None = None, db: Path | None = None) -> App:
    from supervisor_tui.ui.app import SupervisorApp

    return SupervisorApp(config or make_config(), [source], store=Store.open(db))


def screen_text(app: App) -> str:
    """Plain text of what the terminal shows now."""
    strips = app.screen._compositor.render_strips()
    return "\n".join(strip.text for strip in strips)


def screen_title(app: App) -> str:
    """The screen's name, first on the status bar ("Dashboard", "Queue: Sales"). Footers
    name other screens too ("d Dashboard"), so finding a name anywhere proves nothing."""
    return screen_text(app).splitlines()[0].strip().split("  ")[0]


def shown_in(app: App, widget: Widget) -> list[str]:
    """The screen's lines inside ``widget``'s region: what that widget shows."""
    x, y, width, height = widget.region
    return [line[x:x + width] for line in screen_text(app).splitlines()[y:y + height]]


def help_rows(app: App) -> list[list[str]]:
    """The open help's table rows as cells (["s", "Sort"]): a key listed with what it
    does, told apart from the footer's "s Sort" under the help."""
    from textual.containers import VerticalScroll

    panel = app.screen.query_one(VerticalScroll)
    return [re.split(r" {2,}", line.strip("█▀▄ ")) for line in shown_in(app, panel)]


async def still(pilot, tries: int = 40, quiet: int = 3) -> None:  # type: ignore[no-untyped-def]
    """Wait until the screen stops changing (a loaded machine paints late): for
    snapshots of a frozen clock, so a still screen is the finished one. Still means
    unchanged ``quiet`` times in a row, 0.1 s apart: on a loaded CI machine a pushed
    screen's footer was once painted more than 0.1 s after its body."""
    before = screen_text(pilot.app)
    same = 0
    for _ in range(tries):
        await pilot.pause(0.1)
        now = screen_text(pilot.app)
        same = same + 1 if now == before else 0
        if same >= quiet:
            return
        before = now


async def wait_for(pilot, predicate, timeout: float = 10.0) -> None:  # type: ignore[no-untyped-def]
    """Pause until ``predicate()`` holds; fail clearly if it never does."""
    loop_time = 0.0
    while not predicate():
        if loop_time > timeout:
            # the screen as it stood: a CI failure says what was shown instead
            raise AssertionError(f"condition not met within {timeout} s; the screen:\n"
                                 f"{screen_text(pilot.app)}")
        await pilot.pause(0.05)
        loop_time += 0.05


async def settle(pilot, polls: int = 2) -> None:  # type: ignore[no-untyped-def]
    """Wait for data on screen (generous under a loaded CI), then a little more."""
    await wait_for(pilot, lambda: pilot.app.board is not None)
    for _ in range(polls):
        await pilot.pause(0.15)


def index_shape(index: SnapshotIndex) -> dict[str, object]:
    """An index's lists as plain ids, to compare an incremental index with a full one."""
    return {
        "waiting": {q: [c.id for c in cs] for q, cs in index.waiting_by_queue.items()},
        "count": index.waiting,
        "flagged": sorted(c.id for c in index.flagged),
        "premium": sorted(c.id for c in index.premium_waiting),
        "by_queue": {q: sorted(a.id for a in ags) for q, ags in index.agents_by_queue.items()},
        "by_kind": {k: sorted(a.id for a in ags) for k, ags in index.agents_by_kind.items()
                    if ags},
        "teams": index.teams,
    }


def close_slowly(app: App, seconds: float, then: Callable[[], None] | None = None
                 ) -> list[int]:
    """Make ``app`` take ``seconds`` to close, with its screens' widgets gone and its
    timers and poller still running, as Textual's ``run_test`` closes an app; ``then``
    runs once the widgets are gone. Returns where the app's ``polls`` were at the start
    and end of that time (its first source's ``polls``, when it counts them)."""
    close_all = app._close_all  # type: ignore[attr-defined]
    polls: list[int] = []
    counted = app.sources[0]  # type: ignore[attr-defined]

    async def close() -> None:
        await app.screen.remove_children()
        polls.append(getattr(counted, "polls", 0))
        if then is not None:
            then()
        await asyncio.sleep(seconds)
        polls.append(getattr(counted, "polls", 0))
        await close_all()

    app._close_all = close  # type: ignore[attr-defined]
    return polls
