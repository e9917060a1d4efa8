"""Shared fixtures: real components on small real data."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from ingest.chunking import TokenCounter, hf_token_counter
from ingest.pipeline import embedding_model_path
from ingest.settings import IngestSettings
from ui.settings import AppSettings

if TYPE_CHECKING:
    from ui.wiring import Retrieval

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


@pytest.fixture(scope="session")
def sample_state(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data dir holding the whole sample help center, ingested once per test session (closed again)."""
    from ui.wiring import ingest_paths

    state = tmp_path_factory.mktemp("samples") / "state"
    run = ingest_paths([HELPCENTER], AppSettings.load(state))
    assert run.sync.chunks_added > 0
    return state


@pytest.fixture(scope="session")
def sample_copy(sample_state: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the indexed samples' data dir, for a subprocess (the embedded index has one owner at a time)."""
    target = tmp_path_factory.mktemp("samples-copy") / "state"
    shutil.copytree(sample_state, target)
    return target


@pytest.fixture(scope="session")
def samples(sample_state: Path, sample_copy: Path) -> Iterator[Retrieval]:
    """The indexed sample help center, opened once for the session."""
    from ui.wiring import Retrieval

    with Retrieval(AppSettings.load(sample_state)) as retrieval:
        yield retrieval


def golden_items() -> list[dict[str, Any]]:
    """The golden questions of data/samples/golden.jsonl."""
    return [json.loads(line) for line in (SAMPLES / "golden.jsonl").read_text(encoding="utf-8").splitlines()]
