"""`deskpilot eval harvest`: grow the golden set from approved agent edits and thumbs-up answers.

An interaction is *approved* when an agent sent its draft (an edit record) and nobody voted it down, or
when it was voted up. Excluded: abstained answers, any interaction with a thumbs-down, shadow answers
(``shadow_of`` set), anonymized ones (retention blanked their texts), escalated ones (the answer did not
resolve the case) and drafts the agent rewrote beyond ``max_edit_ratio`` (the draft's citations no
longer describe what was sent).

Each approved interaction becomes one golden record in the format of ``data/samples/golden.jsonl``:
the (redacted) question, its cited articles graded ``2``, the reference answer (the *sent* text of an
edit, else the answer; greeting, opener, closing, signature and ``[n]`` markers removed, and passed
through the redactor again since agents type freely), tenant and locale. Questions are deduplicated by
normalized text within a tenant and against the hand-made golden set.

Every harvest is a complete snapshot written as ``harvest-vNNN.jsonl`` plus ``harvest-vNNN.manifest.json``
(next free number, never overwriting). A harvest whose content hash equals the latest version's writes
nothing. Question ids (``H-`` + a hash of tenant and normalized question) are stable across versions.
"""

from __future__ import annotations

import hashlib
import json
import re
import sys
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal
from uuid import UUID

from rich.console import Console
from rich.table import Table

from assistant.templates import PHRASINGS
from evals.datasets import GOLDEN, load_golden
from feedback.records import EditRecord, FeedbackRecord, InteractionRecord, utcnow
from feedback.store import FeedbackStore
from ui.console import kpis
from ui.settings import AppSettings
from ui.wiring import Retrieval

Redact = Callable[[str, str], str]
"""``(text, locale) -> text`` with PII replaced by typed placeholders."""
Signal = Literal["edit", "thumbs_up"]

FILE_PATTERN = re.compile(r"^harvest-v(\d{3,})\.(?:jsonl|manifest\.json)$")
DEFAULT_MAX_EDIT_RATIO = 0.5
EXCLUSIONS = (
    "anonymized",
    "shadow",
    "abstained",
    "voted_down",
    "escalated",
    "rewritten",
    "not_approved",
    "no_citations",
    "empty_text",
)

_MARKERS = re.compile(r"\s*\[\d+\]")
_GREETING = re.compile(
    r"^(hi|hello|hey|dear|good (morning|afternoon|evening)|hallo|guten (tag|morgen|abend)|liebe[rs]?|"
    r"sehr geehrte[rs]?)\b.{0,60}$",
    re.IGNORECASE,
)
_SIGNOFF = re.compile(
    r"^((best|kind|warm|warmest)\s+(regards|wishes)|regards|cheers|sincerely|thanks( again)?|many thanks|"
    r"thank you|(viele|beste|liebe|freundliche) grüße|mit freundlichen grüßen|ihr support-team)\b[,.!]?",
    re.IGNORECASE,
)
_CLOSING = re.compile(
    r"(let me know|just reply|reply to this|if anything|if you have (any )?(other |more |further )?questions|"
    r"feel free|hope (this|that) helps|wenn noch etwas|antworten sie einfach)",
    re.IGNORECASE,
)
_OPENER = re.compile(r"^(thanks|thank you|many thanks|vielen dank|danke)\b[^.!?]*[.!?]\s*", re.IGNORECASE)


@dataclass(frozen=True)
class SourceDoc:
    """What the index says about one document: its article id and locale."""

    article_id: str
    locale: str


def article_lookup(payloads: Iterable[Mapping[str, Any]]) -> dict[str, SourceDoc]:
    """Document id -> article id and locale, from index payloads (``VectorIndex.payloads()``)."""
    lookup: dict[str, SourceDoc] = {}
    for payload in payloads:
        doc_id = str(payload.get("doc_id") or "")
        if doc_id and doc_id not in lookup:
            lookup[doc_id] = SourceDoc(
                str(payload.get("article_id") or doc_id), str(payload.get("locale") or "").lower()
            )
    return lookup


def normalize_question(text: str) -> str:
    """The dedupe key of a question: NFKC, case-folded, punctuation and extra whitespace removed."""
    return " ".join(re.sub(r"[^\w]+", " ", unicodedata.normalize("NFKC", text).casefold()).split())


def question_id(tenant: str, question: str) -> str:
    """A stable id of a harvested question (the same in every version)."""
    digest = hashlib.sha256(f"{tenant}\x1f{normalize_question(question)}".encode()).hexdigest()
    return f"H-{digest[:12]}"


def _known(attribute: str) -> set[str]:
    return {getattr(p, attribute).strip().casefold() for p in PHRASINGS.values()}


def reply_body(text: str) -> str:
    """The answer inside an agent reply: greeting, opener, closing, signature and ``[n]`` markers removed.

    Works on drafts made by ``assistant.templates.agent_draft``, on what agents make of them (another
    greeting, their own sign-off) and on replies as sent (``assistant.render.sent_reply``: its Sources list
    is dropped too); a widget answer passes through with only its markers removed.
    """
    paragraphs = [p.strip() for p in re.split(r"\n\s*\n", text.strip()) if p.strip()]
    # A sent reply lists its cited articles ("Sources:" / "Quellen:" ...) before the closing: not the answer.
    paragraphs = [p for p in paragraphs if p.splitlines()[0].strip().casefold() not in _known("sources_label")]
    if paragraphs:
        first, _, rest = paragraphs[0].partition("\n")
        if first.strip().casefold() in _known("greeting") or (_GREETING.match(first.strip()) and len(first) <= 60):
            paragraphs[0] = rest.strip()
            paragraphs = [p for p in paragraphs if p]
    for n, paragraph in enumerate(paragraphs):
        if n > 0 and _SIGNOFF.match(paragraph.splitlines()[0].strip()):
            paragraphs = paragraphs[:n]
            break
    if len(paragraphs) > 1:
        last = paragraphs[-1]
        if last.casefold() in _known("closing") or (_CLOSING.search(last) and len(last.split()) <= 30):
            paragraphs = paragraphs[:-1]
    if paragraphs:
        head = paragraphs[0]
        for opener in sorted(_known("opener"), key=len, reverse=True):
            if head.casefold().startswith(opener):
                head = head[len(opener) :]
                break
        else:
            head = _OPENER.sub("", head, count=1)
        paragraphs[0] = head.strip()
    body = " ".join(p for p in paragraphs if p)
    return " ".join(_MARKERS.sub("", body).split())


def phrasing_locale(text: str) -> str | None:
    """The locale whose template phrases (greeting, opener, closing) ``text`` contains, if any."""
    folded = text.casefold()
    for locale, p in PHRASINGS.items():
        if any(phrase.casefold() in folded for phrase in (p.opener, p.closing, p.greeting.rstrip(","))):
            return locale
    return None


@dataclass(frozen=True)
class Origin:
    """Where a harvested example came from."""

    interaction_id: str
    signal: Signal
    channel: str
    created_at: str
    edit_ratio: float | None = None
    merged: tuple[str, ...] = ()
    """Other approved interactions with the same normalized question (dropped as duplicates)."""


@dataclass(frozen=True)
class HarvestItem:
    """One harvested golden example."""

    qid: str
    tenant: str
    locale: str | None
    question: str
    relevant: dict[str, int] = field(hash=False)
    reference_answer: str = ""
    origin: Origin | None = None

    def as_json(self) -> dict[str, Any]:
        """The golden.jsonl record (plus ``origin``, which the loader ignores)."""
        row: dict[str, Any] = {
            "qid": self.qid,
            "tenant": self.tenant,
            "locale": self.locale,
            "question": self.question,
            "answerable": True,
            "relevant": dict(sorted(self.relevant.items())),
            "reference_answer": self.reference_answer,
            "type": "harvested",
            "difficulty": "",
        }
        if self.origin is not None:
            o = self.origin
            row["origin"] = {
                "interaction_id": o.interaction_id,
                "signal": o.signal,
                "channel": o.channel,
                "created_at": o.created_at,
                "edit_ratio": None if o.edit_ratio is None else round(o.edit_ratio, 4),
                "merged": list(o.merged),
            }
        return row


@dataclass(frozen=True)
class HarvestResult:
    """What one harvest found and wrote. ``version``/``path`` are None when nothing new was written."""

    items: tuple[HarvestItem, ...]
    counts: dict[str, int]
    content_hash: str
    version: int | None
    path: Path | None
    manifest_path: Path | None
    latest: int | None
    """The newest version in the output dir after this run (the unchanged one when nothing was written)."""
    message: str

    @property
    def written(self) -> bool:
        """True when this run wrote a new version."""
        return self.path is not None

    def as_json(self) -> dict[str, Any]:
        """The CLI's ``--json`` summary."""
        return {
            "written": self.written,
            "version": self.version,
            "latest": self.latest,
            "path": str(self.path) if self.path else None,
            "manifest": str(self.manifest_path) if self.manifest_path else None,
            "content_hash": self.content_hash,
            "counts": self.counts,
            "message": self.message,
        }


@dataclass(frozen=True)
class _Candidate:
    item: HarvestItem
    key: tuple[str, str]
    rank: tuple[int, str]
    """Which duplicate wins: edits before votes, then the newest."""


def _latest_edit(edits: list[EditRecord]) -> EditRecord | None:
    return max(edits, key=lambda e: (e.created_at, str(e.id))) if edits else None


def _locale(interaction: InteractionRecord, articles: Mapping[str, SourceDoc], text: str) -> str | None:
    found = Counter(articles[c.doc_id].locale for c in interaction.citations if c.doc_id in articles)
    found.pop("", None)
    if found:
        return sorted(found.items(), key=lambda kv: (-kv[1], kv[0]))[0][0]
    return phrasing_locale(text)


def _candidate(
    interaction: InteractionRecord,
    votes: list[FeedbackRecord],
    edits: list[EditRecord],
    escalated: bool,
    articles: Mapping[str, SourceDoc],
    redact: Redact,
    max_edit_ratio: float,
    counts: Counter[str],
) -> _Candidate | str:
    """The golden candidate of one interaction, or the reason it is excluded (one of ``EXCLUSIONS``)."""
    if interaction.anonymized_at is not None:
        return "anonymized"
    if interaction.shadow_of is not None:
        return "shadow"
    if interaction.abstained:
        return "abstained"
    if any(v.thumbs == "down" for v in votes):
        return "voted_down"
    if escalated:
        return "escalated"
    edit = _latest_edit(edits)
    signal: Signal
    if edit is not None:
        if edit.ratio > max_edit_ratio:
            return "rewritten"
        signal, text = "edit", edit.sent
    elif any(v.thumbs == "up" for v in votes):
        signal, text = "thumbs_up", interaction.answer
    else:
        return "not_approved"
    relevant: dict[str, int] = {}
    for citation in interaction.citations:
        doc = articles.get(citation.doc_id)
        if doc is None:
            counts["unmapped_sources"] += 1
        relevant[doc.article_id if doc else citation.doc_id] = 2
    if not relevant:
        return "no_citations"
    locale = _locale(interaction, articles, interaction.answer)
    language = locale or "en"
    body = reply_body(text)
    reference = redact(body, language)
    question = redact(interaction.question, language).strip()
    if not reference or not question:
        return "empty_text"
    if reference != body:
        counts["reference_redacted"] += 1
    item = HarvestItem(
        qid=question_id(interaction.tenant, question),
        tenant=interaction.tenant,
        locale=locale,
        question=question,
        relevant=relevant,
        reference_answer=reference,
        origin=Origin(
            interaction_id=str(interaction.id),
            signal=signal,
            channel=interaction.channel,
            created_at=interaction.created_at.isoformat(),
            edit_ratio=edit.ratio if edit is not None else None,
        ),
    )
    rank = (1 if signal == "edit" else 0, interaction.created_at.isoformat())
    return _Candidate(item, (interaction.tenant, normalize_question(question)), rank)


def golden_keys(path: Path | None) -> set[tuple[str, str]]:
    """(tenant, normalized question) of every question in the golden file at ``path`` (none if no file)."""
    if path is None or not path.is_file():
        return set()
    return {(q.tenant, normalize_question(q.text)) for q in load_golden(path).queries}


def collect(
    store: FeedbackStore,
    *,
    redact: Redact,
    articles: Mapping[str, SourceDoc] | None = None,
    tenant: str | None = None,
    since: datetime | None = None,
    golden: Path | None = GOLDEN,
    max_edit_ratio: float = DEFAULT_MAX_EDIT_RATIO,
) -> tuple[tuple[HarvestItem, ...], dict[str, int]]:
    """The deduplicated golden examples of the store's approved interactions, and what was counted."""
    data = kpis.load(store, tenant, since)
    counts: Counter[str] = Counter({name: 0 for name in EXCLUSIONS})
    counts["interactions"] = len(data.interactions)
    winners: dict[tuple[str, str], _Candidate] = {}
    merged: dict[tuple[str, str], list[str]] = {}
    known = golden_keys(golden)
    votes: defaultdict[UUID, list[FeedbackRecord]] = defaultdict(list)
    for vote in data.votes:
        votes[vote.interaction_id].append(vote)
    edits: defaultdict[UUID, list[EditRecord]] = defaultdict(list)
    for edit in data.edits:
        edits[edit.interaction_id].append(edit)
    escalated = {e.interaction_id for e in data.escalations if e.interaction_id is not None}
    for interaction in data.interactions:
        outcome = _candidate(
            interaction,
            votes[interaction.id],
            edits[interaction.id],
            interaction.id in escalated,
            articles or {},
            redact,
            max_edit_ratio,
            counts,
        )
        if isinstance(outcome, str):
            counts[outcome] += 1
            continue
        counts["approved"] += 1
        counts[f"approved_{outcome.item.origin.signal if outcome.item.origin else 'edit'}"] += 1
        if outcome.key in known:
            counts["duplicate_of_golden"] += 1
            continue
        current = winners.get(outcome.key)
        if current is not None:
            counts["duplicate_in_tenant"] += 1
            loser = min(current, outcome, key=lambda c: c.rank)
            merged.setdefault(outcome.key, []).append(loser.item.origin.interaction_id if loser.item.origin else "")
            outcome = max(current, outcome, key=lambda c: c.rank)
        winners[outcome.key] = outcome
    items = []
    for key, candidate in winners.items():
        item = candidate.item
        if item.origin is not None and key in merged:
            origin = Origin(**{**item.origin.__dict__, "merged": tuple(sorted(merged[key]))})
            item = HarvestItem(**{**item.__dict__, "origin": origin})
        items.append(item)
    items.sort(key=lambda i: (i.tenant, i.qid))
    counts["examples"] = len(items)
    return tuple(items), dict(counts)


def to_jsonl(items: Iterable[HarvestItem]) -> bytes:
    """The harvested examples as golden.jsonl bytes (one record a line, stable order and formatting)."""
    return "".join(json.dumps(i.as_json(), ensure_ascii=False) + "\n" for i in items).encode("utf-8")


def versions(out_dir: Path) -> list[int]:
    """The harvest versions present in ``out_dir`` (by data or manifest file), oldest first."""
    if not out_dir.is_dir():
        return []
    found = {int(m.group(1)) for p in out_dir.iterdir() if (m := FILE_PATTERN.match(p.name))}
    return sorted(found)


def file_name(version: int, manifest: bool = False) -> str:
    """``harvest-v001.jsonl`` / ``harvest-v001.manifest.json``."""
    return f"harvest-v{version:03d}." + ("manifest.json" if manifest else "jsonl")


def _latest_hash(out_dir: Path, version: int) -> str | None:
    manifest = out_dir / file_name(version, manifest=True)
    if manifest.is_file():
        try:
            return str(json.loads(manifest.read_text(encoding="utf-8")).get("content_hash") or "") or None
        except (json.JSONDecodeError, AttributeError):
            pass
    data = out_dir / file_name(version)
    return hashlib.sha256(data.read_bytes()).hexdigest() if data.is_file() else None


def harvest(
    store: FeedbackStore,
    out_dir: Path,
    *,
    redact: Redact,
    articles: Mapping[str, SourceDoc] | None = None,
    tenant: str | None = None,
    since: datetime | None = None,
    golden: Path | None = GOLDEN,
    max_edit_ratio: float = DEFAULT_MAX_EDIT_RATIO,
    now: datetime | None = None,
) -> HarvestResult:
    """Harvest the store into the next ``harvest-vNNN.jsonl`` of ``out_dir``, unless nothing changed.

    ``articles`` maps document ids to article ids (see :func:`article_lookup`); documents missing from it
    are judged by their document id. ``golden`` is the hand-made set to deduplicate against.
    """
    if not 0 <= max_edit_ratio <= 1:
        raise ValueError(f"max_edit_ratio must be within 0..1, got {max_edit_ratio}")
    items, counts = collect(
        store,
        redact=redact,
        articles=articles,
        tenant=tenant,
        since=since,
        golden=golden,
        max_edit_ratio=max_edit_ratio,
    )
    payload = to_jsonl(items)
    digest = hashlib.sha256(payload).hexdigest()
    present = versions(out_dir)
    latest = present[-1] if present else None
    if not items:
        return HarvestResult(items, counts, digest, None, None, None, latest, "no approved examples: nothing written")
    if latest is not None and _latest_hash(out_dir, latest) == digest:
        return HarvestResult(
            items,
            counts,
            digest,
            None,
            None,
            None,
            latest,
            f"unchanged since {file_name(latest)}: nothing written",
        )
    out_dir.mkdir(parents=True, exist_ok=True)
    version = (latest or 0) + 1
    path, manifest_path = out_dir / file_name(version), out_dir / file_name(version, manifest=True)
    manifest = {
        "version": version,
        "file": path.name,
        "created_at": (now or utcnow()).isoformat(timespec="seconds"),
        "content_hash": digest,
        "previous_version": latest,
        "counts": counts,
        "filters": {
            "tenant": tenant,
            "since": since.isoformat() if since else None,
            "max_edit_ratio": max_edit_ratio,
        },
        "deduplicated_against": str(golden) if golden is not None else None,
        "source_interaction_ids": [i.origin.interaction_id for i in items if i.origin],
    }
    # "x": an earlier version is never overwritten, even by a concurrent harvest that picked the same number.
    with path.open("xb") as handle:
        handle.write(payload)
    with manifest_path.open("x", encoding="utf-8") as handle:
        handle.write(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n")
    return HarvestResult(
        items,
        counts,
        digest,
        version,
        path,
        manifest_path,
        version,
        f"wrote {path.name}: {len(items)} examples",
    )


def parse_when(value: str | None, option: str, *, end: bool = False) -> datetime | None:
    """``--since``/``--until`` as an aware UTC datetime: an ISO date (midnight UTC) or datetime (UTC if naive).

    With ``end`` a bare date means the end of that day (so ``--until 2026-03-31`` includes 31 March).
    """
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(f"{option} must be an ISO date such as 2026-03-01 or a datetime, not {value!r}") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    if end and len(value) == 10:
        parsed += timedelta(days=1)
    return parsed


def main(
    settings: AppSettings,
    *,
    out: Path | None = None,
    tenant: str | None = None,
    since: str | None = None,
    max_edit_ratio: float = DEFAULT_MAX_EDIT_RATIO,
    as_json: bool = False,
    console: Console | None = None,
) -> int:
    """`deskpilot eval harvest`: harvest the configured store; the exit code (0 also when unchanged)."""
    console = console or Console()
    err = Console(stderr=True, soft_wrap=True)
    try:
        since_at = parse_when(since, "--since")
    except ValueError as exc:
        err.print(f"error: {exc}", markup=False)
        return 2
    out_dir = out or settings.feedback.data_dir / "golden"
    with FeedbackStore.open(settings.feedback) as store, Retrieval(settings) as retrieval:
        try:
            articles = article_lookup(retrieval.index.payloads())
        except Exception as exc:  # the embedded index is locked by a running server, or unreadable
            err.print(
                f"error: cannot read the index in {settings.retrieval.data_dir} to map cited documents to article "
                f"ids ({type(exc).__name__}: {exc}); stop the server using this data dir, or harvest from a copy",
                markup=False,
            )
            return 1
        try:
            result = harvest(
                store,
                out_dir,
                redact=retrieval.redact,
                articles=articles,
                tenant=tenant,
                since=since_at,
                max_edit_ratio=max_edit_ratio,
            )
        except ValueError as exc:
            err.print(f"error: {exc}", markup=False)
            return 2
    if as_json:
        sys.stdout.write(json.dumps(result.as_json(), indent=2) + "\n")
        return 0
    table = Table(title=f"eval harvest ({out_dir})")
    table.add_column("what")
    table.add_column("count", justify="right")
    for name, count in result.counts.items():
        table.add_row(name.replace("_", " "), str(count))
    console.print(table)
    console.print(result.message, markup=False)
    if result.path is not None:
        console.print(f"evaluate it: deskpilot eval run --golden {result.path}", markup=False, soft_wrap=True)
    return 0
