"""Shared fixtures: real components on small real data."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from ingest.chunking import TokenCounter, hf_token_counter
from ingest.pipeline import embedding_model_path
from ingest.settings import IngestSettings
from ui.settings import AppSettings

REPO = Path(__file__).resolve().parent.parent
SAMPLES = REPO / "data" / "samples"
HELPCENTER = SAMPLES / "helpcenter"
BAD = SAMPLES / "bad"


@pytest.fixture(scope="session")
def token_counter() -> TokenCounter:
    """The embedding model's real tokenizer."""
    return hf_token_counter(embedding_model_path(IngestSettings()))


@pytest.fixture()
def app_settings(tmp_path: Path) -> AppSettings:
    """Settings with all state under a fresh temporary data dir."""
    return AppSettings.load(tmp_path / "state")


@pytest.fixture()
def small_corpus(tmp_path: Path) -> Path:
    """A few sample articles (md, html, txt with sidecar) copied to a folder tests may edit."""
    target = tmp_path / "corpus"
    picks = [
        "ledgerly/plans-billing/refund-policy.md",
        "ledgerly/accounts-login/reset-your-password.md",
        "ledgerly/plans-billing/compare-ledgerly-plans-starter-growth-and-scale.html",
        "ledgerly/plans-billing/why-was-my-card-declined.txt",
        "ledgerly/plans-billing/why-was-my-card-declined.txt.meta.json",
        "parcelpoint/billing/billing-invoices-and-refunds.md",
    ]
    for pick in picks:
        dest = target / pick
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(HELPCENTER / pick, dest)
    return target
