"""How many sessions a measurement needs, and what a run of a given size can detect.

- **Estimating a rate** within a multiplicative error ``M``: the fewest sessions whose expected
  95% Jeffreys interval, at the rate ``R`` and with the samples the sessions are worth, lies
  within ``[R / M, R * M]``.
- **Detecting a ratio** ``X`` between candidate and baseline with power 80%: the two-sided test
  of two proportions at level 0.05 (normal approximation with the pooled variance under the
  null), the candidate at ``R * X`` with its effective samples, the baseline at ``R`` with one
  sample per session (the original model's own turn).

Samples of one session are worth less than independent ones: ``S`` samples per session with an
intra-session correlation ``icc`` have the design effect ``1 + (S - 1) * icc`` (Kish), so a
session contributes ``S / (1 + (S - 1) * icc)`` effective samples. The default ``icc`` of 0.5
is a cautious guess; ``report`` measures the design effect of a run (``effective n``).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

__all__ = [
    "Plan",
    "detectable_ratio",
    "effective_samples",
    "plan",
    "power",
    "sessions_to_detect",
    "sessions_to_estimate",
]

MAX_SESSIONS = 100_000_000


def effective_samples(samples_per_session: int, icc: float) -> float:
    """What one session's samples are worth in independent samples."""
    if samples_per_session < 1 or not 0 <= icc <= 1:
        raise ValueError("need samples_per_session >= 1 and 0 <= icc <= 1")
    return samples_per_session / (1 + (samples_per_session - 1) * icc)


def _within(rate: float, n: float, error: float) -> bool:
    """Whether the Jeffreys interval at ``rate`` with ``n`` samples lies within ``error``."""
    k = rate * n
    from scipy.stats import beta  # type: ignore[import-untyped]

    low = float(beta.ppf(0.025, k + 0.5, n - k + 0.5))
    high = float(beta.ppf(0.975, k + 0.5, n - k + 0.5))
    return low > 0 and high / rate <= error and rate / low <= error


def _fewest(works: Callable[[int], bool]) -> int:
    """The fewest sessions for which ``works(sessions)`` holds (it must be monotone)."""
    high = 1
    while not works(high):
        high *= 2
        if high > MAX_SESSIONS:
            raise ValueError("more than 100 million sessions: not a plan")
    low = high // 2
    while low + 1 < high:
        middle = (low + high) // 2
        if works(middle):
            high = middle
        else:
            low = middle
    return high


def sessions_to_estimate(rate: float, error: float, per_session: float) -> int:
    """Sessions whose interval for ``rate`` lies within the multiplicative ``error``."""
    if not 0 < rate < 1 or error <= 1:
        raise ValueError("need 0 < rate < 1 and a multiplicative error above 1")
    return _fewest(lambda sessions: _within(rate, sessions * per_session, error))


def power(
    rate: float, ratio: float, candidate_n: float, baseline_n: float, alpha: float = 0.05
) -> float:
    """Power of the two-sided two-proportion test of ``rate * ratio`` against ``rate``."""
    from scipy.stats import norm

    p1, p0 = min(rate * ratio, 1.0), rate
    pooled = (p1 * candidate_n + p0 * baseline_n) / (candidate_n + baseline_n)
    null_sd = math.sqrt(pooled * (1 - pooled) * (1 / candidate_n + 1 / baseline_n))
    sd = math.sqrt(p1 * (1 - p1) / candidate_n + p0 * (1 - p0) / baseline_n)
    if sd == 0:
        return 1.0 if p1 != p0 else 0.0
    z = float(norm.ppf(1 - alpha / 2))
    return float(norm.cdf((abs(p1 - p0) - z * null_sd) / sd))


def sessions_to_detect(
    rate: float, ratio: float, per_session: float, target: float = 0.8, alpha: float = 0.05
) -> int:
    """Sessions to detect ``ratio`` with the given power (baseline: one sample per session)."""
    if not 0 < rate < 1 or ratio <= 0 or ratio == 1 or rate * ratio >= 1:
        raise ValueError("need 0 < rate < 1, a ratio other than 1, and rate * ratio < 1")
    return _fewest(lambda s: power(rate, ratio, s * per_session, s, alpha) >= target)


def detectable_ratio(
    rate: float, candidate_n: float, baseline_n: float, target: float = 0.8, alpha: float = 0.05
) -> float | None:
    """The smallest ratio above 1 that the test detects with the given power, or None when
    not even the whole range (up to ``1 / rate``) can be."""
    if not (0 < rate < 1 and candidate_n > 0 and baseline_n > 0):
        return None
    top = (1 - 1e-9) / rate
    if power(rate, top, candidate_n, baseline_n, alpha) < target:
        return None
    low, high = 1.0, top
    for _ in range(60):
        middle = (low + high) / 2
        if power(rate, middle, candidate_n, baseline_n, alpha) >= target:
            high = middle
        else:
            low = middle
    return high


@dataclass(frozen=True)
class Plan:
    """Sessions needed for a rate and a ratio."""

    rate: float
    ratio: float
    error: float
    samples_per_session: int
    icc: float
    per_session: float
    """Effective samples per session."""
    to_estimate: int
    """Sessions to estimate ``rate`` within ``error``."""
    to_detect: int
    """Sessions to detect ``ratio`` against the baseline with 80% power."""


def plan(rate: float, ratio: float, error: float, samples_per_session: int, icc: float) -> Plan:
    per_session = effective_samples(samples_per_session, icc)
    return Plan(
        rate=rate,
        ratio=ratio,
        error=error,
        samples_per_session=samples_per_session,
        icc=icc,
        per_session=per_session,
        to_estimate=sessions_to_estimate(rate, error, per_session),
        to_detect=sessions_to_detect(rate, ratio, per_session),
    )
