"""The ``zendesk`` source: Zendesk Talk, read-only.

What a poll reads (``/api/v2/channels/voice/stats/...``; API token as HTTP Basic
``{email}/token:{token}``, or an OAuth bearer token):

- ``current_queue_activity``: calls and callbacks waiting now, the longest and average
  wait, agents online. Zendesk Talk has a single queue per account, so this source
  shows one queue.
- ``agents_activity`` (offset paging, ``per_page=100``, following ``next_page``): every
  Talk agent's ``agent_state`` (online, away, transfers_only, offline) and
  ``call_status`` (on_call, wrap_up or null), and their counters for the day.
- ``account_overview`` every ``overview_refresh_s``: the day's totals.

What Zendesk does not give, and how it is shown:

- No per-call list: there are no contacts in the snapshot (none are made up). The
  waiting counts and the longest wait are kept in ``live`` and said in ``notes``; the
  snapshot model has no queue-level live counters yet, so the board cannot show them.
- No since-when for agent states: an agent's ``since`` is when this console first saw
  that state (a poll interval late at worst, and the console's start time for a state
  that was already there). Times in state are lower bounds; ``notes`` says so.
- No service-level field, and no answered-within-threshold count to compute one from.
  All stats cover today from midnight in the *account's* time zone (``account_tz``),
  which may not be the console's. No interval counters exist.

Day counters -> ``QueueStats`` (window start: midnight in ``account_tz``). The
counting rule (``QueueStats``): a call counts once, when it left the queue (accepted by
an agent, abandoned, or flowed out), so offered is built from those outcomes, not from
``total_inbound_calls`` (arrivals, which include calls still waiting or still in the
IVR; kept in ``day_counts`` and ``notes``):

=========================== ==========================================================
offered                     accepted + abandoned + flowed out (below)
abandoned                   ``account_overview.total_calls_abandoned_in_queue``
                            (Talk Professional and up; absent: 0 and a note)
flowed_out                  ``account_overview.total_calls_with_exceeded_queue_wait_time``
                            (left the queue at its maximum wait, to voicemail or a
                            callback; inferred from the field's name; absent: 0)
handled                     accepted: the sum of the agents' ``calls_accepted``
handle_s                    sum of the agents' ``total_talk_time`` + ``total_hold_time``
                            + ``total_wrap_up_time``
answered,                   0. Accepted calls are known, but answered within T is not:
answered_within_threshold,  fed answered without it, the service level would show a
wait_answered_s             made-up 0%. So here offered is *more* than answered +
                            abandoned + flowed out (by the accepted calls), the one
                            documented exception to the rule: abandon rate = abandoned
                            / offered is right, SL is unknown (the "offered" SL formula
                            reads 0%: an "unknown within T" needs the model's help).
=========================== ==========================================================

Plausibility: more abandoned in the queue than inbound calls today cannot be true:
the day's counters are then not shown (no data) and a note says why; the live queue
and the agents stand.

Rate limits: every request counts against the plan-wide Support API limit (Suite Team:
200 requests a minute, shared with every other integration on the account), Talk adds
15,000 per 5 minutes for all Talk endpoints and 2,500 per 5 minutes for current queue
activity. The plan-wide limit binds first, hence the default budget; a poll makes one
current-queue-activity request, so the budget also keeps that endpoint under its limit.
A 429 comes with ``Retry-After``, which the poller honours.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from supervisor_tui.sources.lazy import lazy_exports

if TYPE_CHECKING:
    from supervisor_tui.sources.zendesk.settings import ZendeskSettings as ZendeskSettings
    from supervisor_tui.sources.zendesk.source import ZendeskSource as ZendeskSource

# settings.py (no HTTP library), documents.py (the wire documents, pure), source.py
# (httpx): names come from their module on first use, so the config loads settings only.
__getattr__ = lazy_exports(__name__, {"ZendeskSettings": "settings", "ZendeskSource": "source"})
