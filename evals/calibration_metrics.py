"""Calibration of the confidence score: reliability bins and expected calibration error (ECE).

A question's label is 1 when its answer is right: the question is answerable and the answer contains its
key facts. Answering an unanswerable question is wrong (0), and so is abstaining on an answerable one; an
abstained answer still counts at its confidence score. A calibrated score says "0.8" when 80% of such
answers are right.

ECE with equal-width bins over [0, 1]: sum over bins of (bin size / n) * |accuracy - mean confidence|.
Its interval resamples the questions (``evals.stats.bootstrap``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from evals.stats import RESAMPLES, Estimate, bootstrap

BINS = 10


@dataclass(frozen=True)
class Bin:
    """One confidence bin ``[low, high)`` (the last one includes 1.0)."""

    low: float
    high: float
    count: int
    confidence: float
    """Mean confidence score of the bin's questions (NaN when empty)."""
    accuracy: float
    """Share of the bin's questions answered right (NaN when empty)."""


def _arrays(scores: Sequence[float], labels: Sequence[int | bool]) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    x = np.clip(np.asarray(scores, dtype=np.float64), 0.0, 1.0)
    y = np.asarray(labels, dtype=np.float64)
    if x.shape != y.shape:
        raise ValueError(f"scores ({x.size}) and labels ({y.size}) differ in length")
    return x, y


def _bin_index(x: NDArray[np.float64], bins: int) -> NDArray[np.intp]:
    return np.minimum((x * bins).astype(np.intp), bins - 1)


def reliability(scores: Sequence[float], labels: Sequence[int | bool], bins: int = BINS) -> tuple[Bin, ...]:
    """Per equal-width bin: how many questions, their mean confidence and their accuracy."""
    x, y = _arrays(scores, labels)
    index = _bin_index(x, bins)
    out = []
    for b in range(bins):
        mask = index == b
        count = int(mask.sum())
        nan = float("nan")
        out.append(
            Bin(
                low=b / bins,
                high=(b + 1) / bins,
                count=count,
                confidence=float(x[mask].mean()) if count else nan,
                accuracy=float(y[mask].mean()) if count else nan,
            )
        )
    return tuple(out)


def _ece(x: NDArray[np.float64], y: NDArray[np.float64], bins: int) -> float:
    if x.size == 0:
        return float("nan")
    index = _bin_index(x, bins)
    counts = np.bincount(index, minlength=bins).astype(np.float64)
    confidence = np.bincount(index, weights=x, minlength=bins)
    correct = np.bincount(index, weights=y, minlength=bins)
    # sum over bins of |correct - confidence| / n equals sum of (count / n) * |accuracy - mean confidence|
    return float(np.abs(correct - confidence).sum() / x.size) if counts.sum() else float("nan")


def expected_calibration_error(scores: Sequence[float], labels: Sequence[int | bool], bins: int = BINS) -> float:
    """ECE over equal-width bins (0 = calibrated; NaN without questions)."""
    x, y = _arrays(scores, labels)
    return _ece(x, y, bins)


def bootstrap_ece(
    scores: Sequence[float],
    labels: Sequence[int | bool],
    *,
    bins: int = BINS,
    resamples: int = RESAMPLES,
    seed: int = 0,
) -> Estimate:
    """ECE with its percentile bootstrap interval (resampling questions)."""
    x, y = _arrays(scores, labels)
    return bootstrap(x.size, lambda idx: _ece(x[idx], y[idx], bins), resamples=resamples, seed=seed)
