"""The answer pipeline: redact -> screen -> search -> number sources -> generate -> validate -> judge -> phrase."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Protocol

from assistant.cache import AnswerCache
from assistant.citations import CitationValidator, Validated, render
from assistant.confidence import evidence, judge
from assistant.extractive import ExtractiveGenerator
from assistant.generator import GenerationError
from assistant.guardrails import filter_output_pii, screen
from assistant.records import Answer, Channel, Confidence, Draft, Question, Source
from assistant.settings import AssistantSettings
from assistant.templates import agent_draft, phrasing
from retrieval.records import Hit, SearchFilter
from retrieval.search import HybridSearcher

log = logging.getLogger(__name__)


class LlmChain(Protocol):
    """An LLM generator chain with its own retries, breakers and deadline (assistant.resilience)."""

    def generate(
        self, question: str, sources: Sequence[Source], channel: Channel, locale: str
    ) -> tuple[Draft, list[str]]: ...


class AnswerService:
    """Answers questions with validated citations, an honest confidence, or an abstention."""

    def __init__(
        self,
        searcher: HybridSearcher,
        settings: AssistantSettings,
        index_version: Callable[[], str],
        redact: Callable[[str], str],
        llm: LlmChain | None = None,
    ) -> None:
        self.searcher, self.settings, self.index_version, self.redact = searcher, settings, index_version, redact
        self.extractive = ExtractiveGenerator(searcher.embedder, settings)
        self.validator = CitationValidator(searcher.embedder, settings)
        self.llm = llm
        self.cache = AnswerCache(settings.cache_ttl_s, settings.cache_max_entries)

    def answer(self, question: Question) -> Answer:
        """The answer to one question; never raises for a generator failure (it falls back instead)."""
        started = time.perf_counter()
        timings: dict[str, float] = {}
        clock = time.perf_counter()
        asked = self.searcher.prepare(question.text)
        timings["redact"] = _ms(clock)

        clock = time.perf_counter()
        screening = screen(asked)
        flags = [f"question:{kind}" for kind in screening.findings]
        query = screening.clean_text if screening.flagged else asked
        timings["guard_question"] = _ms(clock)

        wanted = question.generator or self.settings.generator
        version = self.index_version()
        key = (
            " ".join(query.lower().split()),
            question.tenant,
            question.products,
            question.locale,
            question.updated_after,
            question.channel,
            wanted,
            self.settings.llm_model if wanted == "llm" else "",
            version,
        )
        cached = self.cache.get(key)
        if cached is not None:
            # The cached answer is this answer, but this question's own guardrail findings still count.
            merged = tuple(dict.fromkeys([*flags, *cached.flags]))
            return _with(cached, timings_ms={"total": _ms(started)}, cached=True, flags=merged)

        locale = question.locale or "en"
        if not query.strip():
            answer = self._abstain(
                asked,
                question,
                locale,
                _refusal_reason(screening.findings),
                flags=flags,
                timings=timings,
                version=version,
                generator=wanted,
            )
            return _finish(answer, started)

        search_filter = SearchFilter(
            tenant=question.tenant,
            products=question.products,
            locales=(question.locale,) if question.locale else (),
            updated_after=question.updated_after,
        )
        result = self.searcher.search_prepared(query, search_filter)
        timings.update(result.timings_ms)
        if not question.locale and result.hits:
            locale = result.hits[0].locale or "en"

        clock = time.perf_counter()
        sources, dropped = self._number_sources(result.hits)
        flags += [f"source_dropped:{hit.doc_id}:{'+'.join(kinds)}" for hit, kinds in dropped]
        timings["guard_sources"] = _ms(clock)

        draft, fallback_reason = self._generate(wanted, query, sources, question.channel, locale, timings)
        clock = time.perf_counter()
        validated = self.validator.validate(draft, sources, locale)
        if draft.generator != "extractive" and not validated.kept:
            fallback_reason = fallback_reason or "the LLM answer had no supported, correctly cited sentence"
            draft = self.extractive.generate(query, sources, question.channel, locale)
            validated = self.validator.validate(draft, sources, locale)
        if validated.unsupported:
            flags.append(f"unsupported_removed:{validated.unsupported}")
        if validated.invalid_citations:
            flags.append(f"invalid_citations:{validated.invalid_citations}")
        timings["validate"] = _ms(clock)

        by_number = {s.n: s.hit for s in sources}
        cited = [by_number[c.n] for c in validated.citations]
        ev = evidence(query, result.hits, validated.kept, cited, locale)
        confidence, abstain = judge(ev, self.settings)
        if fallback_reason:
            log.warning("answer fell back to extractive: %s", fallback_reason)
        if abstain:
            answer = self._abstain(
                asked,
                question,
                locale,
                confidence.reason,
                flags=flags,
                timings=timings,
                version=version,
                generator=draft.generator,
                confidence=confidence,
                sources=sources,
                fallback_reason=fallback_reason,
            )
        else:
            answer = self._compose(asked, question, locale, draft, validated, confidence, sources, flags, timings)
            answer = _with(answer, index_version=version, fallback_reason=fallback_reason)
        answer = _finish(answer, started)
        self.cache.put(key, answer)
        return answer

    def _number_sources(self, hits: Sequence[Hit]) -> tuple[list[Source], list[tuple[Hit, tuple[str, ...]]]]:
        sources: list[Source] = []
        dropped: list[tuple[Hit, tuple[str, ...]]] = []
        for hit in hits:
            found = screen(hit.text)
            if found.flagged:
                dropped.append((hit, found.findings))
                continue
            if len(sources) < self.settings.max_sources:
                sources.append(Source(n=len(sources) + 1, hit=hit))
        return sources, dropped

    def _generate(
        self,
        wanted: str,
        query: str,
        sources: Sequence[Source],
        channel: Channel,
        locale: str,
        timings: dict[str, float],
    ) -> tuple[Draft, str]:
        clock = time.perf_counter()
        reason = ""
        if wanted == "llm":
            if not self.settings.llm_enabled:
                reason = "LLM generation is switched off (DESKPILOT_LLM_ENABLED=false)"
            elif self.llm is None:
                reason = "no LLM is configured (set DESKPILOT_LLM_BASE_URL or DESKPILOT_LLM_GGUF_PATH)"
            elif not sources:
                reason = "no usable source to give the LLM"
            else:
                try:
                    draft, failures = self.llm.generate(query, sources, channel, locale)
                    timings["generate"] = _ms(clock)
                    if failures:
                        log.warning("LLM chain recovered after: %s", "; ".join(failures))
                    return draft, ""
                except GenerationError as exc:
                    reason = str(exc)
        draft = self.extractive.generate(query, sources, channel, locale)
        timings["generate"] = _ms(clock)
        return draft, reason

    def _compose(
        self,
        asked: str,
        question: Question,
        locale: str,
        draft: Draft,
        validated: Validated,
        confidence: Confidence,
        sources: Sequence[Source],
        flags: list[str],
        timings: dict[str, float],
    ) -> Answer:
        body = render(validated.kept)
        text = agent_draft(body, locale, self.settings.agent_name) if question.channel == "agent" else body
        clock = time.perf_counter()
        text, replaced = filter_output_pii(text, self.redact)
        timings["guard_output"] = _ms(clock)
        if replaced:
            flags.append("output_pii_redacted")
        return Answer(
            text=text,
            abstained=False,
            confidence=confidence,
            citations=validated.citations,
            sentences=validated.kept,
            sources=tuple(sources),
            question=asked,
            generator=draft.generator,
            model=draft.model,
            prompt_version=draft.prompt_version,
            flags=tuple(flags),
            timings_ms=timings,
            prompt_tokens=draft.prompt_tokens,
            completion_tokens=draft.completion_tokens,
        )

    def _abstain(
        self,
        asked: str,
        question: Question,
        locale: str,
        reason: str,
        *,
        flags: list[str],
        timings: dict[str, float],
        version: str,
        generator: str,
        confidence: Confidence | None = None,
        sources: Sequence[Source] = (),
        fallback_reason: str = "",
    ) -> Answer:
        p = phrasing(locale)
        text = p.abstain_agent.format(reason=reason) if question.channel == "agent" else p.abstain_widget
        return Answer(
            text=text,
            abstained=True,
            confidence=confidence or Confidence("low", 0.0, f"low: {reason}"),
            citations=(),
            sentences=(),
            sources=tuple(sources),
            question=asked,
            generator=generator,
            index_version=version,
            escalation_reason=reason,
            fallback_reason=fallback_reason,
            flags=tuple(flags),
            timings_ms=timings,
        )


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
