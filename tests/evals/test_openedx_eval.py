"""The Open edX option of the evaluation on a slice of the real corpus (three articles, five questions of
data/evalsets/openedx) next to two ledgerly articles: ingest as tenant openedx, the same metrics, cross-tenant
questions both ways, and the report section."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from evals.datasets import OPENEDX_CORPUS, OPENEDX_GOLDEN, DatasetError
from evals.run import EvalResult, EvalSettings, ensure_openedx, run
from retrieval.index import stats_of
from tests.conftest import HELPCENTER, golden_items
from ui.settings import AppSettings
from ui.wiring import Retrieval, ingest_paths

ARTICLES = ("OX-0319-sfd-bookmarks.md", "OX-0321-sfd-content-availability.md", "OX-0322-sfd-course-search.md")
QUESTIONS = ("OX-Q001", "OX-Q009", "OX-Q010", "OX-Q194", "OX-Q228")
LEDGERLY = ("ledgerly/accounts-login/reset-your-password.md", "ledgerly/plans-billing/refund-policy.md")

pytestmark = pytest.mark.skipif(
    not (OPENEDX_GOLDEN.is_file() and (OPENEDX_CORPUS / "articles").is_dir()),
    reason="the Open edX question set or corpus is missing",
)


@pytest.fixture(scope="module")
def paths(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("openedx")
    (root / "corpus" / "articles").mkdir(parents=True)
    for name in ARTICLES:
        shutil.copy2(OPENEDX_CORPUS / "articles" / name, root / "corpus" / "articles" / name)
    for pick in LEDGERLY:
        (root / "ledgerly" / pick).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(HELPCENTER / pick, root / "ledgerly" / pick)
    rows = [json.loads(line) for line in OPENEDX_GOLDEN.read_text(encoding="utf-8").splitlines() if line.strip()]
    (root / "openedx.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows if r["qid"] in QUESTIONS))
    (root / "golden.jsonl").write_text("".join(json.dumps(i) + "\n" for i in golden_items() if i["qid"] == "G-002"))
    return {"root": root, "corpus": root / "corpus", "openedx": root / "openedx.jsonl", "golden": root / "golden.jsonl"}


@pytest.fixture(scope="module")
def result(paths: dict[str, Path]) -> EvalResult:
    settings = AppSettings.load(paths["root"] / "state")
    with Retrieval(settings) as retrieval:
        ingest_paths([paths["root"] / "ledgerly"], settings, retrieval=retrieval)
        return run(
            settings,
            paths["root"] / "report",
            golden=paths["golden"],
            retrieval=retrieval,
            redteam=False,
            openedx=True,
            openedx_golden=paths["openedx"],
            openedx_corpus=paths["corpus"],
            eval_settings=EvalSettings(resamples=200),
        )


def test_openedx_is_ingested_as_its_own_tenant_and_evaluated(result: EvalResult, paths: dict[str, Path]) -> None:
    with Retrieval(AppSettings.load(paths["root"] / "state")) as retrieval:
        tenants = stats_of(retrieval.index).by_tenant
    assert set(tenants) == {"ledgerly", "openedx"}
    second = result.openedx
    assert second is not None and (second.name, second.tenant, second.documents) == ("openedx", "openedx", 3)
    assert second.retrieval.qids == ("OX-Q001", "OX-Q009", "OX-Q010")
    assert second.retrieval.config("hybrid").rankings["OX-Q001"][0] == "OX-0319"
    assert [o.qid for o in second.answers.outcomes] == list(QUESTIONS)
    assert second.answers.metrics["abstention_off_topic"].n == 1
    assert "openedx.answers.key_fact_recall" in result.metrics()
    assert "openedx.retrieval.hybrid.ndcg@10" in result.metrics()


def test_cross_tenant_questions_go_both_ways(result: EvalResult) -> None:
    # parcelpoint is not in this index: ledgerly -> parcelpoint is skipped
    assert [(c.source, c.target, len(c.asked)) for c in result.cross_tenant] == [
        ("ledgerly", "openedx", 1),
        ("openedx", "ledgerly", 3),
    ]
    assert all(0 <= c.abstention.value <= 1 for c in result.cross_tenant)
    assert "cross_tenant.openedx_to_ledgerly.abstention" in result.metrics()


def test_report_has_the_openedx_sections(result: EvalResult, paths: dict[str, Path]) -> None:
    md = (paths["root"] / "report" / "report.md").read_text()
    assert "## Retrieval on the openedx set (3 documents, tenant openedx)" in md
    assert "## Answers on the openedx set" in md and "](openedx_reliability.png)" in md
    assert "### Lint defects per question (openedx)" in md


def test_a_missing_corpus_is_named(paths: dict[str, Path]) -> None:
    with (
        Retrieval(AppSettings.load(paths["root"] / "other")) as retrieval,
        pytest.raises(DatasetError, match="nowhere"),
    ):
        ensure_openedx(retrieval, paths["root"] / "nowhere", paths["openedx"])
