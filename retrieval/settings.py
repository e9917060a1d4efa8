"""Settings of the retrieval stage (env prefix ``DESKPILOT_``)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class RetrievalSettings(BaseSettings):
    """Where the index lives and how chunks are embedded."""

    model_config = SettingsConfigDict(env_prefix="DESKPILOT_", extra="ignore")

    data_dir: Path = Field(default=Path(".deskpilot"))
    database_url: str = Field(
        default="",
        description="SQLAlchemy URL of the store (manifest, embedding cache); empty = SQLite in the data dir.",
    )
    index_backend: Literal["edge", "server"] = Field(
        default="edge",
        description="edge = embedded Qdrant Edge on disk; server = Qdrant server via qdrant-client.",
    )
    qdrant_url: str = Field(default="", description="Qdrant server URL, for index_backend=server.")
    qdrant_api_key: SecretStr | None = Field(default=None)
    collection: str = Field(default="helpcenter", pattern=r"^[A-Za-z0-9_-]+$")
    embedding_model: str = Field(
        default="",
        description="sentence-transformers model path or name; empty = bundled all-MiniLM-L6-v2.",
    )
    embedding_batch_size: int = Field(default=32, ge=1, le=1024)
    index_write_batch: int = Field(
        default=1024,
        ge=1,
        description="Chunks embedded and written to the index per group (one manifest transaction each).",
    )
    bm25_k1: float = Field(default=1.2, gt=0)
    bm25_b: float = Field(default=0.75, ge=0, le=1)
    bm25_avg_len: float = Field(default=120.0, gt=0, description="Average chunk length in BM25 tokens.")
    rrf_k: int = Field(
        default=60, ge=1, description="Reciprocal rank fusion constant: score = w / (k + rank), ranks counted from 0."
    )
    dense_weight: float = Field(default=1.0, ge=0, description="RRF weight of the dense (embedding) branch.")
    sparse_weight: float = Field(default=1.0, ge=0, description="RRF weight of the BM25 branch.")
    prefetch_limit: int = Field(default=40, ge=1, le=1000, description="Candidates each branch hands to fusion.")
    top_k: int = Field(default=8, ge=1, le=100, description="Hits returned per query.")
    score_floor: float = Field(
        default=0.0,
        ge=0,
        le=1,
        description="Drop hits whose relevance (fused score / best possible fused score) is below this.",
    )
    max_hits_per_section: int = Field(default=2, ge=1, description="At most this many hits per document section.")
    reranker_model: str = Field(
        default="",
        description="Path or name of a sentence-transformers CrossEncoder; empty = no reranking.",
    )
    reranker_candidates: int = Field(default=20, ge=1, le=200, description="Fused hits the reranker rescores.")

    def resolved_database_url(self) -> str:
        """The store URL, defaulting to ``sqlite:///<data_dir>/deskpilot.db``."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'deskpilot.db').resolve()}"

    def edge_path(self) -> Path:
        """Directory of the embedded Qdrant Edge shard."""
        return self.data_dir / "qdrant-edge" / self.collection
