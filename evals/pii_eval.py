"""PII redaction quality: per-type precision and recall with bootstrap intervals, leaks, look-alikes, content.

    .venv/bin/python -m evals.pii_eval                 # DEV and LOCKED TEST sets, look-alikes, help centers
    .venv/bin/python -m evals.pii_eval --sets dev      # only the DEV set (the one to tune on)
    .venv/bin/python -m evals.pii_eval --json          # one JSON document for CI
    .venv/bin/python -m evals.pii_eval --show-errors dev   # misses and false alarms of a set (never tune on test's)

Scoring (data/pii/README.md): a labelled span is detected when a predicted span of its
type overlaps it; a prediction is correct when it overlaps a labelled span of its type; a
labelled span leaks when any of its letters or digits stays in clear after redaction; a
message leaks when any of its spans does. Intervals are 95% percentile bootstrap intervals
over messages (``evals.stats``).

Content precision: every file of the sample help center (German included) and of the
Open edX corpus is loaded as ingest loads it and redacted with the ``content`` policy;
every redaction is listed. A redaction counts as a false positive unless its value is
PII that the corpus really holds (``CONTENT_PII``: the PII planted in the sample help
center, data/samples/PLANTED.md) or an e-mail address (a mailbox is someone's, or an
example of one; redacting it costs the article no word). A phone number, IP, account
number or date that is not planted PII counts as a false positive.
"""

from __future__ import annotations

import json
import re
import sys
import time
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import typer

from evals.stats import Estimate, bootstrap_mean, bootstrap_ratio

ROOT = Path(__file__).resolve().parent.parent
PII_DIR = ROOT / "data" / "pii"
SETS = {"dev": PII_DIR / "dev.jsonl", "devhand": PII_DIR / "dev_hand.jsonl", "test": PII_DIR / "test_locked.jsonl"}
HELPCENTER = ROOT / "data" / "samples" / "helpcenter"
GOLDEN = ROOT / "data" / "samples" / "golden.jsonl"
OPENEDX = ROOT.parent / "shared" / "corpora" / "openedx"
if not OPENEDX.exists():
    OPENEDX = Path("/work/shared/corpora/openedx")
STRUCTURED = ("EMAIL_ADDRESS", "PHONE_NUMBER", "CREDIT_CARD", "IBAN_CODE", "IP_ADDRESS", "US_SSN", "UK_NINO")
# Real PII inside the sample help center (data/samples/PLANTED.md, section e): redacting these is right.
CONTENT_PII = frozenset(
    {
        "dana.whitfield@harborline-design.example",
        "198.51.100.73",
        "Hannah Okafor",
        "Hannah",
        "hannah.okafor@ledgerly.example",
        "Daniel Pretorius",
        "daniel.pretorius@pretorius-joinery.example",
        "+44 20 7946 0417",
        "Priya Raman",
        "priya.raman@ledgerly.example",
        "+44 20 7946 0958",
        "Marcus Bell",
        "marcus.bell@ledgerly.example",
        "+1 415 555 0142",
    }
)
_ALNUM = re.compile(r"\w", re.U)
# The sample tenants' company names, as a deployment lists its own in DESKPILOT_PII_ALLOW_LIST.
TENANTS = ("Ledgerly", "Parcelpoint")

app = typer.Typer(add_completion=False, help=__doc__)


@dataclass
class SetScores:
    """Per-message counts of one labelled set, per type, and the leaks."""

    name: str
    messages: int = 0
    spans: int = 0
    # per type: per-message lists (aligned with messages) of labelled, detected, predicted, correct counts
    labelled: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))
    detected: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))
    predicted: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))
    correct: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))
    leaked_messages: list[float] = field(default_factory=list)
    leaked_spans: list[int] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    seconds: float = 0.0


def load_set(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def _overlaps(a_start: int, a_end: int, b_start: int, b_end: int) -> bool:
    return a_start < b_end and a_end > b_start


def _leaks(text: str, label: dict[str, Any], covered: list[bool]) -> bool:
    return any(_ALNUM.match(text[i]) and not covered[i] for i in range(label["start"], label["end"]))


def score_set(name: str, messages: Sequence[dict[str, Any]], redactor: Any, kinds: Iterable[str]) -> SetScores:
    scores = SetScores(name)
    kinds = sorted(set(kinds))
    started = time.perf_counter()
    for message in messages:
        text, labels = message["text"], message["spans"]
        spans = redactor.find(text, message.get("locale", "en"), TENANTS, kind=message.get("kind", "customer"))
        covered = [False] * len(text)
        for span in spans:
            for i in range(span.start, span.end):
                covered[i] = True
        for kind in kinds:
            kind_labels = [lab for lab in labels if lab["type"] == kind]
            kind_spans = [s for s in spans if s.entity_type == kind]
            hit = [
                lab
                for lab in kind_labels
                if any(_overlaps(s.start, s.end, lab["start"], lab["end"]) for s in kind_spans)
            ]
            good = [
                s for s in kind_spans if any(_overlaps(s.start, s.end, lab["start"], lab["end"]) for lab in kind_labels)
            ]
            scores.labelled[kind].append(len(kind_labels))
            scores.detected[kind].append(len(hit))
            scores.predicted[kind].append(len(kind_spans))
            scores.correct[kind].append(len(good))
            for lab in kind_labels:
                if lab not in hit:
                    scores.errors.append(f"{message['id']}\tMISS\t{kind}\t{lab['value']!r}")
            for s in kind_spans:
                if s not in good:
                    scores.errors.append(f"{message['id']}\tFALSE\t{kind}\t{text[s.start : s.end]!r}\t{s.detector}")
        leaked = [lab for lab in labels if _leaks(text, lab, covered)]
        scores.leaked_spans.append(len(leaked))
        scores.leaked_messages.append(1.0 if leaked else 0.0)
        scores.messages += 1
        scores.spans += len(labels)
    scores.seconds = time.perf_counter() - started
    return scores


def _estimates(scores: SetScores) -> dict[str, Any]:
    """Recall, precision (per type and over all types) and leak rates with their intervals."""
    kinds = [k for k in scores.labelled if sum(scores.labelled[k]) or sum(scores.predicted[k])]
    rows: dict[str, Any] = {}
    total: dict[str, list[int]] = defaultdict(lambda: [0] * scores.messages)
    for kind in kinds:
        rows[kind] = {
            "labelled": sum(scores.labelled[kind]),
            "predicted": sum(scores.predicted[kind]),
            "recall": bootstrap_ratio(scores.detected[kind], scores.labelled[kind]).as_json(),
            "precision": bootstrap_ratio(scores.correct[kind], scores.predicted[kind]).as_json(),
        }
        for key, values in (
            ("d", scores.detected),
            ("l", scores.labelled),
            ("c", scores.correct),
            ("p", scores.predicted),
        ):
            total[key] = [a + b for a, b in zip(total[key], values[kind], strict=True)]
    overall = {
        "labelled": sum(total["l"]),
        "predicted": sum(total["p"]),
        "recall": bootstrap_ratio(total["d"], total["l"]).as_json(),
        "precision": bootstrap_ratio(total["c"], total["p"]).as_json(),
    }
    leak = bootstrap_mean(scores.leaked_messages)
    return {
        "messages": scores.messages,
        "spans": scores.spans,
        "types": rows,
        "overall": overall,
        "messages_with_leak": leak.as_json(),
        "leaked_spans": sum(scores.leaked_spans),
        "ms_per_message": 1000 * scores.seconds / max(1, scores.messages),
    }


def lookalike_results(redactor: Any) -> dict[str, Any]:
    rows = []
    for line in (PII_DIR / "lookalikes.tsv").read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        category, locale, text = line.split("\t", 2)
        rows.append((category, locale, text.replace("\\n", "\n")))
    false_positives = []
    for kind in ("customer", "content"):
        for category, locale, text in rows:
            for span in redactor.find(text, locale, TENANTS, kind=kind):
                false_positives.append(
                    {
                        "policy": kind,
                        "category": category,
                        "type": span.entity_type,
                        "value": text[span.start : span.end],
                        "text": text,
                    }
                )
    return {"strings": len(rows), "false_positives": false_positives}


def content_results(redactor: Any, root: Path, label: str) -> dict[str, Any]:
    """Every redaction the content policy makes over one help center, as ingest loads it."""
    from ingest.loaders import SkipFile, discover, load_file
    from ingest.records import ArticleMeta
    from ingest.redact import is_message
    from ingest.settings import IngestSettings

    settings = IngestSettings()
    redactions: list[dict[str, Any]] = []
    documents = 0
    started = time.perf_counter()
    for path in discover([root]):
        try:
            loaded = load_file(path, root, settings, ArticleMeta())
        except SkipFile:
            continue
        for document in loaded:
            documents += 1
            texts = [document.title, *[b.text for b in document.blocks]]
            joined = "\n\n".join(texts)
            allow = (document.tenant, document.product, *TENANTS)
            # the policy ingest picks (Redactor.redact_blocks): message-shaped documents are customer text
            kind = "customer" if is_message("\n\n".join(b.text for b in document.blocks[:3])) else "content"
            for span in redactor.find(joined, document.locale, allow, kind=kind):
                value = joined[span.start : span.end]
                real = value in CONTENT_PII or span.entity_type == "EMAIL_ADDRESS"
                context = joined[max(0, span.start - 40) : span.end + 40].replace("\n", " ")
                redactions.append(
                    {
                        "file": str(path.relative_to(root)),
                        "locale": document.locale,
                        "policy": kind,
                        "type": span.entity_type,
                        "value": value,
                        "context": context,
                        "false_positive": not real,
                    }
                )
    return {
        "corpus": label,
        "documents": documents,
        "redactions": redactions,
        "false_positives": sum(r["false_positive"] for r in redactions),
        "seconds": time.perf_counter() - started,
    }


def question_latency(redactor: Any, rounds: int = 5) -> dict[str, Any]:
    """Warm latency of redacting one widget question (the golden questions, each ``rounds`` times)."""
    import numpy as np

    questions = [json.loads(line) for line in GOLDEN.read_text(encoding="utf-8").splitlines() if line.strip()]
    pairs = [(q["question"], q.get("locale", "en")) for q in questions]
    for text, locale in pairs[:20]:  # warm-up
        redactor.redact(text, locale, kind="customer")
    timings = []
    for _ in range(rounds):
        for text, locale in pairs:
            started = time.perf_counter()
            redactor.redact(text, locale, kind="customer")
            timings.append(1000 * (time.perf_counter() - started))
    values = np.array(timings)
    return {
        "questions": len(pairs),
        "calls": len(timings),
        "p50_ms": float(np.percentile(values, 50)),
        "p95_ms": float(np.percentile(values, 95)),
        "max_ms": float(values.max()),
    }


def name_overlap() -> dict[str, Any]:
    """Locked-test name tokens that the rules' name list (US census first names) or the DEV set contain."""
    from ingest.names import _first_names

    dev_tokens = {
        t for m in load_set(SETS["dev"]) for s in m["spans"] if s["type"] == "PERSON" for t in s["value"].split()
    }
    test_tokens = {
        t for m in load_set(SETS["test"]) for s in m["spans"] if s["type"] == "PERSON" for t in s["value"].split()
    }
    census = _first_names()
    return {
        "test_name_tokens": len(test_tokens),
        "in_census_first_names": sorted(t for t in test_tokens if t.lower() in census),
        "in_dev_set": sorted(test_tokens & dev_tokens),
    }


def _fmt(estimate: dict[str, Any]) -> str:
    if estimate["n"] == 0 or estimate["value"] != estimate["value"]:
        return "-"
    return f"{estimate['value']:.3f} [{estimate['low']:.2f}, {estimate['high']:.2f}]"


def print_report(report: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console(width=200)
    console.print(f"Redactor layers: {', '.join(report['detectors'])}")
    for name, result in report["sets"].items():
        table = Table(title=f"{name}: {result['messages']} messages, {result['spans']} labelled spans")
        for column in ("type", "labelled", "predicted", "recall [95% CI]", "precision [95% CI]"):
            table.add_column(column, justify="left" if column == "type" else "right")
        for kind, row in sorted(result["types"].items()):
            table.add_row(
                kind, str(row["labelled"]), str(row["predicted"]), _fmt(row["recall"]), _fmt(row["precision"])
            )
        row = result["overall"]
        table.add_row(
            "ALL",
            str(row["labelled"]),
            str(row["predicted"]),
            _fmt(row["recall"]),
            _fmt(row["precision"]),
            style="bold",
        )
        console.print(table)
        console.print(
            f"  messages with any leak: {_fmt(result['messages_with_leak'])}; leaked spans: {result['leaked_spans']}; "
            f"{result['ms_per_message']:.1f} ms per message"
        )
    if "lookalikes" in report:
        look = report["lookalikes"]
        console.print(
            f"Look-alikes: {len(look['false_positives'])} false positives over {look['strings']} strings x 2 policies"
        )
        for fp in look["false_positives"]:
            console.print(f"  [{fp['policy']}] {fp['category']}: {fp['type']} {fp['value']!r} in {fp['text']!r}")
    for result in report.get("content", []):
        table = Table(title=f"content policy over {result['corpus']}: {result['documents']} documents")
        for column in ("file", "type", "value", "false positive", "context"):
            table.add_column(column)
        for r in result["redactions"]:
            table.add_row(r["file"], r["type"], r["value"], "YES" if r["false_positive"] else "", r["context"])
        console.print(table)
        console.print(
            f"  {len(result['redactions'])} redactions, {result['false_positives']} of non-PII (false positives)"
        )
    if "question_latency" in report:
        lat = report["question_latency"]
        console.print(
            f"Widget question redaction (warm, {lat['calls']} calls over {lat['questions']} golden questions): "
            f"p50 {lat['p50_ms']:.1f} ms, p95 {lat['p95_ms']:.1f} ms, max {lat['max_ms']:.1f} ms"
        )
    if "name_overlap" in report:
        overlap = report["name_overlap"]
        console.print(
            f"Locked-test name tokens: {overlap['test_name_tokens']}; in the census first-name list: "
            f"{len(overlap['in_census_first_names'])} ({', '.join(overlap['in_census_first_names'])}); "
            f"in the DEV set: {len(overlap['in_dev_set'])}"
        )


@app.command()
def main(
    sets: str = typer.Option("dev,devhand,test", help="Comma-separated labelled sets: dev, devhand, test."),
    json_out: bool = typer.Option(False, "--json", help="Print one JSON document instead of tables."),
    show_errors: str = typer.Option("", help="Print the misses and false alarms of this set (dev while tuning)."),
    corpora: bool = typer.Option(True, help="Check the content policy over the sample help center and Open edX."),
    openedx: str = typer.Option(str(OPENEDX), help="The Open edX corpus (../shared/corpora/openedx)."),
    overlap: bool = typer.Option(True, help="Report locked-test names found in the census list or the DEV set."),
    latency: bool = typer.Option(True, help="Time the redaction of the golden widget questions (warm)."),
    statistical: bool = typer.Option(True, help="Use the trained NER of ingest/ner.py when it is installed."),
) -> None:
    """Measure the redactor and print tables (or JSON)."""
    from ingest.offline import configure_offline
    from ingest.redact import Redactor
    from ingest.settings import IngestSettings

    configure_offline()
    redactor = Redactor(IngestSettings(), statistical="auto" if statistical else None)
    report: dict[str, Any] = {"detectors": redactor.detectors, "sets": {}}
    errors: dict[str, list[str]] = {}
    for name in [s.strip() for s in sets.split(",") if s.strip()]:
        messages = load_set(SETS[name])
        kinds = {s["type"] for m in messages for s in m["spans"]} | set(redactor.entities)
        scores = score_set(name, messages, redactor, kinds)
        report["sets"][name] = _estimates(scores)
        errors[name] = scores.errors
    report["lookalikes"] = lookalike_results(redactor)
    if corpora:
        report["content"] = [content_results(redactor, HELPCENTER, "data/samples/helpcenter")]
        if (Path(openedx) / "articles").is_dir():
            report["content"].append(content_results(redactor, Path(openedx) / "articles", "openedx"))
    if overlap:
        report["name_overlap"] = name_overlap()
    if latency:
        report["question_latency"] = question_latency(redactor)
    if json_out:
        sys.stdout.write(json.dumps(report, ensure_ascii=False) + "\n")
    else:
        print_report(report)
    if show_errors:
        for line in errors.get(show_errors, []):
            print(line)


def estimate_of(row: dict[str, Any]) -> Estimate:
    """An ``Estimate`` back from its JSON shape."""
    return Estimate(row["value"], row["low"], row["high"], row["n"])


if __name__ == "__main__":
    app()
