"""Erlang B / Erlang C queueing formulas (pure).

Erlang B comes from its recursion B(0)=1, B(n)=A·B(n-1)/(n + A·B(n-1)): every term is
in [0, 1], so there are no factorials, no powers and no overflow even for traffic of
thousands of Erlangs. Erlang C is derived from B. Staffing searches N upward while
carrying B along, so finding the minimum agents is O(N) in total, not O(N²).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass


def _check_traffic(traffic: float, agents: int) -> None:
    if traffic < 0 or math.isnan(traffic):
        raise ValueError(f"traffic must be >= 0 Erlangs, got {traffic}")
    if agents < 0:
        raise ValueError(f"agents must be >= 0, got {agents}")


def erlang_b(traffic: float, agents: int) -> float:
    """Blocking probability for ``agents`` servers offered ``traffic`` Erlangs."""
    _check_traffic(traffic, agents)
    b = 1.0
    for n in range(1, agents + 1):
        b = traffic * b / (n + traffic * b)
    return b


def _c_from_b(b: float, traffic: float, agents: int) -> float:
    if agents <= traffic:
        return 1.0
    return agents * b / (agents - traffic * (1 - b))


def erlang_c(traffic: float, agents: int) -> float:
    """Probability that a contact waits (1.0 when the queue is unstable, N <= A)."""
    if agents <= traffic:
        _check_traffic(traffic, agents)
        return 1.0
    return _c_from_b(erlang_b(traffic, agents), traffic, agents)


def _sl_from_c(c: float, traffic: float, agents: int, aht_s: float, threshold_s: float) -> float:
    if agents <= traffic:
        return 0.0
    return max(0.0, min(1.0, 1 - c * math.exp(-(agents - traffic) * threshold_s / aht_s)))


def service_level(traffic: float, agents: int, aht_s: float, threshold_s: float) -> float:
    """Predicted fraction answered within ``threshold_s`` (0.0 when N <= A)."""
    if aht_s <= 0:
        raise ValueError(f"aht_s must be > 0, got {aht_s}")
    if traffic == 0:
        return 1.0
    return _sl_from_c(erlang_c(traffic, agents), traffic, agents, aht_s, threshold_s)


def asa(traffic: float, agents: int, aht_s: float) -> float:
    """Predicted average speed of answer in seconds (inf when N <= A)."""
    if traffic == 0:
        return 0.0
    if agents <= traffic:
        return math.inf
    return erlang_c(traffic, agents) * aht_s / (agents - traffic)


def occupancy(traffic: float, agents: int) -> float:
    if agents <= 0:
        return 1.0 if traffic > 0 else 0.0
    return min(traffic / agents, 1.0)


@dataclass(frozen=True)
class StaffingResult:
    agents: int
    traffic_erlangs: float
    service_level: float
    asa_seconds: float
    occupancy: float
    probability_wait: float

    def to_dict(self) -> dict[str, float | int]:
        return asdict(self)


def agents_for_target(
    arrival_rate_per_s: float,
    aht_s: float,
    target: float,
    threshold_s: float,
    max_occupancy: float | None = None,
) -> StaffingResult:
    """Smallest N that meets the SL target and keeps occupancy at or under the cap."""
    if arrival_rate_per_s < 0 or math.isnan(arrival_rate_per_s):
        raise ValueError(f"arrival rate must be >= 0, got {arrival_rate_per_s}")
    if aht_s <= 0:
        raise ValueError(f"AHT must be > 0 seconds, got {aht_s}")
    if not 0 < target < 1:
        raise ValueError(f"target must be a fraction between 0 and 1 (exclusive), got {target}")
    if threshold_s < 0:
        raise ValueError(f"threshold must be >= 0 seconds, got {threshold_s}")
    if max_occupancy is not None and not 0 < max_occupancy <= 1:
        raise ValueError(f"max occupancy must be in (0, 1], got {max_occupancy}")
    traffic = arrival_rate_per_s * aht_s
    if traffic == 0:
        return StaffingResult(0, 0.0, 1.0, 0.0, 0.0, 0.0)
    # Start at the first stable N (also the occupancy floor) with B carried up to it.
    floor_n = math.floor(traffic) + 1
    if max_occupancy is not None:
        # Tolerance: 25.36 Erl / 0.8454 must give 30, not 31 from a rounding error.
        floor_n = max(floor_n, math.ceil(traffic / max_occupancy - 1e-9))
    b = 1.0
    for n in range(1, floor_n + 1):
        b = traffic * b / (n + traffic * b)
    n = floor_n
    while True:
        c = _c_from_b(b, traffic, n)
        sl = _sl_from_c(c, traffic, n, aht_s, threshold_s)
        if sl >= target:
            return StaffingResult(
                agents=n,
                traffic_erlangs=traffic,
                service_level=sl,
                asa_seconds=c * aht_s / (n - traffic),
                occupancy=traffic / n,
                probability_wait=c,
            )
        n += 1
        b = traffic * b / (n + traffic * b)


def staffing(
    contacts: float,
    interval_s: float,
    aht_s: float,
    target: float,
    threshold_s: float,
    max_occupancy: float | None = None,
) -> StaffingResult:
    """Agents needed for ``contacts`` arriving over ``interval_s`` seconds."""
    if interval_s <= 0:
        raise ValueError(f"interval must be > 0 seconds, got {interval_s}")
    if contacts < 0:
        raise ValueError(f"contacts must be >= 0, got {contacts}")
    return agents_for_target(contacts / interval_s, aht_s, target, threshold_s, max_occupancy)
