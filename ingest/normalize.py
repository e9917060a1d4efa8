"""Unicode and whitespace normalization and boilerplate removal."""

from __future__ import annotations

import hashlib
import re
import unicodedata

from ingest.records import Block

_SPACES = re.compile(r"[ \t\u00a0\u2000-\u200b\u202f\u205f\u3000]+")
_ZERO_WIDTH = re.compile(r"[\u200c\u200d\u2060\ufeff]")

# Lines help centers append to every page; they carry no answer and make
# re-exports look different. Matched against a whole normalized block.
BOILERPLATE = tuple(
    re.compile(pattern, re.IGNORECASE)
    for pattern in (
        r"^was this (article|page) helpful\??.*$",
        r"^war dieser artikel hilfreich\??.*$",
        r"^(last (reviewed|updated|exported)|zuletzt (aktualisiert|geprüft))\b.{0,80}$",
        r"^(\d+ out of \d+ found this helpful|yes\s*no)$",
        r"^(still need help\?|need more help\?).{0,120}$",
        r"^(return to top|back to top|print this article)$",
        r"^(©|\(c\)|copyright)\s.{0,120}$",
    )
)


def normalize_text(text: str) -> str:
    """NFKC, no zero-width characters, single spaces, trimmed lines, no blank runs."""
    text = unicodedata.normalize("NFKC", text)
    text = _ZERO_WIDTH.sub("", text)
    lines = [_SPACES.sub(" ", line).strip() for line in text.splitlines()]
    return "\n".join(line for line in lines if line)


def is_boilerplate(text: str) -> bool:
    """True for a block that is site chrome, not article content."""
    return any(pattern.match(text) for pattern in BOILERPLATE)


def normalize_blocks(blocks: list[Block]) -> list[Block]:
    """Normalize each block; drop empty and boilerplate blocks."""
    kept: list[Block] = []
    for block in blocks:
        text = normalize_text(block.text)
        if not text or is_boilerplate(text):
            continue
        path = tuple(normalize_text(part) for part in block.section_path)
        kept.append(Block(kind=block.kind, text=text, section_path=path))
    return kept


def content_hash(title: str, blocks: list[Block] | tuple[Block, ...]) -> str:
    """SHA-256 of the normalized title and body: equal for exact duplicates in any format."""
    digest = hashlib.sha256(normalize_text(title).encode())
    for block in blocks:
        digest.update(b"\n")
        digest.update(block.text.encode())
    return digest.hexdigest()
