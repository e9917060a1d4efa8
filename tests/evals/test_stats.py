"""Bootstrap intervals and paired comparisons on small inputs whose answers are known."""

from __future__ import annotations

import numpy as np
import pytest

from evals.stats import bootstrap, bootstrap_mean, bootstrap_percentile, bootstrap_ratio, paired_bootstrap


def test_constant_sample_has_a_zero_width_interval_at_its_value() -> None:
    estimate = bootstrap_mean([0.7] * 40)
    assert estimate.value == pytest.approx(0.7)
    assert estimate.low == pytest.approx(0.7) and estimate.high == pytest.approx(0.7)
    assert estimate.n == 40 and estimate.half_width == pytest.approx(0.0)


def test_interval_contains_the_true_mean_and_shrinks_with_more_data() -> None:
    """Bernoulli(0.5) samples: the 95% interval holds 0.5 and narrows roughly with 1/sqrt(n)."""
    small = bootstrap_mean(np.tile([0.0, 1.0], 25))
    large = bootstrap_mean(np.tile([0.0, 1.0], 400))
    for estimate in (small, large):
        assert estimate.low < 0.5 < estimate.high
    assert small.half_width == pytest.approx(1.96 * 0.5 / np.sqrt(50), rel=0.25)
    assert large.half_width < small.half_width / 2


def test_coverage_of_the_interval_is_near_its_nominal_level() -> None:
    """Over 200 samples of a known distribution, about 95% of the intervals contain the true mean."""
    rng = np.random.default_rng(7)
    hits = sum(
        (e := bootstrap_mean(rng.exponential(2.0, size=60), resamples=500, seed=i)).low < 2.0 < e.high
        for i in range(200)
    )
    assert 0.88 <= hits / 200 <= 0.99


def test_the_bootstrap_is_seedable() -> None:
    values = np.random.default_rng(1).random(30)
    assert bootstrap_mean(values, seed=3) == bootstrap_mean(values, seed=3)
    assert bootstrap_mean(values, seed=3) != bootstrap_mean(values, seed=4)


def test_ratio_of_sums_resamples_whole_questions() -> None:
    """3 of 4 citations supported in each question: the pooled ratio is 0.75 in every resample."""
    estimate = bootstrap_ratio([3] * 10, [4] * 10)
    assert (estimate.value, estimate.low, estimate.high) == pytest.approx((0.75, 0.75, 0.75))
    varied = bootstrap_ratio([0, 1, 2, 3], [1, 1, 4, 4])
    assert varied.value == pytest.approx(6 / 10)
    assert varied.low < varied.value < varied.high
    with pytest.raises(ValueError, match="differ in length"):
        bootstrap_ratio([1, 2], [1])


def test_undefined_resamples_are_skipped_and_empty_input_is_nan() -> None:
    """A statistic undefined on some resamples (no positives drawn) still gets an interval from the rest."""
    flags = np.array([1.0] + [0.0] * 9)

    def share_of_positives_first(idx: np.ndarray) -> float:
        return float(flags[idx].mean()) if flags[idx].any() else float("nan")

    estimate = bootstrap(10, share_of_positives_first)
    assert np.isfinite(estimate.low) and estimate.low > 0
    assert np.isnan(bootstrap_mean([]).value)


def test_percentile_interval_brackets_the_sample_percentile() -> None:
    latencies = list(range(1, 101))
    p95 = bootstrap_percentile(latencies, 95)
    assert p95.value == pytest.approx(np.percentile(latencies, 95))
    assert p95.low <= p95.value <= p95.high


def test_paired_bootstrap_detects_a_clear_difference() -> None:
    rng = np.random.default_rng(11)
    b = rng.random(80)
    a = b + 0.1 + rng.normal(0, 0.05, 80)
    comparison = paired_bootstrap(a, b, names=("new", "old"), metric="ndcg@10")
    assert comparison.significant and comparison.delta.low > 0
    assert comparison.delta.value == pytest.approx(float(np.mean(a - b)))
    assert comparison.p_value < 0.01
    assert paired_bootstrap(b, a).delta.high < 0


def test_paired_bootstrap_finds_no_difference_where_there_is_none() -> None:
    """Same distribution, independent noise per question: the interval straddles zero."""
    rng = np.random.default_rng(5)
    base = rng.random(100)
    a, b = base + rng.normal(0, 0.05, 100), base + rng.normal(0, 0.05, 100)
    comparison = paired_bootstrap(a, b)
    assert comparison.delta.low < 0 < comparison.delta.high
    assert not comparison.significant and comparison.p_value > 0.05
    identical = paired_bootstrap(base, base)
    assert not identical.significant and identical.p_value == 1.0


def test_pairing_matters() -> None:
    """A small, consistent gain hidden by large between-question spread is found only when paired."""
    rng = np.random.default_rng(2)
    b = rng.random(60) * 10
    a = b + 0.2
    assert paired_bootstrap(a, b).significant
    unpaired_a, unpaired_b = bootstrap_mean(a), bootstrap_mean(b)
    assert unpaired_a.low < unpaired_b.high  # the separate intervals overlap
