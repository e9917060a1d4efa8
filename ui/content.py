"""Content administration: the articles of the index per tenant; disable, enable, delete and restore them.

- **Disable** marks the article in ``<data_dir>/content-state.json`` (``retrieval.content``). Every search of
  every process sharing the data dir (console, API, widget) leaves it out from the next answer on; its chunks
  stay in the index, so **enable** brings it back at once.
- **Delete** removes the article for good: a tombstone is written first (so every process stops citing it at
  once), then its points leave the index and the Qdrant Edge shard is rewritten without them (segments and
  WAL), its manifest row goes, its chunks' vectors leave the embedding cache, the ingest cache entry of its
  source file is removed, and the recorded answers that quoted it are blanked (``feedback.content``). Its
  source file is not touched: deskpilot does not own the help-center folder. The tombstone (doc id, tenant,
  source path; never text) makes a later ``deskpilot ingest`` of a folder that still holds the file skip it,
  reported as skipped, until an admin **restores** it (or uploads it again from the console).

Every change needs the admin role, stays inside the admin's tenants, and is written to the audit log.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from feedback.content import scrub_article
from feedback.store import FeedbackStore
from ingest.cache import SourceCache
from ingest.metadata import MetadataError, html_meta, html_page_title, read_sidecar, split_front_matter
from ingest.records import ArticleMeta
from retrieval.content import ContentMark
from retrieval.sync import embedding_text_of
from ui.wiring import Retrieval

ADMIN = "admin"


class ContentError(ValueError):
    """A content action that cannot be done, with the reason (unknown article, wrong tenant, bad field)."""


class NotAllowed(PermissionError):
    """The caller lacks the admin role or the article's tenant."""


@dataclass(frozen=True)
class Article:
    """One indexed (or disabled) article as the admin page lists it."""

    doc_id: str
    tenant: str
    title: str
    url: str
    source: str
    locale: str
    product: str
    updated_at: str
    chunks: int
    state: str
    """``live`` or ``disabled``."""
    changed_by: str = ""
    changed_at: str = ""


@dataclass(frozen=True)
class Deletion:
    """What deleting an article removed."""

    doc_id: str
    tenant: str
    points: int
    embeddings: int
    cache_sources: int
    interactions_scrubbed: int
    edits_scrubbed: int
    source_file_exists: bool
    store_compacted: bool = False
    """SQLite only: the feedback store was rewritten and its WAL emptied (False: busy, or nothing to scrub)."""


@dataclass(frozen=True)
class Caller:
    """Who asks: the audit actor, the role and the tenants they may act on (None: all)."""

    actor: str
    role: str
    tenants: Collection[str] | None = None

    def require(self, tenant: str) -> None:
        """Raise NotAllowed unless an admin of ``tenant``."""
        if self.role != ADMIN:
            raise NotAllowed(f"{self.actor}: managing articles needs the admin role (not {self.role})")
        if self.tenants is not None and tenant not in self.tenants:
            raise NotAllowed(f"{self.actor}: the article belongs to tenant {tenant}, outside yours")


class ContentAdmin:
    """Lists and changes the articles of one opened index; ``lock`` is the one ingests hold while writing."""

    def __init__(self, retrieval: Retrieval, store: FeedbackStore, lock: threading.Lock | None = None) -> None:
        self.retrieval, self.store = retrieval, store
        self.lock = lock or threading.Lock()
        self.cache = SourceCache(retrieval.settings.ingest.data_dir / "cache")

    def articles(self, tenants: Collection[str] | None = None) -> list[Article]:
        """Every article of ``tenants`` (None: all) in the index, disabled ones included, by tenant and title."""
        manifest = self.retrieval.manifest.entries()
        marks = self.retrieval.content.marks()
        first: dict[str, dict[str, object]] = {}
        counts: dict[str, int] = {}
        for payload in self.retrieval.index.payloads():
            doc_id = str(payload.get("doc_id", ""))
            if tenants is not None and payload.get("tenant") not in tenants:
                continue
            counts[doc_id] = counts.get(doc_id, 0) + 1
            if doc_id not in first or int(str(payload.get("chunk_no", 0))) < int(str(first[doc_id]["chunk_no"])):
                first[doc_id] = payload
        out: list[Article] = []
        for doc_id, payload in first.items():
            mark = marks.get(doc_id)
            entry = manifest.get(doc_id)
            out.append(
                Article(
                    doc_id=doc_id,
                    tenant=str(payload.get("tenant", "")),
                    title=str(payload.get("title", "")),
                    url=str(payload.get("url", "")),
                    source=entry.source_path if entry else str(payload.get("source_path", "")),
                    locale=str(payload.get("locale", "")),
                    product=str(payload.get("product", "")),
                    updated_at=str(payload.get("updated_at", "")),
                    chunks=counts[doc_id],
                    state=mark.state if mark else "live",
                    changed_by=mark.by if mark else "",
                    changed_at=mark.at if mark else "",
                )
            )
        return sorted(out, key=lambda a: (a.tenant, a.title.lower(), a.doc_id))

    def deleted(self, tenants: Collection[str] | None = None) -> list[ContentMark]:
        """The tombstones of ``tenants`` (deleted articles a re-ingest skips), newest first."""
        marks = [m for m in self.retrieval.content.deleted().values() if tenants is None or m.tenant in tenants]
        return sorted(marks, key=lambda m: m.at, reverse=True)

    def _entry_tenant(self, doc_id: str) -> tuple[str, str]:
        entry = self.retrieval.manifest.entries().get(doc_id)
        if entry is None:
            raise ContentError(f"no indexed article has the id {doc_id!r}")
        return entry.tenant, entry.source_path

    def disable(self, doc_id: str, caller: Caller) -> ContentMark:
        """Leave the article out of every answer from the next one on (it stays indexed)."""
        tenant, source = self._entry_tenant(doc_id)
        caller.require(tenant)
        mark = self.retrieval.content.mark(doc_id, tenant, "disabled", caller.actor, source)
        self.store.record_audit_event(actor=caller.actor, action="content.disabled", tenant=tenant, target=doc_id)
        return mark

    def enable(self, doc_id: str, caller: Caller) -> None:
        """Let answers use a disabled article again."""
        mark = self.retrieval.content.marks().get(doc_id)
        if mark is None or mark.state != "disabled":
            raise ContentError(f"the article {doc_id!r} is not disabled")
        caller.require(mark.tenant)
        self.retrieval.content.clear([doc_id])
        self.store.record_audit_event(actor=caller.actor, action="content.enabled", tenant=mark.tenant, target=doc_id)

    def restore(self, doc_id: str, caller: Caller) -> None:
        """Lift a deleted article's tombstone: the next ingest of a folder holding its file indexes it again."""
        mark = self.retrieval.content.deleted().get(doc_id)
        if mark is None:
            raise ContentError(f"the article {doc_id!r} was not deleted")
        caller.require(mark.tenant)
        self.retrieval.content.clear([doc_id])
        self.store.record_audit_event(actor=caller.actor, action="content.restored", tenant=mark.tenant, target=doc_id)

    def delete(self, doc_id: str, caller: Caller) -> Deletion:
        """Remove the article from the index, the manifest, the caches and the recorded answers (module doc)."""
        tenant, source = self._entry_tenant(doc_id)
        caller.require(tenant)
        # The tombstone first: from here on no process cites it, whatever happens below.
        self.retrieval.content.mark(doc_id, tenant, "deleted", caller.actor, source)
        retrieval = self.retrieval
        with self.lock:
            entry = retrieval.manifest.entries().get(doc_id)
            point_ids = list(entry.point_ids) if entry else []
            keys = {
                retrieval.embedder.key(
                    embedding_text_of(str(p.get("title", "")), str(p.get("section", "")), str(p.get("text", "")))
                )
                for p in retrieval.index.payloads()
                if p.get("doc_id") == doc_id
            }
            # Forget first, then delete (as a sync does): a crash in between leaves orphans the next sync removes.
            retrieval.manifest.remove([doc_id])
            retrieval.index.delete(point_ids)
            retrieval.index.compact()
            embeddings = retrieval.embedder.cache.delete_many(sorted(keys)) if retrieval.embedder.cache else 0
        resolved = str(Path(source).resolve()) if source else ""
        purged = self.cache.purge(lambda cached: cached != resolved) if resolved else None
        scrubbed = scrub_article(self.store, tenant, doc_id)
        deletion = Deletion(
            doc_id=doc_id,
            tenant=tenant,
            points=len(point_ids),
            embeddings=embeddings,
            cache_sources=purged.sources if purged else 0,
            interactions_scrubbed=scrubbed.interactions,
            edits_scrubbed=scrubbed.edits,
            source_file_exists=bool(source) and Path(source).is_file(),
            store_compacted=scrubbed.compacted,
        )
        self.store.record_audit_event(
            actor=caller.actor,
            action="content.deleted",
            tenant=tenant,
            target=doc_id,
            details={
                "points": deletion.points,
                "embeddings": deletion.embeddings,
                "cache_sources": deletion.cache_sources,
                "interactions_scrubbed": deletion.interactions_scrubbed,
                "edits_scrubbed": deletion.edits_scrubbed,
                "source_file_exists": deletion.source_file_exists,
                "store_compacted": deletion.store_compacted,
            },
        )
        return deletion


# --- uploads -------------------------------------------------------------------------------------------------

_MD_HEADING = re.compile(r"^#\s+\S", re.MULTILINE)


def declared_meta(path: Path) -> ArticleMeta:
    """The title and URL a file declares itself (front matter, HTML meta tags and title, a sidecar); a Markdown
    file's first ``# heading`` counts as its title. Empty fields when it declares none."""
    suffix = path.suffix.lower()
    try:
        meta = read_sidecar(path)
    except MetadataError:
        meta = ArticleMeta()
    if suffix not in {".md", ".markdown", ".html", ".htm"}:
        return meta
    text = path.read_text(encoding="utf-8-sig", errors="replace")
    try:
        if suffix in {".md", ".markdown"}:
            front, body = split_front_matter(text, str(path))
            meta = front.merged_over(meta)
            if not meta.title and _MD_HEADING.search(body):
                meta = ArticleMeta(title="(first heading)").merged_over(meta)
        else:
            meta = html_meta(text, str(path)).merged_over(meta)
            if not meta.title and html_page_title(text):
                meta = ArticleMeta(title=html_page_title(text)).merged_over(meta)
    except MetadataError:
        return meta
    return meta


def check_public_url(url: str, field: str = "Public URL") -> str:
    """``url`` stripped, or ContentError naming ``field`` unless it is an absolute http(s) URL with a host."""
    url = url.strip()
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"} or not parts.netloc or " " in url:
        raise ContentError(
            f"{field}: {url!r} is not a public web address; give the article's full http:// or https:// URL"
        )
    return url


def upload_overrides(path: Path, title: str, url: str) -> ArticleMeta:
    """The title and URL an upload is ingested with: those typed in the form (checked) win; a field the file
    does not declare must be typed. A help-center JSON export carries its own per row. ContentError names the
    field that is missing or wrong."""
    title, url = title.strip(), url.strip()
    if path.suffix.lower() == ".json":
        return ArticleMeta(title=title or None, url=check_public_url(url) if url else None)
    declared = declared_meta(path)
    if not title and not declared.title:
        raise ContentError("Title: this file declares no title (no front matter or heading); enter one")
    if url:
        url = check_public_url(url)
    elif not declared.url:
        raise ContentError(
            "Public URL: this file declares no URL (no front matter); enter the address where customers read it"
        )
    else:
        check_public_url(declared.url, field="The file's url")
    return ArticleMeta(title=title or None, url=url or None)
