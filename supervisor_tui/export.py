"""Export formats (docs/export.md): the stored intraday history of one day as CSV or
JSON, with stable columns, for spreadsheets and workforce tools. Used by
``supervisor-tui export`` and by ``x`` on the intraday screen.

The day is the centre's local day (``[console] timezone``); every timestamp is UTC
(ISO 8601, ``Z``) with the local start and the zone beside it, so a file read in another
zone, or across a DST change, is never ambiguous. Counters are the stored ones (the
counting rule: offered = answered + abandoned + flowed out); the ratios are worked out
by ``domain.metrics``, the same functions as on screen, and are empty (not 0) where
there is nothing to divide by.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from supervisor_tui.domain.fmt import utc_stamp
from supervisor_tui.domain.metrics import abandon_rate, aht, asa, service_level
from supervisor_tui.domain.model import QueueStats, SLFormula
from supervisor_tui.store.rows import IntervalRow

#: the columns of ``export intervals``, in order (a stable contract: add, never rename)
INTERVAL_EXPORT_COLUMNS: tuple[str, ...] = (
    "interval_start_utc", "interval_start_local", "zone", "interval_minutes", "queue_id",
    "channel", "offered", "answered", "answered_within_threshold", "abandoned",
    "abandoned_short", "abandoned_after_threshold", "flowed_out", "wait_answered_s",
    "handled", "handle_s", "sl_target", "threshold_s", "service_level", "asa_s", "aht_s",
    "abandon_rate", "agents_staffed_at_close", "agents_needed_at_close", "complete",
)


def _utc(text: str) -> datetime:
    when = datetime.fromisoformat(text)
    return (when if when.tzinfo else when.replace(tzinfo=UTC)).astimezone(UTC)


def _num(value: float | None, digits: int = 4) -> float | None:
    return None if value is None else round(value, digits)


def interval_record(row: IntervalRow, zone: ZoneInfo, formula: SLFormula) -> dict[str, Any]:
    """One stored interval row as an export record (INTERVAL_EXPORT_COLUMNS)."""
    start = _utc(row["interval_start"])
    stats = QueueStats.trusted(
        queue_id=row["queue_id"], window_start=start, offered=row["offered"],
        answered=row["answered"], answered_within_threshold=row["answered_within_threshold"],
        abandoned=row["abandoned"], abandoned_short=row["abandoned_short"],
        abandoned_after_threshold=row["abandoned_after_threshold"],
        wait_answered_s=row["wait_answered_s"], handled=row["handled"],
        handle_s=row["handle_s"], flowed_out=row["flowed_out"])
    return {
        "interval_start_utc": utc_stamp(start),
        "interval_start_local": start.astimezone(zone).isoformat(timespec="minutes"),
        "zone": zone.key,
        "interval_minutes": row["interval_minutes"],
        "queue_id": row["queue_id"],
        "channel": row["channel"],
        "offered": row["offered"],
        "answered": row["answered"],
        "answered_within_threshold": row["answered_within_threshold"],
        "abandoned": row["abandoned"],
        "abandoned_short": row["abandoned_short"],
        "abandoned_after_threshold": row["abandoned_after_threshold"],
        "flowed_out": row["flowed_out"],
        "wait_answered_s": _num(row["wait_answered_s"], 3),
        "handled": row["handled"],
        "handle_s": _num(row["handle_s"], 3),
        "sl_target": row["sl_target"],
        "threshold_s": row["threshold_s"],
        "service_level": _num(service_level(stats, formula)),
        "asa_s": _num(asa(stats), 3),
        "aht_s": _num(aht(stats), 3),
        "abandon_rate": _num(abandon_rate(stats)),
        "agents_staffed_at_close": _num(row["agents_staffed_at_close"], 3),
        "agents_needed_at_close": row["agents_needed_at_close"],
        "complete": bool(row["complete"]),
    }


#: what makes a spreadsheet read a cell as a formula (or a DDE call) when it starts one
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: object) -> object:
    """One value as a CSV cell, the rule of every export: None is empty, booleans are
    true/false, and text starting like a formula (``=HYPERLINK(…)``, ``+``, ``-``, ``@``,
    tab, CR: names and ids come from sources) gets a leading ``'`` so a spreadsheet shows
    it as text instead of running it. Numbers are left alone (``-3`` stays a number)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def to_csv(records: Iterable[dict[str, Any]], columns: Sequence[str]) -> str:
    """RFC 4180 CSV with a header row; cells by ``csv_cell``."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(columns)
    for record in records:
        writer.writerow([csv_cell(record[c]) for c in columns])
    return out.getvalue()


def to_json(kind: str, day: date, zone: ZoneInfo, formula: SLFormula,
            records: Sequence[dict[str, Any]]) -> str:
    return json.dumps({"export": kind, "date": day.isoformat(), "zone": zone.key,
                       "sl_formula": formula.value, "columns": list(INTERVAL_EXPORT_COLUMNS),
                       "rows": list(records)}, indent=1) + "\n"
