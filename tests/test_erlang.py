"""Erlang B/C against textbook values and independent references.

The references below do not share code with ``erlang``: exact fractions and
factorials for small N, log-space (lgamma + log-sum-exp) for thousands of Erlangs.
"""

from __future__ import annotations

import json
import math
import time
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from supervisor_tui.domain import erlang


def erlang_b_reference(a: int, n: int) -> float:
    """(A^N/N!) / sum_{k<=N} A^k/k!, exactly."""
    terms = [Fraction(a) ** k / math.factorial(k) for k in range(n + 1)]
    return float(terms[-1] / sum(terms))


def erlang_c_reference(a: int, n: int) -> float:
    """The textbook Erlang C formula with exact fractions and factorials (N > A)."""
    a_f = Fraction(a)
    top = a_f**n / math.factorial(n) * Fraction(n, n - a)
    bottom = sum(a_f**k / math.factorial(k) for k in range(n)) + top
    return float(top / bottom)


def sl_reference(a: int, n: int, aht: float, threshold: float) -> float:
    return 1 - erlang_c_reference(a, n) * math.exp(-(n - a) * threshold / aht)


def erlang_b_log_reference(a: float, n: int) -> float:
    """Erlang B in log space, for traffic far beyond what factorials can hold."""
    logs = [k * math.log(a) - math.lgamma(k + 1) for k in range(n + 1)]
    top = max(logs)
    return math.exp(logs[-1] - top) / math.fsum(math.exp(x - top) for x in logs)


# --- textbook values ---------------------------------------------------------------


def test_small_textbook_values() -> None:
    # A=2, N=3: B = (8/6) / (1 + 2 + 2 + 8/6) = 4/19 ≈ 0.2105; C = 4/9 ≈ 0.4444.
    assert erlang.erlang_b(2, 3) == pytest.approx(4 / 19)
    assert erlang.erlang_b(2, 3) == pytest.approx(0.2105, abs=1e-4)
    assert erlang.erlang_c(2, 3) == pytest.approx(4 / 9)
    # A=10, N=11: the classic "one agent over the traffic" case, C ≈ 0.6821.
    assert erlang.erlang_c(10, 11) == pytest.approx(0.6821, abs=1e-4)


@pytest.mark.parametrize(("a", "n"), [(1, 1), (2, 3), (5, 5), (10, 11), (10, 20), (30, 40)])
def test_erlang_b_matches_factorial_reference(a: int, n: int) -> None:
    assert erlang.erlang_b(a, n) == pytest.approx(erlang_b_reference(a, n), rel=1e-12)


@pytest.mark.parametrize(("a", "n"), [(2, 3), (10, 11), (10, 13), (7, 12), (20, 25), (50, 60)])
def test_erlang_c_matches_factorial_reference(a: int, n: int) -> None:
    assert erlang.erlang_c(a, n) == pytest.approx(erlang_c_reference(a, n), rel=1e-12)


def test_classic_staffing_example() -> None:
    # 100 calls in 30 minutes at AHT 180 s = 100 * 180 / 1800 = 10 Erlangs, 80/20.
    # First find the answer independently with the factorial formula...
    needed = next(n for n in range(11, 40) if sl_reference(10, n, 180, 20) >= 0.8)
    assert needed == 14  # the widely published answer, and the math agrees
    assert sl_reference(10, 13, 180, 20) == pytest.approx(0.7956, abs=1e-4)  # just short
    # ... then check the module reaches the same answer with the same figures.
    result = erlang.staffing(100, 1800, 180, 0.8, 20)
    assert result.agents == needed
    assert result.traffic_erlangs == pytest.approx(10)
    assert result.service_level == pytest.approx(sl_reference(10, 14, 180, 20), rel=1e-12)
    assert result.service_level == pytest.approx(0.8884, abs=1e-4)
    assert result.probability_wait == pytest.approx(erlang_c_reference(10, 14), rel=1e-12)
    assert result.asa_seconds == pytest.approx(erlang_c_reference(10, 14) * 180 / 4)
    assert result.asa_seconds == pytest.approx(7.84, abs=0.01)
    assert result.occupancy == pytest.approx(10 / 14)


def test_predictions_for_given_agents() -> None:
    assert erlang.service_level(10, 14, 180, 20) == pytest.approx(sl_reference(10, 14, 180, 20))
    assert erlang.asa(10, 14, 180) == pytest.approx(erlang_c_reference(10, 14) * 180 / 4)
    assert erlang.occupancy(10, 14) == pytest.approx(10 / 14)
    assert erlang.occupancy(10, 5) == 1.0  # saturated, never above 100%
    assert erlang.occupancy(0, 0) == 0.0
    # Threshold 0: SL is the share that does not wait at all.
    assert erlang.service_level(10, 14, 180, 0) == pytest.approx(1 - erlang.erlang_c(10, 14))


# --- occupancy cap ----------------------------------------------------------------


def test_occupancy_cap_adds_agents() -> None:
    # 10 Erlangs at most 65% occupancy needs ceil(10 / 0.65) = 16 agents.
    result = erlang.staffing(100, 1800, 180, 0.8, 20, max_occupancy=0.65)
    assert result.agents == 16
    assert result.occupancy <= 0.65


def test_occupancy_cap_met_exactly_is_not_rounded_up() -> None:
    # 140 contacts in 30 min at AHT 270 s = 21 Erlangs; 21 / 0.7 is 30.000000000000004
    # in floats, yet 30 agents are exactly 70% busy and meet a 70% cap.
    assert 21 / 0.7 > 30
    result = erlang.staffing(140, 1800, 270, 0.5, 20, max_occupancy=0.7)
    assert result.traffic_erlangs == 21
    assert result.agents == 30


def test_cap_of_one_is_no_cap() -> None:
    plain = erlang.staffing(100, 1800, 180, 0.8, 20)
    assert erlang.staffing(100, 1800, 180, 0.8, 20, max_occupancy=1.0) == plain


# --- large traffic ------------------------------------------------------------------


def test_thousands_of_erlangs_match_log_space_reference() -> None:
    # A=5000, N=5100: A^N/N! overflows any float; the recursion must not.
    b = erlang.erlang_b(5000, 5100)
    assert b == pytest.approx(erlang_b_log_reference(5000, 5100), rel=1e-9)
    c = erlang.erlang_c(5000, 5100)
    assert c == pytest.approx(5100 * b / (5100 - 5000 * (1 - b)), rel=1e-9)
    assert 0 < b < c < 1


def test_4000_erlangs_fast_sane_and_minimal() -> None:
    aht, threshold = 300.0, 20.0
    t0 = time.perf_counter()
    result = erlang.agents_for_target(4000 / aht, aht, 0.8, threshold)
    elapsed = time.perf_counter() - t0
    # Not a benchmark (see benchmarks/bench_erlang.py, ~1-2 ms): a guard against an
    # O(N²) search, which takes seconds here. 1000x headroom for a busy CI box.
    assert elapsed < 2.0
    n = result.agents
    assert result.traffic_erlangs == pytest.approx(4000)
    assert 4000 < n < 4100
    assert 0.8 <= result.service_level <= 1
    assert 0 < result.probability_wait < 1
    assert math.isfinite(result.asa_seconds) and result.asa_seconds > 0
    assert erlang.service_level(4000, n - 1, aht, threshold) < 0.8  # minimal
    levels = [erlang.service_level(4000, k, aht, threshold) for k in range(n - 5, n + 6)]
    assert all(0 <= x <= 1 for x in levels)
    assert levels == sorted(levels)  # monotone in N


def test_unstable_queue() -> None:
    assert erlang.erlang_c(10, 10) == 1.0
    assert erlang.erlang_c(10, 3) == 1.0
    assert erlang.service_level(10, 9, 180, 20) == 0.0
    assert erlang.asa(10, 10, 180) == math.inf


def test_zero_traffic_needs_nobody() -> None:
    result = erlang.agents_for_target(0, 180, 0.8, 20)
    assert result.agents == 0 and result.service_level == 1.0
    assert result.asa_seconds == 0.0 and result.probability_wait == 0.0
    assert erlang.service_level(0, 0, 180, 20) == 1.0
    assert erlang.asa(0, 0, 180) == 0.0


def test_to_dict_is_the_cli_json_contract() -> None:
    result = erlang.staffing(100, 1800, 180, 0.8, 20, max_occupancy=0.85)
    data = json.loads(json.dumps(result.to_dict()))
    for key in ("agents", "service_level", "asa_seconds", "occupancy", "probability_wait"):
        assert data[key] == getattr(result, key)
    assert isinstance(data["agents"], int)


# --- validation ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs",
    [
        {"arrival_rate_per_s": -1},
        {"arrival_rate_per_s": math.nan},
        {"arrival_rate_per_s": math.inf},
        {"aht_s": 0},
        {"aht_s": -5},
        {"aht_s": math.nan},
        {"target": 1.5},
        {"target": -0.1},
        {"target": math.nan},
        {"threshold_s": -1},
        {"threshold_s": math.nan},
        {"max_occupancy": 1.5},
        {"max_occupancy": 0},
    ],
)
def test_bad_inputs_are_refused(kwargs: dict) -> None:
    args = {"arrival_rate_per_s": 0.05, "aht_s": 180, "target": 0.8, "threshold_s": 20}
    with pytest.raises(ValueError, match="must"):
        erlang.agents_for_target(**(args | kwargs))


@pytest.mark.parametrize(("contacts", "interval"), [(100, 0), (100, -1), (-1, 1800)])
def test_staffing_refuses_bad_interval_or_contacts(contacts: float, interval: float) -> None:
    with pytest.raises(ValueError, match=r"interval|contacts"):
        erlang.staffing(contacts, interval, 180, 0.8, 20)


def test_formulas_refuse_bad_inputs() -> None:
    with pytest.raises(ValueError):
        erlang.erlang_b(-1, 3)
    with pytest.raises(ValueError):
        erlang.erlang_b(1, -3)
    with pytest.raises(ValueError):
        erlang.erlang_c(math.nan, 3)
    with pytest.raises(ValueError):
        erlang.service_level(10, 14, 0, 20)
    with pytest.raises(ValueError):
        erlang.asa(10, 14, -180)


# --- properties ---------------------------------------------------------------------


@given(a=st.integers(0, 30), n=st.integers(0, 40))
def test_erlang_b_recursion_equals_closed_form(a: int, n: int) -> None:
    assert erlang.erlang_b(a, n) == pytest.approx(erlang_b_reference(a, n), rel=1e-12, abs=1e-300)


@given(traffic=st.floats(0.01, 2000), n=st.integers(0, 2100))
def test_blocking_and_waiting_are_probabilities(traffic: float, n: int) -> None:
    b, c = erlang.erlang_b(traffic, n), erlang.erlang_c(traffic, n)
    assert 0 <= b <= 1 and 0 <= c <= 1
    assert c >= b - 1e-15  # waiting is at least as likely as being blocked
    assert erlang.erlang_b(traffic, n + 1) <= b


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
    assert erlang.erlang_c(traffic, n + 1) <= erlang.erlang_c(traffic, n) + 1e-12


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
    assert n > traffic
    assert erlang.service_level(traffic, n, aht, threshold) >= target
    if cap is not None:
        assert traffic / n <= cap * (1 + 1e-9)
    # One agent fewer must fail the target or the cap.
    fewer_ok = n - 1 > traffic and erlang.service_level(traffic, n - 1, aht, threshold) >= target
    fewer_ok = fewer_ok and (cap is None or traffic / (n - 1) <= cap)
    assert not fewer_ok


# -- whatever a source sends, staffing answers at once (issue #11) ---------------------

def test_a_target_of_100_percent_terminates_with_a_capped_answer() -> None:
    result = erlang.agents_for_target(50 / 180, 180, 1.0, 20)
    assert result.agents > erlang.agents_for_target(50 / 180, 180, 0.999, 20).agents
    assert result.service_level == 1.0
    # No threshold: SL can only reach 100% in rounding; the search is bounded anyway.
    bounded = erlang.agents_for_target(50 / 180, 180, 1.0, 0)
    assert 50 < bounded.agents <= 51 + erlang._max_extra(50)


def test_a_target_of_zero_is_met_by_the_first_stable_staffing() -> None:
    assert erlang.agents_for_target(50 / 180, 180, 0, 20).agents == 51


@pytest.mark.parametrize("traffic", [2e5, 1e7, 1e27])
def test_huge_traffic_is_staffed_in_microseconds(traffic: float) -> None:
    started = time.perf_counter()
    result = erlang.agents_for_target(traffic / 180, 180, 0.8, 20, max_occupancy=0.85)
    assert time.perf_counter() - started < 0.05
    assert result.agents >= traffic / 0.85 * (1 - 1e-9)
    assert 0.8 <= result.service_level <= 1


def test_the_approximation_agrees_with_the_exact_search_at_the_cap() -> None:
    below = erlang.agents_for_target(99_000 / 180, 180, 0.8, 20)
    above = erlang.agents_for_target(101_000 / 180, 180, 0.8, 20)
    assert below.agents - 99_000 == pytest.approx(above.agents - 101_000, abs=2)
    exact = erlang.agents_for_target(90_000 / 180, 180, 0.8, 5)
    approx = erlang._approximate(90_000.0, 180, 0.8, 5, 90_001)
    assert abs(exact.agents - approx.agents) <= 3
