"""The sources screen: which platform is failing, since when, why, and its API budget."""

from __future__ import annotations

from supervisor_tui.sources.limits import RequestBudget, RequestStats
from tests.helpers import (
    ScriptedSource,
    centre,
    help_rows,
    make_app,
    screen_text,
    screen_title,
    wait_for,
)


class MeteredSource(ScriptedSource):
    """A scripted source that reports HTTP request statistics and a budget."""

    def __init__(self) -> None:
        super().__init__([centre()], name="pbx")
        self.stats = RequestStats()
        self._budget = RequestBudget(300, 60.0)

    @property
    def request_stats(self) -> RequestStats:
        return self.stats

    @property
    def budget(self) -> RequestBudget:
        return self._budget

    async def snapshot(self):  # type: ignore[no-untyped-def]
        self._budget.try_acquire()
        self.stats.record(200 if not self.fail_with else 503, 42.0, ok=not self.fail_with)
        return await super().snapshot()


async def test_sources_screen_shows_health_requests_budget_and_the_last_error() -> None:
    source = MeteredSource()
    app = make_app(source)
    async with app.run_test(size=(120, 30)) as pilot:
        await wait_for(pilot, lambda: app.board is not None)
        await pilot.press("S")
        await wait_for(pilot, lambda: screen_title(app) == "Sources")
        text = screen_text(app)
        assert "pbx" in text and "● ok" in text and "no errors" in text
        assert "of 300 / 60s" in text  # budget left
        assert "failed" in text and "p95 42" in text
        source.fail_with = "HTTP 503 from GET /v1/snapshot: an HTML page (Maintenance)"
        await wait_for(pilot, lambda: "Maintenance" in screen_text(app))
        text = screen_text(app)
        assert "last error" in text
        assert "degraded" in text or "DOWN" in text


async def test_sources_screen_is_in_the_command_palette_and_help() -> None:
    app = make_app(ScriptedSource([centre()]))
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, lambda: app.board is not None)
        commands = [c.title for c in app.get_system_commands(app.screen)]
        assert "Sources" in commands
        await pilot.press("question_mark")
        await wait_for(pilot, lambda: ["S", "Sources"] in help_rows(app))


async def test_a_source_that_dropped_garbage_says_so() -> None:
    source = MeteredSource()
    source.notes = ("2 worker record(s) dropped: negative age",)
    app = make_app(source)
    async with app.run_test(size=(120, 30)) as pilot:
        await wait_for(pilot, lambda: app.board is not None)
        assert "● pbx ⚠" in screen_text(app)  # on every screen's status bar
        await pilot.press("S")
        await wait_for(pilot, lambda: "negative age" in screen_text(app))
