"""Today's schedule and real-time adherence (pure).

A schedule is a list of entries (agent, start, end, activity) as WFM tools export it.
Each activity maps to what the agent is expected to be doing:

- ``on_duty``: available, on a contact or in after-contact work all adhere;
- ``away``: away (any reason) adheres;
- ``offline``: logged off adheres (``away`` too: a break at the end of a shift is not
  flagged as a breach).

**Adherence** is judged on scheduled time only (gaps and unscheduled agents count
neither way). An agent is *out of adherence* while their state does not match the
expected class; the first ``grace_s`` of each out-of-adherence stretch is forgiven
(a late return from break by less than the grace is in adherence).

**Adherence %** over a window (the console uses the local day so far: midnight to
now) = (scheduled seconds − out-of-adherence seconds after grace) / scheduled seconds.
It is always between 0 and 100 %.
"""

from __future__ import annotations

import csv
import io
import itertools
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo
from enum import StrEnum
from typing import NamedTuple

from supervisor_tui.domain.model import AgentStateKind
from supervisor_tui.domain.text import clean
from supervisor_tui.domain.wallclock import parse_day, parse_when


class Expected(StrEnum):
    ON_DUTY = "on_duty"
    AWAY = "away"
    OFFLINE = "offline"


# Lower-cased activity name -> expected class; `[schedule] activities` overrides these.
DEFAULT_ACTIVITIES: Mapping[str, Expected] = {
    "open": Expected.ON_DUTY, "phone": Expected.ON_DUTY, "available": Expected.ON_DUTY,
    "on duty": Expected.ON_DUTY, "work": Expected.ON_DUTY, "email": Expected.ON_DUTY,
    "chat": Expected.ON_DUTY, "inbound": Expected.ON_DUTY, "outbound": Expected.ON_DUTY,
    "break": Expected.AWAY, "lunch": Expected.AWAY, "meeting": Expected.AWAY,
    "training": Expected.AWAY, "coaching": Expected.AWAY, "team meeting": Expected.AWAY,
    "off": Expected.OFFLINE, "day off": Expected.OFFLINE, "vacation": Expected.OFFLINE,
    "sick": Expected.OFFLINE, "absent": Expected.OFFLINE,
}

#: the states that adhere to each expected class
ADHERING: Mapping[Expected, frozenset[AgentStateKind]] = {
    Expected.ON_DUTY: frozenset(
        {AgentStateKind.AVAILABLE, AgentStateKind.ON_CONTACT, AgentStateKind.AFTER_CONTACT_WORK}
    ),
    Expected.AWAY: frozenset({AgentStateKind.AWAY}),
    Expected.OFFLINE: frozenset({AgentStateKind.OFFLINE, AgentStateKind.AWAY}),
}


def adheres(expected: Expected, kind: AgentStateKind) -> bool:
    return kind in ADHERING[expected]


@dataclass(frozen=True, slots=True)
class ScheduleEntry:
    agent: str  # id or name as the file gives it (cleaned)
    start: datetime  # aware
    end: datetime  # aware, > start
    activity: str  # as the file names it (cleaned)
    expected: Expected


@dataclass(frozen=True, slots=True)
class ParseResult:
    entries: tuple[ScheduleEntry, ...]
    errors: tuple[str, ...]  # "line N: why", one per rejected row


class ScheduleError(ValueError):
    """The file as a whole cannot be read (no usable header, not JSON...)."""


# Header variants, lower-cased and stripped of spaces/underscores, per field.
_HEADERS: Mapping[str, tuple[str, ...]] = {
    "agent": ("agentid", "tvid", "logonid", "agent", "agentname", "employeeid", "employee",
              "employeename", "id", "name", "login", "loginid", "username", "user"),
    "start": ("start", "starttime", "startdatetime", "segmentstart", "from", "begin"),
    "end": ("end", "endtime", "stop", "stoptime", "enddatetime", "segmentend", "to"),
    "activity": ("activity", "activityname", "segment", "segmentcode", "segmentname",
                 "exception", "activitytype", "exccode", "excdesc", "code", "state"),
    "date": ("date", "scheduledate", "excdate", "scheddate", "day"),
}


def header_key(header: str) -> str:
    """A column header as matched against known names: lower case, letters and digits
    only ("Agent ID" -> "agentid"; the forecast import reads headers the same way)."""
    return "".join(c for c in header.lower() if c.isalnum())


def _columns(header: Sequence[str]) -> dict[str, int]:
    normed = [header_key(h) for h in header]
    found: dict[str, int] = {}
    for field, names in _HEADERS.items():
        for name in names:  # in order of preference: "agent id" before "name"
            if name in normed:
                found[field] = normed.index(name)
                break
    return found


_MAX_OVERNIGHT = timedelta(hours=12)  # longer "overnight" spans are typos, said so


def _entry(agent: str, start: str, end: str, activity: str, day: date, zone: tzinfo,
           activities: Mapping[str, Expected]) -> ScheduleEntry:
    agent_c, activity_c = clean(agent, 80).strip(), clean(activity, 80).strip()
    if not agent_c:
        raise ValueError("no agent")
    expected = activities.get(activity_c.lower())
    if expected is None:
        raise ValueError(f"unknown activity {activity_c!r} (map it in [schedule] activities)")
    # Local wall-clock times: a day added below is a calendar day, across DST too.
    s = parse_when(start, day, zone).astimezone(zone)
    e = parse_when(end, day, zone).astimezone(zone)
    if e <= s and len(end.strip()) <= 11 and e + timedelta(days=1) - s <= _MAX_OVERNIGHT:
        e += timedelta(days=1)  # a bare time past midnight (22:00-02:00): the next day
    if e <= s:
        raise ValueError("end is not after start")
    return ScheduleEntry(agent_c, s, e, activity_c, expected)


def parse_csv(text: str, day: date, zone: tzinfo,
              activities: Mapping[str, Expected] = DEFAULT_ACTIVITIES) -> ParseResult:
    """Rows of agent, start, end, activity (header names as NICE IEX, Verint, Calabrio
    exports spell them; comma, semicolon, tab or pipe separated)."""
    text = text.lstrip("\ufeff")
    if text.lower().startswith("#fields"):  # IEX exports key their header line so
        text = text[7:].lstrip(": \t")
    lines = text.splitlines()
    if not lines:
        raise ScheduleError("empty file")
    try:
        dialect: type[csv.Dialect] | csv.Dialect = csv.Sniffer().sniff(lines[0], ",;\t|")
    except csv.Error:
        dialect = csv.excel
    rows = csv.reader(io.StringIO(text), dialect)
    header = next(rows)
    cols = _columns(header)
    missing = [f for f in ("agent", "start", "end", "activity") if f not in cols]
    if missing:
        raise ScheduleError(f"line 1: no column for {', '.join(missing)} "
                            f"(header: {clean(', '.join(header), 120)})")
    entries: list[ScheduleEntry] = []
    errors: list[str] = []
    for row in rows:
        line = rows.line_num
        if not any(cell.strip() for cell in row):
            continue
        try:
            def cell(field: str, row: list[str] = row) -> str:
                i = cols[field]
                if i >= len(row):
                    raise ValueError(f"missing {field}")
                return row[i]
            row_day = day
            if "date" in cols and cols["date"] < len(row) and row[cols["date"]].strip():
                row_day = parse_day(row[cols["date"]])
            entries.append(_entry(cell("agent"), cell("start"), cell("end"),
                                  cell("activity"), row_day, zone, activities))
        except ValueError as exc:
            errors.append(f"line {line}: {exc}")
    return ParseResult(tuple(entries), tuple(errors))


def parse_json(text: str, day: date, zone: tzinfo,
               activities: Mapping[str, Expected] = DEFAULT_ACTIVITIES) -> ParseResult:
    """``[{"agent", "start", "end", "activity"}, ...]`` or ``{"entries": [...]}``."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ScheduleError(f"line {exc.lineno}: not JSON ({exc.msg})") from None
    if isinstance(data, dict):
        data = data.get("entries")
    if not isinstance(data, list):
        raise ScheduleError('expected a list of entries or {"entries": [...]}')
    entries: list[ScheduleEntry] = []
    errors: list[str] = []
    for n, item in enumerate(data, 1):
        try:
            if not isinstance(item, dict):
                raise ValueError("not an object")
            vals = []
            for field in ("agent", "start", "end", "activity"):
                v = item.get(field)
                if not isinstance(v, str):
                    raise ValueError(f"{field} missing or not text")
                vals.append(v)
            entries.append(_entry(vals[0], vals[1], vals[2], vals[3], day, zone, activities))
        except ValueError as exc:
            errors.append(f"entry {n}: {exc}")
    return ParseResult(tuple(entries), tuple(errors))


def activities_from_config(raw: Mapping[str, str]) -> dict[str, Expected]:
    """Defaults overlaid with `[schedule] activities`; an unknown class is a ValueError."""
    out = dict(DEFAULT_ACTIVITIES)
    for name, cls in raw.items():
        try:
            out[name.strip().lower()] = Expected(cls)
        except ValueError:
            raise ValueError(f"[schedule] activities: {name!r} = {cls!r}: expected one of "
                             f"{', '.join(e.value for e in Expected)}") from None
    return out


def match_agents(entries: Iterable[ScheduleEntry], ids: Mapping[str, str],
                 names: Mapping[str, str]) -> tuple[dict[str, list[ScheduleEntry]], list[str]]:
    """Entries per agent key, matched by id, else by name (case-insensitive); and the
    schedule's agent labels that matched nobody."""
    lowered = {n.lower(): k for n, k in names.items()}
    out: dict[str, list[ScheduleEntry]] = {}
    unmatched: list[str] = []
    for e in entries:
        key = ids.get(e.agent) or lowered.get(e.agent.lower())
        if key is None:
            if e.agent not in unmatched:
                unmatched.append(e.agent)
            continue
        out.setdefault(key, []).append(e)
    for v in out.values():
        v.sort(key=lambda e: e.start)
    return out, unmatched


class Adherence(NamedTuple):
    """One agent's adherence over a window (a tuple: built for 10,000 agents a poll)."""

    scheduled_s: float  # scheduled seconds in the window
    out_s: float  # out-of-adherence seconds after grace, in the window
    expected: Expected | None  # now; None: not scheduled now
    activity: str | None
    in_adherence: bool | None  # now; None: not scheduled now
    out_since: datetime | None  # start of the current out stretch (grace not deducted)

    @property
    def adhering_s(self) -> float:
        return self.scheduled_s - self.out_s


def advance(entries: Sequence[ScheduleEntry],
            states: Sequence[tuple[datetime, AgentStateKind]],
            start: datetime, end: datetime, grace_s: float,
            run_start: datetime | None = None) -> tuple[float, float, datetime | None]:
    """Judge [start, end]: (scheduled seconds, out-of-adherence seconds after grace, the
    start of the out stretch still open at ``end`` or None).

    ``run_start`` carries an out stretch open at ``start`` (a judgement continued poll
    after poll), so the grace is forgiven once per stretch, not once per call. See
    ``adherence`` for ``entries`` and ``states``."""
    cuts = {start, end}
    for e in entries:
        cuts.update(t for t in (e.start, e.end) if start < t < end)
    for since, _ in states:
        if start < since < end:
            cuts.add(since)
    points = sorted(cuts)
    scheduled = out = 0.0
    ei = si = 0
    for a, b in itertools.pairwise(points):
        cur_exp: ScheduleEntry | None = None
        for e in entries[ei:]:
            if e.start > a:
                break
            if a < e.end:
                cur_exp = e
        while ei < len(entries) and entries[ei].end <= a:
            ei += 1
        while si + 1 < len(states) and states[si + 1][0] <= a:
            si += 1
        kind = states[si][1] if states and states[si][0] <= a else None
        if cur_exp is None or kind is None:
            run_start = None  # unscheduled or unobserved: the stretch ends
            continue
        scheduled += (b - a).total_seconds()
        if adheres(cur_exp.expected, kind):
            run_start = None
            continue
        if run_start is None:
            run_start = a
        grace_end = run_start + timedelta(seconds=grace_s)
        counted_from = max(a, grace_end)
        if counted_from < b:
            out += (b - counted_from).total_seconds()
    return scheduled, out, run_start


def adherence(entries: Sequence[ScheduleEntry],
              states: Sequence[tuple[datetime, AgentStateKind]],
              start: datetime, now: datetime, grace_s: float) -> Adherence:
    """Adherence of one agent over [start, now].

    ``entries``: this agent's schedule, sorted, not overlapping (a later entry wins
    where they do). ``states``: (since, kind) observed, sorted; before the first one the
    agent's state is unknown and that time is not judged (nor counted as scheduled).
    """
    scheduled, out, run_start = advance(entries, states, start, now, grace_s)
    kind_now = states[-1][1] if states and states[-1][0] <= now else None
    now_entry = next((e for e in reversed(entries) if e.start <= now < e.end), None)
    if now_entry is None or kind_now is None:
        return Adherence(scheduled, out, None if now_entry is None else now_entry.expected,
                         None if now_entry is None else now_entry.activity, None, None)
    ok = adheres(now_entry.expected, kind_now)
    grace_over = run_start is not None and (now - run_start).total_seconds() > grace_s
    return Adherence(scheduled, out, now_entry.expected, now_entry.activity,
                     ok or not grace_over, None if ok else run_start)


def percent(items: Iterable[Adherence]) -> float | None:
    """Group adherence %: summed adhering seconds over summed scheduled seconds."""
    sched = adh = 0.0
    for a in items:
        sched += a.scheduled_s
        adh += a.adhering_s
    return None if sched <= 0 else 100.0 * adh / sched
