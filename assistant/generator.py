"""The one small interface every answer generator implements."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Protocol

from assistant.records import Channel, Draft, Source


class GenerationError(RuntimeError):
    """A generator could not produce a draft (timeout, endpoint down, breaker open, empty output)."""


class Generator(Protocol):
    """Turns a question and numbered sources into a draft whose sentences claim ``[n]`` citations."""

    name: str

    def generate(self, question: str, sources: Sequence[Source], channel: Channel, locale: str) -> Draft:
        """A complete draft; raises GenerationError when it cannot."""
        ...


class StreamingGenerator(Generator, Protocol):
    """A generator that can also stream its raw text as it is produced."""

    def stream(self, question: str, sources: Sequence[Source], channel: Channel, locale: str) -> Iterator[str]:
        """Text deltas; joined, they are the raw text a Draft is parsed from. Raises GenerationError."""
        ...
