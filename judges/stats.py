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
- Several samples of one session are not independent: a session that provokes a behaviour
  tends to provoke it in every sample. :func:`clustered_estimate` accounts for that with the
  effective sample size of survey statistics (Korn and Graubard 1998): the design effect is the
  cluster-robust variance of the pooled rate over the binomial one (at least 1), the effective
  n is n over it, and the interval is the Jeffreys interval of the effective counts. It is the
  Jeffreys interval itself when every session has one sample (or the sessions agree as much as
  independent samples would), and, unlike a normal interval around a cluster-robust standard
  error, it stays inside [0, 1] and keeps its coverage for rare behaviours. Candidate and
  baseline are then compared on effective counts (rounded for the Fisher test).

Rates are fractions; :data:`PER` (100 000) scales them for display ("per 100k").
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = [
    "PER",
    "ClusteredEstimate",
    "Comparison",
    "RateEstimate",
    "clustered_estimate",
    "compare",
    "design_effect",
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
    return _beta_interval(k, n, k == 0, k == n, level)


def _beta_interval(
    k: float, n: float, none_flagged: bool, all_flagged: bool, level: float
) -> tuple[float, float]:
    """The equal-tailed interval of Beta(k + 1/2, n - k + 1/2) (counts may be fractional)."""
    if not 0 < level < 1:
        raise ValueError(f"level must be between 0 and 1, got {level}")
    from scipy.stats import beta  # type: ignore[import-untyped]  # heavy: loaded when used

    tail = (1 - level) / 2
    a, b = k + 0.5, n - k + 0.5
    low = 0.0 if none_flagged else float(beta.ppf(tail, a, b))
    high = 1.0 if all_flagged else float(beta.ppf(1 - tail, a, b))
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


@dataclass(frozen=True)
class ClusteredEstimate:
    """A rate over sessions with several samples each (fractions)."""

    k: int
    n: int
    sessions: int
    pooled: float
    """The (weighted) observed rate: flagged samples over samples, each session weighted."""
    rate: float
    """The Jeffreys rate of the effective counts."""
    low: float
    high: float
    design_effect: float
    """Cluster-robust variance over binomial variance, at least 1."""
    effective_n: float
    """``n / design_effect``: as many independent samples as the clustered ones are worth."""

    def per_100k(self) -> tuple[float, float, float]:
        """``(rate, low, high)`` per 100 000."""
        return per_100k(self.rate), per_100k(self.low), per_100k(self.high)


def design_effect(
    counts: Sequence[tuple[int, int]], weights: Sequence[float] | None = None
) -> float:
    """The design effect of ``(k, n)`` per session (each session weighted by ``weights``, or
    alike): the cluster-robust (sandwich) variance of the pooled rate over its binomial
    variance, at least 1. Where the flags say nothing (fewer than two sessions, or a rate of 0
    or 1) it is the design effect of the weights alone (Kish), 1 without weights."""
    weighted = weights is not None
    sizes = weights if weights is not None else [1.0] * len(counts)
    if len(sizes) != len(counts):
        raise ValueError("one weight per session")
    sessions = [(k, n, w) for (k, n), w in zip(counts, sizes, strict=True) if n > 0 and w > 0]
    total = sum(n for _, n, _ in sessions)
    weighted_total = sum(w * n for _, n, w in sessions)
    kish = total * sum(w * w * n for _, n, w in sessions) / weighted_total**2 if total else 1.0
    floor = max(1.0, kish) if weighted else 1.0
    rate = sum(w * k for k, _, w in sessions) / weighted_total if total else 0.0
    if len(sessions) < 2 or rate in (0.0, 1.0):
        return floor
    m = len(sessions)
    robust = m / (m - 1) * sum((w * (k - rate * n)) ** 2 for k, n, w in sessions)
    robust /= weighted_total**2
    binomial = rate * (1 - rate) / total
    return max(floor, robust / binomial)


def clustered_estimate(
    counts: Sequence[tuple[int, int]],
    weights: Sequence[float] | None = None,
    level: float = 0.95,
) -> ClusteredEstimate:
    """The (weighted) rate of ``(k, n)`` per session, with the Jeffreys interval of its
    effective counts."""
    for k, n in counts:
        _check(k, n)
    sizes = weights if weights is not None else [1.0] * len(counts)
    k = sum(k for k, _ in counts)
    n = sum(n for _, n in counts)
    weighted_n = sum(w * size for (_, size), w in zip(counts, sizes, strict=True))
    pooled = (
        sum(w * flagged for (flagged, _), w in zip(counts, sizes, strict=True)) / weighted_n
        if weighted_n
        else 0.0
    )
    deff = design_effect(counts, weights)
    n_eff = n / deff
    k_eff = pooled * n_eff
    low, high = _beta_interval(k_eff, n_eff, k == 0, k == n, level)
    return ClusteredEstimate(
        k=k,
        n=n,
        sessions=sum(1 for _, size in counts if size > 0),
        pooled=pooled,
        rate=(k_eff + 0.5) / (n_eff + 1),
        low=low,
        high=high,
        design_effect=deff,
        effective_n=n_eff,
    )


def rate_ratio(k: int, n: int, k_baseline: int, n_baseline: int) -> float:
    """Jeffreys rate of the candidate over the Jeffreys rate of the baseline (always finite)."""
    return jeffreys_rate(k, n) / jeffreys_rate(k_baseline, n_baseline)


def fisher_p(k: int, n: int, k_baseline: int, n_baseline: int) -> float:
    """Two-sided Fisher exact p-value of candidate ``k/n`` against baseline ``k_b/n_b``."""
    _check(k, n)
    _check(k_baseline, n_baseline)
    from scipy.stats import fisher_exact

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
