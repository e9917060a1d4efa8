"""Pick the confidence thresholds on the golden set and print the answer/abstain trade-off curve.

    .venv/bin/python -m evals.tune_confidence [--data-dir DIR] [--min-answered 0.9]

Ingests ``data/samples/helpcenter`` into the data dir if its index is empty, answers every golden
question on the widget channel with the extractive generator, and for each candidate abstain
threshold prints the share of answerable questions still answered and the share of unanswerable
ones abstained on. It recommends:

- DESKPILOT_ABSTAIN_BELOW: the threshold that abstains most while keeping at least
  ``--min-answered`` of the answerable questions answered (the lowest one when several tie);
- DESKPILOT_CONFIDENCE_HIGH: the lowest threshold above which at most 5% of answers are to
  unanswerable questions;
- DESKPILOT_CONFIDENCE_MEDIUM: halfway between the two.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console
from rich.table import Table

from assistant.records import Question
from ui.settings import AppSettings
from ui.wiring import Retrieval, ingest_paths

REPO = Path(__file__).resolve().parent.parent
GOLDEN = REPO / "data" / "samples" / "golden.jsonl"
HELPCENTER = REPO / "data" / "samples" / "helpcenter"


@dataclass(frozen=True)
class Scored:
    """One golden question's confidence score."""

    qid: str
    answerable: bool
    score: float


@dataclass(frozen=True)
class Recommendation:
    """Thresholds picked from the scores, and what they achieve."""

    abstain_below: float
    medium: float
    high: float
    answered: float
    abstained: float


def score_golden(retrieval: Retrieval, golden: Path = GOLDEN) -> list[Scored]:
    """Confidence score of the extractive widget answer to every golden question."""
    service = retrieval.assistant(llm=None)
    out = []
    for line in golden.read_text(encoding="utf-8").splitlines():
        item = json.loads(line)
        answer = service.answer(
            Question(item["question"], item["tenant"], "widget", locale=item["locale"], generator="extractive")
        )
        out.append(Scored(item["qid"], bool(item["answerable"]), answer.confidence.score))
    return out


def curve(scores: list[Scored], thresholds: list[float]) -> list[tuple[float, float, float]]:
    """(threshold, share of answerable answered, share of unanswerable abstained) per threshold."""
    answerable = [s.score for s in scores if s.answerable]
    unanswerable = [s.score for s in scores if not s.answerable]
    return [
        (
            t,
            sum(x >= t for x in answerable) / max(1, len(answerable)),
            sum(x < t for x in unanswerable) / max(1, len(unanswerable)),
        )
        for t in thresholds
    ]


def recommend(scores: list[Scored], min_answered: float) -> Recommendation:
    """Thresholds as described in the module docstring."""
    thresholds = [round(0.30 + 0.01 * i, 2) for i in range(61)]
    points = curve(scores, thresholds)
    feasible = [p for p in points if p[1] >= min_answered]
    # Most abstention on unanswerable questions; among equals the lowest threshold, which answers the most.
    abstain_below, answered, abstained = max(feasible, key=lambda p: (p[2], -p[0])) if feasible else points[0]
    high = thresholds[-1]
    for t in thresholds:
        above = [s for s in scores if s.score >= t]
        if t >= abstain_below and above and sum(not s.answerable for s in above) / len(above) <= 0.05:
            high = t
            break
    medium = round((abstain_below + high) / 2, 2)
    return Recommendation(abstain_below, medium, high, answered, abstained)


def main() -> None:
    """Score the golden set, print the curve and the recommended settings."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", type=Path, default=REPO / ".deskpilot" / "tune")
    parser.add_argument("--min-answered", type=float, default=0.90)
    args = parser.parse_args()
    settings = AppSettings.load(args.data_dir)
    console = Console()
    with Retrieval(settings) as retrieval:
        if retrieval.index.count() == 0:
            console.print(f"indexing {HELPCENTER} into {args.data_dir} ...")
            ingest_paths([HELPCENTER], settings, retrieval=retrieval)
        scores = score_golden(retrieval)
    table = Table(title="abstain threshold: answerable answered vs unanswerable abstained (golden set)")
    for column in ("threshold", "answered (answerable)", "abstained (unanswerable)"):
        table.add_column(column, justify="right")
    for t, answered, abstained in curve(scores, [round(0.30 + 0.025 * i, 3) for i in range(21)]):
        table.add_row(f"{t:.3f}", f"{answered:.3f}", f"{abstained:.3f}")
    console.print(table)
    rec = recommend(scores, args.min_answered)
    console.print(
        f"DESKPILOT_ABSTAIN_BELOW={rec.abstain_below} DESKPILOT_CONFIDENCE_MEDIUM={rec.medium} "
        f"DESKPILOT_CONFIDENCE_HIGH={rec.high}  ->  answers {rec.answered:.1%} of answerable, "
        f"abstains on {rec.abstained:.1%} of unanswerable questions"
    )


if __name__ == "__main__":
    main()
