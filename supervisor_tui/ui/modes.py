"""The screens a console switches between (Textual's modes), by name: where each one's
class lives. No Textual here: the CLI names them (``--screen``) before the UI is
imported, and the app imports each screen's module only when it is first shown."""

from __future__ import annotations

#: mode name -> (module under ``supervisor_tui.ui.screens``, class); the wall's view is
#: added by a wall console only
SCREENS: dict[str, tuple[str, str]] = {
    "dashboard": ("dashboard", "DashboardScreen"),
    "agents": ("agents", "AgentsScreen"),
    "escalations": ("escalations", "EscalationDeskScreen"),
    "crisis": ("crisis", "CrisisScreen"),
    "intraday": ("intraday", "IntradayScreen"),
    "abandoned": ("abandoned", "AbandonedScreen"),
    "thresholds": ("thresholds", "ThresholdsScreen"),
    "teams": ("teams", "TeamsScreen"),
    "vendors": ("vendors", "VendorsScreen"),
    "sources": ("sources", "SourcesScreen"),
    "audit": ("audit", "AuditScreen"),
}
