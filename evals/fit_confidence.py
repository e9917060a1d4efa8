"""Fit the answer confidence on judged questions and check that it holds on a help center it never saw.

    .venv/bin/python -m evals.fit_confidence                 # fit on the samples' dev half, write the calibration
    .venv/bin/python -m evals.fit_confidence --openedx       # also score the Open edX set and report across help centers
    .venv/bin/python -m evals.fit_confidence --dry-run       # report only

Every question is answered on the widget channel by the extractive generator with abstention off, so
each answer's evidence features (assistant/confidence.py) and its correctness are known: an answer is
right when the question is answerable and the answer holds all of its key facts; any answer to an
unanswerable question is wrong. A logistic model is fitted on the DEV half only; the thresholds are
probabilities picked on the same half:

- abstain below: the highest threshold that still answers >= ``--min-answered`` of the answerable dev questions;
- high: the lowest threshold above which >= 90% of the dev answers are right;
- medium: the abstain threshold, so "low" means handed off and every answer shown is "medium" or "high".

The test halves (locked) and the other help center are only reported, never fitted on.
"""

from __future__ import annotations

import argparse
import json
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.table import Table

from assistant.confidence import FEATURES, Calibration
from assistant.records import Question
from ingest.records import ArticleMeta
from ui.settings import AppSettings
from ui.wiring import Retrieval, ingest_paths

REPO = Path(__file__).resolve().parent.parent
GOLDEN = REPO / "data" / "samples" / "golden.jsonl"
HELPCENTER = REPO / "data" / "samples" / "helpcenter"
OPENEDX_SET = REPO / "data" / "evalsets" / "openedx" / "golden.jsonl"
CALIBRATION = REPO / "assistant" / "calibration.json"
_SPACE = re.compile(r"\s+")
_WORD = re.compile(r"\w+")


def openedx_corpus() -> Path | None:
    """Where the Open edX help center is (DESKPILOT_OPENEDX_DIR, ../shared/corpora/openedx), or None."""
    import os

    for candidate in (os.environ.get("DESKPILOT_OPENEDX_DIR", ""), REPO.parent / "shared" / "corpora" / "openedx"):
        if candidate and (Path(candidate) / "articles").is_dir():
            return Path(candidate)
    return None


@dataclass(frozen=True)
class Scored:
    """One question's evidence features and whether its answer was right."""

    qid: str
    corpus: str
    split: str
    answerable: bool
    kind: str
    features: tuple[float, ...]
    right: bool
    answer: str
    vetoed: bool = False
    """Handed off whatever the probability (a product the help center never names: assistant/confidence.py)."""


def load_questions(path: Path) -> list[dict[str, object]]:
    """The questions of a golden-format JSONL file."""
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def key_facts_of(row: dict[str, object]) -> list[str]:
    """The key facts of a question row ([] when it has none)."""
    facts = row.get("key_facts") or []
    return [str(f) for f in facts] if isinstance(facts, list) else []


def _normal(text: str) -> str:
    return _SPACE.sub(" ", text).strip().casefold()


def _words(text: str) -> str:
    return " " + " ".join(_WORD.findall(text.casefold())) + " "


def holds_key_facts(answer: str, key_facts: Sequence[str]) -> bool:
    """True when the answer holds one of the question's key facts word for word (case and punctuation aside).

    One is enough: a key fact is a verbatim phrase of the article, and an answer quoting the same article
    in its other words (a table row instead of the sentence) holds the others only in meaning."""
    body = _words(answer)
    return any(_words(fact) in body for fact in key_facts if fact.strip())


def score(retrieval: Retrieval, questions: Sequence[dict[str, object]], corpus: str) -> list[Scored]:
    """Answer each question with abstention off; its features and whether the answer was right."""
    service = retrieval.assistant(llm=None)
    service.calibration = replace(service.calibration, abstain_below=0.0, medium=0.0, high=0.0)
    out = []
    for row in questions:
        question = Question(
            str(row["question"]),
            str(row["tenant"]),
            "widget",
            locale=str(row.get("locale") or "") or None,
            generator="extractive",
        )
        answer = service.answer(question)
        text = " ".join(s.text for s in answer.sentences)
        answerable = bool(row.get("answerable"))
        facts = key_facts_of(row)
        out.append(
            Scored(
                qid=str(row["qid"]),
                corpus=corpus,
                split=str(row.get("split", "dev")),
                answerable=answerable,
                kind=str(row.get("unanswerable_kind", "")) if not answerable else "answerable",
                features=tuple(answer.features.get(name, 0.0) for name in FEATURES),
                right=answerable and bool(answer.sentences) and holds_key_facts(text, facts),
                answer=text,
                vetoed=answer.abstained,  # with the thresholds at 0, only the veto abstains
            )
        )
    return out


def fit_logistic(x: np.ndarray, y: np.ndarray, l2: float = 1.0, iterations: int = 50) -> tuple[np.ndarray, float]:
    """L2-regularized logistic regression by Newton's method (the bias is not penalized)."""
    design = np.hstack([x, np.ones((len(x), 1))])
    w = np.zeros(design.shape[1])
    penalty = np.eye(design.shape[1]) * l2
    penalty[-1, -1] = 0.0
    for _ in range(iterations):
        p = 1.0 / (1.0 + np.exp(-(design @ w)))
        gradient = design.T @ (p - y) + penalty @ w
        hessian = design.T @ (design * (p * (1 - p))[:, None]) + penalty
        step = np.linalg.solve(hessian + 1e-9 * np.eye(len(w)), gradient)
        w -= step
        if float(np.abs(step).max()) < 1e-8:
            break
    return w[:-1], float(w[-1])


def pick_thresholds(probabilities: np.ndarray, scored: Sequence[Scored], min_answered: float) -> tuple[float, float]:
    """(abstain below, high), picked as the module docstring says."""
    answerable = np.array([s.answerable for s in scored])
    right = np.array([s.right for s in scored])
    shown = ~np.array([s.vetoed for s in scored])
    candidates = sorted({round(float(p), 4) for p in probabilities} | {0.0})
    abstain = 0.0
    for t in candidates:
        if ((probabilities >= t) & shown)[answerable].mean() >= min_answered:
            abstain = t
    high = 1.0
    for t in sorted(candidates, reverse=True):
        above = (probabilities >= t) & shown
        if above.sum() >= 5 and right[above].mean() >= 0.9:
            high = t
    return abstain, max(high, abstain)


SIGNS = {"similarity": 1, "dense": 1, "coverage": 1, "missing": -1, "unknown": -1, "agreement": 1, "support": 1}
"""Which way each feature can move the chance that an answer is right: a missing or unknown question word
never makes it likelier. A weight fitted the other way is noise of the small dev half."""


def fit_signed(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, float]:
    """Logistic weights with every feature's sign as SIGNS says: a feature fitted the wrong way is left out
    (weight 0) and the rest refitted, until all agree."""
    signs = np.array([SIGNS[name] for name in FEATURES])
    kept = np.ones(len(FEATURES), dtype=bool)
    while True:
        weights, bias = fit_logistic(x[:, kept], y)
        full = np.zeros(len(FEATURES))
        full[kept] = weights
        wrong = kept & (full * signs < 0)
        if not wrong.any():
            return full, bias
        kept &= ~wrong


def fit(scored: Sequence[Scored], min_answered: float, fitted_on: str) -> Calibration:
    """A calibration fitted on ``scored`` (dev questions only)."""
    x = np.array([s.features for s in scored])
    y = np.array([1.0 if s.right else 0.0 for s in scored])
    weights, bias = fit_signed(x, y)
    calibration = Calibration(tuple(float(w) for w in weights), bias, 0.0, 0.0, 1.0, fitted_on)
    probabilities = np.array([_probability(calibration, s) for s in scored])
    abstain, high = pick_thresholds(probabilities, scored, min_answered)
    medium = round(abstain, 4)  # every answer that is shown is at least "medium"; "low" means handed off
    return Calibration(
        tuple(round(w, 5) for w in weights), round(bias, 5), round(abstain, 4), medium, round(high, 4), fitted_on
    )


def _probability(calibration: Calibration, s: Scored) -> float:
    z = calibration.bias + sum(w * x for w, x in zip(calibration.weights, s.features, strict=True))
    return 1.0 / (1.0 + math.exp(-z))


def summary(calibration: Calibration, scored: Sequence[Scored], bins: int = 10) -> dict[str, float]:
    """What the calibration does on ``scored``: answered, abstention per kind, ECE, accuracy of answers."""
    p = np.array([_probability(calibration, s) for s in scored])
    right = np.array([s.right for s in scored])
    answered = (p >= calibration.abstain_below) & ~np.array([s.vetoed for s in scored])
    answerable = np.array([s.answerable for s in scored])
    near = np.array([s.kind == "near_topic" for s in scored])
    off = np.array([s.kind == "off_topic" for s in scored])
    ece = 0.0
    for b in range(bins):
        low, high = b / bins, (b + 1) / bins
        inside = (p >= low) & ((p < high) if b < bins - 1 else (p <= high))
        if inside.any():
            ece += inside.mean() * abs(float(p[inside].mean()) - float(right[inside].mean()))

    def share(mask: np.ndarray, of: np.ndarray) -> float:
        return float(mask[of].mean()) if of.any() else float("nan")

    return {
        "questions": float(len(scored)),
        "answered_answerable": share(answered, answerable),
        "abstained_near_topic": share(~answered, near),
        "abstained_off_topic": share(~answered, off),
        "right_when_answered": share(right, answered),
        "key_fact_recall": share(right, answered & answerable),
        "ece": ece,
    }


def _table(console: Console, title: str, rows: dict[str, dict[str, float]]) -> None:
    table = Table(title=title)
    columns = next(iter(rows.values())).keys() if rows else ()
    table.add_column("set")
    for column in columns:
        table.add_column(column, justify="right")
    for name, values in rows.items():
        table.add_row(name, *(f"{v:.3f}" if not float(v).is_integer() else f"{int(v)}" for v in values.values()))
    console.print(table)


def _scored_corpus(data_dir: Path, corpus: str, console: Console) -> list[Scored]:
    settings = AppSettings.load(data_dir)
    with Retrieval(settings) as retrieval:
        if corpus == "samples":
            if retrieval.index.count() == 0:
                console.print(f"indexing {HELPCENTER} into {data_dir} ...")
                ingest_paths([HELPCENTER], settings, retrieval=retrieval)
            return score(retrieval, load_questions(GOLDEN), "samples")
        source = openedx_corpus()
        if source is None or not OPENEDX_SET.exists():
            raise SystemExit("the Open edX corpus or data/evalsets/openedx/golden.jsonl is missing")
        if retrieval.index.count() == 0:
            console.print(f"indexing {source} into {data_dir} as tenant openedx ...")
            ingest_paths([source / "articles"], settings, overrides=ArticleMeta(tenant="openedx"), retrieval=retrieval)
        return score(retrieval, load_questions(OPENEDX_SET), "openedx")


def main() -> None:
    """Score, fit on dev, report dev/test and across help centers, write the calibration."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", type=Path, default=REPO / ".deskpilot" / "fit")
    parser.add_argument("--min-answered", type=float, default=0.92)
    parser.add_argument("--openedx", action="store_true", help="also score the Open edX set (ingests it once)")
    parser.add_argument("--dry-run", action="store_true", help="do not write assistant/calibration.json")
    parser.add_argument("--dump", type=Path, help="write every scored question as JSON lines here")
    parser.add_argument("--only-score", choices=("samples", "openedx"), help="score one help center, dump, stop")
    parser.add_argument("--from-dumps", type=Path, nargs="+", help="fit on earlier --dump files instead of scoring")
    args = parser.parse_args()
    console = Console()
    if args.from_dumps:
        scored = [Scored(**json.loads(line)) for dump in args.from_dumps for line in dump.read_text().splitlines()]
        facts = {str(r["qid"]): key_facts_of(r) for f in (GOLDEN, OPENEDX_SET) if f.exists() for r in load_questions(f)}
        scored = [
            replace(s, features=tuple(s.features), right=s.answerable and holds_key_facts(s.answer, facts[s.qid]))
            for s in scored
        ]
        args.openedx = any(s.corpus == "openedx" for s in scored)
    elif args.only_score:
        scored = _scored_corpus(args.data_dir / args.only_score, args.only_score, console)
    else:
        scored = _scored_corpus(args.data_dir / "samples", "samples", console)
        if args.openedx:
            scored += _scored_corpus(args.data_dir / "openedx", "openedx", console)
    if args.dump:
        args.dump.write_text("".join(json.dumps(s.__dict__) + "\n" for s in scored))
    if args.only_score:
        return

    def part(corpus: str, split: str) -> list[Scored]:
        return [s for s in scored if s.corpus == corpus and s.split == split]

    shipped = fit(part("samples", "dev"), args.min_answered, "samples dev half")
    rows = {f"samples {split}": summary(shipped, part("samples", split)) for split in ("dev", "test")}
    if args.openedx:
        rows |= {f"openedx {split} (unseen)": summary(shipped, part("openedx", split)) for split in ("dev", "test")}
    _table(console, "calibration fitted on the samples' dev half", rows)
    if args.openedx:
        other = fit(part("openedx", "dev"), args.min_answered, "openedx dev half")
        _table(
            console,
            "the other way: fitted on the Open edX dev half",
            {
                "openedx test": summary(other, part("openedx", "test")),
                "samples test (unseen)": summary(other, part("samples", "test")),
            },
        )
    console.print(json.dumps(shipped.as_json(), indent=2))
    if not args.dry_run:
        CALIBRATION.write_text(json.dumps(shipped.as_json(), indent=2) + "\n")
        console.print(f"wrote {CALIBRATION}")


if __name__ == "__main__":
    main()
