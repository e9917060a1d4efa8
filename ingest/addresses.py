"""Postal addresses, found from their most regular part: the postcode.

An address ends in a postcode shaped by its country: a US state and ZIP
("TX 78664"), a UK postcode ("N1 8QP"), or a continental postcode before the
town ("10435 Berlin", "1013 HB Amsterdam", "546 22 Θεσσαλονίκη"). From that
anchor the address runs back over comma-separated parts on the same line:
town names, a unit ("Suite 210", "Apt 3B"), and ends at the street part, the
one with a house number ("58 Birchwood Avenue", "Leopoldstraße 88"). A
continental postcode counts only after such a street part, since "2024
Summary" has the same shape.
"""

from __future__ import annotations

import re

from ingest.spans import merge_spans

_US_STATES = (
    "AL AK AZ AR CA CO CT DE DC FL GA HI ID IL IN IA KS KY LA ME MD MA MI MN MS MO MT NE NV NH NJ NM NY NC ND OH "
    "OK OR PA RI SC SD TN TX UT VT VA WA WV WI WY PR"
).split()
_CAP = r"[^\W\d_a-zà-ÿα-ωа-я][^\W\d_]*(?:[-'’.][^\W\d_]+)*"
_US_ANCHOR = re.compile(rf",[ \t]*(?:{'|'.join(_US_STATES)})[ \t]+\d{{5}}(?:-\d{{4}})?\b")
_UK_ANCHOR = re.compile(
    rf"(?:,[ \t]*|[ \t]){_CAP}(?:[ \t]+{_CAP}){{0,2}}[ \t]+[A-Z]{{1,2}}\d[A-Z\d]?[ \t]+\d[A-Z]{{2}}\b"
)
_CONTINENTAL_ANCHOR = re.compile(
    rf"(?:,[ \t]*|(?<=\n)[ \t]*)(?:\d{{4,5}}|\d{{4}}[ \t]?[A-Z]{{2}}|\d{{3}}[ \t]\d{{2}}|\d{{4}}-\d{{3}}|\d{{2}}-\d{{3}})"
    rf"[ \t]+{_CAP}(?:[ \t/-]+{_CAP})?(?:[ \t]+(?:am|an|im|sur|en|de)[ \t]+{_CAP})?"
)
# Postcode after the town: Australia ("Sydney NSW 2000"), Canada ("Montréal, QC H2J 2L4"), Ireland's Eircode
# ("Dublin 6, D06 F2X3"), and a bare four-to-six-digit code after a town (New Zealand, India, Brazil's CEP).
_AU_STATES = "NSW|VIC|QLD|SA|WA|TAS|ACT|NT"
_CA_PROVINCES = "AB|BC|MB|NB|NL|NS|NT|NU|ON|PE|QC|SK|YT"
_TRAILING_ANCHOR = re.compile(
    rf"(?:,[ \t]*|[ \t])(?:(?:{_AU_STATES})[ \t]+\d{{4}}|(?:{_CA_PROVINCES})[ \t]+[A-Z]\d[A-Z][ \t]?\d[A-Z]\d)\b"
)
_EIRCODE_ANCHOR = re.compile(r"(?:,[ \t]*|[ \t])(?:[AC-FHKNPRTV-Y]\d{2}|D6W)[ \t][0-9AC-FHKNPRTV-Y]{4}\b")
_TOWN_CODE_ANCHOR = re.compile(
    rf",[ \t]*{_CAP}(?:[ \t]+{_CAP})?(?:[ \t]+-[ \t]+[A-Z]{{2}})?,?[ \t]+(?:\d{{4,6}}|\d{{5}}-\d{{3}})\b"
)
# Where an address stops on the left within a line.
_PART_BREAK = re.compile(r"[;()\[\]|:\"]|\s[-–—][ \t]")
_UNIT = re.compile(
    r"^(?:(?:Suite|Ste|Apt|Apto|Apartment|Unit|Flat|Floor|Fl|Level|Building|Bldg|Piso|Planta|Puerta|Esc|Scala|Interno"
    r"|Int|Bus|Bte|Etage|Stock|m|lok|#)\.?[ \t]*[\w-]+|\d{1,3}\.?[º°ª]\.?(?:[ \t]*[A-Za-z]{1,4}\.?)?)$",
    re.I,
)
_HOUSE_NUMBER = re.compile(r"(?:^|[ \t])\d{1,5}[A-Za-z]?(?:[-/]\d{1,4}[A-Za-z]?)?(?:$|[ \t])")
_LOWER_JOINERS = frozenset(
    """de des du la le van von der den am an im auf da di del della dos das do y l' bis ter
    rue avenue av. bd boulevard place pl. chemin allée impasse quai route cours square calle c/ avda. avda avenida
    plaza paseo carrer camino via viale corso piazza vicolo largo rua travessa praça estrada ul. al. os. ulica
    aleja plac""".split()
)
_STREET_SUFFIX = re.compile(
    r"(?:straße|strasse|str\.|allee|weg|gasse|platz|ring|damm|ufer|chaussee|gracht|laan|straat|kade|plein"
    r"|markt|steig|promenade|vej|gatan|gade|veien)$",
    re.I,
)
_STREET_ARTICLES = frozenset("Am An Im Auf Zum Zur In".split())
# Street types written in lowercase before the name ("ul. Długa 14", "rue des Lilas"): part of the address.
_STREET_TYPES = frozenset(
    "ul. al. pl. os. ulica aleja plac rue avenue av. bd boulevard chemin allée impasse quai calle c/ avda. avenida "
    "paseo carrer via viale corso piazza vicolo rua travessa praça".split()
)
# Capitalized words with a number that are document parts, not streets ("Version 2, 2024 Release").
_NOT_A_STREET = re.compile(
    r"(?i:version|release|step|page|chapter|part|section|level|phase|plan|tier|option|figure|table|item|seats?"
    r"|users?|rows?|lines?|days?|weeks?|months?|years?|hours?|minutes?|appendix|article|volume|issue|sprint"
    r"|quarter|q[1-4]|season|episode|lesson|unit|module|week|day)\b"
)
# A date has a number and a capitalized month: "17:00 Sept. 5, 2016" is no street.
_DATE_WORD = re.compile(
    r"\b(?i:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec|january|february|march|april|june|july|august"
    r"|september|october|november|december|januar|februar|märz|juni|juli|oktober|dezember|janvier|février|avril|juin"
    r"|juillet|août|septembre|octobre|novembre|décembre|enero|febrero|marzo|abril|mayo|junio|julio|agosto"
    r"|septiembre|octubre|noviembre|diciembre)\b\.?"
)
_UNIT_BEFORE = re.compile(r"(?:Flat|Unit|Apt|Apartment|Suite|Level|Floor)\.?[ \t]+\w+,[ \t]*$", re.I)
MAX_TOWN_PARTS = 2


def find_addresses(text: str) -> list[tuple[int, int]]:
    """Character spans of postal addresses in ``text``, in order."""
    spans: list[tuple[int, int]] = []
    anchors = (
        (_US_ANCHOR, False),
        (_UK_ANCHOR, False),
        (_CONTINENTAL_ANCHOR, True),
        (_TRAILING_ANCHOR, True),
        (_EIRCODE_ANCHOR, True),
        (_TOWN_CODE_ANCHOR, True),
    )
    for pattern, needs_street in anchors:
        for match in pattern.finditer(text):
            anchor_start = match.start() + len(match.group()) - len(match.group().lstrip(", \t"))
            start = _street_start(text, anchor_start, needs_street)
            if start is None:
                start = _street_on_line_before(text, anchor_start)
            if start is not None:
                spans.append((start, match.end()))
    spans += _address_fields(text)
    return merge_spans(spans)


# A form's address field: the value runs to the end of the line and holds a house number or a postcode.
_ADDRESS_FIELD = re.compile(
    r"(?im)^[ \t>]*(?:(?:billing|shipping|delivery|home|postal|street|new|old)[ \t]+)?(?:address|addr|street|adresse"
    r"|anschrift|straße|strasse|lieferadresse|rechnungsadresse|plz/ort|plz und ort|ort|adresse postale|rue"
    r"|dirección|direccion|domicilio|indirizzo|via|morada|endereço|endereco|adres|ulica|straat|woonadres"
    r"|postcode en plaats)[ \t]*(?::|[-–][ \t])[ \t]*(?P<value>[^\n]*\d[^\n]*)$"
)


def _address_fields(text: str) -> list[tuple[int, int]]:
    spans = []
    for match in _ADDRESS_FIELD.finditer(text):
        value = match.group("value").rstrip(" \t.")
        if len(value.split()) >= 2 and any(ch.isalpha() for ch in value):
            spans.append((match.start("value"), match.start("value") + len(value)))
    return spans


def _street_on_line_before(text: str, anchor_start: int) -> int | None:
    """The start of a street written on its own line above a line that starts with the town or postcode
    ("2210 W Fullerton Ave, Suite 3\nChicago, IL 60647")."""
    line_start = text.rfind("\n", 0, anchor_start) + 1
    before_anchor = text[line_start:anchor_start]
    if any(ch.isdigit() for ch in before_anchor) or len(before_anchor.split(",")) > 2:
        return None
    if line_start == 0:
        return None
    previous_start = text.rfind("\n", 0, line_start - 1) + 1
    previous = text[previous_start : line_start - 1]
    parts = previous.split(",")
    street = parts[0].strip()
    if not street or not _HOUSE_NUMBER.search(street) or len(street.split()) > 7:
        return None
    if not all(_UNIT.match(p.strip()) or _HOUSE_NUMBER.search(p) for p in parts[1:]):
        return None
    if _trailing_proper(street) is None or not any(ch.isalpha() for ch in street):
        return None
    return previous_start + (len(previous) - len(previous.lstrip()))


def _street_start(text: str, anchor_start: int, needs_street: bool) -> int | None:
    """Where the address whose postcode part starts at ``anchor_start`` begins, or None if it has no street."""
    line_start = text.rfind("\n", 0, anchor_start) + 1
    left = text[line_start:anchor_start]
    breaks = list(_PART_BREAK.finditer(left))
    if breaks:
        line_start += breaks[-1].end()
        left = text[line_start:anchor_start]
    parts = left.split(",")
    if parts and not parts[-1].strip():
        parts.pop()
    start = anchor_start
    offset = line_start + sum(len(p) + 1 for p in parts)
    towns = 0
    for part in reversed(parts):
        offset -= len(part) + 1
        kept_at = _trailing_proper(part)
        if kept_at is None:
            break
        kept = part[kept_at:].strip()
        kept_start = offset + kept_at
        if _UNIT.match(kept):
            start = kept_start
            continue
        if _HOUSE_NUMBER.search(kept) and any(ch.isalpha() for ch in kept):
            street_start = kept_start + _street_offset(kept)
            if _NOT_A_STREET.match(text, street_start) or _DATE_WORD.search(kept):
                return None
            street_type = re.search(r"(\S+)[ \t]+$", text[max(0, street_start - 12) : street_start])
            if street_type and street_type.group(1).lower() in _STREET_TYPES:
                street_start -= len(street_type.group())
            unit = _UNIT_BEFORE.search(text[max(0, street_start - 30) : street_start])
            return street_start - len(unit.group()) if unit else street_start
        towns += 1
        if towns > MAX_TOWN_PARTS or kept != part.strip():
            break
        start = kept_start
    return None if needs_street else start


def _street_offset(street: str) -> int:
    """Where the street itself starts within a street part whose earlier words may be prose.

    "2200 Pecan Bend Rd" starts at its house number. With the number last, the
    street starts at a word with a street suffix ("Leopoldstraße 88"), else it
    is at most the last three words ("Am Mühlbach 9", "Οδός Λεμονιάς 12"):
    German capitalizes the nouns before it ("Lieferung an ...").
    """
    words = list(re.finditer(r"\S+", street))
    for word in words[:-1]:
        if word.group()[0].isdigit():
            return word.start()
    for word in words:
        if _STREET_SUFFIX.search(word.group()):
            before = words[words.index(word) - 1] if words.index(word) else None
            return before.start() if before is not None and before.group() in _STREET_ARTICLES else word.start()
    for index, word in enumerate(words[:-1]):
        if word.group().lower() in _STREET_TYPES and len(words) - index <= 6:
            return word.start()
    tail = [w for w in words[-4:] if w.group().lower() not in _LOWER_JOINERS or w.group()[0].isupper()]
    return tail[0].start() if tail else 0


def _trailing_proper(part: str) -> int | None:
    """Where the trailing words of ``part`` that can belong to an address start (capitalized
    words, numbers, joiners such as "des"); None when there are none."""
    words = list(re.finditer(r"\S+", part))
    first = len(words)
    for index in range(len(words) - 1, -1, -1):
        word = words[index].group()
        if word[0].isupper() or word[0].isdigit() or word.lower() in _LOWER_JOINERS or word.startswith("#"):
            first = index
        else:
            break
    while first < len(words) and words[first].group() in _LOWER_JOINERS:
        first += 1
    return words[first].start() if first < len(words) else None
