"""The settings of every package, composed for the doors."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from assistant.settings import AssistantSettings
from feedback.settings import FeedbackSettings
from ingest.settings import IngestSettings
from retrieval.settings import RetrievalSettings
from ui.api.settings import ApiSettings
from ui.delivery import DeliverySettings
from ui.observability import ObservabilitySettings


@dataclass(frozen=True)
class AppSettings:
    """One object holding each package's own settings."""

    ingest: IngestSettings
    retrieval: RetrievalSettings
    assistant: AssistantSettings
    feedback: FeedbackSettings
    api: ApiSettings
    observability: ObservabilitySettings = field(default_factory=ObservabilitySettings)
    """Tracing, logs, LLM prices: read from the environment like the others (no data dir)."""
    delivery: DeliverySettings = field(default_factory=DeliverySettings)
    """How an agent's sent reply reaches the customer: SMTP, a helpdesk webhook, or record-only."""

    @classmethod
    def load(cls, data_dir: Path | None = None) -> AppSettings:
        """Read every package's settings from the environment, optionally forcing the data dir."""
        if data_dir is None:
            return cls(
                ingest=IngestSettings(),
                retrieval=RetrievalSettings(),
                assistant=AssistantSettings(),
                feedback=FeedbackSettings(),
                api=ApiSettings(),
            )
        return cls(
            ingest=IngestSettings(data_dir=data_dir),
            retrieval=RetrievalSettings(data_dir=data_dir),
            assistant=AssistantSettings(data_dir=data_dir),
            feedback=FeedbackSettings(data_dir=data_dir),
            api=ApiSettings(),
        )
