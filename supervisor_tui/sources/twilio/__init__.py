"""The ``twilio`` source: a Twilio TaskRouter workspace.

What a poll reads (``/v1/Workspaces/{WS}/...``, HTTP Basic with the account SID and
auth token, or an API key SID and secret):

- ``POST TaskQueues/RealTimeStatistics``: live counters of up to 50 queues per call.
  Validated and kept in ``live`` (waiting, reserved, longest wait, workers by
  activity); they fill ``Snapshot.queue_live`` (see below) and cross-check the task
  listing (see ``notes``).
- ``GET Tasks?AssignmentStatus=pending&AssignmentStatus=reserved`` (paged): the waiting
  contacts. Reserved means offered to an agent and not yet accepted: still waiting.
- ``GET Workers`` (paged): the agents. State from the activity's friendly name through
  ``activity_map``; since when from ``date_status_changed``.
- ``GET TaskQueues/{WQ}/CumulativeStatistics?StartDate=..&SplitByWaitTime=T,S``: the
  interval (and day) counters, refreshed every ``interval_refresh_s`` /
  ``day_refresh_s`` rather than every poll: one request per queue per window is the
  most expensive part of a poll, and counters over a 30-minute window move slowly.
- ``GET Workers?TaskQueueSid={WQ}`` (paged, every ``membership_refresh_s``): which
  workers each queue may route to, i.e. the agents' skills. Worker attributes are not
  returned by list calls, and queues select workers by expressions we cannot
  evaluate, so asking TaskRouter is the only way to know.
- ``GET TaskQueues`` and ``GET Activities`` every ``catalog_refresh_s``: queue names
  and the activities ``set_agent_state`` can choose from. Only the queue list is needed
  for a poll: a bad activities list is a note (the last one kept, or read again when a
  change needs it). ``set_agent_state`` checks the answer names this worker in the
  activity asked; otherwise it says what the answer holds.

Cumulative statistics -> ``QueueStats`` (T = the queue's threshold, S = its short
abandon time; both are sent as ``SplitByWaitTime``). The counting rule (``QueueStats``):
a task counts in the window in which it left the queue, so offered is built from the
outcomes, not from ``tasks_entered`` (arrivals: a task that entered at 10:29 and was
answered at 10:31 would be offered in one interval and answered in the next):

=========================== =====================================================
offered                     ``reservations_accepted + tasks_canceled + tasks_moved``
answered                    ``reservations_accepted``
answered_within_threshold   ``split_by_wait_time[T].below.reservations_accepted``
abandoned                   ``tasks_canceled`` (caller hung up, TTL expired, or an
                            API cancel: TaskRouter does not tell them apart)
abandoned_after_threshold   ``split_by_wait_time[T].above.tasks_canceled``, less any
                            that are also short (see below)
abandoned_short             ``split_by_wait_time[S].below.tasks_canceled``
flowed_out                  ``tasks_moved`` (moved to another queue by the workflow;
                            inferred: the spec says "moved from one queue to another")
wait_answered_s             ``wait_duration_in_queue_until_accepted.total`` (time in
                            this queue), else ``wait_duration_until_accepted.total``
handled, handle_s           0: TaskRouter queue statistics carry no handle time, so
                            AHT shows as unknown rather than as 0 s
=========================== =====================================================

Plausibility: at each threshold, ``below + above`` must equal the totals
(``reservations_accepted``, ``tasks_canceled``). TaskRouter splits at most 10,000
tasks/reservations per threshold: past that, a split covering fewer is a sample, and
the within/short/late counts are scaled from it (a note says "estimated"). Abandons
after T exclude short ones (short abandons are left out of every rate); settings keep
S <= T, so only a sampled split can overlap, and the late count is then clamped (and
said). Counters that fail (Twilio's own spec example: 100 accepted, 100 canceled, every
split 0 + 0) reject that queue's window only: the queue shows no figures, and a note
names it and says why; the rest of the poll stands.

Live queue counts (``Snapshot.queue_live``): waiting = ``tasks_by_status.pending +
reserved`` (reserved: offered to an agent, not yet accepted). The oldest wait comes from
the task listing (time in this queue); only when the listing does not hold the
longest-waiting task (``longest_task_waiting_sid``) or lists fewer tasks than TaskRouter
counts is it taken from ``longest_task_waiting_age``, which counts from the task's
creation (so may overstate time in this queue for a transferred task).

Limits: a task accepted by several reservations (re-offers, transfers) counts once per
acceptance; tasks deleted by the API (``tasks_deleted``) are not counted (TaskRouter
does not say whether they were still waiting); counters are as old as their last
refresh (at most ``interval_refresh_s``). Agents' ``contact_id`` is not filled (that
needs a reservation look-up per worker), and a worker who stays in an "Available"
activity while on a task (multitasking) shows as available.

Everything is validated here: the spec leaves ``tasks_by_status``,
``split_by_wait_time`` and ``activity_statistics`` untyped. Garbage in aggregate
counters (a negative count, a string, a window that was not the one asked for) rejects
the poll with a one-line ``SourceError`` (a wrong counter cannot be dropped without
showing zero as truth); counters that are each well-formed but cannot all be true
reject that queue's window (above); a garbage worker or task record is dropped and
said so in ``notes`` (and the log), unless most records are garbage. The clock-skew
warning is worked out from the tasks that were kept, never from a dropped one.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from supervisor_tui.sources.lazy import lazy_exports

if TYPE_CHECKING:
    from supervisor_tui.sources.twilio.settings import TwilioQueueSettings as TwilioQueueSettings
    from supervisor_tui.sources.twilio.settings import TwilioSettings as TwilioSettings
    from supervisor_tui.sources.twilio.source import TwilioSource as TwilioSource

# settings.py (no HTTP library), documents.py (the wire documents, pure), source.py
# (httpx): names come from their module on first use, so the config loads settings only.
__getattr__ = lazy_exports(__name__, {"TwilioQueueSettings": "settings",
                                      "TwilioSettings": "settings", "TwilioSource": "source"})
