"""The structure of a source's text: headings, paragraphs (split into sentences), step lists, bullet lists, tables.

Ingest writes each block of an article on its own line, numbered steps as ``3. ...``, bullets as
``- ...`` and table rows as ``| cell | cell |`` (ingest/chunking.py); this module reads that back so
an answer can be built from whole units of the article rather than from loose sentences.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from assistant.text import split_sentences

UnitKind = Literal["heading", "question", "text", "step", "item", "row"]

_STEP = re.compile(r"^\s*(\d{1,3})[.)]\s+(.*)$")
_ITEM = re.compile(r"^\s*[-*•]\s+(.*)$")
_ROW = re.compile(r"^\s*\|(.*)\|\s*$")
_FIGURE = re.compile(r"^(image|figure|screenshot|abbildung|bild|capture d'écran|imagen)\s*\d*\s*:\s", re.IGNORECASE)
_FAQ_QUESTION_MAX_WORDS = 25
_PSEUDO_HEADING_MAX_WORDS = 8


@dataclass(frozen=True)
class Unit:
    """One answerable unit of a source: a sentence of a paragraph, a step, a bullet or a table row."""

    kind: UnitKind
    text: str
    """For a row: ``label: value`` pairs built with the table's header; else the text as written."""
    block: int
    """Index of the paragraph, list or table the unit belongs to, in reading order within its source."""
    position: int
    """Index of the unit in its source, in reading order."""
    marker: str = ""
    """``3.`` for the third step; ``-`` for a bullet."""
    number: int = 0
    """The step's number (0 for other kinds)."""
    lead: bool = False
    """A sentence that introduces the list or table right after it (usually ends with ``:``)."""


def parse(text: str, headings: Sequence[str] = ()) -> list[Unit]:
    """The units of ``text`` in reading order; lines equal to one of ``headings`` are headings."""
    heading_keys = {_key(h) for h in headings if h}
    units: list[Unit] = []
    block = -1
    previous_kind: str = ""
    header: list[str] | None = None
    lines = [line for line in text.splitlines() if line.strip()]
    nested = _inside_steps(lines)
    for index, line in enumerate(lines):
        step, item, row = _STEP.match(line), _ITEM.match(line), _ROW.match(line)
        if row:
            cells = [c.strip() for c in row.group(1).split("|")]
            if previous_kind != "row":
                # The header row names the columns; it is not an answer on its own.
                block, header = block + 1, cells
                units.append(Unit("heading", " | ".join(cells), block, len(units)))
            else:
                units.append(Unit("row", _labelled(header or [], cells), block, len(units)))
            previous_kind = "row"
            continue
        if step:
            if previous_kind not in ("step", "substep") or int(step.group(1)) == 1:
                block += 1
            number = int(step.group(1))
            units.append(Unit("step", step.group(2).strip(), block, len(units), f"{number}.", number))
            previous_kind = "step"
            continue
        if item and index in nested:
            # A bullet under a step ("6. Choose the Delivery option:" then its options): part of the step list.
            units.append(Unit("item", item.group(1).strip(), block, len(units), "-"))
            previous_kind = "substep"
            continue
        if item:
            if previous_kind != "item":
                block += 1
            units.append(Unit("item", item.group(1).strip(), block, len(units), "-"))
            previous_kind = "item"
            continue
        # A note or picture under a step ("3. Select the groups." then "Note: ..." then "4. ..."): the list goes on.
        within = index in nested
        if not within:
            block += 1
        stripped = line.strip()
        if (
            stripped.startswith("|")  # part of a table row cut by chunking: no whole row, no answer
            or stripped.endswith("|")
            or _FIGURE.match(stripped)  # a picture's description: the answer has no picture to show
            or _key(stripped) in heading_keys
            or _is_pseudo_heading(stripped)  # a bold line or label that titles what follows ("Scale to Growth")
        ):
            units.append(Unit("heading", stripped, block, len(units)))
            previous_kind = "substep" if within else "heading"
            continue
        if stripped.endswith("?") and len(stripped.split()) <= _FAQ_QUESTION_MAX_WORDS and "." not in stripped[:-1]:
            units.append(Unit("question", stripped, block, len(units)))
            previous_kind = "substep" if within else "question"
            continue
        for sentence in split_sentences(stripped):
            # A question inside a paragraph ("Locked out? Request a link.") frames the answer; it is not one.
            kind: UnitKind = "question" if sentence.rstrip().endswith("?") else "text"
            units.append(Unit(kind, sentence, block, len(units)))
        previous_kind = "substep" if within else "text"
    return _mark_leads(units)


_MAX_LINES_UNDER_A_STEP = 4


def _inside_steps(lines: Sequence[str]) -> set[int]:
    """Indexes of the lines between step ``n`` and step ``n + 1`` (a sub-list, a note, a picture; at most
    a few lines, no table row): they belong to step ``n``."""
    nested: set[int] = set()
    for start, line in enumerate(lines):
        step = _STEP.match(line)
        if step is None:
            continue
        end = start + 1
        while (
            end < len(lines)
            and end - start <= _MAX_LINES_UNDER_A_STEP
            and not _STEP.match(lines[end])
            and not _ROW.match(lines[end])
        ):
            end += 1
        following = _STEP.match(lines[end]) if end < len(lines) else None
        if end > start + 1 and following is not None and int(following.group(1)) == int(step.group(1)) + 1:
            nested.update(range(start + 1, end))
    return nested


def _mark_leads(units: list[Unit]) -> list[Unit]:
    """A paragraph's last sentence that ends with ``:`` and is followed by a list or table leads into it."""
    out = list(units)
    for i, unit in enumerate(units[:-1]):
        following = units[i + 1]
        introduces = unit.text.rstrip().endswith(":") or len(unit.text.split()) <= 14
        listed = following.kind in ("step", "item", "row") and following.block != unit.block
        if unit.kind == "text" and listed and introduces:
            out[i] = Unit(unit.kind, unit.text, unit.block, unit.position, lead=True)
    return out


def _is_pseudo_heading(line: str) -> bool:
    """A short line without closing punctuation or digits-only content: it names a part, it says nothing."""
    words = line.split()
    return 0 < len(words) <= _PSEUDO_HEADING_MAX_WORDS and line[-1].isalnum() and not line[-1].isdigit()


def _labelled(header: Sequence[str], cells: Sequence[str]) -> str:
    """A table row as ``Header: cell; Header: cell`` (cells without a header stay as they are)."""
    parts = []
    for i, cell in enumerate(cells):
        cell = cell.rstrip(" .;")
        if not cell or cell in ("-", "–", "—"):  # an empty cell, written as a dash
            continue
        label = header[i].rstrip(" .:") if i < len(header) else ""
        parts.append(f"{label}: {cell}" if label and label != cell else cell)
    return "; ".join(parts)


def _key(text: str) -> str:
    return " ".join(text.strip(" .:#").casefold().split())
