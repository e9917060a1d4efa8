"""Person names found by the places support mail puts them, not by a statistical model.

A small NER model misses half the names in a support inbox (measured on
data/samples/pii_labels.jsonl), yet mail names people in a few fixed places:
greetings ("Hi Gareth,"), the line after a sign-off ("Thanks,\\nKenji
Watanabe"), labelled fields ("Name:", "From:", ``"name": "..."``), a name
beside its own e-mail address, titles ("Frau Petra Schubert"), appositions
("my client ..., our office manager ..."), and a known first name followed by
a surname. A name found once is then found wherever the text repeats it
("Sean" after "Sean Gallagher").

Every candidate must look like a name: capitalized tokens (any script), none
of them a word the same text also writes in lowercase or a known UI word;
the caller supplies that test so that NER and these rules judge alike.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from functools import cache
from pathlib import Path

from ingest.spans import merge_spans

# One name token: a capitalized word in any alphabet, with inner hyphens or apostrophes.
_TOKEN = r"(?:[^\W\d_a-zà-ÿα-ωа-я][^\W\d_]*(?:[-'’][^\W\d_]+)*)"
# Particles inside surnames: "Femke de Vries", "Ludwig van Beethoven".
_PARTICLE = (
    r"(?:de|van|von|der|den|da|di|du|del|della|le|la|dos|das|ter|ten|bin|al|zu|dei|degli|y|e|ibn|bint|binti|ap"
    r"|Mac|Mc|Nic|Ní|Ó|Ua|Uí|Ní|El|Al|Abu|Ben|Bat|Van|Von|De|Di|Da|Le|La|Del|Della|Dos|Das|Du)"
)
_NAME = rf"{_TOKEN}(?:[ \t]+(?:{_PARTICLE}[ \t]+)?{_TOKEN}){{0,3}}"
_TITLE = (
    r"(?:Mr|Mrs|Ms|Miss|Mx|Dr|Prof|Herr|Frau|Hr|Mme|Mlle|Madame|Monsieur|M(?=\.)|Sr|Sra|Srta|Don|Doña|Sig|Sig\.ra"
    r"|Signor|Signora|Dott|Dott\.ssa|dott|Ing|Pan|Pani|Dhr|Mevr|Mw|Meneer|Mevrouw)\.?"
)

_GREETING = re.compile(
    rf"^[ \t>]*(?i:Hi|Hello|Hey|Dear|Morning|Hallo|Hej|Hoi|Liebe|Lieber|Sehr geehrte|Sehr geehrter|Bonjour|Salut"
    rf"|Hola|Ciao|Olá|Beste|Goedemorgen|Goedemiddag|Moin|Servus|Grüezi|Guten Tag|Guten Morgen|Bonsoir|Coucou"
    rf"|Buenas|Buenos días|Buenas tardes|Estimado|Estimada|Querido|Querida|Buongiorno|Buonasera|Salve|Gentile"
    rf"|Caro|Cara|Bom dia|Boa tarde|Oi|Prezado|Prezada|Caro|Dzień dobry|Witam|Cześć|Szanowny Panie|Szanowna Pani"
    rf"|Thanks|Thank you|Sorry|Merci|Danke|Gracias|Grazie|Obrigado|Obrigada|Dziękuję|Bedankt)"
    rf"[ \t]+(?:{_TITLE}[ \t]+)?(?P<name>{_NAME})[ \t]*[,!:\n.]",
    re.M,
)
_SIGN_OFF = (
    r"(?i:thanks|thank you|thanks again|thanks so much|thank you so much|many thanks|thanks in advance|thx|ta|cheers"
    r"|best|all the best|best wishes|best regards|kind regards|warm regards|warmest regards|regards|sincerely"
    r"|yours|yours sincerely|yours truly|very truly yours|yours faithfully|respectfully|take care|speak soon"
    r"|mit freundlichen grüßen|freundliche grüße|viele grüße|beste grüße|liebe grüße|gruß|grüße|danke"
    r"|merci|cordialement|bien à vous|saludos|un saludo|gracias|grazie|distinti saluti|met vriendelijke groet"
    r"|groeten|hälsningar|vänliga hälsningar|med venlig hilsen|bien cordialement|amicalement|salutations"
    r"|sincères salutations|bonne journée|merci d'avance|atentamente|saludos cordiales|un abrazo|muchas gracias"
    r"|cordiali saluti|saluti|grazie mille|buona giornata|cumprimentos|atenciosamente|att|abraço|abraços"
    r"|obrigado|obrigada|pozdrawiam serdecznie|serdecznie pozdrawiam|serdeczne pozdrowienia|pozdrowienia|herzliche grüße|schöne grüße|pozdrawiam|z poważaniem|z wyrazami szacunku|dziękuję|groetjes|hartelijke groet"
    r"|vriendelijke groeten|met vriendelijke groeten|groet|lg|vg|mfg|tschüss|ngā mihi|cheers|salut"
    r"|thanks a mil|thanks a million|thanks a lot|thanks so much|tks|ty|danke schön|vielen dank|danke & grüße"
    r"|danke und grüße|merci beaucoup|merci d'avance|gracias de antemano|dank je wel|hartelijk dank"
    r"|dziękuję bardzo|obrigado desde já|cumprimentos cordiais)"
    r"(?:[ \t]+(?:aus|from|de|da|z)[ \t]+[^\W\d_]+)?"
)
# A sign-off, then the name on the next line, or on the same line once a loader has joined the lines
# ("Many thanks, Rhys Morgan-Tate Director, ..."; "Kind regards, > Jonas > Ledgerly Support").
_AFTER_SIGN_OFF = re.compile(
    rf"(?:^|[.!?][ \t]+)[ \t>]*{_SIGN_OFF}[ \t]*(?:[,.!]+[ \t>]*\n?|\n)[ \t>\n]*(?:{_TITLE}[ \t]+)?"
    rf"(?:[A-Z]\.[ \t]?)?(?P<name>{_NAME})",
    re.M,
)
# A line holding only a name, after a blank line, among the last lines of a message.
_SIGNATURE_LINE = re.compile(
    rf"\n[ \t>]*\n[ \t>]*(?P<name>{_TOKEN}(?:[ \t]+(?:{_PARTICLE}[ \t]+)?{_TOKEN}){{1,2}})[ \t]*(?=\n|\Z)"
)
SIGNATURE_LINES = 6
_FIELD = re.compile(
    rf"(?:^|[\n;|])[ \t>]*(?i:Name|Full name|Customer name|Contact|Contact name|Contact person|Account holder"
    rf"|Account name|Account owner|Owner|Admin|Kontoinhaber|Kontoinhaberin|Titulaire|Recipient|Empfänger|From|To|Cc"
    rf"|Reply-To|Von|An|De|À|A|Da|Para|Od|Do|Van|Aan|Signed|Requested by|Submitted by|Vorname|Nachname"
    rf"|Ansprechpartner|Ansprechpartnerin|Nom|Prénom|Nom complet|Contact technique|Responsable|Nombre"
    rf"|Nombre completo|Apellidos|Apellido|Titular|Nome|Cognome|Nome completo|Intestatario|Referente|Contatto"
    rf"|Contacto|Imię|Nazwisko|Imię i nazwisko|Osoba kontaktowa|Naam|Voornaam|Achternaam|Contactpersoon"
    rf"|Tenaamstelling)[ \t]*(?::|[-–][ \t])[ \t]*(?:{_TITLE}[ \t]+)?(?P<name>{_NAME})"
)
# Chat transcripts: "[14:20] Mehmet Öztürk: ...", "14:05 <Hye-jin Park> ...".
_SPEAKER = re.compile(
    rf"^[ \t]*(?:\[?\d{{1,2}}:\d{{2}}(?::\d{{2}})?\]?[ \t]+(?P<name>{_NAME})[ \t]*:"
    rf"|(?:\[?\d{{1,2}}:\d{{2}}(?::\d{{2}})?\]?[ \t]+)?<(?P<other>{_NAME})>)",
    re.M,
)
_SPEAKER_ROLES = frozenset(
    """customer agent visitor user client support kunde kundin mitarbeiter mitarbeiterin besucher conseiller
    conseillère cliente agente usuario utente operatore operatrice atendente klient klientka konsultant
    konsultantka klant medewerker bot system visiteur gast guest""".split()
)
_JSON_NAME = re.compile(rf"\"(?:name|full_name|fullName|customer_name|contact_name)\"\s*:\s*\"(?P<name>{_NAME})\"")
_TITLED = re.compile(rf"\b(?i:{_TITLE})[ \t]+(?P<name>{_NAME})")
_ROLE = (
    r"(?i:colleague|co-worker|coworker|client|customer|employee|staff member|bookkeeper|accountant|partner"
    r"|business partner|co-founder|cofounder|founder|owner|admin|administrator|manager|office manager|boss"
    r"|assistant|wife|husband|son|daughter|brother|sister|contractor|driver|recipient|sender|tenant|landlord"
    r"|developer|hygienist|technician|director|intern|courier|agent|rep|mother|father|mum|mom|dad|dpo|cfo|ceo"
    r"|Kollege|Kollegin|Buchhalter|Buchhalterin|Chef|Chefin|Mutter|Vater|Frau|Mann|Sohn|Tochter|Geschäftsführer"
    r"|Geschäftsführerin|Admin|Ansprechpartner|Ansprechpartnerin|collègue|comptable|mère|père|femme|mari|fils|fille"
    r"|compañero|compañera|contable|madre|padre|esposa|marido|hijo|hija|jefe|jefa|collega|commercialista|moglie"
    r"|marito|figlio|figlia|capo|colega|contabilista|mãe|pai|mulher|esposo|filho|filha|kolega|koleżanka|księgowa"
    r"|księgowy|żona|mąż|syn|córka|szef|szefowa|collega|boekhouder|boekhoudster|vrouw|man|moeder|vader|zoon"
    r"|dochter|baas|responsable|responsible|contact|contacto|contatto|referente|ansprechperson|contactpersoon"
    r"|żony|męża|córki|syna|kolegi|koleżanki|szefa|szefowej|księgowej|księgowego|matki|ojca)"
)
_POSSESSOR = (
    r"(?i:my|our|his|her|their|the|a|an|your|one of (?:them|us|our \w+)|mein|meine|meinen|meiner|unser|unsere"
    r"|unseren|unserer|ihr|ihre|mon|ma|notre|votre|mi|nuestro|nuestra|su|il mio|la mia|mio|mia|nostro|nostra"
    r"|o meu|a minha|meu|minha|nosso|nossa|mój|moja|mojego|mojej|naszego|naszej|nasz|nasza|mijn|onze|uw"
    r"|la|el|le|les|los|las|die|der|das|het|de|il|lo|o|a)"
)
_CONVERSATION = re.compile(
    rf"\b(?i:spoke (?:with|to)|talked (?:with|to)|call with|chatted with|met with|sprach mit|gesprochen mit"
    rf"|telefoniert mit|parlé avec|échange avec|hablé con|parlato con|falei com|rozmawiałem z|rozmawiałam z"
    rf"|gesproken met|gebeld met|told by|helped by|assisted by|handled by|approved by|signed by|sent by)[ \t]+(?:{_POSSESSOR}[ \t]+(?:{_ROLE}[ \t]+)?)?(?:{_TITLE}[ \t]+)?(?P<name>{_NAME})"
    rf"(?:[ \t]+(?i:and|und|et|y|e|i|en)[ \t]+(?P<other>{_NAME}))?"
)
_APPOSITION = re.compile(
    rf"\b{_POSSESSOR}(?:[ \t]+(?i:old|new|former|other|late|neue|neuer|nouveau|nouvelle|nuevo|nueva|nuovo|nuova))?"
    rf"[ \t]+{_ROLE}[ \t]*(?:,|[ \t]+(?i:is|ist|est|es|è|é|jest|heißt|called|named))?[ \t]+(?:{_TITLE}[ \t]+)?"
    rf"(?P<name>{_NAME})"
    rf"|\b(?i:one of them|also)[ \t]*,?[ \t]+(?P<other>{_TOKEN})\b(?=[ \t]*(?:,|'s|’s))"
)
# "She's Ifeoma Nwosu": a third person introduced by a pronoun, first and last name.
_INTRODUCED = re.compile(
    rf"\b(?i:she's|she’s|she is|he's|he’s|he is|sie ist|er ist|elle est|il est|ella es|él es|lei è|lui è|ela é"
    rf"|ele é|ona jest|on jest|zij is|hij is)[ \t]+(?P<name>{_TOKEN}[ \t]+(?:{_PARTICLE}[ \t]+)?{_TOKEN})\b"
)
_SELF = re.compile(
    rf"\b(?i:my name is|this is|I am|I'm|I’m|im|it's|its|ich heiße|ich bin|mein name ist|hier ist|je m'appelle"
    rf"|je m’appelle|je suis|c'est|c’est|moi c'est|me llamo|soy|mi nombre es|mi chiamo|sono|il mio nome è"
    rf"|o meu nome é|meu nome é|chamo-me|aqui é(?: [ao])?|eu sou|sou [ao]|nazywam się|jestem|tu|mijn naam is|ik ben"
    rf"|met|my name's|name's)"
    rf"[ \t]+(?P<name>{_NAME})\b"
    rf"|(?:[:,][ \t]*)(?P<other>{_NAME})[ \t]+(?i:ici|hier|here|aquí|qui)(?!\w)",
    re.M,
)
_EMAIL = re.compile(r"[\w.+'-]+@[\w-]+(?:\.[\w-]+)+")
_NAME_BEFORE_EMAIL = re.compile(rf"(?P<name>{_NAME})[ \t]*[<(\[][ \t]*(?:mailto:)?(?P<email>[\w.+'-]+@[\w.-]+)")
_CANDIDATE_PAIR = re.compile(rf"\b(?P<first>{_TOKEN})[ \t]+(?:{_PARTICLE}[ \t]+)?(?P<last>{_TOKEN})\b")
_ALIAS = re.compile(rf"[ \t]*\((?P<name>{_TOKEN}(?:[ \t]+{_TOKEN}){{1,2}})\)")
_POSSESSIVE = re.compile(r"['’]s$")
_WORD = re.compile(r"[^\W\d_]+(?:[-'’][^\W\d_]+)*")

Judge = Callable[[str], bool]


def find_names(
    text: str, is_name_word: Judge, with_first_names: bool = True, confirmed_only: bool = False
) -> list[tuple[int, int]]:
    """Character spans of person names in ``text``, merged and in order.

    ``is_name_word(token)`` says whether one capitalized token may be part of a
    name in this text (not a UI word, not written in lowercase elsewhere).
    ``with_first_names`` adds known English first names followed by a surname;
    leave it off for languages that capitalize their nouns. ``confirmed_only``
    keeps only names that an e-mail address in the text spells out (beside the
    name or anywhere): help-center content, where a heading "Best Practices"
    must never read as a sign-off.
    """
    spans: list[tuple[int, int]] = []
    candidates = _confirmed(text, is_name_word) if confirmed_only else _contextual(text, is_name_word)
    for start, end in candidates:
        trimmed = _trim(text, start, end, is_name_word)
        if trimmed:
            spans.append(trimmed)
    if with_first_names:
        spans += _known_first_names(text, is_name_word)
    spans += _aliases(text, spans, is_name_word)
    spans += _repeats(text, spans, is_name_word)
    return merge_spans(spans)


def _aliases(text: str, found: list[tuple[int, int]], is_name_word: Judge) -> list[tuple[int, int]]:
    """A name written again in brackets right after a name: "Νίκος Γεωργίου (Nikos Georgiou)"."""
    aliases = []
    for _, end in found:
        match = _ALIAS.match(text, end)
        if match:
            trimmed = _trim(text, *match.span("name"), is_name_word)
            if trimmed:
                aliases.append(trimmed)
    return aliases


def _confirmed(text: str, is_name_word: Judge) -> Iterator[tuple[int, int]]:
    """Names beside their own address ("Hannah Okafor <hannah.okafor@...>") or spelled by one in the text."""
    for match in _NAME_BEFORE_EMAIL.finditer(text):
        start = _mailbox_match_start(match.group("name"), match.group("email"), is_name_word)
        if start is not None:
            yield match.start("name") + start, match.end("name")
    yield from _mailbox_owners(text, is_name_word)


def _contextual(text: str, is_name_word: Judge) -> Iterator[tuple[int, int]]:
    for pattern in (
        _GREETING,
        _AFTER_SIGN_OFF,
        _FIELD,
        _JSON_NAME,
        _TITLED,
        _APPOSITION,
        _SELF,
        _CONVERSATION,
        _INTRODUCED,
    ):
        for match in pattern.finditer(text):
            for group in ("name", "other"):
                if group in pattern.groupindex and match.group(group):
                    yield match.span(group)
    for match in _SPEAKER.finditer(text):
        group = "name" if match.group("name") else "other"
        if match.group(group).split()[0].lower() not in _SPEAKER_ROLES:
            yield match.span(group)
    for match in _NAME_BEFORE_EMAIL.finditer(text):
        start = _mailbox_match_start(match.group("name"), match.group("email"), is_name_word)
        if start is not None:
            yield match.start("name") + start, match.end("name")
    yield from _mailbox_owners(text, is_name_word)
    yield from _signature_lines(text)


_SIGN_OFF_LINE = re.compile(rf"^{_SIGN_OFF}[ \t]*[,.!]*$")


def is_sign_off(text: str) -> bool:
    """True for a closing formula alone ("Cumprimentos", "Kind regards,")."""
    return bool(_SIGN_OFF_LINE.match(text.strip()))


# The signature delimiter of mail ("-- " on a line of its own), then the sender's name.
_SIGNATURE_DELIMITER = re.compile(rf"^--[ \t]*\n[ \t]*(?P<name>{_NAME})[ \t]*$", re.M)


def _signature_lines(text: str) -> Iterator[tuple[int, int]]:
    """A line of two or three name tokens standing alone near the end of a message or above a quote."""
    for match in _SIGNATURE_DELIMITER.finditer(text):
        yield match.span("name")
    for match in _SIGNATURE_LINE.finditer(text):
        if _SIGN_OFF_LINE.match(match.group("name")):
            continue
        rest = text[match.end() :]
        quoted = re.search(r"^(?:>|-{3,}|_{3,}|On .+wrote:|From:)", rest, re.M)
        tail = rest[: quoted.start()] if quoted else rest
        if len([line for line in tail.splitlines() if line.strip()]) < SIGNATURE_LINES:
            yield match.span("name")


def _mailbox_match_start(name: str, email: str, is_name_word: Judge) -> int | None:
    """Offset in ``name`` of its first name-like token spelled out in the address's local part
    ("Ask Femke de Vries (femke.devries@...)" -> "Femke"); None when no token is."""
    local = re.sub(r"[^a-z]", "", email.split("@", 1)[0].lower())
    for word in _WORD.finditer(name):
        token = word.group()
        if len(token) >= 3 and is_name_word(token) and _fold(token) in local:
            return word.start()
    return None


def _mailbox_owners(text: str, is_name_word: Judge) -> Iterator[tuple[int, int]]:
    """Capitalized pairs spelled out by a personal address in the same text (``claire.martin@``)."""
    locals_ = set()
    for email in _EMAIL.findall(text):
        parts = [p for p in re.split(r"[._+-]", email.split("@", 1)[0].lower()) if len(p) >= 3]
        if len(parts) >= 2:
            locals_.add(tuple(parts[:2]))
    if not locals_:
        return
    for match in _pairs(text):
        pair = (_fold(match.group("first")), _fold(match.group("last")).replace("-", ""))
        if (
            any(pair[0] == a and pair[1].startswith(b[:4]) for a, b in locals_)
            and _is_name_token(match.group("first"), is_name_word)
            and _is_name_token(match.group("last"), is_name_word)
        ):
            yield match.span()


def _pairs(text: str) -> Iterator[re.Match[str]]:
    """Every pair of adjacent capitalized tokens, overlapping ("FR Émilie Laurent" gives both pairs)."""
    position = 0
    while match := _CANDIDATE_PAIR.search(text, position):
        yield match
        position = match.start("last")


def _known_first_names(text: str, is_name_word: Judge) -> Iterator[tuple[int, int]]:
    """A known first name followed by a capitalized surname: "Steffan Rees", "Luis Ortega"."""
    first_names = _first_names()
    for match in _pairs(text):
        if _in_title_case_line(text, match.start()):
            continue
        first, last = match.group("first"), match.group("last")
        if (
            first.lower() in first_names
            and _is_name_token(first, is_name_word)
            and _is_name_token(last, is_name_word)
            and not _in_capitalized_run(text, match.start(), match.end())
        ):
            yield match.span()


def _repeats(text: str, found: list[tuple[int, int]], is_name_word: Judge) -> list[tuple[int, int]]:
    """Every other occurrence of a name already found, and of its first token ("Sean" after "Sean Gallagher")."""
    tokens = set()
    for start, end in found:
        name = text[start:end]
        words = _WORD.findall(name)
        tokens.add(name)
        if words and len(words[0]) >= 3 and is_name_word(words[0]):
            tokens.add(words[0])
    if not tokens:
        return []
    pattern = re.compile(r"(?<![\w@.])(?:" + "|".join(sorted(map(re.escape, tokens), key=len, reverse=True)) + r")\b")
    return [m.span() for m in pattern.finditer(text) if not _inside_address(text, m.start(), m.end())]


def _trim(text: str, start: int, end: int, is_name_word: Judge) -> tuple[int, int] | None:
    """The span cut down to its leading name tokens; None when its first token is no name."""
    words = list(_WORD.finditer(text, start, end))
    kept_end = None
    for word in words:
        token = word.group()
        if token.lower() in _PARTICLES and kept_end is not None:
            continue
        stem = _POSSESSIVE.sub("", token)  # "Harriet's" is Harriet
        if not _is_name_token(stem, is_name_word):
            break
        kept_end = word.start() + len(stem)
        if stem != token:
            break
    if kept_end is None:
        return None
    return words[0].start(), kept_end


def _is_name_token(token: str, is_name_word: Judge) -> bool:
    """Capitalized like a name ("Kenji", "McAllister"; not "VAT", not "I") and judged a name word here."""
    return (
        len(token) > 1
        and token[0].isupper()
        and not token.isupper()
        and token.lower().replace("’", "'") not in NOT_NAME_TOKENS
        and not re.search(r"-(?i:team|support|service|desk)$", token)
        and is_name_word(token)
    )


# Words that stand where a name would (after a sign-off, in a greeting, as a speaker) but name a team, a
# function or nobody: "Ihr Support-Team", "L'équipe Support", "Customer Success", "Servizio Clienti".
NOT_NAME_TOKENS = frozenset(
    _fold_word
    for _fold_word in """team support service services success customer customers care helpdesk desk sales billing
    accounts account office admin administrator operations ops finance accounting marketing management everyone all
    there folks guys everybody zusammen ihr ihre ihnen sie du dein deine euer eure wir uns unser unsere kundenservice
    kundendienst kundensupport kunden vertrieb buchhaltung abteilung equipe lequipe léquipe l'équipe l'equipe
    service client clients
    vous nous votre notre el la los las equipo atencion atención cliente clientes soporte servicio il lo gli servizio
    clienti assistenza supporto o os as equipa apoio cliente zespol zespół obsluga obsługa klienta dział klantenservice
    klantendienst het team ons onze de het een hello hi dear thanks regards best kind warm sincerely cheers the
    your our my his her their this that mein meine meinen meiner meines monsieur madame mademoiselle herr frau
    señor señora señorita signor signora signorina senhor senhora pan pani meneer mevrouw mr mrs ms miss dr""".split()
)


def _inside_address(text: str, start: int, end: int) -> bool:
    """True for a token that is part of an e-mail address or a URL."""
    before = text[max(0, start - 1) : start]
    return (before != "" and before in "@./") or text[end : end + 1] == "@"


def _in_title_case_line(text: str, position: int) -> bool:
    """True inside a heading written in title case ("Frank Feedback from Learners"): most of its words are
    capitalized and it holds no sentence."""
    line_start = text.rfind("\n", 0, position) + 1
    line_end = text.find("\n", position)
    line = text[line_start : line_end if line_end >= 0 else len(text)].strip(" \t#*>")
    words: list[str] = [w for w in re.findall(r"[^\W\d_]+", line) if len(w) > 3]
    if len(words) < 3 or re.search(r"[.!?,:;]", line):
        return False
    capitalized = sum(1 for w in words if w[0].isupper())
    return capitalized >= 0.75 * len(words)


def _in_capitalized_run(text: str, start: int, end: int) -> bool:
    """True when a capitalized word directly precedes or follows (a company: "Crescent Clay Ceramics")."""
    before = re.search(r"([^\W\d_]+)[ \t]+$", text[max(0, start - 40) : start])
    after = re.match(r"[ \t]+([^\W\d_]+)", text[end : end + 40])
    return bool(before and before.group(1)[0].isupper()) or bool(after and after.group(1)[0].isupper())


def _fold(word: str) -> str:
    """Lowercase ASCII spelling of a name token, as an address would write it ("Jürgen" -> "jurgen")."""
    import unicodedata

    decomposed = unicodedata.normalize("NFKD", word.replace("ß", "ss").lower())
    return "".join(ch for ch in decomposed if ch.isascii() and ch.isalpha())


_PARTICLES = frozenset(p.lower() for p in _PARTICLE.strip("(?:)").split("|"))


# Census names that are far more often English words at the start of a sentence or a heading.
_WORDS_NOT_FIRST_NAMES = frozenset(
    "will may can june april august january march see german english major page chase bill grant mark art".split()
)
# Share of the census population (percent) below which a listed name is more likely noise ("See", 0.001).
MIN_FIRST_NAME_FREQUENCY = 0.01


@cache
def _first_names() -> frozenset[str]:
    """Given names of the US census lists shipped by the ``names`` package, lowercased.

    Each line is ``NAME frequency cumulative rank``; names rarer than
    ``MIN_FIRST_NAME_FREQUENCY`` percent and names that are common words are left out.
    """
    import names

    folder = Path(names.__file__).parent
    found: set[str] = set()
    for file in ("dist.male.first", "dist.female.first"):
        for line in (folder / file).read_text(encoding="ascii").splitlines():
            fields = line.split()
            if len(fields) >= 2 and float(fields[1]) >= MIN_FIRST_NAME_FREQUENCY:
                found.add(fields[0].lower())
    return frozenset(found - _WORDS_NOT_FIRST_NAMES)
