"""The end-of-day report's sections fed by other parts of the product (pure): vendors
against their contracts, CSAT / NPS, forecast vs actual, schedule adherence. Each takes
what ``supervisor_tui.report.sections`` read from the store and returns a
``domain.report.Section``: display rows and tidy rows, or a note saying what is missing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from supervisor_tui.domain.board import SLStatus, sl_status
from supervisor_tui.domain.fmt import DASH, duration, pct, threshold
from supervisor_tui.domain.forecast import QueueOutlook
from supervisor_tui.domain.report import Section, Window, scope
from supervisor_tui.domain.surveys import Scores, SurveyResponse, scores, scores_by
from supervisor_tui.domain.vendors import VendorRule

Tidy = tuple[str, str, str, float | None, str, float | None, int]


def _signed(value: float | None) -> str:
    return DASH if value is None else f"{value * 100:+.1f}%"


# -- vendors -------------------------------------------------------------------------


def vendors(rows: Sequence[Mapping[str, Any]], rules: Sequence[VendorRule],
            window: Window,
            adherence: Mapping[str, tuple[float, float, int]] | None = None) -> Section:
    """Each configured vendor's queues ([vendors.X] queues) over the day against its
    contract: SL by the contract's formula (each queue at its own threshold: a queue
    counted at another threshold than the contract's is named), AHT and abandon against
    the contract's maxima, adherence (``adherence``: vendor key -> scheduled and out
    seconds, agents) against its minimum. Sites a source reports are not in the stored
    intervals, so a vendor known only from them has no row here (the live vendors
    screen shows them)."""
    title = "Vendors / sites"
    mapped = [r for r in rules if r.queues]
    if not mapped:
        return Section("vendors", title, False,
                       "no vendor with queues configured ([vendors.NAME] queues)")
    by_queue: dict[str, list[Mapping[str, Any]]] = {}
    for row in rows:
        by_queue.setdefault(str(row["queue_id"]), []).append(row)
    table: list[tuple[str, ...]] = []
    tidy: list[Tidy] = []
    for rule in mapped:
        mine = [r for q in sorted(rule.queues) for r in by_queue.get(q, [])]
        contract = rule.contract
        formula = contract.sl_formula if contract else None
        if not mine or formula is None:
            table.append((rule.name, ", ".join(sorted(rule.queues)), DASH, DASH, DASH,
                           DASH, pct(contract.sl_target, 1) if contract else DASH, "0",
                           DASH, DASH, DASH, DASH, DASH, DASH, DASH,
                           "no stored interval for its queues"))
            continue
        sched, out_s, agents = (adherence or {}).get(rule.key, (0.0, 0.0, 0))
        adh = (sched - min(out_s, sched)) / sched if sched > 0 else None
        s = scope("vendor", rule.name, mine, window, formula)
        sl, aht, abandon = s.kpi("service_level"), s.kpi("aht_s"), s.kpi("abandon_rate")
        target = contract.sl_target if contract else sl.target
        misses = []
        if sl_status(sl.value, target or 0.0) is SLStatus.MISSED:
            misses.append("SL")
        if contract and contract.aht_max_s is not None and aht.value is not None and (
                round(aht.value) > contract.aht_max_s):
            misses.append("AHT")
        if contract and contract.abandon_max is not None and abandon.value is not None and (
                round(abandon.value * 1000) > round(contract.abandon_max * 1000)):
            misses.append("abandon")
        if contract and contract.adherence_min is not None and adh is not None and (
                round(adh * 100) < round(contract.adherence_min * 100)):
            misses.append("adherence")
        other = [t for t in s.thresholds if contract and t != contract.threshold_s]
        note = (f"queues counted at {', '.join(threshold(t) for t in other)}, the contract "
                f"says {threshold(contract.threshold_s)}") if other and contract else ""
        table.append((
            rule.name, ", ".join(sorted(rule.queues)),
            f"{s.kpi('offered').value:,.0f}", f"{s.kpi('answered').value:,.0f}",
            f"{s.kpi('abandoned').value:,.0f}", pct(sl.value, 1), pct(target, 1), str(sl.n),
            duration(s.kpi("asa_s").value), duration(aht.value),
            duration(contract.aht_max_s) if contract and contract.aht_max_s else DASH,
            pct(abandon.value, 1),
            pct(contract.abandon_max, 1) if contract and contract.abandon_max is not None
            else DASH, pct(adh, 1),
            pct(contract.adherence_min, 1) if contract and contract.adherence_min is not None
            else DASH,
            "; ".join(filter(None, ["misses " + ", ".join(misses) if misses else "", note]))))
        for k in s.kpis:
            tidy.append(("vendor", rule.name, k.metric, k.value, k.unit,
                         target if k.metric == "service_level" else (
                             contract.aht_max_s if k.metric == "aht_s" and contract else (
                                 contract.abandon_max if k.metric == "abandon_rate"
                                 and contract else None)), k.n))
        if adh is not None:
            tidy.append(("vendor", rule.name, "adherence", adh, "ratio",
                         contract.adherence_min if contract else None, agents))
    return Section(
        "vendors", title, True,
        "Per configured vendor, its queues' stored intervals against its contract "
        "(SL by the contract's formula; a miss is judged on the figure as shown).",
        ("Vendor", "Queues", "Offered", "Answered", "Abandoned", "SL", "Contract SL", "SL n",
         "ASA", "AHT", "AHT max", "Abandon %", "Abandon max", "Adherence", "Adherence min",
         "Note"),
        tuple(table), tuple(tidy), numeric=tuple(range(2, 15)))


# -- CSAT / NPS ------------------------------------------------------------------------


def _score_row(name: str, s: Scores) -> tuple[str, ...]:
    return (name, pct(None if s.csat_pct is None else s.csat_pct / 100, 1),
            DASH if s.csat_avg is None else f"{s.csat_avg:.2f}", str(s.csat_n),
            DASH if s.nps is None else f"{s.nps:+.0f}", str(s.nps_n))


def _score_tidy(scope_type: str, name: str, s: Scores) -> list[Tidy]:
    return [(scope_type, name, "csat_satisfied_rate",
             None if s.csat_pct is None else s.csat_pct / 100, "ratio", None, s.csat_n),
            (scope_type, name, "csat_average", s.csat_avg, "score 1-5", None, s.csat_n),
            (scope_type, name, "nps", s.nps, "points -100..100", None, s.nps_n)]


def surveys(responses: Sequence[SurveyResponse]) -> Section:
    """The day's survey responses (pending ones, with no score yet, count in nothing):
    CSAT % satisfied (4-5 of 5) and average, NPS (% promoters 9-10 - % detractors 0-6),
    for the centre, per queue and per team as the survey tool named them."""
    title = "CSAT / NPS"
    scored = [r for r in responses if not r.pending]
    if not scored:
        return Section("surveys", title, False,
                       "no survey results stored for this day" + (
                           f" ({len(responses)} awaiting their scores)" if responses else ""))
    table = [_score_row("Centre", scores(scored))]
    tidy = _score_tidy("centre", "", scores(scored))
    for kind, key in (("queue", lambda r: r.queue), ("team", lambda r: r.team)):
        for name, s in sorted(scores_by(scored, key).items()):
            table.append(_score_row(f"{kind} {name}", s))
            tidy += _score_tidy(kind, name, s)
    pending = len(responses) - len(scored)
    return Section(
        "surveys", title, True,
        f"{len(scored)} scored responses" + (f", {pending} awaiting their scores (not "
                                              "counted)" if pending else "") + ".",
        ("Scope", "CSAT % (4-5)", "CSAT avg", "CSAT n", "NPS", "NPS n"),
        tuple(table), tuple(tidy), numeric=tuple(range(1, 6)))


# -- forecast vs actual ------------------------------------------------------------------


def forecast(outlooks: Sequence[QueueOutlook]) -> Section:
    """Per queue with a forecast: volume and AHT against it over the intervals stored,
    the peak agents it requires, and the projected day SL (``domain.forecast``: what
    happened plus the forecast still to come at the SL its staffing gives; for a day
    that is over it is the day's SL)."""
    title = "Forecast vs actual"
    if not outlooks:
        return Section("forecast", title, False, "no forecast loaded for this day")
    table: list[tuple[str, ...]] = []
    tidy: list[Tidy] = []
    for o in outlooks:
        p = o.projection
        table.append((
            o.queue_id, f"{o.forecast_day:,.0f}", f"{o.forecast_so_far:,.0f}",
            f"{o.offered_so_far:,}", _signed(o.volume_variance),
            duration(o.forecast_aht_s), duration(o.actual_aht_s), _signed(o.aht_variance),
            DASH if o.required_peak is None else str(o.required_peak),
            pct(p.service_level if p else None, 1),
            f"{p.basis()} staffing" if p and p.remaining_contacts else (
                "day over" if p else "no stored interval")))
        tidy += [
            ("queue", o.queue_id, "forecast_contacts", o.forecast_day, "count", None, 0),
            ("queue", o.queue_id, "forecast_contacts_so_far", o.forecast_so_far, "count",
             None, 0),
            ("queue", o.queue_id, "volume_variance", o.volume_variance, "ratio", None,
             o.offered_so_far),
            ("queue", o.queue_id, "forecast_aht_s", o.forecast_aht_s, "seconds", None, 0),
            ("queue", o.queue_id, "aht_variance", o.aht_variance, "ratio", None, 0),
            ("queue", o.queue_id, "required_agents_peak",
             None if o.required_peak is None else float(o.required_peak), "agents", None, 0),
            ("queue", o.queue_id, "projected_service_level",
             p.service_level if p else None, "ratio", None,
             int(p.counted_so_far + p.remaining_contacts) if p else 0)]
    return Section(
        "forecast", title, True,
        "Variance = (actual - forecast) / forecast over the intervals stored; projected "
        "SL = (answered within threshold so far + each interval still to come's forecast "
        "x the SL its staffing gives) / (counted so far + forecast still to come).",
        ("Queue", "Forecast day", "Forecast so far", "Offered so far", "Volume var",
         "AHT fcst", "AHT actual", "AHT var", "Peak required", "Projected SL", "Basis"),
        tuple(table), tuple(tidy), numeric=tuple(range(1, 10)))


# -- adherence ---------------------------------------------------------------------------

#: agents listed by minutes out of adherence (the rest are in the team figures)
ADHERENCE_WORST = 10


def adherence(entries: int | None, imported: str = "",
              figures: Mapping[str, tuple[float, float]] | None = None,
              who: Mapping[str, tuple[str, str]] | None = None) -> Section:
    """Schedule adherence over the day as the consoles judged it and stored it
    (``adherence_days``): per agent key, (scheduled seconds observed, seconds out of
    adherence after the grace). Adherence = (scheduled - out) / scheduled, summed over
    agents for the centre and each team (``who``: key -> (name, team), from the agents'
    days). ``entries`` None: no schedule was loaded."""
    title = "Schedule adherence"
    if entries is None:
        return Section("adherence", title, False,
                       "no schedule loaded for this day (supervisor-tui schedule import FILE)")
    judged = {k: v for k, v in (figures or {}).items() if v[0] > 0}
    if not judged:
        return Section(
            "adherence", title, False,
            f"a schedule was loaded ({entries} {'entry' if entries == 1 else 'entries'}, "
            f"{imported}) but no console stored adherence figures for this day (they are "
            "written by a running console)")
    names = who or {}
    teams: dict[str, list[tuple[float, float]]] = {}
    for key, value in judged.items():
        teams.setdefault(names.get(key, ("", ""))[1] or "(no team)", []).append(value)

    def row(name: str, values: Sequence[tuple[float, float]]
            ) -> tuple[tuple[str, ...], list[Tidy]]:
        sched = sum(v[0] for v in values)
        out = sum(min(v[1], v[0]) for v in values)
        ratio = (sched - out) / sched
        kind, scope_name = ("centre", "") if name == "Centre" else ("team", name)
        return ((name, str(len(values)), f"{sched / 3600:.1f}", f"{out / 60:.0f}",
                 pct(ratio, 1)),
                [(kind, scope_name, "adherence", ratio, "ratio", None, len(values)),
                 (kind, scope_name, "out_of_adherence_minutes", out / 60, "minutes", None,
                  len(values))])

    table: list[tuple[str, ...]] = []
    tidy: list[Tidy] = []
    for name, values in [("Centre", list(judged.values())), *sorted(teams.items())]:
        shown, more = row(name, values)
        table.append(shown)
        tidy += more
    worst = sorted(judged.items(), key=lambda kv: -kv[1][1])[:ADHERENCE_WORST]
    for key, (sched, out) in worst:
        if out <= 0:
            break
        name, team = names.get(key, (key, ""))
        table.append((f"agent {name or key}" + (f" ({team})" if team else ""), "1",
                      f"{sched / 3600:.1f}", f"{min(out, sched) / 60:.0f}",
                      pct((sched - min(out, sched)) / sched, 1)))
    return Section(
        "adherence", title, True,
        f"Schedule: {entries} {'entry' if entries == 1 else 'entries'} ({imported}). "
        "Adherence = (scheduled - out of adherence) / scheduled seconds, over the time "
        "the consoles saw each agent; out of adherence counts after the grace period. "
        f"Then the {ADHERENCE_WORST} agents longest out of adherence.",
        ("Scope", "Agents", "Scheduled h", "Out (min)", "Adherence"),
        tuple(table), tuple(tidy), numeric=(1, 2, 3, 4))
