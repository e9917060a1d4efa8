#!/usr/bin/env python3
"""Dev-split figures of the shipped NER model, through ``ingest.ner`` exactly as the redactor calls it.

Per label and score threshold: precision and recall with exact spans, and with
overlapping spans (a gold span counts as found when a predicted span of the
same label overlaps it, and a prediction counts as right when it overlaps a
gold span of that label: what matters for redaction). Also recall per dev
template, false positives on texts with no entity, and speed: ms per short
question (p50/p95, warm) and characters per second on long help-center text.

Usage: ``python tools/pii_model/evaluate.py --data build/pii_model [--json out.json]``
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "BLIS_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(ROOT))

from ingest.ner import LABELS, Span, find_entities, load_model, scored_candidates, select_spans  # noqa: E402

THRESHOLDS = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)
SHORT_QUESTIONS = (
    "How long does the password reset link stay valid?",
    "hi this is tom baker, my invoice from May is wrong",
    "Can I export all invoices as CSV?",
    "[10:02] Priyanka: my parcel never arrived",
    "Please ship the replacement to Leopoldstrasse 88, 80802 Muenchen.",
    "Why was I charged twice for the Growth plan?",
    "Wie aktiviere ich die Zwei-Faktor-Authentifizierung?",
    "Does Parcelpoint deliver to Victoria Island on Saturdays?",
    "My colleague Luis Alberto Ortega cannot log in since Monday.",
    "Comment changer mon adresse de facturation ?",
)


def evaluate(rows: Sequence[dict[str, Any]], thresholds: Sequence[float]) -> dict[str, Any]:
    tallies: dict[float, dict[str, Counter[str]]] = {t: defaultdict(Counter) for t in thresholds}
    per_template: dict[str, Counter[str]] = defaultdict(Counter)
    fp_texts: dict[float, int] = Counter()
    n_negative = 0
    for row in rows:
        text = row["text"]
        gold = [Span(label, start, end, 1.0) for start, end, label in row["spans"]]
        candidates = scored_candidates(text)
        if not gold:
            n_negative += 1
        for t in thresholds:
            pred = select_spans(text, candidates, t)
            c = tallies[t]
            for label in LABELS:
                g = [s for s in gold if s.entity_type == label]
                p = [s for s in pred if s.entity_type == label]
                exact = {(s.start, s.end) for s in g} & {(s.start, s.end) for s in p}
                c[label]["gold"] += len(g)
                c[label]["pred"] += len(p)
                c[label]["exact"] += len(exact)
                c[label]["gold_found"] += sum(any(_overlaps(s, q) for q in p) for s in g)
                c[label]["pred_right"] += sum(any(_overlaps(s, q) for q in g) for s in p)
            if not gold and pred:
                fp_texts[t] += 1
            if t == 0.5:
                tc = per_template[row["template"]]
                tc["gold"] += len(gold)
                tc["found"] += sum(any(_overlaps(s, q) and s.entity_type == q.entity_type for q in pred) for s in gold)
                tc["pred"] += len(pred)
                tc["wrong"] += sum(
                    not any(_overlaps(s, q) and s.entity_type == q.entity_type for q in gold) for s in pred
                )
    table = []
    for t in thresholds:
        for label in LABELS:
            lc = tallies[t][label]
            table.append(
                {
                    "threshold": t,
                    "label": label,
                    "gold": lc["gold"],
                    "pred": lc["pred"],
                    "exact_p": _div(lc["exact"], lc["pred"]),
                    "exact_r": _div(lc["exact"], lc["gold"]),
                    "overlap_p": _div(lc["pred_right"], lc["pred"]),
                    "overlap_r": _div(lc["gold_found"], lc["gold"]),
                }
            )
    templates = {
        name: {
            "gold": c["gold"],
            "recall": _div(c["found"], c["gold"]),
            "pred": c["pred"],
            "precision": _div(c["pred"] - c["wrong"], c["pred"]),
        }
        for name, c in sorted(per_template.items())
    }
    negatives = {
        str(t): {"texts_without_entities": n_negative, "texts_with_a_false_positive": fp_texts[t]} for t in thresholds
    }
    return {"table": table, "templates": templates, "negatives": negatives}


def speed() -> dict[str, float]:
    load_model()
    for q in SHORT_QUESTIONS:
        find_entities(q)
    times = []
    for _ in range(30):
        for q in SHORT_QUESTIONS:
            started = time.perf_counter()
            find_entities(q)
            times.append((time.perf_counter() - started) * 1000)
    times.sort()
    long_text = _long_text()
    started = time.perf_counter()
    find_entities(long_text)
    seconds = time.perf_counter() - started
    return {
        "short_p50_ms": round(statistics.median(times), 2),
        "short_p95_ms": round(times[int(len(times) * 0.95) - 1], 2),
        "long_chars": len(long_text),
        "long_chars_per_s": round(len(long_text) / seconds),
    }


def _long_text() -> str:
    parts = []
    for path in sorted((ROOT / "data" / "samples" / "helpcenter").rglob("*.md")):
        parts.append(path.read_text(encoding="utf-8"))
    text = "\n\n".join(parts)
    return (text * (1 + 200_000 // max(len(text), 1)))[:200_000]


def _overlaps(a: Span, b: Span) -> bool:
    return a.start < b.end and b.start < a.end


def _div(a: int, b: int) -> float:
    return round(a / b, 3) if b else 0.0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Dev-split precision/recall and speed of ingest.ner.")
    parser.add_argument("--data", type=Path, default=ROOT / "build" / "pii_model")
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--no-speed", action="store_true")
    parser.add_argument("--model", type=Path, default=None, help="a pipeline directory other than the shipped one")
    args = parser.parse_args(argv)
    if args.model:
        import ingest.ner

        ingest.ner.MODEL_DIR = args.model
    rows = [json.loads(line) for line in (args.data / "dev.jsonl").read_text(encoding="utf-8").splitlines()]
    started = time.perf_counter()
    result = evaluate(rows, THRESHOLDS)
    result["dev_texts"] = len(rows)
    result["eval_seconds"] = round(time.perf_counter() - started, 1)
    if not args.no_speed:
        result["speed"] = speed()
    print("| threshold | label | exact P | exact R | overlap P | overlap R | gold | predicted |")
    print("| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for r in result["table"]:
        print(
            f"| {r['threshold']} | {r['label']} | {r['exact_p']:.3f} | {r['exact_r']:.3f} | {r['overlap_p']:.3f} "
            f"| {r['overlap_r']:.3f} | {r['gold']} | {r['pred']} |"
        )
    print("\nper dev template at 0.5 (overlap):")
    for name, c in result["templates"].items():
        print(
            f"  {name:<16} gold {c['gold']:>5}  recall {c['recall']:.3f}  pred {c['pred']:>5}  precision {c['precision']:.3f}"
        )
    print("\nnegatives:", json.dumps(result["negatives"]))
    if "speed" in result:
        print("speed:", json.dumps(result["speed"]))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
