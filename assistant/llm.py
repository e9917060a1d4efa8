"""LLM answer generation through llama-index: any OpenAI-compatible endpoint, or a local GGUF file.

``LlmGenerator`` turns numbered sources into chat messages (assistant/prompts.py), asks the LLM, and parses
the raw text into a Draft whose sentences carry the ``[n]`` citations the model claimed. It makes exactly one
call per request: retries, breakers, deadlines and fail-over live in assistant/resilience.py.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from llama_index.core.base.llms.generic_utils import messages_to_prompt as generic_messages_to_prompt
from llama_index.core.base.llms.types import ChatMessage, MessageRole

from assistant.generator import GenerationError
from assistant.prompts import PROMPT_VERSION, PromptMessage, build_messages
from assistant.records import Channel, Draft, Sentence, SentenceKind, Source
from assistant.resilience import EndpointError, ResilientGenerator
from assistant.settings import AssistantSettings
from assistant.text import citations_in, split_sentences, strip_citations

if TYPE_CHECKING:
    from llama_index.core.llms import LLM

_STEP_LINE = re.compile(r"^\s*(\d{1,3})[.)]\s+(.*)$")
_ITEM_LINE = re.compile(r"^\s*[-*•]\s+(.*)$")
_ROLES = {"system": MessageRole.SYSTEM, "user": MessageRole.USER, "assistant": MessageRole.ASSISTANT}


def parse_draft(
    raw: str,
    *,
    generator: str = "llm",
    model: str = "",
    prompt_version: str = PROMPT_VERSION,
    prompt_tokens: int = 0,
    completion_tokens: int = 0,
) -> Draft:
    """The Draft a model's raw text stands for: its sentences, each without markers but with the ``[n]`` it cites.

    Numbered lines become steps (keeping their numbers) and bulleted lines items, so a procedure keeps its
    layout; a citation standing alone (``[2]`` on its own line) belongs to the sentence before it.
    """
    sentences: list[Sentence] = []
    block = 0
    for line in raw.splitlines() or [raw]:
        if not line.strip():
            block += 1
            continue
        step, item = _STEP_LINE.match(line), _ITEM_LINE.match(line)
        kind: SentenceKind = "step" if step else "item" if item else "text"
        marker = f"{step.group(1)}." if step else "-" if item else ""
        body = step.group(2) if step else item.group(1) if item else line
        pieces = [body] if kind != "text" else split_sentences(body)
        for piece in pieces:
            text, cites = strip_citations(piece), citations_in(piece)
            if not text.strip(" .!?,;:"):
                if sentences and cites:
                    prev = sentences[-1]
                    merged = prev.cites + tuple(n for n in cites if n not in prev.cites)
                    sentences[-1] = replace(prev, cites=merged)
                continue
            sentences.append(Sentence(text, cites, kind=kind, marker=marker, block=block))
        if kind != "text":
            continue
        block += 1
    return Draft(
        sentences=tuple(sentences),
        generator=generator,
        model=model,
        prompt_version=prompt_version,
        prompt_tokens=prompt_tokens,
        completion_tokens=completion_tokens,
        raw=raw,
    )


def to_chat_messages(messages: Sequence[PromptMessage]) -> list[ChatMessage]:
    """Prompt messages as llama-index chat messages."""
    return [ChatMessage(role=_ROLES[m.role], content=m.content) for m in messages]


def _usage(additional: dict[str, Any], raw: Any) -> tuple[int, int]:
    """Prompt and completion tokens as the response reports them (0 when it does not)."""
    prompt, completion = additional.get("prompt_tokens"), additional.get("completion_tokens")
    if prompt is None and isinstance(raw, dict):  # llama-cpp-python in-process returns a dict
        usage = raw.get("usage") or {}
        prompt, completion = usage.get("prompt_tokens"), usage.get("completion_tokens")
    return int(prompt or 0), int(completion or 0)


class LlmGenerator:
    """A StreamingGenerator over one llama-index LLM bound to one endpoint (a URL, or ``gguf:<path>``).

    Build it with ``openai_like()`` or ``gguf()``; every failure becomes an EndpointError naming the endpoint.
    """

    name = "llm"

    def __init__(
        self,
        llm: LLM,
        *,
        endpoint: str,
        model: str,
        settings: AssistantSettings,
        pass_timeout: bool,
        setting_hint: str,
    ) -> None:
        self.llm = llm
        self.endpoint = endpoint
        self.model = model
        self.settings = settings
        self._pass_timeout = pass_timeout
        self._setting_hint = setting_hint
        # an in-process llama.cpp model is not re-entrant; HTTP clients are
        self._lock: threading.Lock | None = None if pass_timeout else threading.Lock()

    @classmethod
    def openai_like(
        cls,
        settings: AssistantSettings,
        *,
        base_url: str,
        model: str,
        setting_hint: str = "DESKPILOT_LLM_BASE_URL / DESKPILOT_LLM_MODEL",
    ) -> LlmGenerator:
        """A generator for an OpenAI-compatible endpoint (vLLM, Ollama, llama.cpp server, OpenAI, Azure ...)."""
        from llama_index.llms.openai_like import OpenAILike

        if not base_url:
            raise GenerationError(f"no LLM endpoint configured: set {setting_hint.split(' / ')[0]}")
        llm = OpenAILike(
            model=model or "default",
            api_base=base_url.rstrip("/"),
            api_key=settings.llm_api_key.get_secret_value() or "not-needed",
            is_chat_model=True,
            is_function_calling_model=False,
            max_tokens=settings.llm_max_tokens,
            temperature=settings.llm_temperature,
            timeout=settings.llm_timeout_s,
            # retries belong to ResilientGenerator: the client's own would multiply them and blow the deadline
            max_retries=0,
            reuse_client=True,
        )
        return cls(
            llm,
            endpoint=base_url.rstrip("/"),
            model=model or "default",
            settings=settings,
            pass_timeout=True,
            setting_hint=setting_hint,
        )

    @classmethod
    def gguf(
        cls, settings: AssistantSettings, *, path: str, n_ctx: int = 4096, n_threads: int | None = None
    ) -> LlmGenerator:
        """A generator running a local GGUF model in-process through llama-cpp-python (the ``gguf`` extra)."""
        hint = "DESKPILOT_LLM_GGUF_PATH"
        if not path or not Path(path).is_file():
            raise GenerationError(f"GGUF model file {path!r} not found: set {hint} to an existing .gguf file")
        try:
            from llama_cpp.llama_chat_format import Jinja2ChatFormatter
            from llama_index.llms.llama_cpp import LlamaCPP
        except ImportError as exc:
            raise GenerationError(
                f"local GGUF generation needs the gguf extra: pip install 'deskpilot[gguf]' ({exc})"
            ) from exc

        formatter: list[Callable[[Sequence[ChatMessage]], str]] = []
        model_kwargs: dict[str, Any] = {"verbose": False}
        if n_threads:
            model_kwargs["n_threads"] = n_threads
        try:
            llm = LlamaCPP(
                model_path=path,
                temperature=min(settings.llm_temperature, 1.0),
                max_new_tokens=settings.llm_max_tokens,
                context_window=n_ctx,
                model_kwargs=model_kwargs,
                verbose=False,
                # resolved below, once the model (and the chat template it ships) is loaded
                messages_to_prompt=lambda messages: formatter[0](messages),
            )
        except Exception as exc:
            raise GenerationError(f"could not load GGUF model {path} ({hint}): {exc}") from exc
        formatter.append(_template_formatter(llm, Jinja2ChatFormatter))
        return cls(
            llm,
            endpoint=f"gguf:{path}",
            model=Path(path).stem,
            settings=settings,
            pass_timeout=False,
            setting_hint=hint,
        )

    def messages(self, question: str, sources: Sequence[Source], channel: Channel, locale: str) -> list[ChatMessage]:
        """The chat messages this generator sends for one answer."""
        return to_chat_messages(
            build_messages(
                question,
                sources,
                channel,
                locale,
                agent_max_sentences=self.settings.agent_max_sentences,
                widget_max_sentences=self.settings.widget_max_sentences,
            )
        )

    def draft_from(self, raw: str, prompt_tokens: int = 0, completion_tokens: int = 0) -> Draft:
        """The Draft for a complete raw text from this generator's model."""
        return parse_draft(
            raw,
            model=self.model,
            prompt_version=PROMPT_VERSION,
            prompt_tokens=prompt_tokens,
            completion_tokens=completion_tokens,
        )

    def generate(
        self, question: str, sources: Sequence[Source], channel: Channel, locale: str, *, timeout: float | None = None
    ) -> Draft:
        """One chat call; the parsed Draft with the token usage the response reports."""
        kwargs = self._call_kwargs(timeout)
        try:
            if self._lock is not None:
                with self._lock:
                    response = self.llm.chat(self.messages(question, sources, channel, locale), **kwargs)
            else:
                response = self.llm.chat(self.messages(question, sources, channel, locale), **kwargs)
        except Exception as exc:
            raise self._error(exc) from exc
        raw = (response.message.content or "").strip()
        if not raw:
            raise EndpointError(
                self.endpoint,
                f"LLM endpoint {self.endpoint} returned an empty answer",
                detail="empty answer",
                retryable=False,
                endpoint_fault=False,
            )
        prompt_tokens, completion_tokens = _usage(response.additional_kwargs, response.raw)
        return self.draft_from(raw, prompt_tokens, completion_tokens)

    def stream(
        self, question: str, sources: Sequence[Source], channel: Channel, locale: str, *, timeout: float | None = None
    ) -> Iterator[str]:
        """Text deltas of the answer as the model produces them (llama-index ``stream_chat``)."""
        messages = self.messages(question, sources, channel, locale)
        kwargs = self._call_kwargs(timeout)
        if self._lock is not None:
            with self._lock:
                yield from self._stream(messages, kwargs)
        else:
            yield from self._stream(messages, kwargs)

    def _stream(self, messages: list[ChatMessage], kwargs: dict[str, Any]) -> Iterator[str]:
        try:
            responses = self.llm.stream_chat(messages, **kwargs)
        except Exception as exc:
            raise self._error(exc) from exc
        try:
            while True:
                try:
                    response = next(responses)
                except StopIteration:
                    return
                except Exception as exc:
                    raise self._error(exc) from exc
                if response.delta:
                    yield response.delta
        finally:
            close = getattr(responses, "close", None)
            if callable(close):
                close()

    def _call_kwargs(self, timeout: float | None) -> dict[str, Any]:
        # the OpenAI client takes a per-request timeout; LlamaCPP would pass unknown kwargs on to llama.cpp
        if self._pass_timeout and timeout is not None:
            return {"timeout": max(timeout, 0.001)}
        return {}

    def _error(self, exc: BaseException) -> EndpointError:
        """A failure as an EndpointError that names the endpoint and says what to check."""
        status = getattr(exc, "status_code", None)
        kind = type(exc).__name__
        retryable, advice = True, ""
        if isinstance(status, int):
            detail = f"HTTP {status} ({_short(exc)})"
            if status in (401, 403):
                retryable, advice = False, "; the API key was refused, check DESKPILOT_LLM_API_KEY"
            elif status == 404:
                retryable, advice = False, f"; unknown model or path, check {self._setting_hint}"
            elif status != 429 and status < 500:
                retryable = False
        elif "Timeout" in kind:
            detail = f"timed out ({_short(exc)})"
        elif "Connection" in kind or "Protocol" in kind or isinstance(exc, OSError):
            detail = f"connection failed ({kind}: {_short(exc)})"
            advice = f"; is the server running? check {self._setting_hint}"
        else:
            detail = f"{kind}: {_short(exc)}"
        return EndpointError(
            self.endpoint,
            f"LLM endpoint {self.endpoint} (model {self.model}): {detail}{advice}",
            detail=detail,
            retryable=retryable,
        )


def _short(exc: BaseException, limit: int = 200) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    cause = exc.__cause__ or exc.__context__
    if cause is not None and str(cause) and str(cause) not in text:
        text += f" {' '.join(str(cause).split())}"
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _template_formatter(llm: Any, formatter_cls: Any) -> Callable[[Sequence[ChatMessage]], str]:
    """A messages -> prompt function using the chat template shipped inside the GGUF file, or, for a model that
    ships none (a base model), llama-index's generic ``role: content`` prompt, which keeps the system message."""
    model = llm._model
    template = model.metadata.get("tokenizer.chat_template")
    if not template:
        return generic_messages_to_prompt
    eos = model.detokenize([model.token_eos()]).decode("utf-8", errors="ignore")
    # llama.cpp adds BOS itself when it tokenizes the prompt: the template must not add a second one
    chat_format = formatter_cls(template=template, eos_token=eos, bos_token="", add_generation_prompt=True)

    def to_prompt(messages: Sequence[ChatMessage]) -> str:
        result = chat_format(messages=[{"role": m.role.value, "content": m.content or ""} for m in messages])
        return str(result.prompt)

    return to_prompt


def build_generators(settings: AssistantSettings) -> list[LlmGenerator]:
    """The configured LLM endpoints in fail-over order: primary, then the optional secondary.

    Primary: ``llm_kind=openai_like`` uses DESKPILOT_LLM_BASE_URL / DESKPILOT_LLM_MODEL, ``llm_kind=gguf``
    DESKPILOT_LLM_GGUF_PATH. Secondary (always OpenAI-compatible): DESKPILOT_LLM_SECONDARY_BASE_URL /
    DESKPILOT_LLM_SECONDARY_MODEL, when set.
    """
    chain: list[LlmGenerator] = []
    if settings.llm_kind == "gguf":
        chain.append(LlmGenerator.gguf(settings, path=settings.llm_gguf_path))
    else:
        chain.append(LlmGenerator.openai_like(settings, base_url=settings.llm_base_url, model=settings.llm_model))
    if settings.llm_secondary_base_url:
        chain.append(
            LlmGenerator.openai_like(
                settings,
                base_url=settings.llm_secondary_base_url,
                model=settings.llm_secondary_model or settings.llm_model,
                setting_hint="DESKPILOT_LLM_SECONDARY_BASE_URL / DESKPILOT_LLM_SECONDARY_MODEL",
            )
        )
    return chain


def build_llm_chain(
    settings: AssistantSettings, *, breaker_clock: Callable[[], float] = time.monotonic
) -> ResilientGenerator:
    """The resilient LLM generator the answer service uses: configured endpoints behind breakers and a deadline."""
    return ResilientGenerator(build_generators(settings), settings, breaker_clock=breaker_clock)
