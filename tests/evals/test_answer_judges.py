"""The answer metrics respond to the judge: a real CrossEncoder NLI judge (tiny, built here) and the support scorer."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from sentence_transformers import CrossEncoder

from assistant.records import Question, Source
from evals.answer_eval import NliJudge, SupportJudge, evaluate_answers, term_recall
from evals.datasets import Dataset, load_golden
from ingest.pipeline import embedding_model_path
from ingest.settings import IngestSettings
from ui.wiring import Retrieval


def _nli_model(path: Path, labels: dict[int, str], favoured: int) -> Path:
    """MiniLM with a 3-way classification head whose output is fixed: ``favoured`` wins for every pair."""
    model = CrossEncoder(str(embedding_model_path(IngestSettings())), num_labels=3, local_files_only=True)
    head = next(m for name, m in model.named_modules() if name.endswith("classifier"))
    assert isinstance(head, torch.nn.Linear)
    with torch.no_grad():
        head.weight.zero_()
        head.bias.copy_(torch.tensor([4.0 if i == favoured else 0.0 for i in range(3)]))
    model.config.id2label = labels
    model.config.label2id = {v: k for k, v in labels.items()}
    model.save(str(path))
    return path


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("nli")
    labels = {0: "contradiction", 1: "entailment", 2: "neutral"}
    return {
        "entails": _nli_model(root / "entails", labels, favoured=1),
        "contradicts": _nli_model(root / "contradicts", labels, favoured=0),
        "sentiment": _nli_model(root / "sentiment", {0: "negative", 1: "neutral", 2: "positive"}, favoured=2),
    }


@pytest.fixture(scope="module")
def few() -> Dataset:
    """Three answerable golden questions and one unanswerable."""
    golden = load_golden()
    picks = [q for q in golden.queries if q.qid in {"G-002", "G-023", "G-100", "G-150"}]
    return Dataset("few", tuple(picks))


def test_nli_judge_reads_the_entailment_label(models: dict[str, Path]) -> None:
    assert NliJudge(str(models["entails"])).entailment("The link lasts 60 minutes.", "It lasts an hour.") > 0.9
    assert NliJudge(str(models["contradicts"])).entailment("a", "b") < 0.1
    assert "entails" in NliJudge(str(models["entails"])).name
    with pytest.raises(RuntimeError, match="no entailment label"):
        NliJudge(str(models["sentiment"]))
    with pytest.raises(RuntimeError, match="DESKPILOT_EVAL_NLI_MODEL"):
        NliJudge(str(models["entails"].parent / "missing"))


def test_hallucination_and_citation_metrics_follow_the_judge(
    samples: Retrieval, models: dict[str, Path], few: Dataset
) -> None:
    """The same answers: a judge that accepts everything finds no hallucination, one that rejects everything
    finds only hallucinations; the support scorer (the validator's own) agrees with the validator."""
    service = samples.assistant()
    # The widget channel only: the judge is what changes here, not the channel.
    accepting = evaluate_answers(service, few, NliJudge(str(models["entails"])), resamples=200, channels=("widget",))
    rejecting = evaluate_answers(
        service, few, NliJudge(str(models["contradicts"])), resamples=200, channels=("widget",)
    )
    scorer = evaluate_answers(
        service,
        few,
        SupportJudge(service.validator, service.settings.support_min),
        resamples=200,
        channels=("widget",),
    )
    answered = [o for o in accepting.outcomes if not o.abstained]
    assert answered and all(o.sentences for o in answered)
    assert accepting.metrics["hallucination_rate"].value == 0 and accepting.metrics["citation_precision"].value == 1
    assert rejecting.metrics["hallucination_rate"].value == 1 and rejecting.metrics["citation_recall"].value == 0
    assert rejecting.judge.startswith("NLI (contradicts")
    assert scorer.metrics["hallucination_rate"].value == 0 and scorer.judge == "support scorer (lexical+MiniLM)"
    assert scorer.metrics["verbatim_grounding"].value == 1  # extractive sentences are copied from their source
    assert all(o.latency_ms > 0 and o.tokens == 0 for o in scorer.outcomes)


def test_support_judge_joins_sources_and_checks_numbers(samples: Retrieval) -> None:
    service = samples.assistant()
    answer = service.answer(
        Question("How long does the password reset link stay valid?", "ledgerly", "widget", locale="en")
    )
    judge = SupportJudge(service.validator, service.settings.support_min)
    source: Source = answer.sources[0]
    sentence = answer.sentences[0].text
    assert judge.supports(sentence, [source], "en")
    assert judge.supports(sentence, [*answer.sources[:2]], "en")
    assert not judge.supports(
        sentence.replace("60", "61") if "60" in sentence else sentence + " 987654", [source], "en"
    )
    assert not judge.supports(sentence, [], "en")


def test_term_recall_counts_content_words_and_numbers() -> None:
    reference = "The reset link is valid for 60 minutes and works only once."
    assert term_recall(reference, reference, "en") == 1.0
    # reset, link, valid, 60, minut(es), work(s): the answer has valid, 60, minutes
    assert term_recall(reference, "It is valid for 60 minutes.", "en") == pytest.approx(3 / 6)
    assert term_recall(reference, "Contact support.", "en") == 0.0
    assert term_recall("", "anything", "en") == 0.0
