"""Agents flagged (⚑) as too long in a state: in after-contact work past
``acw_limit_s``, away past the limit for their reason, or on one contact past
``long_contact_aht_multiple`` x their queue's AHT today. The limits are the escalation
rules' own (one set of limits: a flag is an escalation).

Counting them for the agents screen's header used to read every agent in those states
each poll (~37,000 at 50,000 agents: ~200 ms a poll under cProfile). Only agents past
the *shortest* limit of their state can be flagged, and with the agents ordered by
``since`` (``SnapshotIndex.by_since``) those are a prefix found by bisection: the count
reads only them (~4,000 of 32,000 on a contact), and the rule applied to each is the
same ``agent_limit_s`` the rows use.
"""

from __future__ import annotations

from bisect import bisect_left
from datetime import datetime, timedelta
from itertools import compress, islice
from operator import attrgetter

from supervisor_tui.domain.escalation import EscalationRules, LongLimits, long_limits
from supervisor_tui.domain.index import SnapshotIndex
from supervisor_tui.domain.model import Agent, AgentStateKind, Snapshot

_ACW = AgentStateKind.AFTER_CONTACT_WORK
_AWAY = AgentStateKind.AWAY
_ON = AgentStateKind.ON_CONTACT
_since = attrgetter("state.since")
_QUEUE_ID = attrgetter("queue_id")
# The prefix is cut this much later than the shortest limit: a superset, so float
# rounding of a duration can never leave out an agent the exact test would flag.
_SLACK = timedelta(milliseconds=1)


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


def count_flagged(index: SnapshotIndex, snapshot: Snapshot, rules: EscalationRules,
                  now: datetime, long: LongLimits | None = None) -> int:
    """Agents past their limit at ``now`` (``is_flagged``'s rule); reads only those
    past their state's shortest limit. After-contact work has a single limit, so its
    count is found by bisection alone (the exact rule applied only within a millisecond
    of the cut)."""
    long = long if long is not None else long_limits(snapshot, rules)
    total = 0
    acw = index.by_since(_ACW)
    if acw and rules.acw_limit_s is not None:
        acw_s = rules.acw_limit_s
        sure = bisect_left(acw, now - timedelta(seconds=acw_s) - _SLACK, key=_since)
        cut = bisect_left(acw, now - timedelta(seconds=acw_s) + _SLACK, key=_since)
        total += sure + sum(1 for a in islice(acw, sure, cut)
                            if (now - a.state.since).total_seconds() > acw_s)
    away = index.by_since(_AWAY)
    if away:
        cut = bisect_left(away, now - timedelta(seconds=rules.shortest_away_s) + _SLACK,
                          key=_since)
        limit_for = rules.away_limit_for
        for a in islice(away, cut):
            state = a.state
            if (now - state.since).total_seconds() > limit_for(state.reason):
                total += 1
    if index.count(_ON) and (floor := long.shortest()) is not None:
        on = index.by_since(_ON)
        cut = bisect_left(on, now - timedelta(seconds=floor) + _SLACK, key=_since)
        limit_of = long.each().get
        # ~5,000 agents a poll at 50,000, three in four in a queue with no limit yet
        # (too few handled today): their limits are looked up in C and only the rest
        # read. Each limit is two times (an agent in before the first is past it,
        # after the second is not; the exact rule decides within the millisecond).
        head = list(islice(on, cut))
        limits = list(map(limit_of, map(_QUEUE_ID, head)))
        cuts: dict[float, tuple[datetime, datetime]] = {}
        for a, limit in zip(compress(head, limits), filter(None, limits), strict=True):
            at = cuts.get(limit)
            if at is None:
                due = now - timedelta(seconds=limit)
                at = cuts[limit] = (due - _SLACK, due + _SLACK)
            since = a.state.since
            if since < at[0] or (since <= at[1]
                                 and (now - since).total_seconds() > limit):
                total += 1
    return total
