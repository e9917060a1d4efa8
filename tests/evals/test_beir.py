"""A tiny BEIR dataset, written here, through the whole BEIR path: help center, ingest, ranx, report."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from evals.run import EvalResult, run
from ui.settings import AppSettings

DOCS = [
    (
        "doc/1",
        "Sourdough starter",
        "Feed a sourdough starter with equal weights of flour and water every day and keep it at room temperature.",
    ),
    (
        "doc-2",
        "Bicycle chain care",
        "Clean the bicycle chain with a degreaser, dry it and apply a drop of lubricant to every roller.",
    ),
    ("3", "", "Tomato seedlings need sixteen hours of light; move them outdoors only after the last frost."),
    (
        "doc-4",
        "Passport renewal",
        "Renew a passport by sending the application form, two photos and the old passport to the office.",
    ),
    (
        "doc-5",
        "Aquarium cycling",
        "Cycle a new aquarium for four weeks so nitrifying bacteria can convert ammonia into nitrate.",
    ),
]
QUERIES = {
    "q1": "how often should I feed my sourdough starter",
    "q2": "what do I need to renew my passport",
    "q3": "when can tomato seedlings go outside",
}
QRELS = [("q1", "doc/1", 1), ("q2", "doc-4", 2), ("q3", "3", 1), ("q3", "doc-5", 0)]


@pytest.fixture(scope="module")
def beir_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[EvalResult, Path]:
    root = tmp_path_factory.mktemp("beir")
    data = root / "tinybeir"
    (data / "qrels").mkdir(parents=True)
    (data / "corpus.jsonl").write_text(
        "\n".join(json.dumps({"_id": i, "title": t, "text": x}) for i, t, x in DOCS) + "\n", encoding="utf-8"
    )
    (data / "queries.jsonl").write_text(
        "\n".join(json.dumps({"_id": q, "text": t}) for q, t in QUERIES.items()), encoding="utf-8"
    )
    (data / "qrels" / "test.tsv").write_text(
        "query-id\tcorpus-id\tscore\n" + "".join(f"{q}\t{d}\t{s}\n" for q, d, s in QRELS), encoding="utf-8"
    )
    report = root / "report"
    return run(AppSettings.load(root / "state"), report, beir=data, samples=False), report


def test_beir_dataset_is_ingested_and_scored(beir_run: tuple[EvalResult, Path]) -> None:
    result, _ = beir_run
    assert result.retrieval is None and result.beir is not None
    beir = result.beir
    assert (beir.name, beir.split, beir.documents) == ("tinybeir", "test", 5)
    ev = beir.retrieval
    assert ev.dataset == "beir:tinybeir" and ev.qids == ("q1", "q2", "q3")
    assert ev.qrels["q3"] == {"3": 1}
    for name in ("dense", "bm25", "hybrid"):
        config = ev.config(name)
        # Every query's one relevant document comes first: the article ids are the BEIR document ids.
        assert [config.rankings[q][0] for q in ev.qids] == ["doc/1", "doc-4", "3"]
        assert config.estimates["ndcg@10"].value == pytest.approx(1.0)
        assert config.estimates["recall@5"].value == pytest.approx(1.0)
        assert config.estimates["precision@5"].value == pytest.approx(1 / 5)
    assert not ev.config("hybrid+reranker").configured


def test_beir_report(beir_run: tuple[EvalResult, Path]) -> None:
    _, report = beir_run
    md = (report / "report.md").read_text()
    assert "## Retrieval on BEIR tinybeir (test split, 5 documents)" in md
    assert "| hybrid |" in md and "beir_retrieval.png" in md
    assert (report / "report.html").read_text().count("data:image/png;base64,") == 2
