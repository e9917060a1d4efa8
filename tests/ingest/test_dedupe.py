"""Exact, superseded and near-duplicate removal; nothing is lost silently."""

from __future__ import annotations

import dataclasses

from ingest.dedupe import deduplicate
from ingest.normalize import content_hash
from ingest.records import Block, Document

BODY = [
    "Annual plans are refunded pro rata if you ask within 30 days of purchase or renewal.",
    "Monthly plans are not refunded, but you can cancel at any time and keep access until the period ends.",
    "Duplicate charges are always refunded in full, whatever your plan.",
    "Refunds go back to the original payment method within 5 to 10 business days.",
    "To ask for a refund, open Settings > Billing > Invoices and choose Request refund next to the charge.",
]


def make(
    doc_id: str,
    body: list[str],
    *,
    article_id: str | None = None,
    updated: str = "2026-05-01",
    tenant: str = "t1",
) -> Document:
    blocks = tuple(Block("text", text, ("Billing",)) for text in body)
    return Document(
        doc_id=doc_id,
        source_path=doc_id,
        format="md",
        article_id=article_id or doc_id,
        title="Refund policy",
        url="",
        tenant=tenant,
        product="p",
        locale="en",
        section="Billing",
        updated_at=updated,
        blocks=blocks,
        content_hash=content_hash("Refund policy", blocks),
    )


def test_exact_duplicate_in_another_format_is_dropped_and_recorded() -> None:
    a, b = make("a.md", BODY), dataclasses.replace(make("b.html", BODY), format="html")
    result = deduplicate([a, b], threshold=0.85)
    assert [d.doc_id for d in result.kept] == ["a.md"]
    (dup,) = result.duplicates
    assert (dup.doc_id, dup.duplicate_of, dup.kind, dup.similarity) == (
        "b.html",
        "a.md",
        "exact",
        1.0,
    )


def test_near_duplicate_keeps_the_newest_copy() -> None:
    old = make("export.html", [*BODY, "Last reviewed by the billing team in March."], updated="2026-03-01")
    new = make(
        "page.md",
        [*BODY, "Still stuck? Our billing team answers within a day."],
        updated="2026-03-02",
    )
    result = deduplicate([old, new], threshold=0.7)
    assert [d.doc_id for d in result.kept] == ["page.md"]
    (dup,) = result.duplicates
    assert dup.kind == "near" and dup.duplicate_of == "page.md" and 0.7 <= dup.similarity < 1.0


def test_different_documents_are_both_kept() -> None:
    other = [s.replace("refund", "invoice").replace("Refund", "Invoice") + " Extra words here." for s in BODY[:2]]
    result = deduplicate([make("a.md", BODY), make("b.md", other)], threshold=0.85)
    assert len(result.kept) == 2 and not result.duplicates


def test_superseded_version_of_an_article_is_recorded() -> None:
    old = make(
        "archive/pricing-2024.md",
        ["Pro costs $39 a month.", "Business costs $149."],
        article_id="PP-1",
        updated="2024-03-04",
    )
    new = make(
        "pricing.html",
        ["Pro costs $49 a month.", "Business costs $199."],
        article_id="PP-1",
        updated="2026-08-01",
    )
    result = deduplicate([old, new], threshold=0.85)
    assert [d.doc_id for d in result.kept] == ["pricing.html"]
    assert result.duplicates[0].kind == "superseded"
    assert result.duplicates[0].duplicate_of == "pricing.html"


def test_other_tenants_copies_are_never_merged() -> None:
    result = deduplicate([make("a.md", BODY, tenant="t1"), make("a2.md", BODY, tenant="t2")], threshold=0.85)
    assert len(result.kept) == 2


def test_nothing_is_lost_and_order_does_not_matter() -> None:
    docs = [
        make("a.md", BODY),
        make("b.md", BODY),
        make("c.md", [*BODY, "A changed footer line."], updated="2026-06-01"),
        make("d.md", ["Completely different text about shipping labels and carriers."]),
    ]
    forward = deduplicate(docs, threshold=0.8)
    backward = deduplicate(list(reversed(docs)), threshold=0.8)
    kept = {d.doc_id for d in forward.kept}
    dropped = {d.doc_id for d in forward.duplicates}
    assert kept | dropped == {d.doc_id for d in docs} and not kept & dropped
    assert all(d.duplicate_of in kept for d in forward.duplicates)
    assert kept == {d.doc_id for d in backward.kept}
    assert sorted(forward.duplicates, key=lambda d: d.doc_id) == sorted(backward.duplicates, key=lambda d: d.doc_id)
