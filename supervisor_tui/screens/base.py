"""Common frame of every live screen: status bar on top, footer below, and the
plumbing that re-renders from the app's current Board."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.screen import Screen

from supervisor_tui.board import Board
from supervisor_tui.widgets.incident_banner import IncidentBanner
from supervisor_tui.widgets.status_bar import StatusBar, render_status

if TYPE_CHECKING:
    from supervisor_tui.app import SupervisorApp


class BoardScreen(Screen[None]):
    """A screen that renders from ``app.board`` and refreshes ages every second."""

    @property
    def sup(self) -> SupervisorApp:
        return self.app  # type: ignore[return-value]

    _ready = False  # composed and mounted: safe to query widgets

    def on_mount(self) -> None:
        # Textual calls on_mount of every class in the MRO, subclass first, so
        # subclasses set up their widgets before this first render.
        self._ready = True
        self._mount_incident_banner()
        self.watch(self.app, "board", self._board_changed, init=True)

    def _mount_incident_banner(self) -> None:
        # Mounted here rather than composed by each screen: every screen with a status bar
        # (the wall's too) gets the banner right under it, and no screen can forget it.
        bars = self.query(StatusBar)
        bar = bars.first() if bars else None
        if bar is not None and bar.parent is not None and not self.query(IncidentBanner):
            bar.parent.mount(IncidentBanner(id="incident-banner"), after=bar)

    _behind = False  # a poll arrived while another screen was on top

    def _board_changed(self, board: Board | None) -> None:
        if not self.is_current and self._ready:
            # Hidden (another mode or a modal on top): rendering 10,000 agents nobody
            # sees costs tens of ms a poll. Catch up when shown again.
            self._behind = True
            return
        if board is not None and self._ready:  # (is_mounted is False inside on_mount)
            self.show_board(board)
        self.tick(ages=False)  # show_board just rendered everything else

    def on_screen_resume(self) -> None:
        if self._behind:
            self._behind = False
            self._board_changed(self.sup.board)

    def show_board(self, board: Board) -> None:
        """Render a new poll. Override."""

    def refresh_ages(self) -> None:
        """Re-render what depends on 'now' (waits, time in state). Override."""

    def tick(self, ages: bool = True) -> None:
        """Status bar always; the age-dependent widgets too unless just rendered."""
        if not self._ready:  # a poll landed while the screen was still being built
            return
        app = self.sup
        board = app.board
        cfg = app.config.console
        now = app.centre_now() if board else None
        for bar in self.query(StatusBar):
            bar.update(
                render_status(
                    self.title_text(),
                    now,
                    cfg.policy.label(now) if now else "",
                    app.health,
                    app.data_age_s(),
                    cfg.stale_after_s,
                    app.problem,
                    live_within_s=app.live_within_s(),
                    alerts=app.notices.unseen_count,
                )
            )
        for banner in self.query(IncidentBanner):
            banner.refresh_banner()  # elapsed times
        if board is not None and ages:
            self.refresh_ages()

    def title_text(self) -> str:
        return "supervisor-tui"
