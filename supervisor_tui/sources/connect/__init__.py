"""The ``connect`` source: Amazon Connect queues, agents and actions, through the AWS SDK
(boto3, run in worker threads; credentials, SigV4 signing and endpoints are the SDK's).

What a poll reads (``poll_cost()`` plans it; ``max_poll_requests`` caps it):

- ``GetCurrentMetricData`` grouped by ``QUEUE``, 100 queues a request (the API's
  maximum), every poll: ``CONTACTS_IN_QUEUE``, ``OLDEST_CONTACT_AGE`` and the
  ``AGENTS_*`` counts. Trap: without groupings ``OLDEST_CONTACT_AGE`` comes back in
  milliseconds although its unit says SECONDS; we always group by queue, so it is
  seconds, and an age over ``max_wait_s`` rejects that queue's live figures.
- ``GetCurrentUserData`` filtered by ``Agents``, 100 users a request, so each request
  is one page: the agents' status (``StatusStartTimestamp`` is "since") and their
  contacts. A large centre is read in turns: each poll refreshes the users read longest
  ago, as many as ``max_poll_requests`` leaves room for, and the notes say how old the
  oldest agent states are.
- ``GetMetricDataV2`` grouped by ``QUEUE`` for the current interval (every
  ``interval_refresh_s``) and the day so far (every ``day_refresh_s``), one request per
  100 queues sharing a threshold T and short-abandon time S.
- The catalog, every ``catalog_refresh_s``, paced at 2 requests a second (the List*
  APIs' documented rate): ``ListQueues`` (standard queues: ids and names),
  ``ListAgentStatuses`` (which status is routable, custom or offline, and its id for
  ``PutUserStatus``), ``ListRoutingProfiles``, ``ListUsers`` (user names), and per
  routing profile ``ListRoutingProfileQueues`` (which queues its agents serve), read in
  turns like the agents.

Counters (T = the queue's threshold, S = its short-abandon time, all in seconds). The
counting rule (``QueueStats``): a contact counts in the window in which it left the
queue, so offered is built from the outcomes, never from ``CONTACTS_QUEUED`` (counted
when the contact entered the queue):

=========================== ==========================================================
answered                    ``CONTACTS_HANDLED_BY_CONNECTED_TO_AGENT`` (counted when the
                            agent is connected, i.e. when the contact left the queue)
answered_within_threshold   ``SUM_CONTACTS_ANSWERED_IN_X`` with ``LT`` T
wait_answered_s             ``AVG_QUEUE_ANSWER_TIME`` x answered
abandoned                   ``CONTACTS_ABANDONED``
abandoned_short             ``SUM_CONTACTS_ABANDONED_IN_X`` with ``LT`` S (S = 0: none)
abandoned_after_threshold   abandoned - ``SUM_CONTACTS_ABANDONED_IN_X`` with ``LT`` T
flowed_out                  ``CONTACTS_TRANSFERRED_OUT_FROM_QUEUE``
offered                     answered + abandoned + flowed out
handled, handle_s           ``CONTACTS_HANDLED``, ``SUM_HANDLE_TIME``
=========================== ==========================================================

A queue with no row in the answer had no contacts in the window (zero counters);
counters that cannot be true (answered within T above answered, ...) or an average
missing for contacts that were answered reject that queue's window only ("no data" and a
note), never the poll.

Agent states: a contact the agent is busy with (incoming, connecting, connected, on
hold) -> on contact; an ended contact still held -> after-contact work; a missed or
rejected contact -> away; else the agent status by its type: routable -> available,
offline -> offline, custom -> away with the status name as the reason.

Actions: ``PutUserStatus`` (available, away:<custom status name>, logout; an agent on
a contact is refused, since Connect would only set the next status; ending
after-contact work has no API); ``UpdateUserRoutingProfile`` to the routing profile
that serves exactly the chosen queues; ``TransferContact`` of task and email contacts
to a queue through ``transfer_flow_id`` (Connect transfers no voice or chat contact
through this API). Errors of the SDK (throttling, access denied, no endpoint, no
credentials) are one-line reasons; a throttled poll is retried by the poller after
its back-off (the SDK itself does not retry, so one poll never spends its budget twice).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from supervisor_tui.sources.lazy import lazy_exports

if TYPE_CHECKING:
    from supervisor_tui.sources.connect.settings import ConnectQueueSettings as ConnectQueueSettings
    from supervisor_tui.sources.connect.settings import ConnectSettings as ConnectSettings
    from supervisor_tui.sources.connect.source import ConnectSource as ConnectSource

# settings.py (no SDK), documents.py (pure), source.py (boto3): names come from their
# module on first use, so the config loads settings only.
__getattr__ = lazy_exports(__name__, {"ConnectQueueSettings": "settings",
                                      "ConnectSettings": "settings",
                                      "ConnectSource": "source"})
