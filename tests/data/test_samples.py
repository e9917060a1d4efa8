"""The shipped sample data set is internally consistent."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest

from tests.conftest import SAMPLES


def _jsonl(name: str) -> list[dict]:
    return [json.loads(line) for line in (SAMPLES / name).read_text(encoding="utf-8").splitlines() if line.strip()]


def _catalog_ids() -> set[str]:
    return set(re.findall(r"^\| ((?:LED|PP)-\d{4}) \|", (SAMPLES / "CATALOG.md").read_text(encoding="utf-8"), re.M))


def test_golden_ids_exist_and_questions_are_unique() -> None:
    golden = _jsonl("golden.jsonl")
    ids = _catalog_ids()
    assert len(golden) >= 120 and len(ids) >= 60
    assert len({g["question"].strip().lower() for g in golden}) == len(golden)
    assert len({g["qid"] for g in golden}) == len(golden)
    for item in golden:
        assert set(item["relevant"]) <= ids, item["qid"]
        assert set(item["relevant"].values()) <= {1, 2}, item["qid"]
        assert item["answerable"] == bool(item["relevant"]), item["qid"]
    assert sum(not g["answerable"] for g in golden) >= 25


def test_pii_spans_lie_within_their_texts() -> None:
    labels = _jsonl("pii_labels.jsonl")
    assert sum(len(item["spans"]) for item in labels) >= 150
    for item in labels:
        for span in item["spans"]:
            assert 0 <= span["start"] < span["end"] <= len(item["text"])
            assert item["text"][span["start"] : span["end"]] == span["value"]


def test_redteam_and_inbox_labels_point_at_real_articles() -> None:
    ids = _catalog_ids()
    probes = _jsonl("redteam.jsonl")
    assert len(probes) >= 30 and all(set(p.get("related_article_ids", [])) <= ids for p in probes)
    tickets = json.loads((SAMPLES / "inbox" / "tickets.json").read_text(encoding="utf-8"))["tickets"]
    assert len(tickets) >= 40 and all(set(t["answer_article_ids"]) <= ids for t in tickets)


def test_sample_data_stays_small() -> None:
    total = sum(p.stat().st_size for p in SAMPLES.rglob("*") if p.is_file() and p.name != "huge.md")
    assert total < 15 * 1024 * 1024


@pytest.mark.parametrize("builder", ["build_inbox_eml.py", "build_pii_labels.py"])
def test_derived_inbox_files_are_up_to_date(builder: str) -> None:
    done = subprocess.run(
        [sys.executable, str(SAMPLES / "tools" / builder), "--check"], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stdout + done.stderr
