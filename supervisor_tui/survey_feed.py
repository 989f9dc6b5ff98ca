"""Today's survey responses and first-contact resolution for one console (glue).

``SurveyKeeper`` reads the day's responses from the shared store (the collector's
webhook and ``surveys import`` write them) at most every ``[surveys] refresh_s`` and
only when the day's rows changed, follows every snapshot's identified contacts for FCR
(``domain.surveys.ContactLog``), and turns low scores from VIP customers into
escalations for the desk. No Textual: screens read it through ``ui.view.SurveyView``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta, tzinfo

from supervisor_tui.config.surveys import SurveysConfig
from supervisor_tui.domain.escalation import Escalation, EscalationKind, Severity, SubjectType
from supervisor_tui.domain.model import Snapshot
from supervisor_tui.domain.surveys import (
    ContactLog,
    Fcr,
    SurveyFigures,
    SurveyResponse,
    low_vip_scores,
)
from supervisor_tui.domain.text import clean
from supervisor_tui.store import Store, StoreError
from supervisor_tui.store.surveys import read_surveys, surveys_version

_EMPTY = SurveyFigures.of([], None)


class SurveyKeeper:
    def __init__(self, config: SurveysConfig, store: Store | None, zone: tzinfo,
                 monotonic: Callable[[], float]) -> None:
        self.config = config
        self.store = store
        self.zone = zone
        self.monotonic = monotonic
        self.log = ContactLog()
        self.responses: Sequence[SurveyResponse] = ()
        self.figures: SurveyFigures = _EMPTY
        self._fcr: Fcr | None = Fcr()  # None: to work out at its next read, at _fcr_at
        self._fcr_at: datetime | None = None
        #: why the store could not be read (said on screen), None when fine
        self.problem: str | None = None
        self._day: str | None = None
        self._version: tuple[int, str] | None = None
        self._read_at: float | None = None
        self._low: list[SurveyResponse] = []
        self._by_key: dict[str, SurveyResponse] = {}
        self._figured: Sequence[SurveyResponse] | None = None  # responses figured from
        self._figured_at = 0.0

    def poll(self, snapshot: Snapshot) -> None:
        """Follow one snapshot; re-read the store when due (cheap when nothing changed)."""
        self.log.observe(snapshot)
        day = snapshot.day_start.astimezone(self.zone).date().isoformat()
        now_mono = self.monotonic()
        due = (self._read_at is None or day != self._day
               or now_mono - self._read_at >= self.config.refresh_s)
        if not due:
            return
        self._read_at = now_mono
        if self.store is not None:
            try:
                version = surveys_version(self.store, day)
                if day != self._day:
                    self._by_key = {}
                    self._version = None
                if version != self._version:
                    self._read_new(self.store, day, version)
                self.problem = None
            except StoreError as err:
                self.problem = clean(err, 160)  # keep the last figures, say why
        self._day = day
        self._fcr, self._fcr_at = None, snapshot.taken_at  # (read by the dashboard's tile)
        # Figures again when responses came in, else once a minute: teams and agents are
        # resolved against the current snapshot's agents, which move slowly.
        if self.responses is not self._figured or now_mono - self._figured_at >= 60:
            self._figured, self._figured_at = self.responses, now_mono
            self.figures = SurveyFigures.of(self.responses, snapshot)
            cfg = self.config
            self._low = low_vip_scores(self.responses, [t.value for t in cfg.vip_tiers],
                                       cfg.vip_csat_max, cfg.vip_nps_max)

    @property
    def fcr(self) -> Fcr:
        """First-contact resolution as of the last refresh (worked out when first read:
        a screen that does not show it does not wait for it)."""
        if self._fcr is None:
            assert self._fcr_at is not None
            self._fcr = self.log.fcr(timedelta(hours=self.config.fcr_window_h), self._fcr_at)
        return self._fcr

    def catch_up(self) -> None:
        """After the paint: the contacts of the polls taken, recorded."""
        self.log.catch_up()

    def _read_new(self, store: Store, day: str, version: tuple[int, str]) -> None:
        """Only what was stored (or completed) since the last read, and a minute before
        it: another writer's clock, or a write begun before the last read and committed
        after it, may stamp a row a little earlier. Merged by key, so overlap is free."""
        since = None
        if self._version is not None and self._version[1]:
            mark = datetime.fromisoformat(self._version[1]) - timedelta(seconds=60)
            since = mark.isoformat()
        for r in read_surveys(store, day, since):
            self._by_key[r.key] = r
        self.responses = sorted(self._by_key.values(), key=lambda r: (r.answered_at, r.key))
        self._version = version

    def escalations(self, previous: Mapping[str, Escalation]) -> list[Escalation]:
        """One warning per low VIP response today (id ``survey-low:<tool>:<response
        id>``: a response is one item however often it is delivered); the same object
        while nothing changed."""
        out: list[Escalation] = []
        for r in self._low:
            eid = f"survey-low:{r.key}"
            p = previous.get(eid)
            if p is not None and p.last_seen is None:
                out.append(p)
                continue
            out.append(low_score_escalation(r, eid))
        return out


def low_score_escalation(r: SurveyResponse, eid: str) -> Escalation:
    scores = ", ".join(s for s in (f"CSAT {r.csat}/5" if r.csat is not None else "",
                                   f"NPS {r.nps}/10" if r.nps is not None else "") if s)
    who = r.customer or "a customer"
    where = ", ".join(s for s in (f"queue {r.queue}" if r.queue else "",
                                  f"agent {r.agent}" if r.agent else "",
                                  f"contact {r.contact_id}" if r.contact_id else "") if s)
    tier = r.tier.value.upper() if r.tier is not None else ""
    reason = f"{tier} low score: {scores} from {who}" + (f" ({where})" if where else "")
    return Escalation(
        id=eid, kind=EscalationKind.VIP_LOW_SCORE, severity=Severity.WARNING,
        reason=clean(reason, 300), subject_type=SubjectType.SURVEY, subject_id=r.key,
        queue_id=r.queue, source=r.tool.value, first_seen=r.answered_at,
        value=float(r.csat if r.csat is not None else r.nps or 0),
        label=clean(f"survey {r.response_id} {who}", 120))


def first_seen_day(when: datetime, zone: tzinfo) -> str:
    return when.astimezone(zone).date().isoformat()
