"""The embedder with the real all-MiniLM-L6-v2 model and a real SQLite embedding cache."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np

from retrieval.embedder import Embedder, default_model_path
from retrieval.store import EmbeddingCache, engine_for


def _texts(count: int) -> list[str]:
    words = "refund invoice password reset parcel tracking label export ledger account".split()
    rng = random.Random(3)
    # Lengths from a few tokens to past the model's 256-token limit, in random order.
    return [" ".join(rng.choice(words) for _ in range(rng.choice((2, 9, 40, 120, 400)))) for _ in range(count)]


def test_length_sorted_batches_give_the_models_vectors_in_input_order() -> None:
    embedder = Embedder(default_model_path(), cache=None, batch_size=4)
    texts = _texts(23)
    vectors = embedder.encode_uncached(texts)
    one_by_one = np.stack(
        [embedder.model.encode([t], normalize_embeddings=True, show_progress_bar=False)[0] for t in texts]
    )
    assert vectors.shape == (23, embedder.dimension) and vectors.dtype == np.float32
    np.testing.assert_allclose(vectors, one_by_one, atol=1e-5)
    assert embedder.encode_uncached([]).shape == (0, embedder.dimension)


def test_cached_vectors_are_reused_and_equal(tmp_path: Path) -> None:
    cache = EmbeddingCache(engine_for(f"sqlite:///{tmp_path / 'store.db'}"))
    embedder = Embedder(default_model_path(), cache=cache, batch_size=8)
    texts = _texts(10)
    first = embedder.encode(texts + texts[:3])
    assert embedder.computed == 10, "a text repeated within one call is embedded once"
    second = Embedder(default_model_path(), cache=cache)
    again = second.encode(list(reversed(texts)))
    assert second.computed == 0 and second.cached == 10
    np.testing.assert_array_equal(again, first[:10][::-1])
    np.testing.assert_array_equal(first[10:], first[:3])
