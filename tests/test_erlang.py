"""Erlang B/C against textbook values and an independent factorial-based reference."""

from __future__ import annotations

import math
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from supervisor_tui import erlang


def erlang_c_reference(a: int, n: int) -> float:
    """The textbook formula with exact fractions and factorials (small N only)."""
    a_f = Fraction(a)
    top = a_f**n / math.factorial(n) * Fraction(n, n - a)
    bottom = sum(a_f**k / math.factorial(k) for k in range(n)) + top
    return float(top / bottom)


def test_erlang_b_small_textbook_value() -> None:
    # A=2, N=3: (8/6) / (1 + 2 + 2 + 8/6) = 0.2105
    assert erlang.erlang_b(2, 3) == pytest.approx(4 / 19)


@pytest.mark.parametrize(("a", "n"), [(2, 3), (10, 11), (10, 13), (7, 12), (20, 25)])
def test_erlang_c_matches_factorial_reference(a: int, n: int) -> None:
    assert erlang.erlang_c(a, n) == pytest.approx(erlang_c_reference(a, n), rel=1e-12)


def test_classic_staffing_example() -> None:
    # 100 calls in 30 minutes, AHT 180 s = 10 Erlangs, target 80% in 20 s.
    # 13 agents give 79.6% (just short), 14 give 88.8% with ASA 7.8 s — the widely
    # published worked example (e.g. callcentrehelper.com's Erlang C article).
    assert erlang.service_level(10, 13, 180, 20) == pytest.approx(0.7956, abs=1e-4)
    result = erlang.staffing(100, 1800, 180, 0.8, 20)
    assert result.agents == 14
    assert result.service_level == pytest.approx(0.8884, abs=1e-4)
    assert result.asa_seconds == pytest.approx(7.84, abs=0.01)
    assert result.probability_wait == pytest.approx(0.1741, abs=1e-4)
    assert result.occupancy == pytest.approx(10 / 14)


def test_occupancy_cap_adds_agents() -> None:
    # 10 Erlangs at most 65% occupancy needs ceil(10 / 0.65) = 16 agents.
    result = erlang.staffing(100, 1800, 180, 0.8, 20, max_occupancy=0.65)
    assert result.agents == 16
    assert result.occupancy <= 0.65


def test_thousands_of_erlangs_no_overflow() -> None:
    result = erlang.agents_for_target(5000 / 180, 180, 0.8, 20)
    assert result.traffic_erlangs == pytest.approx(5000)
    assert 5000 < result.agents < 5100
    assert 0.8 <= result.service_level <= 1
    assert math.isfinite(result.asa_seconds)
    # And it is the minimum: one agent fewer misses the target.
    assert erlang.service_level(5000, result.agents - 1, 180, 20) < 0.8


def test_unstable_queue() -> None:
    assert erlang.erlang_c(10, 10) == 1.0
    assert erlang.service_level(10, 9, 180, 20) == 0.0
    assert erlang.asa(10, 10, 180) == math.inf


def test_zero_traffic_needs_nobody() -> None:
    result = erlang.agents_for_target(0, 180, 0.8, 20)
    assert result.agents == 0 and result.service_level == 1.0


@pytest.mark.parametrize(
    "kwargs",
    [
        {"arrival_rate_per_s": -1},
        {"aht_s": 0},
        {"target": 1.0},
        {"target": 0},
        {"max_occupancy": 1.5},
    ],
)
def test_bad_inputs_are_refused(kwargs: dict) -> None:
    args = {"arrival_rate_per_s": 0.05, "aht_s": 180, "target": 0.8, "threshold_s": 20}
    with pytest.raises(ValueError):
        erlang.agents_for_target(**(args | kwargs))


@given(
    traffic=st.floats(0.1, 500),
    extra=st.integers(1, 50),
    aht=st.floats(10, 1200),
    threshold=st.floats(0, 600),
)
def test_more_agents_never_hurt(traffic: float, extra: int, aht: float, threshold: float) -> None:
    n = math.floor(traffic) + extra
    assert erlang.service_level(traffic, n + 1, aht, threshold) >= erlang.service_level(
        traffic, n, aht, threshold
    ) - 1e-12
    assert erlang.asa(traffic, n + 1, aht) <= erlang.asa(traffic, n, aht) + 1e-9
    assert 0 <= erlang.erlang_c(traffic, n) <= 1


@given(
    rate=st.floats(0.001, 20),
    aht=st.floats(30, 900),
    target=st.floats(0.5, 0.95),
    threshold=st.floats(5, 120),
    cap=st.one_of(st.none(), st.floats(0.6, 1.0)),
)
def test_agents_for_target_is_minimal(
    rate: float, aht: float, target: float, threshold: float, cap: float | None
) -> None:
    result = erlang.agents_for_target(rate, aht, target, threshold, cap)
    traffic = rate * aht
    n = result.agents
    assert erlang.service_level(traffic, n, aht, threshold) >= target
    if cap is not None:
        assert traffic / n <= cap + 1e-12
    fewer_ok = n - 1 > traffic and erlang.service_level(traffic, n - 1, aht, threshold) >= target
    fewer_ok = fewer_ok and (cap is None or traffic / (n - 1) <= cap)
    assert not fewer_ok
