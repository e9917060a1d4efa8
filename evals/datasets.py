"""Evaluation datasets: the golden questions of the samples, and any BEIR-format dataset as a help center.

A BEIR dataset is a folder with ``corpus.jsonl`` (``_id``, ``title``, ``text``), ``queries.jsonl``
(``_id``, ``text``) and ``qrels/<split>.tsv`` (``query-id``, ``corpus-id``, ``score``). It is turned
into Markdown articles of one tenant, ``beir``, with front matter, so the normal ingest pipeline
(normalize, dedupe, redact, chunk, embed) indexes it like any help center.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
SAMPLES = REPO / "data" / "samples"
GOLDEN = SAMPLES / "golden.jsonl"
HELPCENTER = SAMPLES / "helpcenter"
BEIR_TENANT = "beir"
EVALSETS = REPO / "data" / "evalsets"
OPENEDX_TENANT = "openedx"
OPENEDX_GOLDEN = EVALSETS / "openedx" / "golden.jsonl"
OPENEDX_CORPUS = REPO.parent / "shared" / "corpora" / "openedx"
"""The Open edX help center is not in the repository: it sits next to it (``../shared/corpora/openedx``)."""
SPLITS = ("dev", "test")
"""Dev: what rules, thresholds and weights may be fitted on. Test: locked, measured only."""
SPLIT_CHOICES = ("dev", "test", "all")
UNANSWERABLE_KINDS = ("near_topic", "off_topic")


class DatasetError(ValueError):
    """A dataset file that cannot be read; the message names the file, line and field."""


@dataclass(frozen=True)
class EvalQuery:
    """One evaluation question: where it is asked, which articles are relevant (graded), the reference answer."""

    qid: str
    text: str
    tenant: str
    locale: str | None
    relevant: dict[str, int] = field(hash=False)
    """Article id -> grade (> 0); empty when nothing in the tenant answers the question."""
    answerable: bool = True
    reference_answer: str = ""
    type: str = ""
    difficulty: str = ""
    key_facts: tuple[str, ...] = ()
    """1-3 short verbatim strings a correct answer must contain; empty for unanswerable (or unlabelled) questions."""
    split: str = ""
    """``dev`` or ``test``; empty when the file has no split (the question then counts in ``all`` only)."""
    unanswerable_kind: str = ""
    """``near_topic`` (close to a real topic) or ``off_topic`` for unanswerable questions; empty otherwise."""


@dataclass(frozen=True)
class Dataset:
    """A named set of evaluation questions."""

    name: str
    queries: tuple[EvalQuery, ...]

    @property
    def judged(self) -> tuple[EvalQuery, ...]:
        """The questions with at least one relevant article (the ones retrieval metrics are computed on)."""
        return tuple(q for q in self.queries if q.relevant)

    def qrels(self) -> dict[str, dict[str, int]]:
        """Query id -> article id -> grade, for the judged questions."""
        return {q.qid: dict(q.relevant) for q in self.judged}

    def split(self, name: str) -> Dataset:
        """The questions of one split (``dev``, ``test``) or all of them (``all``)."""
        if name not in SPLIT_CHOICES:
            raise DatasetError(f"{self.name}: unknown split {name!r}; choose one of {', '.join(SPLIT_CHOICES)}")
        if name == "all":
            return self
        return Dataset(f"{self.name}:{name}", tuple(q for q in self.queries if q.split == name))

    @property
    def splits(self) -> tuple[str, ...]:
        """The splits that have questions, in SPLITS order."""
        present = {q.split for q in self.queries}
        return tuple(s for s in SPLITS if s in present)


def _jsonl(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    if not path.is_file():
        raise DatasetError(f"{path}: no such file")
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise DatasetError(f"{path}:{number}: not valid JSON ({exc.msg})") from exc
            if not isinstance(row, dict):
                raise DatasetError(f"{path}:{number}: expected a JSON object, got {type(row).__name__}")
            yield number, row


def _field(row: dict[str, Any], key: str, where: str) -> Any:
    if key not in row:
        raise DatasetError(f"{where}: missing field {key!r}")
    return row[key]


def _key_facts(row: dict[str, Any], where: str) -> tuple[str, ...]:
    facts = row.get("key_facts", [])
    if not isinstance(facts, list) or not all(isinstance(f, str) and f.strip() for f in facts):
        raise DatasetError(f"{where}: field 'key_facts' must be a list of non-empty strings")
    return tuple(facts)


def _choice(row: dict[str, Any], key: str, allowed: tuple[str, ...], where: str) -> str:
    value = row.get(key, "") or ""
    if value not in ("", *allowed):
        raise DatasetError(f"{where}: field {key!r} is {value!r}; expected one of {', '.join(allowed)} (or empty)")
    return str(value)


def load_golden(path: Path = GOLDEN, split: str = "all") -> Dataset:
    """The golden questions (``data/samples/golden.jsonl`` by default; format in ``GOLDEN.md``).

    ``key_facts``, ``split`` and ``unanswerable_kind`` are optional (empty when absent); ``split`` selects
    ``dev``, ``test`` or ``all`` questions.
    """
    queries = []
    seen: set[str] = set()
    for number, row in _jsonl(path):
        where = f"{path}:{number}"
        qid = str(_field(row, "qid", where))
        if qid in seen:
            raise DatasetError(f"{where}: duplicate qid {qid!r}")
        seen.add(qid)
        relevant = _field(row, "relevant", where)
        if not isinstance(relevant, dict) or not all(isinstance(g, int) for g in relevant.values()):
            raise DatasetError(f"{where}: field 'relevant' must map article ids to integer grades")
        queries.append(
            EvalQuery(
                qid=qid,
                text=str(_field(row, "question", where)),
                tenant=str(_field(row, "tenant", where)),
                locale=row.get("locale") or None,
                relevant={str(a): int(g) for a, g in relevant.items() if g > 0},
                answerable=bool(_field(row, "answerable", where)),
                reference_answer=str(row.get("reference_answer", "")),
                type=str(row.get("type", "")),
                difficulty=str(row.get("difficulty", "")),
                key_facts=_key_facts(row, where),
                split=_choice(row, "split", SPLITS, where),
                unanswerable_kind=_choice(row, "unanswerable_kind", UNANSWERABLE_KINDS, where),
            )
        )
    if not queries:
        raise DatasetError(f"{path}: no questions")
    # A set under data/evalsets/<name>/ is called by its folder's name; every other file is "golden".
    name = path.resolve().parent.name if path.resolve().parent.parent == EVALSETS.resolve() else "golden"
    dataset = Dataset(name, tuple(queries)).split(split)
    if not dataset.queries:
        raise DatasetError(f"{path}: no question in split {split!r}")
    return dataset


@dataclass(frozen=True)
class BeirDataset:
    """A BEIR dataset written out as a help center: the folder to ingest and the judged queries."""

    name: str
    split: str
    helpcenter: Path
    documents: int
    dataset: Dataset


def beir_split(path: Path, split: str | None = None) -> Path:
    """The qrels file to use: ``qrels/<split>.tsv``, else ``test``, else the only split there is."""
    qrels_dir = path / "qrels"
    if not qrels_dir.is_dir():
        raise DatasetError(f"{path}: not a BEIR dataset (no qrels/ folder next to corpus.jsonl and queries.jsonl)")
    available = sorted(p.stem for p in qrels_dir.glob("*.tsv"))
    wanted = split or ("test" if "test" in available else (available[0] if len(available) == 1 else ""))
    if wanted not in available:
        raise DatasetError(
            f"{qrels_dir}: choose a split among {', '.join(available) or '(none)'}"
            + (f" (no {wanted}.tsv)" if wanted else "")
        )
    return qrels_dir / f"{wanted}.tsv"


def read_beir_qrels(path: Path) -> dict[str, dict[str, int]]:
    """``query-id<TAB>corpus-id<TAB>score`` rows (an optional header line) -> query -> doc -> grade (> 0 only)."""
    qrels: dict[str, dict[str, int]] = {}
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        parts = line.rstrip("\n").split("\t")
        if len(parts) == 4:  # TREC style: qid 0 docid grade
            parts = [parts[0], parts[2], parts[3]]
        if len(parts) != 3:
            raise DatasetError(f"{path}:{number}: expected query-id, corpus-id and score separated by tabs")
        try:
            grade = int(float(parts[2]))
        except ValueError as exc:
            if number == 1:
                continue  # the header line
            raise DatasetError(f"{path}:{number}: score {parts[2]!r} is not a number") from exc
        if grade > 0:
            qrels.setdefault(parts[0], {})[parts[1]] = grade
    return qrels


def _file_name(doc_id: str) -> str:
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", doc_id)[:60].strip("._") or "doc"
    return f"{safe}-{hashlib.sha1(doc_id.encode()).hexdigest()[:8]}.md"


def article_markdown(doc_id: str, title: str, text: str) -> str:
    """A BEIR document as a Markdown article with front matter (id, title, tenant, locale)."""
    title = " ".join(title.split()) or " ".join(text.split()[:12]) or doc_id
    front = {"id": doc_id, "title": title, "tenant": BEIR_TENANT, "locale": "en"}
    lines = ["---", *(f"{k}: {json.dumps(v, ensure_ascii=False)}" for k, v in front.items()), "---", ""]
    return "\n".join(lines) + text.strip() + "\n"


def write_beir_helpcenter(path: Path, target: Path, split: str | None = None) -> BeirDataset:
    """Write the corpus of the BEIR dataset at ``path`` as Markdown articles under ``target/beir``.

    Unchanged files are left alone (so a re-ingest costs next to nothing) and files of documents no
    longer in the corpus are removed. Queries are those judged in the chosen qrels split.
    """
    qrels_path = beir_split(path, split)
    qrels = read_beir_qrels(qrels_path)
    folder = target / BEIR_TENANT
    folder.mkdir(parents=True, exist_ok=True)
    written: set[str] = set()
    corpus_ids: set[str] = set()
    for number, row in _jsonl(path / "corpus.jsonl"):
        where = f"{path / 'corpus.jsonl'}:{number}"
        doc_id = str(_field(row, "_id", where))
        text = str(row.get("text") or "")
        if not text.strip():
            continue  # nothing to index; the ingest would skip it as empty anyway
        corpus_ids.add(doc_id)
        name = _file_name(doc_id)
        content = article_markdown(doc_id, str(row.get("title") or ""), text)
        file = folder / name
        if not file.is_file() or file.read_text(encoding="utf-8") != content:
            file.write_text(content, encoding="utf-8")
        written.add(name)
    for stale in folder.glob("*.md"):
        if stale.name not in written:
            stale.unlink()
    texts = {
        str(_field(row, "_id", f"{path / 'queries.jsonl'}:{n}")): str(row.get("text", ""))
        for n, row in _jsonl(path / "queries.jsonl")
    }
    missing = sorted(q for q in qrels if q not in texts)
    if missing:
        raise DatasetError(f"{qrels_path}: queries {', '.join(missing[:5])} are not in queries.jsonl")
    queries = tuple(
        EvalQuery(qid=qid, text=texts[qid], tenant=BEIR_TENANT, locale=None, relevant=relevant)
        for qid, relevant in sorted(qrels.items())
        if texts[qid].strip() and any(doc in corpus_ids for doc in relevant)
    )
    if not queries:
        raise DatasetError(f"{qrels_path}: no query has a relevant document in the corpus")
    name = path.resolve().name
    return BeirDataset(name, qrels_path.stem, target, len(written), Dataset(f"beir:{name}", queries))
