"""Sealing a ticket's contact fields at rest (ui/console/contacts.py) with real Fernet keys. The inbox test's
redactor is a stand-in that replaces one phone number: the real one, through the console, is tests/test_pii_at_rest.py's."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from ui.console.contacts import SEALED_PREFIX, ContactSealer
from ui.console.tickets import TicketStore


def test_sealed_fields_open_with_their_key_only() -> None:
    key = Fernet.generate_key().decode()
    sealed = ContactSealer(key).seal("Maria López")
    assert sealed.startswith(SEALED_PREFIX) and "Maria" not in sealed
    assert ContactSealer(key).open(sealed) == "Maria López"
    assert ContactSealer(Fernet.generate_key().decode()).open(sealed) == "", "another key (a restart) reads nothing"
    assert ContactSealer().open(sealed) == ""
    assert ContactSealer(key).seal("  ") == ""
    assert ContactSealer(key).open("<PERSON>") == "" and ContactSealer(key).open("Jo") == "Jo"


def test_a_bad_key_names_the_setting() -> None:
    with pytest.raises(ValueError, match="DESKPILOT_CONSOLE_CONTACT_KEY"):
        ContactSealer("not-a-key")


def test_the_inbox_file_keeps_no_name_or_address_but_the_store_reads_them(tmp_path: Path) -> None:
    key = Fernet.generate_key().decode()
    redact = lambda text: text.replace("555-0100", "<PHONE_NUMBER>")  # noqa: E731
    store = TicketStore(tmp_path / "tickets.json", redact, ContactSealer(key))
    added = store.add("ledgerly", "Call me on 555-0100", customer_name="Maria Lopez", customer_email="m@x.example")
    assert (added.customer_name, added.customer_email) == ("Maria Lopez", "m@x.example")
    on_disk = store.path.read_text(encoding="utf-8")
    assert "Maria" not in on_disk and "m@x.example" not in on_disk and "555-0100" not in on_disk
    updated = store.update(added.ticket_id, status="sent")
    assert updated.customer_name == "Maria Lopez"
    again = TicketStore(store.path, store.redact, ContactSealer(key)).get(added.ticket_id)
    assert again is not None and again.addressee == "Maria Lopez"
