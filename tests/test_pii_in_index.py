"""No PII from the labelled inbox, nor the PII planted in the help center, reaches the index payloads."""

from __future__ import annotations

import json
import re

from retrieval.index import VectorIndex
from tests.conftest import SAMPLES
from ui.settings import AppSettings
from ui.wiring import Retrieval, ingest_paths

# Planted in the sample help center (data/samples/PLANTED.md, section e): a customer's email and
# IP, and the names, direct lines and personal addresses of employees and a customer.
PLANTED_PII = (
    "dana.whitfield@harborline-design.example",
    "198.51.100.73",
    "Hannah Okafor",
    "hannah.okafor@ledgerly.example",
    "Daniel Pretorius",
    "daniel.pretorius@pretorius-joinery.example",
    "+44 20 7946 0417",
    "Priya Raman",
    "priya.raman@ledgerly.example",
    "+44 20 7946 0958",
    "Marcus Bell",
    "marcus.bell@ledgerly.example",
    "+1 415 555 0142",
)
# Company contact points the same file names: they must stay.
COMPANY_CONTACTS = ("support@ledgerly.example", "privacy@ledgerly.example")


def _stored_text(index: VectorIndex) -> str:
    return "\n".join(json.dumps(p, ensure_ascii=False) for p in index.payloads())


def _leaked(values: set[str], stored: str) -> list[str]:
    """The values that occur in ``stored`` as whole words ("Tom" in "Tomorrow" is no leak)."""
    return sorted(v for v in values if re.search(rf"(?<!\w){re.escape(v)}(?!\w)", stored))


def test_inbox_pii_never_reaches_payloads(app_settings: AppSettings) -> None:
    """Every labelled span of every type: names and street addresses as well as the structured types."""
    run = ingest_paths([SAMPLES / "inbox" / "eml"], app_settings)
    assert run.result.documents and not run.result.skipped
    with Retrieval(app_settings) as retrieval:
        stored = _stored_text(retrieval.index)
    labels = [json.loads(line) for line in (SAMPLES / "pii_labels.jsonl").read_text(encoding="utf-8").splitlines()]
    values = {s["value"] for item in labels for s in item["spans"]}
    kinds = {s["entity_type"] for item in labels for s in item["spans"]}
    assert len(values) > 150 and {"PERSON", "STREET_ADDRESS"} <= kinds
    assert not _leaked(values, stored)
    for placeholder in ("<EMAIL_ADDRESS>", "<CREDIT_CARD>", "<PERSON>", "<STREET_ADDRESS>"):
        assert placeholder in stored, placeholder


def test_planted_help_center_pii_never_reaches_payloads(samples: Retrieval) -> None:
    stored = _stored_text(samples.index)
    assert not _leaked(set(PLANTED_PII), stored)
    assert all(contact in stored for contact in COMPANY_CONTACTS)
