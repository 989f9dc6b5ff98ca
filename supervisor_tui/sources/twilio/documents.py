"""TaskRouter's wire documents, and the pure functions that read them.

Only the fields we read; extra fields are ignored. Names are the spec's (tests check
each one exists in twilio_taskrouter_v1.json).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, StrictBool, StrictInt

from supervisor_tui.domain.model import QueueStats
from supervisor_tui.domain.text import clean
from supervisor_tui.sources.checks import Count, Date, Doc, Name, Seconds
from supervisor_tui.sources.plausible import checked_stats, late_abandons
from supervisor_tui.sources.twilio.settings import TwilioQueueSettings, sid_ok

#: attributes larger than this are not parsed (TaskRouter's own limit is far lower)
MAX_ATTRIBUTES_CHARS = 256 * 1024


def _sid(prefix: str) -> Any:
    def check(value: Any) -> str:
        if not sid_ok(prefix, value):
            raise ValueError(f"not a {prefix} SID: {clean(repr(value), 40)}")
        return str(value)
    return BeforeValidator(check)


class ActivityCount(Doc):
    """An ``activity_statistics`` item (untyped in the spec)."""

    friendly_name: Name
    workers: Count


class TasksByStatus(Doc):
    """``tasks_by_status`` (untyped in the spec); absent statuses have no tasks."""

    pending: Count = 0
    reserved: Count = 0
    assigned: Count = 0
    wrapping: Count = 0


class RealtimeDoc(Doc):
    """One ``task_queue_data`` item of the bulk call (its items are untyped)."""

    task_queue_sid: Annotated[str, _sid("WQ")]
    longest_task_waiting_age: Count = 0
    longest_task_waiting_sid: Name | None = None  # checked where used: a hint only
    longest_relative_task_age_in_queue: Count | None = None
    tasks_by_status: TasksByStatus | None = None
    total_available_workers: Count = 0
    total_eligible_workers: Count = 0
    activity_statistics: list[ActivityCount] | None = None


class BulkRealtimeDoc(Doc):
    task_queue_data: list[RealtimeDoc] | None = None


class SplitCounts(Doc):
    tasks_canceled: Count
    reservations_accepted: Count


class SplitDoc(Doc):
    """One threshold of ``split_by_wait_time`` (untyped in the spec)."""

    above: SplitCounts
    below: SplitCounts


class DurationsDoc(Doc):
    total: Seconds = 0.0


class CumulativeDoc(Doc):
    task_queue_sid: Annotated[str, _sid("WQ")] | None = None
    start_time: Date | None = None
    end_time: Date | None = None
    tasks_entered: Count = 0
    tasks_canceled: Count = 0
    tasks_moved: Count = 0
    reservations_accepted: Count = 0
    wait_duration_until_accepted: DurationsDoc | None = None
    wait_duration_in_queue_until_accepted: DurationsDoc | None = None
    split_by_wait_time: dict[str, SplitDoc] | None = None


class TaskQueueDoc(Doc):
    sid: Annotated[str, _sid("WQ")]
    friendly_name: Name | None = None


class ActivityDoc(Doc):
    sid: Annotated[str, _sid("WA")]
    friendly_name: Name
    available: StrictBool | None = None


class WorkerDoc(Doc):
    sid: Annotated[str, _sid("WK")]
    friendly_name: Name | None = None
    activity_name: Name | None = None
    activity_sid: Name | None = None  # compared with the one asked for, not trusted
    available: StrictBool | None = None
    date_status_changed: Date | None = None
    date_updated: Date | None = None
    attributes: str | None = None


class TaskDoc(Doc):
    sid: Annotated[str, _sid("WT")]
    assignment_status: Literal["pending", "reserved", "assigned", "canceled", "completed",
                               "wrapping"]
    task_queue_sid: Annotated[str, _sid("WQ")] | None = None
    age: Count = 0
    date_created: Date | None = None
    task_queue_entered_date: Date | None = None
    priority: Annotated[StrictInt, Field(ge=0, le=2**31 - 1)] = 0
    task_channel_unique_name: Name | None = None
    attributes: str | None = None


class PageMeta(Doc):
    next_page_url: str | None = None


class TwilioErrorDoc(Doc):
    code: int | None = None
    message: str | None = None


#: list call -> its key in the page (the records are TaskQueueDoc, ActivityDoc, ...)
LISTINGS: dict[str, str] = {"TaskQueues": "task_queues", "Activities": "activities",
                            "Workers": "workers", "Tasks": "tasks"}


# -- parsing helpers (pure) -----------------------------------------------------------


def parse_attributes(text: str | None) -> dict[str, Any] | None:
    """A task's or worker's attributes as a dict, or None when absent or not an object."""
    if not text or len(text) > MAX_ATTRIBUTES_CHARS:
        return None
    try:
        value = json.loads(text)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def get_path(attrs: dict[str, Any] | None, path: str | None) -> Any:
    if attrs is None or path is None:
        return None
    node: Any = attrs
    for part in path.split("."):
        if not isinstance(node, dict):
            return None
        node = node.get(part)
    return node


def set_path(attrs: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    """A copy of ``attrs`` with ``path`` set; refuses to overwrite a non-object on the way."""
    result = json.loads(json.dumps(attrs))
    node = result
    parts = path.split(".")
    for part in parts[:-1]:
        child = node.get(part)
        if child is None:
            child = node[part] = {}
        if not isinstance(child, dict):
            raise ValueError(f"attribute {part!r} is not an object")
        node = child
    node[parts[-1]] = value
    return result


#: TaskRouter splits at most this many tasks/reservations per SplitByWaitTime threshold
SPLIT_CAP = 10_000


@dataclass(frozen=True)
class Split:
    """One threshold's split, checked against the totals (scaled when it is a sample)."""

    below_accepted: int
    below_canceled: int
    above_canceled: int
    estimated: bool


def check_split(at: int, split: SplitDoc, accepted: int, canceled: int) -> Split | str:
    """``below + above`` must be the totals; past TaskRouter's 10,000 a split covering
    fewer is a sample, scaled up to the totals. Otherwise: the reason it cannot be true."""
    b, a = split.below, split.above
    got_acc = b.reservations_accepted + a.reservations_accepted
    got_can = b.tasks_canceled + a.tasks_canceled
    if (got_acc, got_can) == (accepted, canceled):
        return Split(b.reservations_accepted, b.tasks_canceled, a.tasks_canceled, False)
    sampled = (accepted + canceled > SPLIT_CAP and got_acc + got_can <= SPLIT_CAP
               and got_acc <= accepted and got_can <= canceled
               and (got_acc > 0 or accepted == 0) and (got_can > 0 or canceled == 0))
    if not sampled:
        wrong = []
        if got_acc != accepted:
            wrong.append(f"{b.reservations_accepted} + {a.reservations_accepted} of "
                         f"{accepted} answered")
        if got_can != canceled:
            wrong.append(f"{b.tasks_canceled} + {a.tasks_canceled} of {canceled} abandoned")
        return f"split at {at} s counts {' and '.join(wrong)}"

    def scale(n: int, got: int, total: int) -> int:
        return min(total, round(n * total / got)) if got else 0

    below_can = scale(b.tasks_canceled, got_can, canceled)
    return Split(scale(b.reservations_accepted, got_acc, accepted), below_can,
                 canceled - below_can, True)


def queue_stats(queue_id: str, window_start: datetime, doc: CumulativeDoc,
                qs: TwilioQueueSettings) -> tuple[QueueStats | None, str | None]:
    """Cumulative statistics -> counters (the table in the package docstring), with a
    caveat to show beside them; or no counters and the reason they cannot be true."""
    splits = doc.split_by_wait_time or {}
    answered, abandoned = doc.reservations_accepted, doc.tasks_canceled
    checked: dict[int, Split] = {}
    for at in dict.fromkeys(t for t in (qs.threshold_s, qs.short_abandon_s) if t > 0):
        split = splits.get(str(at))
        if split is None:
            return None, f"no split_by_wait_time for {at} s"
        result = check_split(at, split, answered, abandoned)
        if isinstance(result, str):
            return None, result
        checked[at] = result
    at_t = checked[qs.threshold_s]
    within = at_t.below_accepted
    short = checked[qs.short_abandon_s].below_canceled if qs.short_abandon_s > 0 else 0
    after, clamped = late_abandons(abandoned, short, at_t.above_canceled)
    waits = doc.wait_duration_in_queue_until_accepted or doc.wait_duration_until_accepted
    stats = checked_stats(
        queue_id=queue_id, window_start=window_start,
        offered=answered + abandoned + doc.tasks_moved, answered=answered,
        answered_within_threshold=within, abandoned=abandoned, abandoned_short=short,
        abandoned_after_threshold=after, flowed_out=doc.tasks_moved,
        wait_answered_s=waits.total if waits else 0.0)
    if isinstance(stats, str):
        return None, stats
    caveats = []
    if any(c.estimated for c in checked.values()):
        caveats.append(f"within {qs.threshold_s} s and short abandons estimated from "
                       f"TaskRouter's {SPLIT_CAP:,}-task sample")
    if clamped:
        caveats.append(f"{at_t.above_canceled - after} abandon(s) both short and late: "
                       "counted short")
    return stats, "; ".join(caveats) or None
