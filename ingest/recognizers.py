"""Structured PII that a checksum or a cue makes certain: cards, IBANs, phones, dates of birth, account numbers.

Presidio's recognizers (e-mail, IP, US SSN, UK NINO) run in ``redact.py``; the
types here are found by our own matchers because each needs something Presidio's
does not do:

- **CREDIT_CARD**: any 13-19 digit number that passes Luhn, written whole or in
  the groups cards are printed in (4-4-4-4, 4-4-4-1 for the old 13-digit Visa,
  4-6-5 Amex, 4-6-4 Diners, 4-4-4-4-3), with an issuer's first digit (2-6).
  Presidio's card patterns miss 13-digit Visas and Maestro.
- **IBAN_CODE**: ISO 13616 mod-97 for every country in the IBAN registry, with
  the country's length, written compact or in groups.
- **PHONE_NUMBER**: ``phonenumbers`` with the message's locale as the default
  region (then its neighbours); a number written with ``+`` parses in every
  region. VALID leniency for national numbers, POSSIBLE for international ones.
- **DATE_OF_BIRTH**: a date (numeric or with month names in eight languages)
  after a birth cue ("born", "DOB", "Geburtsdatum", "né le", "fecha de
  nacimiento", ...). A date without a cue is not personal.
- **ACCOUNT_NUMBER**: an identifier with at least five digits after an account
  or customer-number cue ("account", "customer no.", "Kundennummer", "numéro
  client", "número de cliente", ...).

Every match then passes the look-alike guards of ``lookalikes.py``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date

from ingest import lookalikes


@dataclass(frozen=True)
class Match:
    """One structured match: type, character range, confidence and the detector that found it."""

    entity_type: str
    start: int
    end: int
    score: float
    detector: str


# --------------------------------------------------------------------------- cards

_CARD_CANDIDATE = re.compile(r"(?<![\w.,/+-])[2-6]\d{3}(?:[ -]?\d){9,15}(?![\w/-]|[.,]\d)")
# Group lengths cards are printed in (the last group of a 4-grouped number may be short).
_CARD_GROUPS = ((4, 6, 5), (4, 6, 4))


def luhn_valid(digits: str) -> bool:
    """ISO/IEC 7812 check digit."""
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = ord(char) - 48
        if index % 2:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def _card_grouping_ok(raw: str) -> bool:
    groups = re.split(r"[ -]", raw)
    if len(groups) == 1:
        return True
    separators = set(re.findall(r"[ -]", raw))
    if len(separators) > 1:
        return False
    lengths = tuple(len(g) for g in groups)
    if lengths in _CARD_GROUPS:
        return True
    return all(n == 4 for n in lengths[:-1]) and 1 <= lengths[-1] <= 4


def find_cards(text: str) -> Iterator[Match]:
    for match in _CARD_CANDIDATE.finditer(text):
        raw = match.group()
        digits = re.sub(r"\D", "", raw)
        if not 13 <= len(digits) <= 19 or not luhn_valid(digits) or not _card_grouping_ok(raw):
            continue
        if lookalikes.is_reference_number(text, match.start(), match.end()):
            continue
        yield Match("CREDIT_CARD", match.start(), match.end(), 1.0, "luhn")


# --------------------------------------------------------------------------- IBANs

# ISO 13616 registry: country code -> IBAN length.
IBAN_LENGTHS = {
    "AD": 24, "AE": 23, "AL": 28, "AT": 20, "AZ": 28, "BA": 20, "BE": 16, "BG": 22, "BH": 22, "BI": 27,
    "BR": 29, "BY": 28, "CH": 21, "CR": 22, "CY": 28, "CZ": 24, "DE": 22, "DJ": 27, "DK": 18, "DO": 28,
    "EE": 20, "EG": 29, "ES": 24, "FI": 18, "FK": 18, "FO": 18, "FR": 27, "GB": 22, "GE": 22, "GI": 23,
    "GL": 18, "GR": 27, "GT": 28, "HN": 28, "HR": 21, "HU": 28, "IE": 22, "IL": 23, "IQ": 23, "IS": 26,
    "IT": 27, "JO": 30, "KW": 30, "KZ": 20, "LB": 28, "LC": 32, "LI": 21, "LT": 20, "LU": 20, "LV": 21,
    "LY": 25, "MC": 27, "MD": 24, "ME": 22, "MK": 19, "MN": 20, "MR": 27, "MT": 31, "MU": 30, "NI": 28,
    "NL": 18, "NO": 15, "OM": 23, "PK": 24, "PL": 28, "PS": 29, "PT": 25, "QA": 29, "RO": 24, "RS": 22,
    "RU": 33, "SA": 24, "SC": 31, "SD": 18, "SE": 24, "SI": 19, "SK": 24, "SM": 27, "SO": 23, "ST": 25,
    "SV": 28, "TL": 23, "TN": 24, "TR": 26, "UA": 29, "VA": 22, "VG": 24, "XK": 20, "YE": 30,
    # partial members and French territories that publish IBANs
    "DZ": 26, "AO": 25, "BJ": 28, "BF": 28, "CM": 27, "CV": 25, "CI": 28, "CG": 27, "GA": 27, "IR": 26,
    "MG": 27, "ML": 28, "MZ": 25, "SN": 28, "GF": 27, "GP": 27, "MQ": 27, "RE": 27, "NC": 27, "PF": 27,
}  # fmt: skip
_IBAN_START = re.compile(r"(?<![A-Za-z0-9])([A-Za-z]{2})[ ]?(\d{2})(?=[ ]?[A-Za-z0-9])", re.A)
_IBAN_BODY = re.compile(r"[ ]?[A-Za-z0-9]", re.A)


def iban_valid(compact: str) -> bool:
    """ISO 7064 mod 97-10 over the rearranged IBAN, with the country's registered length."""
    if IBAN_LENGTHS.get(compact[:2]) != len(compact):
        return False
    rearranged = compact[4:] + compact[:4]
    try:
        return int("".join(str(int(ch, 36)) for ch in rearranged)) % 97 == 1
    except ValueError:
        return False


def find_ibans(text: str) -> Iterator[Match]:
    for match in _IBAN_START.finditer(text):
        country = match.group(1)
        length = IBAN_LENGTHS.get(country.upper())
        if length is None or not (country.isupper() or country.islower()):
            continue
        compact = country.upper() + match.group(2)
        position = match.end()
        while len(compact) < length:
            body = _IBAN_BODY.match(text, position)
            if body is None:
                break
            compact += body.group()[-1].upper()
            position = body.end()
        if len(compact) != length or (position < len(text) and text[position].isalnum()):
            continue
        if iban_valid(compact):
            yield Match("IBAN_CODE", match.start(), position, 1.0, "mod97")


# --------------------------------------------------------------------------- phones

# Default regions by language, when the locale names no country; the first is the default.
LANGUAGE_REGIONS = {
    "en": ("GB", "US", "IE", "AU", "CA", "NZ", "ZA", "IN"),
    "de": ("DE", "AT", "CH"),
    "fr": ("FR", "BE", "CH", "CA", "LU"),
    "es": ("ES", "MX", "AR", "CO", "CL"),
    "it": ("IT", "CH"),
    "pt": ("PT", "BR"),
    "pl": ("PL",),
    "nl": ("NL", "BE"),
    "sv": ("SE",),
    "da": ("DK",),
    "nb": ("NO",),
    "no": ("NO",),
    "fi": ("FI",),
    "cs": ("CZ",),
    "el": ("GR",),
    "tr": ("TR",),
    "ja": ("JP",),
}
_PHONE_CANDIDATE = re.compile(r"(?<![\w.,/-])(?:\+|00)?\(?\d[\d \t().\-/]{5,}\d(?![\w]|[.,]\d)")
_PHONE_CUE = re.compile(
    r"(?i:\b(?:phone|tel|tél|telefon|telefone|telefono|teléfono|téléphone|telemóvel|celular|cell|mobile|mob|handy"
    r"|call|ring|text me|whatsapp|sms|fax|durchwahl|direct|rückruf|appel|rappeler|llamar|chiamare|ligar"
    r"|zadzwoń|bel|numer|number|nummer|numéro|número|numero|contact|erreichbar|cel|móvil|movil|cellulare"
    r"|telefoon|telefonu|komórka|komórkowy|handynummer|rufnummer|durchwahl|direct\s+line|landline)(?!\w))"
)


# Tried after the locale's own regions: a customer abroad writes their number the way their country does.
FALLBACK_REGIONS = ("US", "GB", "DE", "FR", "ES", "IT", "NL", "PL", "PT", "BE", "AT", "CH", "IE", "BR", "IN", "IL")


def regions_for(locale: str) -> tuple[str, ...]:
    """The regions a national number is parsed in: the locale's country first, then its language's, then the
    fallback regions."""
    parts = re.split(r"[-_]", locale)
    language = parts[0].lower()
    country = parts[1].upper() if len(parts) > 1 and len(parts[1]) == 2 else ""
    regions = LANGUAGE_REGIONS.get(language, ("US", "GB"))
    return tuple(dict.fromkeys((country, *regions, *FALLBACK_REGIONS) if country else (*regions, *FALLBACK_REGIONS)))


def find_phones(text: str, locale: str = "en") -> Iterator[Match]:
    import phonenumbers

    regions = regions_for(locale)
    for candidate in _PHONE_CANDIDATE.finditer(text):
        raw = candidate.group()
        digits = sum(ch.isdigit() for ch in raw)
        if digits < 7 or digits > 16:
            continue
        low, high = candidate.start(), candidate.end()
        # "+49 (0)89 ..." : the trunk zero in brackets is written for callers at home; the parser wants it gone.
        window = text[low:high].replace("(0)", "   ")
        international = window.lstrip("( ").startswith(("+", "00"))
        found: tuple[int, int] | None = None
        for region in regions if not international else regions[:1]:
            for number in phonenumbers.PhoneNumberMatcher(window, region, leniency=phonenumbers.Leniency.POSSIBLE):
                ok = phonenumbers.is_valid_number(number.number) or (
                    international and phonenumbers.is_possible_number(number.number)
                )
                if ok:
                    found = (low + number.start, low + number.end)
                    break
            if found:
                break
        cue = _has_phone_cue(text, low)
        score = 0.9 if international else 0.75
        if found is None and cue:  # "Phone: 01632 960742": a possible number where the text says a phone is
            for number in phonenumbers.PhoneNumberMatcher(window, regions[0], leniency=phonenumbers.Leniency.POSSIBLE):
                found, score = (low + number.start, low + number.end), 0.6
                break
        if found is None:
            continue
        start, end = found
        if lookalikes.is_phone_lookalike(text, start, end, cue=cue):
            continue
        yield Match("PHONE_NUMBER", start, end, score, "phonenumbers")


def _has_phone_cue(text: str, start: int) -> bool:
    line_start = text.rfind("\n", 0, start) + 1
    return bool(_PHONE_CUE.search(text, max(line_start, start - 40), start))


# --------------------------------------------------------------------------- dates of birth

_BIRTH_CUE = re.compile(
    r"(?i:date\s+of\s+birth|birth\s*date|birthdate|birthday|\bd\.?o\.?b\b|\bborn\b|\bb\.(?=\s*\d)"
    r"|geburtsdatum|geburtstag|geboren|\bgeb\.|date\s+de\s+naissance|\bné(?:e)?\s+le\b|\bnée?\b|naissance"
    r"|fecha\s+de\s+nacimiento|fecha\s+de\s+nac\.?|\bnac[ií]\b|\bnac[ií]d[oa]\b|nacimiento"
    r"|data\s+di\s+nascita|\bnat[oa]\s+il\b|data\s+de\s+nascimento|\bnasci(?:d[oa])?\b|nascimento"
    r"|data\s+urodzenia|\burodzon[ya]\b|\bur\.|geboortedatum|\bgeboren\s+op\b|f[oö]dd|født|syntymä)"
)
_MONTHS = {
    # en, de, fr, es, it, pt, pl (nominative and genitive), nl; abbreviations of three letters or more
    **dict.fromkeys("january jan januar janvier janv enero ene gennaio gen janeiro styczeń stycznia sty januari".split(), 1),
    **dict.fromkeys("february feb februar février févr fevrier febrero febbraio fevereiro fev luty lutego lut februari".split(), 2),
    **dict.fromkeys("march mar märz maerz mars marzo março marco marzec marca maart mrt".split(), 3),
    **dict.fromkeys("april apr avril avr abril abr aprile kwiecień kwietnia kwi".split(), 4),
    **dict.fromkeys("may mai mayo maggio mag maio maj maja mei".split(), 5),
    **dict.fromkeys("june jun juni juin junio giugno giu junho czerwiec czerwca cze".split(), 6),
    **dict.fromkeys("july jul juli juillet juil julio luglio lug julho lipiec lipca lip".split(), 7),
    **dict.fromkeys("august aug août aout agosto ago sierpień sierpnia sie augustus".split(), 8),
    **dict.fromkeys("september sep sept septembre septiembre setiembre settembre set setembro wrzesień września wrz".split(), 9),
    **dict.fromkeys("october oct oktober octobre octubre ottobre ott outubro out październik października paź okt".split(), 10),
    **dict.fromkeys("november nov novembre noviembre novembro listopad listopada lis".split(), 11),
    **dict.fromkeys("december dec dezember décembre decembre diciembre dic dicembre dezembro dez grudzień grudnia gru".split(), 12),
}  # fmt: skip
_MONTH = r"(?P<month_name>[^\W\d_]{3,12})\.?"
_DAY = r"(?P<day>\d{1,2})(?:st|nd|rd|th|er|º|°|\.)?"
_YEAR = r"(?P<year>(?:19|20)\d{2})"
_DATE_PATTERNS = (
    re.compile(rf"(?P<a>\d{{1,2}})(?P<sep>[./-])(?P<b>\d{{1,2}})(?P=sep){_YEAR}(?!\d)"),
    re.compile(rf"(?P<a>\d{{1,2}}) ?/ ?(?P<b>\d{{1,2}}) ?/ ?{_YEAR}(?!\d)"),
    re.compile(rf"{_YEAR}[-/.](?P<b>\d{{1,2}})[-/.](?P<a>\d{{1,2}})(?!\d)"),
    re.compile(rf"{_DAY}(?:[ \t]+(?:de|of|th|the)?)*[ \t-]*{_MONTH}(?:[ \t]+de)?[ \t,-]*{_YEAR}(?!\d)", re.I),
    re.compile(rf"{_MONTH}[ \t]+(?:the[ \t]+)?{_DAY},?[ \t]+{_YEAR}(?!\d)", re.I),
)
# How far after a birth cue its date may start (a question's answer on the next line included).
BIRTH_CUE_REACH = 60


# "... Ihr Geburtsdatum zur Verifizierung nennen?\nKundin: 03.07.1982": the cue asked, the next line answers.
_ANSWER_LINE = re.compile(r"^[^\n]*\?[ \t]*\n[ \t]*(?:\[?[\d:]+\]?[ \t]*)?(?:[^\W\d][^\n:]{0,30}:)?[ \t]*$")


def _asked_then_answered(between: str) -> bool:
    return between.count("\n") == 1 and bool(_ANSWER_LINE.match(between))


def _parse_date(match: re.Match[str], locale: str) -> date | None:
    groups = match.groupdict()
    year = int(groups["year"])
    if groups.get("month_name"):
        month = _MONTHS.get(groups["month_name"].lower().rstrip("."))
        day = int(groups["day"])
        if month is None:
            return None
    else:
        first, second = int(groups["a"]), int(groups["b"])
        if "sep" not in groups and match.re.pattern.startswith("(?P<year>"):
            day, month = first, second
        elif locale.lower() in ("en-us", "us") or first <= 12 < second:
            month, day = first, second
        else:
            day, month = first, second
    try:
        parsed = date(year, month, day)
    except ValueError:
        return None
    return parsed if 1900 <= parsed.year <= date.today().year else None


_YEAR_ANYWHERE = re.compile(r"(?<!\d)(?:19|20)\d{2}(?!\d)")


def find_dates_of_birth(text: str, locale: str = "en") -> Iterator[Match]:
    """Dates after a birth cue. Every birth date holds a four-digit year: the cue is looked for only in the
    short stretch before each year, not over the whole text."""
    seen: set[int] = set()
    for year in _YEAR_ANYWHERE.finditer(text):
        low = max(0, year.start() - BIRTH_CUE_REACH - 25)
        cues = list(_BIRTH_CUE.finditer(text, low, year.start()))
        if not cues:
            continue
        cue = cues[-1]
        if cue.end() in seen:
            continue
        best = _date_after(text, cue.end(), locale)
        if best is not None:
            seen.add(cue.end())
            yield Match("DATE_OF_BIRTH", best[0], best[1], 0.85, "birth-cue")


def _date_after(text: str, position: int, locale: str) -> tuple[int, int] | None:
    """The first date starting within ``BIRTH_CUE_REACH`` characters of ``position`` on the same line."""
    reach_end = min(len(text), position + BIRTH_CUE_REACH)
    best: tuple[int, int] | None = None
    for pattern in _DATE_PATTERNS:
        match = pattern.search(text, position, reach_end + 25)
        if match is None or match.start() > reach_end:
            continue
        between = text[position : match.start()]
        if "\n" in between.strip(" \t:-–") and not _asked_then_answered(between):
            continue
        if _parse_date(match, locale) is None:
            continue
        if best is None or match.start() < best[0] or (match.start() == best[0] and match.end() > best[1]):
            best = (match.start(), match.end())
    return best


# --------------------------------------------------------------------------- account numbers

_ACCOUNT_CUE = re.compile(
    r"(?i:\b(?:customer|client|member(?:ship)?|account|acct|acc|a/c|contract|subscriber|policy)\s*"
    r"(?:(?:no|nr|num|number|id|ref|reference|code)\b\.?|n[°º]\.?|#)?"
    r"|\bkunden[-\s]?(?:nummer|nr\.?|-?nr\.?)|\bkonto(?:nummer|nr\.?)?\b|\bvertrags(?:nummer|nr\.?)|\bmitglieds(?:nummer|nr\.?)"
    r"|\bnum[ée]ro\s+(?:de\s+)?(?:client|compte|contrat|adh[ée]rent)|\bn[°º]\s*(?:de\s+)?client|\br[ée]f[ée]rence\s+client"
    r"|\bn[úu]mero\s+de\s+(?:cliente|cuenta|socio|contrato)|\bn[ºo°]\.?\s*de\s+(?:cliente|cuenta|conta)"
    r"|\bcodice\s+cliente|\bnumero\s+(?:cliente|conto|contratto)|\bn\.\s*cliente|\bconto\b"
    r"|\bn[úu]mero\s+(?:de\s+cliente|da\s+conta|de\s+conta)|\bnumer\s+(?:klienta|konta|umowy)|\bnr\.?\s+(?:klienta|konta)"
    r"|\bklant(?:nummer|nr\.?)|\brekening(?:nummer|nr\.?)?|\blidnummer|\bcuenta\b|\bcompte\b)(?!\w)"
)
_ACCOUNT_FILLER = re.compile(
    r"(?i:[ \t]*(?:[:#=\-–()]|, |(?:lautet|wynosi|number|nummer|ist|est|jest|is|es|è|é|le|la|el|il|lo|de|der"
    r"|das|no\.?)(?![\w])|(?:for|für|pour|para|per|voor|do)[ \t]+(?:the[ \t]+)?\w+[ \t]*:)[ \t]*)"
)
_ACCOUNT_VALUE = re.compile(
    r"(?<![\w@.])(?:[A-Z]{1,4}[-/ ]?)?\d[\d]*(?:[-/. ]\d+)*(?:[-/ ]?[A-Z]{1,3}\b)?(?![\w@]|[.,]\d)"
)
MIN_ACCOUNT_DIGITS = 5


_ACCOUNT_CANDIDATE = re.compile(r"\d(?:[\d\-/. ]*\d)?")


def find_account_numbers(text: str) -> Iterator[Match]:
    """Identifiers of five digits or more that an account cue precedes, with only filler words between.

    The digits are found first and the cue looked for in the few words before them:
    scanning the whole text for the long cue pattern costs more than the rest together.
    """
    seen: set[int] = set()
    for digits in _ACCOUNT_CANDIDATE.finditer(text):
        if sum(ch.isdigit() for ch in digits.group()) < MIN_ACCOUNT_DIGITS:
            continue
        low = max(0, digits.start() - 60)
        for cue in reversed(list(_ACCOUNT_CUE.finditer(text, low, digits.start()))):
            if cue.end() in seen:
                break
            found = _account_value_after(text, cue.end())
            if found is not None:
                seen.add(cue.end())
                yield Match("ACCOUNT_NUMBER", found[0], found[1], 0.8, "account-cue")
            break


def _account_value_after(text: str, position: int) -> tuple[int, int] | None:
    for _ in range(4):
        filler = _ACCOUNT_FILLER.match(text, position)
        if filler is None or filler.end() == position:
            break
        position = filler.end()
    position += len(text[position : position + 20]) - len(text[position : position + 20].lstrip(" \t"))
    value = _ACCOUNT_VALUE.match(text, position)
    if value is None:
        return None
    raw = value.group().rstrip(" -/.")
    if sum(ch.isdigit() for ch in raw) < MIN_ACCOUNT_DIGITS or re.fullmatch(r"\d+(?:\.\d+){3}", raw):
        return None
    return value.start(), value.start() + len(raw)


def find_structured(text: str, locale: str = "en", entities: frozenset[str] | None = None) -> list[Match]:
    """Every card, IBAN, phone, date of birth and account number in ``text``."""
    wanted = entities if entities is not None else frozenset(ALL_TYPES)
    found: list[Match] = []
    if "CREDIT_CARD" in wanted:
        found += find_cards(text)
    if "IBAN_CODE" in wanted:
        found += find_ibans(text)
    if "PHONE_NUMBER" in wanted:
        found += find_phones(text, locale)
    if "DATE_OF_BIRTH" in wanted:
        found += find_dates_of_birth(text, locale)
    if "ACCOUNT_NUMBER" in wanted:
        found += find_account_numbers(text)
    return found


ALL_TYPES = ("CREDIT_CARD", "IBAN_CODE", "PHONE_NUMBER", "DATE_OF_BIRTH", "ACCOUNT_NUMBER")
