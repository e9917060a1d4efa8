"""No structured PII from the labelled inbox reaches the index payloads."""

from __future__ import annotations

import json

from tests.conftest import SAMPLES
from ui.settings import AppSettings
from ui.wiring import Retrieval, ingest_paths

NEVER_INDEXED = ("CREDIT_CARD", "EMAIL_ADDRESS", "PHONE_NUMBER", "IBAN_CODE", "IP_ADDRESS", "US_SSN")


def test_inbox_pii_never_reaches_payloads(app_settings: AppSettings) -> None:
    run = ingest_paths([SAMPLES / "inbox" / "eml"], app_settings)
    assert run.result.documents and not run.result.skipped
    with Retrieval(app_settings) as retrieval:
        stored = "\n".join(json.dumps(p, ensure_ascii=False) for p in retrieval.index.payloads())
    labels = [json.loads(line) for line in (SAMPLES / "pii_labels.jsonl").read_text(encoding="utf-8").splitlines()]
    values = {s["value"] for item in labels for s in item["spans"] if s["entity_type"] in NEVER_INDEXED}
    assert len(values) > 50
    leaked = sorted(v for v in values if v in stored)
    assert not leaked, leaked
    assert "<EMAIL_ADDRESS>" in stored and "<CREDIT_CARD>" in stored
