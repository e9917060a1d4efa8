"""Admin page: index stats and ingest runs, ingest an uploaded file, feature flags, API keys, spool and audit."""

from __future__ import annotations

import re
import tempfile
from collections import Counter
from pathlib import Path

import pandas as pd
import streamlit as st

from feedback.records import utcnow
from feedback.store import UnknownApiKey
from ingest.records import ArticleMeta
from ui.api.roles import Role
from ui.console import auth, view
from ui.console.articles import articles_tab, playground_tab
from ui.console.flags import FLAG_HELP, change_flags
from ui.console.ingestlog import IngestRunRecord
from ui.console.resources import Services, services
from ui.content import ContentError, upload_overrides
from ui.wiring import ingest_paths

UPLOAD_TYPES = ["md", "markdown", "html", "htm", "txt", "pdf", "docx", "eml", "json"]


def _scope(identity: auth.Identity, svc: Services) -> list[str]:
    return identity.tenants(svc.tenants())


def index_tab(svc: Services, identity: auth.Identity) -> None:
    """Points and documents per tenant, locale and product; the documents in the manifest."""
    stats = svc.index_stats()
    tenants = set(_scope(identity, svc))
    entries = [e for e in svc.retrieval.manifest.entries().values() if e.tenant in tenants]
    cols = st.columns(4)
    cols[0].metric("Chunks (all tenants)", f"{stats.points:,}", border=True)
    cols[1].metric("Documents (all tenants)", f"{stats.documents:,}", border=True)
    cols[2].metric("Documents (yours)", f"{len(entries):,}", border=True)
    cols[3].metric("Index version", svc.retrieval.manifest.version(), border=True)
    st.caption(f"{stats.backend} index at {stats.location}")
    facets = st.columns(3)
    for col, (facet, counts) in zip(
        facets, (("tenant", stats.by_tenant), ("locale", stats.by_locale), ("product", stats.by_product)), strict=True
    ):
        with col:
            frame = pd.DataFrame([{facet: k or "(none)", "chunks": v} for k, v in counts.items()])
            st.dataframe(frame, hide_index=True, width="stretch")
    by_tenant = Counter(e.tenant for e in entries)
    st.markdown(f"**Documents** ({', '.join(f'{t}: {n}' for t, n in sorted(by_tenant.items()))})")
    docs = pd.DataFrame(
        [
            {"document": e.doc_id, "tenant": e.tenant, "chunks": len(e.point_ids), "source": e.source_path}
            for e in sorted(entries, key=lambda e: e.doc_id)
        ],
        columns=["document", "tenant", "chunks", "source"],
    )
    st.dataframe(docs, hide_index=True, width="stretch", height=320)


def _safe_name(name: str) -> str:
    stem = re.sub(r"[^A-Za-z0-9._-]+", "-", name.rsplit("/", 1)[-1]).strip(".-")
    return stem or "upload.txt"


def ingest_tab(svc: Services, identity: auth.Identity) -> None:
    """Upload one file and ingest it for a tenant; the runs started here."""
    tenants = _scope(identity, svc)
    with st.form("ingest_form", clear_on_submit=True):
        upload = st.file_uploader("File to ingest", type=UPLOAD_TYPES, key="ingest_file")
        cols = st.columns(3)
        tenant = cols[0].selectbox("Tenant", tenants, key="ingest_tenant")
        product = cols[1].text_input("Product (optional)", key="ingest_product")
        locale = cols[2].text_input("Locale (optional)", key="ingest_locale", placeholder="en")
        meta = st.columns(2)
        title = meta[0].text_input(
            "Title", key="ingest_title", help="Required when the file has no front matter, meta tags or heading."
        )
        url = meta[1].text_input(
            "Public URL",
            key="ingest_url",
            placeholder="https://help.example.com/articles/...",
            help="Where customers read the article; answers link to it. Required when the file declares none.",
        )
        st.caption("Title and URL typed here win over the file's own; a file without front matter needs both.")
        submitted = st.form_submit_button("Ingest", key="ingest_submit", type="primary", icon=":material/upload_file:")
    if submitted:
        if upload is None or tenant is None:
            st.error("Choose a file and a tenant first.")
        else:
            _ingest(
                svc,
                identity,
                str(tenant),
                upload.name,
                upload.getvalue(),
                product or None,
                locale or None,
                title=title or "",
                url=url or "",
            )
    st.markdown("**Ingest runs started from the console**")
    runs = [r for r in svc.ingest_log.runs() if identity.may_see(r.tenant)]
    if not runs:
        st.caption("None yet. Runs of `deskpilot ingest` are reported on its command line, not here.")
        return
    st.dataframe(
        pd.DataFrame(
            [
                {
                    "at": r.at.strftime("%Y-%m-%d %H:%M"),
                    "by": r.actor,
                    "tenant": r.tenant,
                    "files": ", ".join(r.files),
                    "documents": r.documents,
                    "chunks added": r.chunks_added,
                    "updated": r.chunks_updated,
                    "deleted": r.chunks_deleted,
                    "unchanged": r.chunks_unchanged,
                    "duplicates": r.duplicates,
                    "skipped": "; ".join(r.skipped),
                    "seconds": r.seconds,
                }
                for r in runs
            ]
        ),
        hide_index=True,
        width="stretch",
    )


def _ingest(
    svc: Services,
    identity: auth.Identity,
    tenant: str,
    name: str,
    content: bytes,
    product: str | None,
    locale: str | None,
    *,
    title: str = "",
    url: str = "",
) -> None:
    """Ingest the upload (named after its tenant, so ids never collide) from a temporary folder outside the data
    dir, removed afterwards: the data dir keeps only its redacted chunks, never the file as uploaded. A file that
    declares no title or URL needs them typed in the form (``ui.content.upload_overrides``)."""
    with tempfile.TemporaryDirectory(prefix="deskpilot-upload-") as folder:
        path = Path(folder) / f"{tenant}-{_safe_name(name)}"
        path.write_bytes(content)
        try:
            declared = upload_overrides(path, title, url)
        except ContentError as exc:
            st.error(f"{name} was not ingested. {exc}")
            return
        # An upload is the admin's decision: it lifts a tombstone a delete left on the same article.
        if path.name in svc.retrieval.content.deleted() and svc.retrieval.content.clear([path.name]):
            svc.store.record_audit_event(
                actor=identity.actor,
                action="content.restored",
                tenant=tenant,
                target=path.name,
                details={"by": "upload"},
            )
        _ingest_file(svc, identity, tenant, name, path, product, locale, declared)


def _ingest_file(
    svc: Services,
    identity: auth.Identity,
    tenant: str,
    name: str,
    path: Path,
    product: str | None,
    locale: str | None,
    declared: ArticleMeta | None = None,
) -> None:
    with st.status(f"Ingesting {name} for {tenant}…", expanded=True) as status:
        progress = st.empty()

        def report(stage: str, done: int, total: int) -> None:
            progress.caption(f"{stage}: {done}/{total}")

        with svc.index_lock:
            run = ingest_paths(
                [path],
                svc.settings,
                ArticleMeta(
                    tenant=tenant,
                    product=product,
                    locale=locale,
                    title=declared.title if declared else None,
                    url=declared.url if declared else None,
                ),
                progress=report,
                pipeline=svc.pipeline(),
                retrieval=svc.retrieval,
            )
        record = IngestRunRecord.of(run, at=utcnow(), actor=identity.actor, tenant=tenant, files=[path.name])
        svc.ingest_log.append(record)
        if run.result.skipped:
            status.update(label=f"{name} was skipped", state="error")
            for skipped in run.result.skipped:
                st.error(view.literal(skipped.reason))
        else:
            status.update(label=f"Ingested {name}", state="complete")
            st.success(
                f"{record.documents} document(s): {record.chunks_added} chunks added, {record.chunks_updated} "
                f"updated, {record.chunks_deleted} deleted, {record.chunks_unchanged} unchanged "
                f"in {record.seconds:.1f} s. Answers use it at once."
            )


def flags_tab(svc: Services, identity: auth.Identity) -> None:
    """Per-tenant feature flags and kill switches."""
    st.info(
        "A change takes effect on the next answer, in the console and the API alike, and is written to the audit "
        "log. `DESKPILOT_LLM_ENABLED=false` still turns the LLM off for every tenant.",
        icon=":material/info:",
    )
    for tenant in _scope(identity, svc):
        current = svc.flags.get(tenant)
        with st.form(f"flags:{tenant}"):
            st.markdown(f"**{tenant}**")
            values = {
                name: st.toggle(
                    name.replace("_", " "), value=getattr(current, name), help=text, key=f"flag:{tenant}:{name}"
                )
                for name, text in FLAG_HELP.items()
            }
            if current.updated_at:
                st.caption(f"Last changed {current.updated_at:%Y-%m-%d %H:%M} by {current.updated_by}")
            if st.form_submit_button("Save", key=f"flags_submit:{tenant}", icon=":material/save:"):
                change_flags(svc.flags, svc.store, tenant, values, identity.actor)
                st.toast(f"Flags of {tenant} saved")
                st.rerun()


def keys_tab(svc: Services, identity: auth.Identity) -> None:
    """API keys: list, create (shown once), revoke."""
    tenants = _scope(identity, svc)
    keys = [k for k in svc.store.list_api_keys() if identity.may_see(k.tenant)]
    created = st.session_state.pop("created_key", None)
    if created:
        st.success("New key created. Copy it now: it is stored only as a hash and cannot be shown again.")
        st.code(created, language=None)
    st.dataframe(
        pd.DataFrame(
            [
                {
                    "id": k.id,
                    "tenant": k.tenant,
                    "role": k.role,
                    "name": k.name,
                    "created": k.created_at.strftime("%Y-%m-%d %H:%M"),
                    "last used": k.last_used_at.strftime("%Y-%m-%d %H:%M") if k.last_used_at else "",
                    "state": "active" if k.active else f"revoked {k.revoked_at:%Y-%m-%d}",
                }
                for k in keys
            ],
            columns=["id", "tenant", "role", "name", "created", "last used", "state"],
        ),
        hide_index=True,
        width="stretch",
    )
    left, right = st.columns(2, gap="medium")
    with left, st.form("create_key", clear_on_submit=True):
        st.markdown("**Create a key**")
        tenant = st.selectbox("Tenant", tenants, key="key_tenant")
        role = st.selectbox("Role", [r.value for r in Role], key="key_role", help="widget keys are public-safe")
        name = st.text_input("What it is for", key="key_name", placeholder="help-center widget")
        if st.form_submit_button("Create key", key="create_key_submit", icon=":material/key:"):
            if not (name or "").strip() or tenant is None:
                st.error("Give the key a name.")
            else:
                _, plaintext = svc.store.create_api_key(
                    str(tenant), str(role), (name or "").strip(), actor=identity.actor
                )
                st.session_state["created_key"] = plaintext
                st.rerun()
    with right, st.form("revoke_key"):
        st.markdown("**Revoke a key**")
        active = [k for k in keys if k.active]
        choice = st.selectbox(
            "Key",
            [k.id for k in active],
            format_func=lambda i: next(f"{k.id} · {k.tenant} · {k.role} · {k.name}" for k in active if k.id == i),
            key="revoke_choice",
            index=None,
            placeholder="Choose a key",
        )
        if st.form_submit_button("Revoke", key="revoke_submit", icon=":material/block:") and choice:
            try:
                svc.store.revoke_api_key(
                    str(choice), actor=identity.actor, tenant=None if identity.all_tenants else identity.tenant
                )
            except UnknownApiKey as exc:
                st.error(str(exc))
            else:
                st.toast(f"Key {choice} revoked; APIs refuse it at once (in other processes with DESKPILOT_REDIS_URL)")
                st.rerun()


def operations_tab(svc: Services, identity: auth.Identity) -> None:
    """The write spool (kept while the database was down) and the newest audit events."""
    pending = svc.writer.spool.pending()
    waiting = sum(pending.values())
    cols = st.columns([1, 3])
    cols[0].metric("Spooled writes", waiting, border=True)
    with cols[1]:
        st.caption(
            "Writes wait in the local spool while the feedback database is unreachable and are replayed in order."
        )
        if st.button("Replay now", key="replay", disabled=not waiting, icon=":material/replay:"):
            report = svc.writer.replay(limit=10_000)
            st.toast(f"{report.stored} stored, {report.remaining} remaining")
    st.markdown("**Audit log (newest first)**")
    tenant = None if identity.all_tenants else identity.tenant
    events = svc.store.list_audit_events(tenant, page_size=50).items
    st.dataframe(
        pd.DataFrame(
            [
                {
                    "seq": e.seq,
                    "at": e.at.strftime("%Y-%m-%d %H:%M:%S"),
                    "actor": e.actor,
                    "action": e.action,
                    "tenant": e.tenant,
                    "target": e.target,
                }
                for e in events
            ],
            columns=["seq", "at", "actor", "action", "tenant", "target"],
        ),
        hide_index=True,
        width="stretch",
    )


def main() -> None:
    """The admin page."""
    identity = auth.require({Role.admin})
    svc = services()
    st.title("Admin", anchor=False)
    tabs = st.tabs(["Articles", "Playground", "Index", "Ingest", "Feature flags", "API keys", "Spool & audit"])
    with tabs[0]:
        articles_tab(svc, identity)
    with tabs[1]:
        playground_tab(svc, identity)
    with tabs[2]:
        index_tab(svc, identity)
    with tabs[3]:
        ingest_tab(svc, identity)
    with tabs[4]:
        flags_tab(svc, identity)
    with tabs[5]:
        keys_tab(svc, identity)
    with tabs[6]:
        operations_tab(svc, identity)


main()
