"""Heading-aware, token-bounded chunking with overlap.

A document is cut into sections at its headings; each section is cut into
chunks that never exceed the token budget, breaking at sentence or line ends
where possible and repeating up to ``overlap`` tokens of the previous chunk.
Tokens are counted with the embedding model's own tokenizer, word by word
(exact for WordPiece tokenizers, whose pre-tokenizer splits on whitespace),
and every chunk is checked against a count of its whole text.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

from ingest.records import Block, Chunk, Document

TokenCounter = Callable[[Sequence[str]], list[int]]

_WORD = re.compile(r"\S+")
_SENTENCE_END = re.compile(r"[.!?:;][\"')\]]*$")
_MAX_WORD_CHARS = 64


@dataclass(frozen=True)
class Section:
    """Consecutive blocks under one heading path, as one text."""

    path: tuple[str, ...]
    text: str


@dataclass(frozen=True)
class Piece:
    """A slice ``text[start:end]`` of a section with its token count."""

    start: int
    end: int
    text: str
    tokens: int


def sections_of(blocks: Sequence[Block]) -> list[Section]:
    """Group blocks into sections; a heading opens a section named by its path plus itself."""
    groups: list[tuple[tuple[str, ...], list[str]]] = []
    for block in blocks:
        if block.kind == "heading":
            groups.append(((*block.section_path, block.text), [block.text]))
        elif groups and groups[-1][0] == block.section_path:
            groups[-1][1].append(block.text)
        else:
            groups.append((block.section_path, [block.text]))
    return [Section(path, "\n".join(texts)) for path, texts in groups]


def split_section(text: str, budget: int, overlap: int, count: TokenCounter) -> list[Piece]:
    """Cut ``text`` into pieces of at most ``budget`` tokens covering it in order."""
    if overlap >= budget:
        raise ValueError(f"overlap ({overlap}) must be smaller than the budget ({budget})")
    words = _words(text)
    if not words:
        return []
    words, costs = _fit_words(text, words, budget, count)
    # A boundary after word i when it ends a sentence or a line.
    boundary = [
        bool(_SENTENCE_END.search(text[s:e])) or "\n" in text[e : (words[i + 1][0] if i + 1 < len(words) else e)]
        for i, (s, e) in enumerate(words)
    ]
    pieces: list[Piece] = []
    first = 0
    covered = 0  # words before this index already sit in an earlier piece
    while covered < len(words):
        last, total = first, 0
        cut, cut_total = -1, 0
        while last < len(words) and total + costs[last] <= budget:
            total += costs[last]
            if boundary[last] and last >= covered:
                cut, cut_total = last, total
            last += 1
        if last <= covered:  # the overlap left no room for a new word: drop it
            first = covered
            continue
        # End at the last sentence/line end that adds new words, unless that
        # would leave the piece less than half full.
        if last < len(words) and cut >= covered and cut_total * 2 >= budget:
            last = cut + 1
        piece = _piece(text, words, costs, first, last, count, budget)
        pieces.append(piece)
        covered = first + _words_in(piece, words, first)
        if covered >= len(words):
            break
        first = _overlap_start(costs, boundary, covered, overlap, floor=first + 1)
    return pieces


def _words(text: str) -> list[tuple[int, int]]:
    spans: list[tuple[int, int]] = []
    for match in _WORD.finditer(text):
        start, end = match.span()
        # Very long runs without spaces (URLs, hashes) are cut so each part fits a budget.
        for offset in range(start, end, _MAX_WORD_CHARS):
            spans.append((offset, min(offset + _MAX_WORD_CHARS, end)))
    return spans


def _fit_words(
    text: str, words: list[tuple[int, int]], budget: int, count: TokenCounter
) -> tuple[list[tuple[int, int]], list[int]]:
    """Halve any "word" that alone exceeds the budget (long compounds, codes) until every part fits."""
    costs = _word_costs([text[s:e] for s, e in words], count)
    while any(cost > budget for cost in costs):
        fitted: list[tuple[int, int]] = []
        for (start, end), cost in zip(words, costs, strict=True):
            if cost > budget and end - start > 1:
                middle = (start + end) // 2
                fitted.extend([(start, middle), (middle, end)])
            else:
                fitted.append((start, end))
        words = fitted
        costs = _word_costs([text[s:e] for s, e in words], count)
    return words, costs


def _word_costs(words: list[str], count: TokenCounter) -> list[int]:
    unique = sorted(set(words))
    costs = dict(zip(unique, count(unique), strict=True))
    return [costs[w] for w in words]


def _piece(
    text: str,
    words: list[tuple[int, int]],
    costs: list[int],
    first: int,
    last: int,
    count: TokenCounter,
    budget: int,
) -> Piece:
    """The slice of words[first:last]; trimmed from the end if the real count disagrees."""
    while True:
        start, end = words[first][0], words[last - 1][1]
        slice_text = text[start:end]
        tokens = count([slice_text])[0]
        if tokens <= budget or last - first == 1:
            return Piece(start, end, slice_text, tokens)
        last -= 1


def _words_in(piece: Piece, words: list[tuple[int, int]], first: int) -> int:
    n = 0
    while first + n < len(words) and words[first + n][1] <= piece.end:
        n += 1
    return n


def _overlap_start(costs: list[int], boundary: list[bool], covered: int, overlap: int, floor: int) -> int:
    """First word of the next piece: repeat at most ``overlap`` tokens, from a sentence start if possible.

    Never before ``floor`` (one past the previous piece's first word), so pieces always advance.
    """
    start, total = covered, 0
    best = covered
    while start > floor and total + costs[start - 1] <= overlap:
        start -= 1
        total += costs[start]
        if boundary[start - 1]:
            best = start
    return best if best < covered else start


def chunk_document(document: Document, budget: int, overlap: int, count: TokenCounter) -> list[Chunk]:
    """Chunks of one document, numbered in reading order."""
    chunks: list[Chunk] = []
    for section in sections_of(document.blocks):
        for piece in split_section(section.text, budget, overlap, count):
            chunks.append(
                Chunk(
                    doc_id=document.doc_id,
                    chunk_no=len(chunks),
                    text=piece.text,
                    section_path=section.path,
                    token_count=piece.tokens,
                    content_hash=hashlib.sha256(
                        "\x1f".join((document.title, *section.path, piece.text)).encode()
                    ).hexdigest(),
                    doc_hash=document.content_hash,
                    article_id=document.article_id,
                    title=document.title,
                    url=document.url,
                    tenant=document.tenant,
                    product=document.product,
                    locale=document.locale,
                    updated_at=document.updated_at,
                    source_path=document.source_path,
                    format=document.format,
                )
            )
    return chunks


@cache
def _tokenizer(model_path: str) -> Any:
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(model_path, local_files_only=True)


def _unpadded_backend(tokenizer: Any) -> Any:
    """A copy of a fast tokenizer's backend with padding and truncation off, or None.

    The model's tokenizer.json pads and truncates to its sequence length; a count must
    see every token, and only transformers' own call switches those off per call.
    """
    backend = getattr(tokenizer, "backend_tokenizer", None)
    if backend is None:
        return None
    from tokenizers import Tokenizer

    copy = Tokenizer.from_str(backend.to_str())
    copy.no_padding()
    copy.no_truncation()
    return copy


def hf_token_counter(model_path: str) -> TokenCounter:
    """Count tokens (without special tokens) with the tokenizer of the model at ``model_path``."""
    tokenizer = _tokenizer(model_path)
    # A fast tokenizer's Rust backend counts the same tokens at a fraction of the cost of
    # transformers' batch wrapper, which builds Python lists of every id and offset.
    backend = _unpadded_backend(tokenizer)

    def count(texts: Sequence[str]) -> list[int]:
        if not texts:
            return []
        if backend is not None:
            return [len(encoding.ids) for encoding in backend.encode_batch(list(texts), add_special_tokens=False)]
        encoded = tokenizer(list(texts), add_special_tokens=False)["input_ids"]
        return [len(ids) for ids in encoded]

    return count
