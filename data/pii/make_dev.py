"""Generate the DEV set (data/pii/dev.jsonl): templated customer messages in eight locales.

The DEV set is for tuning: read its misses freely. It shares no name, template or
message with the locked test set (``test_locked.jsonl``), which was written by hand
before this generator existed; ``--check`` verifies the names are disjoint. The
sample inbox's labels (``data/samples/pii_labels.jsonl``) are appended, as English
messages. Deterministic (seeded): ``python data/pii/make_dev.py`` rewrites the file,
``--check`` exits 1 when it is stale.
"""

from __future__ import annotations

import json
import random
import re
import sys
import unicodedata
from pathlib import Path

HERE = Path(__file__).resolve().parent
SAMPLES = HERE.parent / "samples"
SEED = 20261205
MESSAGES_PER_LOCALE = 24

NAMES = {
    "en": ["Emily Carter", "James Whitaker", "Hannah Brooks", "Akira Tanaka", "Rahul Sharma", "Fatima Al-Sayed",
           "Grace O'Brien", "Samuel Osei", "Chloe Hampton", "Liam Fitzpatrick", "Aaliyah Johnson", "Mei Lin Chen",
           "Oscar Lindqvist", "Zainab Usman", "Ethan Kowalski", "Harriet Pemberton", "Tariq Mahmood", "Ruby Sinclair"],
    "de": ["Klaus Becker", "Anna Schmidt", "Matthias Krüger", "Sabine Vogt", "Lukas Hoffmann", "Ines Baumann",
           "Dirk Hartmann", "Lena Weißenborn", "Florian Graf", "Katrin Lehmann", "Stefan Ziegler", "Birgit Koch"],
    "fr": ["Pierre Dubois", "Camille Moreau", "Julien Lefèvre", "Élodie Girard", "Nicolas Fontaine", "Manon Chevalier",
           "Antoine Mercier", "Chloé Rousseau", "Hugo Lambert", "Inès Garnier", "Sébastien Faure", "Léa Bonnet"],
    "es": ["Carlos Méndez", "Lucía Fernández", "Javier Ortega", "María José Ruiz", "Alejandro Navarro",
           "Carmen Delgado", "Pablo Herrera", "Elena Castillo", "Sergio Molina", "Marta Gil", "Diego Ramos"],
    "it": ["Luca Rossi", "Giulia Romano", "Marco Esposito", "Francesca Ricci", "Alessandro Conti", "Chiara Greco",
           "Davide Marino", "Sara Colombo", "Matteo Bruno", "Valeria Gallo", "Simone De Luca"],
    "pt": ["Mateus Costa", "Ana Ribeiro", "João Pereira", "Beatriz Almeida", "Tiago Rocha", "Inês Carvalho",
           "Pedro Martins", "Mariana Sousa", "Rafael Lopes", "Carolina Fonseca"],
    "pl": ["Piotr Nowak", "Katarzyna Lewandowska", "Marek Wójcik", "Anna Kamińska", "Michał Zając",
           "Ewa Kozłowska", "Krzysztof Mazur", "Joanna Krawczyk", "Paweł Dąbrowski"],
    "nl": ["Jan de Boer", "Anouk Visser", "Pieter Bakker", "Eva Smit", "Daan Mulder", "Lotte de Graaf",
           "Ruben Jansen", "Iris Dekker", "Sem van Dijk"],
}  # fmt: skip
ADDRESSES = {
    "en": ["221 Elm Street, Springfield, IL 62704", "14 Park Lane, Leeds LS1 4DT", "9 Kings Road, Brighton BN1 2HG",
           "4500 Oak Avenue, Apt 12, Austin, TX 78701", "33 Queen Street, Glasgow G1 3DN",
           "77 George Street, Sydney NSW 2000", "18 Harbour View Road, Cork T12 X2Y4"],
    "de": ["Hauptstraße 12, 10115 Berlin", "Bahnhofstr. 3, 80335 München", "Am Markt 7, 28195 Bremen",
           "Schillerweg 21b, 01067 Dresden", "Rosenstraße 5, 50667 Köln"],
    "fr": ["18 rue Victor Hugo, 75016 Paris", "3 place Bellecour, 69002 Lyon", "27 avenue de la République, 13001 Marseille",
           "9 chemin des Vignes, 21000 Dijon"],
    "es": ["Calle Mayor 10, 28013 Madrid", "Avenida Diagonal 400, 08037 Barcelona", "Calle Larios 5, 29005 Málaga",
           "Plaza de España 3, 2º A, 50001 Zaragoza"],
    "it": ["Via Roma 15, 00184 Roma", "Corso Buenos Aires 33, 20124 Milano", "Via Po 8, 10123 Torino",
           "Piazza Dante 4, 80135 Napoli"],
    "pt": ["Rua Augusta 120, 1100-053 Lisboa", "Avenida dos Aliados 50, 4000-064 Porto", "Rua Direita 8, 3000-140 Coimbra"],
    "pl": ["ul. Marszałkowska 10/4, 00-590 Warszawa", "ul. Floriańska 22, 31-019 Kraków", "ul. Świdnicka 8, 50-066 Wrocław"],
    "nl": ["Prinsengracht 100, 1015 EA Amsterdam", "Coolsingel 40, 3011 AD Rotterdam", "Lange Voorhout 12, 2514 ED Den Haag"],
}  # fmt: skip
PHONES = {
    "en": ["+44 20 7946 0123", "020 7946 0456", "+1 212 555 0187", "(415) 555-0133", "07700 900123", "+61 2 9876 5432"],
    "de": ["+49 30 12345678", "030 12345678", "0171 2345678", "+49 (0)89 1234567"],
    "fr": ["+33 1 42 68 53 00", "01 42 68 53 00", "06 98 76 54 32"],
    "es": ["+34 915 123 456", "915 123 456", "655 44 33 22"],
    "it": ["+39 06 1234 5678", "06 1234 5678", "338 123 4567"],
    "pt": ["+351 213 456 789", "213 456 789", "961 234 567"],
    "pl": ["+48 22 123 45 67", "601 111 222", "22 123 45 67"],
    "nl": ["+31 20 123 4567", "020 123 4567", "06 23456789"],
}
IBAN_BBANS = {
    "en": ("GB", "WEST12345698765432"), "de": ("DE", "100100101234567890"), "fr": ("FR", "20041010050500013M02606"),
    "es": ("ES", "00491500051234567892"), "it": ("IT", "X0300203280000400162854"), "pt": ("PT", "003600409911001102673"),
    "pl": ("PL", "105000997603123456789123"), "nl": ("NL", "INGB0001234567"),
}  # fmt: skip
EXTRA_IBAN_BBANS = [("BE", "510007547061"), ("AT", "1100000622538553"), ("CH", "00762011623852957"), ("LU", "0010001234567891"),
                    ("SE", "12000000012810105723"), ("DK", "30003000567890"), ("FI", "10203000012345"), ("IE", "BOFI90001712345678")]  # fmt: skip
CARD_PREFIXES = ["4111 1111 1111 111", "4000 0566 5566 555", "5555 5555 5555 444", "5105 1051 0510 510",
                 "3714 496353 9843", "6011 1111 1111 111", "3530 1113 3330 000", "4000 0000 0000 2", "4242 4242 4242 424",
                 "2223 0031 2200 300", "6759 6498 2643 8453 0"]  # fmt: skip
DOB_CUES = {
    "en": ["Date of birth: {d}", "DOB {d}", "I was born on {d}", "born {d}", "my birthday is {d}"],
    "de": ["Geburtsdatum: {d}", "geboren am {d}", "geb. {d}"],
    "fr": ["Date de naissance : {d}", "né le {d}", "née le {d}"],
    "es": ["Fecha de nacimiento: {d}", "nací el {d}", "fecha de nac. {d}"],
    "it": ["Data di nascita: {d}", "nato il {d}", "nata il {d}"],
    "pt": ["Data de nascimento: {d}", "nasci em {d}", "nascido em {d}"],
    "pl": ["Data urodzenia: {d}", "urodzony {d}", "ur. {d}"],
    "nl": ["Geboortedatum: {d}", "geboren op {d}"],
}
ACCOUNT_CUES = {
    "en": [
        "Account number: {a}",
        "customer no. {a}",
        "my account is {a}",
        "Customer ID: {a}",
        "acct {a}",
        "member number {a}",
    ],
    "de": ["Kundennummer: {a}", "Kundennr. {a}", "Kontonummer {a}", "Vertragsnummer: {a}"],
    "fr": ["numéro client : {a}", "N° client {a}", "mon numéro de compte est {a}", "référence client {a}"],
    "es": ["número de cliente: {a}", "nº de cliente {a}", "número de cuenta {a}"],
    "it": ["codice cliente: {a}", "numero cliente {a}", "n. cliente {a}"],
    "pt": ["número de cliente: {a}", "nº de cliente {a}", "número da conta {a}"],
    "pl": ["numer klienta: {a}", "nr klienta {a}", "numer konta {a}"],
    "nl": ["klantnummer: {a}", "klantnr. {a}", "rekeningnummer {a}"],
}
GREETING = {"en": ["Hi", "Hello", "Dear"], "de": ["Hallo", "Guten Tag"], "fr": ["Bonjour"], "es": ["Hola"],
            "it": ["Buongiorno", "Ciao"], "pt": ["Olá", "Bom dia"], "pl": ["Dzień dobry"], "nl": ["Hallo", "Beste"]}  # fmt: skip
SIGN_OFF = {"en": ["Thanks,", "Best regards,", "Cheers,", "Kind regards,"], "de": ["Viele Grüße", "Mit freundlichen Grüßen"],
            "fr": ["Cordialement,", "Bien cordialement,"], "es": ["Saludos,", "Un saludo,"], "it": ["Grazie,", "Cordiali saluti,"],
            "pt": ["Obrigado,", "Cumprimentos,"], "pl": ["Pozdrawiam,", "Z poważaniem,"], "nl": ["Groeten,", "Met vriendelijke groet,"]}  # fmt: skip
SELF = {"en": "My name is {n}", "de": "Mein Name ist {n}", "fr": "Je m'appelle {n}", "es": "Me llamo {n}",
        "it": "Mi chiamo {n}", "pt": "O meu nome é {n}", "pl": "Nazywam się {n}", "nl": "Mijn naam is {n}"}  # fmt: skip
COLLEAGUE = {"en": "my colleague {n}", "de": "meine Kollegin {n}", "fr": "mon collègue {n}", "es": "mi compañero {n}",
             "it": "il mio collega {n}", "pt": "o meu colega {n}", "pl": "mój kolega {n}", "nl": "mijn collega {n}"}  # fmt: skip
FILLER = {
    "en": [
        "The export to CSV fails since version 4.2.1.",
        "Order #B-20931 was charged twice ($49.00).",
        "The invoice INV-2025-0112 from 03/04/2025 is wrong.",
        "Tracking 1Z888BB20234567891 shows no movement.",
        "Settings > Billing shows the old plan.",
    ],
    "de": [
        "Seit Version 3.1.0 klappt der Export nicht.",
        "Die Rechnung RE-2025-0042 vom 03.04.2025 ist falsch.",
        "Der Betrag von 59,00 € wurde doppelt abgebucht.",
        "Die Zwei-Faktor-Anmeldung schickt keinen Code.",
    ],
    "fr": [
        "Depuis la version 5.0.3 l'export ne marche plus.",
        "La facture F-2025-118 du 03.04.2025 est fausse.",
        "J'ai été débité deux fois de 29,90 €.",
    ],
    "es": [
        "Desde la versión 2.0.1 no funciona la exportación.",
        "La factura FAC-2025-77 del 03/04/2025 está mal.",
        "Me cobraron 39,99 € dos veces.",
    ],
    "it": [
        "Dalla versione 1.9.2 l'esportazione non funziona.",
        "La fattura 2025/118 del 03/04/2025 è sbagliata.",
        "Mi avete addebitato 19,90 € due volte.",
    ],
    "pt": [
        "Desde a versão 3.3.0 a exportação falha.",
        "A fatura FT 2025/55 de 03/04/2025 está errada.",
        "Fui cobrado duas vezes 24,90 €.",
    ],
    "pl": [
        "Od wersji 2.2.0 eksport nie działa.",
        "Faktura FV/2025/04/118 z 03.04.2025 jest błędna.",
        "Pobrano dwa razy 99,00 zł.",
    ],
    "nl": [
        "Sinds versie 6.1.2 werkt de export niet.",
        "Factuur F2025-0118 van 03-04-2025 klopt niet.",
        "Er is twee keer €19,95 afgeschreven.",
    ],
}
MONTHS = {"en": ["January", "March", "May", "July", "October"], "de": ["Januar", "März", "Mai", "Juli", "Oktober"],
          "fr": ["janvier", "mars", "mai", "juillet", "octobre"], "es": ["enero", "marzo", "mayo", "julio", "octubre"],
          "it": ["gennaio", "marzo", "maggio", "luglio", "ottobre"], "pt": ["janeiro", "março", "maio", "julho", "outubro"],
          "pl": ["stycznia", "marca", "maja", "lipca", "października"], "nl": ["januari", "maart", "mei", "juli", "oktober"]}  # fmt: skip


def luhn_complete(prefix: str) -> str:
    digits = [int(c) for c in prefix if c.isdigit()]
    total = 0
    for index, value in enumerate(reversed(digits)):
        if index % 2 == 0:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return prefix + str((10 - total % 10) % 10)


def iban(country: str, bban: str, spaced: bool) -> str:
    number = int("".join(str(int(ch, 36)) for ch in bban + country + "00"))
    compact = f"{country}{98 - number % 97:02d}{bban}"
    return " ".join(compact[i : i + 4] for i in range(0, len(compact), 4)) if spaced else compact


def email_of(name: str, rng: random.Random) -> str:
    folded = unicodedata.normalize("NFKD", name.lower()).encode("ascii", "ignore").decode()
    parts = re.findall(r"[a-z]+", folded)
    local = rng.choice([f"{parts[0]}.{parts[-1]}", f"{parts[0][0]}.{parts[-1]}", f"{parts[0]}{parts[-1][:1]}"])
    return f"{local}@{rng.choice(['mail', 'post', 'webmail', 'kunde'])}.example"


def dob(locale: str, rng: random.Random) -> str:
    day, month, year = rng.randint(1, 28), rng.randint(1, 12), rng.randint(1940, 2004)
    if locale == "en":
        return rng.choice(
            [
                f"{month:02d}/{day:02d}/{year}",
                f"{day} {MONTHS['en'][month % 5]} {year}",
                f"{year}-{month:02d}-{day:02d}",
            ]
        )
    if locale in ("de", "pl"):
        return rng.choice(
            [
                f"{day:02d}.{month:02d}.{year}",
                f"{day}. {MONTHS[locale][month % 5]} {year}"
                if locale == "de"
                else f"{day} {MONTHS[locale][month % 5]} {year}",
            ]
        )
    if locale == "nl":
        return rng.choice([f"{day:02d}-{month:02d}-{year}", f"{day} {MONTHS['nl'][month % 5]} {year}"])
    connector = " de " if locale in ("es", "pt") else " "
    return rng.choice(
        [f"{day:02d}/{month:02d}/{year}", f"{day}{connector}{MONTHS[locale][month % 5]}{connector}{year}"]
    )


def account(rng: random.Random) -> str:
    return rng.choice([
        str(rng.randint(10_000_000, 99_999_999)),
        f"C-{rng.randint(100_000, 999_999)}",
        f"{rng.randint(100, 999)} {rng.randint(100, 999)} {rng.randint(100, 999)}",
        f"KD{rng.randint(10_000, 99_999)}",
        f"{rng.randint(1000, 9999)}-{rng.randint(10_000, 99_999)}",
    ])  # fmt: skip


class Message:
    """A message being written: text pieces, some of them labelled."""

    def __init__(self) -> None:
        self.parts: list[tuple[str, str | None]] = []

    def add(self, text: str, label: str | None = None) -> Message:
        self.parts.append((text, label))
        return self

    def fill(self, template: str, label: str, value: str) -> Message:
        before, after = template.split("{}", 1)
        return self.add(before).add(value, label).add(after)

    def render(self) -> tuple[str, list[dict[str, object]]]:
        text, spans, cursor = [], [], 0
        for piece, label in self.parts:
            if label:
                spans.append({"type": label, "start": cursor, "end": cursor + len(piece), "value": piece})
            text.append(piece)
            cursor += len(piece)
        return "".join(text), spans


def make_message(locale: str, index: int, rng: random.Random) -> dict[str, object]:
    names = NAMES[locale]
    name = rng.choice(names)
    other = rng.choice([n for n in names if n != name])
    message = Message()
    shape = index % 4
    phone = rng.choice(PHONES[locale])
    country, bban = IBAN_BBANS[locale] if rng.random() < 0.7 else rng.choice(EXTRA_IBAN_BBANS)
    if shape == 0:  # e-mail with greeting, body, sign-off
        message.add(f"{rng.choice(GREETING[locale])},\n\n")
        message.add(rng.choice(FILLER[locale]) + " ")
        message.fill(SELF[locale].replace("{n}", "{}") + ". ", "PERSON", name)
        message.fill(rng.choice(ACCOUNT_CUES[locale]).replace("{a}", "{}") + ".\n", "ACCOUNT_NUMBER", account(rng))
        message.fill(COLLEAGUE[locale].replace("{n}", "{}").capitalize() + " ", "PERSON", other)
        message.fill("(" + "{}" + ") ", "EMAIL_ADDRESS", email_of(other, rng))
        message.add("kann helfen.\n\n" if locale == "de" else "cc.\n\n")
        message.add(rng.choice(SIGN_OFF[locale]) + "\n")
        message.add(name, "PERSON").add("\n").add(phone, "PHONE_NUMBER").add("\n")
        message.add(rng.choice(ADDRESSES[locale]), "STREET_ADDRESS")
    elif shape == 1:  # form
        labels = {"en": ("Name", "Email", "Phone", "Address"), "de": ("Name", "E-Mail", "Telefon", "Adresse"),
                  "fr": ("Nom", "E-mail", "Téléphone", "Adresse"), "es": ("Nombre", "Correo", "Teléfono", "Dirección"),
                  "it": ("Nome", "Email", "Telefono", "Indirizzo"), "pt": ("Nome", "Email", "Telefone", "Morada"),
                  "pl": ("Imię i nazwisko", "E-mail", "Telefon", "Adres"), "nl": ("Naam", "E-mail", "Telefoon", "Adres")}[locale]  # fmt: skip
        message.fill(f"{labels[0]}: {{}}\n", "PERSON", name)
        message.fill(f"{labels[1]}: {{}}\n", "EMAIL_ADDRESS", email_of(name, rng))
        message.fill(f"{labels[2]}: {{}}\n", "PHONE_NUMBER", phone)
        message.fill(f"{labels[3]}: {{}}\n", "STREET_ADDRESS", rng.choice(ADDRESSES[locale]))
        message.fill(rng.choice(DOB_CUES[locale]).replace("{d}", "{}") + "\n", "DATE_OF_BIRTH", dob(locale, rng))
        message.fill("IBAN: {}\n", "IBAN_CODE", iban(country, bban, rng.random() < 0.6))
        message.add(rng.choice(FILLER[locale]))
    elif shape == 2:  # chat
        message.fill("[09:1" + str(index % 10) + "] {}: ", "PERSON", name)
        message.add(rng.choice(FILLER[locale]) + "\n")
        message.add("[09:12] Agent: ?\n")
        message.fill(f"[09:13] {name.split()[0]}: card {{}}\n", "CREDIT_CARD", luhn_complete(rng.choice(CARD_PREFIXES)))
        message.parts[-3] = (name.split()[0], "PERSON") if False else message.parts[-3]
        message.fill(f"[09:14] {name.split()[0]}: IP {{}}\n", "IP_ADDRESS",
                     rng.choice([f"{rng.randint(11, 223)}.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}",
                                 f"2a00:{rng.randint(4096, 65535):x}:{rng.randint(1, 65535):x}::{rng.randint(1, 4095):x}"]))  # fmt: skip
        message.fill(
            f"[09:15] {name.split()[0]}: " + rng.choice(DOB_CUES[locale]).replace("{d}", "{}"),
            "DATE_OF_BIRTH",
            dob(locale, rng),
        )
    else:  # prose ticket with a structured tail
        message.add(rng.choice(FILLER[locale]) + " ")
        message.fill(COLLEAGUE[locale].replace("{n}", "{}").capitalize() + ", ", "PERSON", other)
        message.fill("{}, ", "PHONE_NUMBER", rng.choice(PHONES[locale]))
        message.add(rng.choice(FILLER[locale]) + " ")
        message.fill("IBAN {}. ", "IBAN_CODE", iban(country, bban, True))
        if locale == "en" and rng.random() < 0.5:
            message.fill(
                "SSN {}. ", "US_SSN", f"{rng.randint(100, 665)}-{rng.randint(10, 99)}-{rng.randint(1000, 9999)}"
            )
        message.fill(rng.choice(ACCOUNT_CUES[locale]).replace("{a}", "{}") + ". ", "ACCOUNT_NUMBER", account(rng))
        message.add("\n-- \n").add(name, "PERSON")
    text, spans = message.render()
    # a chat names its speaker again on every line: label those too
    first = name.split()[0]
    if shape == 2:
        for match in re.finditer(rf"(?<=\] ){re.escape(first)}(?=:)", text):
            spans.append({"type": "PERSON", "start": match.start(), "end": match.end(), "value": first})
        spans.sort(key=lambda s: int(s["start"]))  # type: ignore[call-overload]
    return {
        "id": f"D-{locale}-{index:03d}",
        "locale": locale,
        "kind": "customer",
        "channel": ["email", "form", "chat", "ticket"][shape],
        "text": text,
        "spans": spans,
    }


def sample_inbox() -> list[dict[str, object]]:
    rows = []
    for line in (SAMPLES / "pii_labels.jsonl").read_text(encoding="utf-8").splitlines():
        if line.strip():
            item = json.loads(line)
            spans = [
                {"type": s["entity_type"], "start": s["start"], "end": s["end"], "value": s["value"]}
                for s in item["spans"]
            ]
            rows.append(
                {
                    "id": f"S-{item['text_id']}",
                    "locale": "en",
                    "kind": "customer",
                    "channel": "inbox",
                    "text": item["text"],
                    "spans": spans,
                }
            )
    return rows


def build() -> str:
    rng = random.Random(SEED)
    messages = [make_message(locale, i, rng) for locale in NAMES for i in range(MESSAGES_PER_LOCALE)]
    messages += sample_inbox()
    for message in messages:
        for span in message["spans"]:  # type: ignore[attr-defined]
            assert str(message["text"])[span["start"] : span["end"]] == span["value"], (message["id"], span)
    return "".join(json.dumps(m, ensure_ascii=False) + "\n" for m in messages)


def test_names() -> set[str]:
    names = set()
    for line in (HERE / "test_locked.jsonl").read_text(encoding="utf-8").splitlines():
        for span in json.loads(line)["spans"]:
            if span["type"] == "PERSON":
                names.update(span["value"].split())
    return names


def main(argv: list[str]) -> int:
    rendered = build()
    dev_names = {token for names in NAMES.values() for name in names for token in name.split()}
    shared = sorted(dev_names & test_names() - {"de", "van", "den", "Le", "De"})
    if shared:
        print(f"name tokens shared with the locked test set: {', '.join(shared)}")
    target = HERE / "dev.jsonl"
    if "--check" in argv:
        stale = not target.exists() or target.read_text(encoding="utf-8") != rendered
        if stale:
            print("dev.jsonl is stale: run python data/pii/make_dev.py")
        return 1 if stale or shared else 0
    target.write_text(rendered, encoding="utf-8")
    count = rendered.count('"type"')
    print(f"dev.jsonl: {rendered.count(chr(10))} messages, {count} spans")
    return 1 if shared else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
