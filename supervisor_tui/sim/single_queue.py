"""One queue, headless, as fast as possible: ``supervisor-tui simulate``.

It runs the same engine as the live simulator (so it checks the engine against
Erlang C, see tests/test_simulator_erlang.py), with everything Erlang C leaves out
switched off unless asked: no after-contact work, no breaks, no intraday curve, no
tiers or flags.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any

from supervisor_tui.domain.intervals import IntervalPolicy
from supervisor_tui.domain.model import AgentStateKind
from supervisor_tui.sim.config import (
    AgentConfig,
    BreakPolicy,
    FlagProbabilities,
    HandleTimeDist,
    QueueConfig,
    SimulatorConfig,
    TierMix,
)
from supervisor_tui.sim.engine import (
    ABANDONED_,
    ABANDONED_AFTER,
    ABANDONED_SHORT,
    ANSWERED,
    ANSWERED_WITHIN,
    HANDLE_S,
    HANDLED,
    OFFERED,
    WAIT_ANSWERED_S,
    Engine,
)

_EPOCH = datetime(2026, 1, 5, tzinfo=UTC)  # any date: nothing here depends on the clock


def auto_warmup(agents: int, traffic: float, aht_s: float,
                patience_s: float | None = None) -> float:
    """Seconds for the queue to forget its start: 10 handle times, or 5 relaxation times.

    Near saturation an M/M/N queue relaxes in about aht / (sqrt(N) - sqrt(A))^2
    (heavy-traffic approximation), which can be many handle times; capped at 100.
    Customers who abandon keep any queue stable: then 10 x the slower of AHT and
    patience is plenty.
    """
    if patience_s is not None:
        return 10 * max(aht_s, patience_s)
    if traffic >= agents:  # no steady state to reach: it only grows
        return 10 * aht_s
    relax = aht_s / (math.sqrt(agents) - math.sqrt(traffic)) ** 2
    return min(100 * aht_s, max(10 * aht_s, 5 * relax))


def simulate_single_queue(
    agents: int,
    arrivals_per_hour: float,
    aht_s: float,
    threshold_s: float,
    service: str = "exponential",
    patience_s: float | None = None,
    duration_s: float = 3600.0,
    seed: int = 1,
    warmup_s: float | None = None,
    *,
    handle_time_cv: float = 1.0,
    acw_s: float = 0.0,
    breaks: bool = False,
) -> dict[str, Any]:
    """Simulate one queue and return JSON-able results over ``duration_s`` after warm-up.

    ``service_level`` = answered within threshold / (answered + abandoned after it);
    ``warmup_s`` None picks :func:`auto_warmup`. The run starts with the expected
    number of agents already busy, which shortens the transient.
    """
    if agents < 1 or int(agents) != agents:
        raise ValueError("agents must be a whole number of at least 1")
    if arrivals_per_hour < 0 or threshold_s < 0:
        raise ValueError("arrivals per hour and threshold cannot be negative")
    if aht_s <= 0 or duration_s <= 0:
        raise ValueError("AHT and duration must be greater than 0")
    if patience_s is not None and patience_s <= 0:
        raise ValueError("patience must be greater than 0 (or None for no abandonment)")
    try:
        dist = HandleTimeDist(service)
    except ValueError:
        raise ValueError(f"unknown service distribution {service!r} "
                         "(use exponential or lognormal)") from None
    agents = int(agents)
    traffic = arrivals_per_hour * aht_s / 3600
    if warmup_s is None:
        warmup_s = auto_warmup(agents, traffic, aht_s, patience_s)
    if warmup_s < 0:
        raise ValueError("warm-up cannot be negative")

    queue = QueueConfig(id="q", name="Queue", threshold_s=threshold_s,
                        arrivals_per_hour=arrivals_per_hour, aht_s=aht_s, handle_time=dist,
                        handle_time_cv=handle_time_cv, acw_s=acw_s, patience_s=patience_s,
                        tiers=TierMix(vip=0, gold=0))
    config = SimulatorConfig(
        seed=seed, queues=[queue],
        agents=[AgentConfig(id=f"a{i + 1}", name=f"Agent {i + 1}", skills=["q"])
                for i in range(agents)],
        breaks=BreakPolicy(enabled=breaks), intraday_curve=False,
        flags=FlagProbabilities(asked_for_supervisor=0, repeat_contact=0, complaint=0),
        warmup_minutes=0)
    engine = Engine(config, IntervalPolicy(minutes=1440, tz="UTC"), _EPOCH, seed=seed,
                    initial_away=False)
    engine.prefill("q", min(agents, round(traffic)))
    engine.run_until(warmup_s)
    engine.reset_totals()
    at_once0 = engine.answered_at_once[0]
    engine.run_until(warmup_s + duration_s)

    c = engine.totals()[0]
    answered = int(c[ANSWERED])
    abandoned_after = int(c[ABANDONED_AFTER])
    handled = int(c[HANDLED])
    spent = engine.agent_time()
    busy = spent[AgentStateKind.ON_CONTACT] + spent[AgentStateKind.AFTER_CONTACT_WORK]
    idle = spent[AgentStateKind.AVAILABLE]
    sl_base = answered + abandoned_after
    at_once = engine.answered_at_once[0] - at_once0
    return {
        "agents": agents,
        "arrivals_per_hour": arrivals_per_hour,
        "traffic_erlangs": traffic,
        "aht_s": aht_s,
        "threshold_s": threshold_s,
        "service": dist.value,
        "patience_s": patience_s,
        "duration_s": duration_s,
        "warmup_s": warmup_s,
        "seed": seed,
        "offered": int(c[OFFERED]),
        "answered": answered,
        "answered_within_threshold": int(c[ANSWERED_WITHIN]),
        "abandoned": int(c[ABANDONED_]),
        "abandoned_short": int(c[ABANDONED_SHORT]),
        "abandoned_after_threshold": abandoned_after,
        "handled": handled,
        "service_level": c[ANSWERED_WITHIN] / sl_base if sl_base else None,
        "asa_seconds": c[WAIT_ANSWERED_S] / answered if answered else None,
        "aht_seconds": c[HANDLE_S] / handled if handled else None,
        # Answered contacts that waited at all (Erlang C's "probability of waiting").
        "probability_wait": 1 - at_once / answered if answered else None,
        "abandon_rate": c[ABANDONED_] / c[OFFERED] if c[OFFERED] else None,
        "occupancy": busy / (busy + idle) if busy + idle else None,
        "waiting_at_end": engine.queues[0].n_waiting,
    }
