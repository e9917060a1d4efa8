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
    rf",[ \t]*(?:\d{{4,5}}|\d{{4}}[ \t]?[A-Z]{{2}}|\d{{3}}[ \t]\d{{2}})[ \t]+{_CAP}(?:[ \t-]+{_CAP})?"
)
# Where an address stops on the left within a line.
_PART_BREAK = re.compile(r"[;()\[\]|:\"]|\s[-–—][ \t]")
_UNIT = re.compile(r"^(?:Suite|Ste|Apt|Apartment|Unit|Flat|Floor|Fl|Building|Bldg|#)\.?[ \t]*[\w-]+$", re.I)
_HOUSE_NUMBER = re.compile(r"(?:^|[ \t])\d{1,5}[A-Za-z]?(?:[-/]\d{1,4}[A-Za-z]?)?(?:$|[ \t])")
_LOWER_JOINERS = frozenset("de des du la le van von der den am an im auf da di del della dos das y".split())
_STREET_SUFFIX = re.compile(
    r"(?:straße|strasse|str\.|allee|weg|gasse|platz|ring|damm|ufer|chaussee|gracht|laan|straat|kade|plein"
    r"|markt|steig|promenade|vej|gatan|gade|veien)$",
    re.I,
)
_STREET_ARTICLES = frozenset("Am An Im Auf Zum Zur In".split())
MAX_TOWN_PARTS = 2


def find_addresses(text: str) -> list[tuple[int, int]]:
    """Character spans of postal addresses in ``text``, in order."""
    spans: list[tuple[int, int]] = []
    for pattern, needs_street in ((_US_ANCHOR, False), (_UK_ANCHOR, False), (_CONTINENTAL_ANCHOR, True)):
        for match in pattern.finditer(text):
            anchor_start = match.start() + len(match.group()) - len(match.group().lstrip(", \t"))
            start = _street_start(text, anchor_start, needs_street)
            if start is not None:
                spans.append((start, match.end()))
    return merge_spans(spans)


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
            return kept_start + _street_offset(kept)
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
