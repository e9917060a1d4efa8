"""The redaction worker process gives exactly what in-process redaction gives."""

from __future__ import annotations

from pathlib import Path

from ingest.parallel import MIN_DOCUMENTS_FOR_WORKER, process_documents
from ingest.pipeline import IngestPipeline
from ingest.settings import IngestSettings
from tests.conftest import HELPCENTER


def test_worker_output_matches_in_process(tmp_path: Path) -> None:
    events: list[str] = []
    worker_side = IngestPipeline(IngestSettings(data_dir=tmp_path / "a"))
    documents = worker_side.prepare([HELPCENTER / "ledgerly"]).documents
    assert len(documents) >= MIN_DOCUMENTS_FOR_WORKER
    from_worker = list(
        process_documents(
            worker_side,
            documents,
            on_worker_start=lambda: events.append("start"),
            on_worker_done=lambda: events.append("done"),
        )
    )
    in_process = list(
        process_documents(IngestPipeline(IngestSettings(data_dir=tmp_path / "b")), documents, use_worker=False)
    )
    assert events == ["start", "done"]
    assert [p.document.doc_id for p in from_worker] == [d.doc_id for d in documents]
    assert from_worker == in_process
    # The worker filled the redaction cache: a second pass needs no worker.
    again = list(process_documents(worker_side, documents, on_worker_start=lambda: events.append("again")))
    assert again == in_process and events == ["start", "done"]
