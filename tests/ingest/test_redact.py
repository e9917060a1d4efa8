"""PII redaction: precision and recall per entity type on the labelled inbox fixture."""

from __future__ import annotations

import json
from collections import defaultdict

import pytest

from ingest.records import Block
from ingest.redact import Redactor
from ingest.settings import IngestSettings
from tests.conftest import REPO, SAMPLES

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


def test_names_and_addresses_reach_recall_095(redactor: Redactor) -> None:
    """Names and street addresses come from rules (ingest/names.py, ingest/addresses.py), not NER.

    spaCy's small English NER alone found 0.49 of the fixture's names (2026-11-29). The rules were
    written against this fixture, so the bar here guards them; the help center's planted names,
    which they were not written against, are checked in tests/test_pii_in_index.py.
    """
    scores = _scores(redactor)
    for kind in ("PERSON", "STREET_ADDRESS"):
        assert scores[kind]["recall"] >= 0.95, (kind, scores[kind])
        assert scores[kind]["precision"] >= 0.85, (kind, scores[kind])


@pytest.mark.parametrize(
    ("text", "names"),
    [
        ("Hi Gareth,\n\nThanks for the logs.", ["Gareth"]),
        ("It works now.\n\nKind regards,\nEleni Papadopoulou\nAegean Words", ["Eleni Papadopoulou"]),
        ("Many thanks, Rhys Morgan-Tate Director, Morgan-Tate Architects", ["Rhys Morgan-Tate Director"]),
        ("Name: Dr. Markus Vogel\nE-Mail: m.vogel@posteo.example", ["Markus Vogel"]),
        ('{"customer": {"name": "Jan Kowalczyk", "id": 7}}', ["Jan Kowalczyk"]),
        ("Our office manager Sean Gallagher signed in. Later Sean signed out.", ["Sean Gallagher", "Sean"]),
        ("Ask Femke de Vries (femke.devries@kpn.example) first.", ["Femke de Vries"]),
        ("Mit freundlichen Grüßen\n\nSabine Krämer\nBuchhaltung", ["Sabine Krämer"]),
    ],
)
def test_name_rules_find_people_where_mail_names_them(redactor: Redactor, text: str, names: list[str]) -> None:
    found = [text[s.start : s.end] for s in redactor.find(text) if s.entity_type == "PERSON"]
    assert found == names


@pytest.mark.parametrize(
    "text",
    [
        "Thanks, Stripe handles the payout. Best practice: keep one bank feed per account.",
        "Hello Ledgerly team, where is Settings > Team?",
        "Regards,\nThe Parcelpoint Team",
        "Open Crescent Clay Ceramics in the customer list and choose Edit.",
    ],
)
def test_name_rules_leave_help_center_text_alone(redactor: Redactor, text: str) -> None:
    assert [s for s in redactor.find(text, allow=("ledgerly", "parcelpoint")) if s.entity_type == "PERSON"] == []


@pytest.mark.parametrize(
    ("text", "address"),
    [
        ("Ship to 1290 Cedar Lane, Apt 3B, Raleigh, NC 27601 please.", "1290 Cedar Lane, Apt 3B, Raleigh, NC 27601"),
        (
            "Our office is at Brouwersgracht 118-2, 1013 HB Amsterdam if needed",
            "Brouwersgracht 118-2, 1013 HB Amsterdam",
        ),
        (
            "The customer, Margaret Ellis, 58 Birchwood Avenue, Leeds LS6 2QT, emailed.",
            "58 Birchwood Avenue, Leeds LS6 2QT",
        ),
        ("Lieferung an Leopoldstraße 88, 80802 München.", "Leopoldstraße 88, 80802 München"),
    ],
)
def test_addresses_run_from_street_to_postcode(redactor: Redactor, text: str, address: str) -> None:
    found = [text[s.start : s.end] for s in redactor.find(text) if s.entity_type == "STREET_ADDRESS"]
    assert found == [address]


def test_a_postcode_shape_without_a_street_is_no_address(redactor: Redactor) -> None:
    text = "See Reports, 2024 Summary for totals, and Invoices, 1013 Drafts for the rest."
    assert [s for s in redactor.find(text) if s.entity_type == "STREET_ADDRESS"] == []


def test_role_mailboxes_stay_personal_ones_go(redactor: Redactor) -> None:
    text = "Write to support@ledgerly.example or privacy@ledgerly.example, not dana.whitfield@harborline.example."
    assert redactor.redact(text).text == (
        "Write to support@ledgerly.example or privacy@ledgerly.example, not <EMAIL_ADDRESS>."
    )


def test_overlapping_matches_are_redacted_whole(redactor: Redactor) -> None:
    """An address and a phone number that share a digit run leave neither part in clear."""
    text = "Raymond Fitzgerald\n77 Old Mill Road, Bangor, ME 04401\n207-555-0144"
    redacted = redactor.redact(text).text
    assert "04401" not in redacted and "0144" not in redacted and "Old Mill" not in redacted


def test_redaction_uses_typed_placeholders(redactor: Redactor) -> None:
    result = redactor.redact("Reach me at maria.gonzalez@gmail.example or +44 20 7946 0958, card 4111 1111 1111 1111.")
    assert "<EMAIL_ADDRESS>" in result.text and "<PHONE_NUMBER>" in result.text and "<CREDIT_CARD>" in result.text
    assert "4111" not in result.text and "gmail" not in result.text
    assert result.counts == {"EMAIL_ADDRESS": 1, "PHONE_NUMBER": 1, "CREDIT_CARD": 1}


def test_help_center_ui_words_are_not_people(redactor: Redactor) -> None:
    text = "Click Save. Open Settings > Billing and choose Download PDF. Refresh the page. Connect Stripe first."
    assert redactor.redact(text).text == text


def test_german_text_gets_no_statistical_names(redactor: Redactor) -> None:
    text = "Klicken Sie auf Speichern. Schreiben Sie an max@beispiel.example."
    assert redactor.redact(text, locale="de").text == "Klicken Sie auf Speichern. Schreiben Sie an <EMAIL_ADDRESS>."


def test_optional_ner_adds_names_in_running_prose() -> None:
    """With DESKPILOT_PII_NER on, spaCy's NER also finds a name that no rule's context names."""
    text = "Yesterday Kenji Watanabe retried the export and it worked."
    without = Redactor(IngestSettings(), statistical=None)
    with_ner = Redactor(IngestSettings(pii_ner=True), statistical=None)
    assert [s for s in without.find(text) if s.entity_type == "PERSON"] == []
    assert [text[s.start : s.end] for s in with_ner.find(text) if s.entity_type == "PERSON"] == ["Kenji Watanabe"]


# ---------------------------------------------------------------- policies, new types, look-alikes


def _lookalikes() -> list[tuple[str, str, str]]:
    rows = []
    for line in (REPO / "data" / "pii" / "lookalikes.tsv").read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            category, locale, text = line.split("\t", 2)
            rows.append((category, locale, text.replace("\\n", "\n")))
    return rows


def test_lookalike_suite_is_large_enough() -> None:
    rows = _lookalikes()
    assert len(rows) >= 100 and len({category for category, _, _ in rows}) >= 15


@pytest.mark.parametrize("kind", ["customer", "content"])
def test_no_lookalike_is_redacted(redactor: Redactor, kind: str) -> None:
    """Versions, order ids, de/fr/es dates, prices, VAT and routing numbers, brands named after people,
    places named after streets, months, headings and German nouns all stay (data/pii/lookalikes.tsv)."""
    redacted = [
        (text, [text[s.start : s.end] for s in redactor.find(text, locale, ("Ledgerly", "Parcelpoint"), kind)])
        for _, locale, text in _lookalikes()
    ]
    assert [(text, found) for text, found in redacted if found] == []


@pytest.mark.parametrize(
    ("text", "locale"),
    [
        ("Best Practices for Moderating Course Discussions", "en"),
        ("Grant Access to the Gradebook", "en"),
        ("Ist die Zwei-Faktor-Authentifizierung aktiviert? Öffnen Sie Sicherheit > Anmeldung.", "de"),
        ("Die Vorschau von Export zeigt alle Belege. Wählen Sie Mahnwesen und dann Vorlagen.", "de"),
        ("Bonjour,\n\nCordialement,\nL'équipe Facturation", "fr"),
        ("Thanks,\nThe Analytics Team", "en"),
        ("Kind regards,\nCustomer Success", "en"),
    ],
)
def test_content_policy_never_redacts_product_heading_or_german_words(
    redactor: Redactor, text: str, locale: str
) -> None:
    assert redactor.find(text, locale, kind="content") == []


def test_content_policy_keeps_names_an_address_confirms(redactor: Redactor) -> None:
    text = "Escalations go to our lead, Wendell Abernathy (wendell.abernathy@ledgerly.example), on weekdays."
    found = [(s.entity_type, text[s.start : s.end]) for s in redactor.find(text, kind="content")]
    assert ("PERSON", "Wendell Abernathy") in found and ("EMAIL_ADDRESS", "wendell.abernathy@ledgerly.example") in found


def test_content_policy_keeps_documentation_example_numbers(redactor: Redactor) -> None:
    text = "Enter your mobile number with the country code, for example +44 7700 900123, and click Send."
    assert redactor.find(text, kind="content") == []
    assert [s.entity_type for s in redactor.find(text, kind="customer")] == ["PHONE_NUMBER"]


@pytest.mark.parametrize(
    ("text", "locale", "names"),
    [
        ("[09:14] Halldóra Björnsdóttir: the sync stopped again", "en", ["Halldóra Björnsdóttir"]),
        ("Kundin: Guten Tag, mein Name ist Rosemarie Pfannkuch.", "de", ["Rosemarie Pfannkuch"]),
        ("Client : bonjour, je m'appelle Apolline Mazurier", "fr", ["Apolline Mazurier"]),
        ("Hola, me llamo Eustaquio Berrocal y no puedo entrar.", "es", ["Eustaquio Berrocal"]),
        ("Cognome: Sciacchitano\nNome: Rosalia", "it", ["Sciacchitano", "Rosalia"]),
        ("Pozdrawiam serdecznie,\nZdzisława Kołodziejczyk", "pl", ["Zdzisława Kołodziejczyk"]),
        ("Ik heb gisteren gesproken met Geertruida Oudshoorn over de factuur.", "nl", ["Geertruida Oudshoorn"]),
    ],
)
def test_customer_policy_finds_names_where_customers_write_them(
    redactor: Redactor, text: str, locale: str, names: list[str]
) -> None:
    found = [text[s.start : s.end] for s in redactor.find(text, locale, kind="customer") if s.entity_type == "PERSON"]
    assert found == names


def test_new_types_are_redacted_in_customer_text(redactor: Redactor) -> None:
    text = "Verification: born 09/10/1971, customer number 88-412-907, card 4556 7375 8689 9855."
    redacted = redactor.redact(text, kind="customer")
    assert redacted.text == (
        "Verification: born <DATE_OF_BIRTH>, customer number <ACCOUNT_NUMBER>, card <CREDIT_CARD>."
    )


@pytest.mark.parametrize(
    ("text", "address"),
    [
        ("Nova morada: Rua do Almada 312, 4050-032 Porto.", "Rua do Almada 312, 4050-032 Porto"),
        ("Proszę wysłać na ul. Mickiewicza 7/12, 31-120 Kraków.", "ul. Mickiewicza 7/12, 31-120 Kraków"),
        ("Envoyez-le au 21 rue de la Paix, 75002 Paris.", "21 rue de la Paix, 75002 Paris"),
        ("Our office: 5 Kent Street, Sydney NSW 2000", "5 Kent Street, Sydney NSW 2000"),
        (
            "Ship to:\n800 Brickell Ave, Suite 12\nMiami, FL 33131\nThanks",
            "800 Brickell Ave, Suite 12\nMiami, FL 33131",
        ),
    ],
)
def test_addresses_of_more_countries_and_over_two_lines(redactor: Redactor, text: str, address: str) -> None:
    found = [text[s.start : s.end] for s in redactor.find(text) if s.entity_type == "STREET_ADDRESS"]
    assert found == [address]


def test_every_span_names_its_detector(redactor: Redactor) -> None:
    text = "Hi Gareth,\nIP 81.2.69.142, IBAN GB29 NWBK 6016 1331 9268 19, phone +44 20 7946 0123."
    detectors = {s.entity_type: s.detector for s in redactor.find(text)}
    assert detectors == {
        "PERSON": "name-rules",
        "IP_ADDRESS": "presidio",
        "IBAN_CODE": "mod97",
        "PHONE_NUMBER": "phonenumbers",
    }


def test_ingest_picks_the_customer_policy_for_message_shaped_documents(redactor: Redactor) -> None:
    """A ticket ingested as a document keeps recall first; an article keeps precision first."""
    ticket = [
        Block(kind="text", text="Hi,\n\nmy export fails again."),
        Block(kind="text", text="Thanks,\nOdalys Quintero"),
    ]
    article = [
        Block(kind="text", text="Best Practices for Exports"),
        Block(kind="text", text="Thanks,\nOdalys Quintero"),
    ]
    _, ticket_blocks, ticket_counts = redactor.redact_blocks("Export fails", ticket)
    _, article_blocks, article_counts = redactor.redact_blocks("Exports", article)
    assert ticket_counts == {"PERSON": 1} and ticket_blocks[1].text == "Thanks,\n<PERSON>"
    assert article_counts == {} and article_blocks[1].text == "Thanks,\nOdalys Quintero"


def test_trained_model_is_the_statistical_layer_of_the_customer_policy() -> None:
    """With ingest/ner.py's model installed, a name in running prose that no rule's context names is found
    in customer text, and never in help-center content."""
    from ingest.redact import load_statistical_layer

    statistical = load_statistical_layer()
    if statistical is None:
        pytest.skip("the trained PII model (ingest/models/pii_ner) is not installed")
    text = "I asked Ayodele Bamgbose from accounting to send it again."
    with_model = Redactor(IngestSettings(), statistical=statistical)
    rules_only = Redactor(IngestSettings(), statistical=None)
    assert [s for s in rules_only.find(text) if s.entity_type == "PERSON"] == []
    found = [(text[s.start : s.end], s.detector) for s in with_model.find(text, kind="customer")]
    assert found == [("Ayodele Bamgbose", "ner")]
    assert with_model.find(text, kind="content") == []
    assert "statistical:ingest.ner" in with_model.detectors
