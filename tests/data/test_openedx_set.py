"""The Open edX question set (data/evalsets/openedx) is well formed and true to the real corpus.

The corpus itself is never copied into the repository: the check reads it from
``$DESKPILOT_OPENEDX_DIR`` or ``../shared/corpora/openedx`` and loads it with the project's ingest pipeline.
"""

from __future__ import annotations

import importlib.util
import sys
from collections import Counter
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from evals.datasets import load_golden
from tests.conftest import REPO

SET_DIR = REPO / "data" / "evalsets" / "openedx"


def _check_module() -> ModuleType:
    name = "openedx_evalset_check"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, SET_DIR / "check.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    return module


check = _check_module()


@pytest.fixture(scope="module")
def items() -> list[dict[str, Any]]:
    return list(check.read_items())


def test_schema_holds(items: list[dict[str, Any]]) -> None:
    assert check.check_schema(items) == []


def test_size_and_mix(items: list[dict[str, Any]]) -> None:
    answerable = [i for i in items if i["answerable"]]
    kinds = Counter(i["unanswerable_kind"] for i in items if not i["answerable"])
    assert len(answerable) >= 90
    assert sum(kinds.values()) >= 45 and kinds["near_topic"] >= 35 and 8 <= kinds["off_topic"] <= 12
    types = Counter(i["type"] for i in answerable)
    assert set(types) == {"lookup", "multi-step", "comparison", "paraphrase", "multi-article"}
    assert min(types.values()) >= 12
    splits = Counter((i["type"], i["split"]) for i in items)
    for kind in set(types) | {"unanswerable"}:
        assert abs(splits[(kind, "dev")] - splits[(kind, "test")]) <= 1, kind
    # Every area of the corpus is asked about: educators (concepts 0001-0055, how-tos 0056-0247,
    # references 0248-0315), learners (0316-0345) and site operators (0346-0364).
    areas = Counter(_area(article) for i in answerable for article, grade in i["relevant"].items() if grade == 2)
    assert all(areas[area] >= 8 for area in ("concepts", "how-tos", "references", "learners", "site-ops")), areas


def _area(article_id: str) -> str:
    number = int(article_id.removeprefix("OX-"))
    for upper, area in ((55, "concepts"), (247, "how-tos"), (315, "references"), (345, "learners")):
        if number <= upper:
            return area
    return "site-ops"


def test_the_project_reads_the_set() -> None:
    dataset = load_golden(SET_DIR / "golden.jsonl")
    assert {q.tenant for q in dataset.queries} == {"openedx"}
    assert len(dataset.judged) == sum(q.answerable for q in dataset.queries)


def test_the_checker_catches_what_it_promises(items: list[dict[str, Any]]) -> None:
    """On a hand-made corpus (no pipeline): a missing fact, an unknown id and a probe hit are all reported."""
    item = next(i for i in items if i["type"] == "multi-article")
    twos = [a for a, g in item["relevant"].items() if g == 2]
    texts = {article: " ".join(item["key_facts"]).upper() for article in twos}
    corpus = check.Corpus(root=Path("."), texts=texts, duplicates={twos[0]: "OX-9999"})
    errors, warnings = check.check_against_corpus([item], corpus)
    assert errors == [] and len(warnings) == 1

    broken = dict(item, key_facts=[*item["key_facts"][:-1], "a fact the corpus never states"])
    broken["relevant"] = {**item["relevant"], "OX-9998": 1}
    errors, _ = check.check_against_corpus([broken], corpus)
    assert any("never states" in e for e in errors) and any("OX-9998" in e for e in errors)

    h5p = next(i for i in items if not i["answerable"] and "H5P" in i["question"])
    silent = check.Corpus(root=Path("."), texts={"OX-0001": "Add a poll to a unit."}, duplicates={})
    telling = check.Corpus(root=Path("."), texts={"OX-0001": "Studio supports H5P packages."}, duplicates={})
    assert check.check_against_corpus([h5p], silent)[0] == []
    assert check.check_against_corpus([h5p], telling)[0] != []


@pytest.mark.slow
def test_set_is_true_to_the_real_corpus() -> None:
    """Every relevant id exists, every key fact is in its grade-2 articles as the pipeline loads them, and no
    article answers an unanswerable question."""
    root = check.corpus_dir()
    if root is None or not (root / "articles").is_dir():
        pytest.skip(f"Open edX corpus not found (set {check.ENV_VAR} or put it at ../shared/corpora/openedx)")
    result = check.check()
    assert result.items >= 135
    assert result.errors == ()
