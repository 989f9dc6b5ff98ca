"""A centre with vendors and a tier split worked out by hand (shared by the vendor and
tier tests).

On top of ``helpers.centre()`` (Sales: 40 offered, Support: 10 offered):

Sales split by tier (interval and day alike):
  VIP   offered 10 = 8 answered (7 within 20 s) + 2 abandoned (1 after the threshold);
        wait 80 s, 8 handled in 1,600 s      -> SL 7/(8+1) = 77.8%, ASA 10 s, aband 20%
  gold  offered 5 = 4 answered (4 within) + 1 abandoned; wait 20 s, 4 handled in 1,000 s
                                              -> SL 4/4 = 100%, ASA 5 s, aband 20%
  standard = Sales less those: offered 25 = 18 answered (13 within) + 3 abandoned (2
        short, 1 after) + 4 flowed out; wait 200 s -> SL 13/19 = 68.4%, ASA 11 s,
        aband (3-2)/(25-2) = 4.3%
Support's source reports no split.

Vendors: Support's source names its site "Globex Manila"; Sales does too, but the config
puts Sales under acme (the config wins). Agent a5 has site "Offshore" (no vendor
configured: a vendor known by the source's name alone).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from supervisor_tui.domain.model import (
    AbandonedContact,
    Agent,
    AgentState,
    AgentStateKind,
    Channel,
    QueueStats,
    Snapshot,
    Tier,
    TierStats,
)
from tests.helpers import T0, centre

VENDOR_CONFIG: dict[str, Any] = {
    "vendors": {
        "acme": {"name": "Acme BPO", "queues": ["sales"], "teams": ["Red"],
                 "contract": {"sl_target": 0.7, "threshold_s": 20, "aht_max_s": 200,
                              "abandon_max": 0.05}},
        "globex": {"name": "Globex", "sites": ["Globex Manila"],
                   "contract": {"sl_target": 0.9, "threshold_s": 30}},
    },
    "roles": {"scopes": {"alice": ["vendor:acme"]}, "users": {"alice": "supervisor"}},
}


def _split(queue_id: str, start: Any) -> dict[Tier, QueueStats]:
    return {
        Tier.VIP: QueueStats(queue_id=queue_id, window_start=start, offered=10, answered=8,
                             answered_within_threshold=7, abandoned=2,
                             abandoned_after_threshold=1, wait_answered_s=80, handled=8,
                             handle_s=1600),
        Tier.GOLD: QueueStats(queue_id=queue_id, window_start=start, offered=5, answered=4,
                              answered_within_threshold=4, abandoned=1, wait_answered_s=20,
                              handled=4, handle_s=1000),
    }


def vendor_centre(now: Any = T0) -> Snapshot:
    snap = centre(now)
    queues = tuple(q.model_copy(update={"site": "Globex Manila"}) for q in snap.queues)
    agents = (*snap.agents, Agent(
        id="a5", source="pbx", name="Eve", team="", site="Offshore", skills=(),
        state=AgentState(kind=AgentStateKind.AVAILABLE, since=now - timedelta(seconds=9))))
    tiers = {"sales": TierStats(interval=_split("sales", snap.interval_start),
                                day=_split("sales", snap.day_start))}
    abandoned = (
        AbandonedContact(id="x1", source="pbx", queue_id="sales", channel=Channel.VOICE,
                         tier=Tier.VIP, customer="Sal Abandon", waited_s=40,
                         abandoned_at=now - timedelta(minutes=3)),
        AbandonedContact(id="x2", source="pbx", queue_id="support", channel=Channel.CHAT,
                         customer="Sue Abandon", waited_s=70,
                         abandoned_at=now - timedelta(minutes=2)),
    )
    return snap.model_copy(update={"queues": queues, "agents": agents, "tier_stats": tiers,
                                   "abandoned": abandoned})
