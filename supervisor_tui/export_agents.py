"""``export agents`` (docs/export.md): each agent's day as the consoles observed it
(``store/agent_days.py``): contacts handled, handle time, AHT, time in each state and
occupancy, with what the figures cover.

The conventions are ``export intervals``'s: the centre's local day, times UTC (``Z``)
with the local time beside them and the zone in a column, stable columns (added at the
end, never renamed), empty where a value does not exist (AHT with nothing handled,
occupancy with no time available or busy), and one CSV cell rule (``export.csv_cell``).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from supervisor_tui.domain.fmt import utc_stamp
from supervisor_tui.domain.text import clean
from supervisor_tui.store import Store
from supervisor_tui.store.agent_days import AgentDayRow, read_agent_days

#: the columns of ``export agents``, in order (a stable contract: add, never rename)
AGENT_EXPORT_COLUMNS: tuple[str, ...] = (
    "day", "zone", "source", "agent_id", "name", "team", "queues", "handled", "handle_s",
    "aht_s", "available_s", "on_contact_s", "acw_s", "away_s", "offline_s", "logged_in_s",
    "occupancy", "observed_since_utc", "observed_since_local", "covered_until_utc",
    "covered_until_local",
)


def _utc(text: str) -> datetime:
    when = datetime.fromisoformat(text)
    return (when if when.tzinfo else when.replace(tzinfo=UTC)).astimezone(UTC)


def agent_record(row: AgentDayRow, zone: ZoneInfo) -> dict[str, Any]:
    """One stored agent day as an export record (AGENT_EXPORT_COLUMNS).

    ``logged_in_s`` = available + on contact + ACW + away (offline is not logged in);
    ``occupancy`` = (on contact + ACW) / (on contact + ACW + available), as on screen."""
    busy = row["on_contact_s"] + row["acw_s"]
    open_s = busy + row["available_s"]
    since, until = _utc(row["observed_since"]), _utc(row["covered_until"])
    return {
        "day": row["day"],
        "zone": zone.key,
        "source": clean(row["source"], 100),
        "agent_id": clean(row["agent_id"], 100),
        "name": clean(row["name"], 200),
        "team": clean(row["team"], 200),
        "queues": clean(row["queues"], 2000),
        "handled": row["handled"],
        "handle_s": round(row["handle_s"], 3),
        "aht_s": round(row["handle_s"] / row["handled"], 3) if row["handled"] else None,
        "available_s": round(row["available_s"], 3),
        "on_contact_s": round(row["on_contact_s"], 3),
        "acw_s": round(row["acw_s"], 3),
        "away_s": round(row["away_s"], 3),
        "offline_s": round(row["offline_s"], 3),
        "logged_in_s": round(open_s + row["away_s"], 3),
        "occupancy": round(busy / open_s, 4) if open_s > 0 else None,
        "observed_since_utc": utc_stamp(since),
        "observed_since_local": since.astimezone(zone).isoformat(timespec="seconds"),
        "covered_until_utc": utc_stamp(until),
        "covered_until_local": until.astimezone(zone).isoformat(timespec="seconds"),
    }


def agent_records(store: Store, day: date, zone: ZoneInfo,
                  queue_id: str | None = None) -> list[dict[str, Any]]:
    """The day's agents (those serving ``queue_id`` if given), by source and id.
    Raises StoreError."""
    rows = read_agent_days(store, day.isoformat())
    if queue_id is not None:
        rows = [r for r in rows if queue_id in r["queues"].split(",")]
    return [agent_record(r, zone) for r in rows]
