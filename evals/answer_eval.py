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

What users receive is measured too, on both channels (the widget's text and the agent's draft):

- key-fact recall: share of answered answerable questions whose answer contains every key fact of the
  question (case-insensitive, whitespace collapsed, ``[n]`` markers ignored); ``key_fact_any``: at least one;
- answer lint (``evals/lint.py``): defects per rule, summed over the questions;
- calibration (``evals/calibration_metrics.py``): ECE of the confidence score against "answerable and the
  answer has its key facts", abstentions included at their score;
- abstention on near-topic and on off-topic unanswerable questions, and the abstention on unanswerable
  questions when the abstain threshold is swept so that 80%, 90% or 95% of answerable questions are answered;
- cross-tenant abstention: answerable questions of one tenant asked to another count as off-topic.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Protocol

import numpy as np
from numpy.typing import NDArray

from assistant.citations import CitationValidator
from assistant.records import Answer, Channel, Question, Sentence, Source
from assistant.service import AnswerService
from assistant.text import content_terms
from evals.calibration_metrics import Bin, bootstrap_ece, reliability
from evals.datasets import SPLITS, Dataset, EvalQuery
from evals.lint import CHANNELS, RULES, Defect, Linter
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
class ChannelAnswer:
    """The answer one channel gave to a question, as the user receives it, with its lint defects."""

    channel: str
    text: str
    abstained: bool
    confidence: float
    facts_found: int
    """How many of the question's key facts the text contains."""
    defects: tuple[Defect, ...] = ()


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
    split: str = ""
    unanswerable_kind: str = ""
    key_facts: tuple[str, ...] = ()
    confidence: float = 0.0
    """The widget answer's confidence score (present also when it abstained)."""
    threshold_proof: bool = False
    """Abstained whatever the abstain threshold (a refusal, no supported sentence, a score above the threshold)."""
    channels: tuple[ChannelAnswer, ...] = ()
    """The widget answer first, then the agent draft."""

    @property
    def citations(self) -> int:
        """Citations in the answer (one per cited source per sentence)."""
        return sum(len(s.cited) for s in self.sentences)

    @property
    def supporting_citations(self) -> int:
        """Citations whose source supports their sentence."""
        return sum(s.supporting for s in self.sentences)

    def channel(self, name: str) -> ChannelAnswer | None:
        """The answer of channel ``name`` (None when that channel was not asked)."""
        return next((c for c in self.channels if c.channel == name), None)

    def has_facts(self, channel: str = "widget", every: bool = True) -> bool:
        """The channel's answer (not an abstention) contains every key fact (``every``) or at least one."""
        answer = self.channel(channel)
        if answer is None or answer.abstained or not self.key_facts:
            return False
        return answer.facts_found == len(self.key_facts) if every else answer.facts_found > 0

    @property
    def right(self) -> bool | None:
        """The calibration label: answerable and the widget answer has its key facts (True), anything else
        (an answer to an unanswerable question, an abstention, missing facts) False; None when the question
        is answerable but has no key facts to check."""
        if not self.answerable:
            return False
        if not self.key_facts:
            return None
        return self.has_facts("widget")

    def defects(self, channel: str) -> tuple[Defect, ...]:
        """Lint defects of one channel's answer."""
        answer = self.channel(channel)
        return answer.defects if answer is not None else ()


@dataclass(frozen=True)
class AnswerEval:
    """Every golden question's outcome and the metrics over them (all questions, and per split)."""

    judge: str
    generator: str
    outcomes: tuple[Outcome, ...]
    metrics: dict[str, Estimate]
    by_split: dict[str, dict[str, Estimate]] = field(default_factory=dict)
    """``dev`` / ``test`` -> the same metrics over that split's questions (only splits the set has)."""
    reliability: dict[str, tuple[Bin, ...]] = field(default_factory=dict)
    """``all`` / ``dev`` / ``test`` -> the reliability bins of the confidence score."""
    thresholds: dict[str, dict[str, float]] = field(default_factory=dict)
    """``all`` / ``dev`` / ``test`` -> ``answered_90`` etc. -> the abstain threshold of that operating point."""
    channels: tuple[str, ...] = ("widget",)

    def split_outcomes(self, split: str) -> tuple[Outcome, ...]:
        """The outcomes of one split (``all``: every outcome)."""
        return self.outcomes if split == "all" else tuple(o for o in self.outcomes if o.split == split)


ANSWERED_RATES = (0.80, 0.90, 0.95)
"""Operating points of the threshold sweep: the share of answerable questions that must still be answered."""

ANSWER_METRICS = (
    "key_fact_recall",
    "key_fact_any",
    "key_fact_recall_agent",
    "ece",
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
    "abstention_near_topic",
    "abstention_off_topic",
    *(f"abstention_at_answered_{round(r * 100)}" for r in ANSWERED_RATES),
    "latency_p50_ms",
    "latency_p95_ms",
    "cost_usd_per_question",
)
LINT_METRICS = tuple(f"lint.{channel}.{rule}" for channel in CHANNELS for rule in (*RULES, "total"))
"""Defects per channel and rule (and in total), summed over the questions; lower is better."""

_SPACE = re.compile(r"\s+")
_MARKS = re.compile(r"\s*\[\d+(?:\s*,\s*\d+)*\]")
_QUOTES = str.maketrans({"’": "'", "‘": "'", "“": '"', "”": '"', "\u00a0": " "})


def _normal(text: str) -> str:
    return _SPACE.sub(" ", text).strip().casefold()


def fact_text(text: str) -> str:
    """Text as key facts are matched in it: ``[n]`` markers and ``**`` removed, quotes straightened,
    whitespace collapsed, case folded."""
    return _normal(_MARKS.sub("", text).replace("**", "").translate(_QUOTES))


def facts_in(text: str, facts: Sequence[str]) -> int:
    """How many of ``facts`` occur in ``text`` (see :func:`fact_text`)."""
    body = fact_text(text)
    return sum(fact_text(f) in body for f in facts)


def term_recall(reference: str, answer: str, locale: str) -> float:
    """Share of the reference's content terms (stemmed words and numbers) that the answer contains."""
    wanted = content_terms(reference, locale)
    if not wanted:
        return 0.0
    return len(wanted & content_terms(answer, locale)) / len(wanted)


def verbatim_in(sentence: Sentence, source_text: str) -> bool:
    """The sentence is found word for word in ``source_text`` (whitespace and case aside). A table row, which
    an answer shows as ``label: value; label: value`` built from the header and the row's cells, is verbatim
    when each of its labels and values is."""
    text = _normal(sentence.text).rstrip(".")
    source = _normal(source_text)
    if text in source:
        return True
    if sentence.kind != "row":
        return False
    parts = [part.strip(" .;") for pair in text.split("; ") for part in pair.split(": ", 1)]
    return all(part in source for part in parts if part)


def judge_answer(answer: Answer, judge: Judge, locale: str) -> tuple[JudgedSentence, ...]:
    """Each sentence of ``answer`` against the sources it cites, one by one and together."""
    by_number = {s.n: s for s in answer.sources}
    judged = []
    for sentence in answer.sentences:
        cited = [by_number[n] for n in sentence.cites if n in by_number]
        supporting = sum(judge.supports(sentence.text, [s], locale) for s in cited)
        together = supporting > 0 if len(cited) <= 1 else judge.supports(sentence.text, cited, locale)
        verbatim = any(verbatim_in(sentence, s.hit.text) for s in cited)
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


NO_SUPPORT_REASON = "no source supports an answer"
"""The confidence reason of an answer with no supported sentence (assistant/confidence.py): no threshold answers it."""


def abstain_threshold(service: AnswerService) -> float:
    """The abstain threshold the service applies: its fitted calibration's, else its settings' (0 when neither)."""
    calibration = getattr(service, "calibration", None)
    value = getattr(calibration, "abstain_below", None)
    if value is None:
        value = getattr(service.settings, "abstain_below", None)
    return float(value) if value is not None else 0.0


def threshold_proof(answer: Answer, abstain_below: float) -> bool:
    """True when lowering the abstain threshold would not have made ``answer`` an answer: it abstained with a
    score at or above the threshold (a refusal, a forced abstention) or with no supported sentence."""
    if not answer.abstained:
        return False
    return answer.confidence.score >= abstain_below or NO_SUPPORT_REASON in answer.confidence.reason


def channel_answer(answer: Answer, channel: str, query: EvalQuery, linter: Linter | None) -> ChannelAnswer:
    """What one channel's user receives, checked: key facts found and lint defects."""
    locale = query.locale or "en"
    return ChannelAnswer(
        channel=channel,
        text=answer.text,
        abstained=answer.abstained,
        confidence=answer.confidence.score,
        facts_found=0 if answer.abstained else facts_in(answer.text, query.key_facts),
        defects=linter.lint(answer, locale=locale) if linter is not None else (),
    )


def answer_one(
    service: AnswerService,
    embedder: Embedder,
    query: EvalQuery,
    judge: Judge,
    *,
    linter: Linter | None = None,
    channels: Sequence[Channel] = ("widget", "agent"),
) -> Outcome:
    """Answer one golden question (extractive) on the widget channel, judge it, and on every channel of
    ``channels`` check what the user receives (key facts, lint)."""
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
    received = [channel_answer(answer, "widget", query, linter)]
    for channel in channels:
        if channel == "widget":
            continue
        other = service.answer(Question(query.text, query.tenant, channel, locale=query.locale, generator="extractive"))
        received.append(channel_answer(other, channel, query, linter))
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
        split=query.split,
        unanswerable_kind=query.unanswerable_kind,
        key_facts=query.key_facts,
        confidence=answer.confidence.score,
        threshold_proof=threshold_proof(answer, abstain_threshold(service)),
        channels=tuple(received),
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


def operating_point(
    scores: NDArray[np.float64], answerable: NDArray[np.bool_], proof: NDArray[np.bool_], rate: float
) -> tuple[float, float]:
    """Sweep the abstain threshold over the confidence scores: the highest threshold at which at least ``rate``
    of the answerable questions are still answered, and the share of unanswerable questions abstained on there.

    A question is answered at threshold ``t`` when its score is >= ``t`` and it is not ``proof`` (abstained
    whatever the threshold). (NaN, NaN) when no threshold answers enough, or there is no question of a kind.
    """
    nan = float("nan")
    candidates = np.sort(scores[answerable & ~proof])[::-1]
    needed = math.ceil(rate * int(answerable.sum()) - 1e-9)
    unanswerable = ~answerable
    if needed == 0 or candidates.size < needed or not unanswerable.any():
        return nan, nan
    threshold = float(candidates[needed - 1])
    abstained = proof[unanswerable] | (scores[unanswerable] < threshold)
    return float(abstained.mean()), threshold


def _operating_points(outcomes: Sequence[Outcome], resamples: int, seed: int) -> dict[str, Estimate]:
    scores = np.array([o.confidence for o in outcomes], dtype=np.float64)
    answerable = np.array([o.answerable for o in outcomes], dtype=bool)
    proof = np.array([o.threshold_proof for o in outcomes], dtype=bool)
    out = {}
    for rate in ANSWERED_RATES:

        def statistic(idx: np.ndarray, rate: float = rate) -> float:
            return operating_point(scores[idx], answerable[idx], proof[idx], rate)[0]

        out[f"abstention_at_answered_{round(rate * 100)}"] = bootstrap(
            len(outcomes), statistic, resamples=resamples, seed=seed
        )
    return out


def thresholds_of(outcomes: Sequence[Outcome]) -> dict[str, float]:
    """``answered_90`` etc. -> the abstain threshold of that operating point (NaN when unreachable)."""
    scores = np.array([o.confidence for o in outcomes], dtype=np.float64)
    answerable = np.array([o.answerable for o in outcomes], dtype=bool)
    proof = np.array([o.threshold_proof for o in outcomes], dtype=bool)
    return {f"answered_{round(r * 100)}": operating_point(scores, answerable, proof, r)[1] for r in ANSWERED_RATES}


def _sum(values: Sequence[float], resamples: int, seed: int) -> Estimate:
    """A total over questions with its bootstrap interval (resampling questions)."""
    x = np.asarray(values, dtype=np.float64)
    return bootstrap(x.size, lambda idx: float(x[idx].sum()), resamples=resamples, seed=seed)


def lint_metrics(
    outcomes: Sequence[Outcome], channels: Sequence[str] = CHANNELS, *, resamples: int = 2000, seed: int = 0
) -> dict[str, Estimate]:
    """``lint.<channel>.<rule>`` and ``lint.<channel>.total``: defects summed over the questions."""
    out = {}
    for channel in channels:
        per_rule = {rule: [sum(d.rule == rule for d in o.defects(channel)) for o in outcomes] for rule in RULES}
        for rule, values in per_rule.items():
            out[f"lint.{channel}.{rule}"] = _sum(values, resamples, seed)
        out[f"lint.{channel}.total"] = _sum([len(o.defects(channel)) for o in outcomes], resamples, seed)
    return out


def calibration_labels(outcomes: Sequence[Outcome]) -> tuple[list[float], list[int]]:
    """(confidence scores, labels) of the questions that have a calibration label (see ``Outcome.right``)."""
    scores, labels = [], []
    for o in outcomes:
        if o.right is not None:
            scores.append(o.confidence)
            labels.append(int(o.right))
    return scores, labels


def answer_metrics(
    outcomes: Sequence[Outcome],
    *,
    cost_per_1k_tokens: float = 0.0,
    resamples: int = 2000,
    seed: int = 0,
    channels: Sequence[str] = ("widget",),
) -> dict[str, Estimate]:
    """Every metric of ANSWER_METRICS (and LINT_METRICS of ``channels``) with its bootstrap interval
    (resampling questions)."""
    answered = [o for o in outcomes if not o.abstained]
    answerable = [o for o in outcomes if o.answerable]
    with_facts = [o for o in answerable if o.key_facts]
    kw = {"resamples": resamples, "seed": seed}
    sentences = [len(o.sentences) for o in answered]
    latencies = [o.latency_ms for o in outcomes]
    scores, labels = calibration_labels(outcomes)

    def abstained_share(kind: str) -> Estimate:
        return bootstrap_mean(
            [float(o.abstained) for o in outcomes if not o.answerable and o.unanswerable_kind == kind], **kw
        )

    def fact_share(channel: str, every: bool) -> Estimate:
        chosen = [o for o in with_facts if (c := o.channel(channel)) is not None and not c.abstained]
        return bootstrap_mean([float(o.has_facts(channel, every)) for o in chosen], **kw)

    metrics = {
        "key_fact_recall": fact_share("widget", True),
        "key_fact_any": fact_share("widget", False),
        "key_fact_recall_agent": fact_share("agent", True),
        "ece": bootstrap_ece(scores, labels, resamples=resamples, seed=seed),
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
        "abstention_near_topic": abstained_share("near_topic"),
        "abstention_off_topic": abstained_share("off_topic"),
        **_operating_points(outcomes, resamples, seed),
        "latency_p50_ms": bootstrap_percentile(latencies, 50, **kw),
        "latency_p95_ms": bootstrap_percentile(latencies, 95, **kw),
        "cost_usd_per_question": bootstrap_mean([o.tokens / 1000 * cost_per_1k_tokens for o in outcomes], **kw),
    }
    metrics.update(lint_metrics(outcomes, channels, resamples=resamples, seed=seed))
    return metrics


def summarize(
    judge: str,
    outcomes: Sequence[Outcome],
    *,
    channels: Sequence[str] = CHANNELS,
    cost_per_1k_tokens: float = 0.0,
    resamples: int = 2000,
    seed: int = 0,
) -> AnswerEval:
    """The metrics of ``outcomes``: over all questions and per split, with reliability bins and thresholds."""
    kw = {"cost_per_1k_tokens": cost_per_1k_tokens, "resamples": resamples, "seed": seed, "channels": channels}
    metrics = answer_metrics(outcomes, **kw)  # type: ignore[arg-type]
    splits = [s for s in SPLITS if any(o.split == s for o in outcomes)]
    by_split = {s: answer_metrics([o for o in outcomes if o.split == s], **kw) for s in splits}  # type: ignore[arg-type]
    groups = {"all": list(outcomes), **{s: [o for o in outcomes if o.split == s] for s in splits}}
    bins = {name: reliability(*calibration_labels(group)) for name, group in groups.items()}
    thresholds = {name: thresholds_of(group) for name, group in groups.items()}
    return AnswerEval(judge, "extractive", tuple(outcomes), metrics, by_split, bins, thresholds, tuple(channels))


def evaluate_answers(
    service: AnswerService,
    dataset: Dataset,
    judge: Judge,
    *,
    cost_per_1k_tokens: float = 0.0,
    resamples: int = 2000,
    seed: int = 0,
    progress: Progress | None = None,
    channels: Sequence[Channel] = ("widget", "agent"),
    linter: Linter | None = None,
) -> AnswerEval:
    """Answer and judge every question of ``dataset``; lint and check key facts on every channel of ``channels``
    (``linter``: duplicates judged with the service's own sentence embeddings by default)."""
    linter = linter or Linter(service.searcher.embedder.encode)
    outcomes = []
    for i, query in enumerate(dataset.queries, start=1):
        outcomes.append(answer_one(service, service.searcher.embedder, query, judge, linter=linter, channels=channels))
        if progress is not None:
            progress(f"answers ({dataset.name})", i, len(dataset.queries))
    return summarize(
        judge.name,
        outcomes,
        channels=tuple(channels),
        cost_per_1k_tokens=cost_per_1k_tokens,
        resamples=resamples,
        seed=seed,
    )


def default_judge(service: AnswerService, nli_model: str = "") -> Judge:
    """The NLI judge when a model path is given, else the support scorer."""
    if nli_model:
        return NliJudge(nli_model)
    return SupportJudge(service.validator, service.settings.support_min)


# --- the same questions asked to another tenant -----------------------------------------------------------


@dataclass(frozen=True)
class Asked:
    """One question asked to a tenant it does not belong to."""

    qid: str
    question: str
    abstained: bool
    confidence: float
    answer: str


@dataclass(frozen=True)
class CrossTenant:
    """Answerable questions of ``source`` asked to ``target``: off-topic there, so the right answer is to abstain."""

    source: str
    target: str
    asked: tuple[Asked, ...]
    abstention: Estimate

    @property
    def name(self) -> str:
        """``ledgerly_to_parcelpoint``: the metric-name form."""
        return f"{self.source}_to_{self.target}"


def ask_elsewhere(
    service: AnswerService,
    queries: Sequence[EvalQuery],
    target: str,
    *,
    resamples: int = 2000,
    seed: int = 0,
    progress: Progress | None = None,
) -> CrossTenant:
    """Ask each of ``queries`` (answerable questions of one tenant) to ``target`` on the widget channel, with no
    locale filter, and measure how often the assistant abstains."""
    if not queries:
        raise ValueError(f"no question to ask to {target}")
    sources = {q.tenant for q in queries}
    if len(sources) != 1 or target in sources:
        raise ValueError(f"questions of one tenant other than {target} expected, got {sorted(sources)}")
    asked = []
    for i, query in enumerate(queries, start=1):
        answer = service.answer(Question(query.text, target, "widget", generator="extractive"))
        asked.append(Asked(query.qid, query.text, answer.abstained, answer.confidence.score, answer.text))
        if progress is not None:
            progress(f"cross-tenant ({query.tenant} -> {target})", i, len(queries))
    estimate = bootstrap_mean([float(a.abstained) for a in asked], resamples=resamples, seed=seed)
    return CrossTenant(sources.pop(), target, tuple(asked), estimate)
