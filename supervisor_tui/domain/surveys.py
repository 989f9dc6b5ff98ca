"""Survey scores (CSAT, NPS) and first-contact resolution (pure).

Definitions (docs/surveys.md says the same):

- **CSAT** on a 1-5 scale: the share of responses scoring 4 or 5 ("satisfied", the
  usual top-two-box), as a percentage of the responses that answered the CSAT question,
  with the average score beside it. n is that count.
- **NPS** on a 0-10 scale: % promoters (9-10) minus % detractors (0-6) of the responses
  that answered the NPS question, so −100..100. n is that count.
- **FCR** from repeat contacts: a customer's *first contact* is one with no earlier
  contact of the same customer within the window (``fcr_window_h``, 24 h by default);
  it is resolved at first contact when that customer has no further contact, on any
  queue, within the window after it. FCR = resolved first contacts / first contacts.
  A first contact whose window has not yet run out and that has no repeat so far is
  *open*: counted as resolved (nothing says otherwise yet) and counted apart, so the
  figure is an upper bound until the window closes; with a 24-hour window every
  contact of today is open, which the screens say ("n open").

Only contacts whose source names the customer count for FCR; a contact is one contact
id of one source, counted once however many polls or queue moves saw it, at the time
it arrived (a waiting or answered contact's ``entered_at`` when first seen, an abandoned
one's ``abandoned_at - waited_s``).
"""

from __future__ import annotations

from array import array
from bisect import bisect_left, bisect_right, insort
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from functools import cache

from pydantic import BaseModel, ConfigDict, Field

from supervisor_tui.domain.changes import contacts_since
from supervisor_tui.domain.deferred import Deferred
from supervisor_tui.domain.micros import MICROSECOND, micros
from supervisor_tui.domain.model import AbandonedContact, Contact, Name, Snapshot, Tier

CSAT_MIN, CSAT_MAX = 1, 5
NPS_MIN, NPS_MAX = 0, 10
#: a CSAT score counted as satisfied (top two boxes of 1-5)
CSAT_SATISFIED = 4
#: NPS promoters score at least this, detractors at most DETRACTOR_MAX
PROMOTER_MIN, DETRACTOR_MAX = 9, 6


class SurveyTool(StrEnum):
    QUALTRICS = "qualtrics"
    SURVEYMONKEY = "surveymonkey"
    MEDALLIA = "medallia"
    GENERIC = "generic"
    CSV = "csv"


class SurveyResponse(BaseModel):
    """One survey response, cleaned and validated (``domain.survey_shapes`` builds it).

    ``response_id`` is the tool's own id: with ``tool`` it is the idempotency key, so
    a retried webhook or a re-imported file is stored once. A notification that carries
    ids only (SurveyMonkey, a Qualtrics event subscription) has no score: it is kept as
    *pending* and counts in no figure until a scored form of it arrives.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    tool: SurveyTool
    response_id: str = Field(min_length=1, max_length=200)
    answered_at: datetime
    # Display text is cleaned however the response was made (a shape, a stored row).
    contact_id: Name | None = None
    queue: Name | None = None
    agent: Name | None = None
    team: Name | None = None
    customer: Name | None = None
    tier: Tier | None = None
    csat: int | None = Field(None, ge=CSAT_MIN, le=CSAT_MAX)
    nps: int | None = Field(None, ge=NPS_MIN, le=NPS_MAX)
    survey_id: Name | None = None

    @property
    def key(self) -> str:
        return f"{self.tool.value}:{self.response_id}"

    @property
    def pending(self) -> bool:
        return self.csat is None and self.nps is None


@dataclass(frozen=True)
class Scores:
    """CSAT and NPS over a set of responses (counts only: the rates are derived)."""

    csat_n: int = 0
    csat_satisfied: int = 0
    csat_sum: int = 0
    nps_n: int = 0
    promoters: int = 0
    detractors: int = 0

    @property
    def csat_pct(self) -> float | None:
        """% of CSAT answers scoring 4-5; None with no answer."""
        return 100.0 * self.csat_satisfied / self.csat_n if self.csat_n else None

    @property
    def csat_avg(self) -> float | None:
        return self.csat_sum / self.csat_n if self.csat_n else None

    @property
    def nps(self) -> float | None:
        """% promoters − % detractors (−100..100); None with no answer."""
        return 100.0 * (self.promoters - self.detractors) / self.nps_n if self.nps_n else None

    def add(self, r: SurveyResponse) -> Scores:
        c, n = r.csat, r.nps
        return Scores(
            csat_n=self.csat_n + (c is not None),
            csat_satisfied=self.csat_satisfied + (c is not None and c >= CSAT_SATISFIED),
            csat_sum=self.csat_sum + (c or 0),
            nps_n=self.nps_n + (n is not None),
            promoters=self.promoters + (n is not None and n >= PROMOTER_MIN),
            detractors=self.detractors + (n is not None and n <= DETRACTOR_MAX))


def scores(responses: Iterable[SurveyResponse]) -> Scores:
    return scores_by(responses, lambda r: "").get("", Scores())


def scores_by(responses: Iterable[SurveyResponse],
              key: Callable[[SurveyResponse], str | None]) -> dict[str, Scores]:
    """Scores per ``key(response)`` (responses whose key is None are left out). Counted
    in plain lists, frozen once at the end (thousands of responses a refresh)."""
    acc: dict[str, list[int]] = {}
    for r in responses:
        k = key(r)
        if k is None:
            continue
        a = acc.get(k)
        if a is None:
            a = acc[k] = [0, 0, 0, 0, 0, 0]
        c, n = r.csat, r.nps
        if c is not None:
            a[0] += 1
            a[1] += c >= CSAT_SATISFIED
            a[2] += c
        if n is not None:
            a[3] += 1
            a[4] += n >= PROMOTER_MIN
            a[5] += n <= DETRACTOR_MAX
    return {k: Scores(*a) for k, a in acc.items()}


def csat_text(s: Scores | None, *, label: bool = True) -> str:
    """"CSAT 80% (n=5)", or "CSAT —" with no answer: the count always beside the rate."""
    head = "CSAT " if label else ""
    if s is None or not s.csat_n:
        return f"{head}—"
    return f"{head}{s.csat_pct:.0f}% (n={s.csat_n})"


def nps_text(s: Scores | None, *, label: bool = True) -> str:
    head = "NPS " if label else ""
    if s is None or not s.nps_n:
        return f"{head}—"
    return f"{head}{s.nps:+.0f} (n={s.nps_n})"


# -- whose response: agents by id, then by name --------------------------------------

def agent_resolver(snapshot: Snapshot | None) -> Callable[[SurveyResponse], str | None]:
    """Response -> "source:agent id" of the agent it names (by id, else by name, as a
    survey tool may carry either); None when no agent in the snapshot matches."""
    # The maps are made at the first response that names an agent: a day with no
    # responses yet (every console's start) reads none of 50,000 agents (~0.1 s).
    @cache
    def maps() -> tuple[dict[str, str], dict[str, str]]:
        by_id: dict[str, str] = {}
        by_name: dict[str, str] = {}
        for a in snapshot.agents if snapshot is not None else ():
            key = f"{a.source}:{a.id}"
            by_id.setdefault(a.id, key)
            by_name.setdefault(a.name.casefold(), key)
        return by_id, by_name

    def resolve(r: SurveyResponse) -> str | None:
        if not r.agent:
            return None
        by_id, by_name = maps()
        return by_id.get(r.agent) or by_name.get(r.agent.casefold())
    return resolve


def team_resolver(snapshot: Snapshot | None) -> Callable[[SurveyResponse], str | None]:
    """Response -> team: the response's own, else its agent's team in the snapshot."""
    agent_of = agent_resolver(snapshot)

    @cache  # (made when first needed, as agent_resolver's)
    def teams() -> dict[str, str]:
        agents = snapshot.agents if snapshot is not None else ()
        return {f"{a.source}:{a.id}": a.team for a in agents}

    def resolve(r: SurveyResponse) -> str | None:
        if r.team:
            return r.team
        key = agent_of(r)
        return teams().get(key) if key is not None else None
    return resolve


@dataclass(frozen=True)
class SurveyFigures:
    """Today's scores for the centre and per queue, team and agent ("source:id")."""

    centre: Scores
    queues: Mapping[str, Scores]
    teams: Mapping[str, Scores]
    agents: Mapping[str, Scores]
    pending: int  # id-only notifications: no score yet

    @classmethod
    def of(cls, responses: Sequence[SurveyResponse], snapshot: Snapshot | None) -> SurveyFigures:
        scored = [r for r in responses if not r.pending]
        return cls(centre=scores(scored), queues=scores_by(scored, lambda r: r.queue),
                   teams=scores_by(scored, team_resolver(snapshot)),
                   agents=scores_by(scored, agent_resolver(snapshot)),
                   pending=len(responses) - len(scored))


# -- low scores from VIPs ---------------------------------------------------------------

def is_low(r: SurveyResponse, csat_max: int, nps_max: int) -> bool:
    return (r.csat is not None and r.csat <= csat_max) or (r.nps is not None and r.nps <= nps_max)


def low_vip_scores(responses: Iterable[SurveyResponse], tiers: Iterable[str], csat_max: int,
                   nps_max: int) -> list[SurveyResponse]:
    """Responses from a customer of one of ``tiers`` with CSAT <= csat_max or NPS <=
    nps_max, oldest first."""
    wanted = set(tiers)
    return sorted((r for r in responses if r.tier is not None and r.tier.value in wanted
                   and is_low(r, csat_max, nps_max)), key=lambda r: r.answered_at)


# -- first-contact resolution ---------------------------------------------------------

@dataclass(frozen=True, slots=True)  # one per identified contact of the day
class SeenContact:
    customer: str
    arrived: datetime
    queue_id: str


class ContactLog:
    """Each identified customer's contacts seen today, for FCR (one per source:id).

    Fed every snapshot; a contact is recorded once, at its first sight (cost: one set
    lookup per new contact object); a new day starts empty. The FCR counts are kept
    incrementally: a customer's share is taken out and put back when they make a new
    contact, so a day of 100,000 contacts costs what changed, not a sort of the day.

    Memory is what a day of a large centre makes it (a repeat may come at any time
    of the day): per contact its key, per customer their arrival times as integers
    (one int while they have one contact, then an array): ~185 bytes a contact when
    every contact is a new customer, ~135 at five contacts a customer (tracemalloc,
    100,000 contacts); a SeenContact and its datetime per contact held ~450 and ~210."""

    def __init__(self) -> None:
        self.day: datetime | None = None
        self._seen: set[str] = set()  # "source\x1fid" of every contact recorded
        self._times: dict[str, int | array[int]] = {}  # customer -> arrivals (µs), sorted
        self._window: int | None = None  # µs; None until FCR is first asked for
        self._first = self._repeated = 0
        self._unrepeated = array("q")  # sorted: first contacts with no repeat (µs)
        self._last_contacts: tuple[Contact, ...] = ()  # the last snapshot's, as observed
        self._last_abandoned: tuple[AbandonedContact, ...] | None = None
        #: snapshots observed, not yet recorded (``catch_up``)
        self._pending: Deferred[Snapshot] = Deferred(self._observe)

    def _reset(self) -> None:
        self._seen, self._times = set(), {}
        self._first = self._repeated = 0
        self._unrepeated = array("q")

    @property
    def contacts(self) -> int:
        """Identified contacts recorded today."""
        self.catch_up()
        return len(self._seen)

    def add(self, key: tuple[str, str], seen: SeenContact) -> None:
        self.catch_up()
        self._record(f"{key[0]}\x1f{key[1]}", seen.customer, seen.arrived)

    def _record(self, key: str, customer: str, arrived: datetime) -> None:
        if key in self._seen:
            return
        self._seen.add(key)
        at = micros(arrived)
        times = self._times
        old = times.get(customer)
        window = self._window
        if old is None:  # a customer's first contact today (nearly every one at start)
            times[customer] = at
            if window is not None:  # (as _count with one arrival: first, unrepeated)
                self._first += 1
                insort(self._unrepeated, at)
            return
        both = array("q", (old,)) if isinstance(old, int) else old
        if window is not None and at >= both[-1]:
            # The usual case, the customer's newest contact: only the one before it
            # can change (a first contact that now has its repeat), not the whole day.
            prev = both[-1]
            if at - prev > window:
                self._first += 1
                insort(self._unrepeated, at)
            elif len(both) == 1 or prev - both[-2] > window:
                self._repeated += 1
                kept = self._unrepeated
                del kept[bisect_left(kept, prev)]
            both.append(at)
            times[customer] = both
            return
        if window is not None:
            self._count(_arrivals(old), window, -1)
        insort(both, at)
        times[customer] = both
        if window is not None:
            self._count(both, window, 1)

    def _count(self, arrivals: Sequence[int], window: int, sign: int) -> None:
        """Add (``sign`` 1) or take out (-1) one customer's share of the counts."""
        first, repeated, unrepeated = _customer_fcr(arrivals, window)
        self._first += sign * first
        self._repeated += sign * repeated
        kept = self._unrepeated
        for t in unrepeated:
            if sign > 0:
                insort(kept, t)
            else:
                del kept[bisect_left(kept, t)]

    def observe(self, snap: Snapshot) -> None:
        """Take one snapshot's contacts. They are recorded at the first read of the log
        or at ``catch_up`` (the console calls it once the poll is painted: a big
        centre's first snapshot is 35,000 contacts, ~60 ms, and only the dashboard's
        survey tile reads the log), each snapshot in turn: the figures are the same."""
        self._pending.add(snap)

    def catch_up(self) -> None:
        """Record the snapshots observed since the last read."""
        self._pending.catch_up()

    def _observe(self, snap: Snapshot) -> None:
        if self.day != snap.day_start:
            self.day = snap.day_start
            self._reset()
            self._last_contacts, self._last_abandoned = (), None
        seen = self._seen
        # Only the contacts the source says are new since the last snapshot seen here
        # (a contact is recorded at its first sight), else every listed one.
        said = contacts_since(snap, self._last_contacts)
        self._last_contacts = snap.contacts
        for c in snap.contacts if said is None else said[1]:
            if c.customer and (key := f"{c.source}\x1f{c.id}") not in seen:
                self._record(key, c.customer, c.entered_at)
        if snap.abandoned is self._last_abandoned:  # the same tuple: nothing new in it
            return
        self._last_abandoned = snap.abandoned
        for a in snap.abandoned:
            if a.customer and (key := f"{a.source}\x1f{a.id}") not in seen \
                    and a.abandoned_at >= snap.day_start:
                self._record(key, a.customer, a.abandoned_at - timedelta(seconds=a.waited_s))

    def fcr(self, window: timedelta, now: datetime) -> Fcr:
        """``fcr`` of every contact recorded, worked out incrementally."""
        self.catch_up()
        wanted = window // MICROSECOND
        if wanted != self._window:  # (a changed window: every customer again)
            self._window = wanted
            self._first = self._repeated = 0
            self._unrepeated = array("q")
            for times in self._times.values():
                self._count(_arrivals(times), wanted, 1)
        unrepeated = self._unrepeated
        still_open = len(unrepeated) - bisect_right(unrepeated, micros(now) - wanted)
        return Fcr(first=self._first, repeated=self._repeated, open=still_open,
                   contacts=len(self._seen))


def _arrivals(times: int | array[int]) -> Sequence[int]:
    return (times,) if isinstance(times, int) else times


def _customer_fcr(times: Sequence[int], window: int) -> tuple[int, int, list[int]]:
    """(first contacts, of them repeated, the unrepeated ones' times) of one customer's
    sorted arrivals (µs)."""
    first = repeated = 0
    unrepeated: list[int] = []
    for i, t in enumerate(times):
        if i and t - times[i - 1] <= window:
            continue
        first += 1
        if i + 1 < len(times) and times[i + 1] - t <= window:
            repeated += 1
        else:
            unrepeated.append(t)
    return first, repeated, unrepeated


@dataclass(frozen=True)
class Fcr:
    first: int = 0  # first contacts (the denominator)
    repeated: int = 0  # of those, followed by another within the window
    open: int = 0  # no repeat yet, but the window is still running (counted as resolved)
    contacts: int = 0  # identified contacts seen

    @property
    def resolved(self) -> int:
        return self.first - self.repeated

    @property
    def rate(self) -> float | None:
        return 100.0 * self.resolved / self.first if self.first else None


def fcr(contacts: Iterable[SeenContact], window: timedelta, now: datetime) -> Fcr:
    """FCR over ``contacts`` (see the module's definition), as known at ``now``: the
    reference the incremental ``ContactLog.fcr`` is tested against."""
    per_customer: dict[str, list[datetime]] = defaultdict(list)
    n = 0
    for c in contacts:
        per_customer[c.customer].append(c.arrived)
        n += 1
    first = repeated = still_open = 0
    for times in per_customer.values():
        times.sort()
        for i, t in enumerate(times):
            if i and t - times[i - 1] <= window:
                continue  # a repeat of an earlier contact: not a first contact
            first += 1
            if i + 1 < len(times) and times[i + 1] - t <= window:
                repeated += 1
            elif t + window > now:
                still_open += 1
    return Fcr(first=first, repeated=repeated, open=still_open, contacts=n)


def fcr_text(f: Fcr | None) -> str:
    if f is None or not f.first:
        return "FCR —"
    extra = f", {f.open} open" if f.open else ""
    return f"FCR {f.rate:.0f}% (n={f.first}{extra})"
