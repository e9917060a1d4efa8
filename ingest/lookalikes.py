"""Guards against strings shaped like PII that are not: the precision layer of the redactor.

A support message is full of numbers that parse as phone numbers or IP addresses
and of capitalized words that look like names: versions (``v2.3.1``, a
``10.0.0.1`` build), order, invoice and tracking ids, dates in German, French or
Spanish notation (``02.12.2024``), prices (``1.249,00 €``), VAT, routing and
sort codes, brands named after people ("Ted Baker"), places named after streets
("George Street"), and months ("May 1st"). Each guard looks at the match and the
few words before it on the same line; it never looks further.
"""

from __future__ import annotations

import ipaddress
import re

# Words that say the number after them identifies an order, a document, a parcel or a company, not a person.
_REFERENCE_CUE = re.compile(
    r"(?i:\b(?:order|orders|invoice|inv|tracking|track|ticket|case|ref|reference|sku|po|purchase\s+order|shipment"
    r"|parcel|consignment|waybill|awb|receipt|confirmation|booking|transaction|txn|serial|s/n|imei|licen[cs]e"
    r"|item|article|batch|lot|credit\s+note|quote|estimate|bestellung|bestellnr|bestellnummer|auftrag|rechnung"
    r"|rechnungsnr|rechnungsnummer|sendung|sendungsnummer|paket|lieferschein|commande|cmd|facture|colis|suivi"
    r"|pedido|factura|env[ií]o|seguimiento|ordine|fattura|spedizione|encomenda|fatura|zam[óo]wienie|faktura"
    r"|przesy[łl]ka|bestelling|factuur|zending|vat|ust|ust-idnr|tva|iva|p\.?\s*iva|partita|nif|cif|btw|siret|siren"
    r"|ein|tin|routing|aba|sort\s+code|bsb|swift|bic|iban|release|build|version|ver|firmware|error|code|page"
    r"|fedex|ups|usps|dhl|royal\s+mail|postnl|colissimo|correos|gls|dpd|hermes)\b\.?|#|\bn[°º]|\bno\.|\bnr\.)"
)
_PHONE_CUE_NEAR = re.compile(
    r"(?i:\b(?:phone|tel\b|tél|telefon|telefone|telefono|teléfono|téléphone|telemóvel|celular|cell|mobile|mob\b|handy"
    r"|call|whatsapp|fax|durchwahl|direct|rückruf|rappeler|llamar|ligar|bel\b|erreichbar|cel\b|móvil|cellulare)(?!\w))"
)
_VERSION_CUE = re.compile(
    r"(?i:\bv(?:er(?:s(?:ion|ión|ione|ão|ao|ie|ja)?)?)?\.?\s*$|\b(?:version|versión|versione|versão|versie|wersja"
    r"|wersji|build|release|firmware|fw|sdk|api|update|upgrade|upgraded|updated|patch|plugin|schema|library|package"
    r"|app|connector|node|npm|python|java|chrome|firefox|safari|edge|ios|android|macos|windows|see|section|chapter"
    r"|verify|kernel|driver|bios|rev|revision|mise\s+à\s+jour|aktualisierung|aggiornamento|atualização|§"
    r"|actualización|aktualizacja)\b)"
)
_DATE_SHAPE = re.compile(
    r"^(?:\d{1,2}[./-]\d{1,2}[./-](?:\d{4}|\d{2})|\d{4}[./-]\d{1,2}[./-]\d{1,2}|\d{1,2}[./-]\d{4}|\d{1,2}:\d{2}(?::\d{2})?)"
    r"(?:[ T]+\d{1,2}:\d{2}(?::\d{2})?)?$"
)
_CURRENCY = re.compile(r"(?i:[€$£¥₹₽₩]|\b(?:eur|usd|gbp|chf|pln|zł|zl|r\$|sek|nok|dkk|czk|huf|aud|cad|nzd|brl|mxn)\b)")
_PRICE_SHAPE = re.compile(r"^\d{1,3}(?:[., \u00a0]\d{3})*[.,]\d{2}$")
_THOUSANDS = re.compile(r"^\d{1,3}(?:,\d{3}){2,}$")
# A number followed by what it counts ("12 345 678 bytes") is a quantity.
_COUNT_UNIT = re.compile(
    r"[ \t]*(?i:bytes?|kb|mb|gb|tb|rows?|lines?|records?|items?|users?|seats?|units?|pieces?|pcs|views?|visits?"
    r"|emails?|messages?|downloads?|points?|credits?|tokens?|words?|characters?|zeilen|datensätze|lignes|filas|righe"
    r"|linhas|wierszy|regels)\b"
)
# Text attached to the left of a number that makes it an identifier: "A-10294", "INV-2024-", "#".
_ATTACHED_PREFIX = re.compile(r"(?:[A-Za-z]{1,6}[-/]|#|№)$")

# Brands, shops and firms named after people; a name that is one of them is no person.
BRANDS_NAMED_AFTER_PEOPLE = frozenset(
    name.lower()
    for name in (
        "Ted Baker", "Calvin Klein", "Hugo Boss", "Ralph Lauren", "Tommy Hilfiger", "Jimmy Choo", "Dr. Martens",
        "Dr Martens", "Ben & Jerry's", "Marks & Spencer", "Louis Vuitton", "Yves Saint Laurent", "Jil Sander",
        "Martha Stewart", "Paul Smith", "Giorgio Armani", "Christian Dior", "Karl Lagerfeld", "Vivienne Westwood",
        "Stella McCartney", "Michael Kors", "Kate Spade", "Tory Burch", "Marc Jacobs", "Levi Strauss", "John Lewis",
        "Wells Fargo", "Charles Schwab", "Morgan Stanley", "Goldman Sachs", "Johnson & Johnson", "Procter & Gamble",
        "Walt Disney", "Estée Lauder", "Helena Rubinstein", "Tim Hortons", "John Deere", "Harley-Davidson",
        "Dolce & Gabbana", "Victoria Beckham", "Alexander McQueen", "Oscar de la Renta", "Vera Wang",
        "Carolina Herrera", "Salvatore Ferragamo", "Ermenegildo Zegna", "Hugo", "Boss", "Ted", "Jack Daniel's",
        "Jack Wolfskin", "Tom Ford", "Tom Tailor", "Marc O'Polo", "Ann Taylor", "Brooks Brothers", "Laura Ashley",
        "Coco Chanel", "Chanel", "Dior", "Armani", "Versace", "Gianni Versace", "Fred Perry", "Ben Sherman",
        "Jo Malone", "Bobbi Brown", "Clarins", "Mary Kay", "Kiehl's", "Sainsbury's", "McDonald's", "Wendy's",
        "Paul Hewitt", "Boris Becker", "Rolls-Royce", "Aston Martin", "Mercedes-Benz", "Sam Adams", "Paul Mitchell",
    )
)  # fmt: skip
_PLACE_SUFFIX = re.compile(
    r"^[ \t]*(?:Street|St\.?|Road|Rd\.?|Avenue|Ave\.?|Lane|Ln\.?|Square|Sq\.?|Place|Pl\.?|Boulevard|Blvd\.?|Drive"
    r"|Way|Station|Terrace|Crescent|Park|Bridge|Gardens|Hill|Quay|Wharf|Market|Centre|Center|Mall|Hall|Court"
    r"|Straße|Strasse|Str\.|Platz|Allee|Weg|Bahnhof|Brücke)\b"
)
_MONTH_WORDS = frozenset(
    "january february march april may june july august september october november december "
    "januar februar märz mai juni juli oktober dezember janvier février mars avril juin juillet août septembre "
    "octobre novembre décembre enero febrero marzo abril mayo junio julio agosto septiembre octubre noviembre "
    "diciembre gennaio febbraio aprile maggio giugno luglio settembre ottobre dicembre".split()
)


def _line_before(text: str, start: int, reach: int) -> str:
    line_start = text.rfind("\n", 0, start) + 1
    return text[max(line_start, start - reach) : start]


def is_reference_number(text: str, start: int, end: int) -> bool:
    """True for a number written as an order, invoice, tracking, VAT or routing id (a cue shortly before it,
    with no phone cue nearer, or an id prefix attached to it)."""
    before = _line_before(text, start, 40)
    if _ATTACHED_PREFIX.search(before):
        return True
    # only the words of the same clause, the last four of them: "IBAN ... . SSN 246-10-1516" is no IBAN cue
    before = re.split(r"[.;!?)](?:\s|$)|,\s", before)[-1]
    before = " ".join(before.split()[-4:])
    cues = list(_REFERENCE_CUE.finditer(before))
    if not cues:
        return False
    phone_cues = list(_PHONE_CUE_NEAR.finditer(before))
    return not phone_cues or phone_cues[-1].start() < cues[-1].start()


def is_version(text: str, start: int, end: int) -> bool:
    """True for a dotted number that a version cue directly precedes ("build 10.0.0.1", "v2.3.1", one of the last
    two words), or that belongs to a longer dotted run."""
    if re.match(r"[.]\d", text[end : end + 2]) or re.search(r"\d[.]$", text[max(0, start - 2) : start]):
        return True
    if re.search(r"(?i:\bv)$", text[max(0, start - 2) : start]):
        return True
    last_words = " ".join(_line_before(text, start, 40).split()[-2:])
    return bool(_VERSION_CUE.search(last_words))


def is_non_personal_ip(value: str) -> bool:
    """Loopback, unspecified, multicast and netmask addresses belong to nobody."""
    try:
        address = ipaddress.ip_address(value.strip("[]"))
    except ValueError:
        return False
    if address.is_loopback or address.is_unspecified or address.is_multicast or address.is_link_local:
        return True
    return isinstance(address, ipaddress.IPv4Address) and value.startswith("255.")


def is_date(value: str) -> bool:
    """A date or time written with digits (02.12.2024, 2024-12-31, 12/03/2024, 14:30)."""
    return bool(_DATE_SHAPE.match(value.strip()))


def is_price(text: str, start: int, end: int) -> bool:
    value = text[start:end].strip()
    near = text[max(0, start - 5) : start] + " " + text[end : end + 5]
    return bool(_PRICE_SHAPE.match(value) and (_CURRENCY.search(near) or "," in value[-3:])) or bool(
        _CURRENCY.search(text[max(0, start - 4) : start]) or _CURRENCY.match(text[end : end + 5].lstrip())
    )


def is_price_not_address(text: str, start: int, end: int) -> bool:
    """True for an address-shaped span whose numbers are all prices ("Le prix de 49,90 €"): a house number
    has no decimals and no currency beside it."""
    numbers = list(re.finditer(r"\d+(?:[.,\u00a0 ]\d+)*", text[start:end]))
    return bool(numbers) and all(
        is_price(text, start + m.start(), start + m.end()) and re.search(r"[.,]\d{2}$", m.group()) for m in numbers
    )


def is_phone_lookalike(text: str, start: int, end: int, cue: bool = False) -> bool:
    """True when a number that parses as a phone number is a date, a price, an id, a version or a count."""
    value = text[start:end]
    if is_date(value.strip(" \t(")) or _THOUSANDS.match(value.strip()) or is_price(text, start, end):
        return True
    # without a cue, a quantity ("12 345 678 bytes") or one unseparated run of digits (a Unix time, an id)
    national = not value.lstrip("( ").startswith(("+", "0"))
    if not cue and national and (_COUNT_UNIT.match(text, end) or value.strip().isdigit()):
        return True
    if re.fullmatch(r"\d{1,3}(?:\.\d{1,3}){3}", value.strip()):  # an IPv4 address or a version, never a phone
        return True
    if is_version(text, start, end) and not cue:
        return True
    return is_reference_number(text, start, end)


def is_name_lookalike(text: str, start: int, end: int) -> bool:
    """True for a "name" that is a brand named after a person, a place named after a street, or a month."""
    value = re.sub(r"['’]s$", "", text[start:end].strip())
    lowered = value.lower()
    title = re.search(r"(?:Dr|St|Mr|Mrs)\.?[ \t]+$", text[max(0, start - 5) : start])
    if lowered in BRANDS_NAMED_AFTER_PEOPLE or (
        title and f"{title.group().strip()} {lowered}".lower() in BRANDS_NAMED_AFTER_PEOPLE
    ):
        return True
    if _PLACE_SUFFIX.match(" " + value.split()[-1]) and len(value.split()) > 1:
        return True
    if any(
        lowered.startswith(brand + " ") or lowered.endswith(" " + brand)
        for brand in BRANDS_NAMED_AFTER_PEOPLE
        if " " in brand
    ):
        return True
    if _PLACE_SUFFIX.match(text, end):
        return True
    following = text[end : end + 12]
    if re.match(r"[ \t]*(?:&|and|und|et|y|e)[ \t]+[A-Z]", following) and re.search(r"'s\b|’s\b", text[end : end + 30]):
        return True
    words = value.split()
    return bool(
        len(words) == 1 and lowered in _MONTH_WORDS and re.match(r"[ \t]+\d{1,2}(?:st|nd|rd|th|\.)?\b", following)
    )


# Words that introduce an example in documentation: a number shown as an example is nobody's.
_EXAMPLE_CUE = re.compile(
    r"(?i:for\s+example|for\s+instance|e\.\s?g\.|such\s+as|like|z\.\s?b\.|zum\s+beispiel|beispielsweise|etwa"
    r"|par\s+exemple|p\.\s?ex\.|por\s+ejemplo|p\.\s?ej\.|ad\s+esempio|per\s+esempio|ad\s+es\.|por\s+exemplo|np\."
    r"|na\s+przykład|bijvoorbeeld|bv\.|b\.v\.)[\s:,]*$"
)


def is_documentation_example(text: str, start: int) -> bool:
    """True for a value that documentation introduces as an example ("for example +44 7700 900123")."""
    return bool(_EXAMPLE_CUE.search(_line_before(text, start, 40)))


# File extensions and version tails that follow an "@" in paths, package pins and asset keys, not in addresses.
_NOT_MAIL_DOMAIN_END = re.compile(
    r"(?i:\.(?:js|mjs|ts|css|scss|py|rb|go|java|json|xml|html?|md|txt|png|jpe?g|gif|svg|webp|pdf|zip|gz|tar|csv"
    r"|yml|yaml|toml|lock|map|woff2?|ttf|ico|mp4|mp3|wasm|sh|bat|exe|dll|so)$|\.\d+$)"
)


def is_not_an_email(text: str, start: int, end: int) -> bool:
    """True for an "address" that is a package pin, an asset key or a path ("repo@v5.4.2", "type@asset+block@x.js")."""
    value = text[start:end]
    domain = value.rpartition("@")[2]
    if _NOT_MAIL_DOMAIN_END.search(domain) or not re.search(r"\.[A-Za-z]{2,}$", domain):
        return True
    before = text[max(0, start - 1) : start]
    return before in ("/", "@", "+", ":") or "/" in value
