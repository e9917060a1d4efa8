"""PII redaction in layers: checksummed and cue-based recognizers, rules, and a statistical model.

Spans are replaced by typed placeholders (``<EMAIL_ADDRESS>``) before any text
is embedded, indexed or logged. The analyzer is built once per process.

- **Structured types**: Presidio's recognizers for e-mail, IP, US SSN and UK
  NINO; ``recognizers.py`` for cards (Luhn, 13-19 digits), IBANs (mod 97, every
  country), phones (``phonenumbers`` with the message's locale as the default
  region), dates of birth and account numbers (cue-based). Every match passes
  the look-alike guards of ``lookalikes.py`` (versions, ids, dates, prices).
- **Names and addresses**: the rules of ``names.py`` and ``addresses.py`` are
  the high-precision layer; the statistical layer is the trained NER of
  ``ingest/ner.py`` (``find_entities``) when it is installed, and spaCy's small
  English NER when ``pii_ner`` is on.
- **Two policies** (``kind``): ``content`` (help-center articles: precision
  first; a name is redacted only where an e-mail address or a mail header
  confirms it, never from a model's guess, so no product word, heading word or
  German noun is redacted) and ``customer`` (tickets, questions, edits,
  conversations, comments: recall first; every rule and the statistical layer).
"""

from __future__ import annotations

import logging
import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any, Literal

from spacy.util import filter_spans

from ingest import lookalikes
from ingest.addresses import find_addresses
from ingest.names import NOT_NAME_TOKENS, find_names, is_sign_off
from ingest.offline import configure_offline, load_spacy, resolve_spacy_model
from ingest.recognizers import find_structured
from ingest.records import Block, RedactionResult
from ingest.settings import DEFAULT_PII_ENTITIES, IngestSettings
from ingest.spans import Span

log = logging.getLogger(__name__)

Kind = Literal["content", "customer"]
KINDS: tuple[Kind, ...] = ("content", "customer")
# The types redacted when DESKPILOT_PII_ENTITIES is left at its default.
ALL_ENTITIES = (*DEFAULT_PII_ENTITIES, "DATE_OF_BIRTH", "ACCOUNT_NUMBER")
# Found by recognizers.py rather than Presidio.
OWN_STRUCTURED = frozenset({"CREDIT_CARD", "IBAN_CODE", "PHONE_NUMBER", "DATE_OF_BIRTH", "ACCOUNT_NUMBER"})


@dataclass(frozen=True)
class Policy:
    """How hard to look for names and addresses in one kind of text."""

    kind: Kind
    all_name_rules: bool
    """Every contextual name rule; otherwise only names an e-mail address or a mail header confirms."""
    first_names: bool
    """A known first name before a capitalized surname is a name."""
    statistical_min_score: float | None
    """The statistical layer's spans at or above this score are kept; None leaves the layer off."""


POLICIES: dict[str, Policy] = {
    "customer": Policy("customer", all_name_rules=True, first_names=True, statistical_min_score=0.5),
    "content": Policy("content", all_name_rules=False, first_names=False, statistical_min_score=None),
}
StatisticalFinder = Callable[[str], Sequence[Span]]

# Only the NER component runs (in en_core_web_sm it has its own tok2vec): the
# tagger, lemmatizer and parser would double the cost. Presidio's context
# enhancer reads lemmas, so a one-line component supplies lowercased words.
# A line, or a sentence within a line: the unit NER runs on.
_SEGMENT = re.compile(r"[^\n.!?]+(?:[.!?]+|$)", re.M)
_PRESIDIO_SPACY_EXCLUDE = ("tok2vec", "tagger", "parser", "attribute_ruler", "lemmatizer", "senter")
_LEMMA_COMPONENT = "deskpilot_lowercase_lemma"

# Words that help-center UI text capitalizes and a small NER model then takes
# for a person ("Click Save", "Admin", "Download PDF").
_UI_WORDS = frozenset(
    """click tap select open choose download upload save send add create delete remove edit update
    confirm cancel continue next back start stop switch turn enable disable export import preview
    print copy paste submit sign log go view show hide connect disconnect reconnect verify
    settings admin admins owner email mail billing account accounts invoice invoices card plan plans
    starter growth scale pro business free trial payment payments paid unpaid draft void overdue
    help support dashboard profile security password reports report team users user roles role
    labels label extras batch custom format scripts backups api oauth sso saml webhook webhooks
    tick generate escalate defaults default standard schedule refresh split map respond allow
    require change make subscribe apply done mark share getting failed status problem queue bulk
    tip note warning important step steps yes no ok okay hi hello thanks regards dear
    ask call write message ping reach contact
    the a an our your my we you they this that these those his her their its""".split()
)
# Named products and services that help centers mention all the time.
DEFAULT_BRAND_ALLOW_LIST = (
    "Stripe", "PayPal", "Zapier", "Shopify", "WooCommerce", "Firefox", "Chrome", "Edge", "Safari",
    "Authy", "Google", "Microsoft", "Okta", "Slack", "Xero", "QuickBooks", "Apple", "Android", "iOS",
    "Gmail", "Outlook", "Postman", "Noto Sans", "Roboto Mono", "Source Serif",
)  # fmt: skip
# spaCy's English NER labels German nouns and "Sie" as persons, and German
# capitalizes every noun; no German model ships offline, so other languages get
# neither NER nor the known-first-name rule, only the contextual name rules.
NER_LANGUAGES = ("en",)
# Mailboxes of a company's functions, not of a person ("support@", "privacy@"): a help
# center must keep telling customers where to write.
ROLE_MAILBOXES = frozenset(
    """support help helpdesk info contact hello privacy security status billing sales accounts
    noreply no-reply donotreply do-not-reply legal dpo abuse press careers jobs feedback team
    invoices orders returns shipping bookings notifications notification notify alerts alert verify verification
    mailer postmaster webmaster hostmaster admin marketing newsletter news updates reply replies bounce bounces
    service customerservice customercare care office hr payroll finance accounting compta comptabilite kontakt
    kundenservice service-client atencion soporte assistenza suporte klantenservice""".split()
)
_NAME_TOKEN = re.compile(r"^[A-ZÀ-Þ][a-zà-ÿ]+(?:[-'’][A-ZÀ-Þ]?[a-zà-ÿ]+)*\.?$")
_ARTIFACT_TOKEN = re.compile(r"\w+|[^\w\s]")
_PATTERN_CHARACTER = re.compile(r"[\d@]")
_LOWER_WORD = re.compile(r"\b[a-zà-ÿ]+\b")
# The local part of an e-mail address spells its owner's name in lowercase ("tobias.lehmann@"):
# it is no evidence that "Tobias" is a common word of the text; nor is a domain, often named after
# its owner too ("@nwosu-events.example"). URLs are left out for the same reason.
_EMAIL_LOCAL_PART = re.compile(r"[\w.+'-]+@[\w-]+(?:\.[\w-]+)*|[\w.+'-]+@|(?:https?://|www\.)\S+")
# Found by rules (names.py, addresses.py) in a context that names or locates a person.
RULE_SCORE = 0.85


class Redactor:
    """Finds and replaces PII in text; thread-compatible, build once and reuse."""

    def __init__(
        self, settings: IngestSettings, statistical: StatisticalFinder | Literal["auto"] | None = "auto"
    ) -> None:
        configured = tuple(settings.pii_entities)
        self.entities = list(ALL_ENTITIES if configured == tuple(DEFAULT_PII_ENTITIES) else configured)
        self.min_score = settings.pii_min_score
        self.use_ner = settings.pii_ner
        self.allow_list = [*DEFAULT_BRAND_ALLOW_LIST, *settings.pii_allow_list]
        model_dir = str(resolve_spacy_model(settings.spacy_model))
        self._analyzer = _build_analyzer(model_dir)
        self._engine = self._analyzer.nlp_engine
        self._ner = _ner_pipeline(model_dir) if self.use_ner else None
        self._light = _light_pipeline(model_dir)
        self._allowed = {term.lower() for term in self.allow_list}
        # "auto": the trained model is loaded on the first text whose policy uses it (help-center ingest never
        # does, so ingest workers never pay for it).
        self._statistical_choice = statistical
        self._statistical_loaded = statistical != "auto"
        self._presidio_entities = [
            e for e in self.entities if e not in OWN_STRUCTURED and e not in ("PERSON", "STREET_ADDRESS")
        ]

    @property
    def statistical(self) -> StatisticalFinder | None:
        """The statistical layer, loaded on first use."""
        if not self._statistical_loaded:
            self._statistical_choice = load_statistical_layer()
            self._statistical_loaded = True
        choice = self._statistical_choice
        return None if choice == "auto" else choice

    @property
    def detectors(self) -> list[str]:
        """The layers this redactor runs, for reports."""
        layers = ["presidio", "checksums+cues", "lookalike-guards", "name-rules", "address-rules"]
        if self.statistical is not None:
            layers.append("statistical:ingest.ner")
        if self._ner is not None:
            layers.append("statistical:spacy-en")
        return layers

    def find(self, text: str, locale: str = "en", allow: Sequence[str] = (), kind: Kind = "customer") -> list[Span]:
        """Non-overlapping PII spans in ``text``, in order.

        ``allow`` adds terms that are never a name here, such as the tenant's
        own company name ("Hello Ledgerly,"). ``kind`` picks the policy:
        ``customer`` (recall first) or ``content`` (help-center text, precision first).
        """
        if not text.strip():
            return []
        policy = POLICIES[kind]
        allowed = self._allowed | {term.lower() for term in allow}
        lowercase_words = set(_LOWER_WORD.findall(_EMAIL_LOCAL_PART.sub("@", text)))
        english = locale.split("-")[0].lower() in NER_LANGUAGES
        spans = self._presidio(text, locale, allow, lowercase_words, allowed, policy, english)
        wanted = frozenset(self.entities)
        spans += [
            Span(m.entity_type, m.start, m.end, m.score, m.detector)
            for m in find_structured(text, locale, wanted & OWN_STRUCTURED)
        ]

        def is_name_word(word: str) -> bool:
            return _is_distinctive(word.lower(), lowercase_words) and word.lower() not in allowed

        if "PERSON" in wanted:
            found = find_names(
                text,
                is_name_word,
                with_first_names=policy.first_names,
                confirmed_only=not policy.all_name_rules,
            )
            spans += [Span("PERSON", start, end, RULE_SCORE, "name-rules") for start, end in found]
        if "STREET_ADDRESS" in wanted:
            spans += [
                Span("STREET_ADDRESS", start, end, RULE_SCORE, "address-rules") for start, end in find_addresses(text)
            ]
        spans = [s for s in spans if not _is_lookalike(text, s, allowed, kind)]
        if policy.statistical_min_score is not None and self.statistical is not None:
            statistical = self._statistical(text, policy.statistical_min_score, wanted, lowercase_words, allowed)
            spans += [
                s for s in statistical if not _is_lookalike(text, s, allowed, kind) and not _contradicted(s, spans)
            ]
        return _without_overlaps(spans)

    def _presidio(
        self,
        text: str,
        locale: str,
        allow: Sequence[str],
        lowercase_words: set[str],
        allowed: set[str],
        policy: Policy,
        english: bool,
    ) -> list[Span]:
        entities = list(self._presidio_entities)
        with_ner = self.use_ner and "PERSON" in self.entities and english and policy.kind == "customer"
        if with_ner:
            entities.append("PERSON")
        if not entities:
            return []
        # Without NER, Presidio's recognizers only match text with a digit or an "@": the
        # tokenizing they need for context words is spent on those lines alone.
        windows = [(0, len(text))] if with_ner else _pattern_windows(text)
        analysed = "\n\n".join(text[start:end] for start, end in windows)
        if not analysed.strip():
            return []
        results = self._analyzer.analyze(
            text=analysed,
            language="en",
            entities=entities,
            score_threshold=self.min_score,
            allow_list=[*self.allow_list, *allow] or None,
            nlp_artifacts=(
                self._artifacts(analysed, lowercase_words, allowed) if with_ner else _pattern_artifacts(analysed)
            ),
        )
        spans = [
            _back_to_text(
                Span(r.entity_type, r.start, r.end, r.score, "presidio" if r.entity_type != "PERSON" else "spacy-en"),
                windows,
            )
            for r in results
        ]
        return [
            s
            for s in spans
            if s.entity_type != "PERSON"
            or _looks_like_name(text[s.start : s.end], lowercase_words, _starts_sentence(text, s.start))
        ]

    def _statistical(
        self, text: str, min_score: float, wanted: frozenset[str], lowercase_words: set[str], allowed: set[str]
    ) -> list[Span]:
        finder = self.statistical
        assert finder is not None
        try:
            found = finder(text)
        except Exception as exc:  # a broken model must not take redaction down: the rules still run
            log.warning("the statistical PII layer failed (%s); rules only", type(exc).__name__)
            return []
        kept = []
        for span in found:
            if span.entity_type not in wanted or span.score < min_score:
                continue
            if span.entity_type == "PERSON":
                start, end = _trim_name(text, span.start, span.end)
                if len(text[start:end].split()) == 1 and span.score < SINGLE_TOKEN_MIN_SCORE:
                    continue  # one capitalized word is as often a city or a product as a first name
                if start >= end or not _looks_like_name(text[start:end], lowercase_words, False):
                    continue
                if any(token.lower().rstrip(".") in allowed for token in text[start:end].split()):
                    continue
                if not model_name_holds(text, start, end):
                    continue
                span = Span("PERSON", start, end, span.score, span.detector)
            elif span.entity_type == "STREET_ADDRESS" and not model_address_holds(text, span.start, span.end):
                continue
            kept.append(span)
        return kept

    def _artifacts(self, text: str, lowercase_words: set[str], allowed: set[str]) -> Any:
        """Presidio's NLP artifacts from spaCy, with NER run only on sentences that could hold a name.

        NER costs as much as embedding the same text. A person span survives
        `_looks_like_name` only if it has a capitalized token that is neither a
        UI word, an allowed brand, nor a word this text also writes in
        lowercase; sentences without such a token cannot yield one, so NER skips
        them.
        """
        doc = self._light(text)
        if self._ner is not None:
            segments = [
                m.span() for m in _SEGMENT.finditer(text) if _may_hold_name(m.group(), lowercase_words, allowed)
            ]
            people = []
            for (start, _), parsed in zip(segments, self._ner.pipe(text[a:b] for a, b in segments), strict=True):
                for entity in parsed.ents:
                    span = doc.char_span(start + entity.start_char, start + entity.end_char, entity.label_, "expand")
                    if span is not None:
                        people.append(span)
            doc.ents = filter_spans(people)
        return self._engine._doc_to_nlp_artifact(doc, "en")

    def redact(
        self, text: str, locale: str = "en", allow: Sequence[str] = (), kind: Kind = "customer"
    ) -> RedactionResult:
        """``text`` with every PII span replaced by ``<ENTITY_TYPE>``, and counts per type."""
        spans = self.find(text, locale, allow, kind)
        return RedactionResult(text=_replace(text, spans), counts=dict(Counter(s.entity_type for s in spans)))

    @staticmethod
    def redact_spans(text: str, spans: Sequence[Span]) -> str:
        """``text`` with the given spans (from ``find``) replaced by their placeholders."""
        return _replace(text, spans)

    def redact_blocks(
        self,
        title: str,
        blocks: Sequence[Block],
        locale: str = "en",
        allow: Sequence[str] = (),
        kind: Kind | None = None,
    ) -> tuple[str, list[Block], Counter[str]]:
        """Redact a title, blocks and section paths with one analyzer pass over the whole document.

        Headings live on in every block's section path, so the path parts are
        redacted too, not only the heading blocks. Without a ``kind``, a
        document shaped like a message (its body opens with a greeting: an
        ingested ticket or mail) is ``customer`` text and every other one
        (an article) is ``content``.
        """
        path_parts = sorted({part for block in blocks for part in block.section_path})
        texts = [title, *[block.text for block in blocks], *path_parts]
        joined = "\n\n".join(texts)
        if kind is None:
            kind = "customer" if is_message("\n\n".join(block.text for block in blocks[:3])) else "content"
        spans = self.find(joined, locale, allow, kind)
        counts: Counter[str] = Counter()
        redacted: list[str] = []
        offset = 0
        for position, text in enumerate(texts):
            end = offset + len(text)
            inside = [
                Span(s.entity_type, max(s.start, offset) - offset, min(s.end, end) - offset, s.score, s.detector)
                for s in spans
                if s.start < end and s.end > offset
            ]
            if position <= len(blocks):  # path parts repeat headings already counted
                counts.update(s.entity_type for s in inside)
            redacted.append(_replace(text, inside))
            offset = end + 2
        clean_parts = dict(zip(path_parts, redacted[1 + len(blocks) :], strict=True))
        new_blocks = [
            Block(kind=block.kind, text=text, section_path=tuple(clean_parts[p] for p in block.section_path))
            for block, text in zip(blocks, redacted[1 : 1 + len(blocks)], strict=True)
        ]
        return redacted[0], new_blocks, counts


# The opening line of a letter or a ticket: a greeting, alone on its line.
_MESSAGE_OPENING = re.compile(
    r"^[ \t]*(?i:hi|hello|hey|dear|good (?:morning|afternoon|evening)|to whom it may concern|hallo|liebe|lieber"
    r"|sehr geehrte|guten (?:tag|morgen)|moin|servus|bonjour|bonsoir|salut|madame|monsieur|hola|buenas|estimad[oa]s?"
    r"|buongiorno|buonasera|salve|gentile|ciao|olá|ola|bom dia|boa tarde|prezad[oa]s?|dzień dobry|witam"
    r"|szanown[ia]|beste|geachte|goedemorgen|goedemiddag|hoi|morning|evening|to whoever|to whom|to [A-Z]\w+,)"
    r"\b[^\n]{0,60}$",
    re.M,
)
# Speaking as oneself, the way tickets do and articles (written to "you") do not.
_FIRST_PERSON = re.compile(
    r"\b(?:I|I'm|I’m|I've|I’ve|me|my|mine|ich|mich|mir|mein|meine|meinen|je|j'ai|j’ai|moi|mon|ma|mes|yo|me|mi|mis"
    r"|io|mio|mia|eu|meu|minha|ja|mój|moja|mnie|ik|mijn)\b"
)
FIRST_PERSON_WORDS = 3


def is_message(text: str) -> bool:
    """True for text that reads like a ticket or a letter: it opens with a greeting ("Hi,", "Dear Support,",
    "Hallo zusammen,") or speaks in the first person from its first lines ("I scanned 30 receipts ... my ...")."""
    first = next((line for line in text.splitlines() if line.strip()), "")
    if _MESSAGE_OPENING.match(first):
        return True
    return len(_FIRST_PERSON.findall(text[:400])) >= FIRST_PERSON_WORDS


def load_statistical_layer() -> StatisticalFinder | None:
    """The trained NER of ``ingest/ner.py`` as a span finder, or None when it or its model is not installed.

    ``find_entities(text, min_score=...)`` returns spans with a type (``entity_type``
    or ``label``), ``start``, ``end`` and ``score``; types other than PERSON and
    STREET_ADDRESS are ignored. The policy's threshold is applied by the caller.
    """
    try:
        from ingest import ner

        find_entities: Callable[..., Sequence[Any]] = ner.find_entities
        find_entities("warm-up", min_score=STATISTICAL_FLOOR)
    except Exception as exc:  # not installed, or its model is missing: the rules stand alone
        log.info("no statistical PII layer (%s: %s)", type(exc).__name__, exc)
        return None

    def finder(text: str) -> list[Span]:
        spans = []
        for entity in find_entities(text, min_score=STATISTICAL_FLOOR):
            label = str(_field(entity, "entity_type", "label"))
            label = {"PER": "PERSON", "ADDRESS": "STREET_ADDRESS", "ADDR": "STREET_ADDRESS"}.get(label, label)
            start, end = int(_field(entity, "start")), int(_field(entity, "end"))
            spans.append(Span(label, start, end, float(_field(entity, "score")), "ner"))
        return spans

    return finder


# A model's one-word person ("Berlin", "Operational") must be surer than a full name.
SINGLE_TOKEN_MIN_SCORE = 0.9
# The lowest score asked of the statistical layer; each policy keeps spans above its own threshold.
STATISTICAL_FLOOR = 0.3


def _field(entity: Any, *names: str) -> Any:
    for name in names:
        if isinstance(entity, dict) and name in entity:
            return entity[name]
        if hasattr(entity, name):
            return getattr(entity, name)
    raise KeyError(f"statistical span without {' or '.join(names)}: {entity!r}")


# A model's "address" that holds one of these is an order, an invoice, a version or a phone line.
_NOT_IN_ADDRESS = re.compile(
    r"(?i:\b(?:order|invoice|inv|tracking|sku|po|ref|reference|ticket|case|version|versión|versione|versão|versie"
    r"|wersja|build|release|rechnung|bestellung|sendung|facture|commande|factura|pedido|fattura|ordine|fatura"
    r"|encomenda|faktura|zamówienie|factuur|bestelling|phone|tel|telefon|téléphone|teléfono|telefono|telefone"
    r"|handy|mobile|iban|account|konto|kundennummer|customer|client|cliente|klant)\b|\d+\.\d+\.\d+|@|\d{1,2}[./]\d{1,2}[./]\d{2,4})"
)
_ADDRESS_WORD = re.compile(r"[^\W\d_]{3,}")
_HOUSE_NUMBER_TOKEN = re.compile(r"(?<![\w-])\d{1,5}[A-Za-z]?(?:[/-]\d{1,4}[A-Za-z]?)?(?![\w-])")


# UI words that also name streets or stand in addresses ("Park Lane", "The Old Mill").
_ADDRESS_SAFE_WORDS = frozenset("the a an our your my his her their its this that these those map".split())


def model_address_holds(text: str, start: int, end: int) -> bool:
    """A model's street address must read like one: words and a house number, no id, version, date or phone cue."""
    value = text[start:end]
    if _NOT_IN_ADDRESS.search(value) or lookalikes.is_reference_number(text, start, end):
        return False
    words = [w.lower() for w in _ADDRESS_WORD.findall(value)]
    if any(w in _UI_WORDS and w not in _ADDRESS_SAFE_WORDS for w in words):
        return False  # "See Reports, 2024 Summary": interface words around a number
    return len(words) >= 1 and bool(_HOUSE_NUMBER_TOKEN.search(value)) and len(value) >= 8


def model_name_holds(text: str, start: int, end: int) -> bool:
    """A model's person must not be a form label ("Teléfono:"), a heading in title case or a month."""
    line_start = text.rfind("\n", 0, start) + 1
    at_line_start = bool(re.fullmatch(r"[\s>\[\]()\d:.-]*", text[line_start:start]))
    if re.match(r"[ \t]?:", text[end : end + 2]) and at_line_start:
        return False  # a field label or a speaker's role at a line start ("Teléfono: 612 ...", "Kundin: ...")
    if re.search(r"\d{1,2}\.?[ \t]+$", text[max(0, start - 4) : start]):
        return False  # "1. Mai", "3 March": a date
    value = text[start:end]
    if is_sign_off(value) or any(token.lower().strip(".,") in NOT_NAME_TOKENS for token in value.split()):
        return False  # "Cumprimentos", "Servizio Clienti", "Ihr Support-Team"
    if text[start - 1 : start] in "\"“„«'" and text[end : end + 1] in "\"”“»'" and start > 0:
        return False  # a quoted word: a status, a label, a button ("Operational")
    if len(value.split()) == 1 and re.match(r"[ \t]*\(?\d", text[end : end + 3]):
        return False  # a word before a time or a number is a place or a label ("Berlin 02:00-04:00")
    return not _title_case_line(text, start)


def _title_case_line(text: str, position: int) -> bool:
    line_start = text.rfind("\n", 0, position) + 1
    line_end = text.find("\n", position)
    line = text[line_start : line_end if line_end >= 0 else len(text)].strip(" \t#*>")
    words: list[str] = [w for w in re.findall(r"[^\W\d_]+", line) if len(w) > 3]
    if len(words) < 3 or re.search(r"[.!?,:;]", line):
        return False
    capitalized = sum(1 for w in words if w[0].isupper())
    return capitalized >= 0.75 * len(words)


def _contradicted(span: Span, others: Sequence[Span]) -> bool:
    """True when a model span overlaps a span that a checksum, a cue or a rule gave another type: the rules win."""
    return any(o.start < span.end and o.end > span.start and o.entity_type != span.entity_type for o in others)


def _trim_name(text: str, start: int, end: int) -> tuple[int, int]:
    """A model's person span without surrounding punctuation, titles or a possessive."""
    value = text[start:end]
    stripped = value.strip(" \t\n,.;:!?()[]<>\"'")
    start += value.index(stripped) if stripped else 0
    end = start + len(stripped)
    title = re.match(r"(?:Mr|Mrs|Ms|Miss|Mx|Dr|Prof|Herr|Frau|Mme|Mlle|M|Sr|Sra|dott|Dott)\.?[ \t]+", text[start:end])
    if title:
        start += title.end()
    possessive = re.search(r"['’]s$", text[start:end])
    if possessive:
        end -= 2
    return start, end


def _is_lookalike(text: str, span: Span, allowed: set[str], kind: Kind = "customer") -> bool:
    """True for a match that the look-alike guards or the allow-list say is not PII."""
    value = text[span.start : span.end]
    documented = ("PHONE_NUMBER", "IP_ADDRESS", "ACCOUNT_NUMBER", "DATE_OF_BIRTH")
    if kind == "content" and span.entity_type in documented and lookalikes.is_documentation_example(text, span.start):
        return True
    if span.entity_type == "EMAIL_ADDRESS":
        return lookalikes.is_not_an_email(text, span.start, span.end)
    if span.entity_type == "IP_ADDRESS":
        return (
            lookalikes.is_non_personal_ip(value)
            or lookalikes.is_version(text, span.start, span.end)
            or value in allowed
        )
    if span.entity_type in ("PERSON", "STREET_ADDRESS"):
        if span.entity_type == "PERSON":
            return lookalikes.is_name_lookalike(text, span.start, span.end)
        return lookalikes.is_price_not_address(text, span.start, span.end)
    if span.entity_type in ("US_SSN", "UK_NINO"):
        return lookalikes.is_date(value)
    return False


def _pattern_windows(text: str) -> list[tuple[int, int]]:
    """Character ranges of the lines holding a digit or an "@", each with the non-empty line
    before it (where context words such as "Phone:" stand), merged and in order."""
    lines = [(m.start(), m.end()) for m in re.finditer(r"[^\n]*", text) if m.end() > m.start()]
    windows: list[tuple[int, int]] = []
    for index, (start, end) in enumerate(lines):
        if not _PATTERN_CHARACTER.search(text, start, end):
            continue
        if index:  # the nearest line before, even across a blank line ("Phone:\n\n+44 ...")
            start = lines[index - 1][0]
        if windows and start <= windows[-1][1] + 1:
            windows[-1] = (windows[-1][0], end)
        else:
            windows.append((start, end))
    return windows


def _pattern_artifacts(text: str) -> Any:
    """Presidio's NLP artifacts from a regex tokenizer, for its pattern recognizers' context words.

    Without NER the recognizers need only tokens, their offsets, lowercase
    "lemmas" and the non-stop-word keywords among them; spaCy's tokenizer and
    Token objects cost several times more for the same context matches.
    """
    from presidio_analyzer.nlp_engine import NlpArtifacts
    from spacy.lang.en.stop_words import STOP_WORDS

    matches = list(_ARTIFACT_TOKEN.finditer(text))
    lemmas = [m.group().lower() for m in matches]
    artifacts = NlpArtifacts(
        entities=[],
        tokens=[m.group() for m in matches],  # type: ignore[arg-type]  # the enhancer needs only len() and order
        tokens_indices=[m.start() for m in matches],
        lemmas=lemmas,
        nlp_engine=None,
        language="en",
    )
    artifacts.keywords = [lemma for lemma in lemmas if lemma not in STOP_WORDS and lemma[0].isalnum()]
    return artifacts


def _back_to_text(span: Span, windows: list[tuple[int, int]]) -> Span:
    """A span found in the windows joined by blank lines, moved to its place in the whole text."""
    offset = 0
    for start, end in windows:
        length = end - start
        if span.start <= offset + length:
            return Span(
                span.entity_type, start + span.start - offset, start + span.end - offset, span.score, span.detector
            )
        offset += length + 2
    raise ValueError(f"span {span} lies outside the analysed windows")  # pragma: no cover - a bug


def _may_hold_name(segment: str, lowercase_words: set[str], allowed: set[str]) -> bool:
    for token in segment.split():
        word = token.rstrip(".,;:!?)\"'").lower()
        if (
            _NAME_TOKEN.match(token.rstrip(",;:!?)\"'"))
            and _is_distinctive(word, lowercase_words)
            and word not in allowed
        ):
            return True
    return False


def _starts_sentence(text: str, start: int) -> bool:
    before = text[:start].rstrip(" \t\"'(*-")
    return not before or before[-1] in ".!?:\n"


def _looks_like_name(span_text: str, lowercase_words: set[str], sentence_start: bool) -> bool:
    """Reject NER "persons" that are UI words or common words of this very text.

    Every token must be capitalized like a name; a lone word opening a
    sentence is capitalized for grammar, not evidence ("Refresh the page");
    an opening UI verb is an instruction ("Connect Stripe"); and at least one
    token must be neither a known UI word nor a word the text also uses in
    lowercase ("Email" beside "email" is a word, "Whitfield" is a name).
    """
    tokens = span_text.split()
    if not tokens or not all(_NAME_TOKEN.match(token) for token in tokens):
        return False
    if sentence_start and (len(tokens) == 1 or tokens[0].lower() in _UI_WORDS):
        return False
    return any(_is_distinctive(token.rstrip(".").lower(), lowercase_words) for token in tokens)


def _is_distinctive(word: str, lowercase_words: set[str]) -> bool:
    """A lowercased word that is neither a UI word nor written in lowercase elsewhere in the text."""
    return word not in _UI_WORDS and word not in lowercase_words


def _replace(text: str, spans: Sequence[Span]) -> str:
    out: list[str] = []
    cursor = 0
    for span in sorted(spans, key=lambda s: s.start):
        out.append(text[cursor : span.start])
        out.append(f"<{span.entity_type}>")
        cursor = span.end
    out.append(text[cursor:])
    return "".join(out)


# Where spans overlap, a checksummed or tightly shaped type beats a looser one:
# "078-05-1120" parses as a phone number too, but it is shaped like an SSN.
_SPECIFICITY = {
    "CREDIT_CARD": 0,
    "IBAN_CODE": 0,
    "US_SSN": 1,
    "UK_NINO": 1,
    "EMAIL_ADDRESS": 2,
    "IP_ADDRESS": 2,
    "DATE_OF_BIRTH": 2,
    "PHONE_NUMBER": 3,
    "ACCOUNT_NUMBER": 3,
    "STREET_ADDRESS": 3,
    "PERSON": 4,
}


def _without_overlaps(spans: list[Span]) -> list[Span]:
    """One span per group of overlapping spans, typed by the most specific (then score, then length)
    and covering the whole group, so no part of a looser match is left in clear."""
    groups: list[list[Span]] = []
    for span in sorted(spans, key=lambda s: (s.start, -s.end)):
        if groups and span.start < max(s.end for s in groups[-1]):
            groups[-1].append(span)
        else:
            groups.append([span])
    merged = []
    for group in groups:
        best = min(
            group,
            key=lambda s: (
                _SPECIFICITY.get(s.entity_type, 5),
                s.detector == "ner",  # a rule's or a checksum's reading wins over the model's
                -s.score,
                -(s.end - s.start),
                s.start,
                s.entity_type,
            ),
        )
        merged.append(
            Span(best.entity_type, min(s.start for s in group), max(s.end for s in group), best.score, best.detector)
        )
    return merged


def _ner_pipeline(model_dir: str) -> Any:
    """spaCy NER alone, loaded once per process."""
    return load_spacy(model_dir, _PRESIDIO_SPACY_EXCLUDE)


@cache
def _light_pipeline(model_dir: str) -> Any:
    """The model's tokenizer plus lowercase lemmas: what Presidio's pattern recognizers need."""
    from spacy.language import Language

    if _LEMMA_COMPONENT not in Language.factories:

        @Language.component(_LEMMA_COMPONENT)
        def _lowercase_lemma(doc: Any) -> Any:
            for token in doc:
                token.lemma_ = token.lower_
            return doc

    nlp = load_spacy(model_dir, (*_PRESIDIO_SPACY_EXCLUDE, "ner"))
    nlp.add_pipe(_LEMMA_COMPONENT)
    return nlp


@cache
def _build_analyzer(model_dir: str) -> Any:
    configure_offline()
    from presidio_analyzer import AnalyzerEngine, RecognizerRegistry
    from presidio_analyzer.nlp_engine import NerModelConfiguration, SpacyNlpEngine
    from presidio_analyzer.predefined_recognizers import EmailRecognizer, UkNinoRecognizer

    class _AnyDomainEmailRecognizer(EmailRecognizer):  # type: ignore[misc]
        """Presidio drops addresses whose suffix is not on the public suffix list; an
        address at an internal or reserved domain (``.example``, ``.local``) is PII too."""

        def validate_result(self, pattern_text: str) -> bool:
            local, _, domain = pattern_text.rpartition("@")
            return bool(local) and "." in domain and local.lower() not in ROLE_MAILBOXES

    class LocalSpacyEngine(SpacyNlpEngine):  # type: ignore[misc]
        """Presidio's spaCy engine, loading our pipeline by path without the parser."""

        def load(self) -> None:
            self.nlp = {"en": _light_pipeline(model_dir)}  # type: ignore[assignment]  # base declares None until load()

    ner = NerModelConfiguration(
        model_to_presidio_entity_mapping={"PERSON": "PERSON", "PER": "PERSON"},
        # Every other label of the English pipeline: only people are redacted by NER.
        labels_to_ignore=(
            "ORG GPE LOC NORP FAC PRODUCT CARDINAL ORDINAL QUANTITY PERCENT DATE TIME MONEY "
            "EVENT WORK_OF_ART LAW LANGUAGE"
        ).split(),
    )
    engine = LocalSpacyEngine(models=[{"lang_code": "en", "model_name": model_dir}], ner_model_configuration=ner)
    engine.load()
    registry = RecognizerRegistry(supported_languages=["en"])
    registry.load_predefined_recognizers(languages=["en"], nlp_engine=engine)
    # UK_NINO is among our default entities but not among Presidio's default English recognizers.
    registry.add_recognizer(UkNinoRecognizer())
    registry.remove_recognizer("EmailRecognizer")
    registry.add_recognizer(_AnyDomainEmailRecognizer())
    # Cards, IBANs and phones are found by recognizers.py (checksums for every length and country,
    # phonenumbers with the message's locale); Presidio's own would only add matches to remove again.
    for name in ("PhoneRecognizer", "CreditCardRecognizer", "IbanRecognizer"):
        registry.remove_recognizer(name)
    return AnalyzerEngine(nlp_engine=engine, registry=registry, supported_languages=["en"])
