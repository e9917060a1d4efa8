"""Settings of tracing, logs and LLM pricing (env prefix ``DESKPILOT_``), and the cost of an answer."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Price(BaseModel):
    """US dollars per 1,000 prompt and per 1,000 completion tokens of one model."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    prompt: float = Field(ge=0)
    completion: float = Field(ge=0)


class ObservabilitySettings(BaseSettings):
    """Langfuse tracing (off unless both keys are set), the log format, and what LLM tokens cost."""

    model_config = SettingsConfigDict(env_prefix="DESKPILOT_", extra="ignore")

    langfuse_public_key: str = Field(default="", description="Langfuse project public key; empty = tracing off.")
    langfuse_secret_key: str = Field(default="", description="Langfuse project secret key; empty = tracing off.")
    langfuse_host: str = Field(default="", description="Langfuse server, e.g. http://localhost:3000 (compose).")
    langfuse_environment: str = Field(default="", description="Langfuse environment of the traces; empty = default.")
    langfuse_sample_rate: float = Field(default=1.0, ge=0.0, le=1.0, description="Share of answers traced.")
    log_format: Literal["json", "text", "auto"] = Field(
        default="auto", description="json lines, plain text, or auto (json for `serve`, text elsewhere)."
    )
    log_level: str = Field(default="INFO", description="Root log level (DEBUG, INFO, WARNING, ...).")
    llm_prices: dict[str, Price] = Field(
        default_factory=dict,
        description='Per model, USD per 1k tokens: {"gpt-4o-mini": {"prompt": 0.00015, "completion": 0.0006}}.',
    )

    def tracing_enabled(self) -> bool:
        """True when both Langfuse keys are set."""
        return bool(self.langfuse_public_key and self.langfuse_secret_key)

    def cost_usd(self, model: str, prompt_tokens: int, completion_tokens: int) -> float | None:
        """What the tokens cost on ``model``; None when no price is configured for it (not the same as free)."""
        price = self.llm_prices.get(model)
        if price is None:
            return None
        return (prompt_tokens * price.prompt + completion_tokens * price.completion) / 1000
