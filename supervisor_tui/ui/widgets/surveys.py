"""Survey figures as screens show them: the dashboard tile, team columns, a line for the
agent and queue details. Counts always beside rates; "—" with no response."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from rich.text import Text

from supervisor_tui.domain import fmt
from supervisor_tui.domain.surveys import Fcr, Scores, SurveyFigures, csat_text, fcr_text, nps_text
from supervisor_tui.domain.teams import TeamFigures
from supervisor_tui.ui.widgets.grid import Column
from supervisor_tui.ui.widgets.kpi import KpiTile
from supervisor_tui.ui.widgets.tables import dash_cell, num_key


class SurveyTile(KpiTile):
    """The dashboard's CSAT tile: hidden until the KPI row has the ``-surveys`` class
    (today has a scored response); then up to eight tiles share 80 columns."""

    SCOPED_CSS = False  # the rules below reach the row and its other tiles
    DEFAULT_CSS = """
    SurveyTile { display: none; }
    #kpis.-surveys SurveyTile { display: block; }
    #kpis.-surveys KpiTile { min-width: 10; }
    """


def has_scores(figures: SurveyFigures) -> bool:
    return bool(figures.centre.csat_n or figures.centre.nps_n)


def tile(figures: SurveyFigures, f: Fcr, min_sample: int) -> tuple[str, str, str]:
    """(value, sub-line, status class) of the centre's CSAT tile. The value carries its n
    when under the minimum sample (greyed, like every other tile)."""
    c = figures.centre
    if not c.csat_n:
        value, status = fmt.DASH, "no_data"
    else:
        few = c.csat_n < min_sample
        value = f"{c.csat_pct:.0f}%" + (f"·{c.csat_n}" if few else "")
        status = "low_sample" if few else ("ok" if (c.csat_pct or 0) >= 80 else "at_risk")
    avg = f" avg {c.csat_avg:.1f}" if c.csat_avg is not None else ""
    sub = f"n {c.csat_n}{avg} · {nps_text(c)} · {fcr_text(f)}"
    return value, sub, status


def summary(s: Scores | None) -> Text:
    """"CSAT 80% (n=5) · NPS +20 (n=5)", dim with no response."""
    if s is None or not (s.csat_n or s.nps_n):
        return Text("CSAT — · NPS — (no survey response today)", "dim")
    text = Text(csat_text(s))
    if s.csat_avg is not None:
        text.append(f" avg {s.csat_avg:.1f}/5", "dim")
    text.append(f" · {nps_text(s)}")
    return text


def _cell(s: Scores | None, pick: Callable[[Scores], str], min_sample: int,
          n: Callable[[Scores], int]) -> Text:
    if s is None or not n(s):
        return dash_cell()
    return Text(pick(s), style="dim" if n(s) < min_sample else "")


def team_columns(figures: Callable[[], SurveyFigures],
                 min_sample: int) -> list[Column[TeamFigures]]:
    """CSAT and NPS per team today ("80% n5", "+20 n5"), dropped first when narrow."""

    def csat(t: TeamFigures, now: datetime) -> Text:
        return _cell(figures().teams.get(t.team), lambda s: f"{s.csat_pct:.0f}% n{s.csat_n}",
                     min_sample, lambda s: s.csat_n)

    def nps(t: TeamFigures, now: datetime) -> Text:
        return _cell(figures().teams.get(t.team), lambda s: f"{s.nps:+.0f} n{s.nps_n}",
                     min_sample, lambda s: s.nps_n)

    def csat_key(t: TeamFigures, now: datetime) -> float:
        s = figures().teams.get(t.team)
        return num_key(None if s is None else s.csat_pct)

    def nps_key(t: TeamFigures, now: datetime) -> float:
        s = figures().teams.get(t.team)
        return -101.0 if s is None or s.nps is None else s.nps

    return [Column("csat", "CSAT", 9, csat, csat_key, align="right", priority=2),
            Column("nps", "NPS", 8, nps, nps_key, align="right", priority=2)]
