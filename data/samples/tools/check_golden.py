#!/usr/bin/env python3
"""Check the key facts, the dev/test split and the unanswerable kinds of data/samples/golden.jsonl.

Every article of the sample help center is loaded with the project's own
loader (``IngestPipeline.prepare``: the files as ingestion partitions them,
duplicates and superseded copies dropped), and for each golden question:

- ``key_facts``: an answerable question has 1-3 short strings, each found
  verbatim (case-insensitive, whitespace collapsed) in the loaded text of at
  least one of its ``2``-graded articles, in the question's locale (the
  ``de`` version for German questions). An unanswerable question has ``[]``.
  No key fact may contain planted personal data or injected text (the
  ``must_not_contain`` strings of the PII and indirect-injection probes in
  ``redteam.jsonl``).
- ``split``: ``"dev"`` or ``"test"``, equal to the split computed by
  `expected_splits` (see GOLDEN.md): within each (tenant, locale, type)
  group, questions sorted by qid alternate between the two halves, starting
  with the half a seeded hash of the group picks. New questions get the next
  qids, so they sort last in their group and never move an existing one.
- ``unanswerable_kind``: ``"off_topic"`` or ``"near_topic"`` for unanswerable
  questions, ``""`` for answerable ones.

Usage (from the repository root):
    .venv/bin/python data/samples/tools/check_golden.py              # report problems; exit 1 if any
    .venv/bin/python data/samples/tools/check_golden.py --show       # also print where each key fact was found
    .venv/bin/python data/samples/tools/check_golden.py --fill-split # give questions without a split theirs
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import tempfile
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SAMPLES_DIR = Path(__file__).resolve().parent.parent
GOLDEN = SAMPLES_DIR / "golden.jsonl"
REDTEAM = SAMPLES_DIR / "redteam.jsonl"
HELPCENTER = SAMPLES_DIR / "helpcenter"

SPLIT_SEED = "deskpilot-golden-split-v1"
SPLITS = ("dev", "test")
KINDS = ("off_topic", "near_topic")
MAX_KEY_FACTS = 3
MAX_KEY_FACT_WORDS = 15
# Red-team categories whose must_not_contain strings are planted PII or injected text (see PLANTED.md).
PLANTED_CATEGORIES = ("pii_extraction", "indirect_injection")

# (tenant, article id, locale) -> loaded texts of that article (normally one)
ArticleTexts = Mapping[tuple[str, str, str], Sequence[str]]


@dataclass(frozen=True)
class Problem:
    """One thing wrong with one golden question."""

    qid: str
    message: str

    def __str__(self) -> str:
        return f"{self.qid}: {self.message}"


def normalize(text: str) -> str:
    """How key facts and article texts are compared: case-insensitive, whitespace collapsed."""
    return " ".join(text.split()).casefold()


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    """The objects of a JSON Lines file."""
    lines = path.read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def load_articles(helpcenter: Path = HELPCENTER, data_dir: Path | None = None) -> dict[tuple[str, str, str], list[str]]:
    """Every article under ``helpcenter`` as the project's loader produces it, keyed by (tenant, id, locale).

    ``data_dir`` holds the loader's cache; by default a temporary directory that is removed again.
    """
    from ingest.pipeline import IngestPipeline
    from ingest.settings import IngestSettings

    with tempfile.TemporaryDirectory(prefix="check-golden-") as scratch:
        settings = IngestSettings(data_dir=data_dir or Path(scratch))
        prepared = IngestPipeline(settings).prepare([helpcenter])
    if prepared.skipped:
        reasons = "; ".join(skip.reason for skip in prepared.skipped)
        raise RuntimeError(f"{helpcenter}: the loader skipped files: {reasons}")
    articles: dict[tuple[str, str, str], list[str]] = defaultdict(list)
    for document in prepared.documents:
        articles[(document.tenant, document.article_id, document.locale)].append(document.text)
    return dict(articles)


def _group(item: Mapping[str, Any]) -> tuple[str, str, str]:
    return (str(item["tenant"]), str(item["locale"]), str(item["type"]))


def expected_splits(items: Iterable[Mapping[str, Any]], seed: str = SPLIT_SEED) -> dict[str, str]:
    """qid -> "dev" or "test": alternating by qid within each (tenant, locale, type) group, seeded start."""
    groups: dict[tuple[str, str, str], list[str]] = defaultdict(list)
    for item in items:
        groups[_group(item)].append(str(item["qid"]))
    splits: dict[str, str] = {}
    for group, qids in groups.items():
        digest = hashlib.sha256(f"{seed}|{'|'.join(group)}".encode()).digest()
        start = digest[0] % 2
        for index, qid in enumerate(sorted(qids)):
            splits[qid] = SPLITS[(start + index) % 2]
    return splits


def split_counts(items: Iterable[Mapping[str, Any]]) -> dict[tuple[str, str, str], Counter[str]]:
    """Per (tenant, locale, type) group: how many questions each split holds."""
    counts: dict[tuple[str, str, str], Counter[str]] = defaultdict(Counter)
    for item in items:
        counts[_group(item)][str(item.get("split", ""))] += 1
    return dict(counts)


def forbidden_strings(redteam: Iterable[Mapping[str, Any]]) -> set[str]:
    """Normalized planted personal data and injected text: what no answer, in any context, may contain.

    Only the ``must_not_contain`` strings of the ``pii_extraction`` and ``indirect_injection`` probes count.
    The other categories list strings that are wrong for *that* probe only (a cross-tenant probe forbids
    the other tenant's facts, which are correct answers in that tenant).
    """
    return {
        normalize(text)
        for probe in redteam
        if probe.get("category") in PLANTED_CATEGORIES
        for text in probe.get("must_not_contain", [])
        if normalize(text)
    }


def check_golden(
    items: Sequence[Mapping[str, Any]],
    articles: ArticleTexts,
    forbidden: Iterable[str] = (),
) -> list[Problem]:
    """Every problem with the key facts, splits and unanswerable kinds of ``items``; empty when all is well."""
    problems: list[Problem] = []
    texts = {key: [normalize(text) for text in values] for key, values in articles.items()}
    forbidden_set = {normalize(text) for text in forbidden}
    expected = expected_splits(items)
    for item in items:
        qid = str(item["qid"])

        def problem(message: str, qid: str = qid) -> None:
            problems.append(Problem(qid, message))

        split = item.get("split")
        if split not in SPLITS:
            problem(f"split is {split!r}, expected one of {', '.join(SPLITS)}")
        elif split != expected[qid]:
            problem(f"split is {split!r} but the seeded alternation gives {expected[qid]!r}; the test half is locked")
        kind = item.get("unanswerable_kind")
        facts = item.get("key_facts")
        if not isinstance(facts, list) or not all(isinstance(fact, str) for fact in facts):
            problem("key_facts must be a list of strings")
            continue
        if not item["answerable"]:
            if kind not in KINDS:
                problem(f"unanswerable_kind is {kind!r}, expected one of {', '.join(KINDS)}")
            if facts:
                problem("an unanswerable question has key_facts; expected []")
            continue
        if kind != "":
            problem(f"unanswerable_kind is {kind!r} for an answerable question; expected ''")
        if not 1 <= len(facts) <= MAX_KEY_FACTS:
            problem(f"{len(facts)} key facts; expected 1 to {MAX_KEY_FACTS}")
        if len({normalize(fact) for fact in facts}) != len(facts):
            problem("the same key fact is listed twice")
        graded = [article_id for article_id, grade in item["relevant"].items() if grade == 2]
        locale = str(item["locale"])
        sources = [text for article_id in graded for text in texts.get((str(item["tenant"]), article_id, locale), [])]
        missing = [article_id for article_id in graded if (str(item["tenant"]), article_id, locale) not in texts]
        if missing:
            problem(f"grade-2 article(s) {', '.join(missing)} not loaded for {item['tenant']}/{locale}")
        for fact in facts:
            wanted = normalize(fact)
            if not wanted:
                problem("empty key fact")
                continue
            if len(fact.split()) > MAX_KEY_FACT_WORDS:
                problem(f"key fact {fact!r} is longer than {MAX_KEY_FACT_WORDS} words")
            if not any(wanted in text for text in sources):
                problem(f"key fact {fact!r} not found in {', '.join(graded)} ({locale})")
            leaked = sorted(bad for bad in forbidden_set if bad in wanted)
            if leaked:
                problem(f"key fact {fact!r} contains planted PII or injected text {leaked[0]!r}")
    return problems


def where_found(item: Mapping[str, Any], articles: ArticleTexts) -> list[tuple[str, str]]:
    """(key fact, grade-2 article ids that hold it) for each key fact of ``item``."""
    found = []
    for fact in item.get("key_facts") or []:
        hits = [
            article_id
            for article_id, grade in item["relevant"].items()
            if grade == 2
            and any(
                normalize(fact) in normalize(text)
                for text in articles.get((str(item["tenant"]), article_id, str(item["locale"])), [])
            )
        ]
        found.append((str(fact), ", ".join(hits) or "-"))
    return found


def fill_split(path: Path = GOLDEN) -> int:
    """Give every question without a ``split`` its computed one (never changes an existing split); return how many."""
    items = read_jsonl(path)
    expected = expected_splits(items)
    filled = 0
    for item in items:
        if item.get("split") not in SPLITS:
            item["split"] = expected[str(item["qid"])]
            filled += 1
    if filled:
        path.write_text("".join(json.dumps(item, ensure_ascii=False) + "\n" for item in items), encoding="utf-8")
    return filled


def summary(items: Sequence[Mapping[str, Any]]) -> str:
    """Counts per split, per group and per unanswerable kind, as a small text table."""
    lines = [f"{'tenant/locale/type':<34} {'dev':>4} {'test':>4}"]
    for group, counts in sorted(split_counts(items).items()):
        lines.append(f"{'/'.join(group):<34} {counts['dev']:>4} {counts['test']:>4}")
    totals = Counter(str(item.get("split")) for item in items)
    lines.append(f"{'total':<34} {totals['dev']:>4} {totals['test']:>4}")
    kinds = Counter(
        (str(item.get("unanswerable_kind")), str(item.get("split"))) for item in items if not item["answerable"]
    )
    for kind in KINDS:
        lines.append(f"{'unanswerable ' + kind:<34} {kinds[(kind, 'dev')]:>4} {kinds[(kind, 'test')]:>4}")
    facts = sum(len(item.get("key_facts") or []) for item in items)
    lines.append(f"key facts: {facts} over {sum(bool(item['answerable']) for item in items)} answerable questions")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--golden", type=Path, default=GOLDEN)
    parser.add_argument("--helpcenter", type=Path, default=HELPCENTER)
    parser.add_argument("--data-dir", type=Path, default=None, help="keep the loader's cache here between runs")
    parser.add_argument("--show", action="store_true", help="print each key fact and the article(s) holding it")
    parser.add_argument("--fill-split", action="store_true", help="write the computed split of questions without one")
    args = parser.parse_args(argv)

    if args.fill_split:
        print(f"{args.golden}: gave {fill_split(args.golden)} question(s) a split")
    items = read_jsonl(args.golden)
    articles = load_articles(args.helpcenter, args.data_dir)
    problems = check_golden(items, articles, forbidden_strings(read_jsonl(REDTEAM)))
    if args.show:
        for item in items:
            for fact, hits in where_found(item, articles):
                print(f"{item['qid']}  {hits:<20} {fact}")
    print(summary(items))
    for found in problems:
        print(found)
    print(f"{args.golden}: {len(problems)} problem(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
