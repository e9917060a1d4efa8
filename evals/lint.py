"""Answer lint: defects a reader notices in an answer even when every sentence is true and cited.

Each rule is a small function ``rule(answer, ...) -> list[Defect]`` over the real answer records
(:class:`assistant.records.Answer` with its sentences, sources and rendered text):

- ``heading_as_sentence``: a heading or a question standing in as an answer sentence;
- ``dangling_reference``: "above", "below", "the following", "steps 1-3", "as shown", "this page" without
  what they refer to in the answer;
- ``duplicate_fact``: two sentences stating the same thing (high embedding cosine or token overlap);
- ``table_fragment``: pipe fragments of a table, or a row that does not read as ``label: value``;
- ``placeholder``: a redaction placeholder (``<PHONE_NUMBER>``, ``<PERSON>``, any ``<UPPER_CASE>``) in the text;
- ``cut_off_list``: numbered steps that are not the complete ``1..k`` run of their source list, or out of order;
- ``uncited_sentence``: a sentence without a citation in a channel that cites.

:class:`Linter` runs them all. The rules read what a user receives; they never change an answer.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from assistant.records import Answer, Sentence, Source
from assistant.text import content_terms

RULES = (
    "heading_as_sentence",
    "dangling_reference",
    "duplicate_fact",
    "table_fragment",
    "placeholder",
    "cut_off_list",
    "uncited_sentence",
)
CHANNELS = ("widget", "agent")
"""The channels linted: the widget's text and the agent's draft."""

DUPLICATE_COSINE = 0.92
"""MiniLM cosine at or above which two answer sentences state the same fact."""
DUPLICATE_COSINE_SAME_NUMBERS = 0.75
"""A lower cosine suffices when both sentences carry the same numbers ("expire after 60 minutes" and "valid for
60 minutes": 0.80); two different steps of one list reach about 0.78 too, but carry no shared number."""
DUPLICATE_OVERLAP = 0.8
"""Jaccard overlap of content terms at or above which two sentences state the same fact."""
DUPLICATE_MIN_TERMS = 3
"""Sentences with fewer content terms ("Click Save.") are too short to call duplicates by overlap."""

Encode = Callable[[Sequence[str]], np.ndarray]
"""Normalized sentence embeddings, one row per text."""

PLACEHOLDER = re.compile(r"<[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)*>")
_CITE = re.compile(r"\s*\[\d+(?:\s*,\s*\d+)*\]")
_LIST_MARKER = re.compile(r"^\s*(?:\d{1,3}[.)]|[-*•–+])\s+")
_NUMBERED_LINE = re.compile(r"^\s*(\d{1,3})[.)]\s+(\S.*)$")
_NON_WORD = re.compile(r"[\W_]+", re.UNICODE)
_LIST_KINDS = ("step", "item", "row")

_POINTED = (
    r"(?:see|shown|described|listed|mentioned|explained|given|outlined|steps?|table|list|section|image|screenshot|"
    r"figure|example|instructions|options|fields|settings|information|links?|articles?|button|form)"
)
_ABOVE_BELOW = re.compile(r"\b(above|below)\b", re.IGNORECASE)
_POINTER_BEFORE = re.compile(rf"\b{_POINTED}\s+(?:\w+\s+)?$", re.IGNORECASE)
_POINTER_AFTER = re.compile(r"^\s*(?:[.,:;)]|$)")
_TIME = (
    r"(?!\s+(?:business\s+|working\s+|calendar\s+|billing\s+)?(?:day|week|month|year|morning|cycle|period|quarter|"
    r"monday|tuesday|wednesday|thursday|friday|saturday|sunday)s?\b)"
)
"""'the following day/month/billing cycle' is a time, not a pointer."""
_FORWARD = re.compile(
    rf"\b(?:the following{_TIME}|as follows|following (?:steps|options|settings|fields|table|list|information))\b",
    re.IGNORECASE,
)
_BACKWARD = re.compile(
    r"\b(?:previous (?:steps?|sections?)|preceding (?:steps?|sections?|table|list))\b", re.IGNORECASE
)
_CAPTION = re.compile(r"^(?:image|figure|screenshot|video)\s*:", re.IGNORECASE)
_QUOTED = re.compile(r"\"[^\"]*\"|“[^”]*”|'[^']*'")
_STEP_REF = re.compile(r"\bsteps?\s+(\d{1,3})(?:\s*(?:-|–|to|through|and)\s*(\d{1,3}))?\b", re.IGNORECASE)
_SHOWN = re.compile(r"\b(?:as shown|shown (?:here|in the (?:image|screenshot|figure)))\b", re.IGNORECASE)
_THIS = re.compile(r"\bthis (page|article|section)\b", re.IGNORECASE)
_ROW = re.compile(r"^[^:|]{1,80}:\s+\S")
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")


@dataclass(frozen=True)
class Defect:
    """One lint finding: the rule, the sentence (or text) it concerns and why."""

    rule: str
    text: str
    detail: str


def plain(text: str) -> str:
    """A sentence as it reads: citation markers and a leading list marker removed, whitespace collapsed."""
    return " ".join(_LIST_MARKER.sub("", _CITE.sub("", text)).split())


def _key(text: str) -> str:
    """Letters and digits only, lower case: the comparison key of a heading or a list line."""
    return _NON_WORD.sub(" ", plain(text)).strip().casefold()


def _cited(sentence: Sentence, answer: Answer) -> list[Source]:
    """The sources a sentence cites; all of the answer's sources when it cites none."""
    by_number = {s.n: s for s in answer.sources}
    cited = [by_number[n] for n in sentence.cites if n in by_number]
    return cited or list(answer.sources)


def _headings(sources: Sequence[Source]) -> set[str]:
    keys = set()
    for source in sources:
        for name in (source.hit.title, *source.hit.section.split(" > ")):
            if _key(name):
                keys.add(_key(name))
    return keys


def _glued_heading(text: str, sources: Sequence[Source]) -> str:
    """The heading of ``sources`` that ``text`` starts with, run on into a new capitalized sentence
    ("Trash Deleted items stay 30 days"), or ""."""
    for source in sources:
        for name in (source.hit.title, *source.hit.section.split(" > ")):
            name = name.strip()
            if name and name[-1].isalnum() and re.match(rf"{re.escape(name)}\s+[A-ZÄÖÜ]", text):
                return name
    return ""


def heading_as_sentence(answer: Answer) -> list[Defect]:
    """A sentence that equals a heading or section name of its source, starts with one run on into the
    sentence ("Trash Deleted items ..."), or is a question (ends with "?").

    Headings and FAQ questions are signposts on a page; in an answer they read as an echo of the question.
    """
    found = []
    for sentence in answer.sentences:
        text = plain(sentence.text)
        sources = _cited(sentence, answer)
        if _QUOTED.sub("", text).rstrip("\"'”’) ").endswith("?"):  # a quoted title ("Forgot password?") is no question
            found.append(Defect("heading_as_sentence", text, "a question used as an answer sentence"))
        elif _key(text) in _headings(sources):
            found.append(Defect("heading_as_sentence", text, "a heading of its source used as a sentence"))
        elif heading := _glued_heading(text, sources):
            found.append(Defect("heading_as_sentence", text, f"the heading '{heading}' runs into the sentence"))
    return found


def _source_list_lines(sources: Sequence[Source]) -> set[str]:
    """Keys of the lines of ``sources`` that are list items or table rows (``3. ...``, ``- ...``, ``| ... |``)."""
    keys = set()
    for source in sources:
        for line in source.hit.text.splitlines():
            if _LIST_MARKER.match(line) or line.strip().startswith("|"):
                keys.add(_key(line))
    return keys


def _is_list_part(sentence: Sentence, answer: Answer) -> bool:
    """A step, bullet item or table row: by its kind, or (for a generator that sets no kind) by its source line."""
    if sentence.kind in _LIST_KINDS:
        return True
    return _key(sentence.text) in _source_list_lines(_cited(sentence, answer))


def _step_numbers(answer: Answer) -> set[int]:
    return {number for group in step_groups(answer) for number, _ in group}


def dangling_reference(answer: Answer) -> list[Defect]:
    """A pointer to something the answer does not show.

    - "below", "the following", "as follows": no list (steps, items, rows) comes after the sentence;
    - "above", "previous step": no list comes before it;
    - "step 4", "steps 1-3": the answer does not show those step numbers;
    - "as shown", a caption ("Image: ..."): an answer has no pictures;
    - "this page/article/section": no earlier sentence names the page, article or section meant.
    """
    found = []
    sentences = answer.sentences
    list_at = [_is_list_part(s, answer) for s in sentences]
    steps = _step_numbers(answer)
    for i, sentence in enumerate(sentences):
        text = plain(sentence.text)
        if list_at[i]:
            continue  # a list item's own words ("the following fields") point within its list
        pointers = _pointers(text)
        if (_FORWARD.search(text) or "below" in pointers) and not any(list_at[i + 1 :]):
            found.append(Defect("dangling_reference", text, "points to something below that the answer does not show"))
        elif (_BACKWARD.search(text) or "above" in pointers) and not any(list_at[:i]):
            found.append(Defect("dangling_reference", text, "points to something above that the answer does not show"))
        elif (match := _STEP_REF.search(text)) is not None:
            first = int(match.group(1))
            last = int(match.group(2) or first)
            wanted = set(range(min(first, last), max(first, last) + 1))
            if not wanted <= steps:
                found.append(
                    Defect("dangling_reference", text, f"refers to step(s) {match.group(0)} not in the answer")
                )
        elif _SHOWN.search(text) or _CAPTION.match(text):
            found.append(Defect("dangling_reference", text, "refers to a picture the answer does not have"))
        elif (this := _THIS.search(text)) is not None:
            noun = this.group(1).lower()
            earlier = " ".join(plain(s.text) for s in sentences[:i]).lower()
            if not re.search(rf"\b{noun}\b", earlier):
                found.append(Defect("dangling_reference", text, f"'this {noun}' without the {noun} it means"))
    return found


def _pointers(text: str) -> set[str]:
    """``above`` / ``below`` where they point at a place on the page: at the end of a clause ("as described
    above.", "follow the steps below:") or after what they point at ("the table below shows"). "Above the
    Growth limit", "below 10%" and "an x above an assignment" compare or place things; they point nowhere."""
    found = set()
    for match in _ABOVE_BELOW.finditer(text):
        if _POINTER_AFTER.match(text[match.end() :]) or _POINTER_BEFORE.search(text[: match.start()]):
            found.add(match.group(1).lower())
    return found


def _jaccard(a: set[str], b: set[str]) -> float:
    return len(a & b) / len(a | b) if a | b else 0.0


def duplicate_fact(
    answer: Answer,
    encode: Encode | None = None,
    *,
    cosine: float = DUPLICATE_COSINE,
    overlap: float = DUPLICATE_OVERLAP,
    locale: str = "en",
) -> list[Defect]:
    """Two sentences stating the same thing: content-term Jaccard >= ``overlap`` (both sentences with at least
    DUPLICATE_MIN_TERMS terms), or, when ``encode`` is given, embedding cosine >= ``cosine``, or cosine >=
    DUPLICATE_COSINE_SAME_NUMBERS with the same (non-empty) set of numbers in both.

    Identical sentences always count. Sentences with different numbers ("$12 / month" and "$120 / year") state
    different facts, and so do two steps, items or rows of one list or table (parallel by design). One defect
    per repeated sentence (the later one).
    """
    texts = [plain(s.text) for s in answer.sentences]
    if len(texts) < 2:
        return []
    terms = [content_terms(t, locale) for t in texts]
    numbers = [set(_NUMBER.findall(t)) for t in texts]
    vectors = encode(texts) if encode is not None else None
    found = []
    for j in range(1, len(texts)):
        for i in range(j):
            same = texts[i].casefold() == texts[j].casefold()
            a, b = answer.sentences[i], answer.sentences[j]
            parallel = a.block == b.block and a.kind in _LIST_KINDS and b.kind in _LIST_KINDS
            conflicting = bool(numbers[i]) and bool(numbers[j]) and numbers[i] != numbers[j]
            if not same and (parallel or conflicting):
                continue
            jac = _jaccard(terms[i], terms[j])
            lexical = min(len(terms[i]), len(terms[j])) >= DUPLICATE_MIN_TERMS and jac >= overlap
            cos = float(vectors[i] @ vectors[j]) if vectors is not None else 0.0
            same_numbers = bool(numbers[i]) and numbers[i] == numbers[j] and cos >= DUPLICATE_COSINE_SAME_NUMBERS
            if same or lexical or cos >= cosine or same_numbers:
                detail = f"repeats sentence {i + 1} (cosine {cos:.2f}, term overlap {jac:.2f})"
                found.append(Defect("duplicate_fact", texts[j], detail))
                break
    return found


def table_fragment(answer: Answer) -> list[Defect]:
    """A piece of a table: pipe-separated cells (``| Growth | $29 |``), or a table row that does not read as
    ``label: value`` (its header is missing, so its numbers mean nothing on their own)."""
    found = []
    for sentence in answer.sentences:
        text = plain(sentence.text)
        if "|" in text:
            found.append(Defect("table_fragment", text, "pipe-separated table cells"))
        elif sentence.kind == "row" and not _ROW.match(text):
            found.append(Defect("table_fragment", text, "a table row without its header (not 'label: value')"))
    return found


def placeholder(answer: Answer) -> list[Defect]:
    """A redaction placeholder (``<PHONE_NUMBER>``, ``<PERSON>``, any ``<UPPER_CASE>`` token) in the text the user
    receives: one defect per occurrence."""
    return [
        Defect("placeholder", token, "a redaction placeholder reaches the reader")
        for token in PLACEHOLDER.findall(answer.text)
    ]


def _source_numbers(sources: Sequence[Source]) -> list[list[tuple[int, str]]]:
    """The numbered lists of ``sources``' text: runs of ``n. text`` lines whose numbers go up by one
    (a ``1.`` or a number that does not continue the run starts a new list)."""
    runs: list[list[tuple[int, str]]] = []
    for source in sources:
        current: list[tuple[int, str]] = []
        for line in source.hit.text.splitlines():
            match = _NUMBERED_LINE.match(line)
            if match is None:
                continue  # notes and sub-bullets between steps do not end the list
            number = int(match.group(1))
            if current and number != current[-1][0] + 1:
                runs.append(current)
                current = []
            current.append((number, _key(match.group(2))))
        if current:
            runs.append(current)
    return runs


def step_groups(answer: Answer) -> list[list[tuple[int, str]]]:
    """The answer's numbered steps as lists of (number, text key), one list per run of consecutive steps.

    A step's number is its marker (``3.``); a sentence without a kind that is a numbered line of its cited
    source counts as that step too (so a generator that does not mark steps is linted the same way), unless
    it stands alone: one step's sentence quoted as a plain fact answers a lookup, it lists nothing.
    """
    groups: list[list[tuple[int, str]]] = []
    marked: list[bool] = []
    previous: tuple[int, tuple[int, ...]] | None = None
    for sentence in answer.sentences:
        number: int | None = None
        marker = sentence.marker.strip().rstrip(".)")
        if sentence.kind == "step" and marker.isdigit():
            number = int(marker)
        elif sentence.kind in ("text", "step"):
            key = _key(sentence.text)
            for run in _source_numbers(_cited(sentence, answer)):
                number = next((n for n, k in run if k == key), None)
                if number is not None:
                    break
        group_key = (sentence.block, sentence.cites)
        if number is None and sentence.kind == "item" and previous == group_key:
            continue  # a bullet under a step ("6. Choose the option:" then the options) keeps the run going
        if number is None:
            previous = None
            continue
        if previous != group_key:
            groups.append([])
            marked.append(False)
        groups[-1].append((number, _key(sentence.text)))
        marked[-1] = marked[-1] or sentence.kind == "step"
        previous = group_key
    return [g for g, m in zip(groups, marked, strict=True) if m or len(g) > 1]


def cut_off_list(answer: Answer) -> list[Defect]:
    """Numbered steps that are not a complete list: not ``1, 2, ..., k`` in order (steps 2 and 3 of a list,
    a gap, steps out of order), or fewer steps than the source list they come from has (when the source
    shows that list from step 1)."""
    found = []
    by_number = {s.n: s for s in answer.sources}
    runs = _source_numbers(list(by_number.values()))
    for group in step_groups(answer):
        numbers = [n for n, _ in group]
        shown = ", ".join(str(n) for n in numbers)
        if numbers != list(range(1, len(numbers) + 1)):
            found.append(Defect("cut_off_list", shown, f"steps {shown}: not a complete 1..k run in order"))
            continue
        keys = {k for _, k in group}
        source = next((run for run in runs if keys & {k for _, k in run} and run[0][0] == 1), None)
        if source is not None and len(source) > len(numbers):
            found.append(Defect("cut_off_list", shown, f"steps 1-{len(numbers)} of a {len(source)}-step list"))
    return found


def uncited_sentence(answer: Answer, cites: bool = True) -> list[Defect]:
    """A sentence without a citation (or citing a number that is none of the answer's citations), in a channel
    that cites (``cites``)."""
    if not cites:
        return []
    valid = {c.n for c in answer.citations}
    return [
        Defect("uncited_sentence", plain(s.text), "no citation" if not s.cites else f"cites {s.cites}: no such source")
        for s in answer.sentences
        if not s.cites or not set(s.cites) <= valid
    ]


class Linter:
    """Runs every rule on an answer; ``encode`` (sentence embeddings) makes duplicates semantic, not only lexical."""

    def __init__(self, encode: Encode | None = None, *, cosine: float = DUPLICATE_COSINE) -> None:
        self.encode, self.cosine = encode, cosine

    def lint(self, answer: Answer, *, cites: bool = True, locale: str = "en") -> tuple[Defect, ...]:
        """Every defect of ``answer`` (an abstention has no sentences; only its text is checked)."""
        return (
            *heading_as_sentence(answer),
            *dangling_reference(answer),
            *duplicate_fact(answer, self.encode, cosine=self.cosine, locale=locale),
            *table_fragment(answer),
            *placeholder(answer),
            *cut_off_list(answer),
            *uncited_sentence(answer, cites),
        )


def counts(defects: Sequence[Defect]) -> dict[str, int]:
    """Defects per rule (every rule present, 0 when clean)."""
    tally = Counter(d.rule for d in defects)
    return {rule: tally.get(rule, 0) for rule in RULES}
