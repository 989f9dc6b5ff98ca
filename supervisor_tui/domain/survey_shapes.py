"""What survey tools post, turned into ``SurveyResponse`` objects (pure).

Shapes (docs/surveys.md: fixtures and which were checked against the vendors' docs):

- ``generic``: ``{response_id, contact_id, queue, agent, team, customer, tier, csat (1-5),
  nps (0-10), answered_at}``, one object, a list, or ``{"responses": [...]}``.
- ``qualtrics``: a Workflows "web service" task posts the JSON body its author writes
  with piped text; the mapping names where the ids and the two questions are
  (defaults: the body docs/surveys.md recommends). A Qualtrics event-subscription
  notification (topic ``surveyengine.completedResponse.<SurveyID>``) carries ids only.
- ``surveymonkey``: the ``response_completed`` webhook carries ids only (``object_id``
  is the response, ``resources`` the survey, collector and respondent).
- ``medallia``: a Medallia Experience Cloud webhook's payload is a template its admin
  writes (one record, or a batch); the mapping names the fields.

Id-only notifications become *pending* responses (no score, in no figure). Every text
value is cleaned (terminal control and bidi characters removed, bounded); a bad record
refuses the whole body with a reason naming it, so nothing is stored half.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from supervisor_tui.domain.model import EARLIEST, Tier
from supervisor_tui.domain.schedule import header_key
from supervisor_tui.domain.surveys import (
    CSAT_MAX,
    CSAT_MIN,
    NPS_MAX,
    NPS_MIN,
    SurveyResponse,
    SurveyTool,
)
from supervisor_tui.domain.text import clean

#: records in one body (a batch) at most
MAX_RECORDS = 1000
_TEXT_MAX = 200


class SurveyError(ValueError):
    """A body or record that cannot be used; the message is for the sender."""


class FieldMap(BaseModel):
    """Where each field is in a tool's record: a key, or a dotted path into nested
    objects ("values.QID1", "embeddedData.agent"); "" = the tool does not send it."""

    model_config = ConfigDict(extra="forbid")

    response_id: str | None = None
    survey_id: str | None = None
    contact_id: str | None = None
    queue: str | None = None
    agent: str | None = None
    team: str | None = None
    customer: str | None = None
    tier: str | None = None
    csat: str | None = None
    nps: str | None = None
    answered_at: str | None = None

    def over(self, base: FieldMap) -> FieldMap:
        """``base`` with the fields this map sets replacing its own."""
        return base.model_copy(update=self.model_dump(exclude_unset=True))


_GENERIC = FieldMap(
    response_id="response_id", survey_id="survey_id", contact_id="contact_id", queue="queue",
    agent="agent", team="team", customer="customer", tier="tier", csat="csat", nps="nps",
    answered_at="answered_at")

#: what each tool's records look like when ``[surveys.map.<tool>]`` says nothing
DEFAULT_MAPS: Mapping[SurveyTool, FieldMap] = {
    SurveyTool.GENERIC: _GENERIC,
    SurveyTool.CSV: _GENERIC,
    # The web-service task body docs/surveys.md recommends (piped text into these keys).
    SurveyTool.QUALTRICS: FieldMap(
        response_id="ResponseID", survey_id="SurveyID", contact_id="embeddedData.contact_id",
        queue="embeddedData.queue", agent="embeddedData.agent", team="embeddedData.team",
        customer="embeddedData.customer", tier="embeddedData.tier", csat="values.QID1",
        nps="values.QID2", answered_at="RecordedDate"),
    # A Medallia webhook template's field names are its admin's: these are ours.
    SurveyTool.MEDALLIA: FieldMap(
        response_id="survey_id", survey_id="program", contact_id="contact_id",
        queue="queue", agent="agent", team="team", customer="customer", tier="tier",
        csat="osat", nps="ltr", answered_at="response_date"),
}


def maps_with(overrides: Mapping[str, FieldMap]) -> dict[SurveyTool, FieldMap]:
    """The default maps with ``[surveys.map.<tool>]`` laid over them."""
    out = dict(DEFAULT_MAPS)
    for tool, fm in overrides.items():
        t = SurveyTool(tool)
        out[t] = fm.over(out.get(t, _GENERIC))
    return out


# -- values ---------------------------------------------------------------------------

def _at(record: Mapping[str, Any], path: str | None) -> Any:
    if not path:
        return None
    value: Any = record
    for part in path.split("."):
        if isinstance(value, Mapping):
            value = value.get(part)
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            return None
        if value is None:
            return None
    return value


def _text(value: Any, what: str) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise SurveyError(f"{what} must be text, not {type(value).__name__}")
    text = clean(value, _TEXT_MAX).strip()
    return text or None


def _score(value: Any, what: str, low: int, high: int) -> int | None:
    """An integer score in low..high; "" / null = not answered. Qualtrics pipes numbers
    as text ("4"), some tools send 4.0: both accepted, 4.5 is not."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool):
        raise SurveyError(f"{what} must be a number {low}-{high}, not {value!r}")
    if isinstance(value, str) and clean(value, 40) != value.strip()[:40]:
        raise SurveyError(f"{what} must be a number {low}-{high}: it holds control "
                          "characters")
    try:
        number = float(value.strip()) if isinstance(value, str) else float(value)
    except (TypeError, ValueError):
        raise SurveyError(f"{what} must be a number {low}-{high}, not "
                          f"{clean(value, 30)!r}") from None
    if not math.isfinite(number) or number != int(number) or not low <= number <= high:
        raise SurveyError(f"{what} must be a whole number {low}-{high}, not {clean(value, 30)}")
    return int(number)


def parse_time(value: Any, zone: tzinfo, now: datetime) -> datetime:
    """ISO 8601 (a time without offset is the centre's local time), "YYYY-MM-DD
    HH:MM:SS", or epoch seconds / milliseconds; missing: ``now`` (when it arrived)."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return now
    if isinstance(value, int | float) and not isinstance(value, bool):
        seconds = float(value) / 1000 if abs(value) > 1e11 else float(value)
        if not math.isfinite(seconds):
            raise SurveyError("answered_at is not a time")
        try:
            when = datetime.fromtimestamp(seconds, UTC)
        except (OverflowError, OSError, ValueError):
            raise SurveyError(f"answered_at {clean(value, 30)} is not a time") from None
    elif isinstance(value, str):
        try:
            when = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            raise SurveyError(f"answered_at {clean(value, 40)!r} is not an ISO 8601 time"
                              ) from None
        if when.tzinfo is None:
            when = when.replace(tzinfo=zone)
    else:
        raise SurveyError("answered_at must be a time")
    when = when.astimezone(UTC)
    if when < EARLIEST or when > now + timedelta(days=1):
        raise SurveyError(f"answered_at {when.isoformat()} is not plausible (before 2000 "
                          "or more than a day ahead)")
    return when


def _tier(value: Any) -> Tier | None:
    text = _text(value, "tier")
    if text is None:
        return None
    try:
        return Tier(text.casefold())
    except ValueError:
        raise SurveyError(f"tier must be one of {', '.join(t.value for t in Tier)}, not "
                          f"{text!r}") from None


def from_record(record: Any, tool: SurveyTool, fm: FieldMap, zone: tzinfo,
                now: datetime) -> SurveyResponse:
    """One record through its tool's map. SurveyError says what is wrong."""
    if not isinstance(record, Mapping):
        raise SurveyError(f"a record must be a JSON object, not {type(record).__name__}")
    contact_id = _text(_at(record, fm.contact_id), "contact_id")
    response_id = _text(_at(record, fm.response_id), "response_id") or contact_id
    if response_id is None:
        raise SurveyError(f"no response id (expected at {fm.response_id!r}, or a "
                          "contact_id): a retried delivery could not be told apart")
    csat = _score(_at(record, fm.csat), "csat", CSAT_MIN, CSAT_MAX)
    nps = _score(_at(record, fm.nps), "nps", NPS_MIN, NPS_MAX)
    if csat is None and nps is None:
        raise SurveyError(f"neither a CSAT score (at {fm.csat!r}) nor an NPS score (at "
                          f"{fm.nps!r}): check [surveys.map.{tool.value}]")
    try:
        return SurveyResponse(
            tool=tool, response_id=response_id, contact_id=contact_id,
            queue=_text(_at(record, fm.queue), "queue"),
            agent=_text(_at(record, fm.agent), "agent"),
            team=_text(_at(record, fm.team), "team"),
            customer=_text(_at(record, fm.customer), "customer"),
            tier=_tier(_at(record, fm.tier)), csat=csat, nps=nps,
            survey_id=_text(_at(record, fm.survey_id), "survey_id"),
            answered_at=parse_time(_at(record, fm.answered_at), zone, now))
    except ValidationError as err:  # (the checks above make this a bug guard)
        raise SurveyError(f"invalid record: {err.errors()[0]['msg']}") from None


# -- id-only notifications -------------------------------------------------------------

def _surveymonkey(body: Mapping[str, Any], zone: tzinfo, now: datetime) -> list[SurveyResponse]:
    event = _text(body.get("event_type"), "event_type")
    if event != "response_completed":
        return []  # another event (created, updated...): nothing to record
    if _text(body.get("object_type"), "object_type") not in (None, "response"):
        raise SurveyError("a response_completed event must name a response (object_type)")
    response_id = _text(body.get("object_id"), "object_id")
    if response_id is None:
        raise SurveyError("a response_completed event without object_id (the response id)")
    resources = body.get("resources")
    survey = _text(resources.get("survey_id"), "survey_id") \
        if isinstance(resources, Mapping) else None
    return [SurveyResponse(tool=SurveyTool.SURVEYMONKEY, response_id=response_id,
                           survey_id=survey,
                           answered_at=parse_time(body.get("event_datetime"), zone, now))]


def _qualtrics_event(body: Mapping[str, Any], zone: tzinfo,
                     now: datetime) -> list[SurveyResponse]:
    response_id = _text(body.get("ResponseID"), "ResponseID")
    if response_id is None:
        raise SurveyError("a completedResponse event without ResponseID")
    return [SurveyResponse(tool=SurveyTool.QUALTRICS, response_id=response_id,
                           survey_id=_text(body.get("SurveyID"), "SurveyID"),
                           answered_at=parse_time(body.get("CompletedDate"), zone, now))]


def detect(body: Any) -> SurveyTool:
    """The tool a body comes from when the sender did not say (``?tool=``)."""
    if isinstance(body, Mapping):
        if "event_type" in body and ("object_id" in body or "resources" in body):
            return SurveyTool.SURVEYMONKEY
        if isinstance(body.get("Topic"), str) and "completedResponse" in body["Topic"]:
            return SurveyTool.QUALTRICS
        if "ResponseID" in body:
            return SurveyTool.QUALTRICS
    return SurveyTool.GENERIC


def _records(body: Any) -> Sequence[Any]:
    if isinstance(body, list):
        records: Any = body
    elif isinstance(body, Mapping):
        batch = next((body[k] for k in ("responses", "records", "data")
                      if isinstance(body.get(k), list)), None)
        records = batch if batch is not None else [body]
    else:
        raise SurveyError("the body must be a JSON object or a list of them")
    if not records:
        raise SurveyError("no records in the body")
    if len(records) > MAX_RECORDS:
        raise SurveyError(f"{len(records)} records in one body: at most {MAX_RECORDS}")
    return list(records)


def parse_body(body: Any, tool: SurveyTool | None, maps: Mapping[SurveyTool, FieldMap],
               zone: tzinfo, now: datetime) -> list[SurveyResponse]:
    """Every response in a decoded body (all or none: a bad record raises SurveyError
    naming it). An empty list: a notification with nothing to record."""
    tool = tool or detect(body)
    if tool is SurveyTool.SURVEYMONKEY:
        if not isinstance(body, Mapping):
            raise SurveyError("a SurveyMonkey event is a JSON object")
        return _surveymonkey(body, zone, now)
    if tool is SurveyTool.QUALTRICS and isinstance(body, Mapping) \
            and "completedResponse" in str(body.get("Topic", "")):
        return _qualtrics_event(body, zone, now)
    fm = maps.get(tool, _GENERIC)
    records = _records(body)
    out: list[SurveyResponse] = []
    for i, record in enumerate(records):
        try:
            out.append(from_record(record, tool, fm, zone, now))
        except SurveyError as err:
            where = f"record {i + 1}: " if len(records) > 1 else ""
            raise SurveyError(f"{where}{err}") from None
    return out


def parse_json_body(raw: bytes, tool: SurveyTool | None, maps: Mapping[SurveyTool, FieldMap],
                    zone: tzinfo, now: datetime) -> list[SurveyResponse]:
    try:
        body = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise SurveyError(f"not JSON: {clean(err, 120)}") from None
    return parse_body(body, tool, maps, zone, now)


# -- CSV import ---------------------------------------------------------------------------

#: header spellings accepted for each generic field (lower-cased, spaces as _)
CSV_ALIASES: Mapping[str, tuple[str, ...]] = {
    "response_id": ("response_id", "responseid", "id"),
    "contact_id": ("contact_id", "contactid", "interaction_id", "call_id"),
    "queue": ("queue", "queue_id"),
    "agent": ("agent", "agent_id", "agent_name"),
    "team": ("team",),
    "customer": ("customer", "customer_id"),
    "tier": ("tier", "customer_tier"),
    "csat": ("csat", "csat_score", "satisfaction"),
    "nps": ("nps", "nps_score", "ltr", "likelihood_to_recommend"),
    "answered_at": ("answered_at", "recorded_date", "completed_at", "date", "timestamp"),
}


def parse_csv(text: str, zone: tzinfo, now: datetime, tool: SurveyTool = SurveyTool.CSV
              ) -> tuple[list[SurveyResponse], list[str]]:
    """Rows of a CSV export (comma, semicolon or tab; header names as CSV_ALIASES) ->
    (responses, rejected rows each with its line number and reason). ``tool``: whose
    response ids these are (a Qualtrics export's rows then complete the id-only
    notifications its webhook sent, instead of counting twice)."""
    import csv
    import io

    sample = text[:4096]
    try:
        dialect: Any = csv.Sniffer().sniff(sample, delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    reader = csv.reader(io.StringIO(text), dialect)
    try:
        header = next(reader)
    except StopIteration:
        raise SurveyError("the file is empty") from None
    # Headers as the schedule and forecast imports read them: letters and digits only,
    # so Qualtrics' "RecordedDate", "Recorded Date" and "recorded_date" are one name.
    names = [header_key(h) for h in header]
    column: dict[str, int] = {}
    for field, aliases in CSV_ALIASES.items():
        for alias in map(header_key, aliases):
            if alias in names:
                column[field] = names.index(alias)
                break
    if "csat" not in column and "nps" not in column:
        raise SurveyError("no csat or nps column in the header (" +
                          ", ".join(clean(h, 30) for h in header[:12]) + ")")
    if "response_id" not in column and "contact_id" not in column:
        raise SurveyError("no response_id or contact_id column: rows could not be told apart")
    fm = FieldMap(**{f: f for f in column})
    out: list[SurveyResponse] = []
    rejected: list[str] = []
    for row in reader:
        if not any(cell.strip() for cell in row):
            continue
        record = {f: row[i] for f, i in column.items() if i < len(row)}
        try:
            out.append(from_record(record, tool, fm, zone, now))
        except SurveyError as err:
            rejected.append(f"line {reader.line_num}: {err}")
    return out, rejected
