"""Which list items of a source are numbered steps, and their numbers.

unstructured gives list items without their markers, so a numbered procedure and a bullet list look
the same. The numbers are read back from the source: ``<ol>``/``<li>`` in HTML (and in help-center
export bodies), ``1.`` / ``1)`` lines in Markdown and plain text. An item is matched by its text,
reduced to letters and digits.
"""

from __future__ import annotations

import re

from lxml import html as lxml_html

_NUMBERED_LINE = re.compile(r"^\s{0,6}(\d{1,3})[.)]\s+(\S.*)$", re.MULTILINE)
_MD_LINK = re.compile(r"!?\[([^\]]*)\]\([^)]*\)")
_MD_EMPHASIS = re.compile(r"(\*\*|__|\*|_|`)")
_NON_WORD = re.compile(r"[\W_]+", re.UNICODE)


def item_key(text: str) -> str:
    """The comparison key of a list item's text: letters and digits only, lower case."""
    return _NON_WORD.sub(" ", text).strip().casefold()


def numbered_items(text: str | None, fmt: str) -> dict[str, int]:
    """Keys (``item_key``) of the numbered list items in a source's text, with their numbers."""
    if not text:
        return {}
    found: dict[str, int] = {}
    if fmt in ("html", "json") or "<ol" in text:
        found |= _from_html(text)
    if fmt in ("md", "txt"):
        for match in _NUMBERED_LINE.finditer(text):
            plain = _MD_EMPHASIS.sub("", _MD_LINK.sub(r"\1", match.group(2)))
            found.setdefault(item_key(plain), int(match.group(1)))
    return found


def _from_html(text: str) -> dict[str, int]:
    try:
        root = lxml_html.fromstring(text)
    except (ValueError, lxml_html.etree.ParserError):
        return {}
    found: dict[str, int] = {}
    for ordered in root.iter("ol"):
        start = ordered.get("start", "1")
        number = int(start) if start.isdigit() else 1
        for child in ordered:
            if child.tag != "li":
                continue
            # The item's own text, without nested lists (their items are items of their own).
            parts = [child.text or ""]
            for sub in child:
                parts.append(("" if sub.tag in ("ol", "ul") else sub.text_content()) + (sub.tail or ""))
            found.setdefault(item_key(" ".join(parts)), number)
            number += 1
    return found
