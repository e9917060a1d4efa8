"""Chunking properties, checked with hypothesis against the real tokenizer."""

from __future__ import annotations

import itertools
import re

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ingest.chunking import TokenCounter, chunk_document, sections_of, split_section
from ingest.normalize import content_hash
from ingest.records import Block, Document

WORDS = st.sampled_from(
    [
        "refund",
        "invoice",
        "Settings",
        ">",
        "Billing",
        "click",
        "the",
        "plan",
        "annual",
        "monthly",
        "2FA",
        "recovery",
        "code",
        "e-mail",
        "Zahlung",
        "über",
        "naïve",
        "https://help.ledgerly.example/hc/en/articles/LED-1014",
        "42",
        "$29.00",
        "supercalifragilisticexpialidocious",
        "unbelievably-long-hyphenated-compound-word-for-testing",
    ]
)
SENTENCE = st.lists(WORDS, min_size=1, max_size=40).map(lambda ws: " ".join(ws) + ".")
TEXT = st.lists(st.lists(SENTENCE, min_size=1, max_size=6).map(" ".join), min_size=1, max_size=8).map("\n".join)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=TEXT, budget=st.integers(16, 200), overlap_share=st.floats(0, 0.5))
def test_pieces_fit_budget_and_cover_text_in_order(
    token_counter: TokenCounter, text: str, budget: int, overlap_share: float
) -> None:
    overlap = int(budget * overlap_share)
    pieces = split_section(text, budget, overlap, token_counter)
    assert pieces
    for piece in pieces:
        assert piece.text == text[piece.start : piece.end]
        assert piece.tokens == token_counter([piece.text])[0] <= budget
    starts = [p.start for p in pieces]
    ends = [p.end for p in pieces]
    assert starts == sorted(set(starts)), "pieces start strictly in order"
    assert ends == sorted(set(ends)), "pieces end strictly in order"
    covered = [False] * len(text)
    for piece in pieces:
        covered[piece.start : piece.end] = [True] * (piece.end - piece.start)
    assert all(covered[i] for i, ch in enumerate(text) if not ch.isspace()), "every character is in some piece"


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=TEXT, budget=st.integers(32, 128))
def test_overlap_repeats_at_most_the_overlap(token_counter: TokenCounter, text: str, budget: int) -> None:
    overlap = budget // 4
    pieces = split_section(text, budget, overlap, token_counter)
    for before, after in itertools.pairwise(pieces):
        if after.start < before.end:
            shared = text[after.start : before.end]
            assert token_counter([shared])[0] <= overlap


def test_sections_follow_headings() -> None:
    blocks = [
        Block("text", "Intro.", ("Billing",)),
        Block("heading", "Refunds", ("Billing",)),
        Block("text", "Annual plans are refunded.", ("Billing", "Refunds")),
        Block("list", "Open Settings.", ("Billing", "Refunds")),
        Block("heading", "Cancel", ("Billing",)),
        Block("text", "Cancel any time.", ("Billing", "Cancel")),
    ]
    sections = sections_of(blocks)
    assert [(s.path, s.text) for s in sections] == [
        (("Billing",), "Intro."),
        (("Billing", "Refunds"), "Refunds\nAnnual plans are refunded.\nOpen Settings."),
        (("Billing", "Cancel"), "Cancel\nCancel any time."),
    ]


def test_chunks_carry_section_path_and_metadata(token_counter: TokenCounter) -> None:
    body = " ".join(f"Sentence {i} explains how refunds of annual plans work." for i in range(80))
    blocks = (
        Block("heading", "Refunds", ("Billing",)),
        Block("text", body, ("Billing", "Refunds")),
    )
    document = Document(
        doc_id="d.md", source_path="d.md", format="md", article_id="LED-1", title="Refund policy",
        url="https://x.example/1", tenant="t", product="p", locale="en", section="Billing",
        updated_at="2026-01-01", blocks=blocks, content_hash=content_hash("Refund policy", blocks),
    )  # fmt: skip
    chunks = chunk_document(document, budget=96, overlap=16, count=token_counter)
    assert len(chunks) > 3
    assert [c.chunk_no for c in chunks] == list(range(len(chunks)))
    assert all(c.section_label == "Billing > Refunds" and c.tenant == "t" and c.token_count <= 96 for c in chunks)
    assert len({c.content_hash for c in chunks}) == len(chunks)
    numbers = [int(n) for c in chunks for n in re.findall(r"Sentence (\d+)", c.text)]
    assert set(numbers) == set(range(80)) and numbers == sorted(numbers)


def test_token_counter_counts_every_token_like_the_models_tokenizer(token_counter: TokenCounter) -> None:
    """No padding to, and no truncation at, the model's sequence length: a count is the real length."""
    from transformers import AutoTokenizer

    from ingest.pipeline import embedding_model_path
    from ingest.settings import IngestSettings

    tokenizer = AutoTokenizer.from_pretrained(embedding_model_path(IngestSettings()), local_files_only=True)
    texts = ["Hi", "Open Settings > Billing.", " ".join(["reconciliation"] * 300)]
    expected = [len(ids) for ids in tokenizer(texts, add_special_tokens=False)["input_ids"]]
    assert token_counter(texts) == expected
    assert expected[0] == 1 and expected[2] >= 300  # past the model's 256-token sequence length
