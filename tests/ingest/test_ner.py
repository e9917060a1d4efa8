"""The shipped PERSON / STREET_ADDRESS model (ingest/ner.py) on hand-written support text.

None of these texts comes from the templates the model was trained on
(tools/pii_model/generate.py): they are written here, in the shapes the rule
finders missed or got wrong.
"""

from __future__ import annotations

import itertools
import threading

import pytest

from ingest.ner import MODEL_DIR, Span, find_entities, load_model


def _found(text: str, label: str, min_score: float = 0.5) -> list[str]:
    return [text[s.start : s.end] for s in find_entities(text, min_score=min_score) if s.entity_type == label]


def _covered(text: str, value: str, label: str, min_score: float = 0.5) -> bool:
    """Some span of ``label`` covers the whole of ``value`` (a little more is fine for redaction)."""
    start = text.index(value)
    end = start + len(value)
    return any(
        s.entity_type == label and s.start <= start and s.end >= end for s in find_entities(text, min_score=min_score)
    )


def test_model_ships_as_package_data() -> None:
    assert (MODEL_DIR / "config.cfg").is_file()
    assert (MODEL_DIR / "DATA_CARD.md").is_file()
    size = sum(p.stat().st_size for p in MODEL_DIR.rglob("*") if p.is_file())
    assert size < 25 * 1024 * 1024
    nlp = load_model()
    assert load_model() is nlp
    assert set(nlp.get_pipe("ner").labels) == {"PERSON", "STREET_ADDRESS"}


def test_empty_and_blank_text() -> None:
    assert find_entities("") == []
    assert find_entities("  \n\n ") == []


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("[10:02] Priyanka: hi, my parcel still says 'label created'\n[10:03] Agent: let me check", "Priyanka"),
        ("[14:31] Mateusz Zielinski: the export button is greyed out", "Mateusz Zielinski"),
        ("Luis Alberto Ortega - SSN <US_SSN>\nplease remove him from the payroll run", "Luis Alberto Ortega"),
        ("hey, tom baker here again. still no refund for the double charge", "tom baker"),
        ("Thanks for the quick fix!\n\nBest regards,\nNguyễn Thị Hương", "Nguyễn Thị Hương"),
        ("Mit freundlichen Grüßen\nJürgen Aßmann\nBuchhaltung", "Jürgen Aßmann"),
        ("Could you add my accountant Chidinma Okonkwo-Eze as an admin?", "Chidinma Okonkwo-Eze"),
        ("From: Haruto Yamamoto <h.yamamoto@example.jp>\nSubject: invoice copy", "Haruto Yamamoto"),
        ('{"customer": {"name": "Ayşe Yılmaz", "plan": "Growth"}}', "Ayşe Yılmaz"),
    ],
)
def test_names_found(text: str, name: str) -> None:
    assert _covered(text, name, "PERSON"), find_entities(text, min_score=0.1)


@pytest.mark.parametrize(
    ("text", "address"),
    [
        ("Bitte an die neue Adresse liefern:\nLeopoldstrasse 88\n80802 Muenchen\nDanke!", "Leopoldstrasse 88\n80802 Muenchen"),
        ("Please send the replacement to 221 Larkspur Lane, Boulder, CO 80302.", "221 Larkspur Lane, Boulder, CO 80302"),
        ("Nouvelle adresse : 14 rue des Tanneurs, 67000 Strasbourg", "14 rue des Tanneurs, 67000 Strasbourg"),
        ("Mi dirección es Calle de Toledo 41, 2º B, 28005 Madrid, gracias.", "Calle de Toledo 41, 2º B, 28005 Madrid"),
        ("Deliver to Flat 12, Lakeview Apartments, HSR Layout, Bengaluru 560102 please", "Flat 12, Lakeview Apartments, HSR Layout, Bengaluru 560102"),
        ("Our new office: ul. Długa 15/3, 31-147 Kraków", "ul. Długa 15/3, 31-147 Kraków"),
    ],
)  # fmt: skip
def test_addresses_found(text: str, address: str) -> None:
    assert _covered(text, address, "STREET_ADDRESS"), find_entities(text, min_score=0.1)


def test_two_line_address_is_one_span() -> None:
    text = "Ship to:\nKastanienallee 7\n10435 Berlin"
    found = _found(text, "STREET_ADDRESS")
    assert found == ["Kastanienallee 7\n10435 Berlin"]


@pytest.mark.parametrize(
    "text",
    [
        "I ordered a Ted Baker coat and a Calvin Klein belt, only the belt arrived.",
        "Our warehouse is next to Victoria Island and ships on Mondays.",
        "The pop-up store on George Street closes at 6pm.",
        "Since May 1st the export has been failing every night.",
        "Viele Grüße\nIhr Ledgerly-Team",
        "Die Zwei-Faktor-Authentifizierung schützt Ihr Benutzerkonto.",
        "Best Practices for Recurring Invoices",
        "Getting Started with Bank Feeds",
        "Go to Settings > Billing > Payment method and click Update card.",
    ],
)
def test_no_false_positives(text: str) -> None:
    assert find_entities(text) == []


def test_spans_are_ordered_scored_and_in_bounds() -> None:
    text = "Hi Marco,\nplease update the address for Sophie Laurent to 8 Rue des Lilas, 69003 Lyon.\nThanks, Ines"
    spans = find_entities(text, min_score=0.2)
    assert spans == sorted(spans, key=lambda s: s.start)
    assert all(isinstance(s, Span) and 0 <= s.start < s.end <= len(text) and 0.2 <= s.score <= 1 for s in spans)
    assert all(a.end <= b.start for a, b in itertools.pairwise(spans))
    assert len(find_entities(text, min_score=0.9)) <= len(spans)


def test_long_text_offsets_point_into_the_original() -> None:
    filler = "The invoice totals are recalculated every night. " * 60
    text = filler + "\n\nKind regards,\nMargarethe Vollmer\n\n" + filler
    spans = [s for s in find_entities(text) if s.entity_type == "PERSON"]
    assert [text[s.start : s.end] for s in spans] == ["Margarethe Vollmer"]


def test_concurrent_calls_agree() -> None:
    text = "[09:15] Kenji Watanabe: the label for order 88213 never printed"
    expected = find_entities(text)
    results: list[list[Span]] = []

    def work() -> None:
        for _ in range(5):
            results.append(find_entities(text))

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(r == expected for r in results)
