"""Content gaps: the lowest-confidence and escalated questions, grouped into topics.

Grouping is embedding clustering: each (redacted) question is embedded with the model the index already
uses (all-MiniLM-L6-v2 through the :class:`~retrieval.embedder.Embedder`, so nothing new is loaded and the
vectors land in the embedding cache), then clustered by average-linkage agglomerative clustering on cosine
distance (scipy). Each topic is labelled with its most distinctive words (class-based TF-IDF) and the
question closest to its centre.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from scipy.cluster.hierarchy import fcluster, linkage

from feedback.records import InteractionRecord
from ui.console.kpis import Dataset

Embed = Callable[[Sequence[str]], np.ndarray]
MAX_CHARS = 600
"""Only the start of a long ticket is embedded (the model reads 256 tokens at most anyway)."""

_PLACEHOLDER = re.compile(r"<[A-Z_]+>")
_WORD = re.compile(r"[^\W\d_]{3,}", re.UNICODE)
STOPWORDS = frozenset(
    """
    the and for you your with this that have has had was were are not but can cant could would should will
    our ours out all any how what when where which who why does did doing done get got just like also from into
    about there their they them then than too very some more most much many only own same other been being its
    it's i'm i've don't doesn't didn't won't isn't there's here hi hello thanks thank regards best please help
    need want know tried trying still again today tomorrow yesterday week month day time way one two three
    email mail message ticket support team account customer hey dear sir madam kind yes let sure ok okay
    und der die das ich sie ist nicht mit für auf ein eine einen dem den des wie was wir ihr mir mich bitte
    danke hallo grüße gruß viele
    """.split()
)


@dataclass(frozen=True)
class Topic:
    """A group of similar weak or escalated questions of one tenant."""

    tenant: str
    label: str
    example: str
    interactions: tuple[InteractionRecord, ...]
    escalated: int
    abstained: int
    down_votes: int
    mean_confidence: float
    top_sources: tuple[str, ...]
    """The documents retrieved first most often: where the missing content probably belongs (doc ids)."""
    top_titles: tuple[str, ...] = ()
    """Their titles, as answers cited them (or a readable name made from the file name, never a path)."""

    @property
    def size(self) -> int:
        """How many interactions the topic holds."""
        return len(self.interactions)


def weak_interactions(data: Dataset, low_confidence: float = 0.7) -> list[InteractionRecord]:
    """Interactions that abstained, scored below ``low_confidence``, were escalated or voted down."""
    escalated = {e.interaction_id for e in data.escalations}
    down = {v.interaction_id for v in data.votes if v.thumbs == "down"}
    return [
        i
        for i in data.interactions
        if i.abstained or i.confidence < low_confidence or i.id in escalated or i.id in down
    ]


def words(text: str) -> list[str]:
    """Lower-case content words of ``text`` (placeholders and stopwords removed)."""
    return [w for w in _WORD.findall(_PLACEHOLDER.sub(" ", text).lower()) if w not in STOPWORDS]


def _labels(groups: list[list[str]], top: int = 3) -> list[str]:
    """Class-based TF-IDF: the words frequent in a group and rare in the others ("" for a group with no words)."""
    counts = [Counter(w for text in group for w in words(text)) for group in groups]
    spread = Counter(w for c in counts for w in c)
    labels = []
    for c in counts:
        total = sum(c.values()) or 1
        scored = sorted(c, key=lambda w: (-(c[w] / total) * math.log(1 + len(groups) / spread[w]), w))
        labels.append(", ".join(scored[:top]))
    return labels


def readable_name(doc_id: str) -> str:
    """A document's name for people when no title is known: the file name without folders or extension."""
    stem = re.split(r"[/\\]", doc_id.split("?")[0].split("#")[0].rstrip("/\\"))[-1]
    stem = re.sub(r"\.(md|markdown|html?|txt|pdf|docx|eml|json)$", "", stem, flags=re.IGNORECASE)
    words_ = re.sub(r"[-_]+", " ", stem).strip()
    return words_[:1].upper() + words_[1:] if words_ else "untitled article"


def titles_of(data: Dataset) -> dict[str, str]:
    """The title of every document an answer in ``data`` cited (the latest citation's title wins)."""
    found: dict[str, str] = {}
    for i in sorted(data.interactions, key=lambda i: i.created_at):
        for c in i.citations:
            if c.title:
                found[c.doc_id] = c.title
    return found


def _cluster(vectors: np.ndarray, max_distance: float) -> list[list[int]]:
    """Row indexes of ``vectors`` grouped by average-linkage clustering on cosine distance."""
    if len(vectors) == 1:
        return [[0]]
    assignment = fcluster(linkage(vectors, method="average", metric="cosine"), t=max_distance, criterion="distance")
    members: dict[int, list[int]] = {}
    for index, cluster in enumerate(assignment.tolist()):
        members.setdefault(int(cluster), []).append(index)
    return list(members.values())


def topics(
    data: Dataset,
    embed: Embed,
    *,
    low_confidence: float = 0.7,
    max_distance: float = 0.55,
    limit: int = 400,
) -> list[Topic]:
    """The weak questions of ``data`` grouped into topics per tenant, in :func:`order`.

    ``max_distance`` is the average cosine distance at which two groups stop merging; ``limit`` caps how
    many of the weakest questions are clustered. A question with no content word (only greetings,
    stopwords or redaction placeholders) says nothing about what content is missing: it joins no topic.
    """
    weak = sorted(weak_interactions(data, low_confidence), key=lambda i: (i.confidence, str(i.id)))[:limit]
    escalated = Counter(e.interaction_id for e in data.escalations)
    down = Counter(v.interaction_id for v in data.votes if v.thumbs == "down")
    titles = titles_of(data)
    found: list[Topic] = []
    for tenant in sorted({i.tenant for i in weak}):
        mine = [i for i in weak if i.tenant == tenant and words(i.question)]
        if not mine:
            continue
        texts = [_PLACEHOLDER.sub(" ", i.question)[:MAX_CHARS] for i in mine]
        vectors = np.asarray(embed(texts), dtype=np.float64)
        groups = _cluster(vectors, max_distance)
        labels = _labels([[texts[i] for i in group] for group in groups])
        for group, label in zip(groups, labels, strict=True):
            centre = vectors[group].mean(axis=0)
            closest = group[int(np.argmax(vectors[group] @ centre))]
            items = tuple(mine[i] for i in group)
            firsts = Counter(i.source_doc_ids[0] for i in items if i.source_doc_ids)
            found.append(
                Topic(
                    tenant=tenant,
                    label=label,
                    example=texts[closest],
                    interactions=items,
                    escalated=sum(1 for i in items if escalated[i.id]),
                    abstained=sum(1 for i in items if i.abstained),
                    down_votes=sum(down[i.id] for i in items),
                    mean_confidence=sum(i.confidence for i in items) / len(items),
                    top_sources=tuple(doc for doc, _ in firsts.most_common(2)),
                    top_titles=tuple(titles.get(doc) or readable_name(doc) for doc, _ in firsts.most_common(2)),
                )
            )
    return sorted(found, key=order)


ORDER = "most escalated first, then most voted down, then most abstained, then the most questions"
"""How :func:`topics` orders its topics, in words (the dashboard's caption says this)."""


def order(topic: Topic) -> tuple[int, int, int, int, float, str, str]:
    """The sort key of :data:`ORDER` (then the least confident, then by tenant and label, so ties are stable)."""
    return (
        -topic.escalated,
        -topic.down_votes,
        -topic.abstained,
        -topic.size,
        topic.mean_confidence,
        topic.tenant,
        topic.label,
    )
