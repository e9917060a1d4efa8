"""Fit the extractive generator's unit scorer: which unit of the sources holds the answer.

    .venv/bin/python -m evals.fit_passages --samples-dir DIR [--openedx-dir DIR] [--dry-run]

Both data dirs must already hold the indexed help centers (``deskpilot ingest``; the Open edX one with
``--tenant openedx``). For every answerable question the service retrieves and numbers its sources as it
would to answer; each usable unit (sentence, step, item, table row) is labelled 1 when it holds one of the
question's key facts. A logistic model over ``UNIT_FEATURES`` is fitted on the DEV halves only; the table
shows how often the best-scored unit holds a key fact, with the hand-set score and with the fitted one, on
the dev halves and on the locked test halves (never fitted on).
"""

from __future__ import annotations

import argparse
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.table import Table

from assistant.extractive import UNIT_FEATURES, ExtractiveGenerator, UnitScorer
from assistant.records import Question
from evals.fit_confidence import GOLDEN, OPENEDX_SET, fit_logistic, key_facts_of, load_questions
from ui.settings import AppSettings
from ui.wiring import Retrieval

REPO = Path(__file__).resolve().parent.parent
MODEL = REPO / "assistant" / "passage_model.json"
_TOKEN = re.compile(r"\w+")


@dataclass(frozen=True)
class Labelled:
    """One question's candidate units: features, the hand-set score, and whether each holds a key fact."""

    qid: str
    corpus: str
    split: str
    features: np.ndarray
    hand: np.ndarray
    labels: np.ndarray


def _tokens(text: str) -> str:
    return " " + " ".join(_TOKEN.findall(text.casefold())) + " "


def holds_fact(unit: str, facts: Sequence[str]) -> bool:
    """True when the unit contains a key fact (word for word, punctuation and case aside)."""
    body = _tokens(unit)
    return any(_tokens(fact) in body for fact in facts if fact.strip())


def collect(data_dir: Path, questions_file: Path, corpus: str) -> list[Labelled]:
    """Candidate units of every answerable question, labelled."""
    out = []
    with Retrieval(AppSettings.load(data_dir)) as retrieval:
        service = retrieval.assistant(llm=None)
        generator = ExtractiveGenerator(service.searcher.embedder, service.settings)
        generator.scorer = None  # the hand-set score, so the features are collected whatever model ships
        for row in load_questions(questions_file):
            facts = key_facts_of(row)
            if not row.get("answerable") or not facts:
                continue
            question = Question(
                str(row["question"]), str(row["tenant"]), "widget", locale=str(row.get("locale") or "") or None
            )
            begun = service._begin(question)
            if not hasattr(begun, "sources"):
                continue
            units = generator.units(begun.sources)  # type: ignore[union-attr]
            candidates, _ = generator.candidates(begun.query, begun.sources, units, begun.locale)  # type: ignore[union-attr]
            candidates = [c for c in candidates if c.unit.kind != "question"]
            if not candidates:
                continue
            out.append(
                Labelled(
                    qid=str(row["qid"]),
                    corpus=corpus,
                    split=str(row.get("split", "dev")),
                    features=np.array([c.features for c in candidates]),
                    hand=np.array([_hand(c.score, c.features) for c in candidates]),
                    labels=np.array([1.0 if holds_fact(c.unit.text, facts) else 0.0 for c in candidates]),
                )
            )
    return out


def _hand(score: float, features: Sequence[float]) -> float:
    """The hand-set anchor score: the unit's score plus the step and number bonuses (assistant/extractive.py)."""
    named = dict(zip(UNIT_FEATURES, features, strict=True))
    return score + 0.15 * (named["step_for_how_to"] + named["lead_for_how_to"]) + 0.05 * named["number_for_quantity"]


def top1(items: Sequence[Labelled], scorer: UnitScorer | None) -> float:
    """Share of questions whose best-scored unit holds a key fact (among questions where some unit does)."""
    answerable = [q for q in items if q.labels.any()]
    hits = 0
    for q in answerable:
        scores = q.hand if scorer is None else np.array([scorer.score(f) for f in q.features])
        hits += bool(q.labels[int(np.argmax(scores))])
    return hits / len(answerable) if answerable else float("nan")


def main() -> None:
    """Collect, fit on dev, report, write assistant/passage_model.json."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--samples-dir", type=Path, required=True)
    parser.add_argument("--openedx-dir", type=Path)
    parser.add_argument("--dry-run", action="store_true")
    args = parser.parse_args()
    console = Console()
    items = collect(args.samples_dir, GOLDEN, "samples")
    if args.openedx_dir:
        items += collect(args.openedx_dir, OPENEDX_SET, "openedx")
    dev = [q for q in items if q.split == "dev"]
    x = np.vstack([q.features for q in dev])
    y = np.concatenate([q.labels for q in dev])
    weights, bias = fit_logistic(x, y, l2=1.0)
    scorer = UnitScorer(tuple(float(w) for w in weights), float(bias))
    table = Table(title="best-scored unit holds a key fact (questions where some unit does)")
    for column in ("set", "questions", "hand-set score", "fitted scorer"):
        table.add_column(column, justify="right")
    for corpus in sorted({q.corpus for q in items}):
        for split in ("dev", "test"):
            part = [q for q in items if q.corpus == corpus and q.split == split]
            locked = " (locked)" if split == "test" else ""
            table.add_row(
                f"{corpus} {split}{locked}",
                str(sum(q.labels.any() for q in part)),
                f"{top1(part, None):.3f}",
                f"{top1(part, scorer):.3f}",
            )
    console.print(table)
    model = {
        "features": list(UNIT_FEATURES),
        "weights": [round(w, 5) for w in scorer.weights],
        "bias": round(scorer.bias, 5),
        "fitted_on": " + ".join(sorted({f"{q.corpus} dev" for q in dev})),
    }
    console.print(json.dumps(model, indent=2))
    if not args.dry_run:
        MODEL.write_text(json.dumps(model, indent=2) + "\n")
        console.print(f"wrote {MODEL}")


if __name__ == "__main__":
    main()
