"""PII redaction: precision and recall per entity type on the labelled inbox fixture."""

from __future__ import annotations

import json
from collections import defaultdict

import pytest

from ingest.redact import Redactor
from ingest.settings import IngestSettings
from tests.conftest import SAMPLES

STRUCTURED = ("CREDIT_CARD", "EMAIL_ADDRESS", "PHONE_NUMBER", "IBAN_CODE", "IP_ADDRESS")


@pytest.fixture(scope="module")
def redactor() -> Redactor:
    return Redactor(IngestSettings())


def _fixture() -> list[dict]:
    lines = (SAMPLES / "pii_labels.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def _scores(redactor: Redactor) -> dict[str, dict[str, float]]:
    """Per type: recall (a labelled span overlapped by a prediction of its type) and precision."""
    found = defaultdict(int)
    labelled = defaultdict(int)
    predicted = defaultdict(int)
    correct = defaultdict(int)
    for item in _fixture():
        spans = redactor.find(item["text"])
        for label in item["spans"]:
            kind = label["entity_type"]
            labelled[kind] += 1
            if any(s.entity_type == kind and s.start < label["end"] and s.end > label["start"] for s in spans):
                found[kind] += 1
        for span in spans:
            predicted[span.entity_type] += 1
            if any(
                label["entity_type"] == span.entity_type and span.start < label["end"] and span.end > label["start"]
                for label in item["spans"]
            ):
                correct[span.entity_type] += 1
    kinds = sorted(set(labelled) | set(predicted))
    return {
        k: {
            "labelled": labelled[k],
            "recall": found[k] / labelled[k] if labelled[k] else float("nan"),
            "precision": correct[k] / predicted[k] if predicted[k] else float("nan"),
        }
        for k in kinds
    }


def test_fixture_is_large_enough() -> None:
    assert sum(len(item["spans"]) for item in _fixture()) >= 100


def test_structured_types_reach_recall_095(redactor: Redactor, capsys: pytest.CaptureFixture[str]) -> None:
    scores = _scores(redactor)
    with capsys.disabled():
        print("\nPII redaction on data/samples/pii_labels.jsonl")
        print(f"{'entity':<16}{'labelled':>9}{'recall':>9}{'precision':>11}")
        for kind, row in scores.items():
            print(f"{kind:<16}{row['labelled']:>9}{row['recall']:>9.3f}{row['precision']:>11.3f}")
    for kind in STRUCTURED:
        assert scores[kind]["labelled"] >= 10, kind
        assert scores[kind]["recall"] >= 0.95, (kind, scores[kind])
        assert scores[kind]["precision"] >= 0.8, (kind, scores[kind])


def test_names_do_not_regress(redactor: Redactor) -> None:
    """Names come from spaCy's small English NER: reported separately, not held to the 0.95 bar.

    Measured 0.49 recall on the fixture (2026-11-29); this guards against regressions only.
    """
    scores = _scores(redactor)
    assert scores["PERSON"]["recall"] >= 0.45, scores["PERSON"]


def test_redaction_uses_typed_placeholders(redactor: Redactor) -> None:
    result = redactor.redact("Reach me at maria.gonzalez@gmail.example or +44 20 7946 0958, card 4111 1111 1111 1111.")
    assert "<EMAIL_ADDRESS>" in result.text and "<PHONE_NUMBER>" in result.text and "<CREDIT_CARD>" in result.text
    assert "4111" not in result.text and "gmail" not in result.text
    assert result.counts == {"EMAIL_ADDRESS": 1, "PHONE_NUMBER": 1, "CREDIT_CARD": 1}


def test_help_center_ui_words_are_not_people(redactor: Redactor) -> None:
    text = "Click Save. Open Settings > Billing and choose Download PDF. Refresh the page. Connect Stripe first."
    assert redactor.redact(text).text == text


def test_german_text_gets_pattern_recognizers_only(redactor: Redactor) -> None:
    text = "Klicken Sie auf Speichern. Schreiben Sie an max@beispiel.example."
    assert redactor.redact(text, locale="de").text == "Klicken Sie auf Speichern. Schreiben Sie an <EMAIL_ADDRESS>."
