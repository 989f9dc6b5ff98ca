"""The ``genesys`` source: Genesys Cloud queues, agents and actions.

Authentication: OAuth client credentials at ``https://login.{region}/oauth/token``
(HTTP Basic with the client id and secret), then a bearer token on
``https://api.{region}``. The token is kept until shortly before it expires; an API
request answered 401 gets one new token and is sent once more.

What a poll reads (``poll_cost()`` is the exact count of these requests):

- ``POST /api/v2/analytics/queues/observations/query`` (every poll, up to 100 queues a
  request): ``oWaiting``, ``oInteracting``, ``oLongestWaiting``, ``oOnQueueUsers``,
  ``oOffQueueUsers``, with the waiting conversations in detail (``detailMetrics``) as
  the contacts: id, since when (``observationDate``), media type, participant name.
  Genesys truncates that list (oldest half and newest half kept): ``notes`` says so.
  ``oLongestWaiting`` is read from ``stats.calculatedMetricValue`` (else ``max``): live
  orgs return an epoch timestamp in ms there, the docs suggest a duration in ms; a
  value of 1e11 or more is taken as a timestamp, anything less as a duration, and the
  resulting wait must lie between now (within ``max_clock_skew_s``) and ``max_wait_s``.
- ``GET /api/v2/routing/queues/{q}/members?expand=routingStatus&expand=presence``
  (paged, 100 a page, every ``members_refresh_s``; 0 = every poll): the agents.
  Routing status (on the member, else on its user) IDLE -> available, INTERACTING /
  COMMUNICATING -> on contact, NOT_RESPONDING -> away; OFF_QUEUE -> the user's presence
  (``user.presence``: a ``QueueMember`` has none of its own) through ``presence_map``
  (offline, or away with the presence as reason). Since when: ``routingStatus.startTime`` (for
  off-queue agents the later of it and the presence's ``modifiedDate``). Genesys keeps
  an agent INTERACTING through after-call work, so after-contact work is not shown.
- ``POST /api/v2/analytics/conversations/aggregates/query`` grouped by queue and media
  type, for the current interval (every ``interval_refresh_s``) and the day so far
  (every ``day_refresh_s``), when the request budget has room.
- ``GET /api/v2/routing/queues?id=...`` every ``catalog_refresh_s``, for the names of
  queues without a configured ``name``.

Aggregates -> ``QueueStats`` (T = the queue's threshold, S = its short-abandon time;
durations come in ms). ``oServiceLevel`` is not used: it follows each queue's own
service-level settings in Genesys, not T, so answered-within-T comes from a
``rangeBound`` view instead. The counting rule (``QueueStats``): a conversation counts
in the window in which it left the queue, so offered is built from the outcomes.
``nOffered`` is not read: Genesys counts it in the interval the conversation entered
the queue, and answered/abandoned in the interval they happened (its own FAQ "Why does
the Offered metric not always equal the Answered plus Abandoned metrics?"), so a call
entering at 7:28 and answered at 7:32 would be offered in one interval and answered in
the next. Offered conversations are answered, abandoned or flowed out (Genesys' own
definition), hence:

=========================== ==========================================================
offered                     ``tAnswered.count + tAbandon.count + tFlowOut.count``
answered, wait_answered_s   ``tAnswered.count``, ``tAnswered.sum``
answered_within_threshold   view on ``tAnswered`` with ``lt`` = T
abandoned                   ``tAbandon.count``
abandoned_after_threshold   view on ``tAbandon`` with ``gte`` = T (disjoint from the
                            short ones: settings keep S <= T)
abandoned_short             view on ``tAbandon`` with ``lt`` = S
flowed_out                  ``tFlowOut.count``: left the queue unanswered and not
                            abandoned (in-queue flow transfers, voicemail, callbacks,
                            back to the IVR); in the query's metric enum of the
                            published analytics schema (api-evangelist/genesys b692e35)
handled, handle_s           ``tHandle.count``, ``tHandle.sum``
=========================== ==========================================================

Plausibility: a view counts a subset of its metric, so answered within T above answered,
or short + late abandons above abandoned, cannot be true. Such counters reject that
queue's window only: it shows no figures and a note names it and says why; the rest of
the poll stands. (Web messaging has no abandons in Genesys: those queues show answered
and flowed out only.)

Sparse answers: what the published schemas mark optional is optional here (``results``,
a group's ``group``, a member's or an observation's id, ``entities``, ...). A queue with
no observation group has unknown live counts (a note says so; never zero waiting); a
waiting conversation without an id is counted, not listed; a member without any id is
dropped and said.

Actions: blind transfer of a waiting conversation to a queue (``replace/queue``) or an
agent (``replace/agent``) on its active ACD participant; queue membership by bulk
add/remove (``POST /routing/queues/{q}/members[?delete=true]``); the configured
emergency group switched by reading it and writing it back with ``enabled``, less the
fields the schema marks read-only (``version`` kept, so a concurrent edit is a 409).
Agent state (``domain.agent_control``): the user's routing status is read first (one on
a conversation is refused); available = ``PUT /users/{id}/routingstatus`` IDLE for one
NOT_RESPONDING, else ``PATCH /users/{id}/presences/purecloud`` to the On Queue presence;
away:<reason> = the presence whose label is the reason, else the system presence of
that name (lunch -> Meal); logout = the Offline presence (``GET
/presence/definitions?deactivated=FALSE``, kept ``catalog_refresh_s``); end_acw is
refused (Genesys keeps agents INTERACTING through after-call work and has no call to
end another user's wrap-up). Each answer must name this user and the state asked, else
it is reported as it is (changed meanwhile / another user). A conversation answered
meanwhile is a plain refusal, never a traceback.

Budget: 300 requests a minute per OAuth client (then 429 with ``Retry-After``); the
token requests count too. Aggregates and the catalog are left out of a poll that has no
room for them; observations and due member listings are not.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from supervisor_tui.sources.lazy import lazy_exports

if TYPE_CHECKING:
    from supervisor_tui.sources.genesys.settings import GenesysQueueSettings as GenesysQueueSettings
    from supervisor_tui.sources.genesys.settings import GenesysSettings as GenesysSettings
    from supervisor_tui.sources.genesys.source import GenesysSource as GenesysSource

# settings.py (no HTTP library), documents.py (the wire documents, pure), auth.py (OAuth),
# source.py (httpx): names come from their module on first use, so the config loads
# settings only.
__getattr__ = lazy_exports(__name__, {"GenesysQueueSettings": "settings",
                                      "GenesysSettings": "settings", "GenesysSource": "source"})
