"""Structured PII recognizers (ingest/recognizers.py): checksums, locale regions, cues, look-alike guards."""

from __future__ import annotations

import random

import pytest

from ingest.recognizers import (
    IBAN_LENGTHS,
    find_account_numbers,
    find_cards,
    find_dates_of_birth,
    find_ibans,
    find_phones,
    iban_valid,
    luhn_valid,
    regions_for,
)


def _values(text: str, matches: object) -> list[str]:
    return [text[m.start : m.end] for m in matches]  # type: ignore[attr-defined]


def _with_luhn(prefix: str) -> str:
    for digit in "0123456789":
        if luhn_valid(prefix + digit):
            return prefix + digit
    raise AssertionError(prefix)  # pragma: no cover


@pytest.mark.parametrize(
    "card",
    [
        "4903875120041",  # 13-digit Visa, written whole
        "4024 0071 5591 0",  # 13-digit Visa in 4-4-4-1 groups
        "3782 910455 63110",  # Amex 4-6-5
        "3622 710633 9820",  # Diners 4-6-4
        "5354-1208-7733-6013",  # Mastercard with hyphens
        "4123 4567 8901 2345 677",  # 19-digit Visa
        "6767 7021 1043 8562",  # Maestro
    ],
)
def test_luhn_valid_cards_of_13_to_19_digits_are_found(card: str) -> None:
    text = f"Please charge {card} today."
    assert _values(text, find_cards(text)) == [card]


def test_card_shaped_numbers_that_fail_luhn_or_are_ids_stay() -> None:
    assert list(find_cards("card 4903875120042 please")) == []  # last digit off by one
    order = _with_luhn("411111111111111")
    assert list(find_cards(f"Order number {order} was shipped")) == []
    assert list(find_cards("Tracking 1Z999AA10123456784 shows delivered")) == []


def test_iban_mod97_holds_for_every_registered_country() -> None:
    rng = random.Random(7)
    for country, length in IBAN_LENGTHS.items():
        bban = "".join(rng.choice("0123456789") for _ in range(length - 4))
        number = int("".join(str(int(ch, 36)) for ch in bban + country + "00"))
        iban = f"{country}{98 - number % 97:02d}{bban}"
        assert iban_valid(iban), iban
        grouped = " ".join(iban[i : i + 4] for i in range(0, len(iban), 4))
        text = f"IBAN: {grouped}\nBIC: ABCDEFGH"
        assert _values(text, find_ibans(text)) == [grouped], country
        broken = iban[:4] + str((int(iban[4]) + 1) % 10) + iban[5:]
        assert list(find_ibans(f"IBAN {broken} thanks")) == [], country


def test_phone_region_follows_the_locale() -> None:
    french = "Rappelez-moi au 06 12 47 83 90 svp"
    assert _values(french, find_phones(french, "fr")) == ["06 12 47 83 90"]
    assert regions_for("fr")[0] == "FR" and regions_for("en-US")[0] == "US" and regions_for("pt-BR")[0] == "BR"
    spanish = "mi móvil: 699 12 34 56"
    assert _values(spanish, find_phones(spanish, "es")) == ["699 12 34 56"]
    trunk = "Tel. +49 (0)89 1234567"
    assert _values(trunk, find_phones(trunk, "de")) == ["+49 (0)89 1234567"]


@pytest.mark.parametrize(
    ("text", "locale"),
    [
        ("Die Rechnung vom 02.12.2024 ist doppelt.", "de"),
        ("Bestellung 10-2024-7781 ist unterwegs.", "de"),
        ("Der Betrag von 1.249,00 € wurde abgebucht.", "de"),
        ("La commande du 02.12.2024 n'est pas arrivée.", "fr"),
        ("El cobro del 17/09/2024 aparece dos veces.", "es"),
        ("Firmware 10.2.0.15 is installed.", "en"),
        ("X-RateLimit-Reset: 1782921660", "en"),
        ("Routing number 021000021 imports fine.", "en"),
        ("Our VAT number is GB 123 4567 89.", "en"),
    ],
)
def test_dates_ids_prices_versions_are_no_phones(text: str, locale: str) -> None:
    assert list(find_phones(text, locale)) == []


@pytest.mark.parametrize(
    ("text", "date"),
    [
        ("Date of birth: 21/07/1969", "21/07/1969"),
        ("I was born on March 3rd, 1990.", "March 3rd, 1990"),
        ("Geburtsdatum: 1. Mai 1993", "1. Mai 1993"),
        ("Je suis née le 14 juillet 1992.", "14 juillet 1992"),
        ("Fecha de nacimiento: 5 de marzo de 1988", "5 de marzo de 1988"),
        ("data di nascita 03/12/1975", "03/12/1975"),
        ("Data urodzenia: 11.04.1969", "11.04.1969"),
        ("geboortedatum 08-10-1995", "08-10-1995"),
        ("DOB - 1979-11-02", "1979-11-02"),
    ],
)
def test_dates_of_birth_need_a_birth_cue(text: str, date: str) -> None:
    assert _values(text, find_dates_of_birth(text)) == [date]


def test_a_date_without_a_birth_cue_is_no_birth_date() -> None:
    assert list(find_dates_of_birth("The invoice of 21/07/1969 was sent; renewal on 1. Mai 2025.")) == []


@pytest.mark.parametrize(
    ("text", "number"),
    [
        ("My account number is 40029817.", "40029817"),
        ("customer no. C-0048823, thanks", "C-0048823"),
        ("Kundennummer: KD-77120-04", "KD-77120-04"),
        ("mon numéro client : 00418 227", "00418 227"),
        ("Su número de cliente es 0091-44871.", "0091-44871"),
        ("codice cliente 55820193", "55820193"),
        ("nr klienta 004417-PL", "004417-PL"),
        ("klantnummer 3390127", "3390127"),
    ],
)
def test_account_numbers_follow_their_cue(text: str, number: str) -> None:
    assert _values(text, find_account_numbers(text)) == [number]


@pytest.mark.parametrize(
    "text",
    [
        "Order 2024-118-7731 is late.",
        "Stripe payout failed to acct ending 4471.",
        "Go to Account > Billing to change the plan.",
        "Your account number is shown under Settings > Account.",
        "Invoice INV-2024-00871 is overdue.",
    ],
)
def test_no_account_number_without_cue_and_five_digits(text: str) -> None:
    assert list(find_account_numbers(text)) == []
