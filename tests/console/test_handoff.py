"""A customer's hand-off from the widget in the agent console (AppTest over the real services and store): it
becomes a ticket in the tenant's inbox with the conversation the customer saw, the queue status and the
address; "Assign to me" writes the escalation (audited); the hand-off filter works; retention blanks it."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from uuid import uuid4

from typer.testing import CliRunner

from assistant.records import Question
from feedback.records import EscalationIn, InteractionIn, utcnow
from feedback.settings import FeedbackSettings
from feedback.store import FeedbackStore
from tests.console.support import Console, login
from tests.feedback.conftest import make_interaction
from ui.cli import app
from ui.console import queue
from ui.console.contacts import ContactSealer
from ui.console.settings import ConsoleSettings
from ui.console.tickets import TicketStore

CONTACT = "derek.customer@example.org"
QUESTIONS = ("How long does the password reset link stay valid?", "Can I pay with bitcoin?")


def _widget_handoff(
    console: Console, tenant: str = "ledgerly", questions: tuple[str, ...] = QUESTIONS
) -> tuple[EscalationIn, list[InteractionIn]]:
    """Widget answers by the real assistant in one conversation (two by default), then an escalation with a
    contact, written as the API writes them."""
    conversation = uuid4().hex
    recorded = []
    for text in questions:
        answer = console.services.assistant.answer(Question(text=text, tenant=tenant, channel="widget"))
        item = InteractionIn.from_answer(
            answer, tenant=tenant, channel="widget", actor="key:widget", conversation_id=conversation
        )
        console.store.record_interaction(item)
        recorded.append(item)
    escalation = EscalationIn(
        tenant=tenant,
        interaction_id=recorded[-1].id,
        reason="widget: no reliable answer",
        queue="support",
        actor="key:widget",
        channel="widget",
        contact=CONTACT,
        conversation_id=conversation,
    )
    console.store.record_escalation(escalation)
    return escalation, recorded


def test_a_widget_handoff_reaches_the_agents_inbox(console: Console) -> None:
    escalation, recorded = _widget_handoff(console)
    at = login("ava")
    tickets = [t for t in console.services.tickets.all() if t.escalation_id == str(escalation.id)]
    assert len(tickets) == 1, "the inbox render made one ticket of the hand-off"
    ticket = tickets[0]
    assert (ticket.channel, ticket.customer_email, ticket.tenant) == ("widget", CONTACT, "ledgerly")
    assert all(q in ticket.body for q in QUESTIONS), "the customer's questions are the body"
    inbox = at.radio(key="inbox_ticket")
    listed = [option.split("**")[1] for option in inbox.options]
    assert ticket.ticket_id in listed
    captions = list(inbox.proto.captions)
    caption = next(c for o, c in zip(inbox.options, captions, strict=True) if ticket.ticket_id in o)
    assert "hand\\-off new" in caption and "unassigned" in caption, caption

    inbox.set_value(ticket.ticket_id).run()
    assert not at.exception, at.exception
    page = "\n".join(h.value for h in at.html)
    assert any("hand-off new" in str(m.value) for m in at.markdown), "the queue status badge"
    assert CONTACT in page and "widget: no reliable answer" in page and str(escalation.id) in page
    for item in recorded:  # the conversation as the customer saw it: questions, answers, sources
        assert item.question in page
        for citation in item.citations:
            assert citation.title in page and (citation.url or "") in page
    shown = next(h.value for h in at.html if "dp-turn" in h.value)
    assert "[1]" not in shown and "Sources shown" in shown, "no [n] markers in the conversation, sources listed"

    at.button(key="handoff_assign").click().run()
    assert not at.exception, at.exception
    stored = console.store.get_escalation(escalation.id, "ledgerly")
    assert stored is not None and (stored.status, stored.assignee) == ("assigned", "ava")
    events = [e for e in console.store.list_audit_events("ledgerly").items if e.target == f"escalation:{escalation.id}"]
    assert events[0].action == "escalation.updated" and events[0].actor == "console:ava"
    assert json.loads(events[0].details)["assignee_to"] == "ava"

    at.segmented_control(key="inbox_queue").set_value("assigned").run()
    assert not at.exception, at.exception
    listed = [option.split("**")[1] for option in at.radio(key="inbox_ticket").options]
    assert ticket.ticket_id in listed and "T-1002" not in listed, "the filter shows assigned hand-offs only"
    at.segmented_control(key="inbox_queue").set_value("new").run()
    listed = [option.split("**")[1] for option in at.radio(key="inbox_ticket").options]
    assert "T-1002" not in listed

    at.button(key="handoff_resolve").click().run()
    assert not at.exception, at.exception
    stored = console.store.get_escalation(escalation.id, "ledgerly")
    assert stored is not None and stored.status == "resolved"


def test_another_tenants_agent_never_sees_the_handoff(console: Console) -> None:
    escalation, _ = _widget_handoff(console, tenant="parcelpoint")
    login("ava")
    assert not [t for t in console.services.tickets.list(["ledgerly"]) if t.escalation_id == str(escalation.id)]


def test_retention_apply_blanks_the_ticket_of_a_removed_handoff(tmp_path: Path) -> None:
    """`deskpilot retention apply` removes the escalation's contact, and the inbox ticket made of it loses the
    address and the questions as well."""
    data_dir = tmp_path / "state"
    settings = FeedbackSettings(data_dir=data_dir)
    old = make_interaction("acme", channel="widget", created_at=utcnow() - timedelta(days=400))
    with FeedbackStore.open(settings) as store:
        store.record_interaction(old)
        escalation = EscalationIn(
            tenant="acme",
            interaction_id=old.id,
            reason="widget: customer asked for a person",
            channel="widget",
            contact=CONTACT,
            created_at=old.created_at,
        )
        store.record_escalation(escalation)
        tickets = TicketStore(
            ConsoleSettings(data_dir=data_dir).resolved_console_dir() / "tickets.json", None, ContactSealer(None)
        )
        queue.sync(store, tickets, ["acme"])
        assert tickets.all()[0].customer_email == CONTACT
    result = CliRunner().invoke(app, ["retention", "apply", "--data-dir", str(data_dir)])
    assert result.exit_code == 0, result.output
    with FeedbackStore.open(settings) as store:
        stored = store.get_escalation(escalation.id, "acme")
        assert stored is not None and stored.contact == "" and stored.reason == ""
    ticket = tickets.all()[0]
    assert (ticket.customer_email, ticket.body, ticket.subject) == ("", queue.REMOVED, queue.REMOVED)
    raw = tickets.path.read_text(encoding="utf-8")
    assert CONTACT not in raw and old.question not in raw


def test_sending_the_reply_to_a_handoff_resolves_it(console: Console) -> None:
    """Send on a hand-off's ticket (record-only delivery here: the SMTP path is tests/console/test_sending.py)
    marks the escalation resolved and, as nobody had taken it, assigned to the sender."""
    escalation, _ = _widget_handoff(console)
    at = login("ava")
    ticket = next(t for t in console.services.tickets.all() if t.escalation_id == str(escalation.id))
    at.radio(key="inbox_ticket").set_value(ticket.ticket_id).run()
    assert not at.exception, at.exception
    at.button(key="send").click().run()
    assert not at.exception, at.exception
    stored = console.store.get_escalation(escalation.id, "ledgerly")
    assert stored is not None and (stored.status, stored.assignee) == ("resolved", "ava")
    sent = next(t for t in console.services.tickets.all() if t.ticket_id == ticket.ticket_id)
    assert sent.status == "sent"


def test_a_german_handoff_is_answered_in_german(console: Console) -> None:
    """A hand-off carries no locale: the reply takes the language the assistant found the questions written in."""
    escalation, _ = _widget_handoff(
        console, questions=("Wie lange ist der Link zum Zurücksetzen des Passworts gültig?",)
    )
    at = login("ava")
    ticket = next(t for t in console.services.tickets.all() if t.escalation_id == str(escalation.id))
    at.radio(key="inbox_ticket").set_value(ticket.ticket_id).run()
    assert not at.exception, at.exception
    reply = next(a for a in at.text_area if str(a.key).startswith(f"reply:{ticket.ticket_id}:"))
    assert str(reply.value).startswith("Hallo,") and "Viele Grüße\nAva" in str(reply.value), reply.value
