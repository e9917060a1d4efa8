#!/usr/bin/env python3
"""Synthetic support text with PERSON and STREET_ADDRESS spans for the NER model in ``ingest/models/pii_ner``.

Every text is rendered from a template written here and filled with names and
addresses from Faker's locale providers (pinned version, fixed seeds), plus a
few hand-written lists for formats Faker lacks (romanized Japanese, Korean
and Arabic names, Indian, Japanese, Turkish and Vietnamese street formats).
Hard negatives get no label: brands and places named after people, month
names, help-center headings and sentences, German compound nouns, sign-offs.

Two splits never share a template: ``train`` (seed 13) uses the ``T_``
templates and phrase lists and, for training only, the labelled sample inbox
(``data/samples/pii_labels.jsonl``); ``dev`` (seed 71) uses the ``D_``
templates and phrase lists and help-center files of the other half. The dev
split is for model selection only; no test set is read.

Labelling conventions follow ``data/samples/inbox/README.md``: titles are not
part of a name, a street named after a person is part of the address, cities
and countries on their own are not addresses, and an address runs from the
street line through city and postcode (one span, even across a line break).

Usage: ``python tools/pii_model/generate.py --out build/pii_model``
"""

from __future__ import annotations

import argparse
import hashlib
import html
import json
import random
import re
import sys
import unicodedata
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import faker
from faker import Faker

FAKER_VERSION = "40.54.0"
ROOT = Path(__file__).resolve().parents[2]
HELPCENTER = ROOT / "data" / "samples" / "helpcenter"
INBOX_LABELS = ROOT / "data" / "samples" / "pii_labels.jsonl"
LABELS = ("PERSON", "STREET_ADDRESS")
SEEDS = {"train": 13, "dev": 71}
SIZES = {"train": 14000, "dev": 2000}
INBOX_REPEAT = 3
# Help-center files that carry planted PII (data/samples/PLANTED.md, section e): never a negative.
PLANTED_PII_FILES = ("ledgerly-is-slow-or-wont-load", "contact-ledgerly-support", "scheduled-maintenance")

# Faker locales, with a weight: how often a person or address comes from there.
LOCALES: dict[str, float] = {
    "en_US": 4, "en_GB": 3, "en_IN": 2.5, "en_AU": 1, "en_CA": 1, "en_IE": 1, "en_NZ": 0.5, "en_PH": 1,
    "zu_ZA": 0.7, "de_DE": 3, "de_AT": 1.5, "de_CH": 1.5, "fr_FR": 2.5, "fr_CA": 0.7, "fr_CH": 0.7,
    "es_ES": 2, "es_MX": 1.5, "es_AR": 0.8, "es_CO": 0.8, "it_IT": 1.5, "pl_PL": 1.5, "pt_BR": 1.5,
    "pt_PT": 0.7, "nl_NL": 1.2, "nl_BE": 0.6, "ja_JP": 1.5, "vi_VN": 1.5, "tr_TR": 1.2, "zh_CN": 1,
    "ko_KR": 0.8, "ar_AA": 0.8, "ru_RU": 0.8, "sv_SE": 0.6, "da_DK": 0.5, "no_NO": 0.5, "fi_FI": 0.5,
    "cs_CZ": 0.6, "ro_RO": 0.6, "hu_HU": 0.5, "id_ID": 0.8, "yo_NG": 0.8, "el_GR": 0.4, "hr_HR": 0.4,
    "sk_SK": 0.4,
}  # fmt: skip
# Locales whose Faker addresses are in their own format (the others fall back to en_US's, or a
# script the support inbox rarely sees); they get one of these instead.
ADDRESS_FALLBACK = {"ja_JP": "ja", "vi_VN": "vi", "tr_TR": "tr", "zh_CN": "en_US", "ko_KR": "en_US",
                    "ar_AA": "en_GB", "ru_RU": "de_DE", "yo_NG": "ng", "en_IN": "in", "es_ES": "es"}  # fmt: skip

VI_GIVEN = ("An Bình Châu Dũng Giang Hà Hải Hạnh Hiếu Hoa Hùng Hương Khánh Lan Linh Long Mai Minh Nam Ngọc Phong "
            "Phương Quang Quân Thảo Thu Trang Trung Tuấn Vy Yến Đức Thắng Huy Khoa Nhung").split()  # fmt: skip
KO_GIVEN = (
    "Ji-hoon Min-jun Seo-yeon Ji-woo Ha-eun Do-yoon Soo-ah Jae-won Hyun-woo Eun-ji Yuna Min-seo Tae-yang Da-eun".split()
)
KO_FAMILY = "Kim Lee Park Choi Jung Kang Cho Yoon Jang Lim Han Shin Seo Kwon Hwang Song".split()
AR_GIVEN = (
    "Mohammed Ahmed Fatima Aisha Omar Yusuf Layla Khalid Nour Hassan Mariam Karim Samira Tariq Rania Ibrahim".split()
)
AR_FAMILY = "Al-Rashid Haddad Khalil Nasser El-Amin Mansour Saleh Al-Farsi Abdullah Hamdan Qureshi Aziz Darwish".split()
RU_GIVEN = "Dmitri Anastasia Sergei Olga Aleksandr Natalia Mikhail Yekaterina Ivan Svetlana Pavel Irina Andrei".split()
RU_FAMILY = "Ivanov Smirnova Kuznetsov Popova Sokolov Lebedeva Kozlov Novikova Morozov Volkova Petrov Fedorova".split()
NICKNAMES = {
    "Robert": ["Bob", "Rob", "Bobby"], "William": ["Bill", "Will", "Billy"], "Elizabeth": ["Liz", "Beth", "Lizzie"],
    "Katherine": ["Kate", "Kat", "Katie"], "Alexander": ["Alex", "Sasha"], "Jennifer": ["Jen", "Jenny"],
    "Michael": ["Mike", "Mikey"], "Christopher": ["Chris"], "Margaret": ["Maggie", "Peggy"], "Richard": ["Rick", "Dick"],
    "Thomas": ["Tom", "Tommy"], "Daniel": ["Dan", "Danny"], "Jessica": ["Jess"], "Nicholas": ["Nick"],
    "Anthony": ["Tony"], "Patricia": ["Patty", "Trish"], "Joseph": ["Joe", "Joey"], "Francisco": ["Paco", "Pancho"],
    "José": ["Pepe"], "Alejandro": ["Alex", "Ale"], "Guadalupe": ["Lupe"], "Giuseppe": ["Beppe", "Peppe"],
    "Katarzyna": ["Kasia"], "Małgorzata": ["Gosia"], "Wojciech": ["Wojtek"], "Aleksandra": ["Ola"],
    "Johannes": ["Hannes"], "Wolfgang": ["Wolf"], "Friedrich": ["Fritz"], "Francesca": ["Fra"],
    "Mohammed": ["Mo"], "Dmitri": ["Dima"], "Anastasia": ["Nastya"], "Priyanka": ["Priya"], "Srinivas": ["Srini"],
    "Venkatesh": ["Venky"], "Guillaume": ["Guigui"], "Stephanie": ["Steph"], "Samantha": ["Sam"],
}  # fmt: skip
TITLES = ("Mr", "Mr.", "Mrs", "Mrs.", "Ms", "Ms.", "Dr", "Dr.", "Prof.", "Herr", "Frau", "Mme", "M.", "Sr.", "Sra.",
          "Dott.", "Pan", "Pani", "Sig.")  # fmt: skip

# ---------------------------------------------------------------------------------------------
# Hard negatives: words that look like names or places but are no personal data.

BRANDS = """Ted Baker|Calvin Klein|Tommy Hilfiger|Ralph Lauren|Hugo Boss|Louis Vuitton|Marc Jacobs|Kate Spade|Michael Kors
|Paul Smith|Jimmy Choo|Tory Burch|Vera Wang|Anne Klein|Ben Sherman|Fred Perry|Karl Lagerfeld|Christian Dior
|Yves Saint Laurent|Giorgio Armani|Stella McCartney|Alexander McQueen|Oscar de la Renta|Carolina Herrera|Estée Lauder
|Jack Daniel's|Johnnie Walker|Jim Beam|Ben & Jerry's|Wendy's|Tim Hortons|Dr. Martens|Dr. Oetker|Levi Strauss
|Victoria's Secret|Charles Schwab|Morgan Stanley|Goldman Sachs|Wells Fargo|Edward Jones|Merrill Lynch|Ernst & Young
|John Lewis|Marks & Spencer|Harvey Nichols|Sainsbury's|Aldi|Lidl|Tesla|Ford|Ferrari|Porsche|Mercedes-Benz|Bosch
|Siemens|Dyson|Philips|Martha Stewart Living|Paul Mitchell|Ray-Ban|Tommy Bahama|Hugo|Coco Chanel|Gucci|Prada
|Pierre Cardin|Lacoste|Ralph Lauren Polo|Tom Ford|Kenneth Cole|Steve Madden|Betty Crocker|Uncle Ben's|Mrs. Fields
|Papa John's|Ronald McDonald House|Dunkin'|Zapier|Stripe|PayPal|Shopify|Xero|QuickBooks|Sage|Wise|Revolut|Klarna
|Ledgerly|Parcelpoint|Otto|Zalando|Rossmann|Tchibo|Carrefour|El Corte Inglés|Mercado Libre""".replace("\n", "").split(
    "|"
)
PLACES = """Victoria Island|George Street|Prince Edward Island|Lake Victoria|St. Louis|San Jose|Santa Clara|Fort Worth
|Port Elizabeth|Alexandria|Charlotte|Victoria|Adelaide|Florence|Lincoln|Jackson|Madison|Houston|Austin|Elizabeth line
|King's Cross|Mount Vernon|Washington|Kingston|Hamilton|Wellington|São Paulo|San Francisco|Saint-Denis|Santa Monica
|Georgetown|Martin Place|Queen Street|Baker Street|Oxford Street|Abbey Road|Regent Street|Friedrichstraße|Kurfürstendamm
|Champs-Élysées|Gran Vía|Lekki Phase 1|Marina Bay|Bondi Beach|Canary Wharf|Heathrow|Gatwick|Frankfurt Airport|Lagos
|Bengaluru|Mumbai|Ho Chi Minh City|Hanoi|Osaka|Shibuya|Kraków|Warsaw|Istanbul|Ankara|Guadalajara|Monterrey|Bogotá
|Lyon|Marseille|München|Hamburg|Wien|Zürich|Amsterdam|Rotterdam|Milano|Roma|Lisboa|Porto Alegre|Manila|Cebu|Johannesburg
|Durban|Sydney|Melbourne|Auckland|Toronto|Montréal|Dublin|Cork|Edinburgh|Glasgow|Cardiff|Belfast|Nashville|Dallas
|Jersey City|Washington Square|Carnegie Hall|Victoria Station|Paddington|Waterloo|St Pancras|Lake Louise|Mount Kenya
|Harrods|Hyde Park|Central Park|Eiffel Tower|Sagrada Família|Alexanderplatz|Marienplatz""".replace("\n", "").split("|")
MONTHS = ("January February March April May June July August September October November December Januar Februar März "
          "Mai Juni Juli Oktober Dezember janvier février mars avril mai juin juillet août enero febrero marzo abril "
          "mayo junio julio agosto maggio giugno luglio").split()  # fmt: skip
WEEKDAYS = (
    "Monday Tuesday Wednesday Thursday Friday Saturday Sunday Montag Dienstag Freitag lundi mardi lunes martes".split()
)
DE_NOUNS = """Zwei-Faktor-Authentifizierung|Rechnungsadresse|Lieferadresse|Kundennummer|Zahlungsart|Benutzerkonto
|Abonnement|Sicherheitseinstellungen|Passwort|Rechnung|Gutschrift|Mahnung|Lastschrift|Überweisung|Datenschutz
|Einstellungen|Kontoinhaber|Steuernummer|Umsatzsteuer|Sendungsverfolgung|Paketschein|Rücksendung|Zahlungsmethode
|Bankverbindung|Kreditkarte|Anmeldung|Bestätigungscode|Wiederherstellungscodes|Rechnungsvorlage|Mehrwertsteuer
|Kündigung|Vertragslaufzeit|Datenexport|Sicherungskopie|Benutzerrolle|Teammitglieder|Versandetikett|Zustellung
|Abholstation|Packstation|Lieferschein|Retoure|Erstattung|Zahlungserinnerung|Geschäftskonto|Buchhaltung
|Zwei-Faktor|Sicherheitsschlüssel|Authentifizierungs-App|Hilfe-Center|Kundenservice|Ansprechpartner""".replace(
    "\n", ""
).split("|")
PRODUCT_WORDS = """Best Practices|Getting Started|Quick Start|Release Notes|Two-Factor Authentication|Single Sign-On
|Bank Feeds|Payment Methods|Account Settings|Troubleshooting|Frequently Asked Questions|Before You Begin
|What Happens Next|Growth Plan|Scale Plan|Starter Plan|Pro Plan|Business Plan|Admin Console|Team Members
|Recovery Codes|Security Key|Authenticator App|Invoice Templates|Custom Branding|Payment Links|Late Fees
|Recurring Invoices|Credit Notes|Batch Labels|Return Labels|Tracking Page|Pickup Points|Customs Declarations
|Rate Limits|Webhooks|API Keys|OAuth Apps|Audit Log|Data Export|Privacy Center|Status Page|Smart Routing
|Auto Reconcile|Bank Rules|Expense Claims|Time Tracking|Project Billing|Multi-Currency|Tax Rates|Chart of Accounts
|Sales Tax|Purchase Orders|Cost Centers|Profit and Loss|Balance Sheet|Cash Flow|Help Center|Community Forum""".replace(
    "\n", ""
).split("|")
SIGN_OFF_ONLY = """Viele Grüße|Mit freundlichen Grüßen|Beste Grüße|Liebe Grüße|Herzliche Grüße|Schöne Grüße|Freundliche Grüße
|Cordialement|Bien cordialement|Bien à vous|Saludos|Un saludo|Atentamente|Cordiali saluti|Distinti saluti
|Met vriendelijke groet|Groetjes|Pozdrawiam|Z poważaniem|Saygılarımla|Atenciosamente|Abraços|Best regards
|Kind regards|Many thanks|Cheers|Thanks again|Warm regards|Regards""".replace("\n", "").split("|")

# The examples the rule finders got wrong stay in training; of the rest, every fourth goes to dev
# only, so that the dev split measures brands, places and words the model has never seen.
KNOWN_HARD = {"Ted Baker", "Calvin Klein", "Victoria Island", "George Street", "Zwei-Faktor", "Best Practices",
              "Viele Grüße"}  # fmt: skip


def split_list(items: list[str]) -> tuple[list[str], list[str]]:
    train = [x for i, x in enumerate(items) if i % 4 != 3 or x in KNOWN_HARD]
    dev = [x for i, x in enumerate(items) if i % 4 == 3 and x not in KNOWN_HARD]
    return train, dev


NEG_LISTS = {"brand": split_list(BRANDS), "place": split_list(PLACES), "product": split_list(PRODUCT_WORDS),
             "de_noun": split_list(DE_NOUNS), "sign_only": split_list(SIGN_OFF_ONLY)}  # fmt: skip

# ---------------------------------------------------------------------------------------------
# Rendering: a template is a string with {slots}; a slot is plain text or labelled segments.

Segment = tuple[str, str | None]


def ent(text: str, label: str) -> list[Segment]:
    return [(text, label)]


def render(template: str, slots: dict[str, str | list[Segment]]) -> tuple[str, list[tuple[int, int, str]]]:
    """The text and its labelled spans; ``{name}`` in the template is replaced by ``slots[name]``."""
    parts: list[str] = []
    spans: list[tuple[int, int, str]] = []
    pos = 0
    for piece in re.split(r"(\{\w+\})", template):
        is_slot = piece.startswith("{") and piece.endswith("}") and piece[1:-1] in slots
        value: str | list[Segment] = slots[piece[1:-1]] if is_slot else piece
        segments = [(value, None)] if isinstance(value, str) else value
        for text, label in segments:
            if label and text:
                spans.append((pos, pos + len(text), label))
            parts.append(text)
            pos += len(text)
    return "".join(parts), spans


def lower_keep_length(text: str) -> str:
    """Lowercase, except characters whose lowercase is longer ("İ"), so that offsets stay valid."""
    return "".join(c.lower() if len(c.lower()) == 1 else c for c in text)


def ascii_fold(text: str) -> str:
    """German-style transliteration without umlauts: "Leopoldstraße München" -> "Leopoldstrasse Muenchen"."""
    text = text.replace("ß", "ss").replace("ä", "ae").replace("ö", "oe").replace("ü", "ue")
    text = text.replace("Ä", "Ae").replace("Ö", "Oe").replace("Ü", "Ue")
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


# ---------------------------------------------------------------------------------------------
# People and addresses


@dataclass(frozen=True)
class Person:
    first: str
    last: str
    middle: str = ""
    family_first: bool = False  # Vietnamese, Chinese, Japanese, Korean and Hungarian order

    def full(self) -> str:
        if self.family_first:
            return " ".join(p for p in (self.last, self.middle, self.first) if p)
        return " ".join(p for p in (self.first, self.middle, self.last) if p)


class World:
    """Seeded sources of people, addresses and companies."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.fakers: dict[str, Faker] = {}
        for i, locale in enumerate(LOCALES):
            fake = Faker(locale)
            fake.seed_instance(seed * 1000 + i)
            self.fakers[locale] = fake
        self.locales = list(LOCALES)
        self.weights = list(LOCALES.values())

    def locale(self, prefer: Sequence[str] = ()) -> str:
        if prefer and self.rng.random() < 0.7:
            return self.rng.choice(list(prefer))
        return self.rng.choices(self.locales, self.weights)[0]

    def person(self, locale: str | None = None) -> Person:
        loc = locale or self.locale()
        fake = self.fakers[loc]
        r = self.rng
        if loc == "ja_JP":
            return Person(fake.first_romanized_name(), fake.last_romanized_name(), family_first=r.random() < 0.3)
        if loc == "zh_CN":
            return Person(fake.first_romanized_name(), fake.last_romanized_name(), family_first=r.random() < 0.5)
        if loc == "ko_KR":
            return Person(r.choice(KO_GIVEN), r.choice(KO_FAMILY), family_first=r.random() < 0.4)
        if loc == "ar_AA":
            return Person(
                r.choice(AR_GIVEN), r.choice(AR_FAMILY), middle=r.choice(["", "", "bin " + r.choice(AR_GIVEN)])
            )
        if loc == "ru_RU":
            if r.random() < 0.25:
                return Person(fake.first_name(), fake.last_name())
            return Person(r.choice(RU_GIVEN), r.choice(RU_FAMILY))
        if loc == "vi_VN":
            return Person(r.choice(VI_GIVEN), fake.last_name(), middle=fake.middle_name(), family_first=True)
        if loc == "hu_HU":
            return Person(fake.first_name(), fake.last_name(), family_first=r.random() < 0.5)
        first, last = fake.first_name(), fake.last_name()
        middle = ""
        if loc.startswith("es_") or loc.startswith("pt_"):
            if r.random() < 0.5:
                last = f"{last} {fake.last_name()}"
            if r.random() < 0.25:
                middle = fake.first_name()
        elif loc in ("en_US", "en_PH", "yo_NG", "zu_ZA") and r.random() < 0.15:
            middle = fake.first_name() if r.random() < 0.6 else fake.first_name()[0] + "."
        elif loc.startswith("de_") and r.random() < 0.1:
            first = f"{first}-{fake.first_name()}"
        return Person(first, last, middle)

    def company(self, locale: str | None = None) -> str:
        return str(self.fakers[locale or self.locale()].company())

    def city(self, locale: str | None = None) -> str:
        return str(self.fakers[locale or self.locale()].city())

    def address(self, locale: str | None = None) -> list[str]:
        """The lines of one address, street first, through city and postcode, no country."""
        loc = locale or self.locale()
        kind = ADDRESS_FALLBACK.get(loc, loc)
        r = self.rng
        if kind in ("ja", "vi", "tr", "in", "ng", "es") or (kind in ("en_US", "en_GB") and r.random() < 0.5):
            lines = CUSTOM_ADDRESS[kind](r, self.fakers)
        else:
            lines = [line.strip() for line in str(self.fakers[kind].address()).split("\n") if line.strip()]
        if loc.startswith("de_") and r.random() < 0.25:
            lines = [ascii_fold(line) for line in lines]
        return lines


def _us_address(r: random.Random, f: dict[str, Faker]) -> list[str]:
    fake = f["en_US"]
    street = r.choice(
        [
            f"{r.choice(US_WORDS)} {r.choice(US_WORDS2)}",
            str(fake.last_name()),
            r.choice(US_WORDS),
            f"{r.randint(1, 99)}th",
        ]
    )
    suffix = r.choice(US_SUFFIXES)
    line = f"{r.randint(1, 99999)} {r.choice(['', '', '', 'N ', 'S ', 'E ', 'W '])}{street} {suffix}"
    extra = r.choice(["", "", "", f", Apt {r.randint(1, 40)}{r.choice('ABCD')}", f", Suite {r.randint(100, 2400)}",
                      f", Unit {r.choice('ABCDEF')}", f" #{r.randint(2, 900)}"])  # fmt: skip
    city = f"{fake.city()}, {fake.state_abbr()} {fake.zipcode()}"
    return [line + extra, city]


def _gb_address(r: random.Random, f: dict[str, Faker]) -> list[str]:
    fake = f["en_GB"]
    pre = r.choice(["", "", "", f"Flat {r.randint(1, 30)}, ", f"Unit {r.randint(1, 12)}, ", f"{r.choice(GB_HOUSES)}, "])
    line = f"{pre}{r.randint(1, 240)} {r.choice([*US_WORDS, str(fake.last_name())])} {r.choice(GB_SUFFIXES)}"
    town = r.choice([str(fake.city()), r.choice(GB_TOWNS)])
    district = r.choice(["", "", f"{r.choice(GB_TOWNS)}, "])
    return [line, f"{district}{town} {fake.postcode()}"]


def _in_address(r: random.Random, f: dict[str, Faker]) -> list[str]:
    fake = f["en_IN"]
    if r.random() < 0.3:
        return [line.strip() for line in str(fake.address()).split("\n") if line.strip()]
    first = r.choice([f"Flat {r.randint(1, 20)}0{r.randint(1, 9)}", f"Plot No. {r.randint(1, 400)}",
                      f"H.No. {r.randint(1, 99)}-{r.randint(1, 9)}-{r.randint(10, 999)}", f"#{r.randint(1, 999)}",
                      f"{r.randint(1, 200)}/{r.randint(1, 20)}"])  # fmt: skip
    building = r.choice(["", f", {r.choice(IN_BUILDINGS)}"])
    road = r.choice([f"{r.randint(1, 20)}th Cross", f"{r.randint(1, 12)}th Main", "MG Road", f"{fake.last_name()} Road",
                     f"Sector {r.randint(1, 80)}", f"{fake.last_name()} Nagar", "Link Road", "Station Road"])  # fmt: skip
    area = r.choice(IN_AREAS)
    city, state = r.choice(IN_CITIES)
    pin = f"{r.randint(11, 85)}{r.randint(0, 9999):04d}"
    tail = r.choice([f"{city} {pin}", f"{city} - {pin}", f"{city}, {state} {pin}", f"{city}-{pin}"])
    return [f"{first}{building}, {road}", f"{area}, {tail}"]


def _ja_address(r: random.Random, f: dict[str, Faker]) -> list[str]:
    if r.random() < 0.1:
        return [str(f["ja_JP"].address())]
    district, ward, city = r.choice(JA_PLACES)
    block = f"{r.randint(1, 9)}-{r.randint(1, 30)}-{r.randint(1, 20)}"
    post = f"{r.randint(100, 999)}-{r.randint(0, 9999):04d}"
    building = r.choice(["", "", f" {r.choice(JA_BUILDINGS)} {r.randint(1, 12)}0{r.randint(1, 9)}"])
    return r.choice(
        [
            [f"{block} {district}{building}", f"{ward}-ku, {city} {post}"],
            [f"{district} {block}{building}, {ward}-ku", f"{city} {post}"],
            [f"〒{post} {city}-to {ward}-ku {district} {block}"]
            if city == "Tokyo"
            else [f"{block} {district}, {ward}-ku, {city}"],
        ]
    )


def _vi_address(r: random.Random, f: dict[str, Faker]) -> list[str]:
    if r.random() < 0.3:
        return [str(f["vi_VN"].address()).replace("\n", ", ")]
    street = r.choice(VI_STREETS)
    ward, district, city = r.choice(VI_PLACES)
    num = r.choice([str(r.randint(1, 400)), f"{r.randint(1, 200)}/{r.randint(1, 40)}", f"Số {r.randint(1, 300)}"])
    lines = [f"{num} {r.choice(['', '', 'Đường ', 'đường '])}{street}", f"Phường {ward}, Quận {district}, {city}"]
    if r.random() < 0.35:
        lines = [ascii_fold(line) for line in lines]
    return lines


def _tr_address(r: random.Random, f: dict[str, Faker]) -> list[str]:
    street = r.choice(TR_STREETS)
    district, city = r.choice(TR_PLACES)
    post = f"{r.randint(1, 81):02d}{r.randint(0, 999):03d}"
    line = f"{street} {r.choice(['Cad.', 'Caddesi', 'Sok.', 'Sokak', 'Bulvarı'])} No: {r.randint(1, 180)}"
    line += r.choice(["", f" D: {r.randint(1, 30)}", f" Daire {r.randint(1, 30)}", f"/{r.randint(1, 20)}"])
    return r.choice([[line, f"{post} {district}/{city}"], [f"{line}, {district}", f"{city} {post}"]])


def _ng_address(r: random.Random, f: dict[str, Faker]) -> list[str]:
    fake = f["yo_NG"]
    line = f"{r.randint(1, 120)} {fake.last_name()} {r.choice(['Street', 'Road', 'Close', 'Crescent', 'Avenue'])}"
    return [
        line,
        f"{r.choice(NG_AREAS)}, {r.choice(['Lagos', 'Abuja', 'Ibadan', 'Port Harcourt'])} {r.randint(100001, 110001)}",
    ]


def _es_address(r: random.Random, f: dict[str, Faker]) -> list[str]:
    fake = f["es_ES"]
    street = r.choice([str(fake.street_name()), f"Calle {fake.last_name()}", "Calle Mayor", "Gran Vía", "C/ Serrano"])
    floor = r.choice(["", "", f", {r.randint(1, 8)}º {r.choice('ABCD')}", f", {r.randint(1, 6)}º izq.", ", bajo"])
    return [f"{street}, {r.randint(1, 220)}{floor}", f"{fake.postcode()} {fake.city()}"]


US_WORDS = ("Maple Oak Cedar Pine Elm Birch Willow Park Lake Hill River Main Church Mill Station Highland Sunset "
            "Meadow Spring Forest Valley Ridge Harbor Mulberry Chestnut Walnut Hickory Pecan Magnolia Aspen "
            "Sycamore Laurel Quarry Calder Brook Glen Orchard Belmont Franklin Lincoln Madison Jefferson").split()  # fmt: skip
US_WORDS2 = "Ridge Hollow Bend Creek Grove Hills View Point Crossing Springs Run Park Trace Meadows".split()
US_SUFFIXES = ("St Street Ave Avenue Dr Drive Rd Road Blvd Boulevard Ln Lane Ct Court Pl Place Pkwy Parkway Way "
               "Ter Terrace Cir Hwy Trail").split()  # fmt: skip
GB_SUFFIXES = "Road Street Lane Avenue Close Row Crescent Gardens Mews Grove Way Terrace Drive Place Hill Walk".split()
GB_HOUSES = "Rose Cottage|The Old Rectory|Glenburn Workshops|Ivy House|Mill Court|Riverside House|Orchard View".split(
    "|"
)
GB_TOWNS = ("London Manchester Leeds Bristol Sheffield Kilmarnock Bangor Islington Hackney Salford Oxford Cambridge "
            "Brighton Norwich Exeter York Bath Derby Leicester Reading Swansea Aberdeen Dundee Belfast").split()  # fmt: skip
IN_BUILDINGS = ("Sai Residency|Shanti Apartments|Green Park Towers|Lotus Enclave|Prestige Shantiniketan|Sunrise Heights"
                "|Brigade Gateway|Krishna Kunj").split("|")  # fmt: skip
IN_AREAS = ("Indiranagar|Koramangala|Whitefield|Andheri West|Bandra East|Powai|Salt Lake|Banjara Hills|Jubilee Hills"
            "|Adyar|T. Nagar|Kothrud|Viman Nagar|Sector 62|DLF Phase 3|Vaishali Nagar|Navrangpura").split("|")  # fmt: skip
IN_CITIES = [("Bengaluru", "Karnataka"), ("Mumbai", "Maharashtra"), ("Kolkata", "West Bengal"), ("Hyderabad", "Telangana"),
             ("Chennai", "Tamil Nadu"), ("Pune", "Maharashtra"), ("Noida", "Uttar Pradesh"), ("Gurugram", "Haryana"),
             ("Jaipur", "Rajasthan"), ("Ahmedabad", "Gujarat"), ("Kochi", "Kerala"), ("New Delhi", "Delhi")]  # fmt: skip
JA_PLACES = [("Jingumae", "Shibuya", "Tokyo"), ("Ebisu", "Shibuya", "Tokyo"), ("Ginza", "Chuo", "Tokyo"),
             ("Roppongi", "Minato", "Tokyo"), ("Akasaka", "Minato", "Tokyo"), ("Nishi-Shinjuku", "Shinjuku", "Tokyo"),
             ("Hongo", "Bunkyo", "Tokyo"), ("Umeda", "Kita", "Osaka"), ("Namba", "Chuo", "Osaka"),
             ("Sakae", "Naka", "Nagoya"), ("Tenjin", "Chuo", "Fukuoka"), ("Minatomirai", "Nishi", "Yokohama"),
             ("Karasuma", "Nakagyo", "Kyoto"), ("Sannomiya", "Chuo", "Kobe"), ("Kita-Aoyama", "Minato", "Tokyo")]  # fmt: skip
JA_BUILDINGS = ["Aoyama Bldg.", "Sakura Mansion", "Heights Ebisu", "Tower", "Residence", "Corpo"]
VI_STREETS = ("Lê Lợi|Nguyễn Huệ|Trần Hưng Đạo|Hai Bà Trưng|Điện Biên Phủ|Lý Thường Kiệt|Nguyễn Trãi|Phan Chu Trinh"
              "|Võ Văn Tần|Pasteur|Cách Mạng Tháng Tám|Lạc Long Quân|Hoàng Diệu|Bà Triệu|Nguyễn Thị Minh Khai").split("|")  # fmt: skip
VI_PLACES = [("Bến Nghé", "1", "TP. Hồ Chí Minh"), ("Bến Thành", "1", "TP.HCM"), ("Võ Thị Sáu", "3", "TP. Hồ Chí Minh"),
             ("Hàng Bạc", "Hoàn Kiếm", "Hà Nội"), ("Thanh Xuân Trung", "Thanh Xuân", "Hà Nội"),
             ("Thạc Gián", "Thanh Khê", "Đà Nẵng"), ("Tân Định", "1", "TP. Hồ Chí Minh")]  # fmt: skip
TR_STREETS = (
    "Atatürk|Bağdat|İstiklal|Cumhuriyet|Gazi Mustafa Kemal|Fevzi Çakmak|Barbaros|Halaskargazi|Mimar Sinan".split("|")
)
TR_PLACES = [("Kadıköy", "İstanbul"), ("Beşiktaş", "İstanbul"), ("Şişli", "İstanbul"), ("Çankaya", "Ankara"),
             ("Konak", "İzmir"), ("Nilüfer", "Bursa"), ("Muratpaşa", "Antalya")]  # fmt: skip
COUNTRIES = ["Germany", "Deutschland", "UK", "United Kingdom", "France", "USA", "India", "Japan", "Spain", "España",
             "Poland", "Việt Nam", "Vietnam", "Türkiye", "Nigeria", "Österreich", "Schweiz", "Italia", "Brasil"]  # fmt: skip
NG_AREAS = ["Victoria Island", "Lekki Phase 1", "Ikeja GRA", "Yaba", "Surulere", "Wuse 2", "Garki", "Bodija"]

CUSTOM_ADDRESS: dict[str, Callable[[random.Random, dict[str, Faker]], list[str]]] = {
    "en_US": _us_address, "en_GB": _gb_address, "in": _in_address, "ja": _ja_address, "vi": _vi_address,
    "tr": _tr_address, "ng": _ng_address, "es": _es_address,
}  # fmt: skip


# ---------------------------------------------------------------------------------------------
# Help-center text: headings and sentences without personal data, for negatives.


def helpcenter_lines() -> dict[str, list[str]]:
    """Non-PII lines of the sample help center, split by file into the train and dev halves."""
    halves: dict[str, list[str]] = {"train": [], "dev": []}
    for path in sorted(HELPCENTER.rglob("*")):
        if not path.is_file() or any(name in path.name for name in PLANTED_PII_FILES):
            continue
        texts: list[str] = []
        raw = (
            path.read_text(encoding="utf-8", errors="ignore")
            if path.suffix in (".md", ".txt", ".html", ".json")
            else ""
        )
        if path.suffix == ".json" and not path.name.endswith(".meta.json"):
            try:
                rows = json.loads(raw)
            except json.JSONDecodeError:
                continue
            items = rows if isinstance(rows, list) else rows.get("articles", []) if isinstance(rows, dict) else []
            for row in items:
                if isinstance(row, dict) and str(row.get("id", "")) not in ("LED-1037", "LED-1053", "LED-1054"):
                    texts += [str(row.get("title", "")), _strip_html(str(row.get("body", "")))]
        elif path.suffix == ".html":
            texts.append(_strip_html(raw))
        elif path.suffix in (".md", ".txt"):
            texts.append(re.sub(r"\A---\n.*?\n---\n", "", raw, flags=re.S))
        half = "dev" if int(hashlib.sha1(path.name.encode()).hexdigest(), 16) % 3 == 0 else "train"
        for text in texts:
            for line in text.splitlines():
                line = re.sub(r"^[#>*\-\d. ]+|[*_`]|\[([^\]]*)\]\([^)]*\)", lambda m: m.group(1) or "", line).strip()
                if 3 <= len(line) <= 400 and "@" not in line and not re.search(r"\d{3}[ -]?\d{3,}", line):
                    halves[half].append(line)
    return halves


def _strip_html(raw: str) -> str:
    raw = re.sub(r"(?is)<(script|style|head)\b.*?</\1>", " ", raw)
    raw = re.sub(r"(?i)<br\s*/?>|</(p|li|h\d|div|tr|td|th|dt|dd)>", "\n", raw)
    return html.unescape(re.sub(r"<[^>]+>", "", raw))


FOREIGN_TRAIN = [
    "Ich habe die Rechnung heute Morgen erneut heruntergeladen, aber der Betrag stimmt immer noch nicht.",
    "Können Sie mir bitte sagen, wann die Gutschrift auf meinem Konto erscheint?",
    "Der Export bricht nach ein paar Sekunden mit einer Fehlermeldung ab.",
    "Unser Steuerberater braucht die Belege bis Ende der Woche.",
    "Beim Anmelden kommt jedes Mal die Meldung, dass der Code ungültig ist.",
    "Die Sendung liegt seit Dienstag im Paketzentrum.",
    "Bitte stornieren Sie die doppelte Abbuchung.",
    "Wir haben das Abo gekündigt, werden aber weiterhin belastet.",
    "J'ai changé de carte bancaire et le paiement a échoué.",
    "Pouvez-vous m'envoyer une copie de la facture ?",
    "Le suivi indique que le colis est bloqué en douane.",
    "Notre comptable n'arrive pas à se connecter.",
    "Merci de supprimer mon compte et toutes mes données.",
    "Depuis la mise à jour, l'application plante.",
    "El envío lleva una semana sin moverse.",
    "Quisiera cambiar el plan a Growth a partir del mes que viene.",
    "Me cobraron dos veces la misma factura.",
    "¿Cómo descargo todas las facturas en PDF?",
    "La aplicación no sincroniza los recibos.",
    "Il corriere dice che l'indirizzo è incompleto.",
    "Vorrei disdire l'abbonamento dal prossimo mese.",
    "La fattura riporta la partita IVA sbagliata.",
    "Ik krijg geen verificatiecode per sms.",
    "De factuur klopt niet, het btw-bedrag is te hoog.",
    "Kunnen jullie het pakket terugsturen?",
    "Przesyłka utknęła w sortowni od tygodnia.",
    "Proszę o fakturę korygującą.",
    "Nie dostałem kodu weryfikacyjnego.",
    "Gostaria de cancelar a assinatura.",
    "A etiqueta de devolução não imprime.",
    "O pagamento foi recusado duas vezes.",
    "Siparişim hâlâ teslim edilmedi.",
    "Fatura adresimi değiştirmek istiyorum.",
    "Şifre sıfırlama bağlantısı çalışmıyor.",
    "Tôi bị trừ tiền hai lần cho cùng một hóa đơn.",
    "Gói hàng của tôi vẫn chưa được giao.",
    "Vui lòng gửi lại mã xác nhận.",
    "Jag kan inte logga in sedan i går.",
    "Fakturaen er ikke kommet frem.",
    "Nemohu stáhnout fakturu.",
    "Nu primesc codul de verificare.",
    "Nem tudok belépni a fiókomba.",
]

# ---------------------------------------------------------------------------------------------
# Phrase lists. Each has a train list and a dev list with different wording.

P: dict[str, tuple[list[str], list[str]]] = {
    "greet": (
        ["Hi {n},", "Hello {n},", "Dear {n},", "Hey {n}!", "Hallo {n},", "Bonjour {n},", "Hola {n},", "Ciao {n},",
         "Hi {n} -", "Good afternoon {n},", "Sehr geehrte Frau {n},", "Liebe {n},", "Cześć {n},", "Olá {n},",
         "Merhaba {n},", "Xin chào {n},", "Hej {n},", "Dear Mr. {n},", "Hi there {n},", "Moin {n},", "Servus {n},",
         "Grüß Gott {n},", "Coucou {n},", "Bonsoir {n},", "Buenas {n},", "Querido {n},", "Estimada {n}:", "Caro {n},",
         "Gentile {n},", "Szanowny Panie {n},", "Prezado {n},", "Goedendag {n},", "Sayın {n},", "Chào {n},",
         "Namaste {n} ji,", "Howdy {n},", "Hey there {n},", "Evening {n},", "Afternoon {n} -", "Hallo Herr {n},",
         "Bonjour Madame {n},", "Hola de nuevo {n},", "Dear Dr. {n},", "@{n} ", "{n},", "{n} -"],
        ["Good morning {n}!", "Morning {n},", "Hiya {n},", "Guten Tag {n},", "Salut {n},", "Buenos días {n},",
         "Buongiorno {n},", "Dzień dobry {n},", "Beste {n},", "Hi again {n},", "Greetings {n},", "Dear Ms {n},",
         "Oi {n},", "Hoi {n},"],
    ),
    "greet_plain": (
        ["Hi,", "Hello,", "Hi there,", "Hello support,", "Hallo zusammen,", "Bonjour,", "Hola,", "To whom it may concern,",
         "Hi team,", "Hey,"],
        ["Good day,", "Guten Tag,", "Dear support team,", "Buenas tardes,", "Hello Ledgerly team,", "Hi folks,"],
    ),
    "signoff": (
        ["Thanks,", "Thank you,", "Best regards,", "Kind regards,", "Cheers,", "Viele Grüße,", "Mit freundlichen Grüßen",
         "Cordialement,", "Saludos,", "Cordiali saluti,", "Met vriendelijke groet,", "Pozdrawiam,", "Best,", "Regards,",
         "Many thanks,", "Atenciosamente,", "Saygılarımla,", "Thx,", "-- ", "Sent from my iPhone\n", "Grüße,",
         "Gruß", "LG", "VG", "MfG", "Bises,", "Amicalement,", "Besos,", "Saluti,", "Groeten,", "Pozdrowienia,",
         "Obrigado,", "İyi çalışmalar,", "Best wishes,", "Talk soon,", "Yours truly,", "Respectfully,",
         "With thanks,", "Thanks in advance,", "TIA,", "Danke und Gruß,", "Merci d'avance,", "Gracias,", "Grazie,",
         "Dziękuję,", "Teşekkürler,", "Cảm ơn,", "Thanks!", "Rgds,", "Mit besten Grüßen"],
        ["Warm regards,", "All the best,", "Thanks so much,", "Beste Grüße,", "Liebe Grüße", "Bien à vous,",
         "Un saludo,", "Distinti saluti,", "Groetjes,", "Z poważaniem,", "Abraços,", "Take care,", "Sincerely,",
         "Yours faithfully,", "Cheers!", "Ta,"],
    ),
    "body": (
        ["I can't log in since this morning and the reset link says it expired.",
         "We were charged twice for the Growth plan this month.",
         "The invoice PDF shows the wrong VAT number.", "Our bank feed disconnected again after the update.",
         "Can you tell me how to export all invoices as CSV?", "The label printer keeps printing blank pages.",
         "I need to change the owner of our account.", "Two-factor codes from the app are rejected.",
         "The parcel has been stuck in transit for a week.", "Please cancel my subscription at the end of the month.",
         "The Stripe payout does not match the amount in Ledgerly.", "I was locked out after too many attempts.",
         "Ich kann mich seit gestern nicht mehr anmelden.", "Die Rechnung wurde doppelt abgebucht.",
         "Je n'arrive pas à télécharger ma facture.", "No puedo cambiar mi método de pago.",
         "Non riesco a esportare i dati.", "Mijn pakket is nog steeds niet bezorgd.",
         "Nie mogę się zalogować do konta.", "Não consigo atualizar meu cartão.", "Faturamı indiremiyorum.",
         "Tôi không thể đăng nhập vào tài khoản.", "The app crashes when I open Reports on Android.",
         "Is there a way to bulk print return labels?", "We moved offices, so please update our details."],
        ["Since the last release the dashboard takes ages to load.", "Our refund has not arrived after ten days.",
         "How do I add a second admin to the workspace?", "The tracking page shows the wrong carrier.",
         "My card was declined although it is valid.", "Please send me a copy of last year's invoices.",
         "Seit dem Update fehlt der Export-Button.", "Le colis est marqué livré mais je ne l'ai pas reçu.",
         "La factura tiene un error en el importe.", "Il pagamento risulta ancora in sospeso.",
         "Paczka wróciła do nadawcy.", "O rastreio não atualiza há dias.", "Kargo takip numarası çalışmıyor.",
         "Webhook deliveries fail with a 401 since Friday.", "Could you extend our trial by a week?"],
    ),
    "addr_intro": (
        ["My new address is {a}.", "Please ship it to {a}.", "Billing address: {a}", "Rechnungsadresse: {a}",
         "Lieferadresse: {a}", "Adresse : {a}", "Dirección: {a}", "Indirizzo: {a}", "Adres: {a}",
         "we moved to {a} last month", "the package was delivered to {a} instead of our office",
         "Address on file should be {a}, not the old one.", "Endereço: {a}", "Adres dostawy: {a}",
         "Địa chỉ: {a}", "Please send the replacement to {a} and not to the warehouse."],
        ["Could you update our address to {a}?", "Send the invoice to {a} please.", "Our office is now at {a}.",
         "Neue Anschrift: {a}", "Nouvelle adresse de livraison : {a}", "Enviar a: {a}", "Spedire a: {a}",
         "Bezorgadres: {a}", "the courier left it at {a} which is my neighbour's", "I live at {a}.",
         "Registered office: {a}", "Teslimat adresi: {a}", "Nowy adres: {a}"],
    ),
    "third_party": (
        ["My colleague {n} set up the account.", "Please add my accountant {n} as a user.",
         "I spoke with your agent {n} yesterday.", "{n} from our finance team will take over.",
         "Our bookkeeper, {n}, can't see the invoices.", "Can you transfer ownership to {n}?",
         "Mein Kollege {n} hat das Konto eingerichtet.", "Mon collègue {n} s'occupe de la facturation.",
         "Mi compañera {n} no recibe los correos.", "cc'ing {n} who handles our shipping",
         "Sent by {n} via the Ledgerly app", "Submitted by {n}", "Requested by: {n}", "Assigned to {n}.",
         "Contact person: {n}", "Owner: {n}", "Ansprechpartner: {n}", "Interlocuteur : {n}",
         "I already emailed {n} about it.", "{n} said you would call back.", "Thanks to {n} for the help!"],
        ["{n} in accounting says the export is empty.", "Your colleague {n} promised a callback.",
         "I'm writing on behalf of {n}, who is travelling.", "The parcel was signed for by {n}.",
         "Meine Chefin {n} braucht Admin-Rechte.", "Le compte appartient à {n}.",
         "Il nostro contabile {n} ha bisogno dell'accesso.", "ask {n} if you need the order numbers"],
    ),
    "negative": (
        ["I ordered a {brand} jacket and the parcel went missing.", "We sell {brand} products in our shop.",
         "Our store near {place} is closed on {weekday}.", "The invoice from {month} is missing.",
         "Since {month} 1st the export fails.", "Can you deliver to our {place} branch?",
         "The {product} page does not load.", "Where do I find {product}?", "Wo finde ich die {de_noun}?",
         "Die {de_noun} funktioniert nicht.", "We switched from {brand} to Ledgerly.", "{sign_only}",
         "The meeting is on {month} 3.", "Was ist mit der {de_noun} passiert?", "I read the {product} article.",
         "Our team flies out of {place} every {weekday}."],
        ["Do you integrate with {brand}?", "My {brand} order was charged twice.", "Our warehouse is in {place}.",
         "Payment on {month} 14th failed.", "Bitte erklären Sie die {de_noun}.", "I followed {product} step by step.",
         "{place} customers get next-day delivery.", "The {brand} outlet wants a refund.",
         "Renewal is due in {month}.", "Die {de_noun} fehlt seit {month}."],
    ),
}  # fmt: skip


def phrase(key: str, split: str, r: random.Random) -> str:
    train, dev = P[key]
    return r.choice(train if split == "train" else dev)


# ---------------------------------------------------------------------------------------------
# Templates


class Gen:
    """Renders one text of a template; `split` selects the template family and phrase lists."""

    def __init__(self, world: World, split: str, hc_lines: list[str]) -> None:
        self.w = world
        self.r = world.rng
        self.split = split
        self.hc = hc_lines

    # name forms ------------------------------------------------------------------------------
    def name(self, p: Person, style: str | None = None) -> str:
        r = self.r
        style = (
            style
            or r.choices(
                ["full", "first", "initial", "comma", "caps", "lower", "nick", "first_initial", "last"],
                [40, 22, 5, 4, 3, 5, 4, 4, 3],
            )[0]
        )
        if style == "first":
            return p.first
        if style == "last":
            return p.last
        if style == "initial":
            return f"{p.first[0]}. {p.last}"
        if style == "first_initial":
            return f"{p.first} {p.last[0]}."
        if style == "comma":
            return f"{p.last}, {p.first}"
        if style == "caps":
            return r.choice([f"{p.last.upper()} {p.first}", p.full().upper()])
        if style == "lower":
            return r.choice([lower_keep_length(p.full()), lower_keep_length(p.first)])
        if style == "nick":
            nick = NICKNAMES.get(p.first)
            return r.choice(nick) if nick else p.first
        return p.full()

    def n(self, p: Person | None = None, style: str | None = None, title: bool = False) -> list[Segment]:
        p = p or self.w.person()
        segs: list[Segment] = []
        if title and self.r.random() < 0.5:
            segs.append((self.r.choice(TITLES) + " ", None))
        segs.append((self.name(p, style), "PERSON"))
        return segs

    def a(self, lines: list[str] | None = None, layout: str | None = None) -> list[Segment]:
        lines = lines or self.w.address()
        r = self.r
        layout = layout or r.choices(["comma", "newline", "slash", "space", "street"], [56, 24, 7, 6, 7])[0]
        if layout == "street":  # the street line alone is an address too
            return ent(lines[0], "STREET_ADDRESS")
        if len(lines) == 1 or layout == "comma":
            country = r.choice(COUNTRIES) if r.random() < 0.1 else ""
            return [(", ".join(lines), "STREET_ADDRESS"), (f", {country}" if country else "", None)]
        if layout == "slash":
            return ent(" / ".join(lines), "STREET_ADDRESS")
        if layout == "space":
            return ent(" ".join(lines), "STREET_ADDRESS")
        return ent("\n".join(lines), "STREET_ADDRESS")

    def neg_slots(self) -> dict[str, str | list[Segment]]:
        r = self.r
        k = 0 if self.split == "train" else 1
        slots: dict[str, str | list[Segment]] = {key: r.choice(lists[k]) for key, lists in NEG_LISTS.items()}
        slots.update({"month": r.choice(MONTHS), "weekday": r.choice(WEEKDAYS)})
        return slots

    def negative_sentence(self) -> str:
        text, _ = render(phrase("negative", self.split, self.r), self.neg_slots())
        return text

    def body(self, k: int | None = None) -> str:
        r = self.r
        out = []
        for _ in range(k if k is not None else r.randint(1, 3)):
            x = r.random()
            if x < 0.12 and self.split == "train":
                out.append(r.choice(FOREIGN_TRAIN))
            elif x < 0.55:
                out.append(phrase("body", self.split, r))
            elif x < 0.75 and self.hc:
                out.append(r.choice(self.hc))
            else:
                out.append(self.negative_sentence())
        return " ".join(out)

    def signature(self, p: Person, loc: str) -> tuple[str, dict[str, str | list[Segment]]]:
        r = self.r
        lines = ["{sig}"]
        if r.random() < 0.5:
            lines.append(r.choice(["Office Manager", "Owner", "Head of Finance", "Geschäftsführer", "Directeur",
                                   "Bookkeeper", "CEO", "Operations Lead", "Inhaberin", "Gerente"]))  # fmt: skip
        if r.random() < 0.6:
            lines.append(self.w.company(loc))
        if r.random() < 0.3:
            lines.append("{sig_addr}")
        if r.random() < 0.5:
            lines.append(r.choice(["Tel. +49 30 1234567", "(503) 555-0148", "cell 312.555.0199", "<PHONE_NUMBER>",
                                   "+44 20 7946 0958", "Mob: +91 98450 12345", "tel. 06 12 34 56 78"]))  # fmt: skip
        slots: dict[str, str | list[Segment]] = {
            "sig": self.n(p, r.choices(["full", "first", "lower", "initial", "nick"], [60, 25, 5, 5, 5])[0])
        }
        if "{sig_addr}" in lines:
            slots["sig_addr"] = self.a(self.w.address(loc), r.choice(["comma", "newline"]))
        return "\n".join(lines), slots

    # the templates -------------------------------------------------------------------------------
    def email(self) -> tuple[str, list[tuple[int, int, str]]]:
        r, s = self.r, self.split
        loc = self.w.locale()
        p = self.w.person(loc)
        parts: list[str] = []
        slots: dict[str, str | list[Segment]] = {}
        if r.random() < 0.5:
            agent = self.w.person()
            parts.append(phrase("greet", s, r).replace("{n}", "{agent}"))
            slots["agent"] = self.n(agent, r.choice(["first", "first", "full", "lower"]))
        else:
            parts.append(phrase("greet_plain", s, r))
        parts.append(self.body())
        if r.random() < 0.35:
            parts.append(phrase("addr_intro", s, r).replace("{a}", "{addr}"))
            slots["addr"] = self.a(self.w.address(loc if r.random() < 0.7 else None))
        if r.random() < 0.3:
            parts.append(phrase("third_party", s, r).replace("{n}", "{other}"))
            slots["other"] = self.n(None, None, title=True)
        if r.random() < 0.4:
            parts.append(self.body(1))
        sig, sig_slots = self.signature(p, loc)
        slots.update(sig_slots)
        sep = r.choice(["\n\n", "\n", " "])
        text = sep.join(parts) + r.choice(["\n\n", "\n"]) + phrase("signoff", s, r) + r.choice(["\n", " "]) + sig
        return render(text, slots)

    def chat(self) -> tuple[str, list[tuple[int, int, str]]]:
        r = self.r
        cust, agent = self.w.person(), self.w.person(r.choice(["en_US", "en_GB", "en_IN", "en_PH", "de_DE"]))
        names = {
            "c": self.name(cust, r.choice(["first", "full", "lower", "first_initial", "nick"])),
            "a": self.name(agent, r.choice(["first", "first", "full"])),
        }
        if self.split == "train":
            formats = [
                "[{t}] {n}: {m}",
                "{n} [{t}]: {m}",
                "{t} {n}: {m}",
                "<{n}> {m}",
                "{n}: {m}",
                "[{t}] {n} > {m}",
                "2026/03/04 {t} - {n}: {m}",
                "{n} ({t} PM): {m}",
                "{n}, {t}:\n{m}",
                "Mar 4, {t} {n}: {m}",
            ]
        else:
            formats = ["({t}) {n}: {m}", "{n} - {t}\n{m}", "[2026-03-04 {t}:11] {n}: {m}", "{t} | {n} | {m}",
                       "** {n} ({t}) **\n{m}"]  # fmt: skip
        fmt = r.choice(formats)
        lines: list[str] = []
        slots: dict[str, str | list[Segment]] = {}
        h, mi = r.randint(7, 20), r.randint(0, 50)
        for i in range(r.randint(2, 7)):
            who = "c" if i % 2 == 0 else "a"
            if r.random() < 0.12:
                speaker = r.choice(["Ledgerly Bot", "System", "Customer", "Agent", "Support", "Parcelpoint Assistant"])
                seg: list[Segment] = [(speaker, None)]
            else:
                seg = ent(names[who], "PERSON")
            msg = (
                self.body(1)
                if r.random() < 0.7
                else r.choice(["hi", "ok thanks", "one sec", "sure", "danke!", "merci"])
            )
            if who == "c" and r.random() < 0.15:
                msg = phrase("addr_intro", self.split, r).replace("{a}", f"{{addr{i}}}")
                slots[f"addr{i}"] = self.a(None, "comma")
            if who == "a" and i == 1 and r.random() < 0.4:
                msg = f"Hi {{cn{i}}}, thanks for waiting. " + msg
                slots[f"cn{i}"] = ent(
                    cust.first if names["c"][0].isupper() else lower_keep_length(cust.first), "PERSON"
                )
            slots[f"s{i}"] = seg
            t = f"{h:02d}:{mi + i:02d}"
            lines.append(fmt.replace("{t}", t).replace("{n}", f"{{s{i}}}").replace("{m}", msg))
        return render("\n".join(lines), slots)

    def with_ids(self) -> tuple[str, list[tuple[int, int, str]]]:
        r = self.r
        ids_train = ["- SSN <US_SSN>", "- SSN 078-05-1120", "(customer #{d})", ", acct {d}", "| Kd-Nr. {d}",
                     "<EMAIL_ADDRESS>", "(order #{d})", "– IBAN <IBAN_CODE>", "DOB 1984-03-02", "- ticket T-{d}",
                     "[REDACTED]", "/ ID {d}", "— card ending 4471"]  # fmt: skip
        ids_dev = ["SSN: ***-**-1120", "(acct no. {d})", "- <PHONE_NUMBER>", "· Kundennr. {d}", "(member {d})",
                   "- passport <ID>", "| ref LED-500", ", N° client {d}"]  # fmt: skip
        lines: list[str] = []
        slots: dict[str, str | list[Segment]] = {}
        for i in range(r.randint(1, 5)):
            idf = r.choice(ids_train if self.split == "train" else ids_dev).replace("{d}", str(r.randint(1000, 999999)))
            style = r.choice(["full", "full", "comma", "caps", "lower", "full"])
            pat = r.choice(["{n} {id}", "{id} {n}", "{n}{sep}{id}", "{i}. {n} {id}", "Name: {n} {id}"])
            line = (
                pat.replace("{sep}", r.choice([" ", "  ", "\t", " | "])).replace("{id}", idf).replace("{i}", str(i + 1))
            )
            slots[f"n{i}"] = self.n(None, style)
            lines.append(line.replace("{n}", f"{{n{i}}}"))
        intro = r.choice(["", "", "Affected customers:\n", "Please delete these users:\n", "Betroffene Konten:\n",
                          "Can you check these accounts?\n"])  # fmt: skip
        return render(intro + "\n".join(lines), slots)

    def forwarded(self) -> tuple[str, list[tuple[int, int, str]]]:
        r = self.r
        a, b = self.w.person(), self.w.person()
        mail_a = f"{ascii_fold(a.first).lower()}.{ascii_fold(a.last).lower().replace(' ', '')}@{r.choice(['gmail.com', 'outlook.example', 'firma.de', 'example.org'])}"
        mail_b = f"{ascii_fold(b.first[0]).lower()}{ascii_fold(b.last).lower().replace(' ', '')}@{r.choice(['company.example', 'mail.example'])}"
        if self.split == "train":
            head = r.choice(["---------- Forwarded message ---------\nFrom: {fa} <{ma}>\nDate: {d}\nSubject: {sub}\nTo: {fb} <{mb}>",
                             "Von: {fa} <{ma}>\nGesendet: {d}\nAn: {fb} <{mb}>\nBetreff: {sub}",
                             "De : {fa} <{ma}>\nEnvoyé : {d}\nÀ : {fb} <{mb}>\nObjet : {sub}",
                             "On {d}, {fa} <{ma}> wrote:\n> {q}",
                             "Da: {fa} <{ma}>\nInviato: {d}\nA: {fb} <{mb}>\nOggetto: {sub}",
                             "Od: {fa} <{ma}>\nWysłano: {d}\nDo: {fb} <{mb}>\nTemat: {sub}",
                             "Van: {fa} <{ma}>\nVerzonden: {d}\nAan: {fb} <{mb}>\nOnderwerp: {sub}",
                             "Remetente: {fa} <{ma}>\nData: {d}\nDestinatário: {fb}\nAssunto: {sub}",
                             "Reply-To: {fa} <{ma}>\nCc: {fb} <{mb}>\nSubject: {sub}"])  # fmt: skip
        else:
            head = r.choice(["-----Original Message-----\nFrom: {fa} [mailto:{ma}]\nSent: {d}\nTo: {fb}\nSubject: {sub}",
                             "De: {fa} <{ma}>\nEnviado el: {d}\nPara: {fb} <{mb}>\nAsunto: {sub}",
                             "Am {d} schrieb {fa} <{ma}>:\n> {q}",
                             "From: \"{fa}\" {ma}\nTo: \"{fb}\" {mb}\nSubject: {sub}"])  # fmt: skip
        d = r.choice([f"{r.choice(WEEKDAYS)}, {r.choice(MONTHS)} {r.randint(1, 28)}, 2026 {r.randint(1, 12)}:0{r.randint(0, 9)} PM",
                      f"{r.randint(1, 28)} {r.choice(MONTHS)} 2026 um 10:{r.randint(10, 59)}", "Mon, 4 May 2026 09:12"])  # fmt: skip
        sub = r.choice(
            [
                "Re: invoice",
                "Fwd: Lieferung",
                "Question about my order",
                "Re: Re: refund",
                "Facture de " + r.choice(MONTHS),
            ]
        )
        head = head.replace("{d}", d).replace("{sub}", sub).replace("{ma}", mail_a).replace("{mb}", mail_b)
        head = head.replace("{q}", self.body(1))
        fa_style = r.choice(["full", "full", "comma", "full", "caps"])
        slots: dict[str, str | list[Segment]] = {"fa": self.n(a, fa_style), "fb": self.n(b, "full")}
        text = head + "\n\n" + self.body()
        if r.random() < 0.5:
            text = r.choice(["FYI, see below.\n\n", "Can you look at this?\n\n", "Weitergeleitet:\n\n"]) + text
        return render(text, slots)

    def record(self) -> tuple[str, list[tuple[int, int, str]]]:
        r = self.r
        loc = self.w.locale()
        p = self.w.person(loc)
        addr = self.w.address(loc)
        kind = r.choice(
            ["json", "json_split", "kv", "csv", "yaml"]
            if self.split == "train"
            else ["json_nested", "kv_de", "xmlish", "pipe"]
        )
        fold = ascii_fold if r.random() < 0.2 else (lambda x: x)
        name = fold(self.name(p, r.choice(["full", "full", "caps", "lower"])))
        oneline = fold(", ".join(addr))
        d = str(r.randint(10000, 99999))
        segs: dict[str, str | list[Segment]] = {"name": ent(name, "PERSON"), "addr": ent(oneline, "STREET_ADDRESS"),
                                                "first": ent(fold(p.first), "PERSON"), "last": ent(fold(p.last), "PERSON"),
                                                "street": ent(fold(addr[0]), "STREET_ADDRESS")}  # fmt: skip
        city = ", ".join(addr[1:]) if len(addr) > 1 else ""
        if kind == "json_split" and city:
            segs["city"] = ent(fold(city), "STREET_ADDRESS")
            tmpl = '{"first_name": "{first}", "last_name": "{last}", "street": "{street}", "city": "{city}", "plan": "Growth"}'
            return render(tmpl, segs)
        templates = {
            "json": '{"customer_id": {d}, "name": "{name}", "address": "{addr}", "status": "active"}',
            "json_split": '{"id": {d}, "name": "{name}", "shipping_address": "{addr}"}',
            "kv": "Name: {name}\nCompany: {co}\nAddress: {addr}\nIssue: {b}",
            "csv": "id;name;address;plan\n{d};{name};{addr};Starter",
            "yaml": "customer:\n  name: {name}\n  address: \"{addr}\"\n  tier: gold",
            "json_nested": '{"order": {"id": "{d}", "recipient": {"fullName": "{name}", "addressLine": "{addr}"}}}',
            "kv_de": "Kunde: {name}\nFirma: {co}\nAnschrift: {addr}\nAnliegen: {b}",
            "xmlish": "<customer><name>{name}</name><address>{addr}</address></customer>",
            "pipe": "{d} | {name} | {addr} | open",
        }  # fmt: skip
        tmpl = templates[kind].replace("{d}", d).replace("{co}", self.w.company(loc)).replace("{b}", self.body(1))
        return render(tmpl, segs)

    def casual(self) -> tuple[str, list[tuple[int, int, str]]]:
        r = self.r
        loc = self.w.locale()
        p = self.w.person(loc)
        if self.split == "train":
            tmpl = r.choice(["hey its {n} again, {b} {ai}", "hi this is {n} from {co}. {b}", "{b} {ai} - {n}",
                             "hello, {n} here. {b}", "my name is {n} and {b} {ai}", "{b}\n\nthx {n}",
                             "hi i'm {n}, {b} {ai}"])  # fmt: skip
        else:
            tmpl = r.choice(["yo, {n} here. {b} {ai}", "{b} {ai}\n-{n}", "it's {n} (account owner). {b}",
                             "sorry to bother, {n} again. {b} {ai}", "{b} ... {n}"])  # fmt: skip
        ai = ""
        slots: dict[str, str | list[Segment]] = {}
        if r.random() < 0.4:
            ai = phrase("addr_intro", self.split, r).replace("{a}", "{addr}")
            slots["addr"] = self.a(self.w.address(loc), "comma")
        text = tmpl.replace("{b}", self.body(r.randint(1, 2))).replace("{ai}", ai).replace("{co}", self.w.company(loc))
        slots["n"] = self.n(p, r.choice(["full", "first", "nick", "full"]))
        out, spans = render(text, slots)
        if r.random() < 0.75:
            out = lower_keep_length(out)
        return out, spans

    def label_block(self) -> tuple[str, list[tuple[int, int, str]]]:
        r = self.r
        loc = self.w.locale()
        p = self.w.person(loc)
        addr = self.w.address(loc)
        country = r.choice(["", "", "\nGermany", "\nUnited Kingdom", "\nFrance", "\nUSA", "\nIndia", "\nJapan",
                            "\nDeutschland", "\nEspaña", "\nPolska", "\nViệt Nam", "\nTürkiye"])  # fmt: skip
        if self.split == "train":
            head = r.choice(["Ship to:\n", "Deliver to:\n", "Lieferanschrift:\n", "Adresse de livraison :\n",
                             "Please update the recipient to:\n", "Return address:\n", "", "Versand an:\n",
                             "Anschrift:\n", "Adresse de facturation :\n", "Dirección de envío:\n", "Odbiorca:\n",
                             "Indirizzo di consegna:\n", "Alıcı:\n", "Người nhận:\n", "Attn:\n", "Bill to:\n",
                             "Sold to:\n", "Adressat:\n", "Ontvanger:\n", "Remitente:\n"])  # fmt: skip
        else:
            head = r.choice(["Recipient:\n", "Empfänger:\n", "Destinataire :\n", "Destinatario:\n", "Consignee:\n",
                             "New shipping details:\n"])  # fmt: skip
        company = f"\nc/o {self.w.company(loc)}" if r.random() < 0.15 else ""
        slots: dict[str, str | list[Segment]] = {"n": self.n(p, r.choice(["full", "full", "caps", "initial"]), title=True),
                                                 "a": self.a(addr, r.choice(["newline", "newline", "comma"]))}  # fmt: skip
        tail = "\n\n" + self.body(1) if r.random() < 0.5 else ""
        return render(head + "{n}" + company + "\n{a}" + country + tail, slots)

    def multilingual(self) -> tuple[str, list[tuple[int, int, str]]]:
        r = self.r
        lang = r.choice(list(ML))
        loc = r.choice(ML[lang]["locales"])
        p = self.w.person(loc)
        variant = ML[lang]["train" if self.split == "train" else "dev"]
        tmpl = r.choice(variant)
        other = self.w.person(loc)
        slots: dict[str, str | list[Segment]] = {
            "n": self.n(p, r.choice(["full", "full", "first"])),
            "o": self.n(other, r.choice(["full", "first"]), title=r.random() < 0.3),
            "a": self.a(self.w.address(loc), r.choice(["comma", "comma", "newline", "slash"])),
        }
        neg = self.negative_sentence() if r.random() < 0.4 else ""
        return render(tmpl.replace("{neg}", neg), slots)

    def negatives(self) -> tuple[str, list[tuple[int, int, str]]]:
        r = self.r
        x = r.random()
        if x < 0.45 and self.hc:
            start = r.randrange(len(self.hc))
            lines = self.hc[start : start + r.randint(1, 6)]
            if r.random() < 0.15:  # help centers and mail write headings in capitals too
                lines = [line.upper() if len(line) < 60 else line for line in lines]
            return "\n".join(lines), []
        k = 0 if self.split == "train" else 1
        if x < 0.6:
            heads = r.sample(NEG_LISTS["product"][k] + NEG_LISTS["de_noun"][k], r.randint(1, 4))
            if r.random() < 0.2:
                heads = [head.upper() for head in heads]
            return r.choice(["\n", "\n\n", " > ", " · "]).join(heads), []
        if x < 0.7:
            return (
                f"{r.choice(NEG_LISTS['sign_only'][k])}\n{r.choice(['Ledgerly Support', 'Ihr Parcelpoint-Team', 'The Billing Team', 'Support', 'Kundenservice', 'Équipe Ledgerly'])}",
                [],
            )
        return " ".join(self.negative_sentence() for _ in range(r.randint(1, 3))), []

    def inline_names(self) -> tuple[str, list[tuple[int, int, str]]]:
        """Sentences where a name sits beside a brand, a place or a month (positives among negatives)."""
        r = self.r
        if self.split == "train":
            tmpl = r.choice(["{n} bought a {brand} coat on {month} 3rd and wants a refund.",
                             "Our driver {n} could not find the {place} depot.",
                             "{n} ({month} shift) handled the {brand} returns.",
                             "Please ask {n} about the {product} settings.",
                             "Ticket assigned to {n} on {weekday}.",
                             "I met {n} at the {brand} store in {place}.",
                             "{n} has been our customer since {month}.",
                             "Since {month}, {n} handles all {brand} invoices.",
                             "{n} flies to {place} on {weekday} and can't sign.",
                             "The {product} report was exported by {n} in {month}."])  # fmt: skip
        else:
            tmpl = r.choice(["On {month} 9 {n} called about a {brand} order.",
                             "{n} works at our {place} office.",
                             "The {product} change was requested by {n}.",
                             "Escalated by {n} on {weekday} morning."])  # fmt: skip
        slots = self.neg_slots()
        slots["n"] = self.n(None, r.choice(["full", "first", "full", "initial"]))
        return render(tmpl, slots)


ML: dict[str, dict[str, list[str]]] = {
    "de": {"locales": ["de_DE", "de_AT", "de_CH"],
           "train": ["Hallo,\n\nmeine neue Adresse lautet {a}. Bitte ändern Sie die Rechnungsadresse.\n{neg}\n\nViele Grüße\n{n}",
                     "Sehr geehrte Damen und Herren,\n\nbitte senden Sie die Ersatzlieferung an {a}.\n\nMit freundlichen Grüßen\n{n}",
                     "Guten Tag, mein Kollege {o} hat das Passwort vergessen. {neg}\nGruß, {n}"],
           "dev": ["Moin,\nwir sind umgezogen: {a}\nDanke und beste Grüße\n{n}",
                   "Liebes Support-Team,\n\ndas Paket für {o} ging an {a}, das ist falsch.\n\nHerzliche Grüße\n{n}"]},
    "fr": {"locales": ["fr_FR", "fr_CA", "fr_CH"],
           "train": ["Bonjour,\n\nMerci d'envoyer la facture à {a}. {neg}\n\nCordialement,\n{n}",
                     "Bonjour, je suis {n} et ma collègue {o} n'a plus accès au compte.\nBien cordialement"],
           "dev": ["Madame, Monsieur,\nnotre nouvelle adresse est {a}.\nBien à vous,\n{n}",
                   "Salut, {o} ne reçoit pas les e-mails. Merci !\n{n}"]},
    "es": {"locales": ["es_ES", "es_MX", "es_AR", "es_CO"],
           "train": ["Hola,\n\nPor favor envíen el paquete a {a}.\n{neg}\nSaludos,\n{n}",
                     "Buenas, soy {n}. Mi compañero {o} no puede entrar.\nGracias"],
           "dev": ["Estimados:\nla dirección correcta es {a}.\nAtentamente,\n{n}",
                   "Hola, {o} cambió de puesto, ¿pueden quitarle el acceso? Un saludo, {n}"]},
    "it": {"locales": ["it_IT"],
           "train": ["Buongiorno,\nvi prego di spedire a {a}.\nCordiali saluti\n{n}"],
           "dev": ["Salve, il nuovo indirizzo è {a}. Grazie, {n}"]},
    "pl": {"locales": ["pl_PL"],
           "train": ["Dzień dobry,\nproszę o wysyłkę na adres {a}.\nPozdrawiam\n{n}"],
           "dev": ["Witam, mój nowy adres to {a}.\nZ poważaniem, {n}"]},
    "pt": {"locales": ["pt_BR", "pt_PT"],
           "train": ["Olá,\npor favor enviem para {a}.\nAtenciosamente,\n{n}"],
           "dev": ["Oi! Meu endereço novo é {a}. Abraços, {n}"]},
    "nl": {"locales": ["nl_NL", "nl_BE"],
           "train": ["Hallo,\nMijn nieuwe adres is {a}.\nMet vriendelijke groet,\n{n}"],
           "dev": ["Beste,\nGraag leveren op {a}. Groetjes, {n}"]},
    "tr": {"locales": ["tr_TR"],
           "train": ["Merhaba,\nYeni adresim: {a}\nSaygılarımla,\n{n}"],
           "dev": ["İyi günler, kargo {a} adresine gelmedi. {n}"]},
    "vi": {"locales": ["vi_VN"],
           "train": ["Xin chào,\nĐịa chỉ mới của tôi là {a}.\nCảm ơn,\n{n}"],
           "dev": ["Chào bạn, vui lòng giao hàng đến {a}. Trân trọng, {n}"]},
    "ja": {"locales": ["ja_JP"],
           "train": ["Hello, this is {n} from Tokyo. Please send the documents to {a}.\nBest regards,\n{n}"],
           "dev": ["Dear support, our office moved to {a}. Thank you, {n}"]},
    "in": {"locales": ["en_IN"],
           "train": ["Dear Sir/Madam,\nKindly deliver the parcel to {a}.\nThanks and regards,\n{n}"],
           "dev": ["Hi team, please do the needful and update my address to {a}.\nRegards, {n}"]},
}  # fmt: skip

TEMPLATES: list[tuple[str, float]] = [
    ("email", 30), ("chat", 10), ("with_ids", 6), ("forwarded", 8), ("record", 7), ("casual", 8),
    ("label_block", 6), ("multilingual", 12), ("negatives", 14), ("inline_names", 8),
]  # fmt: skip


def inbox_examples() -> list[dict[str, object]]:
    out = []
    for line in INBOX_LABELS.read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        spans = [[s["start"], s["end"], s["entity_type"]] for s in row["spans"] if s["entity_type"] in LABELS]
        out.append({"text": row["text"], "spans": spans, "template": "inbox", "source": row["text_id"]})
    return out


def generate(split: str, size: int, seed: int) -> list[dict[str, object]]:
    world = World(seed)
    hc = helpcenter_lines()[split]
    gen = Gen(world, split, hc)
    names, weights = zip(*TEMPLATES, strict=True)
    rows: list[dict[str, object]] = []
    for _ in range(size):
        template = world.rng.choices(names, weights)[0]
        text, spans = getattr(gen, template)()
        text, spans = _tidy(text, spans)
        rows.append({"text": text, "spans": [list(s) for s in spans], "template": f"{split[0].upper()}_{template}",
                     "source": "synthetic"})  # fmt: skip
    if split == "train":
        rows += inbox_examples() * INBOX_REPEAT
        world.rng.shuffle(rows)
    return rows


def _tidy(text: str, spans: list[tuple[int, int, str]]) -> tuple[str, list[tuple[int, int, str]]]:
    """Trim whitespace around spans (and keep the spans in order)."""
    out = []
    for start, end, label in spans:
        while start < end and text[start].isspace():
            start += 1
        while end > start and text[end - 1].isspace():
            end -= 1
        if end > start:
            out.append((start, end, label))
    return text, sorted(out)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--out", type=Path, default=ROOT / "build" / "pii_model")
    parser.add_argument("--train-size", type=int, default=SIZES["train"])
    parser.add_argument("--dev-size", type=int, default=SIZES["dev"])
    parser.add_argument("--show", type=int, default=0, help="print this many dev examples with their spans")
    args = parser.parse_args(argv)
    if faker.VERSION != FAKER_VERSION:
        print(f"Faker {faker.VERSION} is installed; the data is defined for {FAKER_VERSION}", file=sys.stderr)
        return 2
    args.out.mkdir(parents=True, exist_ok=True)
    for split, size in (("train", args.train_size), ("dev", args.dev_size)):
        rows = generate(split, size, SEEDS[split])
        with (args.out / f"{split}.jsonl").open("w", encoding="utf-8") as fh:
            for row in rows:
                fh.write(json.dumps(row, ensure_ascii=False) + "\n")
        labels = Counter(str(s[2]) for row in rows for s in row["spans"])  # type: ignore[attr-defined]
        print(f"{split}: {len(rows)} texts, {sum(len(str(r['text'])) for r in rows)} chars, {dict(labels)}")
        for row in rows[: args.show]:
            text = str(row["text"])
            print("-" * 60, row["template"])
            print(text)
            for s in row["spans"]:  # type: ignore[attr-defined]
                print("   ", s[2], repr(text[s[0] : s[1]]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
