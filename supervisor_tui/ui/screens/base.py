"""Common frame of every live screen: status bar on top, footer below, and the
plumbing that re-renders from the app's current Board."""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar, cast

from textual.screen import Screen
from textual.widget import Widget

from supervisor_tui.domain.board import Board, queue_name
from supervisor_tui.domain.roles import role_may
from supervisor_tui.domain.text import clean
from supervisor_tui.ui.screens.gated import GatedKeys
from supervisor_tui.ui.view import AppView
from supervisor_tui.ui.widgets.incident_banner import IncidentBanner
from supervisor_tui.ui.widgets.status_bar import StatusBar, render_status


def standing_alarm(app: AppView) -> str | None:
    """What the status bar says for the whole run when this console's work is lost."""
    if app.not_shared:
        return "NOT SHARED · NOT AUDITED"
    return "NOT AUDITED" if app.not_audited else None


def _who(app: AppView) -> str:
    """'sam (supervisor)'; a scoped user's scope too, short for 80 columns:
    'alice (supervisor · acme)' for vendor:acme (the Vendors screen and help say more)."""
    scope = app.state.vendors.scope
    extra = ""
    if scope is not None:
        names = ", ".join(e.partition(":")[2] or e for e in scope.entries)
        extra = f" · {clean(names, 16)}"
    return f"{app.user} ({app.actions.role.value}{extra})"


class BoardScreen(GatedKeys, Screen[None]):
    """A screen that renders from ``app.board`` and refreshes ages every second.

    ``GATED``: actions of the screen that change something, each with the permission it
    needs (a key of ``domain.roles.REQUIRED_ROLE``). Their keys are left out of the footer for a
    role that lacks it, and pressing one says why instead of doing nothing.
    """

    GATED: ClassVar[Mapping[str, str]] = {}

    @property
    def sup(self) -> AppView:
        return cast("AppView", self.app)

    def scope_queues(self) -> frozenset[str] | None:
        """The queues this user may see ([roles.scopes]); None: every queue. Exports
        from the shared store use it (the board is already narrowed)."""
        scope = self.sup.state.vendors.scope
        return None if scope is None else scope.queue_ids

    def queue_name(self, queue_id: str | None, width: int = 40) -> str:
        return queue_name(self.sup.board, queue_id, width)

    def _lacking(self, action: str) -> str | None:
        """The permission ``action`` needs that this user's role does not have."""
        permission = self.GATED.get(action)
        if permission is not None and not role_may(self.sup.actions.role, permission):
            return permission
        return None

    def key_refusal(self, action: str) -> str | None:
        return self._lacking(action)

    _ready = False  # composed and mounted: safe to query widgets

    @property
    def showing(self) -> bool:
        """Its widgets are there to query: composed and mounted, and the app is not
        closing (Textual takes a screen's widgets down before it stops the timers)."""
        return self._ready and self.app.is_running

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
        parent = bar.parent if bar is not None else None
        if isinstance(parent, Widget) and not self.query(IncidentBanner):
            parent.mount(IncidentBanner(id="incident-banner"), after=bar)

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
        if not self.showing:  # a poll landed while the screen was being built or closed
            return
        app = self.sup
        board = app.board
        cfg = app.config.console
        now = app.state.local(app.state.centre_now()) if board else None
        for bar in self.query(StatusBar):
            bar.update(
                render_status(
                    self.title_text(),
                    now,
                    cfg.policy.label(now) if now else "",
                    app.state.health,
                    app.state.data_age_s(),
                    cfg.stale_after_s,
                    app.state.problem,
                    live_within_s=app.state.live_within_s(),
                    alerts=app.notices.unseen_count,
                    # Not on a wall: nobody at its keyboard, and it is always a viewer.
                    who=None if app.wall else _who(app),
                    alarm=standing_alarm(app),
                )
            )
        for banner in self.query(IncidentBanner):
            banner.refresh_banner()  # elapsed times
        if board is not None and ages:
            self.refresh_ages()

    def title_text(self) -> str:
        return "supervisor-tui"
