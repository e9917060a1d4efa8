"""Incremental sync with the real pipeline, embedding model and Qdrant Edge."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

from sqlalchemy import func, select

from retrieval.store import EmbeddingRow, Manifest, engine_for
from ui.settings import AppSettings
from ui.wiring import Retrieval, ingest_paths


def _state(settings: AppSettings) -> tuple[set[str], set[str], dict[str, tuple[str, ...]]]:
    """(index ids, manifest ids, manifest by doc) of the data dir."""
    manifest = Manifest(engine_for(settings.retrieval.resolved_database_url()), settings.retrieval.collection)
    entries = {doc: e.point_ids for doc, e in manifest.entries().items()}
    with Retrieval(settings) as retrieval:
        ids = retrieval.index.ids()
    return ids, {p for pids in entries.values() for p in pids}, entries


def _cached_embeddings(settings: AppSettings) -> int:
    with engine_for(settings.retrieval.resolved_database_url()).connect() as connection:
        return int(connection.execute(select(func.count()).select_from(EmbeddingRow)).scalar_one())


def test_unchanged_rerun_costs_no_embedding(small_corpus: Path, app_settings: AppSettings) -> None:
    first = ingest_paths([small_corpus], app_settings)
    assert first.sync.documents_added == 5 and first.sync.chunks_added > 10
    again = ingest_paths([small_corpus], app_settings)
    assert again.sync.embeddings_computed == 0 and again.sync.embeddings_cached == 0
    assert again.sync.documents_unchanged == 5 and again.sync.chunks_unchanged == first.sync.chunks_added
    ids, manifest_ids, _ = _state(app_settings)
    assert ids == manifest_ids and len(ids) == first.sync.chunks_added


def test_edit_replaces_only_that_documents_chunks(small_corpus: Path, app_settings: AppSettings) -> None:
    ingest_paths([small_corpus], app_settings)
    _, _, before = _state(app_settings)
    page = small_corpus / "ledgerly/plans-billing/refund-policy.md"
    page.write_text(
        page.read_text(encoding="utf-8") + "\n\n## Gift cards\n\nGift cards are never refunded.\n",
        encoding="utf-8",
    )
    run = ingest_paths([small_corpus], app_settings)
    _, _, after = _state(app_settings)
    changed = {doc for doc in after if after[doc] != before.get(doc)}
    assert changed == {"ledgerly/plans-billing/refund-policy.md"}
    assert run.sync.documents_updated == 1 and run.sync.documents_unchanged == 4
    assert run.sync.embeddings_computed <= 3, "only the changed tail is embedded again"
    with Retrieval(app_settings) as retrieval:
        texts = [p["text"] for p in retrieval.index.payloads()]
    assert any("Gift cards are never refunded." in t for t in texts)


def test_deleted_file_disappears_from_the_index(small_corpus: Path, app_settings: AppSettings) -> None:
    ingest_paths([small_corpus], app_settings)
    (small_corpus / "parcelpoint/billing/billing-invoices-and-refunds.md").unlink()
    run = ingest_paths([small_corpus], app_settings)
    assert run.sync.documents_deleted == 1 and run.sync.chunks_deleted > 0
    ids, manifest_ids, entries = _state(app_settings)
    assert ids == manifest_ids
    assert not any(doc.startswith("parcelpoint/") for doc in entries)
    with Retrieval(app_settings) as retrieval:
        assert {p["tenant"] for p in retrieval.index.payloads()} == {"ledgerly"}


def test_ingesting_one_folder_does_not_delete_another(small_corpus: Path, app_settings: AppSettings) -> None:
    ingest_paths([small_corpus / "ledgerly"], app_settings)
    ingest_paths([small_corpus / "parcelpoint"], app_settings)
    _, _, entries = _state(app_settings)
    assert len(entries) == 5


def test_file_that_breaks_keeps_its_last_good_chunks(small_corpus: Path, app_settings: AppSettings) -> None:
    ingest_paths([small_corpus], app_settings)
    page = small_corpus / "ledgerly/accounts-login/reset-your-password.md"
    page.write_bytes(b"\xff\xfe broken \x00 bytes")
    run = ingest_paths([small_corpus], app_settings)
    assert [s.path for s in run.result.skipped] == [str(page)]
    assert run.sync.documents_deleted == 0
    assert "ledgerly/accounts-login/reset-your-password.md" in _state(app_settings)[2]


def _ingest_and_die(corpus: Path, settings: AppSettings, patch: str, env: dict[str, str] | None = None) -> None:
    """Ingest ``corpus`` in a child process whose ``patch`` code calls os._exit(9) partway (no cleanup)."""
    script = "\n".join(
        [
            "import os",
            "from pathlib import Path",
            "from retrieval.index import EdgeIndex",
            "from ui.settings import AppSettings",
            "from ui.wiring import ingest_paths",
            textwrap.dedent(patch),
            f"ingest_paths([Path({str(corpus)!r})], AppSettings.load(Path({str(settings.ingest.data_dir)!r})))",
        ]
    )
    child_env = {**os.environ, **(env or {}), "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    child = subprocess.run([sys.executable, "-c", script], env=child_env, capture_output=True, text=True, timeout=600)
    assert child.returncode == 9, child.stderr[-2000:]


_DIE_AFTER_SECOND_UPSERT = """
    calls = 0
    original = EdgeIndex.upsert

    def upsert_then_die(self, points):
        global calls
        original(self, points)
        calls += 1
        if calls == 2:
            os._exit(9)

    EdgeIndex.upsert = upsert_then_die
"""


def test_run_killed_midway_leaves_a_consistent_index_and_next_run_completes(
    small_corpus: Path, app_settings: AppSettings
) -> None:
    """Documents are written one per group; the child dies right after the second group's upsert."""
    _ingest_and_die(small_corpus, app_settings, _DIE_AFTER_SECOND_UPSERT, {"DESKPILOT_INDEX_WRITE_BATCH": "1"})
    ids, manifest_ids, entries = _state(app_settings)
    assert manifest_ids <= ids, "the manifest never names a point the index lacks"
    assert len(entries) == 1, "the run died after committing the first document"
    orphans = ids - manifest_ids
    assert orphans, "the second document's points were written but never committed"
    # How many documents were embedded before the kill depends on how fast the redaction worker fed them.
    embedded_before_kill = _cached_embeddings(app_settings)
    assert embedded_before_kill >= len(ids)
    run = ingest_paths([small_corpus], app_settings)
    ids, manifest_ids, entries = _state(app_settings)
    assert ids == manifest_ids and len(entries) == 5
    assert run.sync.orphans_removed == len(orphans)
    assert run.sync.documents_unchanged == 1 and run.sync.documents_added == 4
    assert run.sync.embeddings_cached >= len(orphans), "embeddings made before the kill are reused from the cache"
    assert _cached_embeddings(app_settings) == embedded_before_kill + run.sync.embeddings_computed


def test_run_killed_before_deleting_stale_points_leaves_only_orphans(
    small_corpus: Path, app_settings: AppSettings
) -> None:
    """An edit drops a document's last section; the child dies after committing the manifest, before the delete."""
    ingest_paths([small_corpus], app_settings)
    page = small_corpus / "ledgerly/plans-billing/refund-policy.md"
    text = page.read_text(encoding="utf-8")
    page.write_text(text[: text.rindex("\n## ")], encoding="utf-8")
    die_on_delete = """
        def die(self, ids):
            if ids:
                os._exit(9)

        EdgeIndex.delete = die
    """
    _ingest_and_die(small_corpus, app_settings, die_on_delete)
    ids, manifest_ids, _ = _state(app_settings)
    assert manifest_ids <= ids, "the manifest never names a point the index lacks"
    stale = ids - manifest_ids
    assert stale and all(len(pid) == 36 for pid in stale)
    run = ingest_paths([small_corpus], app_settings)
    ids, manifest_ids, _ = _state(app_settings)
    assert ids == manifest_ids
    assert run.sync.orphans_removed == len(stale) and run.sync.documents_unchanged == 5
