"""The admin page's content sections: the articles of the index (disable, enable, delete, restore) and the
playground, where an admin asks as a tenant's widget would without recording anything."""

from __future__ import annotations

import html
from datetime import datetime

import pandas as pd
import streamlit as st

from assistant.records import Answer, Question
from ui.console import auth, view
from ui.console.resources import Services
from ui.content import Article, Caller, ContentError, NotAllowed

STATE_LABEL = {"live": "live", "disabled": "disabled"}


def _caller(identity: auth.Identity, svc: Services) -> Caller:
    return Caller(
        identity.actor, identity.role.value, None if identity.all_tenants else identity.tenants(svc.tenants())
    )


def _when(value: str) -> str:
    if not value:
        return ""
    try:
        return datetime.fromisoformat(value).strftime("%Y-%m-%d")
    except ValueError:
        return value[:10]


def _label(article: Article) -> str:
    return f"{article.title} · {article.tenant} · {article.doc_id}"


def articles_tab(svc: Services, identity: auth.Identity) -> None:
    """Every article of the admin's tenants with its source, locale, update time, chunks and state; actions."""
    content = svc.content()
    tenants = identity.tenants(svc.tenants())
    flash = st.session_state.pop("content_flash", None)
    if flash:
        st.success(flash)
    cols = st.columns([1, 2, 1])
    tenant = cols[0].selectbox("Tenant", ["All tenants", *tenants], key="articles_tenant")
    needle = cols[1].text_input("Find", key="articles_find", placeholder="title or source")
    shown_state = cols[2].selectbox("State", ["all", "live", "disabled"], key="articles_state")
    scope = tenants if tenant == "All tenants" else [str(tenant)]
    articles = [
        a
        for a in sorted(content.articles(scope), key=lambda a: a.state == "live")  # disabled ones first
        if (shown_state == "all" or a.state == shown_state)
        and (not needle or needle.lower() in f"{a.title} {a.doc_id}".lower())
    ]
    disabled = sum(a.state == "disabled" for a in articles)
    st.caption(
        f"{len(articles)} article(s), {disabled} disabled. A disabled article is left out of every answer (console, "
        "API and widget) from the next one on and stays indexed; a deleted one leaves the index, the manifest, the "
        "caches and the recorded answers (see docs/governance.md)."
    )
    st.dataframe(
        pd.DataFrame(
            [
                {
                    "title": a.title,
                    "source": a.doc_id,
                    "tenant": a.tenant,
                    "locale": a.locale,
                    "updated": _when(a.updated_at),
                    "chunks": a.chunks,
                    "state": a.state,
                    "disabled by": f"{a.changed_by.removeprefix('console:')} · {_when(a.changed_at)}"
                    if a.state != "live"
                    else "",
                    "link": a.url if a.url.startswith(("http://", "https://")) else None,
                }
                for a in articles
            ],
            columns=["title", "source", "tenant", "locale", "updated", "chunks", "state", "disabled by", "link"],
        ),
        hide_index=True,
        width="stretch",
        height=min(420, 38 + 35 * max(len(articles), 1)),
        column_config={
            # Widths that fit a laptop screen without a horizontal scrollbar; a long source shows whole on hover.
            "title": st.column_config.TextColumn("title", width=290),
            "source": st.column_config.TextColumn("source", width=320),
            "tenant": st.column_config.TextColumn("tenant", width=90),
            "locale": st.column_config.TextColumn("locale", width=55),
            "updated": st.column_config.TextColumn("updated", width=90),
            "chunks": st.column_config.NumberColumn("chunks", format="%d", width=60),
            "state": st.column_config.TextColumn("state", width=75),
            "disabled by": st.column_config.TextColumn("disabled by", width=140),
            "link": st.column_config.LinkColumn("public URL", display_text="open", width=80),
        },
    )
    by_id = {a.doc_id: a for a in articles}
    with st.form("article_action"):
        st.markdown("**Change an article**")
        choice = st.selectbox(
            "Article",
            list(by_id),
            format_func=lambda d: _label(by_id[d]) + (" (disabled)" if by_id[d].state == "disabled" else ""),
            index=None,
            placeholder="Choose an article",
            key="article_choice",
        )
        confirm = st.checkbox(
            "Delete for good: remove its text from the index, the caches and the recorded answers",
            key="article_delete_confirm",
        )
        buttons = st.columns([1, 1, 1, 3])
        do_disable = buttons[0].form_submit_button("Disable", key="article_disable", icon=":material/visibility_off:")
        do_enable = buttons[1].form_submit_button("Enable", key="article_enable", icon=":material/visibility:")
        do_delete = buttons[2].form_submit_button("Delete", key="article_delete", icon=":material/delete:")
    if do_disable or do_enable or do_delete:
        _act(
            svc,
            identity,
            str(choice) if choice else None,
            "disable" if do_disable else "enable" if do_enable else "delete",
            confirm,
        )
    _deleted_section(svc, identity, tenants)


def _act(svc: Services, identity: auth.Identity, doc_id: str | None, action: str, confirmed: bool) -> None:
    if not doc_id:
        st.error("Article: choose one first.")
        return
    content, caller = svc.content(), _caller(identity, svc)
    try:
        if action == "disable":
            content.disable(doc_id, caller)
            message = f"{doc_id} is disabled: answers leave it out from now on."
        elif action == "enable":
            content.enable(doc_id, caller)
            message = f"{doc_id} is enabled again: answers may cite it from now on."
        else:
            if not confirmed:
                st.error("Delete: tick the box to confirm; a deleted article cannot be undeleted, only re-ingested.")
                return
            with st.spinner(f"Deleting {doc_id}…"):
                gone = content.delete(doc_id, caller)
            message = (
                f"{doc_id} is deleted: {gone.points} chunk(s), {gone.embeddings} cached vector(s), "
                f"{gone.cache_sources} ingest cache entr(y/ies); {gone.interactions_scrubbed} recorded answer(s) "
                "no longer quote it."
            )
            if gone.source_file_exists:
                message += (
                    " Its source file still exists: a re-ingest of its folder skips it until you restore it below."
                )
    except (ContentError, NotAllowed) as exc:
        st.error(str(exc))
        return
    st.session_state["content_flash"] = message
    st.rerun()


def _deleted_section(svc: Services, identity: auth.Identity, tenants: list[str]) -> None:
    tombstones = svc.content().deleted(tenants)
    if not tombstones:
        return
    st.markdown("**Deleted articles** (a re-ingest skips them until restored)")
    st.dataframe(
        pd.DataFrame(
            [{"source": m.doc_id, "tenant": m.tenant, "deleted by": m.by, "on": _when(m.at)} for m in tombstones],
            columns=["source", "tenant", "deleted by", "on"],
        ),
        hide_index=True,
        width="stretch",
    )
    with st.form("restore_article"):
        choice = st.selectbox(
            "Deleted article", [m.doc_id for m in tombstones], index=None, placeholder="Choose", key="restore_choice"
        )
        if st.form_submit_button("Allow re-ingest", key="restore_submit", icon=":material/restore_page:") and choice:
            try:
                svc.content().restore(str(choice), _caller(identity, svc))
            except (ContentError, NotAllowed) as exc:
                st.error(str(exc))
            else:
                st.session_state["content_flash"] = f"{choice} may be ingested again."
                st.rerun()


# --- playground ----------------------------------------------------------------------------------------------


def _link(url: str | None, text: str) -> str:
    """A link as the widget makes one: only absolute http(s) URLs; anything else stays text."""
    label = html.escape(text)
    if url and url.startswith(("http://", "https://")):
        return f'<a href="{html.escape(url, quote=True)}" target="_blank" rel="noopener">{label}</a>'
    return f"<span>{label}</span>"


def widget_html(answer: Answer, question: str = "") -> str:
    """The answer as the widget shows it: the question, then the laid-out answer with its sources as titled
    links, or, when it abstains, the hand-off message, up to 3 related articles and the Contact support button."""
    parts = [f'<p class="dp-pg-asked"><b>You:</b> {html.escape(question)}</p>'] if question else []
    if answer.abstained:
        parts.append(f'<p class="dp-pg-note">{html.escape(answer.text)}</p>')
        if answer.related:
            items = "".join(f"<li>{_link(c.url, c.title or c.doc_id)}</li>" for c in answer.related[:3])
            parts.append(f"<h4>Related articles</h4><ul>{items}</ul>")
        parts.append(
            '<div class="dp-pg-contact"><b>Contact support</b> · the customer is offered the hand-off here: '
            "their e-mail address, then a ticket in the tenant's inbox.</div>"
        )
    else:
        parts.append(view.answer_html(answer))
        if answer.citations:
            items = "".join(
                f'<li value="{c.n}">{_link(c.url, c.title or c.doc_id)}'
                f'<div class="dp-meta">{html.escape(c.section)}</div></li>'
                for c in answer.citations
            )
            parts.append(f"<h4>Sources</h4><ol>{items}</ol>")
        parts.append(
            '<div class="dp-pg-contact">Was this helpful? · <b>Contact support</b> (shown under every answer)</div>'
        )
    style = (
        "<style>.dp-pg{border:1px solid rgba(49,51,63,.2);border-radius:.75rem;padding:1rem 1.2rem;max-width:34rem;"
        "background:#fff}.dp-pg h4{font-size:.9rem;margin:.6rem 0 .2rem}.dp-pg ol,.dp-pg ul{padding-left:1.4rem;"
        "margin:0}.dp-pg-contact{margin-top:.8rem;padding:.5rem .7rem;border-radius:.5rem;background:#f3f5f9;"
        "font-size:.85rem}.dp-pg-note{margin:0 0 .4rem}.dp-pg-asked{margin:0 0 .6rem;color:rgba(49,51,63,.8)}</style>"
    )
    return f'{style}<div class="dp-pg">{"".join(parts)}</div>'


def playground_tab(svc: Services, identity: auth.Identity) -> None:
    """Ask as a tenant's widget would: the widget channel, the tenant's flags and disabled articles, the widget's
    layout and hand-off. Nothing is recorded: no interaction, no vote, no KPI."""
    tenants = identity.tenants(svc.tenants())
    st.caption(
        "Answers here go through the same pipeline as the tenant's widget (channel `widget`, the tenant's feature "
        "flags, its disabled articles) but are not recorded: they never reach the interactions, the dashboards or "
        "the KPIs."
    )
    with st.form("playground"):
        cols = st.columns([1, 1, 3])
        tenant = cols[0].selectbox("Tenant", tenants, key="pg_tenant")
        locale = cols[1].text_input("Page locale", key="pg_locale", placeholder="en")
        question = cols[2].text_input("Question", key="pg_question", placeholder="How do I reset my password?")
        asked = st.form_submit_button("Ask as the widget", key="pg_submit", type="primary", icon=":material/chat:")
    if not asked:
        return
    if not (question or "").strip() or tenant is None:
        st.error("Question: type one first.")
        return
    flags = svc.flags.get(str(tenant))
    if not flags.widget_enabled:
        st.warning(f"The widget is switched off for {tenant} (flag widget_enabled): customers see no widget at all.")
    answer = svc.assistant.answer(
        Question(text=str(question), tenant=str(tenant), channel="widget", locale=(locale or None))
    )
    view.style()
    left, right = st.columns([3, 2], gap="large")
    with left:
        st.html(widget_html(answer, str(question)))
    with right:
        st.html(_badge(answer))
        cited = ", ".join(dict.fromkeys(c.doc_id for c in answer.citations)) or "none"
        st.html(view.meta(f"Cited articles: {cited}"))
        reason = answer.escalation_reason
        if answer.abstained and reason and reason != answer.confidence.reason:
            st.html(view.meta(f"Hand-off reason recorded for a customer: {reason}"))


def _badge(answer: Answer) -> str:
    """How sure the answer is and why; an abstention says that the widget hands the customer to a person."""
    c = answer.confidence
    level, _, why = (c.reason or c.level).partition(": ")
    head = f"{level.capitalize() or c.level} confidence {c.score:.2f}"
    if answer.abstained:
        head = f"Hands off to a person · {c.score:.2f}"
    return f'<div class="dp-conf dp-conf-{c.level}"><b>{html.escape(head)}</b><span>{html.escape(why)}</span></div>'
