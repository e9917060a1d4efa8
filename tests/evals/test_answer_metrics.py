"""What users receive, measured: key facts, calibration (ECE, reliability bins), abstention per kind and at a
fixed answered rate, lint counts and per-split metrics, on outcomes written here."""

from __future__ import annotations

import math

import numpy as np
import pytest

from assistant.records import Sentence
from evals.answer_eval import (
    ChannelAnswer,
    Outcome,
    answer_metrics,
    facts_in,
    operating_point,
    summarize,
    thresholds_of,
    verbatim_in,
)
from evals.calibration_metrics import bootstrap_ece, expected_calibration_error, reliability
from evals.lint import Defect


def test_ece_and_reliability_bins() -> None:
    # two questions at 0.9, one right: |0.5 - 0.9| * 2/4; two at 0.1, none right: |0 - 0.1| * 2/4
    scores, labels = [0.9, 0.9, 0.1, 0.1], [1, 0, 0, 0]
    assert expected_calibration_error(scores, labels) == pytest.approx(0.25)
    assert expected_calibration_error([0.75] * 4, [1, 1, 1, 0]) == pytest.approx(0.0)
    assert expected_calibration_error([1.0, 1.0], [1, 1]) == pytest.approx(0.0)  # 1.0 falls in the last bin
    assert math.isnan(expected_calibration_error([], []))
    bins = reliability(scores, labels, bins=5)
    assert [b.count for b in bins] == [2, 0, 0, 0, 2]
    assert bins[4].accuracy == pytest.approx(0.5) and bins[4].confidence == pytest.approx(0.9)
    assert math.isnan(bins[1].accuracy) and (bins[0].low, bins[0].high) == (0.0, 0.2)
    estimate = bootstrap_ece(scores * 5, labels * 5, resamples=300)
    assert estimate.value == pytest.approx(0.25) and estimate.low <= 0.25 <= estimate.high and estimate.n == 20
    with pytest.raises(ValueError, match="differ in length"):
        expected_calibration_error([0.5], [1, 0])


def test_key_facts_match_case_whitespace_and_markers() -> None:
    text = "The reset link is VALID for 60\n minutes [1]. It works “only once” [1, 2]."
    assert facts_in(text, ["valid for 60 minutes", 'works "only once"']) == 2
    assert facts_in(text, ["valid for 61 minutes", "is valid"]) == 1
    assert facts_in("Contact support.", ["valid for 60 minutes"]) == 0


def test_verbatim_grounding_reads_steps_and_table_rows() -> None:
    source = (
        "Create a schedule\n1. Go to Invoices > Recurring and click New recurring invoice.\n"
        "| Charge | What it is | When |\n| Subscription | Your plan: Pro ($49/month) | Monthly |"
    )
    step = Sentence("Go to Invoices > Recurring and click  new recurring invoice.", (1,), kind="step", marker="1.")
    assert verbatim_in(step, source)
    row = Sentence("Charge: Subscription; What it is: Your plan: Pro ($49/month); When: Monthly", (1,), kind="row")
    assert verbatim_in(row, source)
    assert not verbatim_in(Sentence("Charge: Subscription; When: Yearly", (1,), kind="row"), source)
    assert not verbatim_in(Sentence("Charge: Subscription", (1,)), source)  # not a row: the text itself must occur


def test_operating_point_sweeps_the_threshold() -> None:
    scores = np.array([0.9, 0.8, 0.7, 0.6, 0.5, 0.65, 0.3, 0.95])
    answerable = np.array([True, True, True, True, True, False, False, False])
    proof = np.array([False, False, False, False, False, False, False, True])
    # 80% of 5 answerable = 4: the 4th highest answerable score, 0.6, answers 0.65 too (abstains on 0.3 and
    # on the question that abstains whatever the threshold)
    assert operating_point(scores, answerable, proof, 0.8) == pytest.approx((2 / 3, 0.6))
    assert operating_point(scores, answerable, proof, 0.6) == pytest.approx((1.0, 0.7))
    # a threshold-proof abstention on an answerable question can make a rate unreachable
    proof[0] = True
    assert all(math.isnan(v) for v in operating_point(scores, answerable, proof, 0.9))


def outcome(
    qid: str,
    *,
    answerable: bool = True,
    facts: tuple[str, ...] = (),
    found: int = 0,
    abstained: bool = False,
    score: float = 0.5,
    split: str = "dev",
    kind: str = "",
    defects: tuple[Defect, ...] = (),
    agent_found: int | None = None,
) -> Outcome:
    widget = ChannelAnswer("widget", "...", abstained, score, found, defects)
    agent = ChannelAnswer("agent", "...", abstained, score, found if agent_found is None else agent_found)
    return Outcome(
        qid=qid,
        question="q",
        tenant="ledgerly",
        answerable=answerable,
        abstained=abstained,
        answer="...",
        sentences=(),
        term_recall=0.5,
        similarity=0.5,
        latency_ms=10.0,
        tokens=0,
        removed_by_validation=0,
        split=split,
        unanswerable_kind=kind,
        key_facts=facts,
        confidence=score,
        channels=(widget, agent),
    )


HEADING = Defect("heading_as_sentence", "Request a reset link.", "a heading")
OUTCOMES = [
    outcome("a", facts=("x", "y"), found=2, score=0.9, agent_found=1),
    outcome("b", facts=("x", "y"), found=1, score=0.8, defects=(HEADING,)),
    outcome("c", facts=("x",), abstained=True, score=0.2),
    outcome("d", facts=(), score=0.7),  # answerable, no key facts: not in key-fact recall or ECE
    outcome("e", answerable=False, kind="near_topic", score=0.6, split="test"),
    outcome("f", answerable=False, kind="near_topic", abstained=True, score=0.1, split="test"),
    outcome("g", answerable=False, kind="off_topic", abstained=True, score=0.05, split="test"),
    outcome("h", facts=("x",), found=1, score=0.85, split="test", defects=(HEADING, HEADING)),
]


def test_answer_metrics_measure_what_users_receive() -> None:
    m = answer_metrics(OUTCOMES, resamples=200, channels=("widget", "agent"))
    # answered answerable with key facts: a (all), b (one of two), h (all); c abstained is left out
    assert m["key_fact_recall"].value == pytest.approx(2 / 3) and m["key_fact_recall"].n == 3
    assert m["key_fact_any"].value == pytest.approx(1.0)
    assert m["key_fact_recall_agent"].value == pytest.approx(1 / 3)
    assert m["abstention_near_topic"].value == pytest.approx(0.5) and m["abstention_near_topic"].n == 2
    assert m["abstention_off_topic"].value == pytest.approx(1.0) and m["abstention_off_topic"].n == 1
    # labels: a 1, b 0, c 0, e 0, f 0, g 0, h 1 (d has none); ECE over 10 bins
    scores = [0.9, 0.8, 0.2, 0.6, 0.1, 0.05, 0.85]
    labels = [1, 0, 0, 0, 0, 0, 1]
    assert m["ece"].value == pytest.approx(expected_calibration_error(scores, labels)) and m["ece"].n == 7
    assert m["lint.widget.heading_as_sentence"].value == 3 and m["lint.widget.total"].value == 3
    assert m["lint.agent.total"].value == 0 and m["lint.widget.placeholder"].value == 0
    # 90% of 5 answerable = 5 -> threshold 0.2 (c's score): e (0.6) is answered, f and g abstain
    assert m["abstention_at_answered_90"].value == pytest.approx(2 / 3)


def test_summarize_splits_dev_and_test() -> None:
    ev = summarize("judge", OUTCOMES, resamples=200)
    assert set(ev.by_split) == {"dev", "test"}
    assert ev.by_split["dev"]["key_fact_recall"].n == 2 and ev.by_split["test"]["key_fact_recall"].n == 1
    assert ev.by_split["test"]["lint.widget.total"].value == 2 and ev.by_split["dev"]["lint.widget.total"].value == 1
    assert math.isnan(ev.by_split["dev"]["abstention_near_topic"].value)  # dev has no unanswerable question
    assert set(ev.reliability) == {"all", "dev", "test"} and sum(b.count for b in ev.reliability["all"]) == 7
    assert ev.thresholds["all"] == thresholds_of(OUTCOMES) and ev.thresholds["all"]["answered_90"] == 0.2
    assert len(ev.split_outcomes("test")) == 4 and len(ev.split_outcomes("all")) == 8
