"""Agent page: the inbox, a cited draft for the selected ticket, its sources, and send / vote / escalate."""

from __future__ import annotations

import html
import logging
import re
import uuid
from dataclasses import dataclass, replace

import streamlit as st
from sqlalchemy.exc import SQLAlchemyError

from assistant import render
from assistant.records import Answer, Question
from feedback.records import (
    REASON_CODES,
    ConversationTurn,
    EditIn,
    EscalationIn,
    EscalationRecord,
    FeedbackIn,
    FeedbackRecord,
    InteractionIn,
)
from feedback.spool import SpoolUnavailable
from retrieval.records import Hit
from ui.api.roles import Role
from ui.console import auth, queue, view
from ui.console.reasons import escalation_default
from ui.console.resources import Services, services
from ui.console.tickets import ESCALATION_REASONS, QUEUES, Ticket, age, question_text
from ui.delivery import DeliveryError, OutgoingReply
from ui.tracing import activate

log = logging.getLogger(__name__)

STATUS_ICONS = {"open": ":material/mail:", "sent": ":material/done_all:", "escalated": ":material/call_split:"}
REASON_LABELS = {code: code.replace("_", " ") for code in REASON_CODES}
SHORTCUTS = (
    ("Ctrl+Enter", "send the reply"),
    ("Alt+G", "regenerate: a draft from the next-best article"),
    ("Alt+X", "escalate"),
    ("Alt+J / Alt+K", "next / previous ticket"),
)


@dataclass(frozen=True)
class DraftState:
    """The draft shown for one ticket in this session, and what the agent did with it."""

    ticket_id: str
    answer: Answer
    interaction_id: uuid.UUID
    question: str
    version: int = 1
    excluded: tuple[str, ...] = ()
    """Articles left out to get this draft (each Regenerate leaves out the ones the drafts before it cited)."""
    asked: Question | None = None
    """What the assistant was asked, without the exclusions (a changed option starts the exclusions over)."""
    sent: str | None = None
    delivery: str | None = None
    """Where the sent reply went ("e-mailed to ... via ..."), or why it went nowhere (record-only)."""
    delivered: bool = False
    escalated: str | None = None


def _stored(svc: Services, record: InteractionIn | EditIn | FeedbackIn | EscalationIn) -> bool:
    """Write through the durable writer (spooled while the database is down); False, with an error shown, if
    even the spool cannot take it."""
    try:
        outcome = svc.writer.write(record)
    except SpoolUnavailable as exc:
        st.error(f"Not saved: the feedback database is down and the local spool is unavailable ({exc}).")
        return False
    if outcome.status == "spooled":
        st.toast("The feedback database is unreachable: saved to the local spool, stored when it is back.")
    return True


def _drafts() -> dict[str, DraftState]:
    drafts: dict[str, DraftState] = st.session_state.setdefault("drafts", {})
    return drafts


def _excluded(previous: DraftState | None) -> tuple[str, ...]:
    """The articles a regenerated draft leaves out: those the drafts before it cited. When the last draft cited
    nothing (no other article answered), the next one starts over from the best article."""
    if previous is None:
        return ()
    cited = [c.doc_id for c in previous.answer.citations]
    if not cited:
        return ()
    return tuple(dict.fromkeys([*previous.excluded, *cited]))


def _reusable(svc: Services, identity: auth.Identity, ticket: Ticket, record: InteractionIn) -> uuid.UUID | None:
    """The ticket's recorded interaction when it is this very draft (a reload): its votes stay attached to it."""
    if not ticket.interaction_id:
        return None
    try:
        stored = svc.store.get_interaction(ticket.interaction_id, ticket.tenant)
    except Exception:
        return None
    if stored is None or stored.actor != identity.actor:
        return None
    same = stored.question == record.question and stored.answer == record.answer
    return stored.id if same else None


def _make_draft(svc: Services, identity: auth.Identity, ticket: Ticket, regenerate: bool = False) -> DraftState:
    """Ask the assistant about the ticket's redacted text, record the interaction, remember the draft.

    Regenerate asks for a different draft: the same question without the articles the earlier drafts cited
    (the next-best source), answered afresh (no cache). Opening a ticket again (a reload) reuses the recorded
    interaction when the draft is the same, so its vote is still the one shown."""
    options = st.session_state.get(f"options:{ticket.ticket_id}", {})
    focus = str(options.get("focus", "")).strip()
    question = svc.retrieval.redact(focus) if focus else question_text(ticket, svc.retrieval.redact)
    locale = options.get("locale", ticket.locale)
    previous = _drafts().get(ticket.ticket_id)
    plain = Question(
        text=question,
        tenant=ticket.tenant,
        channel="agent",
        products=tuple(options.get("products", ())),
        locale=None if locale == "any" else locale,
        generator=options.get("generator"),
    )
    # Another source of the same question; new draft options start over from the best article.
    same_question = previous is not None and previous.asked == plain
    excluded = _excluded(previous) if regenerate and same_question else ()
    asked = replace(plain, exclude_docs=excluded)
    # The trace id is the request id when traced (Langfuse keys set), so a vote on this draft scores its trace.
    request_id = uuid.uuid4().hex
    # A canary candidate drafts for the agents in its cohort, exactly as the API routes their requests.
    arm = svc.arm(tenant=ticket.tenant, actor=identity.actor, request_id=request_id, regenerate=regenerate)
    with svc.tracer.answer(asked, request_id=request_id, actor=identity.actor) as trace, activate(trace):
        answer = arm.service.answer(asked)
        trace.finish(answer)
    record = InteractionIn.from_answer(
        answer,
        tenant=ticket.tenant,
        channel="agent",
        actor=identity.actor,
        trace_id=trace.trace_id or request_id,
        variant=arm.variant,
    )
    interaction_id = None if regenerate else _reusable(svc, identity, ticket, record)
    if interaction_id is None:
        _stored(svc, record)  # the draft is still shown when it could not be recorded
        svc.tickets.update(ticket.ticket_id, interaction_id=str(record.id))
        interaction_id = record.id
    state = DraftState(
        ticket.ticket_id,
        answer,
        interaction_id,
        question,
        version=previous.version + 1 if previous else 1,
        excluded=excluded,
        asked=plain,
    )
    for key in ("vote_thumbs", "vote_reasons", "vote_comment", "esc_reason", "esc_queue", "esc_note"):
        st.session_state.pop(f"{key}:{ticket.ticket_id}", None)  # a new draft starts with its own (stored) vote
    _drafts()[ticket.ticket_id] = state
    return state


def _short(text: str, limit: int = 38) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _move(ids: list[str], step: int) -> None:
    """Select the ticket ``step`` places away in the inbox list (a button callback)."""
    if not ids:
        return
    current = st.session_state.get("inbox_ticket")
    index = ids.index(current) if current in ids else (-1 if step > 0 else 0)
    st.session_state["inbox_ticket"] = ids[(index + step) % len(ids)]


def inbox(svc: Services, identity: auth.Identity) -> Ticket | None:
    """The ticket list with its filter and search; returns the selected ticket."""
    tenants = identity.tenants(svc.tenants())
    st.subheader("Inbox", anchor=False)
    st.session_state.setdefault("inbox_status", "open")
    status = st.segmented_control(
        "Show",
        ["open", "sent", "escalated", "all"],
        format_func=str.capitalize,
        key="inbox_status",
        label_visibility="collapsed",
        width="stretch",
    )
    query = st.text_input(
        "Search tickets",
        key="inbox_search",
        placeholder="Search tickets",
        label_visibility="collapsed",
        icon=":material/search:",
    )
    handoff = st.segmented_control(
        "Widget hand-offs",
        list(queue.QUEUE_STATUSES),
        format_func=str.capitalize,
        key="inbox_queue",
        width="stretch",
        help="Customers who asked the widget for a person: filter by queue status (click again to clear).",
    )
    # Hand-offs from the widget arrive through the feedback store (the API may run in another process).
    escalations = queue.sync(svc.store, svc.tickets, tenants)
    everything = svc.tickets.list(tenants)
    selected = st.session_state.get("inbox_ticket")
    words = (query or "").lower().split()

    def queue_status(t: Ticket) -> str | None:
        record = escalations.get(t.escalation_id or "")
        return record.status if record is not None else None

    # The open ticket stays listed after it was sent or escalated, so the agent can still vote on it.
    visible = [
        t
        for t in everything
        if (
            (queue_status(t) == handoff or t.ticket_id == selected)
            if handoff
            else (status in (None, "all") or t.status == status or t.ticket_id == selected)
        )
        and all(w in f"{t.ticket_id} {t.subject} {t.customer_name} {t.customer_email} {t.body}".lower() for w in words)
    ]
    if status == "open" or handoff in ("new", "assigned"):  # the queue: longest waiting first
        visible.sort(key=lambda t: (t.received_at, t.ticket_id))
    counts = {s: sum(1 for t in everything if t.status == s) for s in ("open", "sent", "escalated")}
    waiting = sum(1 for t in everything if queue_status(t) == "new")
    st.caption(
        f"{counts['open']} open · {counts['sent']} sent · {counts['escalated']} escalated · {waiting} new hand-off(s)"
    )
    if not visible:
        st.info("No tickets match.")
        return None
    ids = [t.ticket_id for t in visible]
    by_id = {t.ticket_id: t for t in visible}
    if st.session_state.get("inbox_ticket") not in by_id:
        st.session_state["inbox_ticket"] = None  # nothing is drafted until the agent opens a ticket
    with st.container(height=600, border=False):
        chosen = st.radio(
            "Tickets",
            ids,
            index=None,
            key="inbox_ticket",
            format_func=lambda i: f"**{i}** · {view.literal(_short(by_id[i].subject))}",  # ids are ours: T-1002
            captions=[view.literal(_inbox_caption(t, escalations)) for t in visible],
            label_visibility="collapsed",
        )
    with st.container(horizontal=True):
        st.button(
            "Previous",
            key="prev_ticket",
            on_click=_move,
            args=(ids, -1),
            shortcut="Alt+K",
            icon=":material/arrow_upward:",
        )
        st.button(
            "Next", key="next_ticket", on_click=_move, args=(ids, 1), shortcut="Alt+J", icon=":material/arrow_downward:"
        )
    _paste_box(svc, tenants)
    return by_id.get(str(chosen)) if chosen else None


def _inbox_caption(ticket: Ticket, escalations: dict[str, EscalationRecord]) -> str:
    """A ticket's line under its subject; a widget hand-off shows its queue status and assignee."""
    record = escalations.get(ticket.escalation_id or "")
    if record is None:
        who = ticket.customer_name or "unknown sender"
        return f"{ticket.status} · {who} · {ticket.tenant} · {age(ticket.received_at)}"
    return (
        f"hand-off {record.status} · {record.assignee or 'unassigned'} · "
        f"{ticket.customer_email or 'no address'} · {ticket.tenant} · {age(record.created_at)}"
    )


def _add_ticket(svc: Services, tenants: list[str]) -> None:
    """Add the pasted ticket and select it (the paste form's callback)."""
    body = str(st.session_state.get("paste_body") or "")
    if not body.strip():
        st.session_state["paste_error"] = "Paste the customer's message first."
        return
    tenant = str(st.session_state.get("paste_tenant") or tenants[0])
    email = str(st.session_state.get("paste_email") or "").strip()
    if email and not re.fullmatch(r"[^@\s<>\"']+@[^@\s<>\"']+\.[^@\s<>\"']+", email):
        st.session_state["paste_error"] = f"{email!r} is not an e-mail address."
        return
    ticket = svc.tickets.add(
        tenant,
        body,
        subject=str(st.session_state.get("paste_subject") or ""),
        customer_name=str(st.session_state.get("paste_customer") or ""),
        customer_email=email,
    )
    st.session_state["inbox_ticket"] = ticket.ticket_id
    st.session_state["inbox_status"] = "open"
    st.session_state["inbox_search"] = ""


def _paste_box(svc: Services, tenants: list[str]) -> None:
    with st.expander("Paste a new ticket", icon=":material/add:"):
        with st.form("paste_ticket", clear_on_submit=True, border=False):
            if len(tenants) > 1:
                st.selectbox("Tenant", tenants, key="paste_tenant")
            st.text_input("Subject", key="paste_subject")
            st.text_input("Customer name", key="paste_customer")
            st.text_input("Customer e-mail", key="paste_email", help="Where Send delivers the reply.")
            st.text_area("Message", key="paste_body", height=140, placeholder="Paste the customer's message")
            st.form_submit_button(
                "Add to inbox", key="paste_submit", icon=":material/inbox:", on_click=_add_ticket, args=(svc, tenants)
            )
        error = st.session_state.pop("paste_error", None)
        if error:
            st.error(error)


def ticket_header(ticket: Ticket) -> None:
    """Subject, sender, channel and status; for a widget hand-off, its queue status, assignee, reason and age,
    the customer's address, the "Assign to me" and "Resolve" actions and the conversation as the customer saw it."""
    st.html(f'<div class="dp-subject">{html.escape(ticket.subject or ticket.ticket_id)}</div>')
    found = _handoff_of(ticket)
    if found is not None:
        _handoff_header(ticket, found)
        return
    sender = ticket.customer_name or "unknown sender"
    if ticket.customer_email:
        sender += f" <{ticket.customer_email}>"
    with st.container(horizontal=True, vertical_alignment="center"):
        st.badge(ticket.status, icon=STATUS_ICONS[ticket.status], color="gray" if ticket.status == "open" else "blue")
        st.html(
            view.meta(
                f"{ticket.ticket_id} · {sender} · {ticket.channel.replace('_', ' ')} · {ticket.tenant} · "
                f"{ticket.locale} · received {ticket.received_at:%Y-%m-%d %H:%M} ({age(ticket.received_at)} ago)"
            )
        )
    with st.container(height=180, border=True):
        st.html(view.prose(ticket.body))


def _handoff_of(ticket: Ticket) -> queue.Handoff | None:
    """The widget escalation behind ``ticket``, read fresh from the feedback store (None for other tickets)."""
    if not ticket.escalation_id:
        return None
    svc = services()
    try:
        record = svc.store.get_escalation(ticket.escalation_id, ticket.tenant)
        return queue.handoff(svc.store, record, svc.tickets.sealer) if record is not None else None
    except SQLAlchemyError:
        st.warning("The feedback database is unavailable: the hand-off's queue status cannot be shown.")
        return None


def _handoff_header(ticket: Ticket, found: queue.Handoff) -> None:
    svc, identity = services(), auth.current()
    record = found.escalation
    contact = found.contact or ticket.customer_email
    with st.container(horizontal=True, vertical_alignment="center"):
        st.badge(
            f"hand-off {record.status}",
            icon=":material/support_agent:",
            color="orange" if record.status == "new" else "blue" if record.status == "assigned" else "green",
        )
        st.html(
            view.meta(
                f"{ticket.ticket_id} · {contact or 'no address'} · widget · {ticket.tenant} · "
                f"opened {record.created_at:%Y-%m-%d %H:%M} ({age(record.created_at)} ago) · "
                f"assignee: {record.assignee or 'nobody'}"
            )
        )
    st.html(view.meta(f"Reason: {record.reason or '(none)'} · escalation {record.id}"))
    if identity is not None:
        with st.container(horizontal=True):
            mine = record.assignee == identity.username and record.status == "assigned"
            if st.button(
                "Assign to me",
                key="handoff_assign",
                icon=":material/person_add:",
                disabled=mine or record.status == "resolved",
            ):
                queue.assign_to(svc.store, record, identity.username, identity.actor)
                st.toast(f"{ticket.ticket_id} is assigned to you", icon=":material/person_add:")
                st.rerun()
            if st.button(
                "Mark resolved", key="handoff_resolve", icon=":material/task_alt:", disabled=record.status == "resolved"
            ):
                queue.resolve(svc.store, record, identity.actor)
                st.toast(f"{ticket.ticket_id}'s hand-off is resolved", icon=":material/task_alt:")
                st.rerun()
    with st.container(height=260, border=True, key="handoff_conversation"):
        st.html(_conversation_html(found.conversation) if found.conversation else view.prose(ticket.body))


_MARKERS = re.compile(r"\s*\[\d+(?:\s*,\s*\d+)*\]")


def _conversation_html(turns: tuple[ConversationTurn, ...]) -> str:
    """The conversation as the customer saw it: their questions, the answers without ``[n]`` markers, and the
    sources each answer showed as links (http(s) only); every text escaped."""
    style = (
        "<style>.dp-turn{margin:0 0 .7rem 0}.dp-turn .dp-who{font-size:.78rem;font-weight:650;"
        "color:rgba(49,51,63,.65);text-transform:uppercase;letter-spacing:.03em}"
        ".dp-turn-customer .dp-prose{background:rgba(28,131,225,.08);border-radius:.5rem;padding:.35rem .55rem}"
        ".dp-turn ol{margin:.2rem 0 0 0;padding-left:1.4rem;font-size:.85rem}</style>"
    )
    parts = [style]
    for turn in turns:
        when = f"{turn.at:%Y-%m-%d %H:%M} UTC"
        if turn.role == "customer":
            parts.append(
                f'<div class="dp-turn dp-turn-customer"><div class="dp-who">Customer · {when}</div>'
                f"{view.prose(turn.text)}</div>"
            )
            continue
        text = _MARKERS.sub("", turn.text).strip()
        label = "Assistant (no reliable answer: offered the hand-off)" if turn.abstained else "Assistant"
        sources = "".join(
            f'<li><a href="{html.escape(url)}" target="_blank" rel="noopener noreferrer">{html.escape(title)}</a></li>'
            if url.startswith(("https://", "http://"))
            else f"<li>{html.escape(title)}</li>"
            for title, url in turn.sources
        )
        parts.append(
            f'<div class="dp-turn dp-turn-assistant"><div class="dp-who">{label} · {when}</div>'
            f"{view.prose(text)}"
            + (f"<div class='dp-meta'>Sources shown</div><ol>{sources}</ol>" if sources else "")
            + "</div>"
        )
    return "".join(parts)


def draft_panel(svc: Services, identity: auth.Identity, ticket: Ticket, state: DraftState) -> None:
    """The cited draft as the editable reply (shown once), where Send delivers it, and the actions on it."""
    answer = state.answer
    st.markdown("**Draft reply**")
    st.html(view.confidence(answer.confidence, answer.abstained))
    if state.excluded:
        st.caption(
            f"Regenerated without {len(state.excluded)} article(s) the earlier drafts cited: "
            + view.literal(", ".join(_titles(answer, state.excluded, svc)))
        )
    if answer.fallback_reason:
        st.caption(f"Fell back to the extractive draft: {view.literal(answer.fallback_reason)}")
    if any(f.startswith(("question:", "source_dropped")) for f in answer.flags):
        st.warning(
            "The guardrails removed suspicious text (instructions aimed at the assistant) from the ticket or a source.",
            icon=":material/shield:",
        )
    if answer.abstained and state.excluded:
        st.info(
            "No other article answers this ticket well enough. Regenerate again to go back to the first draft, "
            "write the reply yourself, or escalate.",
            icon=":material/edit_note:",
        )
    elif answer.abstained:
        st.info(
            # The reason quotes the customer's words.
            f"No draft: {view.literal(answer.escalation_reason)}. Write the reply yourself, or escalate.",
            icon=":material/edit_note:",
        )
    else:
        left_out = render.left_out(answer)
        if left_out:
            st.caption(
                f"Left out of the draft: {len(left_out)} sentence(s) holding redacted details "
                f"({', '.join(sorted({_kind(p) for s in left_out for p in render.placeholders_in(s)}))}). "
                "Add the details yourself if the customer needs them."
            )
    if state.sent is not None:
        _sent_panel(ticket, state)
    else:
        _reply_box(svc, identity, ticket, state)
    _draft_options(svc, ticket)
    left, right = st.columns(2, gap="medium")
    with left:
        _vote_form(svc, identity, ticket, state.interaction_id)
    with right:
        _escalate_form(svc, identity, ticket, state)


def _titles(answer: Answer, doc_ids: tuple[str, ...], svc: Services) -> list[str]:
    """Readable names of excluded articles: their titles where a source of this ticket's drafts had them."""
    known = {c.doc_id: c.title for c in answer.citations}
    known.update({s.hit.doc_id: s.hit.title for s in answer.sources})
    for draft in _drafts().values():
        known.update({c.doc_id: c.title for c in draft.answer.citations})
    return [known.get(d) or d.rsplit("/", 1)[-1] for d in doc_ids]


def _reply_box(svc: Services, identity: auth.Identity, ticket: Ticket, state: DraftState) -> None:
    """The editable reply, where Send will deliver it, Send and Regenerate, and the customer's view."""
    reply_key = f"reply:{ticket.ticket_id}:{state.version}"
    st.text_area(
        "Reply to send (edit freely; keep a `[n]` to list its article under Sources)",
        value=_initial_reply(ticket, identity, state),
        key=reply_key,
        height=320,
    )
    _delivery_note(svc, ticket)
    with st.container(horizontal=True):
        send = st.button(
            "Send" if svc.delivery.delivers else "Record as sent",
            type="primary",
            key="send",
            shortcut="Ctrl+Enter",
            icon=":material/send:",
        )
        regenerate = st.button(
            "Regenerate",
            key="regenerate",
            shortcut="Alt+G",
            icon=":material/refresh:",
            help="A different draft: the same question answered from the next-best article.",
        )
    current = str(st.session_state.get(reply_key) or "")
    holding = render.placeholders_in(current)
    if holding:
        st.warning(
            f"The reply holds redaction placeholders ({', '.join(sorted(set(holding)))}): the sentences with them "
            "are left out when you send. Write the details in, or leave them out.",
            icon=":material/visibility_off:",
        )
    if send:
        _send(svc, identity, ticket, state, current)
    if regenerate:
        with st.spinner("Drafting from the next-best article…"):
            _make_draft(svc, identity, ticket, regenerate=True)
        st.rerun()
    if current.strip():
        with st.expander("Preview: the reply as the customer gets it", icon=":material/preview:"):
            st.html(view.reply_html(_customer_text(ticket, identity, state, current)))


def _delivery_note(svc: Services, ticket: Ticket) -> None:
    """Where Send delivers the reply; a warning when it delivers nothing or cannot reach this customer."""
    delivery = svc.delivery
    if not delivery.delivers:
        st.warning(delivery.describe(), icon=":material/unpublished:")
        return
    if delivery.channel == "smtp" and not ticket.customer_email:
        st.warning(
            "This ticket has no customer e-mail address (none was given, or it was sealed under another "
            "DESKPILOT_CONSOLE_CONTACT_KEY): Send cannot deliver the reply. Answer from your mail client or "
            "helpdesk, or escalate.",
            icon=":material/alternate_email:",
        )
        return
    to = ticket.customer_email or ticket.addressee or "the customer"
    st.html(view.meta(f"To: {to} · {delivery.describe()}"))


def _sent_panel(ticket: Ticket, state: DraftState) -> None:
    """What was sent, and where it went (or that it went nowhere)."""
    if state.delivered:
        st.success(
            f"Reply sent: {state.delivery}. The text you sent and your edits are stored.", icon=":material/done_all:"
        )
    else:
        st.warning(
            f"Recorded as sent, but not delivered ({state.delivery}): nothing reached the customer. Copy the reply "
            "below into your mail client or helpdesk.",
            icon=":material/unpublished:",
        )
    with st.container(border=True, key="sent_reply"):
        st.html(view.meta(f"Sent to {ticket.customer_name or ticket.customer_email or 'the customer'}"))
        st.html(view.reply_html(state.sent or ""))


def _kind(placeholder: str) -> str:
    """``<PHONE_NUMBER>`` -> ``phone number``."""
    return placeholder.strip("<>").replace("_", " ").lower()


def _reply_locale(ticket: Ticket, state: DraftState) -> str:
    """The language to reply in: the ticket's; for a pasted ticket or a widget hand-off (whose locale nobody set),
    the language the assistant found the message written in."""
    if ticket.channel in ("pasted", "widget") and state.answer.locale:
        return state.answer.locale
    return ticket.locale


def _initial_reply(ticket: Ticket, identity: auth.Identity, state: DraftState) -> str:
    """The editable reply: greeting with the customer's name, the cited draft, sign-off with the agent's name."""
    if state.answer.abstained:
        return ""
    return render.reply_draft(state.answer, _reply_locale(ticket, state), ticket.addressee, identity.name)


def _customer_text(ticket: Ticket, identity: auth.Identity, state: DraftState, text: str) -> str:
    """What the customer receives for ``text``: no ``[n]``, no placeholder, Sources listed, greeting and sign-off."""
    locale = _reply_locale(ticket, state)
    return render.sent_reply(text, state.answer.citations, locale, ticket.addressee, identity.name)


def _subject(ticket: Ticket) -> str:
    """``Re: <the ticket's subject>``; the subject is stored redacted, so a placeholder in it is cut out, and a
    subject with nothing left becomes ``Re: your request T-1002``."""
    subject = re.sub(r"^\s*((re|aw|fwd?|wg)\s*:\s*|\[chat\]\s*)+", "", ticket.subject, flags=re.IGNORECASE)
    subject = " ".join(render.PLACEHOLDER.sub(" ", subject).split()).strip(" ,;:-")
    return f"Re: {subject}" if len(re.findall(r"\w+", subject)) >= 1 else f"Re: your request {ticket.ticket_id}"


def _send(svc: Services, identity: auth.Identity, ticket: Ticket, state: DraftState, text: str) -> None:
    """Deliver the customer's version of ``text``; only once it is delivered (or recorded, with delivery off)
    is the edit stored and the ticket marked sent. A failed delivery changes nothing and says why."""
    if not text.strip():
        st.error("The reply is empty: write one, or escalate the ticket.")
        return
    sent = _customer_text(ticket, identity, state, text)
    outgoing = OutgoingReply(
        ticket_id=ticket.ticket_id,
        tenant=ticket.tenant,
        to_email=ticket.customer_email,
        to_name=ticket.customer_name,
        subject=_subject(ticket),
        text=sent,
        locale=_reply_locale(ticket, state),
        agent_name=render.signature_name(identity.name),
    )
    try:
        with st.spinner("Sending…"):
            receipt = svc.delivery.send(outgoing)
    except DeliveryError as exc:
        st.error(
            # The reason may quote the server's reply: shown as literal text.
            f"Not sent: {view.literal(str(exc))}. The ticket stays open and nothing was recorded as sent; fix it "
            "and send again.",
            icon=":material/error:",
        )
        return
    # The draft is recorded as it would have been sent unedited, so the edit distance counts the agent's edits
    # only (not the markers, greeting and Sources list every send changes).
    initial = _initial_reply(ticket, identity, state)
    edit = EditIn(
        tenant=ticket.tenant,
        interaction_id=state.interaction_id,
        draft=_customer_text(ticket, identity, state, initial) if initial else "",
        sent=sent,
        editor=identity.actor,
    )
    if not _stored(svc, edit) and receipt.delivered:
        st.warning("The reply was delivered, but the edit could not be stored.", icon=":material/warning:")
    try:
        svc.store.record_audit_event(
            actor=identity.actor,
            action="reply.sent",
            tenant=ticket.tenant,
            target=ticket.ticket_id,
            details={"via": receipt.channel, "delivered": receipt.delivered, "reference": receipt.reference},
        )
    except Exception:
        log.exception("could not audit the reply to %s", ticket.ticket_id)
    svc.tickets.update(ticket.ticket_id, status="sent", sent_text=sent, handled_by=identity.username)
    _resolve_handoff(svc, identity, ticket)
    _drafts()[ticket.ticket_id] = replace(state, sent=sent, delivery=receipt.detail, delivered=receipt.delivered)
    verb = "sent" if receipt.delivered else "recorded, not delivered"
    st.toast(f"Reply to {ticket.ticket_id} {verb}", icon=":material/send:")
    st.rerun()


def _resolve_handoff(svc: Services, identity: auth.Identity, ticket: Ticket) -> None:
    """A reply to a widget hand-off resolves its escalation (audited by the store), assigned to the sender if
    nobody had taken it."""
    if not ticket.escalation_id:
        return
    try:
        record = svc.store.get_escalation(ticket.escalation_id, ticket.tenant)
        if record is not None and record.status != "resolved":
            queue.resolve(svc.store, record, identity.actor, assignee=identity.username)
    except SQLAlchemyError as exc:
        st.warning(
            f"The reply went out, but the hand-off could not be marked resolved ({type(exc).__name__}): "
            "the feedback database is unavailable. Mark it resolved once it is back.",
            icon=":material/warning:",
        )


def _draft_options(svc: Services, ticket: Ticket) -> None:
    with st.expander("Draft options (then Regenerate)", icon=":material/tune:"):
        st.caption(
            "Regenerate answers the same question from the next-best article; after a change here it starts "
            "again from the best one."
        )
        key = f"options:{ticket.ticket_id}"
        options = dict(st.session_state.get(key, {}))
        stats = svc.index_stats()
        options["focus"] = st.text_input(
            "Focus on one question",
            value=options.get("focus", ""),
            key=f"opt_focus:{ticket.ticket_id}",
            placeholder="e.g. why was I charged $1 after updating my card?",
            help="Ask about one part of the ticket instead of the whole message (redacted like the ticket).",
        )
        locales = ["any", *sorted(loc for loc in stats.by_locale if loc)]
        current = options.get("locale", ticket.locale)
        options["locale"] = st.selectbox(
            "Articles in locale",
            locales,
            index=locales.index(current) if current in locales else 0,
            key=f"opt_locale:{ticket.ticket_id}",
        )
        options["products"] = st.multiselect(
            "Only these products",
            sorted(p for p in stats.by_product if p),
            default=options.get("products", []),
            key=f"opt_products:{ticket.ticket_id}",
        )
        if svc.fresh.llm is not None:
            options["generator"] = st.selectbox(
                "Generator", ["extractive", "llm"], key=f"opt_generator:{ticket.ticket_id}"
            )
        st.session_state[key] = options


def _recorded_vote(svc: Services, identity: auth.Identity, ticket: Ticket, interaction_id: uuid.UUID) -> str:
    """The agent's vote on the interaction as the feedback store has it ("" when none, or when the database is
    down and the vote waits in the spool: then the one saved in this session)."""
    try:
        votes = svc.store.list_feedback(ticket.tenant, interaction_id=interaction_id, page_size=100).items
    except Exception:
        return str(st.session_state.get(f"voted:{interaction_id}", ""))
    mine = next((v for v in votes if v.reviewer == identity.actor), None)  # newest first: a later vote replaces
    if mine is None:
        return str(st.session_state.get(f"voted:{interaction_id}", ""))
    st.session_state.setdefault(f"vote_thumbs:{ticket.ticket_id}", mine.thumbs)
    st.session_state.setdefault(f"vote_reasons:{ticket.ticket_id}", list(mine.reason_codes))
    st.session_state.setdefault(f"vote_comment:{ticket.ticket_id}", mine.comment)
    return _vote_summary(mine)


def _vote_summary(vote: FeedbackRecord | FeedbackIn) -> str:
    labels = ", ".join(REASON_LABELS[r] for r in vote.reason_codes)
    summary = ("helpful" if vote.thumbs == "up" else "not helpful") + (f" ({labels})" if labels else "")
    return summary + (f": “{vote.comment}”" if vote.comment else "")


def _vote_form(svc: Services, identity: auth.Identity, ticket: Ticket, interaction_id: uuid.UUID) -> None:
    """Thumbs, reason codes and a comment on the draft; the recorded vote is shown and can be changed (the store
    keeps one vote per agent and interaction)."""
    recorded = _recorded_vote(svc, identity, ticket, interaction_id)
    with st.form(f"vote:{ticket.ticket_id}:{interaction_id}", border=True):
        st.markdown("**Was the draft useful?**")
        thumbs = st.segmented_control(
            "Vote",
            ["up", "down"],
            format_func=lambda v: ":material/thumb_up: Helpful" if v == "up" else ":material/thumb_down: Not helpful",
            key=f"vote_thumbs:{ticket.ticket_id}",
            label_visibility="collapsed",
        )
        reasons = st.pills(
            "Reasons",
            list(REASON_CODES),
            selection_mode="multi",
            format_func=lambda c: REASON_LABELS[c],
            key=f"vote_reasons:{ticket.ticket_id}",
        )
        comment = st.text_input("Comment", key=f"vote_comment:{ticket.ticket_id}", placeholder="Optional")
        submitted = st.form_submit_button(
            "Change feedback" if recorded else "Save feedback", key="vote_submit", icon=":material/thumbs_up_down:"
        )
    if recorded:
        st.caption(view.literal(f"Feedback saved: {recorded}"))
    if submitted:
        if thumbs not in ("up", "down"):
            st.error("Choose Helpful or Not helpful first.")
            return
        vote = FeedbackIn(
            tenant=ticket.tenant,
            interaction_id=interaction_id,
            thumbs=thumbs,
            reason_codes=tuple(reasons or ()),
            comment=comment or "",
            reviewer=identity.actor,
        )
        if not _stored(svc, vote):
            return
        summary = _vote_summary(vote)
        st.session_state[f"voted:{interaction_id}"] = summary
        st.toast(f"Feedback saved: {summary}", icon=":material/thumbs_up_down:")
        st.rerun()


def _escalate_form(svc: Services, identity: auth.Identity, ticket: Ticket, state: DraftState) -> None:
    reason_at, queue_at = escalation_default(ticket, state.answer)
    with st.form(f"escalate:{ticket.ticket_id}:{state.version}", border=True):
        st.markdown("**Hand off to a person**")
        reason = st.selectbox("Reason", ESCALATION_REASONS, index=reason_at, key=f"esc_reason:{ticket.ticket_id}")
        queue = st.selectbox("Queue", QUEUES, index=queue_at, key=f"esc_queue:{ticket.ticket_id}")
        note = st.text_input("Note", key=f"esc_note:{ticket.ticket_id}", placeholder="Optional")
        submitted = st.form_submit_button(
            "Escalate",
            key="escalate_submit",
            icon=":material/call_split:",
            shortcut="Alt+X",
            disabled=state.escalated is not None,
        )
    if state.escalated is not None:
        st.caption(f"Escalated to {state.escalated}")
    if submitted:
        text = f"{reason}: {note}" if note else str(reason)
        if state.answer.abstained and state.answer.escalation_reason:
            text += f" (assistant: {state.answer.escalation_reason})"
        escalation = EscalationIn(
            tenant=ticket.tenant,
            interaction_id=state.interaction_id,
            reason=text[:1000],
            queue=str(queue),
            actor=identity.actor,
        )
        if not _stored(svc, escalation):
            return
        svc.tickets.update(ticket.ticket_id, status="escalated", handled_by=identity.username)
        _drafts()[ticket.ticket_id] = replace(state, escalated=str(queue))
        st.toast(f"{ticket.ticket_id} escalated to {queue}", icon=":material/call_split:")
        st.rerun()


def sources_panel(answer: Answer) -> None:
    """Each source: title (linked), section path, and the text with the supporting snippets highlighted."""
    st.subheader("Sources", anchor=False)
    snippets: dict[int, list[str]] = {}
    for c in answer.citations:
        snippets.setdefault(c.n, []).append(c.snippet)
    for sentence in answer.sentences:  # extractive sentences are quoted from their source: mark them too
        for n in sentence.cites:
            if n in snippets:
                snippets[n].append(re.sub(r"\s*\[\d+\]", "", sentence.text))
    cited = [s for s in answer.sources if s.n in snippets]
    others = [s for s in answer.sources if s.n not in snippets]
    if not answer.sources:
        st.caption("Nothing was retrieved for this ticket.")
    for source in cited:
        _source_card(source.n, source.hit, snippets[source.n], cited=True)
    if others:
        with st.expander(f"Also retrieved, not cited ({len(others)})"):
            for source in others:
                _source_card(source.n, source.hit, [], cited=False)


def _source_card(n: int, hit: Hit, snippets: list[str], *, cited: bool) -> None:
    with st.container(border=cited):
        title = view.literal(f"[{n}] {hit.title or hit.doc_id}")
        st.markdown(f"**[{title}]({hit.url})**" if hit.url else f"**{title}**")
        found = {"both": "keyword + meaning", "dense": "meaning", "bm25": "keyword"}[hit.found_by]
        st.caption(
            view.literal(
                f"{hit.section} · {hit.article_id or hit.doc_id} · found by {found} · relevance {hit.relevance:.2f}"
            )
        )
        st.html(view.highlighted(hit.text, snippets))


def _shortcuts() -> None:
    for keys, what in SHORTCUTS:
        st.markdown(f"<span class='dp-kbd'>{keys}</span> {what}", unsafe_allow_html=True)
    st.caption("Tab moves between fields, Enter submits a form, arrow keys move through the inbox.")


def main() -> None:
    """The agent page.

    The ticket's header with its draft, and its sources, are drawn into one placeholder each, keyed by the
    ticket: a rerun for another ticket (Alt+J) first replaces the previous ticket's header, draft and sources
    as a whole, so the new header never sits above the previous ticket's draft while the new draft is made."""
    identity = auth.require({Role.agent, Role.admin})
    svc = services()
    view.style()
    left, middle, right = st.columns([1.3, 2.4, 1.55], gap="medium")
    with left:
        ticket = inbox(svc, identity)
    if ticket is None:
        with middle:
            st.info("Pick a ticket from the inbox, or paste a new one.", icon=":material/inbox:")
            st.markdown(
                "Opening a ticket drafts a reply from the help center, with each claim cited and its "
                "confidence explained. Edit the draft, send it, tell us whether it helped, or hand the "
                "ticket to a person."
            )
            _shortcuts()
        return
    with right:
        side = st.empty()
    with middle:
        slot = st.empty()
    with slot.container(key=f"draft_{_css_key(ticket.ticket_id)}"):
        ticket_header(ticket)
        state = _ticket_draft(svc, identity, ticket)
        if state is None:
            return
        draft_panel(svc, identity, ticket, state)
    with side.container(key=f"sources_{_css_key(ticket.ticket_id)}"):
        sources_panel(state.answer)
        with st.expander("Keyboard", icon=":material/keyboard:"):
            _shortcuts()


def _css_key(ticket_id: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]", "_", ticket_id)


def _ticket_draft(svc: Services, identity: auth.Identity, ticket: Ticket) -> DraftState | None:
    """This ticket's draft (made now if it has none in this session); None for a handled ticket shown as it was
    handled (its sent reply and the vote on its draft) until the agent asks for a new draft."""
    state = _drafts().get(ticket.ticket_id)
    if state is not None and state.ticket_id != ticket.ticket_id:  # never another ticket's draft
        state = None
    if state is None and ticket.status != "open":
        who = f" by {ticket.handled_by}" if ticket.handled_by else ""
        st.info(f"This ticket was {ticket.status}{who}.", icon=STATUS_ICONS[ticket.status])
        if ticket.sent_text:
            with st.container(border=True):
                st.caption("Reply sent")
                st.html(view.reply_html(ticket.sent_text))
        if ticket.interaction_id:
            _vote_form(svc, identity, ticket, uuid.UUID(ticket.interaction_id))
        if not st.button("Draft a reply anyway", key="draft_anyway", icon=":material/edit:"):
            return None
    if state is None:
        with st.spinner("Drafting a reply from the help center…"):
            state = _make_draft(svc, identity, ticket)
    return state


main()
