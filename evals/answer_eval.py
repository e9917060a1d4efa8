"""Answer metrics on the golden set: citations, hallucination, correctness, abstention, latency and cost.

Each golden question is answered by the AnswerService (extractive generator, widget channel). Every
answer sentence is then judged against the sources it cites:

- citation precision: citations whose source supports their sentence / all citations (ALCE-style);
- citation recall: sentences with at least one supporting citation / all sentences;
- hallucination rate: sentences not supported by their cited sources taken together / all sentences;
- verbatim grounding: sentences found word for word in a cited source (what the extractive generator promises).

The judge is an NLI CrossEncoder when ``DESKPILOT_EVAL_NLI_MODEL`` names one (entailment probability >= 0.5),
else the citation support scorer (lexical + MiniLM similarity, every number present, >= ``SUPPORT_MIN``),
the same scorer the validator uses, so for answers that passed validation it confirms rather than tests.
The report names the judge.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Protocol

import numpy as np

from assistant.citations import CitationValidator
from assistant.records import Answer, Question, Source
from assistant.service import AnswerService
from assistant.text import content_terms
from evals.datasets import Dataset, EvalQuery
from evals.stats import Estimate, bootstrap, bootstrap_mean, bootstrap_percentile, bootstrap_ratio
from retrieval.embedder import Embedder

Progress = Callable[[str, int, int], None]
SUPPORT_JUDGE = "support scorer (lexical+MiniLM)"
NLI_THRESHOLD = 0.5


class Judge(Protocol):
    """Decides whether sources support a sentence."""

    name: str

    def supports(self, sentence: str, sources: Sequence[Source], locale: str) -> bool:
        """True when ``sources`` (together) support ``sentence``."""
        ...


class SupportJudge:
    """The citation validator's support score against ``support_min``, numbers included."""

    name = SUPPORT_JUDGE

    def __init__(self, validator: CitationValidator, support_min: float) -> None:
        self.validator, self.support_min = validator, support_min

    def supports(self, sentence: str, sources: Sequence[Source], locale: str) -> bool:
        """Several sources are judged as one text (their concatenation)."""
        if not sources:
            return False
        source = sources[0]
        if len(sources) > 1:
            hit = replace(
                source.hit,
                text="\n".join(s.hit.text for s in sources),
                title=" ".join(s.hit.title for s in sources),
                section=" ".join(s.hit.section for s in sources),
            )
            source = Source(n=source.n, hit=hit)
        support = self.validator.support(sentence, source, locale)
        return support.numbers_ok and support.score >= self.support_min


class NliJudge:
    """A local NLI CrossEncoder: premise = the cited sources' text, hypothesis = the sentence."""

    def __init__(self, model: str, threshold: float = NLI_THRESHOLD) -> None:
        from sentence_transformers import CrossEncoder

        try:
            self._model = CrossEncoder(model, local_files_only=True)
        except Exception as exc:
            raise RuntimeError(
                f"DESKPILOT_EVAL_NLI_MODEL={model!r} could not be loaded as a CrossEncoder ({exc}); "
                "give the path of a downloaded NLI model, or leave it empty to judge with the support scorer"
            ) from exc
        labels = {int(i): str(name).lower() for i, name in self._model.config.id2label.items()}
        entailment = [i for i, name in labels.items() if "entail" in name]
        if not entailment:
            raise RuntimeError(f"{model}: no entailment label among {sorted(labels.values())}; not an NLI model")
        self._entailment = entailment[0]
        self.threshold = threshold
        self.name = f"NLI ({model.rstrip('/').rsplit('/', 1)[-1]}, entailment >= {threshold})"

    def entailment(self, premise: str, hypothesis: str) -> float:
        """Probability that ``premise`` entails ``hypothesis``."""
        probabilities = self._model.predict([(premise, hypothesis)], apply_softmax=True, show_progress_bar=False)
        return float(np.asarray(probabilities)[0][self._entailment])

    def supports(self, sentence: str, sources: Sequence[Source], locale: str) -> bool:
        """Entailment of the sentence by the cited sources' text."""
        if not sources:
            return False
        return self.entailment("\n".join(s.hit.text for s in sources), sentence) >= self.threshold


@dataclass(frozen=True)
class JudgedSentence:
    """One answer sentence as the judge saw it."""

    text: str
    cited: tuple[str, ...]
    """Article ids of the cited sources."""
    supporting: int
    """How many of its citations support it on their own."""
    supported: bool
    """Supported by its cited sources together."""
    verbatim: bool


@dataclass(frozen=True)
class Outcome:
    """One golden question's answer, judged."""

    qid: str
    question: str
    tenant: str
    answerable: bool
    abstained: bool
    answer: str
    sentences: tuple[JudgedSentence, ...]
    term_recall: float
    """Share of the reference answer's content terms (words and numbers) found in the answer; 0 on abstention."""
    similarity: float
    """Cosine of reference and answer embeddings (MiniLM); 0 on abstention."""
    latency_ms: float
    tokens: int
    removed_by_validation: int

    @property
    def citations(self) -> int:
        """Citations in the answer (one per cited source per sentence)."""
        return sum(len(s.cited) for s in self.sentences)

    @property
    def supporting_citations(self) -> int:
        """Citations whose source supports their sentence."""
        return sum(s.supporting for s in self.sentences)


@dataclass(frozen=True)
class AnswerEval:
    """Every golden question's outcome and the metrics over them."""

    judge: str
    generator: str
    outcomes: tuple[Outcome, ...]
    metrics: dict[str, Estimate]


ANSWER_METRICS = (
    "citation_precision",
    "citation_recall",
    "hallucination_rate",
    "verbatim_grounding",
    "reference_term_recall",
    "reference_similarity",
    "answered_answerable",
    "abstention_precision",
    "abstention_recall",
    "abstention_f1",
    "latency_p50_ms",
    "latency_p95_ms",
    "cost_usd_per_question",
)

_SPACE = re.compile(r"\s+")


def _normal(text: str) -> str:
    return _SPACE.sub(" ", text).strip().casefold()


def term_recall(reference: str, answer: str, locale: str) -> float:
    """Share of the reference's content terms (stemmed words and numbers) that the answer contains."""
    wanted = content_terms(reference, locale)
    if not wanted:
        return 0.0
    return len(wanted & content_terms(answer, locale)) / len(wanted)


def judge_answer(answer: Answer, judge: Judge, locale: str) -> tuple[JudgedSentence, ...]:
    """Each sentence of ``answer`` against the sources it cites, one by one and together."""
    by_number = {s.n: s for s in answer.sources}
    judged = []
    for sentence in answer.sentences:
        cited = [by_number[n] for n in sentence.cites if n in by_number]
        supporting = sum(judge.supports(sentence.text, [s], locale) for s in cited)
        together = supporting > 0 if len(cited) <= 1 else judge.supports(sentence.text, cited, locale)
        verbatim = any(_normal(sentence.text).rstrip(".") in _normal(s.hit.text) for s in cited)
        judged.append(
            JudgedSentence(
                text=sentence.text,
                cited=tuple(s.hit.article_id for s in cited),
                supporting=supporting,
                supported=together or supporting > 0,
                verbatim=verbatim,
            )
        )
    return tuple(judged)


def _removed(answer: Answer) -> int:
    for flag in answer.flags:
        if flag.startswith("unsupported_removed:"):
            return int(flag.split(":", 1)[1])
    return 0


def answer_one(service: AnswerService, embedder: Embedder, query: EvalQuery, judge: Judge) -> Outcome:
    """Answer one golden question (extractive, widget channel) and judge the answer."""
    clock = time.perf_counter()
    answer = service.answer(Question(query.text, query.tenant, "widget", locale=query.locale, generator="extractive"))
    latency = (time.perf_counter() - clock) * 1000
    locale = query.locale or "en"
    sentences = () if answer.abstained else judge_answer(answer, judge, locale)
    body = " ".join(s.text for s in answer.sentences)
    recall = similarity = 0.0
    if query.reference_answer and not answer.abstained and body:
        recall = term_recall(query.reference_answer, body, locale)
        vectors = embedder.encode_uncached([query.reference_answer, body])
        similarity = max(0.0, float(vectors[0] @ vectors[1]))
    return Outcome(
        qid=query.qid,
        question=query.text,
        tenant=query.tenant,
        answerable=query.answerable,
        abstained=answer.abstained,
        answer=answer.text,
        sentences=sentences,
        term_recall=recall,
        similarity=similarity,
        latency_ms=latency,
        tokens=answer.prompt_tokens + answer.completion_tokens,
        removed_by_validation=_removed(answer),
    )


def _abstention(outcomes: Sequence[Outcome], resamples: int, seed: int) -> dict[str, Estimate]:
    """Precision, recall and F1 of abstaining, the positive class being 'unanswerable'."""
    abstained = np.array([o.abstained for o in outcomes])
    unanswerable = np.array([not o.answerable for o in outcomes])

    def precision(idx: np.ndarray) -> float:
        flagged = abstained[idx].sum()
        return float((abstained[idx] & unanswerable[idx]).sum() / flagged) if flagged else float("nan")

    def recall(idx: np.ndarray) -> float:
        positives = unanswerable[idx].sum()
        return float((abstained[idx] & unanswerable[idx]).sum() / positives) if positives else float("nan")

    def f1(idx: np.ndarray) -> float:
        p, r = precision(idx), recall(idx)
        if not (np.isfinite(p) and np.isfinite(r)) or p + r == 0:
            return 0.0 if np.isfinite(p) and np.isfinite(r) else float("nan")
        return 2 * p * r / (p + r)

    n = len(outcomes)
    return {
        "abstention_precision": bootstrap(n, precision, resamples=resamples, seed=seed),
        "abstention_recall": bootstrap(n, recall, resamples=resamples, seed=seed),
        "abstention_f1": bootstrap(n, f1, resamples=resamples, seed=seed),
    }


def answer_metrics(
    outcomes: Sequence[Outcome], *, cost_per_1k_tokens: float = 0.0, resamples: int = 2000, seed: int = 0
) -> dict[str, Estimate]:
    """Every metric of ANSWER_METRICS with its bootstrap interval (resampling questions)."""
    answered = [o for o in outcomes if not o.abstained]
    answerable = [o for o in outcomes if o.answerable]
    kw = {"resamples": resamples, "seed": seed}
    sentences = [len(o.sentences) for o in answered]
    latencies = [o.latency_ms for o in outcomes]
    metrics = {
        "citation_precision": bootstrap_ratio(
            [o.supporting_citations for o in answered], [o.citations for o in answered], **kw
        ),
        "citation_recall": bootstrap_ratio(
            [sum(s.supporting > 0 for s in o.sentences) for o in answered], sentences, **kw
        ),
        "hallucination_rate": bootstrap_ratio(
            [sum(not s.supported for s in o.sentences) for o in answered], sentences, **kw
        ),
        "verbatim_grounding": bootstrap_ratio(
            [sum(s.verbatim for s in o.sentences) for o in answered], sentences, **kw
        ),
        "reference_term_recall": bootstrap_mean([o.term_recall for o in answerable], **kw),
        "reference_similarity": bootstrap_mean([o.similarity for o in answerable], **kw),
        "answered_answerable": bootstrap_mean([0.0 if o.abstained else 1.0 for o in answerable], **kw),
        **_abstention(outcomes, resamples, seed),
        "latency_p50_ms": bootstrap_percentile(latencies, 50, **kw),
        "latency_p95_ms": bootstrap_percentile(latencies, 95, **kw),
        "cost_usd_per_question": bootstrap_mean([o.tokens / 1000 * cost_per_1k_tokens for o in outcomes], **kw),
    }
    return metrics


def evaluate_answers(
    service: AnswerService,
    dataset: Dataset,
    judge: Judge,
    *,
    cost_per_1k_tokens: float = 0.0,
    resamples: int = 2000,
    seed: int = 0,
    progress: Progress | None = None,
) -> AnswerEval:
    """Answer and judge every question of ``dataset``."""
    outcomes = []
    for i, query in enumerate(dataset.queries, start=1):
        outcomes.append(answer_one(service, service.searcher.embedder, query, judge))
        if progress is not None:
            progress("answers", i, len(dataset.queries))
    metrics = answer_metrics(outcomes, cost_per_1k_tokens=cost_per_1k_tokens, resamples=resamples, seed=seed)
    return AnswerEval(judge.name, "extractive", tuple(outcomes), metrics)


def default_judge(service: AnswerService, nli_model: str = "") -> Judge:
    """The NLI judge when a model path is given, else the support scorer."""
    if nli_model:
        return NliJudge(nli_model)
    return SupportJudge(service.validator, service.settings.support_min)
