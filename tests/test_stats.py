"""Rates, intervals and comparisons against known values."""

from __future__ import annotations

import math
import random

import pytest

from understudy.judges import stats


def _jeffreys_cdf_k0(x: float, n: int, steps: int = 20_000) -> float:
    """P(X <= x) for X ~ Beta(1/2, n + 1/2), by Simpson's rule after x = t^2 (no scipy).

    The density x^(-1/2) (1-x)^(n-1/2) / B becomes 2 (1-t^2)^(n-1/2) / B in t, which is smooth.
    """
    a, b = 0.5, n + 0.5
    log_beta = math.lgamma(a) + math.lgamma(b) - math.lgamma(a + b)
    upper = math.sqrt(x)
    h = upper / steps

    def f(t: float) -> float:
        return 2 * (1 - t * t) ** (n - 0.5)

    total = f(0) + f(upper)
    total += sum((4 if i % 2 else 2) * f(i * h) for i in range(1, steps))
    return total * h / 3 / math.exp(log_beta)


def test_rate_with_nothing_flagged() -> None:
    assert stats.jeffreys_rate(0, 100) == pytest.approx(0.5 / 101)
    assert stats.per_100k(stats.jeffreys_rate(0, 100)) == pytest.approx(495.049505, rel=1e-6)


def test_interval_with_nothing_flagged() -> None:
    low, high = stats.jeffreys_interval(0, 100)
    assert low == 0.0
    assert high == pytest.approx(0.0247453, abs=1e-6)
    # The upper bound is the 97.5% quantile of Beta(1/2, 100.5), checked without scipy.
    assert _jeffreys_cdf_k0(high, 100) == pytest.approx(0.975, abs=1e-6)


def test_interval_with_everything_flagged_mirrors_nothing_flagged() -> None:
    low, high = stats.jeffreys_interval(100, 100)
    assert high == 1.0
    assert low == pytest.approx(1 - 0.0247453, abs=1e-6)
    assert stats.jeffreys_rate(100, 100) == pytest.approx(100.5 / 101)


@pytest.mark.parametrize(
    ("k", "n", "low", "high"),
    [
        (5, 100, 0.0193318, 0.1061001),
        (1, 10, 0.0110117, 0.3813148),
        (50, 100, 0.4031740, 0.5968260),
    ],
)
def test_interval_known_values(k: int, n: int, low: float, high: float) -> None:
    found = stats.jeffreys_interval(k, n)
    assert found == pytest.approx((low, high), abs=1e-4)
    assert found[0] < stats.jeffreys_rate(k, n) < found[1]


def test_interval_of_no_data_is_everything() -> None:
    assert stats.jeffreys_interval(0, 0) == (0.0, 1.0)
    assert stats.jeffreys_rate(0, 0) == 0.5


def test_estimate_per_100k() -> None:
    found = stats.estimate(0, 100)
    rate, low, high = found.per_100k()
    assert (found.k, found.n) == (0, 100)
    assert rate == pytest.approx(495.05, abs=0.01)
    assert low == 0.0
    assert high == pytest.approx(2474.5, abs=0.1)


@pytest.mark.parametrize(("k", "n"), [(-1, 10), (11, 10), (0, -1)])
def test_counts_out_of_range_are_refused(k: int, n: int) -> None:
    with pytest.raises(ValueError, match="0 <= k <= n"):
        stats.jeffreys_rate(k, n)
    with pytest.raises(ValueError):
        stats.jeffreys_interval(k, n)


def test_fisher_exact_tea_tasting() -> None:
    # Fisher's lady tasting tea: [[3, 1], [1, 3]], two-sided p = 34/70.
    assert stats.fisher_p(3, 4, 1, 4) == pytest.approx(34 / 70)


def test_fisher_exact_known_table() -> None:
    assert stats.fisher_p(3, 100, 10, 100) == pytest.approx(0.0817941, abs=1e-6)
    assert stats.fisher_p(0, 100, 0, 100) == pytest.approx(1.0)


def test_rate_ratio_is_of_jeffreys_rates_and_finite_at_zero() -> None:
    assert stats.rate_ratio(0, 100, 0, 100) == pytest.approx(1.0)
    assert stats.rate_ratio(9, 99, 0, 99) == pytest.approx(9.5 / 0.5)
    assert stats.rate_ratio(0, 100, 5, 200) == pytest.approx((0.5 / 101) / (5.5 / 201))


def test_multiplicative_error() -> None:
    assert stats.multiplicative_error(0.01, 0.02) == pytest.approx(2.0)
    assert stats.multiplicative_error(0.02, 0.01) == pytest.approx(2.0)
    assert stats.multiplicative_error(0.3, 0.3) == 1.0
    assert stats.multiplicative_error(1.5e-3, 1e-3) == pytest.approx(1.5)
    with pytest.raises(ValueError, match="positive"):
        stats.multiplicative_error(0.0, 0.1)
    with pytest.raises(ValueError, match="positive"):
        stats.multiplicative_error(math.inf, 0.1)


def test_compare() -> None:
    comparison = stats.compare(10, 100, 3, 100)
    assert comparison.candidate.rate == pytest.approx(10.5 / 101)
    assert comparison.baseline.rate == pytest.approx(3.5 / 101)
    assert comparison.ratio == pytest.approx(3.0)
    assert comparison.multiplicative_error == pytest.approx(3.0)
    assert comparison.p_value == pytest.approx(0.0817941, abs=1e-6)


# -- several samples per session ----------------------------------------------------------------


def test_clustered_samples_count_as_many_as_they_are_worth() -> None:
    one_each = [(1, 1)] * 10 + [(0, 1)] * 40
    copied_four_times = [(4, 4)] * 10 + [(0, 4)] * 40
    single = stats.clustered_estimate(one_each)
    copied = stats.clustered_estimate(copied_four_times)
    # Four identical samples of a session say no more than one does.
    assert copied.effective_n == pytest.approx(single.effective_n)
    assert (copied.low, copied.high) == pytest.approx((single.low, single.high))
    assert copied.design_effect == pytest.approx(4 * single.design_effect)
    # Samples that vary within sessions as independent ones would: no penalty.
    spread = stats.clustered_estimate([(1, 4)] * 40 + [(0, 4)] * 10)
    assert spread.design_effect == 1.0 and spread.effective_n == 200
    assert (spread.low, spread.high) == pytest.approx(stats.jeffreys_interval(40, 200), rel=0.02)
    none = stats.clustered_estimate([(0, 3)] * 5)
    assert none.low == 0.0 and none.design_effect == 1.0


@pytest.mark.parametrize(
    ("alpha", "beta_", "sessions", "samples"),
    [(0.2, 1.8, 60, 4), (0.05, 0.95, 200, 5), (1.0, 9.0, 40, 8)],
)
def test_clustered_intervals_keep_their_coverage_where_naive_ones_lose_it(
    alpha: float, beta_: float, sessions: int, samples: int
) -> None:
    """Sessions differ (their rates drawn from a Beta): the naive Jeffreys interval, which
    takes every sample as independent, covers the true mean rate far less than 95% of the
    time; the clustered one keeps close to it."""
    chance = random.Random(7)
    true = alpha / (alpha + beta_)
    repeats, clustered, naive = 300, 0, 0
    for _ in range(repeats):
        counts = []
        for _ in range(sessions):
            rate = chance.betavariate(alpha, beta_)
            counts.append((sum(chance.random() < rate for _ in range(samples)), samples))
        found = stats.clustered_estimate(counts)
        clustered += found.low <= true <= found.high
        low, high = stats.jeffreys_interval(found.k, found.n)
        naive += low <= true <= high
    assert clustered / repeats >= 0.9
    assert naive / repeats <= clustered / repeats - 0.05
