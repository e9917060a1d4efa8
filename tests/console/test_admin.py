"""The admin page: index stats, ingest of an uploaded file, feature flags, API keys."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

from assistant.records import Question
from tests.console.support import Console, login

ARTICLE = b"""---
title: Redeem a gift card
article_id: LED-9001
url: https://help.ledgerly.example/hc/en/articles/LED-9001-redeem-a-gift-card
---

# Redeem a gift card

## Where to redeem

Open Settings > Billing > Redeem code and enter the 16-character gift card code.

## How long a code is valid

A Ledgerly gift card code stays valid for 24 months after it was bought. Expired codes cannot be extended.
"""


def _admin(console: Console) -> AppTest:
    at = login("sam")
    assert not at.exception, at.exception
    return at


def test_admin_sees_index_stats_and_ingests_an_upload(console: Console) -> None:
    at = _admin(console)
    stats = console.services.index_stats()
    shown = {m.label: m.value for m in at.metric}
    assert shown["Chunks (all tenants)"] == f"{stats.points:,}"
    assert shown["Index version"] == console.services.retrieval.manifest.version()

    at.file_uploader(key="ingest_file").set_value(("gift cards.md", ARTICLE, "text/markdown"))
    at.selectbox(key="ingest_tenant").set_value("ledgerly")
    at.button(key="ingest_submit").click().run()
    assert not at.exception, at.exception
    assert any("Ingested gift cards.md" in s.value or "chunks added" in s.value for s in at.success)
    entries = console.services.retrieval.manifest.entries()
    assert "ledgerly-gift-cards.md" in entries and entries["ledgerly-gift-cards.md"].tenant == "ledgerly"
    runs = console.services.ingest_log.runs()
    assert runs[0].files == ("ledgerly-gift-cards.md",) and runs[0].chunks_added > 0 and runs[0].actor == "console:sam"

    answer = console.services.assistant.answer(
        Question(text="How long is a gift card code valid?", tenant="ledgerly", channel="widget")
    )
    assert not answer.abstained and any("gift" in c.doc_id for c in answer.citations), answer.text
    assert "24 months" in answer.text


def test_admin_manages_flags_and_api_keys(console: Console) -> None:
    at = _admin(console)
    at.toggle(key="flag:ledgerly:force_abstain").set_value(True)
    at.toggle(key="flag:ledgerly:llm_enabled").set_value(False)
    at.button(key="flags_submit:ledgerly").click().run()
    assert not at.exception, at.exception
    flags = console.services.flags.get("ledgerly")
    assert flags.force_abstain and not flags.llm_enabled and flags.updated_by == "console:sam"
    assert console.services.flags.get("parcelpoint").llm_enabled, "other tenants keep their switches"
    question = Question(text="How long does the password reset link stay valid?", tenant="ledgerly", channel="agent")
    forced = console.services.assistant.answer(question)
    assert forced.abstained and "flag:force_abstain" in forced.flags, "the switch applies to the next answer"

    # Switched back through the page, so the other tests of this session see the defaults again.
    at.toggle(key="flag:ledgerly:force_abstain").set_value(False)
    at.toggle(key="flag:ledgerly:llm_enabled").set_value(True)
    at.button(key="flags_submit:ledgerly").click().run()
    assert not at.exception, at.exception
    restored = console.services.flags.get("ledgerly")
    assert not restored.force_abstain and restored.llm_enabled
    assert not console.services.assistant.answer(question).abstained
    changes = [e for e in console.store.list_audit_events("ledgerly").items if e.action == "flags.changed"]
    assert len(changes) >= 2 and all(e.actor == "console:sam" for e in changes)

    at.selectbox(key="key_tenant").set_value("parcelpoint")
    at.selectbox(key="key_role").set_value("widget")
    at.text_input(key="key_name").input("parcelpoint help center")
    at.button(key="create_key_submit").click().run()
    assert not at.exception, at.exception
    plaintext = at.code[0].value
    record = console.store.verify_api_key(plaintext)
    assert record is not None and (record.tenant, record.role, record.name) == (
        "parcelpoint",
        "widget",
        "parcelpoint help center",
    )

    at.selectbox(key="revoke_choice").set_value(record.id)
    at.button(key="revoke_submit").click().run()
    assert not at.exception, at.exception
    assert console.store.verify_api_key(plaintext) is None
    audit = [e.action for e in console.store.list_audit_events("parcelpoint").items]
    assert "api_key.created" in audit and "api_key.revoked" in audit
