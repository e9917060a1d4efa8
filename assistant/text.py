"""Text helpers shared by generators and the validator: sentence splitting, citation markers, content terms."""

from __future__ import annotations

import re
from functools import cache

from retrieval.sparse import tokenize

_CITE = re.compile(r"\s*\[(\d+(?:\s*,\s*\d+)*)\]")
# The space a removed marker leaves before a full stop or comma; never the one before ".myshopify.com".
_SPACE_BEFORE_MARK = re.compile(r" ([.,])(?=\s|$)")
# Markers written after the full stop ("... once. [2]") move before it, so they stay with their sentence.
_TRAILING_CITES = re.compile(r"([.!?])((?:\s*\[\d+(?:\s*,\s*\d+)*\])+)")
# A sentence ends at . ! ? (optionally followed by closing quotes or brackets) when whitespace and an
# upper-case letter, digit, quote or bullet follow; list lines end sentences too.
_BOUNDARY = re.compile(r"(?<=[.!?])(?:[\"'”’)]*)\s+(?=[A-ZÄÖÜ0-9\"'“(•*-])|\n+")
_BULLET = re.compile(r"^\s*(?:[-*•]|\d+[.)])\s+")

_STOPWORDS_EN = """a about above after again all also am an and any are as at be because been before being below
between both but by can could did do does doing done down during each few for from further get gets got had has have
having he her here hers him his how i if in into is it its itself just me might more most must my no nor not now of off
on once only or other our ours out over own please same she should so some such than that the their theirs them then
there these they this those through to too under until up very want was we were what when where which while who whom
why will with would you your yours yourself hi hello thanks thank dear regards cheers can't don't doesn't i'm i've
ok okay still yet anyone someone something need needs way ways know tell let us""".split()
_STOPWORDS_DE = """aber alle allem allen aller als also am an auch auf aus bei bin bis bitte da damit dann das dass dem
den denn der des dich die dir doch du ein eine einem einen einer eines er es für hab habe haben hat hatte ich ihr im in
ist ja jetzt kann kein keine können man mein meine mich mir mit muss nach nicht noch nun nur ob oder ohne sehr sich sie
sind so über um und uns unser vom von vor war warum was weil wenn wer wie wieder wir wird wo zu zum zur hallo danke
gibt geht lange wann""".split()


def split_sentences(text: str) -> list[str]:
    """Sentences of ``text``; list items and lines count as sentences; citation markers stay attached."""
    parts = []
    for piece in _BOUNDARY.split(_TRAILING_CITES.sub(r"\2\1", text)):
        piece = _BULLET.sub("", piece).strip()
        if piece:
            parts.append(piece)
    return parts


def citations_in(sentence: str) -> tuple[int, ...]:
    """The source numbers a sentence cites, in order, without repeats."""
    numbers: list[int] = []
    for match in _CITE.finditer(sentence):
        for n in match.group(1).split(","):
            if int(n) not in numbers:
                numbers.append(int(n))
    return tuple(numbers)


def strip_citations(sentence: str) -> str:
    """The sentence without its ``[n]`` markers."""
    return _SPACE_BEFORE_MARK.sub(r"\1", " ".join(_CITE.sub(" ", sentence).split()))


@cache
def _stopword_stems(locale: str) -> frozenset[str]:
    words = _STOPWORDS_DE if locale.startswith("de") else _STOPWORDS_EN
    return frozenset(tokenize(" ".join(words), locale))


def content_terms(text: str, locale: str = "en") -> set[str]:
    """Stemmed words that carry meaning: stop words and one-letter tokens removed."""
    stops = _stopword_stems(locale)
    return {t for t in tokenize(text, locale) if t not in stops and (len(t) > 1 or t.isdigit())}
