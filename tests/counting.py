"""The counting rule, checked on a parsed snapshot (used by every source adapter's tests).

For the interval and day counters of every queue: answered + abandoned + flowed out
equals offered (or at most offered, where an adapter documents why), the model's own
plausibility check passes, and every derived rate lies in [0, 1].
"""

from __future__ import annotations

from supervisor_tui.domain import metrics
from supervisor_tui.domain.model import SLFormula, Snapshot, implausible


def count_problems(snap: Snapshot, exact: bool = True) -> list[str]:
    """Every way the snapshot's counters break the counting rule (empty: none)."""
    problems = []
    for window, table in (("interval", snap.interval_stats), ("day", snap.day_stats)):
        for qid, s in table.items():
            where = f"{window} {qid}"
            ended = s.answered + s.abandoned + s.flowed_out
            if ended > s.offered or (exact and ended != s.offered):
                problems.append(f"{where}: answered {s.answered} + abandoned {s.abandoned} "
                                f"+ flowed out {s.flowed_out} vs offered {s.offered}")
            problem = implausible(s)
            if problem:
                problems.append(f"{where}: {problem}")
            rates = {f"SL {f.value}": metrics.service_level(s, f) for f in SLFormula}
            rates["abandon rate"] = metrics.abandon_rate(s)
            for name, rate in rates.items():
                if rate is not None and not 0 <= rate <= 1:
                    problems.append(f"{where}: {name} {rate:.3f}")
            asa = metrics.asa(s)
            if asa is not None and asa < 0:
                problems.append(f"{where}: ASA {asa}")
    return problems
