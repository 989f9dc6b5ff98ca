"""The wall's "vendors" view: each vendor's totals in one line, readable across the room
(the console's Vendors screen, V, has the details). Worst first: a vendor missing its
contract leads, then by SL; every figure names its basis (n, the contract)."""

from __future__ import annotations

from collections.abc import Sequence

from rich.table import Table
from rich.text import Text

from supervisor_tui.domain import fmt
from supervisor_tui.domain.board import SLStatus
from supervisor_tui.domain.vendors import Miss, VendorFigures
from supervisor_tui.ui.widgets.tables import dash_cell

MISSED = "bold white on red"
WORDS = {Miss.SL: "SL", Miss.AHT: "AHT", Miss.ABANDON: "abandon", Miss.ADHERENCE: "adherence"}


def _order(v: VendorFigures) -> tuple[int, float]:
    return (0 if v.misses else 1, v.sl if v.sl is not None else 2.0)


def vendor_summary(rows: Sequence[VendorFigures], window: str) -> Text:
    line = Text(no_wrap=True, overflow="ellipsis")
    missed = sum(1 for v in rows if v.misses)
    line.append(f" {missed} missing their contract ", MISSED if missed else "dim")
    line.append(f"  {len(rows) - missed} on contract  ", "bold green")
    line.append(f"  {window}", "dim")
    return line


def vendor_table(rows: Sequence[VendorFigures], min_sample: int) -> Table | Text:
    if not rows:
        return Text("No vendor configured or reported ([vendors] in the config)", "dim")
    table = Table(box=None, expand=True, padding=(0, 2), show_edge=False)
    table.add_column("Vendor", style="bold", ratio=3, no_wrap=True, overflow="ellipsis")
    for head in ("SL", "Contract", "AHT", "Abandon", "Agents in", "Missed"):
        table.add_column(head, justify="right", no_wrap=True, ratio=1)
    for v in sorted(rows, key=_order):
        m = v.figures
        if v.sl is None:
            sl = dash_cell()
        else:
            status = v.sl_status
            sl = Text(f"{fmt.SL_SYMBOL[status]} {fmt.pct(v.sl)} n{v.sl_n}",
                      "bold red" if Miss.SL in v.misses else
                      "dim" if v.sl_n < min_sample else
                      "bold green" if status is SLStatus.OK else fmt.SL_STYLE[status])
        contract = (Text(f"{fmt.pct(v.contract.sl_target)}/{fmt.threshold(v.contract.threshold_s)}")
                    if v.contract else Text("none", "dim"))
        aht = Text(fmt.duration(m.aht_s) if m else fmt.DASH,
                   "bold red" if Miss.AHT in v.misses else "")
        aband = Text(fmt.pct(m.abandon_rate, 1) if m else fmt.DASH,
                     "bold red" if Miss.ABANDON in v.misses else "")
        missed = Text(", ".join(WORDS[k] for k in sorted(v.misses)) or "—",
                      MISSED if v.misses else "dim")
        table.add_row(Text(v.name, "bold red" if v.misses else "bold"), sl, contract, aht,
                      aband, str(v.agents.staffed), missed)
    return table
