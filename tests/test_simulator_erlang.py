"""The simulator and Erlang C must agree: that is how we know both are right.

With Poisson arrivals, exponential service, no abandonment, no after-contact work and no
breaks, the queue is M/M/N, for which Erlang C is exact: P(wait) = C(N, A),
ASA = C * AHT / (N - A), SL(T) = 1 - C * exp(-(N - A) * T / AHT), occupancy = A / N.

Tolerance. Each case runs R independent replications (seeds 1..R), each after a
warm-up of at least five relaxation times (see ``single_queue.auto_warmup``; the run
also starts with A agents busy), so initial bias is negligible. The R estimates are
independent and, being means over thousands of contacts, close to normal, so
(mean - exact) / (sd / sqrt(R)) follows Student's t with R - 1 = 15 degrees of
freedom: |t| > 4 has probability ~0.1%, so a correct engine fails a check about once
in a thousand seed choices, while a real modelling error (routing, wait accounting,
service sampling) shifts these numbers by many standard errors. We also require the
standard errors to be small, so the tolerance cannot hide a broken simulator.
"""

from __future__ import annotations

import math
import statistics

import pytest

from supervisor_tui.domain import erlang
from supervisor_tui.sim.single_queue import simulate_single_queue

R = 16
T_LIMIT = 4.0


def replicate(agents: int, traffic: float, aht_s: float, threshold_s: float,
              hours: float) -> list[dict[str, float]]:
    return [
        simulate_single_queue(agents=agents, arrivals_per_hour=traffic / aht_s * 3600,
                              aht_s=aht_s, threshold_s=threshold_s, patience_s=None,
                              duration_s=hours * 3600, seed=seed)
        for seed in range(1, R + 1)
    ]


def check(runs: list[dict[str, float]], key: str, exact: float, max_rel_se: float) -> None:
    values = [r[key] for r in runs]
    mean = statistics.fmean(values)
    se = statistics.stdev(values) / math.sqrt(len(values))
    assert se <= max_rel_se * exact, f"{key}: too noisy to test (se {se:.4g})"
    assert abs(mean - exact) <= T_LIMIT * se, (
        f"{key}: simulated {mean:.4g} vs Erlang C {exact:.4g} "
        f"({(mean - exact) / se:+.1f} standard errors)")


@pytest.mark.slow
def test_100_agents_90_erlangs_agree_with_erlang_c() -> None:
    # The brief's case: a big queue at 90% occupancy. 16 x 12 h ~ 350,000 contacts, ~3 s.
    agents, traffic, aht, threshold = 100, 90.0, 180.0, 20.0
    runs = replicate(agents, traffic, aht, threshold, hours=12)
    assert all(r["abandoned"] == 0 for r in runs)
    check(runs, "probability_wait", erlang.erlang_c(traffic, agents), 0.08)
    check(runs, "asa_seconds", erlang.asa(traffic, agents, aht), 0.15)
    check(runs, "service_level", erlang.service_level(traffic, agents, aht, threshold), 0.01)
    check(runs, "occupancy", traffic / agents, 0.005)
    check(runs, "aht_seconds", aht, 0.01)


@pytest.mark.slow
def test_10_agents_8_erlangs_agree_with_erlang_c() -> None:
    # A small queue where 4 in 10 wait: per contact it carries ~5x more independent
    # information (its busy periods are short), so this is the tighter check. ~2 s.
    agents, traffic, aht, threshold = 10, 8.0, 180.0, 20.0
    runs = replicate(agents, traffic, aht, threshold, hours=100)
    check(runs, "probability_wait", erlang.erlang_c(traffic, agents), 0.03)
    check(runs, "asa_seconds", erlang.asa(traffic, agents, aht), 0.06)
    check(runs, "service_level", erlang.service_level(traffic, agents, aht, threshold), 0.02)
    check(runs, "occupancy", traffic / agents, 0.005)


def test_lognormal_service_with_same_mean_waits_less() -> None:
    # Not Erlang C any more, but the direction is textbook: with cv < 1 service is less
    # variable than exponential, so waits are shorter (Kingman / Allen-Cunneen).
    common = {"agents": 10, "arrivals_per_hour": 160, "aht_s": 180, "threshold_s": 20,
              "duration_s": 200 * 3600, "seed": 4}
    expo = simulate_single_queue(service="exponential", **common)  # type: ignore[arg-type]
    logn = simulate_single_queue(service="lognormal", handle_time_cv=0.5,
                                 **common)  # type: ignore[arg-type]
    assert logn["aht_seconds"] == pytest.approx(180, rel=0.02)
    assert logn["asa_seconds"] < 0.85 * expo["asa_seconds"]
