"""Files -> clean, deduplicated, PII-redacted, chunked `Chunk` records.

`ingest` knows no index: it turns help-center files into typed records that
`retrieval` indexes. See `ingest.pipeline.run_ingest`.
"""
