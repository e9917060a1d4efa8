"""Bootstrap confidence intervals over per-question values, and paired bootstrap comparisons.

Every metric of the evaluation is a statistic of per-question values (a mean, a ratio of sums, a
percentile). Resampling the questions with replacement and recomputing the statistic gives its
sampling distribution; the percentile interval of that distribution is the confidence interval.
A paired comparison resamples the same questions for both configurations, so the per-question
differences carry the comparison and question difficulty cancels out.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy.stats import norm

RESAMPLES = 2000
CONFIDENCE = 0.95

Values = Sequence[float] | NDArray[np.float64]
"""Per-question values: a list or a float array."""
Indices = NDArray[np.intp]
Statistic = Callable[[Indices], float]
"""A statistic of the resampled questions, given their indices (with repeats) into the original arrays."""


@dataclass(frozen=True)
class Estimate:
    """A point estimate with its bootstrap percentile interval over ``n`` questions."""

    value: float
    low: float
    high: float
    n: int

    @property
    def half_width(self) -> float:
        """Half the width of the interval."""
        return (self.high - self.low) / 2

    def as_json(self) -> dict[str, float | int]:
        """The baseline/report shape."""
        return {"value": self.value, "low": self.low, "high": self.high, "n": self.n}


@dataclass(frozen=True)
class Comparison:
    """Paired difference ``a - b`` of one statistic over the same questions, with its interval."""

    a: str
    b: str
    metric: str
    delta: Estimate
    p_value: float
    """Two-sided bootstrap p-value: twice the share of resampled deltas on the far side of zero."""

    @property
    def significant(self) -> bool:
        """True when the interval excludes zero."""
        return self.delta.low > 0 or self.delta.high < 0


def _rng(seed: int) -> np.random.Generator:
    return np.random.default_rng(seed)


def _resampled_indices(n: int, resamples: int, seed: int) -> NDArray[np.intp]:
    return _rng(seed).integers(0, n, size=(resamples, n), dtype=np.intp)


def _interval(samples: NDArray[np.float64], confidence: float) -> tuple[float, float]:
    finite = samples[np.isfinite(samples)]
    if finite.size == 0:
        return float("nan"), float("nan")
    tail = (1 - confidence) / 2 * 100
    low, high = np.percentile(finite, [tail, 100 - tail])
    return float(low), float(high)


def bootstrap(
    n: int,
    statistic: Statistic,
    *,
    resamples: int = RESAMPLES,
    confidence: float = CONFIDENCE,
    seed: int = 0,
) -> Estimate:
    """Percentile bootstrap of ``statistic`` over ``n`` questions; NaN resamples (undefined) are skipped."""
    if n == 0:
        return Estimate(float("nan"), float("nan"), float("nan"), 0)
    value = statistic(np.arange(n, dtype=np.intp))
    draws = np.array([statistic(idx) for idx in _resampled_indices(n, resamples, seed)], dtype=np.float64)
    low, high = _interval(draws, confidence)
    return Estimate(float(value), low, high, n)


def bootstrap_mean(
    values: Values,
    *,
    resamples: int = RESAMPLES,
    confidence: float = CONFIDENCE,
    seed: int = 0,
) -> Estimate:
    """Mean of per-question values with its percentile bootstrap interval."""
    x = np.asarray(values, dtype=np.float64)
    if x.size == 0:
        return Estimate(float("nan"), float("nan"), float("nan"), 0)
    draws = x[_resampled_indices(x.size, resamples, seed)].mean(axis=1)
    low, high = _interval(draws, confidence)
    return Estimate(float(x.mean()), low, high, int(x.size))


def bootstrap_ratio(
    numerators: Values,
    denominators: Values,
    *,
    resamples: int = RESAMPLES,
    confidence: float = CONFIDENCE,
    seed: int = 0,
) -> Estimate:
    """Ratio of sums (e.g. supported citations / citations, pooled over questions), resampling questions."""
    num = np.asarray(numerators, dtype=np.float64)
    den = np.asarray(denominators, dtype=np.float64)
    if num.shape != den.shape:
        raise ValueError(f"numerators ({num.size}) and denominators ({den.size}) differ in length")

    def ratio(idx: Indices) -> float:
        total = den[idx].sum()
        return float(num[idx].sum() / total) if total > 0 else float("nan")

    return bootstrap(num.size, ratio, resamples=resamples, confidence=confidence, seed=seed)


def bootstrap_percentile(
    values: Values,
    q: float,
    *,
    resamples: int = RESAMPLES,
    confidence: float = CONFIDENCE,
    seed: int = 0,
) -> Estimate:
    """The ``q``-th percentile (0-100) of the values, e.g. latency p95, with its bootstrap interval."""
    x = np.asarray(values, dtype=np.float64)
    return bootstrap(
        x.size, lambda idx: float(np.percentile(x[idx], q)), resamples=resamples, confidence=confidence, seed=seed
    )


def paired_bootstrap(
    a: Values,
    b: Values,
    *,
    names: tuple[str, str] = ("a", "b"),
    metric: str = "",
    resamples: int = RESAMPLES,
    confidence: float = CONFIDENCE,
    seed: int = 0,
) -> Comparison:
    """Mean of the per-question differences ``a - b`` with its interval, resampling the questions together."""
    x, y = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if x.shape != y.shape:
        raise ValueError(f"paired samples differ in length: {x.size} vs {y.size}")
    diff = x - y
    if diff.size == 0:
        nan = float("nan")
        return Comparison(names[0], names[1], metric, Estimate(nan, nan, nan, 0), nan)
    draws = diff[_resampled_indices(diff.size, resamples, seed)].mean(axis=1)
    low, high = _interval(draws, confidence)
    observed = float(diff.mean())
    if np.all(diff == 0):
        p_value = 1.0
    else:
        far_side = np.mean(draws <= 0) if observed > 0 else np.mean(draws >= 0)
        p_value = float(min(1.0, 2 * far_side))
    return Comparison(names[0], names[1], metric, Estimate(observed, low, high, int(diff.size)), p_value)


def wilson_interval(successes: int, n: int, confidence: float = CONFIDENCE) -> tuple[float, float]:
    """Wilson score interval of a proportion: unlike the bootstrap it stays informative at 0/n or n/n
    (0 successes in 9 probes still allows a rate up to about 30%)."""
    if n == 0:
        return float("nan"), float("nan")
    z = float(norm.ppf(1 - (1 - confidence) / 2))
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    spread = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - spread), min(1.0, centre + spread)
