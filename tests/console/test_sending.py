"""Sending from the agent page through AppTest: the reply reaches a real SMTP server (or a helpdesk endpoint) on
loopback, customer-ready; a failed delivery leaves the ticket open; record-only says nothing is delivered.
Also the other defects of the draft workflow: Regenerate gives a different draft, votes survive a reload, each
draft shows once, and the hand-off reason fits the ticket."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from streamlit.testing.v1 import AppTest

from tests.console.support import Console, login
from tests.mailbox import Mailbox, free_port, helpdesk_server, smtp_server
from ui.console.tickets import ESCALATION_REASONS
from ui.delivery import DeliverySettings, RecordOnly, SmtpDelivery, WebhookDelivery

TENANT = "ledgerly"
BARE_MARKER = re.compile(r"\[\d+(?:\s*,\s*\d+)*\]")
PLACEHOLDER = re.compile(r"<[A-Z][A-Z0-9_]*>")
RESET = "Hi, how long does the password reset link stay valid? Mine says expired. Call me on 555-0100."


@pytest.fixture()
def mailbox(console: Console, monkeypatch: pytest.MonkeyPatch) -> Iterator[Mailbox]:
    """The console delivers by e-mail to a real SMTP server on loopback for this test."""
    with smtp_server() as box:
        settings = DeliverySettings.model_validate(
            {
                "smtp_host": box.host,
                "smtp_port": box.port,
                "smtp_security": "none",
                "smtp_from": "Ledgerly Support <support@ledgerly.example>",
            }
        )
        monkeypatch.setattr(console.services, "delivery", SmtpDelivery(settings))
        yield box


def paste(at: AppTest, body: str, *, subject: str, name: str, email: str) -> str:
    """Paste a ticket through the form; returns its id (it is selected and drafted)."""
    at.text_input(key="paste_subject").input(subject)
    at.text_input(key="paste_customer").input(name)
    at.text_input(key="paste_email").input(email)
    at.text_area(key="paste_body").input(body)
    at.button(key="paste_submit").click().run()
    assert not at.exception, at.exception
    return str(at.radio(key="inbox_ticket").value)


def page_text(at: AppTest) -> str:
    parts = [*(m.value for m in at.markdown), *(h.value for h in at.html), *(c.value for c in at.caption)]
    parts += [*(e.value for e in at.error), *(w.value for w in at.warning), *(s.value for s in at.success)]
    return "\n".join(str(p) for p in parts)


def test_send_delivers_a_customer_ready_email(console: Console, mailbox: Mailbox) -> None:
    at = login("ava")
    ticket_id = paste(at, RESET, subject="reset link expired", name="Maria Lopez", email="maria.lopez@example.com")
    assert "To: maria.lopez@example.com" in page_text(at), "the page says where Send delivers"
    reply = at.text_area(key=f"reply:{ticket_id}:1")
    draft = str(reply.value)
    assert draft.startswith("Hi Maria,") and BARE_MARKER.search(draft)
    reply.input(draft + "\n\nP.S. Call <PERSON> on <PHONE_NUMBER> if it locks again. I have unlocked your sign-in.")
    at.button(key="send").click().run()
    assert not at.exception, at.exception

    [got] = mailbox.wait()
    text = got.part("plain")
    print(f"--- the message the customer gets ---\n{got.message}")
    assert got.rcpt_tos == ["maria.lopez@example.com"] and got.message["To"] == "Maria Lopez <maria.lopez@example.com>"
    assert got.message["Subject"] == "Re: reset link expired"
    assert text.startswith("Hi Maria,\n\n"), text
    assert "\n\nBest regards,\nAva\n\nP.S. " in text, text
    assert not BARE_MARKER.search(text) and not PLACEHOLDER.search(text), text
    sources = re.search(r"\nSources:\n((?:- .+\n?)+)", text)
    assert sources, text
    for line in sources.group(1).strip().splitlines():
        assert re.fullmatch(r"- [^:]+: https://help\.ledgerly\.example/\S+", line), line
    assert "P.S. I have unlocked your sign-in." in text, "the placeholder sentence is cut, the rest kept"
    assert '<a href="https://help.ledgerly.example/' in got.part("html")

    ticket = console.services.tickets.get(ticket_id)
    assert ticket is not None and ticket.status == "sent"
    assert "Reply sent: e-mailed to maria.lopez@example.com" in page_text(at)
    edits = console.store.list_edits(TENANT, interaction_id=ticket.interaction_id).items
    assert len(edits) == 1 and "Maria" not in edits[0].sent, "the store keeps the redacted reply"
    audit = console.store.list_audit_events(TENANT, action="reply.sent").items
    assert audit[0].target == ticket_id and "maria" not in str(audit[0].details).lower()


def test_a_failed_delivery_leaves_the_ticket_open(console: Console, monkeypatch: pytest.MonkeyPatch) -> None:
    down = DeliverySettings.model_validate(
        {"smtp_host": "127.0.0.1", "smtp_port": free_port(), "smtp_security": "none", "smtp_from": "a@b.example"}
    )
    monkeypatch.setattr(console.services, "delivery", SmtpDelivery(down))
    at = login("ava")
    ticket_id = paste(at, RESET, subject="link expired again", name="Jo Bloggs", email="jo@example.com")
    at.button(key="send").click().run()
    assert not at.exception, at.exception
    errors = [str(e.value).replace("\\", "") for e in at.error]
    assert any("Not sent: cannot reach the SMTP server" in e and "DESKPILOT_SMTP_HOST" in e for e in errors), errors
    ticket = console.services.tickets.get(ticket_id)
    assert ticket is not None and ticket.status == "open" and not ticket.sent_text
    assert not console.store.list_edits(TENANT, interaction_id=ticket.interaction_id).items
    assert at.text_area(key=f"reply:{ticket_id}:1").value and not at.text_area(key=f"reply:{ticket_id}:1").disabled


def test_no_customer_address_and_record_only_are_said_plainly(
    console: Console, monkeypatch: pytest.MonkeyPatch, mailbox: Mailbox
) -> None:
    at = login("ava")
    ticket_id = paste(at, RESET, subject="no address", name="Kim", email="")
    assert "This ticket has no customer e-mail address" in page_text(at)
    at.button(key="send").click().run()
    assert any("no usable customer e-mail address" in str(e.value).replace("\\", "") for e in at.error)
    assert console.services.tickets.get(ticket_id).status == "open"  # type: ignore[union-attr]
    assert not mailbox.received

    monkeypatch.setattr(console.services, "delivery", RecordOnly())
    at = login("ava")
    at.radio(key="inbox_ticket").set_value(ticket_id).run()
    assert "Delivery is off" in page_text(at) and at.button(key="send").label == "Record as sent"
    at.button(key="send").click().run()
    assert "Recorded as sent, but not delivered" in page_text(at)
    assert console.services.tickets.get(ticket_id).status == "sent"  # type: ignore[union-attr]


def test_send_posts_to_the_helpdesk_webhook(console: Console, monkeypatch: pytest.MonkeyPatch) -> None:
    with helpdesk_server() as desk:
        settings = DeliverySettings.model_validate(
            {"delivery_webhook_url": desk.url, "delivery_webhook_auth": "Bearer t"}
        )
        monkeypatch.setattr(console.services, "delivery", WebhookDelivery(settings))
        at = login("ava")
        ticket_id = paste(at, RESET, subject="hook", name="Lee Park", email="lee@example.com")
        at.button(key="send").click().run()
        assert not at.exception, at.exception
    [post] = desk.posted
    comment = post.body["ticket"]["comment"]
    assert post.body["ticket"]["external_id"] == ticket_id and post.headers["authorization"] == "Bearer t"
    assert comment["public"] and comment["body"].startswith("Hi Lee,") and not BARE_MARKER.search(comment["body"])
    assert console.services.tickets.get(ticket_id).status == "sent"  # type: ignore[union-attr]


def test_regenerate_gives_a_draft_from_another_article(console: Console) -> None:
    at = login("ava")
    ticket_id = paste(at, RESET, subject="regenerate me", name="Ana Silva", email="ana@example.com")
    first = str(at.text_area(key=f"reply:{ticket_id}:1").value)
    first_interaction = console.services.tickets.get(ticket_id).interaction_id  # type: ignore[union-attr]
    first_docs = {c.doc_id for c in console.store.get_interaction(first_interaction, TENANT).citations}  # type: ignore[arg-type,union-attr]
    assert first_docs
    at.button(key="regenerate").click().run()
    assert not at.exception, at.exception
    second = at.text_area(key=f"reply:{ticket_id}:2").value if at.text_area else None
    second_interaction = console.services.tickets.get(ticket_id).interaction_id  # type: ignore[union-attr]
    assert second_interaction != first_interaction
    stored = console.store.get_interaction(second_interaction, TENANT)  # type: ignore[arg-type]
    assert stored is not None and not stored.cached
    assert not {c.doc_id for c in stored.citations} & first_docs, "the next-best article, not the same one"
    assert second != first
    assert re.search(r"Regenerated without \d+ article\(s\) the earlier drafts cited", page_text(at).replace("\\", ""))
    # Each draft shows once: the editable reply is the draft, with no second rendering of it beside it.
    assert not any('class="dp-answer"' in h.value for h in at.html)


def test_votes_and_reasons_survive_a_reload(console: Console) -> None:
    at = login("ava")
    ticket_id = paste(at, RESET, subject="vote and reload", name="Sam Lee", email="sam@example.com")
    interaction = console.services.tickets.get(ticket_id).interaction_id  # type: ignore[union-attr]
    at.button_group(key=f"vote_thumbs:{ticket_id}").set_value("down")
    at.button_group(key=f"vote_reasons:{ticket_id}").set_value(["missing_info"])
    at.text_input(key=f"vote_comment:{ticket_id}").input("Says nothing about a second expiry")
    at.button(key="vote_submit").click().run()
    assert not at.exception, at.exception

    again = login("ava")  # a reload: a new session
    again.radio(key="inbox_ticket").set_value(ticket_id).run()
    assert console.services.tickets.get(ticket_id).interaction_id == interaction, "the same draft, not a new one"  # type: ignore[union-attr]
    assert again.button_group(key=f"vote_thumbs:{ticket_id}").value == "down"
    assert again.button_group(key=f"vote_reasons:{ticket_id}").value == ["missing_info"]
    assert again.text_input(key=f"vote_comment:{ticket_id}").value == "Says nothing about a second expiry"
    assert "Feedback saved: not helpful (missing info)" in page_text(again).replace("\\", "")
    again.button(key="send").click().run()  # record-only in this session's services

    reloaded = login("ava")  # a sent ticket keeps its vote form, with the vote
    reloaded.button_group(key="inbox_status").set_value("sent").run()
    reloaded.radio(key="inbox_ticket").set_value(ticket_id).run()
    assert "This ticket was sent" in str([i.value for i in reloaded.info])
    assert reloaded.button_group(key=f"vote_thumbs:{ticket_id}").value == "down"
    reloaded.button_group(key=f"vote_thumbs:{ticket_id}").set_value("up")
    reloaded.button(key="vote_submit").click().run()
    votes = console.store.list_feedback(TENANT, interaction_id=interaction).items
    assert [v.thumbs for v in votes] == ["up"], "a later vote replaces the earlier"


def test_the_preselected_hand_off_reason_fits_the_ticket(console: Console) -> None:
    at = login("ava")
    at.radio(key="inbox_ticket").set_value("T-1005").run()  # "Refund annual plan"
    assert not at.exception, at.exception
    reason = at.selectbox(key="esc_reason:T-1005").value
    drafted = console.services.tickets.get("T-1005").interaction_id  # type: ignore[union-attr]
    stored = console.store.get_interaction(drafted, TENANT)  # type: ignore[arg-type]
    assert stored is not None
    if stored.abstained or stored.confidence_level == "low":
        assert reason == "The help center has no reliable answer"
    else:
        assert reason == next(r for r in ESCALATION_REASONS if r.startswith("Refund"))
        assert at.selectbox(key="esc_queue:T-1005").value == "billing"
    weather = paste(
        at, "What will the weather be like in Frankfurt this weekend?", subject="weather", name="X", email=""
    )
    assert at.selectbox(key=f"esc_reason:{weather}").value == "The help center has no reliable answer"
    assert at.selectbox(key=f"esc_reason:{weather}").value != "The customer asked for a person"
