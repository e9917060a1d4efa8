"""The golden set's key facts, dev/test split and unanswerable kinds hold against the real articles.

Every article is loaded with the project's own loader (real files, no fixtures):
each key fact must occur verbatim in a grade-2 article of its question, and the
split must be the seeded, stratified one that GOLDEN.md describes (its test half
is locked).
"""

from __future__ import annotations

import copy
import importlib.util
import sys
from collections import Counter
from types import ModuleType
from typing import Any

import pytest

from tests.conftest import SAMPLES, golden_items


def _load_checker() -> ModuleType:
    path = SAMPLES / "tools" / "check_golden.py"
    spec = importlib.util.spec_from_file_location("check_golden", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    return module


checker = _load_checker()


@pytest.fixture(scope="module")
def articles(tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[str, str, str], list[str]]:
    """Every sample article as the project's loader produces it, keyed by (tenant, id, locale)."""
    loaded: dict[tuple[str, str, str], list[str]] = checker.load_articles(
        checker.HELPCENTER, tmp_path_factory.mktemp("golden-load")
    )
    return loaded


@pytest.fixture(scope="module")
def items() -> list[dict[str, Any]]:
    return golden_items()


def test_every_key_fact_is_in_a_grade_2_article_and_fields_are_valid(
    items: list[dict[str, Any]], articles: dict[tuple[str, str, str], list[str]]
) -> None:
    forbidden = checker.forbidden_strings(checker.read_jsonl(checker.REDTEAM))
    problems = checker.check_golden(items, articles, forbidden)
    assert not problems, "\n".join(str(p) for p in problems)
    # German questions are checked against the German articles, which exist for all of them.
    graded_de = {a for item in items if item["locale"] == "de" for a, grade in item["relevant"].items() if grade == 2}
    assert graded_de <= {article_id for (_, article_id, locale) in articles if locale == "de"}


def test_the_checker_reports_what_is_wrong(
    items: list[dict[str, Any]], articles: dict[tuple[str, str, str], list[str]]
) -> None:
    by_qid = {item["qid"]: copy.deepcopy(item) for item in items}
    by_qid["G-002"]["key_facts"] = ["valid for 90 minutes"]  # not what LED-1002 says
    by_qid["G-085"]["key_facts"] = ["valid for 60 minutes"]  # English phrase on a German question
    by_qid["G-094"]["key_facts"] = ["$39/month"]  # the superseded 2024 price, dropped by the loader
    by_qid["G-010"]["split"] = "dev" if by_qid["G-010"]["split"] == "test" else "test"
    by_qid["G-126"]["unanswerable_kind"] = ""
    by_qid["G-127"]["key_facts"] = ["anything"]
    by_qid["G-001"]["unanswerable_kind"] = "near_topic"
    by_qid["G-003"]["key_facts"] = []
    problems = checker.check_golden(list(by_qid.values()), articles)
    flagged = Counter(p.qid for p in problems)
    assert set(flagged) == {"G-002", "G-085", "G-094", "G-010", "G-126", "G-127", "G-001", "G-003"}
    assert all("G-" in str(p) for p in problems)


def test_the_split_is_balanced_within_every_group(items: list[dict[str, Any]]) -> None:
    counts = checker.split_counts(items)
    for group, halves in counts.items():
        assert set(halves) <= {"dev", "test"}, group
        assert abs(halves["dev"] - halves["test"]) <= 1, (group, dict(halves))
    total = Counter(item["split"] for item in items)
    assert abs(total["dev"] - total["test"]) <= len(items) * 0.05, total
    for name, subset in {
        "unanswerable": [i for i in items if not i["answerable"]],
        "off_topic": [i for i in items if i["unanswerable_kind"] == "off_topic"],
        "German": [i for i in items if i["locale"] == "de"],
        "parcelpoint": [i for i in items if i["tenant"] == "parcelpoint"],
    }.items():
        halves = Counter(item["split"] for item in subset)
        assert min(halves["dev"], halves["test"]) >= 0.4 * len(subset) - 1, (name, dict(halves))


def test_the_split_does_not_move_when_questions_are_added(items: list[dict[str, Any]]) -> None:
    before = checker.expected_splits(items)
    extra = [
        {**items[0], "qid": "G-900"},
        {**items[-1], "qid": "G-901"},
        {"qid": "G-902", "tenant": "parcelpoint", "locale": "de", "type": "lookup"},
    ]
    after = checker.expected_splits([*items, *extra])
    assert {qid: after[qid] for qid in before} == before
    assert checker.expected_splits(list(reversed(items))) == before


def test_unanswerable_kinds_match_the_documented_count() -> None:
    text = (SAMPLES / "GOLDEN.md").read_text(encoding="utf-8")
    kinds = Counter(item["unanswerable_kind"] for item in golden_items() if not item["answerable"])
    assert f"{kinds['off_topic']} are far off topic" in text
    assert f"{kinds['near_topic']} are deliberately close" in text
