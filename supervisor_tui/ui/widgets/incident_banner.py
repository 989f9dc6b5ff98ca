"""Incident banner: every active incident on the host, under the status bar of every
screen, until it is resolved; then ALL CLEAR for ``[crisis] all_clear_banner_s``.

It reads ``app.banners``, which the app re-reads from the shared store on every poll and
every second, so an incident declared on one console shows on every other within one
poll. The elapsed time ticks every second: LeanText sends only the changed digits.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, tzinfo

from rich.text import Text

from supervisor_tui.crisis.incidents import Banner
from supervisor_tui.domain import fmt
from supervisor_tui.domain.text import clean
from supervisor_tui.ui.widgets.lean import LeanText

# Status is never carried by colour alone: a symbol and a word too.
SEVERITY_BADGE = {
    "critical": ("‼ CRITICAL", "bold white on red"),
    "major": ("! MAJOR", "bold black on yellow"),
    "minor": ("· MINOR", "bold black on cyan"),
}
# More incidents than this are summed up in one line (an 80x24 screen has no room).
MAX_INCIDENT_LINES = 3


def severity_badge(severity: str) -> tuple[str, str]:
    return SEVERITY_BADGE.get(severity, (clean(severity, 12).upper(), "bold reverse"))


def render_banners(banners: Sequence[Banner], now: datetime, zone: tzinfo | None = None,
                   max_lines: int = MAX_INCIDENT_LINES) -> Text:
    """One line per active incident (most severe first, as given), then the newest
    broadcast to agents. Lines are cut with an ellipsis, never wrapped."""
    lines: list[Text] = []
    for banner in banners[:max_lines]:
        inc = banner.incident
        line = Text()
        if not inc.active:
            lines.append(_all_clear(banner, zone))
            continue
        word, style = severity_badge(inc.severity)
        line.append(f" {word} ", style)
        # Elapsed first: it is what people look for, and it must survive 80 columns.
        line.append(f" {fmt.duration((now - inc.declared_at).total_seconds())} ", "bold")
        line.append(f" #{inc.id} ", "bold")
        line.append(clean(inc.title, 100), "bold")
        if inc.queues:
            line.append(f" · {clean(', '.join(inc.queues), 80)}")
        if inc.eta:
            line.append(f" · ETA {clean(inc.eta, 40)}")
        if inc.impact:
            line.append(f" · {clean(inc.impact, 160)}", "italic")
        lines.append(line)
    if len(banners) > max_lines:
        more = banners[max_lines:]
        active = sum(b.incident.active for b in more)
        what = (f"{active} more active incident(s)" if active == len(more) else
                f"{len(more)} more incident(s), {active} active")
        lines.append(Text(f" +{what}: see the crisis screen (c)", "bold"))
    latest = max((b for b in banners if b.message and b.message_at), default=None,
                 key=lambda b: b.message_at)  # type: ignore[arg-type,return-value]
    if latest is not None and latest.message_at is not None:
        at = latest.message_at.astimezone(zone) if zone else latest.message_at
        line = Text()
        line.append(" TO AGENTS ", "bold reverse")
        line.append(f" {at:%H:%M} #{latest.incident.id} ", "dim")
        line.append(clean(latest.message, 500))
        lines.append(line)
    return Text("\n", no_wrap=True, overflow="ellipsis").join(lines)


def _all_clear(banner: Banner, zone: tzinfo | None) -> Text:
    inc = banner.incident
    line = Text()
    line.append(" ✓ ALL CLEAR ", "bold black on green")
    line.append(f" #{inc.id} ", "bold")
    line.append(clean(inc.title, 100), "bold")
    if inc.resolved_at is not None:
        at = inc.resolved_at.astimezone(zone) if zone else inc.resolved_at
        took = fmt.duration((inc.resolved_at - inc.declared_at).total_seconds())
        line.append(f" · resolved {at:%H:%M} after {took}")
    return line


class IncidentBanner(LeanText):
    """Hidden while no incident is active; coloured by the most severe one."""

    DEFAULT_CSS = """
    IncidentBanner { height: auto; display: none; background: $error 25%; }
    IncidentBanner.-major { background: $warning 25%; }
    IncidentBanner.-minor { background: $primary 25%; }
    IncidentBanner.-clear { background: $success 25%; }
    """

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self._banners: tuple[Banner, ...] = ()

    def on_mount(self) -> None:
        if hasattr(self.app, "banners"):
            self.watch(self.app, "banners", self._banners_changed, init=True)

    def _banners_changed(self, banners: Sequence[Banner]) -> None:
        self._banners = tuple(banners)
        self.display = bool(self._banners)
        top = self._banners[0].incident if self._banners else None
        worst = top.severity if top is not None and top.active else ""
        self.set_class(worst == "major", "-major")
        self.set_class(worst == "minor", "-minor")
        self.set_class(top is not None and not top.active, "-clear")
        self.refresh_banner()

    def refresh_banner(self) -> None:
        """Re-render (the elapsed times): called by the screen's one-second tick."""
        if not self._banners:
            return
        app = self.app
        clock = getattr(app, "clock", None)
        config = getattr(app, "config", None)
        now = clock() if clock is not None else datetime.now().astimezone()
        zone = config.console.policy.zone if config is not None else None
        self.update(render_banners(self._banners, now, zone))
