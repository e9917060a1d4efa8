"""The hand-off journey in real headless Chromium (Debian's, driven by Playwright), as issue 18 states it:

1. a customer asks in the widget of the demo help center, escalates and leaves an e-mail;
2. the ticket appears in ava's inbox with the conversation;
3. ava assigns it to herself, edits the draft and sends it;
4. the SMTP server on loopback (aiosmtpd) receives a customer-ready message: source links, no ``[n]``;
5. the escalation shows as resolved;
6. nora's dashboard counts it under the documented definitions (escalated within the window: not deflected).

`python -m ui.console.launch` serves the API and the console in one process over a copy of the indexed samples,
with a contact key configured (the API seals the address, the console opens it). Screenshots are kept in
``artifacts/console/``.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from playwright.sync_api import Page, expect
from sqlalchemy import text

from feedback.settings import FeedbackSettings
from feedback.store import FeedbackStore
from tests.browser import chromium, needs_chromium, watched_page
from tests.console.support import launched_console, smtp_env
from tests.mailbox import Mailbox, smtp_server
from ui.console import kpis
from ui.console.contacts import SEALED_PREFIX
from ui.console.settings import DEMO_PASSWORD

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "artifacts" / "console"
QUESTION = "How long does the password reset link stay valid?"
CONTACT = "maria.lopez@example.org"
ADDED = "I have also sent you a new link just now."
BARE_MARKER = re.compile(r"\[\d+(?:\s*,\s*\d+)*\]")
PLACEHOLDER = re.compile(r"<[A-Z][A-Z0-9_]*>")
SLOW_MS = 180_000
STEP_MS = 30_000

pytestmark = needs_chromium


@pytest.fixture(scope="module")
def mailbox() -> Iterator[Mailbox]:
    """The SMTP server on loopback the console delivers replies to."""
    with smtp_server() as box:
        yield box


@pytest.fixture(scope="module")
def launched(
    sample_state: Path, tmp_path_factory: pytest.TempPathFactory, mailbox: Mailbox
) -> Iterator[tuple[str, str, Path]]:
    """The console and the API in one process, delivering by e-mail to ``mailbox``; yields (console url, API url,
    data dir)."""
    root = tmp_path_factory.mktemp("handoff-browser")
    state = root / "state"
    shutil.copytree(sample_state, state)
    log = root / "launch.log"
    env = {"DESKPILOT_CONSOLE_CONTACT_KEY": Fernet.generate_key().decode(), **smtp_env(mailbox.host, mailbox.port)}
    with launched_console(state, log, env) as (console, api):
        yield console, api, state
    assert CONTACT not in log.read_text(errors="replace"), "the contact never reaches the process's log"


def _shot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.wait_for_timeout(500)
    page.screenshot(path=ARTIFACTS / f"{name}.png")


def _escalate_in_the_widget(page: Page, api: str) -> str:
    page.goto(f"{api}/demo/ledgerly")
    page.get_by_role("button", name="Help", exact=True).click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_role("textbox", name="Your question").fill(QUESTION)
    with page.expect_response(lambda r: r.url.endswith("/v1/answer"), timeout=STEP_MS):
        dialog.get_by_role("button", name="Ask", exact=True).click()
    dialog.get_by_role("button", name="Contact support").click()
    dialog.get_by_role("textbox", name="Your e-mail address").fill(CONTACT)
    with page.expect_response(lambda r: r.url.endswith("/v1/escalations")) as escalated:
        dialog.get_by_role("button", name="Send to support").click()
    assert escalated.value.status == 202, escalated.value.text()
    expect(dialog.locator(".confirm").get_by_text(f"will reply to {CONTACT}")).to_be_visible()
    return str(escalated.value.json()["id"])


def _sign_in(page: Page, console: str, username: str) -> None:
    page.goto(console)
    page.get_by_label("Username").fill(username)
    page.get_by_role("textbox", name="Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Sign in").click()


def test_a_customer_handoff_reaches_ava_who_answers_it(launched: tuple[str, str, Path], mailbox: Mailbox) -> None:
    console, api, state = launched
    with chromium() as browser:
        with watched_page(browser, width=1280, height=860, timeout_ms=STEP_MS) as customer:
            escalation_id = _escalate_in_the_widget(customer, api)
        with FeedbackStore.open(FeedbackSettings(data_dir=state)) as store, store.engine.connect() as connection:
            raw = str(
                connection.execute(text("SELECT contact FROM escalations WHERE id = :i"), {"i": escalation_id}).scalar()
            )
        assert raw.startswith(SEALED_PREFIX) and CONTACT not in raw, "sealed at rest under the configured key"

        with watched_page(browser, width=1440, height=1000, timeout_ms=STEP_MS) as page:
            _sign_in(page, console, "ava")
            expect(page.get_by_text("Pick a ticket from the inbox")).to_be_visible(timeout=SLOW_MS)
            page.get_by_text("New", exact=True).first.click()
            item = page.get_by_text(QUESTION[:30], exact=False).first
            expect(item).to_be_visible(timeout=STEP_MS)
            item.click()
            main = page.get_by_test_id("stMainBlockContainer")
            expect(main.get_by_text("hand-off new").first).to_be_visible(timeout=STEP_MS)
            expect(main.get_by_text(CONTACT, exact=False).first).to_be_visible()
            turn = page.locator(".dp-turn-customer").first
            expect(turn).to_contain_text(QUESTION)
            expect(page.locator(".dp-turn-assistant").first).to_be_visible()
            # The draft is written before Ava acts: a click while the page is still running can be lost (a
            # combined run once lost both the click and the selected ticket; next session looks into it).
            expect(page.get_by_text(f"To: {CONTACT}")).to_be_visible(timeout=SLOW_MS)
            expect(page.get_by_label("Reply to send")).to_be_visible(timeout=SLOW_MS)
            _shot(page, "handoff-ticket")
            page.get_by_role("button", name="Assign to me").click()
            expect(main.get_by_text("hand-off assigned").first).to_be_visible(timeout=STEP_MS)
            expect(main.get_by_text("assignee: ava", exact=False).first).to_be_visible()
            _shot(page, "handoff-assigned")

            # Ava edits the draft and sends it: it goes out by e-mail to the address the customer left.
            expect(page.get_by_text(f"To: {CONTACT}")).to_be_visible(timeout=SLOW_MS)
            reply = page.get_by_label("Reply to send")
            assert BARE_MARKER.search(reply.input_value()), "the editable draft keeps its citations"
            reply.focus()
            page.keyboard.press("Control+End")
            page.keyboard.type(f"\n\nP.S. {ADDED}")
            page.keyboard.press("Control+Enter")
            expect(main.get_by_text(f"Reply sent: e-mailed to {CONTACT}")).to_be_visible(timeout=STEP_MS)
            [mail] = mailbox.wait()
            body = mail.part("plain")
            assert mail.rcpt_tos == [CONTACT], mail.rcpt_tos
            assert f"P.S. {ADDED}" in body and "Best regards,\nAva" in body, body
            assert not BARE_MARKER.search(body) and not PLACEHOLDER.search(body), body
            assert re.search(r"\nSources:\n- [^\n]+: https://help\.ledgerly\.example/\S+", body), body
            assert "https://help.ledgerly.example/" in mail.part("html")
            expect(main.get_by_text("hand-off resolved").first).to_be_visible(timeout=STEP_MS)
            _shot(page, "handoff-sent")

    with FeedbackStore.open(FeedbackSettings(data_dir=state)) as store:
        stored = store.get_escalation(escalation_id, "ledgerly")
        assert stored is not None and (stored.status, stored.assignee) == ("resolved", "ava")
        data = kpis.load(store, None)
    outcomes = kpis.widget_outcomes(data)
    assert stored.interaction_id is not None and outcomes[stored.interaction_id] == "escalated", outcomes

    # Nora's dashboard, on the widget channel: the hand-off counts as escalated, so it is not deflected.
    with chromium() as browser, watched_page(browser, width=1440, height=1000, timeout_ms=STEP_MS) as page:
        _sign_in(page, console, "nora")
        tile = page.get_by_test_id("stMetric").filter(has_text="Deflection rate")
        expect(tile).to_be_visible(timeout=SLOW_MS)
        _shot(page, "handoff-dashboard")
        shown = kpis.compute(data).deflection_rate
        expect(tile).to_contain_text(f"{shown * 100:.1f}%" if shown is not None else "—")
        assert shown is None or shown < 1.0, "the escalated widget answer is not counted as deflected"
