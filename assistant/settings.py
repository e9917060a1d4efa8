"""Settings of the answer stage (env prefix ``DESKPILOT_``)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from assistant.confidence import Calibration


class AssistantSettings(BaseSettings):
    """How answers are generated, validated, scored and cached."""

    model_config = SettingsConfigDict(env_prefix="DESKPILOT_", extra="ignore")

    data_dir: Path = Field(default=Path(".deskpilot"))
    generator: Literal["extractive", "llm"] = Field(default="extractive", description="Default answer generator.")
    max_sources: int = Field(default=5, ge=1, le=20, description="Numbered sources handed to a generator.")
    section_max_chars: int = Field(
        default=3000, ge=0, description="A retrieved chunk is widened to its whole section up to this many characters."
    )
    agent_max_sentences: int = Field(default=4, ge=1, le=12, description="Answer sentences in an agent draft.")
    widget_max_sentences: int = Field(default=2, ge=1, le=8, description="Answer sentences in a widget answer.")
    detect_language: bool = Field(
        default=True, description="Answer in the question's own language (detected offline), not only the page's."
    )
    agent_name: str = Field(default="", description="Signature of agent drafts; empty = the locale's team name.")

    # LLM generation (llama-index). Kill switch: llm_enabled=false turns every LLM call off at once.
    llm_enabled: bool = Field(default=True, description="Kill switch: false = never call an LLM, answer extractively.")
    llm_kind: Literal["openai_like", "gguf"] = Field(default="openai_like")
    llm_base_url: str = Field(default="", description="OpenAI-compatible endpoint, e.g. http://127.0.0.1:8080/v1.")
    llm_model: str = Field(default="", description="Model name sent to the endpoint.")
    llm_api_key: SecretStr = Field(default=SecretStr("not-needed"))
    llm_gguf_path: str = Field(default="", description="Local GGUF file, for llm_kind=gguf.")
    llm_secondary_base_url: str = Field(default="", description="Fallback endpoint tried when the primary fails.")
    llm_secondary_model: str = Field(default="")
    llm_max_tokens: int = Field(default=320, ge=16, le=4096)
    llm_temperature: float = Field(default=0.1, ge=0, le=2)
    llm_timeout_s: float = Field(default=20.0, gt=0, description="Per-call timeout.")
    llm_retries: int = Field(default=1, ge=0, le=5, description="Retries of a failed call, with backoff.")
    llm_backoff_s: float = Field(default=0.3, ge=0)
    answer_deadline_s: float = Field(default=30.0, gt=0, description="Overall deadline of one answer.")
    breaker_failures: int = Field(default=3, ge=1, description="Consecutive failures that open an endpoint's breaker.")
    breaker_cooldown_s: float = Field(default=30.0, gt=0, description="How long an open breaker rejects calls.")

    # Citation validation: a sentence is supported when its combined support reaches support_min.
    support_min: float = Field(default=0.55, ge=0, le=1)
    support_lexical_weight: float = Field(default=0.5, ge=0, le=1, description="Lexical share of the support score.")

    # Confidence: a probability from the fitted calibration (assistant/calibration.json, written by
    # evals/fit_confidence.py on the golden set's dev half); these override its thresholds when set.
    calibration_file: Path | None = Field(default=None, description="A calibration JSON; None = the shipped one.")
    confidence_high: float | None = Field(default=None, ge=0, le=1, description="Probability for 'high'.")
    confidence_medium: float | None = Field(default=None, ge=0, le=1, description="Probability for 'medium'.")
    abstain_below: float | None = Field(default=None, ge=0, le=1, description="Below this probability: escalate.")

    cache_ttl_s: float = Field(default=900.0, ge=0, description="Answer cache lifetime; 0 turns the cache off.")
    cache_max_entries: int = Field(default=2000, ge=0)

    # Feature flags and kill switches per tenant (assistant/flags.py), re-read when the file changes.
    flags_file: Path | None = Field(default=None, description="Per-tenant flags JSON; None = <data_dir>/flags.json.")

    # Cost governance (assistant/budget.py, assistant/routing.py); 0 = unlimited.
    budget_daily_tokens: dict[str, int] = Field(default_factory=dict, description='Per tenant: {"ledgerly": 200000}.')
    budget_default_daily_tokens: int = Field(default=0, ge=0, description="Daily LLM tokens of tenants not listed.")
    budget_daily_requests: dict[str, int] = Field(default_factory=dict, description='Per tenant: {"ledgerly": 500}.')
    budget_default_daily_requests: int = Field(default=0, ge=0, description="Daily LLM requests of others.")
    budget_hard_factor: float = Field(
        default=1.25, ge=1.0, description="Past budget x this, answers are extractive (past the budget: cheap model)."
    )
    llm_max_request_tokens: int = Field(
        default=8000, ge=0, description="Cap on one LLM call's estimated prompt + completion tokens; 0 = no cap."
    )
    llm_cheap_model: str = Field(default="", description="Cheaper model for budget downgrades; empty = none.")
    llm_cheap_base_url: str = Field(default="", description="Its endpoint; empty = DESKPILOT_LLM_BASE_URL.")
    routing_enabled: bool = Field(default=False, description="Route FAQ-like questions away from the strong model.")
    route_simple_to: Literal["extractive", "cheap"] = Field(default="extractive")
    route_simple_max_words: int = Field(default=14, ge=1, description="Longer questions are hard.")
    route_simple_min_dense: float = Field(
        default=0.6, ge=0, le=1, description="Top hit's dense cosine similarity a FAQ-like question needs."
    )

    def resolved_flags_file(self) -> Path:
        """Where the per-tenant flags live."""
        return self.flags_file if self.flags_file is not None else self.data_dir / "flags.json"

    def calibration(self, fitted: Calibration) -> Calibration:
        """``fitted`` with the thresholds set here, checked to be in order."""
        tuned = replace(
            fitted,
            abstain_below=fitted.abstain_below if self.abstain_below is None else self.abstain_below,
            medium=fitted.medium if self.confidence_medium is None else self.confidence_medium,
            high=fitted.high if self.confidence_high is None else self.confidence_high,
        )
        if not tuned.abstain_below <= tuned.medium <= tuned.high:
            raise ValueError(
                "confidence thresholds must satisfy DESKPILOT_ABSTAIN_BELOW <= DESKPILOT_CONFIDENCE_MEDIUM "
                f"<= DESKPILOT_CONFIDENCE_HIGH (got {tuned.abstain_below}, {tuned.medium}, {tuned.high})"
            )
        return tuned
