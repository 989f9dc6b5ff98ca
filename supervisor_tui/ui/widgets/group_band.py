"""What the dashboard's KPI band shows for one configured queue group, and the one-line
summaries (the band's own label, and every group stacked on a tall terminal).

Plain functions from a ``domain.groups.GroupBand`` to tile contents and ``Text`` (never
markup: group and queue names are cleaned and appended as text). Ages (longest wait)
are taken against ``now`` at render time, like every wait on screen.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from rich.text import Text

from supervisor_tui.domain import fmt
from supervisor_tui.domain.board import SLStatus
from supervisor_tui.domain.groups import GroupBand, SLPart
from supervisor_tui.domain.text import clean


@dataclass(frozen=True)
class Tile:
    value: str
    sub: str
    status: str | None
    title: str


def _part(part: SLPart, min_n: int) -> str:
    """'80%/20s ✗ 71%·4': a service level with the target it is measured against."""
    shown, _ = fmt.sample_pct(part.value, part.n, min_n)
    return (f"{fmt.pct(part.target)}/{fmt.threshold(part.threshold_s)} "
            f"{fmt.SL_SYMBOL[part.status]} {shown}")


def group_tiles(band: GroupBand, label: str, now: datetime, min_n: int,
                stale: bool) -> dict[str, Tile]:
    """The six tiles (by widget id) for ``band`` over the window named ``label``."""
    frozen = "stale" if stale else None
    at_least = "≥" if stale else ""
    tiles: dict[str, Tile] = {}

    worst = band.worst_sl
    if worst is None:
        tiles["kpi-sl"] = Tile(f"{fmt.SL_SYMBOL[SLStatus.NO_DATA]} {fmt.DASH}",
                               "no queue of this group is reported", frozen or "no_data",
                               f"SL {label}")
    else:
        shown, few = fmt.sample_pct(worst.value, worst.n, min_n)
        value = f"{fmt.SL_SYMBOL[worst.status]} {shown}"
        if len(band.sl) == 1:
            sub = (f"target {fmt.pct(worst.target)}/{fmt.threshold(worst.threshold_s)} "
                   f"· n {worst.n}")
        else:  # several targets: the worst, labelled with its threshold; all in the sub
            value += f" {fmt.threshold(worst.threshold_s)}"
            sub = " · ".join(_part(p, min_n) for p in band.sl)
        tiles["kpi-sl"] = Tile(value, sub, frozen or ("low_sample" if few and worst.value
                                                      is not None else worst.status.value),
                               f"SL {label}")

    tiles["kpi-waiting"] = Tile(
        str(band.waiting), f"{band.over_threshold} over threshold",
        frozen or ("missed" if band.over_threshold else "ok"), "Waiting")

    worst_wait = band.worst_wait(now)
    if worst_wait is None:
        tiles["kpi-longest"] = Tile(fmt.DASH, "nobody waiting", frozen, "Longest")
    else:
        row, wait = worst_wait
        tiles["kpi-longest"] = Tile(
            f"{at_least}{fmt.duration(wait)} of {fmt.threshold(row.queue.threshold_s)}",
            clean(row.queue.name, 30),
            frozen or ("missed" if wait > row.queue.threshold_s else "ok"), "Longest")

    agents = band.agents
    tiles["kpi-agents"] = Tile(
        f"{agents.available} / {agents.staffed}",
        f"on {agents.on_contact} · acw {agents.after_contact_work} · away {agents.away}",
        frozen or ("missed" if agents.available == 0 and band.waiting else None), "Avail / in")

    m = band.totals
    abandon = m.abandon_rate if m else None
    shown, few = fmt.sample_pct(abandon, m.abandon_n if m else 0, min_n)
    if abandon is not None and m is not None:
        shown = fmt.pct(abandon, 1) + (f"·{m.abandon_n}" if few else "")
    tiles["kpi-abandon"] = Tile(
        shown, fmt.abandon_parts(m.stats if m else None),
        frozen or ("low_sample" if few and abandon is not None else
                   None if abandon is None else ("missed" if abandon > 0.05 else "ok")),
        f"Aband {label}")

    t = band.timing
    answered = t.stats.answered if t else 0
    asa = t.asa_s if t else None
    handled = t.stats.handled if t else 0
    aht = t.aht_s if t else None
    scope = f"{fmt.GROUP_LABEL[band.timing_channel]} · " if band.timing_mixed else ""
    tiles["kpi-asa"] = Tile(
        fmt.duration(asa) + (f"·{answered}" if asa is not None and answered < min_n else ""),
        f"{scope}AHT {fmt.duration(aht)}"
        f"{'·' + str(handled) if aht is not None and handled < min_n else ''} · n {answered}",
        frozen or ("low_sample" if asa is not None and answered < min_n else None),
        f"ASA {label}")
    return tiles


def band_line(band: GroupBand | None, names: Sequence[str], queues: int,
              min_n: int) -> Text:
    """The band's label: which group it shows, with what the short (80x24) tiles have no
    room for: offered, answered, the queues no source reports, and, when the group's
    queues have several targets, every SL with its target on a second line."""
    line = Text(no_wrap=True, overflow="ellipsis")
    if band is None:
        line.append("▶ Centre", "bold")
        line.append(f" (all {queues} queues)")
        line.append(f" · g: {' › '.join(clean(n, 20) for n in names)}", "dim")
        return line
    line.append(f"▶ {clean(band.name, 40)}", "bold reverse")
    line.append(f" · {len(band.rows)} queue{'s' if len(band.rows) != 1 else ''}")
    m = band.totals
    line.append(f" · offered {m.stats.offered if m else fmt.DASH}"
                f" · answered {m.stats.answered if m else fmt.DASH}")
    if band.missing:
        line.append(f"  ⚠ not reported: {', '.join(clean(q, 24) for q in band.missing)}",
                    "yellow")
    if len(band.sl) > 1:
        line.append("\n  SL by target:")
        for i, part in enumerate(band.sl):
            line.append(" · " if i else " ")
            line.append(_part(part, min_n),
                        "dim" if part.n < min_n else fmt.SL_STYLE[part.status])
            line.append(f" n {part.n}", "dim")
    return line


def groups_summary(bands: Sequence[GroupBand], selected: str | None, now: datetime,
                   min_n: int, stale: bool) -> Text:
    """Every group on one line each (tall terminals), the band's own one marked ▶."""
    text = Text(no_wrap=True, overflow="ellipsis")
    width = min(max((len(clean(b.name, 24)) for b in bands), default=0), 24)
    # The SLs take one column as wide as the widest group's, so the rest lines up.
    sl_width = max((sum(2 + len(_part(p, min_n)) for p in b.sl) or 6 for b in bands),
                   default=0)
    for i, band in enumerate(bands):
        if i:
            text.append("\n")
        mark = "▶ " if band.name == selected else "  "
        text.append(mark + clean(band.name, 24).ljust(width), "bold")
        used = 0
        if not band.sl:
            text.append("  SL —", "dim")
            used = 6
        for part in band.sl:
            shown = _part(part, min_n)
            text.append("  ")
            text.append(shown, "dim" if part.n < min_n else fmt.SL_STYLE[part.status])
            used += 2 + len(shown)
        text.append(" " * (sl_width - used))
        # Fixed widths: on a wall the groups read down as columns.
        wait_text = f"  │ wait {band.waiting}"
        text.append(wait_text)
        over = f" ({band.over_threshold} over)" if band.over_threshold else ""
        text.append(over, "bold red")
        text.append(" " * max(1, 22 - len(wait_text) - len(over)))
        worst = band.worst_wait(now)
        longest = ""
        if worst is not None:
            row, wait = worst
            longest = (f"longest {'≥' if stale else ''}{fmt.duration(wait)} of "
                       f"{fmt.threshold(row.queue.threshold_s)}")
            text.append(longest, "bold red" if wait > row.queue.threshold_s else "")
        text.append(" " * max(1, 25 - len(longest)))
        m = band.totals
        counts = (f"│ {m.stats.offered} offered, {m.stats.answered} answered, aband "
                  f"{fmt.pct(m.abandon_rate, 1)}" if m is not None else
                  f"│ offered {fmt.DASH} (the window cannot be told)")
        text.append(counts.ljust(43) + " ")
        a = band.agents
        text.append(f"│ avail {a.available}/{a.staffed} · on {a.on_contact} · "
                    f"acw {a.after_contact_work} · away {a.away}")
        if band.missing:
            text.append(f"  ⚠ not reported: {', '.join(clean(q, 24) for q in band.missing)}",
                        "yellow")
    return text
