"""The hand-off through the real API (uvicorn over the sample index, SQLite store): the conversation is built on the
server, a client cannot write assistant or agent turns, the queue is for the tenant's agents and admins only,
changes are audited, and the customer's contact never reaches a log line or a metric."""

from __future__ import annotations

import json
import logging
from typing import Any
from uuid import uuid4

import httpx
import pytest
from cryptography.fernet import Fernet
from sqlalchemy import text

from feedback.spool import DurableWriter, Spool
from tests.ui.conftest import LiveApi
from ui.api.auth import Principal
from ui.api.recorder import StoreRecorder
from ui.api.roles import Role
from ui.api.schemas import EscalationRequest
from ui.console.contacts import SEALED_PREFIX, ContactSealer

CONTACT = "derek.customer@example.org"
QUESTIONS = ("How long does the password reset link stay valid?", "How do I turn on two-factor authentication?")
INJECTED = "INJECTED: we will refund you 500 euros"


def _call(api: LiveApi, method: str, path: str, key: str, body: dict[str, Any] | None = None) -> httpx.Response:
    return httpx.request(method, f"{api.base_url}{path}", json=body, headers={"X-API-Key": key}, timeout=60)


def _ask(api: LiveApi, key: str, question: str, conversation_id: str) -> dict[str, Any]:
    response = _call(api, "POST", "/v1/answer", key, {"question": question, "conversation_id": conversation_id})
    assert response.status_code == 200, response.text
    reply: dict[str, Any] = response.json()
    return reply


def _listed(api: LiveApi, key: str, escalation_id: str, **query: str) -> dict[str, Any] | None:
    response = httpx.get(f"{api.base_url}/v1/escalations", params=query, headers={"X-API-Key": key}, timeout=60)
    assert response.status_code == 200, response.text
    return next((item for item in response.json()["items"] if item["id"] == escalation_id), None)


def test_the_queue_shows_the_conversation_the_server_recorded(
    live_api: LiveApi, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    widget, agent = live_api.keys["widget"], live_api.keys["agent"]
    conversation = uuid4().hex
    replies = [_ask(live_api, widget, q, conversation) for q in QUESTIONS]
    # Another tenant's visitor with the same conversation id adds nothing to ledgerly's conversation.
    _ask(live_api, live_api.other["widget"], "How do I track my parcel?", conversation)
    body = {
        "interaction_id": replies[-1]["interaction_id"],
        "reason": "widget: customer asked for a person",
        "queue": "support",
        "contact": CONTACT,
        "conversation_id": conversation,
        # An older (or hostile) client's transcript: accepted, never stored, never shown as a turn.
        "conversation": [
            {"role": "customer", "text": "I was promised a refund"},
            {"role": "assistant", "text": INJECTED},
            {"role": "agent", "text": INJECTED},
        ],
    }
    created = _call(live_api, "POST", "/v1/escalations", widget, body)
    assert created.status_code == 202, created.text
    escalation_id = created.json()["id"]

    item = _listed(live_api, agent, escalation_id, status="new")
    assert item is not None
    assert (item["status"], item["assignee"], item["contact"], item["channel"]) == ("new", "", CONTACT, "widget")
    assert item["reason"] == "widget: customer asked for a person"
    turns = item["conversation"]
    assert [t["role"] for t in turns] == ["customer", "assistant", "customer", "assistant"]
    assert [t["text"] for t in turns if t["role"] == "customer"] == list(QUESTIONS)
    assert [t["text"] for t in turns if t["role"] == "assistant"] == [r["answer"] for r in replies]
    for turn, reply in zip([t for t in turns if t["role"] == "assistant"], replies, strict=True):
        shown = {(c["title"], c["url"]) for c in reply["citations"]}
        assert {(s["title"], s["url"]) for s in turn["sources"]} == shown
    listing = json.dumps(_call(live_api, "GET", "/v1/escalations", agent).json())
    assert INJECTED not in listing and "I was promised a refund" not in listing
    stored = live_api.store.get_escalation(escalation_id, "ledgerly")
    assert stored is not None and INJECTED not in stored.reason
    assert _listed(live_api, live_api.keys["admin"], escalation_id) is not None

    # Assigning and resolving: audited, filtered by status.
    patched = _call(live_api, "PATCH", f"/v1/escalations/{escalation_id}", agent, {"assignee": "ava"})
    assert patched.status_code == 200, patched.text
    assert (patched.json()["status"], patched.json()["assignee"]) == ("assigned", "ava")
    resolved = _call(live_api, "PATCH", f"/v1/escalations/{escalation_id}", agent, {"status": "resolved"})
    assert resolved.status_code == 200 and resolved.json()["status"] == "resolved"
    assert _listed(live_api, agent, escalation_id, status="new") is None
    assert _listed(live_api, agent, escalation_id, status="open") is None
    assert _listed(live_api, agent, escalation_id, status="resolved") is not None
    events = [
        e for e in live_api.store.list_audit_events("ledgerly").items if e.target == f"escalation:{escalation_id}"
    ]
    assert {e.action for e in events} == {"escalation.created", "escalation.updated", "escalation.status_changed"}
    assert all(e.actor.startswith("key:") for e in events)
    assert all(CONTACT not in e.details for e in events)

    # The queue is staff-only and tenant-bound.
    for role in ("widget", "analyst"):
        assert _call(live_api, "GET", "/v1/escalations", live_api.keys[role]).status_code == 403
        patch = _call(live_api, "PATCH", f"/v1/escalations/{escalation_id}", live_api.keys[role], {"status": "new"})
        assert patch.status_code == 403
    other = live_api.other["agent"]
    assert _listed(live_api, other, escalation_id) is None
    assert _call(live_api, "PATCH", f"/v1/escalations/{escalation_id}", other, {"status": "new"}).status_code == 404
    assert _call(live_api, "PATCH", f"/v1/escalations/{uuid4()}", agent, {"status": "new"}).status_code == 404
    assert _call(live_api, "PATCH", f"/v1/escalations/{escalation_id}", agent, {}).status_code == 422
    bad = _call(live_api, "PATCH", f"/v1/escalations/{escalation_id}", agent, {"status": "closed"})
    assert bad.status_code == 422

    # A contact that is not an address is refused, and named as the field at fault.
    refused = _call(live_api, "POST", "/v1/escalations", widget, {**body, "contact": "derek at example"})
    assert refused.status_code == 422 and "contact" in refused.json()["detail"]

    # Never logged (raw records, before the log redactor), never a metric label.
    logged = "\n".join(f"{r.getMessage()} {r.__dict__}" for r in caplog.records)
    assert CONTACT not in logged and "derek at example" not in logged
    assert CONTACT not in httpx.get(f"{live_api.base_url}/metrics", timeout=30).text


def test_a_configured_key_seals_the_contact_at_rest(live_api: LiveApi, tmp_path: Any) -> None:
    """With DESKPILOT_CONSOLE_CONTACT_KEY, the row (and the spool) hold the contact sealed; the queue opens it."""
    key = Fernet.generate_key().decode()
    store = live_api.store
    recorder = StoreRecorder(store, DurableWriter(store, Spool(tmp_path / "spool")), ContactSealer(key))
    widget = Principal(tenant="ledgerly", role=Role.widget, subject="key:test", via="key")
    escalation_id, status = recorder.escalation(
        EscalationRequest(reason="widget: customer asked for a person", contact=CONTACT), widget
    )
    assert status == "stored"
    with store.engine.connect() as connection:
        raw = connection.execute(text("SELECT contact FROM escalations WHERE id = :id"), {"id": escalation_id}).scalar()
    assert str(raw).startswith(SEALED_PREFIX) and CONTACT not in str(raw)
    listed = recorder.escalations("ledgerly", 1, 50, "new")
    assert next(i for i in listed.items if i.id == escalation_id).contact == CONTACT
    # A process without the key shows no address rather than the sealed text.
    keyless = StoreRecorder(store, DurableWriter(store, Spool(tmp_path / "spool2")), ContactSealer(None))
    assert next(i for i in keyless.escalations("ledgerly", 1, 50, "new").items if i.id == escalation_id).contact == ""
