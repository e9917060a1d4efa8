"""The ingest process pool gives exactly what loading, redacting and chunking in-process gives."""

from __future__ import annotations

from pathlib import Path

from ingest.parallel import MIN_TASKS_FOR_POOL, prepare_and_process
from ingest.pipeline import IngestPipeline
from ingest.settings import IngestSettings
from tests.conftest import HELPCENTER, SAMPLES


def test_pool_output_matches_in_process_and_fills_the_caches(tmp_path: Path) -> None:
    paths = [HELPCENTER / "ledgerly", SAMPLES / "bad"]
    pooled = IngestPipeline(IngestSettings(data_dir=tmp_path / "a", ingest_processes=2))
    stages: list[str] = []
    prepared, processed = prepare_and_process(pooled, paths, progress=lambda stage, *_: stages.append(stage))
    assert len(prepared.documents) >= MIN_TASKS_FOR_POOL
    assert pooled._redactor is None, "redaction ran in the pool, not in this process"
    assert "load" in stages  # each file is redacted and chunked as it is loaded, in the pool

    alone = IngestPipeline(IngestSettings(data_dir=tmp_path / "b", ingest_processes=1))
    expected = prepare_and_process(alone, paths)
    assert (prepared, processed) == expected
    assert {Path(s.path).name for s in prepared.skipped} >= {"corrupt.pdf", "notes.xyz", "empty.md"}
    assert all(Path(s.path).name in s.reason for s in prepared.skipped), "each reason names its file"
    assert [p.document for p in processed] == list(prepared.documents)

    # The processes filled the caches: a re-run loads, redacts and chunks nothing.
    again = IngestPipeline(IngestSettings(data_dir=tmp_path / "a", ingest_processes=2))
    stages.clear()
    assert prepare_and_process(again, paths, progress=lambda stage, *_: stages.append(stage)) == expected
    assert again._redactor is None and again._token_counter is None
    assert "redact+chunk" not in stages
