"""Prompt-injection screening of questions and retrieved text, and the output PII filter.

Help-center text and questions are data, never instructions. The screen looks for text aimed at an
AI (instructions to ignore rules, role play, requests for the system prompt, "notes to AI agents")
and for text hidden from human readers (zero-width or bidi control characters).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection
from dataclasses import dataclass

from assistant.text import split_sentences

_PATTERNS: dict[str, str] = {
    "ignore_instructions": r"\b(ignore|disregard|forget|override|overrides|bypass)\b[^.\n]{0,40}\b(instructions?|rules|guidelines|policy|policies|prompt|guardrails)\b|\bnew instructions?\s+(from|for)\b",
    "addressed_to_ai": r"\b(note|message|instruction)s?\s+(for|to)\s+(the\s+)?(ai|llm|assistant|chatbot|bot|model)s?\b|\b(ai|llm)\s+(assistants?|agents?|models?|chatbots?)\s*[:,]|\bai assistants? and chatbots\b",
    "system_override": r"\b(system|admin|developer)\s+(override|note)\b|\bdeveloper mode\b|\bsystem message\b|^\s*\[?(system|assistant)\s*:|</?\s*(system|instructions?|question|prompt|context)\s*>",
    "role_play": r"\byou\s+are\s+now\b|\byou are (a |an )?(dan|unfiltered|jailbroken)\b|\bpretend\b|\bact as (an? )?(ai|assistant|bot|chatbot|unfiltered|different)\b|\brole[- ]?play\b|\bfrom now on,?\s+(you\s+(are|must|shall)|act|respond|reply|answer|ignore|always|never|append|only|speak|talk|behave)\b|\bjailbreak|\bDAN\b|\bdo anything now\b|\bno (rules|restrictions|filters)\b(?!\s+violations?)|\bunfiltered\b|\blet'?s play a game\b",
    "prompt_extraction": r"\b(reveal|show|print|repeat|output|paste|translate|summari[sz]e|list|tell me|give me|what (is|are))\b[^.\n]{0,40}\b(system prompt|(your|the) (hidden |full |initial )?(instructions|prompt|rules|guidelines|configuration)|hidden (prompt|instructions)|initial prompt|rules you (follow|were given)|everything above|raw text of every)\b|\binstructions did\b[^.\n]{0,40}\bgive you\b|\bprint the word\b",
    "personal_data_request": r"\b(his|her|their)\s+(e-?mail|phone|home|direct|personal|contact|delivery)\b|\bwho was the customer\b|\bwhich customers\b|\banother customer'?s?\b[^.\n]{0,60}\b(e-?mail|phone|address|card|invoices?)\b|\bwhat card did\b",
    "concealment": r"\bdo not (mention|reveal|tell)\b[^.\n]{0,30}\b(this|these) (note|instruction|message)s?\b",
}
_COMPILED = {name: re.compile(pattern, re.IGNORECASE | re.MULTILINE) for name, pattern in _PATTERNS.items()}
# Zero-width and bidirectional control characters hide text from people while a model still reads it.
_HIDDEN = re.compile("[\u200b\u200c\u200d\u2060\u2062\u2063\u2064\ufeff\u202a-\u202e\u2066-\u2069]")


@dataclass(frozen=True)
class Screening:
    """What the screen found in one text: the kinds of attack and the sentences that carry them."""

    findings: tuple[str, ...]
    suspicious: tuple[str, ...]
    clean_text: str

    @property
    def flagged(self) -> bool:
        """True when anything suspicious was found."""
        return bool(self.findings)


SOURCE_KINDS = tuple(name for name in _PATTERNS if name != "personal_data_request")
"""What a retrieved article is screened for: instructions aimed at the model. Asking for someone's data is
what a question does; an article saying "enter their email addresses" asks nothing."""


def screen(text: str, kinds: Collection[str] | None = None) -> Screening:
    """Find injection attempts of ``kinds`` (None: every kind); ``clean_text`` is ``text`` without the
    suspicious sentences."""
    findings: list[str] = []
    if _HIDDEN.search(text):
        findings.append("hidden_text")
    visible = _HIDDEN.sub("", text)
    kept, suspicious = [], []
    for sentence in split_sentences(visible):
        found = [name for name, rx in _COMPILED.items() if (kinds is None or name in kinds) and rx.search(sentence)]
        if found:
            suspicious.append(sentence)
            findings.extend(k for k in found if k not in findings)
        else:
            kept.append(sentence)
    return Screening(tuple(findings), tuple(suspicious), " ".join(kept))


Redact = Callable[[str], str]


def filter_output_pii(text: str, redact: Redact) -> tuple[str, bool]:
    """The answer with any PII replaced by typed placeholders, and whether anything was replaced."""
    redacted = redact(text)
    return redacted, redacted != text
