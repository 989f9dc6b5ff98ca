"""Forecast vs actual (pure): per-interval forecasts as WFM tools export them, the agents
they require, variance against what happened, and a projected end-of-day service level.

**Input.** One row per queue and interval: queue, interval start, contacts, AHT, and
optionally the agents the WFM tool requires and the agents it has scheduled. CSV (the
header names NICE IEX, Verint and Calabrio exports use; comma, semicolon, tab or pipe;
Calabrio's documented headerless layout) or JSON. Local times are the centre's zone;
ISO 8601 times with an offset are taken as written. Every interval must start on one
of the centre's interval boundaries and last as long as its intervals (a 15-minute
forecast does not fit 30-minute intervals: said, row by row). Rejected rows are reported
by line; queues that are not configured are listed and left out.

**Required agents** for an interval, from its forecast contacts C and AHT h over an
interval of T seconds:

- voice-like queues (voice, chat, social: the live channel group): Erlang C, the
  smallest N whose predicted service level 1 − C(N, A)·e^(−(N−A)·t/h) meets the queue's
  target in its threshold t, with traffic A = C·h / T Erlangs, at most ``max_occupancy``
  busy (``erlang.staffing``, as the board's live "Need");
- email and other deferred queues: workload, N = ⌈C·h / T / occupancy⌉ with the same
  occupancy (a deferred contact waits in a backlog, not on a line: Erlang C does not
  describe it).

**Projected end-of-day SL** (:func:`projected_sl`): what has happened so far (answered
within threshold and the SL denominator by the console's formula, the counting rule of
docs/metrics.md) plus, for each interval still to come, its forecast contacts answered at
the service level its staffing can give — Erlang C with the agents scheduled for it (or,
with no schedule, the agents logged in now) for voice-like queues; for deferred queues
the share of its workload those agents can work, min(1, N·T / (C·h)). Forecast contacts
all count in the denominator (Erlang C has no abandonment)::

    projected = (within so far + Σ C_i · SL_i) / (counted so far + Σ C_i)

The interval under way contributes the part of its forecast still to come.
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, tzinfo
from typing import Any

from supervisor_tui.domain import erlang
from supervisor_tui.domain.board import CHANNEL_GROUP, DEFERRED, QueueRow
from supervisor_tui.domain.intraday import sl_denominator
from supervisor_tui.domain.model import Agent, SLFormula
from supervisor_tui.domain.schedule import Expected, ScheduleEntry, header_key
from supervisor_tui.domain.text import clean
from supervisor_tui.domain.wallclock import parse_day, parse_when

#: the occupancy cap the board's live "Need" uses (``build_board``), used here too
DEFAULT_MAX_OCCUPANCY = 0.85
#: a forecast row above this many contacts per interval is a typo, not a forecast
MAX_CONTACTS = 1_000_000.0
MAX_AHT_S = 24 * 3600.0
#: channels staffed by workload, not Erlang C (the board's deferred channel group)
DEFERRED_CHANNELS = frozenset(c.value for c, g in CHANNEL_GROUP.items() if g == DEFERRED)


@dataclass(frozen=True, slots=True)
class ForecastRow:
    queue_id: str
    start: datetime  # aware, UTC
    minutes: int
    contacts: float
    aht_s: float
    required: float | None = None  # agents the WFM tool requires (file column)
    scheduled: float | None = None  # agents it has scheduled (file column)

    @property
    def end(self) -> datetime:
        return self.start + timedelta(minutes=self.minutes)


@dataclass(frozen=True)
class ForecastParse:
    rows: tuple[ForecastRow, ...]
    errors: tuple[str, ...]  # "line N: why", one per rejected row
    unknown_queues: tuple[str, ...]  # as written (cleaned): not configured, left out
    layout: str  # which layout was read ("CSV with header", "Calabrio (no header)", "JSON")
    other_days: int = 0  # rows outside the --date asked for, left out

    def days(self, zone: tzinfo) -> list[date]:
        return sorted({r.start.astimezone(zone).date() for r in self.rows})


class ForecastError(ValueError):
    """The file as a whole cannot be read (no usable header, not JSON...)."""


# Header names, lower-cased with everything but letters and digits removed, per field,
# in order of preference.
_HEADERS: Mapping[str, tuple[str, ...]] = {
    "queue": ("queueid", "queue", "queuename", "ctid", "ct", "ctname", "contacttype",
              "skill", "skillname", "split", "workload", "workloadname", "activity"),
    "date": ("date", "day", "forecastdate", "intervaldate", "excdate"),
    "start": ("intervalstart", "intervalstarttime", "start", "starttime", "period",
              "periodstart", "interval", "time", "datetime", "timestamp"),
    "end": ("intervalend", "intervalendtime", "end", "endtime", "periodend", "stop"),
    "contacts": ("contacts", "forecastcontacts", "fcstcontacts", "fcstcontactsreceived",
                 "contactsreceived", "volume", "forecastvolume", "fcstvolume", "calls",
                 "forecastcalls", "fcstcalls", "offered", "forecastoffered", "callsoffered"),
    "aht": ("aht", "ahts", "ahtseconds", "ahtsec", "forecastaht", "fcstaht",
            "averagehandletime", "handletime", "averagetasktime", "tasktime"),
    "acw": ("aftertaskwork", "acw", "aftercallwork", "wrap", "wrapup", "wrapuptime"),
    "required": ("required", "requiredagents", "agentsrequired", "req", "fcstreq",
                 "requirement", "requiredstaff", "staffrequired", "forecastrequirement",
                 "fcstrequirement", "agents", "requiredfte"),
    "scheduled": ("scheduled", "scheduledagents", "agentsscheduled", "sched", "schedopen",
                  "scheduledopen", "scheduledstaff", "staffscheduled", "scheduledfte"),
}
_NEEDED = ("queue", "start", "contacts", "aht")


def _columns(header: Sequence[str]) -> dict[str, list[int]]:
    """Each field's candidate columns, best first (several may name a queue)."""
    normed = [header_key(h) for h in header]
    found: dict[str, list[int]] = {}
    taken: set[int] = set()
    for fld, names in _HEADERS.items():
        for name in names:
            for i, h in enumerate(normed):
                if h == name and i not in taken:
                    found.setdefault(fld, []).append(i)
                    taken.add(i)
    return found


def _number(text: object, what: str, *, allow_clock: bool = False) -> float:
    """A non-negative finite number; ``allow_clock``: also m:ss or h:mm:ss (an AHT)."""
    if isinstance(text, bool):
        raise ValueError(f"{what} is not a number")
    if isinstance(text, int | float):
        value = float(text)
    elif isinstance(text, str):
        s = text.strip()
        if allow_clock and ":" in s:
            parts = s.split(":")
            try:
                nums = [float(p) for p in parts]
            except ValueError:
                raise ValueError(f"{what} {clean(s, 20)!r} is not a duration") from None
            if len(nums) > 3 or any(n < 0 for n in nums):
                raise ValueError(f"{what} {clean(s, 20)!r} is not a duration")
            value = 0.0
            for n in nums:
                value = value * 60 + n
        else:
            if s.count(",") == 1 and "." not in s:  # a decimal comma (16,5)
                s = s.replace(",", ".")
            try:
                value = float(s)
            except ValueError:
                raise ValueError(f"{what} {clean(s, 20)!r} is not a number") from None
    else:
        raise ValueError(f"{what} is not a number")
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"{what} must be a number >= 0, got {clean(str(text), 20)}")
    return value


@dataclass
class _Raw:
    """One row as read, before the interval and queue checks."""

    where: str  # "line 4" / "entry 2"
    queue: str
    start: datetime
    end: datetime | None
    contacts: float
    aht_s: float
    required: float | None
    scheduled: float | None


def _raw(where: str, queue: str, start: datetime, end: datetime | None, contacts: object,
         aht: object, acw: object | None, required: object | None,
         scheduled: object | None) -> _Raw:
    q = clean(queue, 120).strip()
    if not q:
        raise ValueError("no queue")
    n = _number(contacts, "contacts")
    if n > MAX_CONTACTS:
        raise ValueError(f"{n:.0f} contacts in one interval is not plausible")
    h = _number(aht, "AHT", allow_clock=True)
    if acw not in (None, ""):
        h += _number(acw, "after-contact work", allow_clock=True)
    if h > MAX_AHT_S:
        raise ValueError(f"AHT {h:.0f} s is over a day")
    if n > 0 and h <= 0:
        raise ValueError("AHT must be > 0 when contacts are forecast")
    req = None if required in (None, "") else _number(required, "required agents")
    sch = None if scheduled in (None, "") else _number(scheduled, "scheduled agents")
    return _Raw(where, q, start, end, n, h, req, sch)


def _sniff(first: str) -> csv.Dialect | type[csv.Dialect]:
    try:
        return csv.Sniffer().sniff(first, ",;\t|")
    except csv.Error:
        return csv.excel


def _read_csv(text: str, day: date | None, zone: tzinfo,
              known: Iterable[str]) -> tuple[list[_Raw], list[str], str]:
    text = text.lstrip("\ufeff")
    if text.lower().startswith("#fields"):  # IEX exports key their header line so
        text = text[7:].lstrip(": \t")
    lines = [ln for ln in text.splitlines() if ln.strip()]
    if not lines:
        raise ForecastError("empty file")
    dialect = _sniff(lines[0])
    reader = csv.reader(io.StringIO(text), dialect)
    header = next(reader)
    cols = _columns(header)
    raws: list[_Raw] = []
    errors: list[str] = []
    if not any(f in cols for f in _NEEDED) and len(header) >= 6:
        # Calabrio's documented forecast file: no header; skill, interval start, interval
        # end (yyyyMMdd HH:mm), volume, average task time, after task work[, agents].
        try:
            parse_when(header[1], day, zone)
        except ValueError:
            pass
        else:
            for n, row in enumerate([header, *reader], 1):
                where = f"line {n}"
                if not any(c.strip() for c in row):
                    continue
                try:
                    if len(row) < 6:
                        raise ValueError(f"{len(row)} columns; this layout has 6 or 7")
                    raws.append(_raw(where, row[0], parse_when(row[1], day, zone),
                                     parse_when(row[2], day, zone), row[3], row[4], row[5],
                                     row[6] if len(row) > 6 else None, None))
                except ValueError as exc:
                    errors.append(f"{where}: {exc}")
            return raws, errors, "Calabrio (no header)"
    missing = [f for f in _NEEDED if f not in cols]
    if missing:
        raise ForecastError(f"line 1: no column for {', '.join(missing)} "
                            f"(header: {clean(', '.join(header), 120)})")
    rows = list(reader)
    queue_col = _best_queue_column(cols["queue"], rows, known)

    def pick(row: list[str], fld: str) -> str | None:
        i = cols.get(fld, [None])[0]
        return row[i] if i is not None and i < len(row) else None

    # Line numbers count the header as line 1 (a quoted cell spanning lines is rare here).
    for n, row in enumerate(rows, 2):
        where = f"line {n}"
        if not any(c.strip() for c in row):
            continue
        try:
            needed = {f: pick(row, f) for f in _NEEDED}
            needed["queue"] = row[queue_col] if queue_col < len(row) else None
            absent = [f for f, v in needed.items() if v is None or not v.strip()]
            if absent:
                raise ValueError(f"missing {', '.join(absent)}")
            row_day = day
            if (d := pick(row, "date")) is not None and d.strip():
                row_day = parse_day(d)
            start = parse_when(needed["start"] or "", row_day, zone)
            end_text = pick(row, "end")
            end = parse_when(end_text, row_day, zone) if end_text and end_text.strip() else None
            raws.append(_raw(where, needed["queue"] or "", start, end, needed["contacts"],
                             needed["aht"], pick(row, "acw"), pick(row, "required"),
                             pick(row, "scheduled")))
        except ValueError as exc:
            errors.append(f"{where}: {exc}")
    return raws, errors, "CSV with header"


def _best_queue_column(candidates: list[int], rows: list[list[str]],
                       known: Iterable[str]) -> int:
    """The queue column whose values match the most configured queues (an IEX export
    has a CT id and a CT name: whichever the console knows its queues by)."""
    if len(candidates) == 1:
        return candidates[0]
    names = {k.lower() for k in known}
    best, hits = candidates[0], -1
    for i in candidates:
        n = sum(1 for r in rows[:500] if i < len(r) and r[i].strip().lower() in names)
        if n > hits:
            best, hits = i, n
    return best


def _read_json(text: str, day: date | None, zone: tzinfo,
               interval_minutes: int) -> tuple[list[_Raw], list[str], str]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ForecastError(f"line {exc.lineno}: not JSON ({exc.msg})") from None
    if isinstance(data, dict):
        declared = data.get("interval_minutes")
        if declared is not None and declared != interval_minutes:
            raise ForecastError(f"the file's intervals are {clean(str(declared), 10)} min; "
                                f"the centre's are {interval_minutes} "
                                "([console] interval_minutes)")
        data = data.get("rows", data.get("intervals"))
    if not isinstance(data, list):
        raise ForecastError('expected a list of intervals or {"rows": [...]}')
    raws: list[_Raw] = []
    errors: list[str] = []
    for n, item in enumerate(data, 1):
        where = f"entry {n}"
        try:
            if not isinstance(item, dict):
                raise ValueError("not an object")
            keyed = {header_key(str(k)): v for k, v in item.items()}
            cols = _columns(list(keyed))
            names = list(keyed)

            def get(fld: str, cols: dict[str, list[int]] = cols,
                    names: list[str] = names, keyed: dict[str, object] = keyed) -> object:
                i = cols.get(fld, [None])[0]
                return None if i is None else keyed[names[i]]

            absent = [f for f in _NEEDED if get(f) in (None, "")]
            if absent:
                raise ValueError(f"missing {', '.join(absent)}")
            row_day = day
            if isinstance(d := get("date"), str) and d.strip():
                row_day = parse_day(d)
            start_v, end_v, queue_v = get("start"), get("end"), get("queue")
            if not isinstance(start_v, str) or not isinstance(queue_v, str | int):
                raise ValueError("queue and start must be text")
            end = parse_when(end_v, row_day, zone) if isinstance(end_v, str) and end_v else None
            raws.append(_raw(where, str(queue_v), parse_when(start_v, row_day, zone), end,
                             get("contacts"), get("aht"), get("acw"), get("required"),
                             get("scheduled")))
        except ValueError as exc:
            errors.append(f"{where}: {exc}")
    return raws, errors, "JSON"


def parse(text: str, *, zone: tzinfo, interval_minutes: int,
          known_queues: Iterable[str] = (), day: date | None = None,
          json_form: bool | None = None,
          aliases: Mapping[str, str] | None = None) -> ForecastParse:
    """Read a forecast file (CSV or JSON: ``json_form``, or guessed from its first
    character) and check it against the centre: its ``zone``, its ``interval_minutes``
    and its ``known_queues`` (empty: every queue is taken as written; ``aliases`` maps
    other names, such as queue names, to those ids). ``day``: the date
    of rows that give only a time of day, and the only day kept when given."""
    known = list(known_queues)
    by_lower = {k.lower(): v for k, v in (aliases or {}).items()}
    by_lower.update({k.lower(): k for k in known})
    known += list((aliases or {}).keys())
    if json_form is None:
        json_form = text.lstrip("\ufeff \t\r\n")[:1] in ("[", "{")
    raws, errors, layout = (_read_json(text, day, zone, interval_minutes) if json_form
                            else _read_csv(text, day, zone, known))
    rows: list[ForecastRow] = []
    unknown: dict[str, None] = {}
    seen: dict[tuple[str, datetime], str] = {}
    last: dict[str, tuple[datetime, str]] = {}
    other_days = 0
    step = timedelta(minutes=interval_minutes)
    for raw in sorted(raws, key=lambda r: (r.queue, r.start)):
        try:
            local = raw.start.astimezone(zone)
            if day is not None and local.date() != day:
                other_days += 1
                continue
            if (local.hour * 60 + local.minute) % interval_minutes or local.second:
                raise ValueError(f"starts at {local:%H:%M}, not on one of the centre's "
                                 f"{interval_minutes}-min intervals")
            if raw.end is not None and raw.end - raw.start != step:
                length = (raw.end - raw.start).total_seconds() / 60
                raise ValueError(f"a {length:g}-min interval; the centre's are "
                                 f"{interval_minutes} min ([console] interval_minutes)")
            queue = raw.queue if not known else by_lower.get(raw.queue.lower())
            if queue is None:
                unknown[raw.queue] = None
                continue
            key = (queue, raw.start)
            if key in seen:
                raise ValueError(f"{queue} at {local:%H:%M} again (first at {seen[key]})")
            prev = last.get(queue)
            if prev is not None and raw.start - prev[0] < step:
                gap = (raw.start - prev[0]).total_seconds() / 60
                raise ValueError(f"{gap:g} min after {prev[1]} ({queue}); the centre's "
                                 f"intervals are {interval_minutes} min")
            seen[key] = last_where = raw.where
            last[queue] = (raw.start, last_where)
            rows.append(ForecastRow(queue, raw.start, interval_minutes, raw.contacts,
                                    raw.aht_s, raw.required, raw.scheduled))
        except ValueError as exc:
            errors.append(f"{raw.where}: {exc}")
    errors.sort(key=_error_order)
    rows.sort(key=lambda r: (r.start, r.queue_id))
    return ForecastParse(tuple(rows), tuple(errors), tuple(sorted(unknown)), layout,
                         other_days)


def _error_order(message: str) -> tuple[int, str]:
    head = message.split(":", 1)[0].split()
    return (int(head[1]) if len(head) == 2 and head[1].isdigit() else 0, message)


# -- required agents, interval service level, projection ------------------------------


def required_agents(contacts: float, aht_s: float, minutes: int, target: float,
                    threshold_s: float, *, deferred: bool,
                    max_occupancy: float = DEFAULT_MAX_OCCUPANCY) -> int:
    """Agents an interval needs (module docstring: Erlang C, or workload when
    ``deferred``). Raises ValueError for inputs no centre has (negative, not finite)."""
    if contacts <= 0:
        return 0
    interval_s = minutes * 60.0
    if deferred:
        workload = contacts * aht_s / interval_s / max_occupancy
        return math.ceil(workload - 1e-9)
    return erlang.staffing(contacts, interval_s, aht_s, min(target, 0.999), threshold_s,
                           max_occupancy).agents


def interval_sl(contacts: float, aht_s: float, minutes: int, agents: float,
                threshold_s: float, *, deferred: bool) -> float:
    """The service level ``agents`` can give an interval's forecast (module docstring)."""
    if contacts <= 0:
        return 1.0
    interval_s = minutes * 60.0
    if deferred:
        return max(0.0, min(1.0, agents * interval_s / (contacts * aht_s)))
    whole = math.floor(agents + 1e-9)
    return erlang.service_level(contacts * aht_s / interval_s, whole, aht_s, threshold_s)


@dataclass(frozen=True)
class Remaining:
    """An interval still to come (or the part of the one under way still to come)."""

    contacts: float
    aht_s: float
    minutes: int
    agents: float
    basis: str  # "scheduled" or "logged in"


@dataclass(frozen=True)
class Projection:
    service_level: float | None  # projected for the whole day; None: nothing to count
    so_far: float | None  # what has happened (None: nothing counted yet)
    within_so_far: float
    counted_so_far: float
    remaining_contacts: float
    remaining_within: float  # Σ C_i · SL_i
    bases: tuple[str, ...] = field(default=())  # the staffing each interval used

    def basis(self) -> str:
        kinds = sorted(set(self.bases))
        return " and ".join(kinds) if kinds else "none"


def projected_sl(within_so_far: float, counted_so_far: float,
                 remaining: Sequence[Remaining], threshold_s: float, *,
                 deferred: bool) -> Projection:
    """The day's service level if the rest of it runs as forecast (module docstring)."""
    within = sum(r.contacts * interval_sl(r.contacts, r.aht_s, r.minutes, r.agents,
                                          threshold_s, deferred=deferred)
                 for r in remaining)
    contacts = sum(r.contacts for r in remaining)
    total = counted_so_far + contacts
    return Projection(
        service_level=None if total <= 0 else min(1.0, (within_so_far + within) / total),
        so_far=None if counted_so_far <= 0 else within_so_far / counted_so_far,
        within_so_far=within_so_far, counted_so_far=counted_so_far,
        remaining_contacts=contacts, remaining_within=within,
        bases=tuple(r.basis for r in remaining if r.contacts > 0))


def remaining_intervals(rows: Sequence[ForecastRow], now: datetime,
                        scheduled: Mapping[datetime, float] | None,
                        logged_in: float | None) -> list[Remaining]:
    """One queue's forecast intervals still to come at ``now`` (the one under way
    pro-rated to its part still to come), each staffed by its scheduled agents (the
    ``scheduled`` mapping by interval start, else the file's scheduled column), else the
    agents logged in now; intervals with neither are left out."""
    out: list[Remaining] = []
    for r in rows:
        if r.end <= now:
            continue
        share = 1.0 if r.start >= now else (r.end - now) / (r.end - r.start)
        agents: float | None = None
        basis = "scheduled"
        if scheduled is not None and r.start in scheduled:
            agents = scheduled[r.start]
        elif r.scheduled is not None:
            agents = r.scheduled
        elif logged_in is not None:
            agents, basis = logged_in, "logged in"
        if agents is None:
            continue
        out.append(Remaining(r.contacts * share, r.aht_s, r.minutes, agents, basis))
    return out


def variance(actual: float, forecast: float) -> float | None:
    """(actual − forecast) / forecast; None when nothing was forecast."""
    return None if forecast <= 0 else (actual - forecast) / forecast


def weighted_aht(rows: Iterable[ForecastRow]) -> float | None:
    """Forecast AHT over several intervals: handle time / contacts."""
    rows = list(rows)
    contacts = sum(r.contacts for r in rows)
    return None if contacts <= 0 else sum(r.contacts * r.aht_s for r in rows) / contacts


@dataclass(frozen=True)
class ForecastNeed:
    """"Need" from the forecast of the interval under way (the board's is from live rates)."""

    needed: int
    row: ForecastRow
    method: str  # "Erlang C" or "workload"


class ForecastDay:
    """One day's forecast rows by queue and interval start, as the console holds them."""

    def __init__(self, rows: Iterable[ForecastRow]) -> None:
        self.by_queue: dict[str, dict[datetime, ForecastRow]] = {}
        for r in rows:
            self.by_queue.setdefault(r.queue_id, {})[r.start] = r
        self._needs: dict[tuple[str, datetime, float, float, bool, float], int] = {}

    def __bool__(self) -> bool:
        return bool(self.by_queue)

    def rows(self, queue_id: str) -> list[ForecastRow]:
        return sorted(self.by_queue.get(queue_id, {}).values(), key=lambda r: r.start)

    def at(self, queue_id: str, start: datetime) -> ForecastRow | None:
        return self.by_queue.get(queue_id, {}).get(start)

    def need(self, queue_id: str, start: datetime, target: float, threshold_s: float, *,
             deferred: bool, max_occupancy: float | None) -> ForecastNeed | None:
        """Agents the forecast of the interval starting at ``start`` needs (cached: the
        same for every poll of the interval)."""
        row = self.at(queue_id, start)
        if row is None:
            return None
        needed = self.required(row, target, threshold_s, deferred=deferred,
                               max_occupancy=max_occupancy)
        if needed is None:
            return None
        return ForecastNeed(needed, row, "workload" if deferred else "Erlang C")

    def required(self, row: ForecastRow, target: float, threshold_s: float, *,
                 deferred: bool, max_occupancy: float | None) -> int | None:
        """``required_agents`` for one of this day's rows, kept: an interval's answer does
        not change while its forecast and the queue's target do not (None: inputs no
        centre has)."""
        occ = max_occupancy if max_occupancy is not None else 1.0
        key = (row.queue_id, row.start, target, threshold_s, deferred, occ)
        if key not in self._needs:
            try:
                self._needs[key] = required_agents(row.contacts, row.aht_s, row.minutes,
                                                   target, threshold_s, deferred=deferred,
                                                   max_occupancy=occ)
            except (ValueError, OverflowError):
                return None
        return self._needs[key]


# -- one queue's day: forecast beside the stored intervals (CLI, report) ---------------


@dataclass(frozen=True)
class QueueOutlook:
    """One queue's day: forecast vs actual over the intervals stored so far, and the
    projection for the whole day (``forecast show``, the end-of-day report)."""

    queue_id: str
    forecast_day: float  # contacts forecast for the whole day
    forecast_so_far: float  # ... for the intervals with stored actuals
    offered_so_far: int  # offered in those intervals
    forecast_aht_s: float | None  # over those intervals
    actual_aht_s: float | None  # handle time / handled over those intervals
    required_peak: int | None  # the most agents any interval of the day requires
    projection: Projection | None  # None: no target known (no stored interval)

    @property
    def volume_variance(self) -> float | None:
        return variance(self.offered_so_far, self.forecast_so_far)

    @property
    def aht_variance(self) -> float | None:
        if self.actual_aht_s is None or self.forecast_aht_s is None:
            return None
        return variance(self.actual_aht_s, self.forecast_aht_s)


def outlook(queue_id: str, rows: Sequence[ForecastRow], closed: Sequence[Mapping[str, Any]],
            now: datetime, formula: SLFormula, *,
            scheduled: Mapping[datetime, float] | None = None,
            logged_in: float | None = None,
            max_occupancy: float = DEFAULT_MAX_OCCUPANCY) -> QueueOutlook:
    """``rows``: the queue's forecast for the day; ``closed``: its stored intervals
    (``store.rows.IntervalRow``) so far. Target, threshold and channel come from the
    latest stored interval; the rest of the day is staffed as ``remaining_intervals``
    says (``logged_in`` defaults to the agents staffed at the last stored interval's
    close)."""
    by_start = {datetime.fromisoformat(c["interval_start"]): c for c in closed}
    seen = [r for r in rows if r.start in by_start]
    offered = sum(int(by_start[r.start]["offered"] or 0) for r in seen)
    handled = sum(int(by_start[r.start]["handled"] or 0) for r in seen)
    handle_s = sum(float(by_start[r.start]["handle_s"] or 0) for r in seen)
    projection: Projection | None = None
    required_peak: int | None = None
    if closed:
        last = max(closed, key=lambda c: c["interval_start"])
        deferred = str(last["channel"]) in DEFERRED_CHANNELS
        target, threshold = float(last["sl_target"]), float(last["threshold_s"])
        within = sum(int(c["answered_within_threshold"] or 0) for c in closed)
        counted = sum(sl_denominator(c, formula) for c in closed)
        if logged_in is None and last.get("agents_staffed_at_close") is not None:
            logged_in = float(last["agents_staffed_at_close"])
        # "Still to come" starts where the stored intervals end (a console that is not
        # running leaves no open interval to count twice).
        end = max(datetime.fromisoformat(c["interval_start"]) for c in closed)
        after = max(now, end + timedelta(minutes=int(last["interval_minutes"])))
        left = remaining_intervals(rows, after, scheduled, logged_in)
        projection = projected_sl(within, counted, left, threshold, deferred=deferred)
        needs = [required_agents(r.contacts, r.aht_s, r.minutes, target, threshold,
                                 deferred=deferred, max_occupancy=max_occupancy)
                 for r in rows]
        required_peak = max(needs, default=None)
    return QueueOutlook(
        queue_id=queue_id, forecast_day=sum(r.contacts for r in rows),
        forecast_so_far=sum(r.contacts for r in seen), offered_so_far=offered,
        forecast_aht_s=weighted_aht(seen), actual_aht_s=handle_s / handled if handled else None,
        required_peak=required_peak, projection=projection)


def scheduled_agents(agents: Iterable[Agent],
                     entries_for: Callable[[Agent], Sequence[ScheduleEntry]],
                     queue_id: str, starts: Iterable[datetime],
                     minutes: int) -> dict[datetime, float]:
    """Agents the imported schedule has on duty for ``queue_id`` in each interval: every
    agent with the queue among their skills counts the share of the interval their
    on-duty entries cover (a multi-skilled agent counts in each of their queues, as a
    WFM tool's scheduled count per skill does). Intervals nobody is scheduled in are 0."""
    spans: list[tuple[datetime, datetime]] = []
    for agent in agents:
        if queue_id not in agent.skills:
            continue
        spans.extend((e.start, e.end) for e in entries_for(agent)
                     if e.expected is Expected.ON_DUTY)
    out: dict[datetime, float] = {}
    length = timedelta(minutes=minutes)
    for start in starts:
        end = start + length
        covered = sum(max(0.0, (min(e, end) - max(s, start)).total_seconds())
                      for s, e in spans)
        out[start] = covered / length.total_seconds()
    return out


# -- a view of the board (one queue, or a channel group's queues) ----------------------


@dataclass(frozen=True)
class SlotForecast:
    """One interval of a view's forecast: summed over its queues."""

    contacts: float
    aht_s: float | None  # handle time / contacts
    required: int | None  # agents required (None: could not be computed)
    scheduled: float | None  # agents scheduled (schedule, else the file; None: neither)


def view_forecast(day: ForecastDay, queues: Sequence[QueueRow], minutes: int,
                  scheduled: Mapping[str, Mapping[datetime, float]] | None = None
                  ) -> dict[datetime, SlotForecast]:
    """Each forecast interval of ``queues`` summed: contacts, AHT weighted by contacts,
    required agents per queue (its own target, threshold, channel and the board's
    occupancy cap) added up, scheduled agents from ``scheduled`` (per queue id and
    interval start, from the imported schedule) else the file's column."""
    acc: dict[datetime, list[float | None]] = {}
    for row in queues:
        q = row.queue
        deferred = CHANNEL_GROUP[q.channel] == DEFERRED
        sched = (scheduled or {}).get(q.id)
        for r in day.rows(q.id):
            need = day.required(r, q.sl_target, q.threshold_s, deferred=deferred,
                                max_occupancy=row.max_occupancy)
            req: float | None = None if need is None else float(need)
            sch = sched.get(r.start) if sched is not None else r.scheduled
            slot = acc.setdefault(r.start, [0.0, 0.0, 0.0, 0.0])
            slot[0] = (slot[0] or 0.0) + r.contacts
            slot[1] = (slot[1] or 0.0) + r.contacts * r.aht_s
            slot[2] = None if req is None or slot[2] is None else slot[2] + req
            slot[3] = None if sch is None or slot[3] is None else slot[3] + sch
    return {start: SlotForecast(c or 0.0, (h or 0.0) / c if c else None,
                                None if req is None else int(req), sch)
            for start, (c, h, req, sch) in sorted(acc.items())}


def board_projection(day: ForecastDay, row: QueueRow, now: datetime,
                     scheduled: Mapping[datetime, float] | None) -> Projection | None:
    """One queue's projected day SL from the board: so far = the board's day counters
    (closed intervals and the one under way so far), the rest from the forecast staffed
    by ``scheduled`` (the imported schedule), else the file's scheduled column, else the
    queue's effective agents now. None: no forecast for the queue."""
    rows = day.rows(row.queue.id)
    if not rows:
        return None
    q = row.queue
    so_far = row.day
    left = remaining_intervals(rows, now, scheduled, row.effective_agents)
    return projected_sl(so_far.stats.answered_within_threshold, so_far.sl_n, left,
                        q.threshold_s, deferred=CHANNEL_GROUP[q.channel] == DEFERRED)
