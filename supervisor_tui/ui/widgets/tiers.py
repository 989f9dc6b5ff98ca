"""Customer tiers on screen: the dashboard's tier column set (t) and the queue detail's
tier block. Figures come from ``domain.tiers`` through the console (``VendorView``):
VIP, gold and standard, each SL against its own target with its sample, ASA and abandon.
A queue whose source reports no tier split shows "—" and is named in a note, never a
false "everything is standard" split.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime

from rich.table import Table
from rich.text import Text

from supervisor_tui.domain import fmt
from supervisor_tui.domain.board import QueueRow, WindowMetrics
from supervisor_tui.domain.model import Tier
from supervisor_tui.domain.text import clean
from supervisor_tui.domain.tiers import TIER_ORDER, TierBlock, TierFigures
from supervisor_tui.ui.widgets.grid import Column
from supervisor_tui.ui.widgets.tables import (
    TIER_STYLE,
    age_s,
    dash_cell,
    num_key,
    sl_cell,
    wait_cell,
)

SHORT = {Tier.VIP: "VIP", Tier.GOLD: "Gold", Tier.STANDARD: "Std"}


def _sl(f: TierFigures | None, min_sample: int, with_n: bool = True) -> Text:
    """'✓ 82%' ('·4' and greyed under the minimum sample, unless ``with_n`` is False
    because the count is in a column of its own)."""
    if f is None:
        return dash_cell()
    cell = sl_cell(f.service_level, f.status, f.n if with_n else max(f.n, min_sample),
                   min_sample)
    if not with_n and f.n < min_sample and f.service_level is not None:
        cell.stylize("dim")
    if f.threshold_differs:
        cell.append("≠", "yellow")  # counted at another wait than the tier's target
    return cell


def _rate(m: WindowMetrics, min_sample: int) -> Text:
    if m.abandon_rate is None:
        return dash_cell()
    if m.abandon_n < min_sample:  # a tenth of a percent of a few contacts is noise
        return Text(f"{fmt.pct(m.abandon_rate)}·{m.abandon_n}", style="dim")
    return Text(fmt.pct(m.abandon_rate, 1))


def _asa(m: WindowMetrics, min_sample: int) -> Text:
    if m.asa_s is None:
        return dash_cell()
    text = fmt.duration(m.asa_s)
    return Text(f"{text}·{m.stats.answered}", style="dim") \
        if m.stats.answered < min_sample else Text(text)


def tier_columns(tiers_of: Callable[[QueueRow], TierBlock | None], label: str = "",
                 min_sample: int = 0, frozen: Callable[[], bool] = lambda: False
                 ) -> list[Column[QueueRow]]:
    """The dashboard's tier column set: the queue, what waits, then per tier (VIP,
    gold, standard) SL against its own target, abandon, ASA and offered; at 80 columns
    the three SLs stay and the rest give way. The window (``label``) is named on the
    line above the table (the headers are narrow)."""

    def tier(row: QueueRow, t: Tier) -> TierFigures | None:
        block = tiers_of(row)
        return block.get(t) if block is not None else None

    def sort_sl(t: Tier) -> Callable[[QueueRow, datetime], float]:
        def key(row: QueueRow, now: datetime) -> float:
            f = tier(row, t)
            return num_key(None if f is None else f.service_level)
        return key

    columns: list[Column[QueueRow]] = [
        Column("name", "Queue", 12, lambda r, now: clean(r.queue.name, 60),
               lambda r, now: r.queue.name.lower(), priority=0, flex=True, max_width=30),
        Column("waiting", "Wait#", 5,
               lambda r, now: Text(str(r.waiting), style="bold" if r.waiting else "dim"),
               lambda r, now: r.waiting, align="right", priority=1),
        Column("longest", "Oldest", 7,
               lambda r, now: wait_cell(age_s(r.oldest_waiting_since, now),
                                        r.queue.threshold_s, at_least=frozen()),
               lambda r, now: age_s(r.oldest_waiting_since, now) or -1.0, align="right",
               priority=2, sort_by_time=True),
    ]
    for t in TIER_ORDER:
        columns.append(Column(f"sl_{t.value}", f"{SHORT[t]} SL", 8, _sl_cell(tier, t, min_sample),
                              sort_sl(t), align="right", priority=0))
    for t in TIER_ORDER:
        name = SHORT[t]
        columns.append(Column(f"aband_{t.value}", f"{name} Ab", 7,
                              _figure_cell(tier, t, lambda m: _rate(m, min_sample)),
                              align="right", priority=3))
        columns.append(Column(f"asa_{t.value}", f"{name} ASA", 8,
                              _figure_cell(tier, t, lambda m: _asa(m, min_sample)),
                              align="right", priority=4))
        columns.append(Column(f"offered_{t.value}", f"{name} Off", 8,
                              _figure_cell(tier, t, lambda m: Text(str(m.stats.offered))),
                              align="right", priority=5))
    return columns


TierOf = Callable[[QueueRow, Tier], TierFigures | None]


def _sl_cell(tier: TierOf, t: Tier, min_sample: int) -> Callable[[QueueRow, datetime], Text]:
    def cell(row: QueueRow, now: datetime) -> Text:
        return _sl(tier(row, t), min_sample)
    return cell


def _figure_cell(tier: TierOf, t: Tier, show: Callable[[WindowMetrics], Text]
                 ) -> Callable[[QueueRow, datetime], Text]:
    def cell(row: QueueRow, now: datetime) -> Text:
        f = tier(row, t)
        return show(f.figures) if f is not None else dash_cell()
    return cell


def not_reported_note(blocks: Iterable[tuple[QueueRow, TierBlock | None]]) -> Text:
    """'tiers: not reported by pbx (Support)' for the queues shown without a split, and
    any split that does not add up."""
    missing: dict[str, list[str]] = {}
    broken: list[str] = []
    for row, block in blocks:
        if block is None:
            continue
        if not block.reported:
            for source in block.not_reported_by:
                missing.setdefault(source, []).append(clean(row.queue.name, 20))
        elif block.problem:
            broken.append(clean(row.queue.name, 20))
    text = Text(no_wrap=True, overflow="ellipsis")
    for source, names in missing.items():
        shown = ", ".join(names[:3]) + (f" +{len(names) - 3}" if len(names) > 3 else "")
        text.append(f" tiers: not reported by {clean(source, 24)} ({shown}) ·", "yellow")
    if broken:
        text.append(f" tier counts do not add up, not shown: {', '.join(broken[:3])} ·",
                    "red")
    return text


def centre_line(blocks: Iterable[tuple[str, TierBlock]], min_sample: int) -> Text:
    """The centre's tiers per channel group in one line ('live VIP ✗ 78%·9 gold ✓ 100%·4
    std ✗ 68%'): the queues that report a split, summed; never voice with email."""
    text = Text(no_wrap=True, overflow="ellipsis")
    for label, block in blocks:
        if not block.tiers:
            continue
        text.append(f" {label}", "bold")
        for f in block.tiers:
            text.append(f" {SHORT[f.tier]} ", TIER_STYLE[f.tier] or "")
            text.append_text(_sl(f, min_sample))
        text.append(" ·")
    return text


def tier_table(block: TierBlock, label: str, min_sample: int) -> Table | Text:
    """The queue detail's tier block: per tier offered, SL against its target with its
    sample, ASA and abandon, over the window named."""
    if not block.reported:
        sources = ", ".join(clean(s, 24) for s in block.not_reported_by)
        return Text(f"Tiers: not reported by {sources} (no split is shown rather than "
                    "counting everyone as standard)", style="dim")
    if not block.tiers:
        return Text(f"Tiers: {block.problem or 'no figures'}", style="yellow")
    table = Table(box=None, padding=(0, 1), expand=False, show_edge=False)
    table.add_column(f"Tier {label}", style="bold", no_wrap=True)
    for head in ("Offered", "SL", "Target", "n", "ASA", "Aband"):
        table.add_column(head, justify="right", no_wrap=True)
    for f in block.tiers:
        target = fmt.pct(f.target)
        if f.threshold_s is not None:
            target += f"/{fmt.threshold(f.threshold_s)}"
        if f.threshold_differs and f.wanted_threshold_s is not None:
            target += f" (asked {fmt.threshold(f.wanted_threshold_s)})"
        table.add_row(Text(f.tier.value.upper() if f.tier is Tier.VIP else f.tier.value,
                           style=TIER_STYLE[f.tier] or "bold"),
                      str(f.offered), _sl(f, min_sample, with_n=False), target, str(f.n),
                      _asa(f.figures, min_sample), _rate(f.figures, min_sample))
    return table
