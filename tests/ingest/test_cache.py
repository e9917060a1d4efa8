"""The ingest cache holds only redacted text, keyed by content and redaction settings, and forgets removed files."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import pytest

from ingest.cache import SourceCache
from ingest.chunking import TokenCounter
from ingest.pipeline import IngestPipeline, redaction_fingerprint
from ingest.records import ArticleMeta
from ingest.settings import IngestSettings

EMAIL = "philippa.marchbanks@fernhollow-mail.example"
CARD = "4539 1488 0343 6467"
NAME = "Philippa Marchbanks"
ARTICLE = f"""---
id: LED-9100
title: Refunds for double charges
tenant: ledgerly
product: books
section: Billing
updated_at: 2026-06-01
---

# Refunds for double charges

A double charge is refunded to the card on file within 5 business days.

## An example request

I was charged twice on my card {CARD}. Please write to {EMAIL}.

Best regards,
{NAME}
"""
OTHER = """---
id: LED-9101
title: Change your invoice logo
tenant: ledgerly
product: books
section: Invoicing
updated_at: 2026-06-01
---

# Change your invoice logo

Open Settings > Invoices > Branding and upload a PNG or SVG file of at most 2 MB.
"""


@pytest.fixture()
def corpus(tmp_path: Path) -> Path:
    folder = tmp_path / "corpus"
    folder.mkdir()
    (folder / "double-charges.md").write_text(ARTICLE, encoding="utf-8")
    (folder / "invoice-logo.md").write_text(OTHER, encoding="utf-8")
    return folder


def _pipeline(data_dir: Path, token_counter: TokenCounter, **settings: object) -> IngestPipeline:
    return IngestPipeline(IngestSettings(data_dir=data_dir, **settings), token_counter)  # type: ignore[arg-type]


def _cache_bytes(data_dir: Path) -> bytes:
    return b"\n".join(p.read_bytes() for p in sorted((data_dir / "cache").rglob("*")) if p.is_file())


def test_only_redacted_text_is_cached(tmp_path: Path, corpus: Path, token_counter: TokenCounter) -> None:
    data_dir = tmp_path / "state"
    result = _pipeline(data_dir, token_counter).run([corpus])
    assert result.redactions.get("EMAIL_ADDRESS") and result.redactions.get("CREDIT_CARD")
    stored = _cache_bytes(data_dir)
    assert b"<EMAIL_ADDRESS>" in stored and b"<CREDIT_CARD>" in stored and b"<PERSON>" in stored
    for secret in (EMAIL, CARD, CARD.replace(" ", ""), NAME, "Marchbanks"):
        assert secret.encode() not in stored, secret
    entries = sorted((data_dir / "cache" / "sources").glob("*/*.json"))
    assert len(entries) == 2, "one entry per source file"
    assert all(oct(p.stat().st_mode & 0o777) == "0o600" for p in entries)


def test_rerun_is_served_from_the_cache_and_identical(
    tmp_path: Path, corpus: Path, token_counter: TokenCounter
) -> None:
    data_dir = tmp_path / "state"
    first = _pipeline(data_dir, token_counter).run([corpus])
    again = _pipeline(data_dir, token_counter)
    assert again.run([corpus]) == first
    assert again._redactor is None, "nothing was redacted again: the redacted outcome came from the cache"
    # The same documents and chunks as a run without any cache.
    assert _pipeline(tmp_path / "fresh", token_counter).run([corpus]) == first


def test_redaction_settings_and_content_key_the_cache(
    tmp_path: Path, corpus: Path, token_counter: TokenCounter
) -> None:
    data_dir = tmp_path / "state"
    _pipeline(data_dir, token_counter).run([corpus])
    path, root, overrides = corpus / "double-charges.md", corpus, ArticleMeta()
    assert _pipeline(data_dir, token_counter).load_cached(path, root, overrides) is not None
    allowing = _pipeline(data_dir, token_counter, pii_allow_list=("Marchbanks",))
    assert redaction_fingerprint(allowing.settings) != redaction_fingerprint(IngestSettings(data_dir=data_dir))
    assert allowing.load_cached(path, root, overrides) is None, "other redaction settings: not reused"
    fewer = _pipeline(data_dir, token_counter, pii_entities=("EMAIL_ADDRESS",))
    assert fewer.load_cached(path, root, overrides) is None

    # A changed file gets a new entry, which replaces the old one (whose documents left the index).
    source = str(path.resolve())
    directory = next(d for s, d in SourceCache(data_dir / "cache").sources() if s == source)
    before = {p.name for p in directory.glob("*.json")}
    path.write_text(ARTICLE.replace("5 business days", "7 business days"), encoding="utf-8")
    _pipeline(data_dir, token_counter).run([corpus])
    after = {p.name for p in directory.glob("*.json")}
    assert len(after) == 1 and after != before


def test_removed_files_and_old_caches_are_purged_at_sync(
    tmp_path: Path, corpus: Path, token_counter: TokenCounter
) -> None:
    data_dir = tmp_path / "state"
    legacy = data_dir / "cache" / "documents" / "ab"
    legacy.mkdir(parents=True)
    (legacy / "abcdef.json").write_text(f'{{"documents": [{{"text": "{EMAIL}"}}]}}', encoding="utf-8")
    pipeline = _pipeline(data_dir, token_counter)
    pipeline.run([corpus])
    assert not (data_dir / "cache" / "documents").exists(), "the raw cache of an earlier version is gone"
    cache = SourceCache(data_dir / "cache")
    assert cache.entries() == 2

    (corpus / "double-charges.md").unlink()
    result = pipeline.run([corpus])
    assert [d.article_id for d in result.documents] == ["LED-9101"]
    assert [s for s, _ in cache.sources()] == [str((corpus / "invoice-logo.md").resolve())]
    assert cache.entries() == 1


def test_source_cache_purges_by_source_and_keeps_writes_under_way(tmp_path: Path) -> None:
    cache = SourceCache(tmp_path / "cache")
    kept, gone = tmp_path / "kept.md", tmp_path / "gone.md"
    kept.write_text("x", encoding="utf-8")
    cache.put(str(kept), "k1", {"documents": []})
    cache.put(str(gone), "g1", {"documents": []})
    cache.put(str(gone), "g2", {"skip": "gone.md: empty file (0 bytes)"})
    assert cache.get(str(gone), "g1") is None and cache.get(str(gone), "g2") == {
        "skip": "gone.md: empty file (0 bytes)"
    }
    directory = next(d for s, d in cache.sources() if s == str(kept))
    fresh, stale = directory / "k2.json.1.tmp", directory / "k3.json.2.tmp"
    fresh.write_text("{}", encoding="utf-8")
    stale.write_text("{}", encoding="utf-8")
    an_hour_ago = time.time() - 2 * 3600
    os.utime(stale, (an_hour_ago, an_hour_ago))

    dry = cache.purge_missing(dry_run=True)
    assert (dry.sources, dry.entries) == (1, 1) and cache.entries() == 2
    report = cache.purge_missing()
    assert (report.sources, report.entries) == (1, 1)
    assert [s for s, _ in cache.sources()] == [str(kept)] and cache.get(str(kept), "k1") == {"documents": []}
    assert fresh.exists() and not stale.exists(), "a write under way is left alone, a crashed one removed"
    shutil.rmtree(cache.directory)
    assert cache.entries() == 0 and cache.purge_missing().sources == 0
