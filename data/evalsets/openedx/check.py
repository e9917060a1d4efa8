"""Check the Open edX question set against its schema and against the real corpus.

What is checked (every problem is reported, not just the first):

- the schema of ``golden.jsonl`` (fields, types, qids, the deterministic dev/test split, grades,
  key-fact sizes, unanswerable kinds);
- that every article id in ``relevant`` is an article of the corpus;
- that every key fact occurs in the text of at least one of its question's grade-2 articles, as the
  project's loader produces it (``ingest.pipeline.IngestPipeline``: Markdown emphasis and link syntax
  removed), compared case-insensitively with whitespace collapsed; for ``multi-article`` questions
  every grade-2 article must hold at least one key fact;
- that the probes recorded for each unanswerable question (``ABSENCE_PROBES``: what a real answer
  would have to mention) match no article, i.e. the corpus really does not answer it.

Warnings (not errors): graded articles that the pipeline's near-duplicate detection drops.

The corpus location is ``$DESKPILOT_OPENEDX_DIR``, else ``<repo>/../shared/corpora/openedx``, else
``/work/shared/corpora/openedx``. Run ``python data/evalsets/openedx/check.py`` from the repository
root with the project's virtualenv; the exit status is 0 when there is no error.
"""

from __future__ import annotations

import json
import os
import re
import sys
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[2]
GOLDEN = HERE / "golden.jsonl"
ENV_VAR = "DESKPILOT_OPENEDX_DIR"
CORPUS_CANDIDATES = (REPO.parent / "shared" / "corpora" / "openedx", Path("/work/shared/corpora/openedx"))

TENANT = "openedx"
FIELDS = (
    "qid",
    "tenant",
    "locale",
    "question",
    "answerable",
    "relevant",
    "reference_answer",
    "type",
    "difficulty",
    "key_facts",
    "split",
    "unanswerable_kind",
)
TYPES = ("lookup", "multi-step", "comparison", "paraphrase", "multi-article", "unanswerable")
DIFFICULTIES = ("easy", "medium", "hard")
KINDS = ("near_topic", "off_topic")
QID = re.compile(r"^OX-Q(\d{3})$")
ARTICLE_ID = re.compile(r"^OX-\d{4}$")
MIN_FACT_WORDS, MAX_FACT_WORDS = 2, 10

# For each unanswerable question: what an answer would have to name. No article may match any of
# these (case-insensitive regular expressions over the loaded article text).
ABSENCE_PROBES: dict[str, tuple[str, ...]] = {
    "OX-Q185": (
        r"enrol\w* (limit|cap)",
        r"max(imum)? (number of )?(learners|students|enrollments) (in|per|for) (a|the|one|each) course",
        r"max_student",
    ),
    "OX-Q186": (r"moodle", r"\.mbz\b"),
    "OX-Q187": (r"\bh5p\b",),
    "OX-Q188": (r"proctorio", r"honorlock", r"proctoru", r"examity"),
    "OX-Q189": (r"turnitin", r"plagiar"),
    "OX-Q190": (
        r"certificates? (costs?|fees?|prices?)",
        r"price of (a|the) (verified )?certificate",
        r"\bUSD\b",
        r"\bpricing\b",
    ),
    "OX-Q191": (r"\brefund",),
    "OX-Q192": (r"dark (mode|theme)",),
    "OX-Q193": (r"leaderboard", r"\bpoints? (system|ranking)"),
    "OX-Q194": (r"notifications? (expire|expiry|expiration) (after|in) \d", r"NOTIFICATION\w*EXPIR"),
    "OX-Q195": (r"attach(ment)?s? (to|in) (an? |the |your )?(bulk )?(email|message)", r"email attachment"),
    "OX-Q196": (r"discussion[^.]{0,80}\d[\d,]* characters", r"characters[^.]{0,60}discussion"),
    "OX-Q197": (r"rate.limit", r"throttl"),
    "OX-Q198": (r"slack (workspace|integration|notification|app)", r"notifications?[^.]{0,40}slack"),
    "OX-Q199": (r"(max(imum)?|limit|up to) \d* ?(number of )?cohorts", r"cohorts? (limit|maximum)"),
    "OX-Q200": (r"(max(imum)?|limit|up to) \d* ?(number of )?tags", r"tags? (limit|maximum)"),
    "OX-Q201": (r"ccx[^.]{0,80}(max(imum)?|limit|up to \d)", r"(max(imum)?|limit)[^.]{0,40}ccx"),
    "OX-Q202": (r"(max(imum)?|longest|limit)[^.]{0,30}(time allotted|time limit)",),
    "OX-Q203": (r"upgrade deadline (is|of) \d", r"\d+ days to upgrade", r"upgrade (within|in) \d+ days"),
    "OX-Q204": (r"\bsaml\b", r"single sign.on", r"\bsso\b"),
    "OX-Q205": (r"(recording|session data)[^.]{0,60}(kept|retained|deleted after|stored for)",),
    "OX-Q206": (r"certificat[^.]{0,60}font", r"font[^.]{0,60}certificat"),
    "OX-Q207": (r"\bRAM\b", r"\bv?CPUs?\b", r"\bGB of memory"),
    "OX-Q208": (r"onedrive", r"dropbox (file|folder|link)"),
    "OX-Q209": (r"stripe", r"paypal", r"cybersource", r"payment processor"),
    "OX-Q210": (r"(restore|undelete|recover) (a |the )?deleted course", r"delet\w* (a |the |your )?courses?\b"),
    "OX-Q211": (r"playback speed", r"\b(0\.5|0\.75|1\.25|1\.5|2\.0?)x\b"),
    "OX-Q212": (r"export[^.]{0,40}\bnotes\b", r"\bnotes\b[^.]{0,40}export"),
    "OX-Q213": (r"import[^.]{0,60}\b\d+ ?(MB|GB)\b", r"\b\d+ ?(MB|GB)\b[^.]{0,60}import"),
    "OX-Q214": (r"retire\w*[^.]{0,80}certificat", r"certificat[^.]{0,80}retire"),
    "OX-Q215": (r"\bsms\b", r"text messages? (to|reminder)"),
    "OX-Q216": (r"\bagpl\b", r"affero", r"platform is (released|licensed) under"),
    "OX-Q217": (r"salesforce", r"(sync|push)\w*[^.]{0,40}enrollments?[^.]{0,60}\bcrm\b"),
    "OX-Q218": (r"(max(imum)?|limit|up to \d+) (number of )?teams (per|in (a|each|one))",),
    "OX-Q219": (r"(max(imum)?|limit|up to \d+) (number of )?content groups",),
    "OX-Q220": (r"4k (video|upload|stream)", r"stream\w*[^.]{0,20}\b4k\b", r"2160p"),
    "OX-Q221": (r"zoom[^.]{0,80}recording", r"recording[^.]{0,80}zoom", r"cloud recording"),
    "OX-Q222": (r"time spent (reading|on (the|a|each) unit|per unit)", r"minutes (spent|each learner)"),
    "OX-Q223": (r"weather", r"forecast"),
    "OX-Q224": (r"banana", r"\bbread\b"),
    "OX-Q225": (r"share price", r"stock price"),
    "OX-Q226": (r"freelanc", r"tax return"),
    "OX-Q227": (r"haiku",),
    "OX-Q228": (r"canberra", r"capital of australia"),
    "OX-Q229": (r"\bsncf\b", r"train ticket"),
    "OX-Q230": (r"gaming laptop",),
    "OX-Q231": (r"list of dictionaries", r"sorted\(", r"\.sort\(key"),
    "OX-Q232": (r"world cup", r"\bfifa\b"),
}


@dataclass(frozen=True)
class Corpus:
    """The loaded articles: article id -> body text, and the ids the pipeline drops as duplicates."""

    root: Path
    texts: Mapping[str, str]
    duplicates: Mapping[str, str]
    """Article id -> the article id it was judged a duplicate of."""


@dataclass(frozen=True)
class CheckResult:
    """Everything wrong with the set (``errors``) and things worth knowing (``warnings``)."""

    items: int
    errors: tuple[str, ...]
    warnings: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return not self.errors


def corpus_dir() -> Path | None:
    """Where the corpus is: ``$DESKPILOT_OPENEDX_DIR`` when set, else the first existing candidate."""
    configured = os.environ.get(ENV_VAR)
    if configured:
        return Path(configured)
    for candidate in CORPUS_CANDIDATES:
        if (candidate / "articles").is_dir():
            return candidate
    return None


def squash(text: str) -> str:
    """Case-folded, whitespace-collapsed text: the form key facts are compared in."""
    return " ".join(text.casefold().split())


def read_items(path: Path = GOLDEN) -> list[dict[str, Any]]:
    """The question set as a list of JSON objects (raises ValueError naming the line when one is bad)."""
    items: list[dict[str, Any]] = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ValueError(f"{path}:{number}: not valid JSON ({exc.msg})") from exc
        if not isinstance(row, dict):
            raise ValueError(f"{path}:{number}: expected a JSON object")
        items.append(row)
    return items


def expected_splits(items: Sequence[Mapping[str, Any]]) -> list[str]:
    """The split rule: within each type, in qid order, alternate dev, test, dev, ..."""
    seen: dict[str, int] = {}
    splits = [""] * len(items)
    for index in sorted(range(len(items)), key=lambda i: str(items[i].get("qid", ""))):
        kind = str(items[index].get("type", ""))
        seen[kind] = seen.get(kind, 0) + 1
        splits[index] = "dev" if seen[kind] % 2 == 1 else "test"
    return splits


def sentence_count(text: str) -> int:
    """Sentences in a reference answer (abbreviations such as "e.g." do not end one)."""
    cleaned = re.sub(r"\b(e\.g|i\.e|etc|vs)\.", "x", text)
    return len([part for part in re.split(r"(?<=[.!?])\s+(?=[A-Z0-9\"'(])", cleaned.strip()) if part])


def check_schema(items: Sequence[Mapping[str, Any]]) -> list[str]:
    """Schema problems of the set, one message per problem, each naming the qid."""
    errors: list[str] = []
    if not items:
        return ["the set is empty"]
    questions: dict[str, str] = {}
    splits = expected_splits(items)
    for index, item in enumerate(items):
        qid = str(item.get("qid", f"line {index + 1}"))
        where = f"{qid}:"
        missing = [name for name in FIELDS if name not in item]
        extra = sorted(set(item) - set(FIELDS))
        if missing or extra:
            errors.append(f"{where} missing fields {missing}, unknown fields {extra}")
            continue
        match = QID.match(qid)
        if not match or int(match.group(1)) != index + 1:
            errors.append(f"{where} qids must run OX-Q001, OX-Q002, ... in file order (line {index + 1})")
        if item["tenant"] != TENANT or item["locale"] != "en":
            errors.append(f"{where} tenant must be {TENANT!r} and locale 'en'")
        question = item["question"]
        if not isinstance(question, str) or not question.strip():
            errors.append(f"{where} empty question")
        else:
            key = squash(question)
            if key in questions:
                errors.append(f"{where} same question as {questions[key]}")
            questions[key] = qid
        answerable, relevant, facts = item["answerable"], item["relevant"], item["key_facts"]
        if not isinstance(answerable, bool):
            errors.append(f"{where} answerable must be true or false")
            continue
        if not isinstance(relevant, dict) or not all(
            isinstance(k, str) and ARTICLE_ID.match(k) and v in (1, 2) and type(v) is int for k, v in relevant.items()
        ):
            errors.append(f"{where} relevant must map OX-NNNN article ids to grades 1 or 2")
            continue
        if not isinstance(facts, list) or not all(isinstance(f, str) for f in facts):
            errors.append(f"{where} key_facts must be a list of strings")
            continue
        if item["type"] not in TYPES:
            errors.append(f"{where} unknown type {item['type']!r}")
        if item["difficulty"] not in DIFFICULTIES:
            errors.append(f"{where} unknown difficulty {item['difficulty']!r}")
        if item["split"] != splits[index]:
            errors.append(f"{where} split is {item['split']!r}, the rule gives {splits[index]!r}")
        reference = item["reference_answer"]
        if not isinstance(reference, str):
            errors.append(f"{where} reference_answer must be a string")
            continue
        if answerable:
            twos = [a for a, g in relevant.items() if g == 2]
            if not twos:
                errors.append(f"{where} an answerable question needs at least one grade-2 article")
            if item["type"] == "unanswerable" or item["unanswerable_kind"] != "":
                errors.append(f"{where} answerable but typed unanswerable or given an unanswerable_kind")
            if item["type"] == "multi-article" and len(twos) < 2:
                errors.append(f"{where} multi-article needs two or more grade-2 articles")
            if not 1 <= sentence_count(reference) <= 3:
                errors.append(f"{where} reference_answer must be 1-3 sentences")
            if not 1 <= len(facts) <= 3:
                errors.append(f"{where} needs 1-3 key facts, has {len(facts)}")
            for fact in facts:
                if not MIN_FACT_WORDS <= len(fact.split()) <= MAX_FACT_WORDS:
                    errors.append(f"{where} key fact {fact!r} is not {MIN_FACT_WORDS}-{MAX_FACT_WORDS} words")
        else:
            if relevant or facts or reference:
                errors.append(f"{where} unanswerable: relevant, key_facts and reference_answer must be empty")
            if item["type"] != "unanswerable" or item["unanswerable_kind"] not in KINDS:
                errors.append(f"{where} unanswerable: type 'unanswerable' and a kind in {KINDS} are required")
            if qid not in ABSENCE_PROBES:
                errors.append(f"{where} unanswerable without absence probes in check.py")
    return errors


def load_corpus(root: Path, data_dir: Path | None = None) -> Corpus:
    """Load every article with the project's ingest pipeline, one file at a time so that no article is lost to
    deduplication, then the whole folder once (from the pipeline's cache) to learn which ones dedupe drops."""
    from ingest.pipeline import IngestPipeline
    from ingest.settings import IngestSettings

    articles = root / "articles"
    paths = sorted(articles.glob("*.md"))
    if not paths:
        raise FileNotFoundError(f"{articles}: no .md articles (is {ENV_VAR} right?)")
    with tempfile.TemporaryDirectory(prefix="openedx-check-") as scratch:
        pipeline = IngestPipeline(IngestSettings(data_dir=data_dir or Path(scratch)))
        texts: dict[str, str] = {}
        article_of: dict[str, str] = {}
        skipped: list[str] = []
        for path in paths:
            prepared = pipeline.prepare([path], root=articles)
            skipped.extend(item.reason for item in prepared.skipped)
            for document in prepared.documents:
                texts[document.article_id] = document.text
                article_of[document.doc_id] = document.article_id
        if skipped:
            raise ValueError("articles the loader skipped: " + "; ".join(skipped))
        whole = pipeline.prepare([articles], root=articles)
    duplicates = {
        article_of.get(record.doc_id, record.doc_id): article_of.get(record.duplicate_of, record.duplicate_of)
        for record in whole.duplicates
    }
    return Corpus(root=root, texts=texts, duplicates=duplicates)


def check_against_corpus(items: Iterable[Mapping[str, Any]], corpus: Corpus) -> tuple[list[str], list[str]]:
    """Errors (unknown ids, key facts not in the text, probes that match) and warnings (dropped duplicates)."""
    errors: list[str] = []
    warnings: list[str] = []
    squashed = {article: squash(text) for article, text in corpus.texts.items()}
    for item in items:
        qid = str(item.get("qid"))
        relevant = item.get("relevant")
        if not isinstance(relevant, dict):
            continue
        unknown = sorted(a for a in relevant if a not in squashed)
        if unknown:
            errors.append(f"{qid}: relevant ids not in the corpus: {unknown}")
        twos = [a for a, g in relevant.items() if g == 2 and a in squashed]
        facts = [f for f in item.get("key_facts", []) if isinstance(f, str)]
        for fact in facts:
            if not any(squash(fact) in squashed[a] for a in twos):
                errors.append(f"{qid}: key fact {fact!r} is in none of its grade-2 articles {twos}")
        if item.get("type") == "multi-article":
            for article in twos:
                if not any(squash(f) in squashed[article] for f in facts):
                    errors.append(f"{qid}: multi-article, but grade-2 {article} holds none of the key facts")
        for article in relevant:
            if article in corpus.duplicates:
                warnings.append(
                    f"{qid}: graded {article} is dropped by the pipeline as a duplicate of {corpus.duplicates[article]}"
                )
        if item.get("answerable") is False:
            for probe in ABSENCE_PROBES.get(qid, ()):
                pattern = re.compile(probe, re.IGNORECASE)
                hits = sorted(a for a, text in corpus.texts.items() if pattern.search(text))
                if hits:
                    errors.append(f"{qid}: unanswerable, but probe {probe!r} matches {hits[:5]}")
    return errors, warnings


def check(path: Path = GOLDEN, root: Path | None = None) -> CheckResult:
    """Check the set at ``path`` against the corpus at ``root`` (default: `corpus_dir`)."""
    items = read_items(path)
    errors = check_schema(items)
    root = root or corpus_dir()
    if root is None or not (root / "articles").is_dir():
        raise FileNotFoundError(
            f"Open edX corpus not found: set {ENV_VAR} or place it at one of "
            + ", ".join(str(c) for c in CORPUS_CANDIDATES)
        )
    corpus_errors, warnings = check_against_corpus(items, load_corpus(root))
    return CheckResult(items=len(items), errors=tuple(errors + corpus_errors), warnings=tuple(warnings))


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    path = Path(args[0]) if args else GOLDEN
    result = check(path)
    for warning in result.warnings:
        print(f"warning: {warning}")
    for error in result.errors:
        print(f"error: {error}")
    print(f"{result.items} questions, {len(result.errors)} errors, {len(result.warnings)} warnings")
    return 0 if result.ok else 1


if __name__ == "__main__":
    sys.exit(main())
