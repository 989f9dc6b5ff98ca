"""Counters that cannot be true, for the platform sources.

Each platform's counters are checked against the counting rule (``model.QueueStats``:
a contact counts once, in the window in which it left the queue, so offered = answered
+ abandoned + flowed out) and against themselves (a split by wait time must add up to
its total). A queue whose counters fail is shown without figures ("no data") and the
poll says why in one note; the rest of the poll stands.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from supervisor_tui.domain.model import QueueStats, implausible


def checked_stats(**fields: Any) -> QueueStats | str:
    """``QueueStats(**fields)``, or the reason its counts cannot be true.

    Field types are still validated (a ``ValidationError`` for garbage such as a
    negative count); only counts that are each fine but cannot all be true come back
    as a reason.
    """
    problem = implausible(QueueStats.trusted(**fields))
    if problem:
        return problem
    return QueueStats(**fields)


def late_abandons(abandoned: int, short: int, after: int) -> tuple[int, bool]:
    """Abandons after the threshold, excluding the short ones: short abandons are left out
    of every rate, so none of them may also count as late. Where a platform's windows
    overlap (or its splits were sampled), the late count is clamped; True says so."""
    room = max(abandoned - short, 0)
    return (room, True) if after > room else (after, False)


def rejection_note(what: str, rejected: Mapping[str, str]) -> str | None:
    """One line for the health panel: which queues' ``what`` were rejected, and why
    (the first queue's reason; the poller keeps a few short notes only)."""
    if not rejected:
        return None
    (name, reason), *rest = rejected.items()
    more = f" and {len(rest)} more queue(s)" if rest else ""
    return f"{what} of {name}{more} rejected ({reason}); shown as no data"
