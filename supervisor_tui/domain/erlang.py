"""Erlang B / Erlang C queueing formulas (pure).

Erlang B comes from its recursion B(0)=1, B(n)=A·B(n-1)/(n + A·B(n-1)): every term is
in [0, 1], so there are no factorials, no powers and no overflow even for traffic of
thousands of Erlangs. Erlang C is derived from B. Staffing searches N upward while
carrying B along, so finding the minimum agents is O(N) in total, not O(N²).

Units: traffic in Erlangs (arrival rate × AHT), times in seconds, probabilities and
occupancy as fractions in [0, 1].
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

# Relative slack on the occupancy cap: 21 Erlangs / 0.7 is 30.000000000000004 in
# floating point, and 30 agents (exactly 70% busy) must meet a 70% cap, not need 31.
_CAP_SLACK = 1e-12
#: Above this traffic the exact O(N) search (~1 ms per 10,000 agents) gives way to the
#: Halfin-Whitt approximation, O(log N): a huge arrival rate from a broken source must
#: not make every poll (and so every key) slow. No centre staffs 100,000 agents on one
#: queue, and at such traffic the approximation is within a fraction of a percent.
MAX_EXACT_ERLANGS = 100_000.0


def _check_finite(name: str, value: float, *, positive: bool = False) -> None:
    # NaN slips through every comparison, so it must be refused explicitly: a NaN
    # threshold would otherwise turn into a confident (and wrong) staffing answer.
    if not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number, got {value}")
    if positive and value <= 0:
        raise ValueError(f"{name} must be > 0, got {value}")
    if value < 0:
        raise ValueError(f"{name} must be >= 0, got {value}")


def _check_traffic(traffic: float, agents: int) -> None:
    _check_finite("traffic (Erlangs)", traffic)
    if agents < 0:
        raise ValueError(f"agents must be >= 0, got {agents}")


def _b_step(b: float, traffic: float, n: int) -> float:
    """One step of the Erlang B recursion: B(n) from B(n-1)."""
    ab = traffic * b
    return ab / (n + ab)


def erlang_b(traffic: float, agents: int) -> float:
    """Blocking probability for ``agents`` servers offered ``traffic`` Erlangs."""
    _check_traffic(traffic, agents)
    b = 1.0
    for n in range(1, agents + 1):
        b = _b_step(b, traffic, n)
    return b


def _c_from_b(b: float, traffic: float, agents: int) -> float:
    if agents <= traffic:
        return 1.0
    # N·B / (N − A(1−B)) rearranged as N·B / ((N−A) + A·B): both terms of the
    # denominator are positive, so nothing cancels when N is just above A.
    return agents * b / ((agents - traffic) + traffic * b)


def erlang_c(traffic: float, agents: int) -> float:
    """Probability that a contact waits (1.0 when the queue is unstable, N <= A)."""
    _check_traffic(traffic, agents)
    if agents <= traffic:
        return 1.0
    return _c_from_b(erlang_b(traffic, agents), traffic, agents)


def _sl_from_c(c: float, traffic: float, agents: int, aht_s: float, threshold_s: float) -> float:
    if agents <= traffic:
        return 0.0
    # Clamp: rounding must never show 100.0000001% or a negative service level.
    return max(0.0, min(1.0, 1 - c * math.exp(-(agents - traffic) * threshold_s / aht_s)))


def service_level(traffic: float, agents: int, aht_s: float, threshold_s: float) -> float:
    """Predicted fraction answered within ``threshold_s`` (0.0 when N <= A)."""
    _check_finite("aht_s", aht_s, positive=True)
    _check_finite("threshold_s", threshold_s)
    _check_traffic(traffic, agents)
    if traffic == 0:
        return 1.0  # nobody calls, nobody waits
    return _sl_from_c(erlang_c(traffic, agents), traffic, agents, aht_s, threshold_s)


def asa(traffic: float, agents: int, aht_s: float) -> float:
    """Predicted average speed of answer in seconds (inf when N <= A)."""
    _check_finite("aht_s", aht_s, positive=True)
    _check_traffic(traffic, agents)
    if traffic == 0:
        return 0.0
    if agents <= traffic:
        return math.inf  # the queue grows without bound
    return erlang_c(traffic, agents) * aht_s / (agents - traffic)


def occupancy(traffic: float, agents: int) -> float:
    """Predicted share of agents' time spent busy: A/N, capped at 1 (saturated)."""
    _check_traffic(traffic, agents)
    if agents == 0:
        return 1.0 if traffic > 0 else 0.0
    return min(traffic / agents, 1.0)


@dataclass(frozen=True)
class StaffingResult:
    agents: int
    traffic_erlangs: float
    service_level: float  # fraction answered within the threshold
    asa_seconds: float
    occupancy: float  # fraction of agents' time busy
    probability_wait: float  # Erlang C

    def to_dict(self) -> dict[str, float | int]:
        """Plain JSON-ready dict (backs ``supervisor-tui staffing --json``)."""
        return asdict(self)


def agents_for_target(
    arrival_rate_per_s: float,
    aht_s: float,
    target: float,
    threshold_s: float,
    max_occupancy: float | None = None,
) -> StaffingResult:
    """Smallest N that meets the SL target and keeps occupancy at or under the cap.

    Always terminates quickly, whatever the numbers: a target of 1 (100%) is met by the
    first N whose predicted SL rounds to 1 in floating point, and the search stops after
    ``_max_extra(traffic)`` agents above the first stable N in any case (the answer is
    then that N, a "many more than now" figure); traffic above ``MAX_EXACT_ERLANGS`` is
    staffed by the Halfin-Whitt approximation. A target of 0 is met by any stable N.
    """
    _check_finite("arrival rate (per second)", arrival_rate_per_s)
    _check_finite("AHT (seconds)", aht_s, positive=True)
    _check_finite("threshold (seconds)", threshold_s)
    if not 0 <= target <= 1:
        raise ValueError(f"target must be a fraction between 0 and 1, got {target}")
    if max_occupancy is not None and not 0 < max_occupancy <= 1:
        raise ValueError(f"max occupancy must be a fraction in (0, 1], got {max_occupancy}")
    traffic = arrival_rate_per_s * aht_s
    if not math.isfinite(traffic):
        raise ValueError(f"traffic {arrival_rate_per_s} x {aht_s} s is not finite")
    if traffic == 0:
        return StaffingResult(0, 0.0, 1.0, 0.0, 0.0, 0.0)
    # Nothing below the first stable N (N > A) or below the occupancy floor (A/cap)
    # can qualify, so start there, with B carried up to it.
    start = math.floor(traffic) + 1
    if max_occupancy is not None:
        start = max(start, math.ceil(traffic / max_occupancy * (1 - _CAP_SLACK)))
    if traffic > MAX_EXACT_ERLANGS:
        return _approximate(traffic, aht_s, target, threshold_s, start)
    b = 1.0
    for n in range(1, start + 1):
        b = _b_step(b, traffic, n)
    n = start
    last = start + _max_extra(traffic)
    # SL rises with N towards 1 (B underflows to 0 eventually), so this terminates;
    # ``last`` bounds it for a target of (or within rounding of) 100%.
    while True:
        c = _c_from_b(b, traffic, n)
        sl = _sl_from_c(c, traffic, n, aht_s, threshold_s)
        if sl >= target or n >= last:
            return StaffingResult(
                agents=n,
                traffic_erlangs=traffic,
                service_level=sl,
                asa_seconds=c * aht_s / (n - traffic),
                occupancy=traffic / n,
                probability_wait=c,
            )
        n += 1
        b = _b_step(b, traffic, n)


def _max_extra(traffic: float) -> int:
    """Agents above the first stable N after which the search gives up: by then Erlang C
    is below 1e-30 (beta = 12 in Halfin-Whitt terms), far past any real target."""
    return 1000 + math.ceil(12 * math.sqrt(traffic))


def _halfin_whitt(traffic: float, agents: int, aht_s: float,
                  threshold_s: float) -> tuple[float, float]:
    """(probability of waiting, service level) by the Halfin-Whitt approximation of
    Erlang C for N = A + beta·sqrt(A) agents (accurate for large A)."""
    extra = agents - traffic
    if extra <= 0:
        return 1.0, 0.0
    beta = extra / math.sqrt(traffic)
    phi = math.exp(-beta * beta / 2) / math.sqrt(2 * math.pi)
    cdf = 0.5 * (1 + math.erf(beta / math.sqrt(2)))
    c = phi / (phi + beta * cdf)  # = 1 / (1 + beta·Φ/φ), safe when φ underflows
    return c, max(0.0, min(1.0, 1 - c * math.exp(-extra * threshold_s / aht_s)))


def _approximate(traffic: float, aht_s: float, target: float, threshold_s: float,
                 start: int) -> StaffingResult:
    """``agents_for_target`` above ``MAX_EXACT_ERLANGS``: the smallest N >= ``start``
    meeting the target by Halfin-Whitt, found by doubling then bisecting."""
    def meets(n: int) -> bool:
        return _halfin_whitt(traffic, n, aht_s, threshold_s)[1] >= target

    limit = start + _max_extra(traffic)
    low, step = start, 1
    high = start
    while not meets(high) and high < limit:
        low, high = high, min(start + step, limit)
        step *= 2
    while high - low > 1:  # meets(high); low fails, or low == start
        mid = (low + high) // 2
        low, high = (low, mid) if meets(mid) else (mid, high)
    n = low if meets(low) else high
    c, sl = _halfin_whitt(traffic, n, aht_s, threshold_s)
    return StaffingResult(agents=n, traffic_erlangs=traffic, service_level=sl,
                          asa_seconds=c * aht_s / (n - traffic), occupancy=min(traffic / n, 1.0),
                          probability_wait=c)


def staffing(
    contacts: float,
    interval_s: float,
    aht_s: float,
    target: float,
    threshold_s: float,
    max_occupancy: float | None = None,
) -> StaffingResult:
    """Agents needed for ``contacts`` arriving over ``interval_s`` seconds."""
    _check_finite("interval (seconds)", interval_s, positive=True)
    _check_finite("contacts", contacts)
    return agents_for_target(contacts / interval_s, aht_s, target, threshold_s, max_occupancy)
