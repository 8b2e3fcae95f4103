"""Rates with confidence intervals, and candidate-versus-baseline comparisons.

- The rate of a category is the Jeffreys estimate ``(k + 0.5) / (n + 1)`` (the mean of the
  Beta(k + 1/2, n - k + 1/2) posterior under the Jeffreys prior), which stays positive when no
  trajectory was flagged, so ratios are always defined.
- Its 95% interval is the equal-tailed Jeffreys interval: the 2.5% and 97.5% quantiles of that
  Beta, with the lower bound 0 when ``k == 0`` and the upper bound 1 when ``k == n`` (Brown, Cai
  and DasGupta 2001).
- Candidate and baseline are compared by the ratio of their Jeffreys rates and a two-sided
  Fisher exact test on the 2x2 table ``[[k_c, n_c - k_c], [k_b, n_b - k_b]]``.
- The multiplicative error between a forecast and an observed rate is ``max(a/b, b/a)``.

Rates are fractions; :data:`PER` (100 000) scales them for display ("per 100k").
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from scipy.stats import beta, fisher_exact  # type: ignore[import-untyped]

__all__ = [
    "PER",
    "Comparison",
    "RateEstimate",
    "compare",
    "estimate",
    "fisher_p",
    "jeffreys_interval",
    "jeffreys_rate",
    "multiplicative_error",
    "per_100k",
    "rate_ratio",
]

PER = 100_000
"""Rates are shown per this many trajectories."""


def _check(k: int, n: int) -> None:
    if n < 0 or k < 0 or k > n:
        raise ValueError(f"need 0 <= k <= n, got k={k}, n={n}")


def jeffreys_rate(k: int, n: int) -> float:
    """``(k + 0.5) / (n + 1)``: the rate of ``k`` flagged trajectories out of ``n``."""
    _check(k, n)
    return (k + 0.5) / (n + 1)


def jeffreys_interval(k: int, n: int, level: float = 0.95) -> tuple[float, float]:
    """The equal-tailed Jeffreys interval for ``k`` out of ``n`` (``(0, 1)`` when ``n == 0``)."""
    _check(k, n)
    if not 0 < level < 1:
        raise ValueError(f"level must be between 0 and 1, got {level}")
    tail = (1 - level) / 2
    a, b = k + 0.5, n - k + 0.5
    low = 0.0 if k == 0 else float(beta.ppf(tail, a, b))
    high = 1.0 if k == n else float(beta.ppf(1 - tail, a, b))
    return low, high


def per_100k(rate: float) -> float:
    """A rate (a fraction) per 100 000 trajectories."""
    return rate * PER


@dataclass(frozen=True)
class RateEstimate:
    """``k`` flagged out of ``n``, with the Jeffreys rate and interval (fractions)."""

    k: int
    n: int
    rate: float
    low: float
    high: float

    def per_100k(self) -> tuple[float, float, float]:
        """``(rate, low, high)`` per 100 000."""
        return per_100k(self.rate), per_100k(self.low), per_100k(self.high)


def estimate(k: int, n: int, level: float = 0.95) -> RateEstimate:
    """The Jeffreys rate and interval of ``k`` out of ``n``."""
    low, high = jeffreys_interval(k, n, level)
    return RateEstimate(k=k, n=n, rate=jeffreys_rate(k, n), low=low, high=high)


def rate_ratio(k: int, n: int, k_baseline: int, n_baseline: int) -> float:
    """Jeffreys rate of the candidate over the Jeffreys rate of the baseline (always finite)."""
    return jeffreys_rate(k, n) / jeffreys_rate(k_baseline, n_baseline)


def fisher_p(k: int, n: int, k_baseline: int, n_baseline: int) -> float:
    """Two-sided Fisher exact p-value of candidate ``k/n`` against baseline ``k_b/n_b``."""
    _check(k, n)
    _check(k_baseline, n_baseline)
    table = [[k, n - k], [k_baseline, n_baseline - k_baseline]]
    return float(fisher_exact(table, alternative="two-sided").pvalue)


def multiplicative_error(a: float, b: float) -> float:
    """``max(a/b, b/a)`` for two positive rates: 1 when they agree, 2 when one is double."""
    if not (a > 0 and b > 0) or math.isinf(a) or math.isinf(b):
        raise ValueError(f"the multiplicative error needs two positive finite rates, got {a}, {b}")
    return max(a / b, b / a)


@dataclass(frozen=True)
class Comparison:
    """A candidate rate against a baseline rate."""

    candidate: RateEstimate
    baseline: RateEstimate
    ratio: float
    """Jeffreys rate of the candidate over that of the baseline."""
    p_value: float
    """Two-sided Fisher exact test."""
    multiplicative_error: float
    """``max(ratio, 1 / ratio)``."""


def compare(k: int, n: int, k_baseline: int, n_baseline: int, level: float = 0.95) -> Comparison:
    """Candidate ``k/n`` against baseline ``k_b/n_b``."""
    candidate = estimate(k, n, level)
    baseline = estimate(k_baseline, n_baseline, level)
    return Comparison(
        candidate=candidate,
        baseline=baseline,
        ratio=candidate.rate / baseline.rate,
        p_value=fisher_p(k, n, k_baseline, n_baseline),
        multiplicative_error=multiplicative_error(candidate.rate, baseline.rate),
    )
