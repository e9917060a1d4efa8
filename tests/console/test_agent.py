"""The agent page through AppTest: open a ticket, get a cited draft, edit, send, vote down, escalate."""

from __future__ import annotations

from uuid import UUID

from tests.console.support import Console, login
from ui.console.tickets import ESCALATION_REASONS

TICKET = "T-1002"  # "CHARGED TWICE": a card number, an e-mail address and a phone number in the body
TENANT = "ledgerly"


def test_agent_handles_a_ticket_end_to_end(console: Console) -> None:
    store = console.store
    at = login("ava")
    inbox = at.radio(key="inbox_ticket")
    assert inbox.value is None, "nothing is drafted before the agent opens a ticket"
    listed = [option.split("**")[1] for option in inbox.options]
    assert TICKET in listed and "T-1035" not in listed, "only the agent's own tenant"

    inbox.set_value(TICKET).run()
    assert not at.exception, at.exception
    ticket = console.services.tickets.get(TICKET)
    assert ticket is not None and ticket.interaction_id
    interaction = store.get_interaction(ticket.interaction_id, TENANT)
    assert interaction is not None and interaction.channel == "agent" and interaction.actor == "console:ava"
    assert "4111" not in interaction.question and "outlook.example" not in interaction.question, "redacted"
    assert "<CREDIT_CARD>" in interaction.question
    page = "\n".join(h.value for h in at.html)
    assert "CREDIT_CARD" in page and "4111" not in page, "the inbox keeps only the redacted ticket"
    sources = "\n".join(m.value for m in at.markdown)
    assert "](https://help.ledgerly.example/" in sources, "each source is a link to its article"
    assert 'class="dp-answer"' not in page, "the draft shows once: as the editable reply"
    assert "<mark>" in page, "the supporting snippet is highlighted in its source"
    assert "dp-conf" in page and "confidence" in page
    assert interaction.citations and all(c.title and c.section for c in interaction.citations)

    reply = at.text_area(key=f"reply:{TICKET}:1")
    draft = str(reply.value)
    # The editable draft greets the customer by name, keeps its [n] citations and is signed by the agent.
    assert draft.startswith("Hi Derek,\n\n") and draft.endswith("\n\nBest regards,\nAva") and "[1]" in draft
    reply.input(draft + "\n\nP.S. The second charge is refunded today.")
    at.button(key="send").click().run()
    assert not at.exception, at.exception
    edits = store.list_edits(TENANT, interaction_id=interaction.id).items
    assert len(edits) == 1
    sent = edits[0].sent
    # What the customer gets: no [n] markers, the cited articles listed; the draft is stored as it would have been
    # sent unedited, so the distance is the agent's postscript only. The store keeps it redacted.
    assert sent.startswith("Hi <PERSON>,") and "\nSources:\n- " in sent and "[1]" not in sent and "Derek" not in sent
    assert sent == edits[0].draft + "\n\nP.S. The second charge is refunded today."
    assert edits[0].distance > 0 and edits[0].editor == "console:ava"
    ticket = console.services.tickets.get(TICKET)
    assert ticket is not None and ticket.status == "sent" and ticket.sent_text == sent

    at.button_group(key=f"vote_thumbs:{TICKET}").set_value("down")
    at.button_group(key=f"vote_reasons:{TICKET}").set_value(["wrong_citation", "missing_info"])
    at.text_input(key=f"vote_comment:{TICKET}").input("Ignores the $1 authorization question")
    at.button(key="vote_submit").click().run()
    assert not at.exception, at.exception
    votes = store.list_feedback(TENANT, interaction_id=interaction.id).items
    assert len(votes) == 1 and votes[0].thumbs == "down"
    assert set(votes[0].reason_codes) == {"wrong_citation", "missing_info"}
    assert votes[0].comment == "Ignores the $1 authorization question" and votes[0].reviewer == "console:ava"

    at.selectbox(key=f"esc_reason:{TICKET}").set_value(ESCALATION_REASONS[2])
    at.selectbox(key=f"esc_queue:{TICKET}").set_value("billing")
    at.button(key="escalate_submit").click().run()
    assert not at.exception, at.exception
    escalations = [e for e in store.list_escalations(TENANT).items if e.interaction_id == interaction.id]
    assert len(escalations) == 1 and escalations[0].queue == "billing" and escalations[0].status == "new"
    assert escalations[0].reason.startswith(ESCALATION_REASONS[2])
    assert console.services.tickets.get(TICKET).status == "escalated"  # type: ignore[union-attr]
    assert at.radio(key="inbox_ticket").value == TICKET, "the handled ticket stays open on screen"


def test_regenerate_makes_a_new_draft_and_a_new_interaction(console: Console) -> None:
    at = login("ava")
    at.radio(key="inbox_ticket").set_value("T-1001").run()
    first = UUID(str(console.services.tickets.get("T-1001").interaction_id))  # type: ignore[union-attr]
    at.button(key="regenerate").click().run()
    assert not at.exception, at.exception
    second = UUID(str(console.services.tickets.get("T-1001").interaction_id))  # type: ignore[union-attr]
    assert second != first
    regenerated = console.store.get_interaction(second, TENANT)
    assert regenerated is not None and not regenerated.cached, "Regenerate answers again, not from the cache"
    redrafted = str(at.text_area(key="reply:T-1001:2").value)
    assert redrafted.startswith("Hi ") if not regenerated.abstained else redrafted == ""


def test_a_pasted_ticket_lands_in_the_inbox_and_gets_a_draft(console: Console) -> None:
    at = login("ava")
    at.text_input(key="paste_subject").input("reset link")
    at.text_input(key="paste_customer").input("Jo Bloggs")
    at.text_area(key="paste_body").input("Hi, how long does the password reset link stay valid? Call me on 555-0100.")
    at.button(key="paste_submit").click().run()
    assert not at.exception, at.exception
    selected = at.radio(key="inbox_ticket").value
    ticket = console.services.tickets.get(str(selected))
    assert ticket is not None and ticket.tenant == TENANT and ticket.customer_name == "Jo Bloggs"
    stored = console.services.tickets.path.read_text(encoding="utf-8")
    assert "Bloggs" not in stored and "Derek" not in stored, "names are sealed at rest"
    assert "555-0100" not in ticket.body, "the inbox keeps only the redacted ticket"
    assert ticket.interaction_id, "opening the pasted ticket drafted a reply"
    interaction = console.store.get_interaction(ticket.interaction_id, TENANT)
    assert interaction is not None and not interaction.abstained
    assert any(c.doc_id.endswith("reset-your-password.md") for c in interaction.citations)
