"""Agents flagged (⚑) as too long in a state: in after-contact work past
``acw_limit_s``, away past the limit for their reason, or on one contact past
``long_contact_aht_multiple`` x their queue's AHT today. The limits are the escalation
rules' own (one set of limits: a flag is an escalation).

Counting them for the agents screen's header used to read every agent in those states
each poll (~37,000 at 50,000 agents: ~200 ms a poll under cProfile). Only agents past
the *shortest* limit of their state can be flagged, and with the agents ordered by
``since`` (``SnapshotIndex.by_since``) those are a prefix found by bisection, and the
rule applied to each is the same ``agent_limit_s`` the rows use. On a contact the limit
is the queue's own, so those agents are kept by queue
(``SnapshotIndex.on_contact``): reading the ~5,000 past the shortest limit of
any queue, and copying the list of 37,000 to keep it by since, was ~8 ms a poll.
"""

from __future__ import annotations

from bisect import bisect_left
from datetime import datetime, timedelta
from itertools import islice
from operator import attrgetter

from supervisor_tui.domain.escalation import EscalationRules, LongLimits, long_limits
from supervisor_tui.domain.index import SnapshotIndex
from supervisor_tui.domain.model import Agent, AgentStateKind, Snapshot

_ACW = AgentStateKind.AFTER_CONTACT_WORK
_AWAY = AgentStateKind.AWAY
_ON = AgentStateKind.ON_CONTACT
_since = attrgetter("state.since")
# The prefix is cut this much later than the shortest limit: a superset, so float
# rounding of a duration can never leave out an agent the exact test would flag.
_SLACK = timedelta(milliseconds=1)
_SLACK_S = _SLACK.total_seconds()


def agent_limit_s(agent: Agent, rules: EscalationRules, long: LongLimits | None) -> float | None:
    """How long ``agent`` may stay in their current state before being flagged."""
    kind = agent.state.kind
    if kind is _ACW:
        return rules.acw_limit_s
    if kind is _AWAY:
        return rules.away_limit_for(agent.state.reason)
    if kind is _ON and long is not None:
        return long.of(agent.queue_id)
    return None


def is_flagged(agent: Agent, now: datetime, rules: EscalationRules,
               long: LongLimits | None) -> bool:
    limit = agent_limit_s(agent, rules, long)
    return limit is not None and (now - agent.state.since).total_seconds() > limit


def _past(agents: list[Agent], due: datetime, now: datetime, limit: float) -> int:
    """How many of ``agents`` (by since) are past ``limit`` at ``now`` (``due`` = now -
    limit): those in before the millisecond around ``due`` surely are; within it the
    exact rule decides."""
    sure = bisect_left(agents, due - _SLACK, key=_since)
    cut = bisect_left(agents, due + _SLACK, sure, key=_since)
    return sure + sum(1 for a in islice(agents, sure, cut)
                      if (now - a.state.since).total_seconds() > limit)


def count_flagged(index: SnapshotIndex, snapshot: Snapshot, rules: EscalationRules,
                  now: datetime, long: LongLimits | None = None) -> int:
    """Agents past their limit at ``now`` (``is_flagged``'s rule). After-contact work
    has a single limit and each queue's contacts one each: those counts are found by
    bisection (the exact rule applied only within a millisecond of the cut); away reads
    only those past the shortest reason's limit."""
    long = long if long is not None else long_limits(snapshot, rules)
    total = 0
    acw = index.by_since(_ACW)
    if acw and rules.acw_limit_s is not None:
        acw_s = rules.acw_limit_s
        total += _past(acw, now - timedelta(seconds=acw_s), now, acw_s)
    away = index.by_since(_AWAY)
    if away:
        cut = bisect_left(away, now - timedelta(seconds=rules.shortest_away_s) + _SLACK,
                          key=_since)
        limit_for = rules.away_limit_for
        for a in islice(away, cut):
            state = a.state
            if (now - state.since).total_seconds() > limit_for(state.reason):
                total += 1
    if index.count(_ON):
        # Per queue (each has its own limit), those on a contact longest first: a
        # queue's count is a prefix found by bisection, and a queue whose longest is
        # not yet past its limit (most of them) costs one float comparison. ~1,250
        # queues with a limit at 50,000 agents.
        limits = long.each()
        on = index.on_contact()
        oldest_s, now_s = on.oldest_s, now.timestamp()
        for queue_id in (limits if len(limits) <= len(oldest_s) else oldest_s):
            oldest = oldest_s.get(queue_id)
            limit = limits.get(queue_id)
            if oldest is None or limit is None or oldest >= now_s - limit + _SLACK_S:
                continue  # (nobody there is within a millisecond of the limit)
            total += _past(on.by_queue[queue_id], now - timedelta(seconds=limit), now, limit)
    return total
