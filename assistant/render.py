"""How an answer reads in each channel: the agent's editable draft, the widget's layout, the reply a customer gets.

Pure functions over the answer records and plain text (no I/O, no models):

- :func:`markdown_with_citations`: the console draft body. Running text of one block is one paragraph,
  steps are a numbered list that keeps the source's numbers, items are ``-`` bullets, table rows are
  ``label: value`` lines; every sentence keeps its ``[n]`` so the agent can edit around them.
- :func:`widget_blocks`: the same layout as JSON for the widget (paragraphs, steps, bullets, rows with their
  label/value pairs), each part with the citation numbers it rests on; the widget turns those into links.
- :func:`reply_draft`: the editable reply: greeting (with the customer's name), opener, the body above,
  closing and a sign-off with the agent's name, in the ticket's language.
- :func:`sent_reply`: what the customer receives when an agent sends a draft or their edit of it: the
  greeting and sign-off made personal, ``[n]`` markers removed cleanly, and a "Sources:" list of the
  articles the kept markers point to, placed before the closing.

No redaction placeholder (``<PHONE_NUMBER>``, ``<PERSON>``, any ``<UPPER_CASE>`` token) reaches a customer:
a placeholder inside parentheses or in a trailing "such as ..." example is cut out of its sentence; any other
sentence that holds one is left out (:func:`customer_safe`). The draft leaves the same sentences out, so the
agent sees what the customer will get, and :func:`left_out` says what was removed.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from assistant.records import Answer, Citation, Sentence
from assistant.templates import PHRASINGS, TEAM_NAMES, phrasing
from assistant.text import strip_citations

BlockKind = Literal["paragraph", "steps", "bullets", "rows"]

PLACEHOLDER = re.compile(r"<[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)*>")
"""A typed redaction placeholder as ingest/redact.py writes it."""
_MARKER = re.compile(r"\s*\[(\d+(?:\s*,\s*\d+)*)\]")
_PH = PLACEHOLDER.pattern
# Safe rephrasings: the placeholder sits in an aside the sentence reads well without.
_REPHRASE = (
    re.compile(rf"\s*\([^()]*{_PH}[^()]*\)"),  # "call our billing line (<PHONE_NUMBER>)"
    re.compile(
        rf",?\s*\b(?:e\.\s?g\.|for example|for instance|such as|z\.\s?B\.|zum Beispiel|etwa|par exemple|"
        rf"por ejemplo|tales como)\s*:?\s*{_PH}(?:\s*(?:,|or|and|oder|und|ou|et|o|y)\s*{_PH})*(?=\s*(?:[.;:!?]|\[\d|$))",
        re.IGNORECASE,
    ),
)
# A sentence ends at . ! ? (closing quotes or brackets and its [n] markers stay with it) before an upper-case
# letter, a digit or an opening quote; text.split_sentences does the same for source text.
_BOUNDARY = re.compile(
    r"(?:[.!?][\"'”’)]*(?:\s*\[\d+(?:\s*,\s*\d+)*\])*|\[\d+(?:\s*,\s*\d+)*\][.!?]?)\s+"
    r"(?=[A-ZÄÖÜÀ-ÝÑ0-9\"'“„(¿¡])"
)
_LIST_PREFIX = re.compile(r"^(\s*)(\d{1,3}[.)]|[a-z][.)]|[-*•–+])(\s+)")
_NUMBERED = re.compile(r"^(\d{1,3})([.)])$")
_BULLETS = {"", "-", "*", "•", "–", "+"}
_TITLES = {
    "mr", "mrs", "ms", "miss", "mx", "dr", "prof", "herr", "frau", "m", "mme", "mlle", "sr", "sra", "srta", "don", "doña",
}  # fmt: skip
_GREETING = re.compile(
    r"^(hi|hello|hey|dear|good (morning|afternoon|evening)|hallo|guten (tag|morgen|abend)|liebe[rs]?|"
    r"sehr geehrte[rs]?|bonjour|bonsoir|salut|cher|chère|madame|monsieur|hola|buenos días|buenas (tardes|noches)|"
    r"estimad[oa]s?|querid[oa]s?)\b.{0,60}$",
    re.IGNORECASE,
)
_SIGNOFF = re.compile(
    r"^((best|kind|warm|warmest)\s+(regards|wishes)|regards|cheers|sincerely|thanks( again)?|many thanks|"
    r"thank you|all the best|(viele|beste|liebe|freundliche) grüße|mit freundlichen grüßen|ihr support-team|"
    r"(bien )?cordialement|bien à vous|(meilleures )?salutations|saludos( cordiales)?|un saludo|atentamente|"
    r"cordialmente)\s*[,.!]?(\s+[^.!?\n]{1,40})?$",
    re.IGNORECASE,
)
_CLOSING = re.compile(
    r"(let me know|just reply|reply to this|if anything|if you have (any )?(other |more |further )?questions|"
    r"feel free|hope (this|that) helps|wenn noch etwas|antworten sie einfach|n'hésitez pas|répondez|"
    r"no dude|responda|responde)",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Part:
    """One line or sentence of a rendered answer, without its ``[n]`` markers."""

    text: str
    cites: tuple[int, ...]
    marker: str = ""
    """``3.`` for a step, ``-`` for a bullet; empty for running text and rows."""
    pairs: tuple[tuple[str, str], ...] = ()
    """A row's ``label: value`` pairs (empty when the row does not read as pairs)."""


@dataclass(frozen=True)
class Block:
    """Parts shown together: one paragraph, one step list, one bullet list or one table."""

    kind: BlockKind
    parts: tuple[Part, ...]


@dataclass(frozen=True)
class Layout:
    """An answer laid out for reading, and the sentences left out because they held a placeholder."""

    blocks: tuple[Block, ...]
    left_out: tuple[str, ...]


# --- placeholders -------------------------------------------------------------------------------------------


def placeholders_in(text: str) -> list[str]:
    """The redaction placeholders in ``text``, in order (repeats kept)."""
    return PLACEHOLDER.findall(text)


def customer_safe(sentence: str, locale: str = "en") -> str | None:
    """``sentence`` with no placeholder in it: cut out of an aside where that reads well, else None (drop it)."""
    if not PLACEHOLDER.search(sentence):
        return sentence
    text = sentence
    for pattern in _REPHRASE:
        text = pattern.sub("", text)
    if PLACEHOLDER.search(text):
        return None
    text = _tidy(text, locale)
    # A rephrasing that leaves too little of the sentence says nothing: drop it instead.
    return text if len(re.findall(r"\w+", text)) >= 3 else None


def _tidy(text: str, locale: str = "en") -> str:
    """Spaces before punctuation, doubled spaces and empty brackets left by a removal, cleaned up (French keeps
    its space before ``; : ! ?``)."""
    text = re.sub(r"\(\s*\)|\[\s*\]", "", text)
    text = re.sub(r"[ \t]+([.,])" if _language(locale) == "fr" else r"[ \t]+([.,;:!?])", r"\1", text)
    text = re.sub(r"([,;:])(?=[.!?])", "", text)  # "see the list:." -> "see the list."
    text = re.sub(r"([.!?])\1+", r"\1", text) if "..." not in text else text
    return re.sub(r"[ \t]{2,}", " ", text).strip()


# --- answer -> layout ---------------------------------------------------------------------------------------


def _answer_sentences(answer: Answer | Sequence[Sentence]) -> tuple[Sentence, ...]:
    if not isinstance(answer, Answer):
        return tuple(answer)
    if answer.abstained:
        return ()
    sentences = tuple(s for s in answer.sentences if s.supported)
    # The output PII filter rewrites the answer's text; when it found something the sentences do not show
    # (they were not filtered themselves), a sentence that no longer occurs in the text is not safe to show.
    found = set(placeholders_in(answer.text))
    if found - {p for s in sentences for p in placeholders_in(s.text)}:
        flat = _flat(answer.text)
        sentences = tuple(s for s in sentences if _flat(s.text).rstrip(".!?:") in flat)
    return sentences


def _flat(text: str) -> str:
    return strip_citations(text)


def layout(answer: Answer | Sequence[Sentence]) -> Layout:
    """The answer's sentences grouped into paragraphs, lists and tables, without placeholders.

    Consecutive sentences of one block and one kind render together. Steps keep their source numbers (a
    step left out moves the later ones up), a step without a number continues the count, and a sentence
    that repeats the previous step's number belongs to that step.
    """
    runs: list[tuple[tuple[int, str], list[Sentence]]] = []
    for sentence in _answer_sentences(answer):
        key = (sentence.block, sentence.kind)
        if runs and runs[-1][0] == key:
            runs[-1][1].append(sentence)
        else:
            runs.append((key, [sentence]))
    kinds: dict[str, BlockKind] = {"text": "paragraph", "step": "steps", "item": "bullets", "row": "rows"}
    blocks: list[Block] = []
    left: list[str] = []
    for (_, kind), run in runs:
        parts = _steps(run, left) if kind == "step" else _parts(kind, run, left)
        if parts:
            blocks.append(Block(kinds.get(kind, "paragraph"), tuple(parts)))
        elif kind != "text" and blocks and blocks[-1].kind == "paragraph" and _leads_in(blocks[-1].parts[-1].text):
            # "Contact our leads directly:" says nothing once the list it introduced is left out.
            left.append(blocks[-1].parts[-1].text)
            rest = blocks[-1].parts[:-1]
            blocks[-1:] = [Block("paragraph", rest)] if rest else []
    return Layout(tuple(blocks), tuple(left))


def _leads_in(text: str) -> bool:
    return _MARKER.sub("", text).rstrip().endswith(":")


def _parts(kind: str, run: Sequence[Sentence], left: list[str]) -> list[Part]:
    parts = []
    for sentence in run:
        text = customer_safe(_MARKER.sub("", sentence.text).strip())
        if text is None:
            left.append(sentence.text)
        elif kind == "item":
            marker = sentence.marker.strip()
            parts.append(Part(text, sentence.cites, "-" if marker in _BULLETS else marker))
        elif kind == "row":
            row = _row_text(text)
            parts.append(Part(row, sentence.cites, pairs=_pairs(row)))
        else:
            parts.append(Part(text, sentence.cites))
    return parts


def _steps(run: Sequence[Sentence], left: list[str]) -> list[Part]:
    groups: list[tuple[int | None, str, list[Sentence]]] = []
    for sentence in run:
        number = _number(sentence.marker)
        if groups and number is not None and number == groups[-1][0]:
            groups[-1][2].append(sentence)
        else:
            groups.append((number, sentence.marker.strip(), [sentence]))
    parts: list[Part] = []
    shift = 0
    for number, marker, members in groups:
        texts: list[str] = []
        cites: list[int] = []
        for sentence in members:
            text = customer_safe(_MARKER.sub("", sentence.text).strip())
            if text is None:
                left.append(sentence.text)
                continue
            texts.append(text)
            cites += [n for n in sentence.cites if n not in cites]
        if not texts:
            shift += number is not None
            continue
        if number is None:
            shown = f"{(_number(parts[-1].marker) or 0) + 1 if parts else 1}."
        else:
            shown = f"{number - shift}{marker[-1]}"
        parts.append(Part(" ".join(texts), tuple(cites), shown))
    return parts


def _number(marker: str) -> int | None:
    match = _NUMBERED.match(marker.strip())
    return int(match.group(1)) if match else None


def _row_text(text: str) -> str:
    """A table row as ``label: value`` text; raw ``a | b | c`` cells become ``a: b; c``."""
    if "|" not in text:
        return text
    cells = [c.strip() for c in text.strip().strip("|").split("|") if c.strip()]
    if len(cells) < 2:
        return " ".join(cells)
    return f"{cells[0]}: {'; '.join(cells[1:])}"


def _pairs(row: str) -> tuple[tuple[str, str], ...]:
    """``Plan: Pro; Price: $49`` -> (("Plan", "Pro"), ("Price", "$49")); () when a piece has no label."""
    pairs = []
    for piece in row.split("; "):
        label, sep, value = piece.partition(": ")
        if not sep or not label.strip() or not value.strip() or len(label) > 60:
            return ()
        pairs.append((label.strip(), value.strip()))
    return tuple(pairs)


def left_out(answer: Answer | Sequence[Sentence]) -> tuple[str, ...]:
    """The answer's sentences that no customer-facing rendering shows, because they hold a placeholder."""
    return layout(answer).left_out


# --- the console draft --------------------------------------------------------------------------------------


def _cited(text: str, cites: Sequence[int], *, running: bool) -> str:
    """``text`` with its ``[n]`` markers before the final punctuation (running text gets a full stop)."""
    marks = "".join(f"[{n}]" for n in cites)
    text = text.rstrip()
    if not marks:
        return text
    end = text[-1] if text and text[-1] in ".!?:" else ""
    body = text[: -len(end)] if end else text
    return f"{body} {marks}{end or ('.' if running else '')}"


def markdown_with_citations(answer: Answer | Sequence[Sentence]) -> str:
    """The console draft body: paragraphs, ``3.`` steps, ``-`` bullets and ``label: value`` rows, each with
    its ``[n]`` markers; blocks separated by a blank line. An abstained answer has no body."""
    out = []
    for block in layout(answer).blocks:
        if block.kind == "paragraph":
            out.append(" ".join(_cited(p.text, p.cites, running=True) for p in block.parts))
        elif block.kind == "rows":
            out.append("\n".join(_cited(p.text, p.cites, running=False) for p in block.parts))
        else:
            out.append("\n".join(f"{p.marker} {_cited(p.text, p.cites, running=False)}" for p in block.parts))
    return "\n\n".join(out)


# --- the widget ---------------------------------------------------------------------------------------------


def widget_blocks(answer: Answer) -> list[dict[str, object]]:
    """The answer's layout as JSON for the widget: ``[{"kind": "steps", "parts": [{"text", "cites", "marker",
    "pairs"}]}]``. ``cites`` are numbers into the answer's citations; texts carry no ``[n]`` and no placeholder.
    The answer's notes ("This answer comes from our German help center.") come first, as a paragraph without
    citations. An abstained answer has no blocks (the widget shows its text)."""
    if answer.abstained:
        return []
    notes = [Block("paragraph", (Part(n, ()),)) for n in answer.notes if customer_safe(n) == n]
    return [
        {
            "kind": block.kind,
            "parts": [
                {"text": p.text, "cites": list(p.cites), "marker": p.marker, "pairs": [list(x) for x in p.pairs]}
                for p in block.parts
            ],
        }
        for block in (*notes, *layout(answer).blocks)
    ]


# --- greetings and sign-offs --------------------------------------------------------------------------------


def _language(locale: str) -> str:
    return (locale or "en").split("-")[0].split("_")[0].lower()


def first_name(customer_name: str) -> str:
    """How to address a customer: the first name (``Megan O'Connell`` -> ``Megan``; ``Weiß, Jürgen`` ->
    ``Jürgen``); with a title, the title and last name (``Herr Jürgen Weiß`` -> ``Herr Weiß``); empty for
    no name, an e-mail address or a placeholder."""
    name = " ".join(customer_name.replace('"', " ").split())
    if not name or "@" in name or PLACEHOLDER.search(name) or not re.search(r"[^\W\d_]", name):
        return ""
    if name.count(",") == 1:
        last, _, first = name.partition(",")
        name = f"{first.strip()} {last.strip()}".strip()
    words = name.split()
    titled = words[0].rstrip(".").casefold() in _TITLES and len(words) > 1
    words = [words[0], words[-1]] if titled else words[:1]
    if all(w.isupper() or w.islower() for w in words if len(w) > 2):
        words = [w if w.rstrip(".").casefold() in _TITLES and len(w) <= 3 else _capitalized(w) for w in words]
    return " ".join(words).strip(",;")


def _capitalized(word: str) -> str:
    return "-".join(p[:1].upper() + p[1:].lower() for p in word.split("-"))


def signature_name(display_name: str) -> str:
    """The name an agent signs with: their display name without a parenthesised note (``Ava (agent,
    Ledgerly)`` -> ``Ava``); empty when it is an id or an e-mail address rather than a name."""
    name = " ".join(re.sub(r"\([^)]*\)", " ", display_name).split())
    if not name or re.search(r"[@|/\\]", name) or not re.search(r"[^\W\d_]", name) or len(name) > 80:
        return ""
    return name


def greeting(locale: str, customer_name: str = "") -> str:
    """``Hi Maria,`` / ``Hallo Maria,`` / ``Bonjour Maria,``; the plain greeting without a usable name."""
    p = phrasing(locale)
    name = first_name(customer_name)
    if not name:
        return p.greeting
    if p.greeting_named:
        return p.greeting_named.format(name=name)
    plain = p.greeting.rstrip()
    return f"{plain[:-1] if plain.endswith(',') else plain} {name},"


def team_name(locale: str) -> str:
    """The team's name for a sign-off without an agent, in the locale's language."""
    return TEAM_NAMES.get(_language(locale)) or TEAM_NAMES["en"]


def sign_off(locale: str, agent_name: str = "") -> str:
    """``Best regards,\\nAva`` in the locale's language; the team's name when there is no agent name."""
    return phrasing(locale).signature.format(name=signature_name(agent_name) or team_name(locale))


def reply_draft(answer: Answer, locale: str, customer_name: str = "", agent_name: str = "") -> str:
    """The reply an agent edits: greeting, opener, the cited body, closing and sign-off ("" when abstained).

    The opener starts the first paragraph when the answer starts with running text, else stands alone.
    """
    body = markdown_with_citations(answer)
    if not body:
        return ""
    p = phrasing(locale)
    starts_with_text = bool(layout(answer).blocks[0].kind == "paragraph")
    opened = f"{p.opener} {body}" if starts_with_text else f"{p.opener}\n\n{body}"
    return "\n\n".join([greeting(locale, customer_name), opened, p.closing, sign_off(locale, agent_name)])


# --- the sent reply -----------------------------------------------------------------------------------------


def split_line(line: str) -> list[str]:
    """The sentences of one line of a reply, each with the ``[n]`` markers written after it."""
    pieces, start = [], 0
    for match in _BOUNDARY.finditer(line):
        pieces.append(line[start : match.end()].strip())
        start = match.end()
    pieces.append(line[start:].strip())
    return [p for p in pieces if p]


def strip_markers(text: str, locale: str = "en") -> str:
    """``text`` without ``[n]`` markers, spaces and punctuation tidied, line breaks and list markers kept."""
    lines = []
    for line in text.split("\n"):
        prefix = _LIST_PREFIX.match(line)
        head = prefix.group(0) if prefix else ""
        indent = re.match(r"\s*", line)
        lead = head or (indent.group(0) if indent else "")
        lines.append((lead + _tidy(_MARKER.sub("", line[len(lead) :]), locale)).rstrip())
    return "\n".join(lines)


def _safe_paragraph(paragraph: str, locale: str) -> str:
    """A paragraph without placeholder sentences, markers kept. Numbered lines after a dropped step move up; a
    line that leads into a list ("... directly:") goes when every line it introduced went."""
    out: list[str] = []
    shift = 0
    dropped_tail = False
    for line in paragraph.split("\n"):
        prefix = _LIST_PREFIX.match(line)
        head = prefix.group(0) if prefix else ""
        kept = [s for s in (customer_safe(p, locale) for p in split_line(line[len(head) :])) if s]
        if not kept:
            if prefix and _number(prefix.group(2)) is not None:
                shift += 1
            dropped_tail = dropped_tail or bool(prefix) or bool(out)
            continue
        if shift and prefix and (n := _number(prefix.group(2))) is not None:
            head = f"{prefix.group(1)}{n - shift}{prefix.group(2)[-1]}{prefix.group(3)}"
        out.append(head + " ".join(kept))
        dropped_tail = False
    if dropped_tail and out:
        out[-1] = _without_lead(out[-1])
    return "\n".join(line for line in out if line.strip())


def _without_lead(line: str) -> str:
    """``line`` without its last sentence when that sentence leads into a list ("... as follows:")."""
    prefix = _LIST_PREFIX.match(line)
    head = prefix.group(0) if prefix else ""
    sentences = split_line(line[len(head) :])
    if not sentences or not _leads_in(sentences[-1]):
        return line
    rest = " ".join(sentences[:-1])
    return head + rest if rest else ""


def _numbers(text: str) -> list[int]:
    return [int(n) for m in _MARKER.finditer(text) for n in m.group(1).split(",")]


def _known(attribute: str) -> set[str]:
    return {getattr(p, attribute).strip().casefold() for p in PHRASINGS.values()}


def _is_greeting(line: str, customer_name: str) -> bool:
    stripped = line.strip()
    folded = stripped.casefold()
    if folded in _known("greeting") or _GREETING.match(stripped):
        return True
    name = first_name(customer_name).casefold()
    return bool(name) and len(stripped) <= 40 and stripped.endswith(",") and name in folded


def _is_generic_greeting(line: str) -> bool:
    folded = line.strip().casefold()
    return folded in _known("greeting") or bool(PLACEHOLDER.search(line))


def _signoff_lines() -> set[str]:
    return {p.signature.split("\n")[0].strip().casefold() for p in PHRASINGS.values()}


def _is_signoff(paragraph: str) -> bool:
    lines = paragraph.strip().split("\n")
    first = lines[0].strip()
    return len(lines) <= 4 and (first.casefold() in _signoff_lines() or bool(_SIGNOFF.match(first)))


def _is_closing(paragraph: str) -> bool:
    folded = " ".join(paragraph.split()).casefold()
    return folded in _known("closing") or (bool(_CLOSING.search(paragraph)) and len(paragraph.split()) <= 30)


def _personal_signoff(paragraph: str, locale: str, agent_name: str) -> str:
    """A sign-off signed by the agent when it names no one, the generic team or a placeholder."""
    lines = paragraph.strip().split("\n")
    names = " ".join(line.strip() for line in lines[1:]).strip()
    generic = {t.casefold() for t in TEAM_NAMES.values()}
    if names and names.casefold() not in generic and not PLACEHOLDER.search(names):
        return paragraph.strip()
    if PLACEHOLDER.search(lines[0]):
        return sign_off(locale, agent_name)
    return f"{lines[0].strip()}\n{signature_name(agent_name) or names or team_name(locale)}"


def sources_list(citations: Sequence[Citation], cited: Sequence[int], locale: str) -> str:
    """``Sources:`` and one ``- Title: url`` line per cited article (in citing order, each article once)."""
    by_n = {c.n: c for c in citations}
    lines, seen = [], set()
    for n in cited:
        citation = by_n.get(n)
        if citation is None:
            continue
        title = " ".join(PLACEHOLDER.sub(" ", citation.title or citation.doc_id).split())
        key = citation.url or title
        if key in seen or not (title or citation.url):
            continue
        seen.add(key)
        url = citation.url if citation.url and re.match(r"https?://", citation.url) else ""
        lines.append(f"- {title}: {url}" if title and url else f"- {title or url}")
    if not lines:
        return ""
    return "\n".join([phrasing(locale).sources_label, *lines])


def sent_reply(
    draft: Answer | str,
    citations: Sequence[Citation] = (),
    locale: str = "en",
    customer_name: str = "",
    agent_name: str = "",
) -> str:
    """The text a customer receives for ``draft`` (an answer, or the agent's possibly edited reply text).

    - Greeting: kept when the agent wrote their own; the generic one (``Hi,``) gets the customer's name;
      one is added when there is none.
    - Body: sentences holding a placeholder are rephrased or left out; ``[n]`` markers are removed with
      no double spaces or stray spaces before punctuation; line breaks and list markers stay.
    - Sources: the articles the kept markers cite, titled with their urls, before the closing.
    - Sign-off: kept when signed by a person; the generic team signature is signed with ``agent_name``;
      one is added when there is none. A postscript after it stays after it.
    """
    if isinstance(draft, Answer):
        citations = citations or draft.citations
        text = reply_draft(draft, locale, customer_name, agent_name)
    else:
        text = draft
    text = text.replace("\r\n", "\n").replace("\r", "\n").strip()
    paragraphs = [p.strip("\n") for p in re.split(r"\n[ \t]*\n", text) if p.strip()]
    if not paragraphs:
        return ""
    lines = paragraphs[0].split("\n")
    if _is_greeting(lines[0], customer_name):
        first = greeting(locale, customer_name) if _is_generic_greeting(lines[0]) else lines[0].strip()
        rest = "\n".join(lines[1:]).strip()
        paragraphs = [first, *([rest] if rest else []), *paragraphs[1:]]
    else:
        paragraphs = [greeting(locale, customer_name), *paragraphs]
    signed = next((i for i in range(len(paragraphs) - 1, 0, -1) if _is_signoff(paragraphs[i])), None)
    if signed is None:
        signature, postscript, end = sign_off(locale, agent_name), [], len(paragraphs)
    else:
        signature = _personal_signoff(paragraphs[signed], locale, agent_name)
        postscript, end = paragraphs[signed + 1 :], signed
    closing_at = end - 1 if end - 1 > 0 and _is_closing(paragraphs[end - 1]) else end
    body = [_safe_paragraph(p, locale) for p in paragraphs[1:closing_at]]
    for i in range(1, len(body)):  # a paragraph that introduced a list left out entirely loses its lead-in
        if not body[i] and body[i - 1]:
            lines = body[i - 1].split("\n")
            lines[-1] = _without_lead(lines[-1])
            body[i - 1] = "\n".join(line for line in lines if line.strip())
    closing = [_safe_paragraph(p, locale) for p in paragraphs[closing_at:end]]
    after = [_safe_paragraph(p, locale) for p in postscript]
    cited: list[int] = []
    for n in _numbers("\n".join([*body, *closing, *after])):
        if n not in cited:
            cited.append(n)
    sources = sources_list(citations, cited, locale)
    greeting_line = paragraphs[0] if not PLACEHOLDER.search(paragraphs[0]) else phrasing(locale).greeting
    out = [greeting_line, *body, sources, *closing, signature, *after]
    reply = "\n\n".join(strip_markers(p, locale).strip("\n") for p in out if p.strip())
    return re.sub(r"\n{3,}", "\n\n", reply).strip()
