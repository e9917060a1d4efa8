"""Chunks -> Qdrant (dense + BM25 sparse vectors); the index, its manifest and sync."""
