"""The answer pipeline: redact -> screen -> search -> number sources -> generate -> validate -> judge -> phrase."""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from typing import Protocol

from assistant import routing
from assistant.budget import UsageLedger, estimate_tokens
from assistant.cache import AnswerCache
from assistant.citations import CitationValidator, Validated, render
from assistant.confidence import FEATURES, Evidence, evidence, judge, load_calibration
from assistant.extractive import ExtractiveGenerator
from assistant.flags import FlagStore, TenantFlags
from assistant.generator import GenerationError
from assistant.guardrails import SOURCE_KINDS, screen
from assistant.keywords import KeyWords
from assistant.language import detect_language
from assistant.prompts import says_no_answer
from assistant.records import Answer, Channel, Citation, Confidence, Draft, Question, Sentence, Source
from assistant.settings import AssistantSettings
from assistant.templates import agent_draft, language_of, other_language_note, phrasing
from assistant.text import citations_in, split_sentences
from assistant.tracing import stage
from assistant.vocabulary import Vocabularies
from retrieval.records import Hit, SearchFilter
from retrieval.search import HybridSearcher

log = logging.getLogger(__name__)

FORCED_ABSTAIN = "automatic answers are switched off for this tenant (flag force_abstain): a person answers"


class LlmStream(Protocol):
    """Text deltas of an LLM answer; once exhausted, ``draft()`` is the parsed whole."""

    def __iter__(self) -> Iterator[str]: ...
    def draft(self) -> Draft: ...


class LlmChain(Protocol):
    """An LLM generator chain with its own retries, breakers and deadline (assistant.resilience)."""

    def generate(
        self, question: str, sources: Sequence[Source], channel: Channel, locale: str
    ) -> tuple[Draft, list[str]]: ...

    def open_stream(self, question: str, sources: Sequence[Source], channel: Channel, locale: str) -> LlmStream: ...


@dataclass(frozen=True)
class StreamEvent:
    """One event of a streamed answer: a validated sentence (``[n]`` markers included) or the final answer."""

    sentence: str = ""
    answer: Answer | None = None


@dataclass
class _Context:
    """What the stages of one answer share."""

    question: Question
    asked: str
    query: str
    flags: list[str]
    timings: dict[str, float]
    started: float
    version: str
    key: tuple[object, ...]
    locale: str
    wanted: str
    hits: list[Hit] = field(default_factory=list)
    sources: list[Source] = field(default_factory=list)
    switches: TenantFlags = field(default_factory=TenantFlags)
    route: str = ""
    prompt_estimate: int = 0
    search_language: str = ""


def _complete_sentences(pending: str) -> tuple[list[str], str]:
    """The sentences of ``pending`` known to be complete (another one has begun), and the rest."""
    parts = split_sentences(pending)
    if len(parts) < 2:
        return [], pending
    # Keep the raw tail (with its trailing space) so the next delta continues it unchanged.
    return parts[:-1], pending[pending.rfind(parts[-1]) :]


class AnswerService:
    """Answers questions with validated citations, an honest confidence, or an abstention."""

    def __init__(
        self,
        searcher: HybridSearcher,
        settings: AssistantSettings,
        index_version: Callable[[], str],
        redact: Callable[[str, str], str],
        llm: LlmChain | None = None,
        *,
        cheap_llm: LlmChain | None = None,
        flags: FlagStore | None = None,
        usage: UsageLedger | None = None,
        key_terms: Callable[[str, str], KeyWords | None] | None = None,
        redact_output: Callable[[str, str], str] | None = None,
    ) -> None:
        self.searcher, self.settings, self.index_version, self.redact = searcher, settings, index_version, redact
        self.extractive = ExtractiveGenerator(searcher.embedder, settings)
        self.validator = CitationValidator(searcher.embedder, settings)
        self.llm = llm
        self.cheap_llm = cheap_llm
        """The cheaper chain budget downgrades (and, if so configured, FAQ-like questions) go to."""
        self.flags = flags or FlagStore(settings.resolved_flags_file())
        self.usage = usage or UsageLedger()
        self.cache = AnswerCache(settings.cache_ttl_s, settings.cache_max_entries)
        self.calibration = settings.calibration(load_calibration(settings.calibration_file))
        self.vocabularies = Vocabularies(searcher.payloads, index_version)
        self.key_terms = key_terms
        self.redact_output = redact_output or redact
        """Redaction of LLM-written answer text: the help-center policy, which keeps product words."""
        """The stems of a question's key words (nouns, numbers), for near-miss and off-topic detection."""

    def answer(self, question: Question) -> Answer:
        """The answer to one question; never raises for a generator failure (it falls back instead)."""
        answer = self._answer(question)
        main = self.vocabularies.main_language(question.tenant)
        searched = answer.source_language
        if answer.abstained and not answer.cached and main and searched and searched != main:
            # Nothing reliable in the question's language: try the tenant's main help center, and say so.
            fallback = self._answer(question, search_language=main)
            if not fallback.abstained:
                return fallback
        return answer

    def _answer(self, question: Question, search_language: str | None = None) -> Answer:
        begun = self._begin(question, search_language)
        if isinstance(begun, Answer):
            return begun
        with stage("generate", kind="generation") as span:
            draft, fallback_reason = self._generate(begun)
            span.generated(draft)
            span.annotate(route=begun.route, fallback_reason=fallback_reason)
        return self._conclude(begun, draft, fallback_reason)

    def warm_up(self, tenant: str) -> None:
        """Load the redactor and the models now (one search, nothing cached), not on the first real question."""
        self.redact("warm-up", "en")
        detect_language("How do I reset my password?")
        self.vocabularies.main_language(tenant)  # reads the index's chunks once per index version
        self.searcher.search("how do I reset my password", SearchFilter(tenant=tenant))

    def stream(self, question: Question) -> Iterator[StreamEvent]:
        """The answer as it is written: each validated sentence as soon as it is complete, then the final
        Answer. Only sentences that pass citation validation are streamed; the final Answer (which may
        abstain after all, and numbers its sources in reading order) replaces everything streamed before."""
        begun = self._begin(question)
        if isinstance(begun, Answer):
            yield StreamEvent(answer=begun)
            return
        ctx = begun
        reason = self._llm_unavailable(ctx)
        chain = None if reason else self._route(ctx)
        draft: Draft | None = None
        if chain is not None:
            with stage("generate", ctx.timings, kind="generation") as span:
                try:
                    stream = chain.open_stream(ctx.query, ctx.sources, ctx.question.channel, ctx.locale)
                    pending = ""
                    for delta in stream:
                        pending += delta
                        complete, pending = _complete_sentences(pending)
                        yield from self._validated_events(ctx, complete)
                    yield from self._validated_events(ctx, [pending] if pending.strip() else [])
                    draft = stream.draft()
                    self._spent(ctx, draft)
                    span.generated(draft)
                except GenerationError as exc:
                    reason = str(exc)
                span.annotate(route=ctx.route, fallback_reason=reason)
        if draft is None:
            # Extractive drafts are instant: conclude first, so the streamed sentences are the final ones
            # (numbered as in the answer) and an abstention streams no sentence at all.
            with stage("generate_extractive", kind="generation") as span:
                extracted = self._extractive(ctx)
                span.generated(extracted)
            final = self._conclude(ctx, extracted, "" if reason == "extractive" else reason)
            yield from (StreamEvent(sentence=render([s])) for s in final.sentences)
            yield StreamEvent(answer=final)
            return
        yield StreamEvent(answer=self._conclude(ctx, draft, reason))

    def _validated_events(self, ctx: _Context, texts: Sequence[str]) -> Iterator[StreamEvent]:
        for text in texts:
            validated = self.validator.validate(
                Draft((Sentence(text, citations_in(text)),), "llm"), ctx.sources, ctx.locale
            )
            if validated.kept:
                yield StreamEvent(sentence=render(validated.kept))

    def _languages(self, question: Question, query: str, forced: str | None) -> tuple[str, str]:
        """(the language to answer in, the language of the articles to search).

        The question's own language wins over the page's preference (``question.locale``); the search
        goes to the tenant's articles in that language when there are any, else to its main language.
        """
        preferred = language_of(question.locale) if question.locale else ""
        asked = (detect_language(query) if self.settings.detect_language else None) or preferred
        if forced is not None:
            return asked, forced
        if asked and self.vocabularies.get(question.tenant, asked).documents:
            return asked, asked
        return asked, self.vocabularies.main_language(question.tenant) or asked

    def _begin(self, question: Question, search_language: str | None = None) -> _Context | Answer:
        """Redact, screen, look up the cache, search and number the sources; or an early answer.

        ``search_language`` forces the language of the articles searched (the fallback to the main one)."""
        started = time.perf_counter()
        timings: dict[str, float] = {}
        with stage("redact", timings):
            asked = self.searcher.prepare(question.text)

        with stage("guard_question", timings, kind="guardrail") as span:
            screening = screen(asked)
            flags = [f"question:{kind}" for kind in screening.findings]
            query = screening.clean_text if screening.flagged else asked
            span.annotate(findings=list(screening.findings))

        wanted = question.generator or self.settings.generator
        version = self.index_version()
        switches = self.flags.get(question.tenant)
        key = (
            " ".join(query.lower().split()),
            question.tenant,
            question.products,
            question.locale,
            question.updated_after,
            question.channel,
            question.exclude_docs,
            search_language,
            wanted,
            self.settings.llm_model if wanted == "llm" else "",
            version,
            wanted == "llm" and switches.llm_enabled,
            switches.reranker_enabled,
        )
        if switches.force_abstain:
            flags.append("flag:force_abstain")
            locale = question.locale or "en"
            forced = _Context(question, asked, query, flags, timings, started, version, key, locale, wanted)
            return _finish(self._abstain(forced, FORCED_ABSTAIN, generator=wanted), started)
        cached = self.cache.get(key)
        if cached is not None:
            # The cached answer is this answer, but this question's own guardrail findings still count.
            merged = tuple(dict.fromkeys([*flags, *cached.flags]))
            return _with(cached, timings_ms={"total": _ms(started)}, cached=True, flags=merged)

        with stage("language", timings):
            asked_language, search_language = self._languages(question, query, search_language)
        ctx = _Context(question, asked, query, flags, timings, started, version, key, asked_language, wanted)
        ctx.switches = switches
        ctx.search_language = search_language
        if not query.strip():
            return _finish(self._abstain(ctx, _refusal_reason(screening.findings), generator=wanted), started)

        search_filter = SearchFilter(
            tenant=question.tenant,
            products=question.products,
            locales=(search_language,) if search_language else (),
            updated_after=question.updated_after,
        )
        with stage("retrieval", kind="retriever") as span:
            result = self.searcher.search_prepared(query, search_filter, rerank=switches.reranker_enabled)
            span.retrieved(result)
        timings.update(result.timings_ms)
        excluded = set(question.exclude_docs)
        ctx.hits = [hit for hit in result.hits if hit.doc_id not in excluded] if excluded else result.hits
        if not ctx.locale and result.hits:
            ctx.locale = language_of(result.hits[0].locale or "en")
        ctx.locale = ctx.locale or "en"

        with stage("guard_sources", timings, kind="guardrail") as span:
            # The extractive generator reads whole sections; an LLM keeps the retrieved chunks, so its prompt
            # (and the token cap and routing that count it) stays the size of what was retrieved.
            hits = ctx.hits if wanted == "llm" else self._whole_sections(ctx.hits)
            ctx.sources, dropped = self._number_sources(hits)
            flags += [f"source_dropped:{hit.doc_id}:{'+'.join(kinds)}" for hit, kinds in dropped]
            span.annotate(sources=len(ctx.sources), dropped=[hit.doc_id for hit, _ in dropped])
        return ctx

    def _conclude(self, ctx: _Context, draft: Draft, fallback_reason: str) -> Answer:
        """Validate the draft (falling back to extractive when nothing survives), judge it, phrase it, cache it."""
        # What the LLM call cost stays on the answer even when its draft is replaced or the answer abstains.
        spent = (draft.model, draft.prompt_tokens, draft.completion_tokens) if draft.generator != "extractive" else None
        if draft.generator != "extractive" and says_no_answer(draft.raw):
            # The model says the sources do not answer: that is an abstention, not a failure to fall back from.
            answer = self._abstain(
                ctx,
                "the language model found no answer in the sources",
                generator=draft.generator,
                related=self._related(ctx, self._evidence(ctx, Validated((), (), 0, 0))),
            )
            answer = _with(answer, model=draft.model, prompt_tokens=draft.prompt_tokens)
            answer = _with(answer, completion_tokens=draft.completion_tokens, prompt_version=draft.prompt_version)
            answer = _finish(answer, ctx.started)
            self.cache.put(ctx.key, answer)
            return answer
        with stage("validate", ctx.timings, kind="guardrail") as span:
            validated = self.validator.validate(draft, ctx.sources, ctx.locale)
            if draft.generator != "extractive" and not validated.kept:
                fallback_reason = fallback_reason or "the LLM answer had no supported, correctly cited sentence"
                draft = self._extractive(ctx)
                validated = self.validator.validate(draft, ctx.sources, ctx.locale)
            if validated.unsupported:
                ctx.flags.append(f"unsupported_removed:{validated.unsupported}")
            if validated.invalid_citations:
                ctx.flags.append(f"invalid_citations:{validated.invalid_citations}")
            span.annotate(kept=len(validated.kept), unsupported=validated.unsupported)

        with stage("judge", ctx.timings):
            ev = self._evidence(ctx, validated)
            if len(ctx.query.split()) > _SHORT_QUESTION_WORDS:
                # A long message's unknown words are mostly its signature, company and places, not what it asks.
                ev = replace(ev, unknown_terms=(), unknown_names=())
            # A customer's widget question about a name the help center never uses is handed off; an agent's
            # draft is only marked for review (the agent reads it before it goes out).
            confidence, abstain = judge(ev, self.calibration, veto_unknown_names=ctx.question.channel == "widget")
        if fallback_reason:
            log.warning("answer fell back to extractive: %s", fallback_reason)
        features = dict(zip(FEATURES, ev.vector(), strict=True))
        if abstain:
            answer = self._abstain(
                ctx,
                confidence.reason,
                generator=draft.generator,
                confidence=confidence,
                fallback_reason=fallback_reason,
                related=self._related(ctx, ev),
            )
        else:
            ctx.sources, validated = _renumber(ctx.sources, validated)
            answer = self._compose(ctx, draft, validated, confidence)
            answer = _with(answer, fallback_reason=fallback_reason, needs_review=confidence.level != "high")
        answer = _with(answer, features=features)
        if spent is not None and not (answer.prompt_tokens or answer.completion_tokens):
            answer = _with(answer, model=spent[0], prompt_tokens=spent[1], completion_tokens=spent[2])
        answer = _finish(answer, ctx.started)
        self.cache.put(ctx.key, answer)
        return answer

    def _evidence(self, ctx: _Context, validated: Validated) -> Evidence:
        """The evidence features of a validated answer."""
        by_number = {s.n: s.hit for s in ctx.sources}
        cited = [by_number[c.n] for c in validated.citations]
        kept = validated.kept
        vectors = self.searcher.embedder.encode([ctx.query, *(s.text for s in kept)]) if kept else None
        return evidence(
            ctx.query,
            vectors[0] if vectors is not None else None,
            vectors[1:] if vectors is not None else None,
            ctx.hits,
            kept,
            cited,
            ctx.locale,
            self.vocabularies.get(ctx.question.tenant, ctx.search_language or ctx.locale),
            self.key_terms(ctx.query, ctx.locale) if self.key_terms else None,
        )

    def _related(self, ctx: _Context, ev: Evidence) -> tuple[Citation, ...]:
        """Up to 3 articles to offer beside the hand-off; none when the help center does not cover the topic."""
        if ev.unknown >= 0.5 or ev.dense < 0.3:
            return ()
        related: list[Citation] = []
        for source in ctx.sources:
            hit = source.hit
            if hit.dense_score is None or any(c.doc_id == hit.doc_id for c in related):
                continue
            related.append(Citation(len(related) + 1, hit.doc_id, hit.title, hit.url or None, hit.section, "", 0.0))
            if len(related) == 3:
                break
        return tuple(related)

    def _whole_sections(self, hits: Sequence[Hit]) -> list[Hit]:
        """Each hit widened to its whole section when that is short, and in a long section to the whole step
        list it holds (a list cut by chunking comes back whole); a later hit of a section already shown is dropped."""
        out: list[Hit] = []
        seen: set[tuple[str, str]] = set()
        for hit in hits:
            key = (hit.doc_id, hit.section)
            if key in seen:
                continue
            seen.add(key)
            whole = self.vocabularies.section_text(
                hit.doc_id, hit.section, self.settings.section_max_chars, around=hit.chunk_no
            )
            out.append(replace(hit, text=whole) if whole else hit)
        return out

    def _number_sources(self, hits: Sequence[Hit]) -> tuple[list[Source], list[tuple[Hit, tuple[str, ...]]]]:
        sources: list[Source] = []
        dropped: list[tuple[Hit, tuple[str, ...]]] = []
        for hit in hits:
            found = screen(hit.text, SOURCE_KINDS)
            if found.flagged:
                dropped.append((hit, found.findings))
                continue
            if len(sources) < self.settings.max_sources:
                sources.append(Source(n=len(sources) + 1, hit=hit))
        return sources, dropped

    def _llm_unavailable(self, ctx: _Context) -> str:
        """Why the LLM cannot be used for this answer ("" when it can, or when it was not asked for)."""
        if ctx.wanted != "llm":
            return "extractive"
        if not self.settings.llm_enabled:
            return "LLM generation is switched off (DESKPILOT_LLM_ENABLED=false)"
        if not ctx.switches.llm_enabled:
            return f"LLM generation is switched off for tenant {ctx.question.tenant} (flag llm_enabled)"
        if self.llm is None:
            return "no LLM is configured (set DESKPILOT_LLM_BASE_URL or DESKPILOT_LLM_GGUF_PATH)"
        if not ctx.sources:
            return "no usable source to give the LLM"
        return ""

    def _route(self, ctx: _Context) -> LlmChain | None:
        """The chain an answer that may use the LLM goes to (None: extractive), by complexity, budget and token
        cap (assistant/routing.py); the decision goes on ``ctx.route``, a budget downgrade is logged and counted."""
        tenant = ctx.question.tenant
        plan = routing.plan(
            self.settings,
            tenant=tenant,
            question=ctx.query,
            hits=ctx.hits,
            sources=ctx.sources,
            channel=ctx.question.channel,
            locale=ctx.locale,
            usage=self.usage.usage(tenant),
            cheap_available=self.cheap_llm is not None,
        )
        ctx.route, ctx.prompt_estimate = plan.route.label(), plan.prompt_tokens
        if len(plan.sources) < len(ctx.sources):
            ctx.flags.append(f"sources_trimmed_for_token_cap:{len(ctx.sources) - len(plan.sources)}")
            ctx.sources = list(plan.sources)
        if plan.route.cause in routing.BUDGET_CAUSES:
            self.usage.count_downgrade(tenant, plan.route.tier)
            log.warning("budget downgrade of tenant %s: %s", tenant, ctx.route)
        if plan.route.tier == "extractive":
            return None
        return self.cheap_llm if plan.route.tier == "cheap" else self.llm

    def _spent(self, ctx: _Context, draft: Draft) -> None:
        """Count one LLM call against the tenant's budget (estimated when the endpoint reports no usage)."""
        tokens = draft.prompt_tokens + draft.completion_tokens
        if not tokens:
            tokens = ctx.prompt_estimate + estimate_tokens(draft.raw)
        self.usage.record(ctx.question.tenant, tokens)

    def _generate(self, ctx: _Context) -> tuple[Draft, str]:
        clock = time.perf_counter()
        reason = self._llm_unavailable(ctx)
        chain = None if reason else self._route(ctx)
        if chain is not None:
            try:
                draft, failures = chain.generate(ctx.query, ctx.sources, ctx.question.channel, ctx.locale)
                self._spent(ctx, draft)
                ctx.timings["generate"] = _ms(clock)
                if failures:
                    log.warning("LLM chain recovered after: %s", "; ".join(failures))
                return draft, ""
            except GenerationError as exc:
                reason = str(exc)
        draft = self._extractive(ctx)
        ctx.timings["generate"] = _ms(clock)
        return draft, "" if reason == "extractive" else reason

    def _extractive(self, ctx: _Context) -> Draft:
        return self.extractive.generate(ctx.query, ctx.sources, ctx.question.channel, ctx.locale)

    def _compose(self, ctx: _Context, draft: Draft, validated: Validated, confidence: Confidence) -> Answer:
        # Only the answer itself is filtered: the greeting and closing are our own words, and English NER
        # would take a German "Ihre Nachricht" for a name.
        with stage("guard_output", ctx.timings, kind="guardrail") as span:
            # Extractive sentences are the index's own text, redacted at ingest: only placeholders can be in them.
            # An LLM can write personal data of its own, so its sentences go through the redactor too.
            check = None if draft.generator == "extractive" else (lambda text: self.redact_output(text, ctx.locale))
            kept, replaced = _without_personal_data(validated.kept, check)
            body = render(kept)
            span.annotate(pii_replaced=replaced)
        if not kept:
            return self._abstain(
                ctx, "every sentence of the answer held personal data", generator=draft.generator, confidence=confidence
            )
        agent = ctx.question.channel == "agent"
        notes: tuple[str, ...] = ()
        if ctx.search_language and ctx.search_language != language_of(ctx.locale):
            notes = (other_language_note(ctx.search_language, ctx.locale),)
        text = agent_draft(body, ctx.locale, self.settings.agent_name) if agent else "\n\n".join((*notes, body))
        if replaced:
            ctx.flags.append("output_pii_redacted")
        return Answer(
            text=text,
            abstained=False,
            confidence=confidence,
            citations=tuple(c for c in validated.citations if any(c.n in k.cites for k in kept)),
            sentences=kept,
            sources=tuple(ctx.sources),
            locale=ctx.locale,
            source_language=ctx.search_language,
            notes=notes,
            question=ctx.asked,
            generator=draft.generator,
            model=draft.model,
            prompt_version=draft.prompt_version,
            index_version=ctx.version,
            route=ctx.route,
            flags=tuple(ctx.flags),
            timings_ms=ctx.timings,
            prompt_tokens=draft.prompt_tokens,
            completion_tokens=draft.completion_tokens,
        )

    def _abstain(
        self,
        ctx: _Context,
        reason: str,
        *,
        generator: str,
        confidence: Confidence | None = None,
        fallback_reason: str = "",
        related: tuple[Citation, ...] = (),
    ) -> Answer:
        p = phrasing(ctx.locale)
        text = p.abstain_agent.format(reason=reason) if ctx.question.channel == "agent" else p.abstain_widget
        return Answer(
            text=text,
            abstained=True,
            confidence=confidence or Confidence("low", 0.0, f"low: {reason}"),
            citations=(),
            sentences=(),
            sources=tuple(ctx.sources),
            question=ctx.asked,
            generator=generator,
            index_version=ctx.version,
            escalation_reason=reason,
            fallback_reason=fallback_reason,
            related=related,
            locale=ctx.locale,
            source_language=ctx.search_language,
            route=ctx.route,
            flags=tuple(ctx.flags),
            timings_ms=ctx.timings,
        )


_PLACEHOLDER = re.compile(r"<[A-Z][A-Z_]+>")
_SHORT_QUESTION_WORDS = 30


def _without_personal_data(
    sentences: Sequence[Sentence], redact: Callable[[str], str] | None
) -> tuple[tuple[Sentence, ...], bool]:
    """The sentences that hold no redaction placeholder and (when ``redact`` is given) no personal data; whether
    any was dropped. A placeholder ("call <PHONE_NUMBER>") reads as broken text to a customer, so the whole
    sentence goes."""
    kept = tuple(
        s for s in sentences if not _PLACEHOLDER.search(s.text) and (redact is None or redact(s.text) == s.text)
    )
    return kept, len(kept) < len(sentences)


def _renumber(sources: Sequence[Source], validated: Validated) -> tuple[list[Source], Validated]:
    """Number the cited sources 1, 2, ... in the order the answer first cites them (the rest follow), so a
    reader sees [1] [2] rather than [2] [5]."""
    order: list[int] = []
    for sentence in validated.kept:
        order += [n for n in sentence.cites if n not in order]
    order += [s.n for s in sources if s.n not in order]
    new = {old: i + 1 for i, old in enumerate(order)}
    renumbered_sources = sorted((replace(s, n=new[s.n]) for s in sources), key=lambda s: s.n)
    sentences = tuple(replace(s, cites=tuple(new[n] for n in s.cites)) for s in validated.sentences)
    citations = tuple(sorted((replace(c, n=new[c.n]) for c in validated.citations), key=lambda c: c.n))
    return renumbered_sources, replace(validated, sentences=sentences, citations=citations)


def _refusal_reason(findings: Sequence[str]) -> str:
    if "personal_data_request" in findings:
        return "the question asks for another person's personal data, which the assistant never gives out"
    return "the question reads as instructions to the assistant, not as a support question"


def _ms(started: float) -> float:
    return (time.perf_counter() - started) * 1000


def _with(answer: Answer, **changes: object) -> Answer:
    return replace(answer, **changes)  # type: ignore[arg-type]


def _finish(answer: Answer, started: float) -> Answer:
    timings = dict(answer.timings_ms)
    timings["total"] = _ms(started)
    return _with(answer, timings_ms=timings)
