"""Genesys Cloud's wire documents (only the fields we read, named as the API names
them), and the pure functions that read them.
"""

from __future__ import annotations

from datetime import UTC, datetime
from functools import partial
from typing import Annotated, Any

from pydantic import BeforeValidator, Field, StrictBool, StrictInt

from supervisor_tui.domain.text import clean
from supervisor_tui.sources.checks import Count, Date, Doc, Name, duration
from supervisor_tui.sources.genesys.settings import is_uuid

#: sums of durations (ms) above this are garbage
MAX_MS = 1e13
#: an oLongestWaiting value this large is an epoch timestamp in ms, not a duration
EPOCH_MS_FLOOR = 1e11

_MEDIA_LISTS = ("calls", "callbacks", "chats", "emails", "messages", "cobrowsesessions",
                "screenshares", "socialExpressions", "videos")
_ENDED = frozenset({"disconnected", "terminated"})


def _uuid(value: Any) -> str:
    if not is_uuid(value):
        raise ValueError(f"not an id: {clean(repr(value), 40)}")
    return str(value).lower()


Number = Annotated[float, BeforeValidator(partial(duration, maximum=MAX_MS))]  # ms
Id = Annotated[str, BeforeValidator(_uuid)]


class StatsDoc(Doc):
    """A ``StatisticalSummary``: only the fields we read."""

    count: Count | None = None
    sum: Number | None = None
    max: Number | None = None
    current: Number | None = None
    calculatedMetricValue: Number | None = None


# Fields the published schemas (api-evangelist/genesys b692e35, see
# tests/fixtures/genesys/) mark optional are optional here too: a sparse but valid
# answer must not fail a poll. What cannot be used without one is skipped where read.


class ObservationDoc(Doc):
    """One waiting conversation of the ``oWaiting`` detail list (``ObservationValue``:
    only ``observationDate`` is required; one without an id is counted, not listed)."""

    observationDate: Date
    conversationId: Id | None = None
    participantName: Name | None = None
    routingPriority: StrictInt | None = None


class ObservationMetricDoc(Doc):
    metric: Name | None = None
    qualifier: Name | None = None
    stats: StatsDoc | None = None
    truncated: StrictBool | None = None
    observations: list[Any] | None = None  # validated one by one


class ObservationGroupDoc(Doc):
    group: dict[str, Name] = Field(default_factory=dict)
    data: list[ObservationMetricDoc] = Field(default_factory=list)


class ObservationsDoc(Doc):
    results: list[ObservationGroupDoc] | None = None


class AggregateMetricDoc(Doc):
    metric: Name | None = None
    qualifier: Name | None = None
    stats: StatsDoc | None = None


class AggregateViewDoc(Doc):
    name: Name | None = None
    stats: StatsDoc | None = None


class AggregateBucketDoc(Doc):
    interval: Name | None = None
    metrics: list[AggregateMetricDoc] = Field(default_factory=list)
    views: list[AggregateViewDoc] = Field(default_factory=list)


class AggregateGroupDoc(Doc):
    group: dict[str, Name] = Field(default_factory=dict)
    data: list[AggregateBucketDoc] = Field(default_factory=list)


class AggregatesDoc(Doc):
    results: list[AggregateGroupDoc] | None = None  # absent: no conversations at all


class PresenceDefinitionDoc(Doc):
    id: Name | None = None
    systemPresence: Name | None = None


class PresenceDoc(Doc):
    presenceDefinition: PresenceDefinitionDoc | None = None
    modifiedDate: Date | None = None


class RoutingStatusDoc(Doc):
    userId: Name | None = None
    status: Name | None = None
    startTime: Date | None = None


class UserDoc(Doc):
    id: Id | None = None
    name: Name | None = None
    presence: PresenceDoc | None = None
    routingStatus: RoutingStatusDoc | None = None


class MemberDoc(Doc):
    """A ``QueueMember``. Its routing status may sit on the member or on its user (the
    schema has both); its presence only on the user (``expand=presence``)."""

    id: Id | None = None
    name: Name | None = None
    user: UserDoc | None = None
    joined: StrictBool | None = None
    routingStatus: RoutingStatusDoc | None = None

    @property
    def user_id(self) -> str | None:
        return self.id or (self.user.id if self.user else None)


class UserPresenceDoc(Doc):
    """A ``UserPresence``, the answer to a presence change."""

    source: Name | None = None
    primary: StrictBool | None = None
    presenceDefinition: PresenceDefinitionDoc | None = None


class OrgPresenceDoc(Doc):
    """An ``OrganizationPresenceDefinition``: a presence a user can be put in."""

    id: Id
    type: Name | None = None  # "System" or "User"
    languageLabels: dict[str, Name] = Field(default_factory=dict)
    systemPresence: Name | None = None
    deactivated: StrictBool | None = None

    @property
    def label(self) -> str:
        text = (self.languageLabels.get("en_US") or next(iter(self.languageLabels.values()),
                                                         None)
                or self.systemPresence or self.id)
        return clean(text, 40)


class QueueDoc(Doc):
    id: Id
    name: Name | None = None


class MediaDoc(Doc):
    state: Name | None = None


class ParticipantDoc(Doc):
    id: Name | None = None
    purpose: Name | None = None
    queueId: Name | None = None
    userId: Name | None = None
    name: Name | None = None
    endTime: Name | None = None
    calls: list[MediaDoc] | None = None
    callbacks: list[MediaDoc] | None = None
    chats: list[MediaDoc] | None = None
    emails: list[MediaDoc] | None = None
    messages: list[MediaDoc] | None = None
    cobrowsesessions: list[MediaDoc] | None = None
    screenshares: list[MediaDoc] | None = None
    socialExpressions: list[MediaDoc] | None = None
    videos: list[MediaDoc] | None = None

    def media_states(self) -> list[str]:
        states: list[str] = []
        for attr in _MEDIA_LISTS:
            for media in getattr(self, attr) or ():
                states.append((media.state or "").casefold())
        return states

    def active(self) -> bool:
        if self.endTime:
            return False
        states = self.media_states()
        return not states or any(s not in _ENDED for s in states)


class ConversationDoc(Doc):
    id: Id | None = None
    participants: list[ParticipantDoc]


class EmergencyGroupDoc(Doc):
    id: Id | None = None
    name: Name | None = None
    enabled: StrictBool | None = None


class ErrorDoc(Doc):
    message: Name | None = None
    code: Name | None = None


#: ``EmergencyGroup`` properties the schema marks read-only (``division.selfUri`` too):
#: a write sends the group back without them
EMERGENCY_READ_ONLY = frozenset({"id", "dateCreated", "dateModified", "modifiedBy",
                                 "createdBy", "state", "modifiedByApp", "createdByApp",
                                 "selfUri"})


def emergency_update(group: dict[str, Any], enabled: bool) -> dict[str, Any]:
    """The body of ``PUT /architect/emergencygroups/{id}``: the group as read (a PUT
    replaces it: a writable property left out would be cleared), ``version`` included so
    a concurrent change is refused, without the read-only properties."""
    body = {k: v for k, v in group.items() if k not in EMERGENCY_READ_ONLY}
    if isinstance(body.get("division"), dict):
        body["division"] = {k: v for k, v in body["division"].items() if k != "selfUri"}
    body["enabled"] = enabled
    return body


def group_counts(group: ObservationGroupDoc) -> dict[str, int]:
    """Each metric's count in one group: the unqualified entry if there is one, else
    the sum over its qualifiers (e.g. on-queue users by routing status)."""
    plain: dict[str, int] = {}
    qualified: dict[str, int] = {}
    for item in group.data:
        if item.metric is None:
            continue
        count = item.stats.count if item.stats and item.stats.count is not None else 0
        into = plain if item.qualifier is None else qualified
        into[item.metric] = into.get(item.metric, 0) + count
    return {**qualified, **plain}


def longest_wait_s(value: float, now: datetime) -> float:
    """``oLongestWaiting`` as seconds waited: an epoch timestamp (ms) or a duration
    (ms). The caller checks the result is plausible."""
    if value >= EPOCH_MS_FLOOR:
        return (now - datetime.fromtimestamp(value / 1000, UTC)).total_seconds()
    return value / 1000
