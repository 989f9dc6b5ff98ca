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


class ObservationDoc(Doc):
    """One waiting conversation of the ``oWaiting`` detail list."""

    observationDate: Date
    conversationId: Id
    participantName: Name | None = None
    routingPriority: StrictInt | None = None


class ObservationMetricDoc(Doc):
    metric: Name
    qualifier: Name | None = None
    stats: StatsDoc | None = None
    truncated: StrictBool | None = None
    observations: list[Any] | None = None  # validated one by one


class ObservationGroupDoc(Doc):
    group: dict[str, Name]
    data: list[ObservationMetricDoc] = Field(default_factory=list)


class ObservationsDoc(Doc):
    results: list[ObservationGroupDoc]


class AggregateMetricDoc(Doc):
    metric: Name
    qualifier: Name | None = None
    stats: StatsDoc


class AggregateViewDoc(Doc):
    name: Name
    stats: StatsDoc


class AggregateBucketDoc(Doc):
    interval: Name | None = None
    metrics: list[AggregateMetricDoc] = Field(default_factory=list)
    views: list[AggregateViewDoc] = Field(default_factory=list)


class AggregateGroupDoc(Doc):
    group: dict[str, Name]
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
    status: Name | None = None
    startTime: Date | None = None


class UserDoc(Doc):
    id: Id
    name: Name | None = None
    presence: PresenceDoc | None = None
    routingStatus: RoutingStatusDoc | None = None


class MemberDoc(Doc):
    """A ``QueueMember``; expanded routing status and presence may sit on the member
    or on its user, so both are read."""

    id: Id
    name: Name | None = None
    user: UserDoc | None = None
    joined: StrictBool | None = None
    routingStatus: RoutingStatusDoc | None = None
    presence: PresenceDoc | None = None


class QueueDoc(Doc):
    id: Id
    name: Name | None = None


class MediaDoc(Doc):
    state: Name | None = None


class ParticipantDoc(Doc):
    id: Name
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
    id: Id
    participants: list[ParticipantDoc]


class EmergencyGroupDoc(Doc):
    id: Id
    name: Name | None = None
    enabled: StrictBool | None = None


class ErrorDoc(Doc):
    message: Name | None = None
    code: Name | None = None


def group_counts(group: ObservationGroupDoc) -> dict[str, int]:
    """Each metric's count in one group: the unqualified entry if there is one, else
    the sum over its qualifiers (e.g. on-queue users by routing status)."""
    plain: dict[str, int] = {}
    qualified: dict[str, int] = {}
    for item in group.data:
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
