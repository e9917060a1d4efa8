"""The hand-off journey in real headless Chromium (Debian's, driven by Playwright): a customer asks in the widget of
the demo help center, escalates and leaves an e-mail; the ticket appears in ava's inbox with the conversation;
ava assigns it to herself. `python -m ui.console.launch` serves the API and the console in one process over a
copy of the indexed samples, with a contact key configured (the API seals the address, the console opens it).
Screenshots are kept in ``artifacts/console/``.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from playwright.sync_api import Page, expect
from sqlalchemy import text

from feedback.settings import FeedbackSettings
from feedback.store import FeedbackStore
from tests.browser import chromium, needs_chromium, watched_page
from tests.console.support import free_port, wait_until_up
from ui.console.contacts import SEALED_PREFIX
from ui.console.settings import DEMO_PASSWORD

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "artifacts" / "console"
QUESTION = "Can I pay my invoice with bitcoin?"
CONTACT = "maria.lopez@example.org"
SLOW_MS = 180_000
STEP_MS = 30_000

pytestmark = needs_chromium


@pytest.fixture(scope="module")
def launched(sample_state: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str, Path]]:
    """The console and the API in one process; yields (console url, API url, data dir)."""
    root = tmp_path_factory.mktemp("handoff-browser")
    state = root / "state"
    shutil.copytree(sample_state, state)
    console_port, api_port = free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("DESKPILOT_")}
    env["DESKPILOT_CONSOLE_CONTACT_KEY"] = Fernet.generate_key().decode()
    log = root / "launch.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "ui.console.launch",
                "--data-dir",
                str(state),
                "--port",
                str(console_port),
                "--api-port",
                str(api_port),
            ],
            cwd=REPO,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        try:
            api, console = f"http://127.0.0.1:{api_port}", f"http://127.0.0.1:{console_port}"
            wait_until_up(f"{api}/readyz", process, log, seconds=180)
            wait_until_up(f"{console}/_stcore/health", process, log, seconds=180)
            yield console, api, state
        finally:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
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


def test_a_customer_handoff_reaches_ava_with_the_conversation(launched: tuple[str, str, Path]) -> None:
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
            page.goto(console)
            page.get_by_label("Username").fill("ava")
            page.get_by_role("textbox", name="Password").fill(DEMO_PASSWORD)
            page.get_by_role("button", name="Sign in").click()
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
            _shot(page, "handoff-ticket")
            page.get_by_role("button", name="Assign to me").click()
            expect(main.get_by_text("hand-off assigned").first).to_be_visible(timeout=STEP_MS)
            expect(main.get_by_text("assignee: ava", exact=False).first).to_be_visible()
            _shot(page, "handoff-assigned")
    with FeedbackStore.open(FeedbackSettings(data_dir=state)) as store:
        stored = store.get_escalation(escalation_id, "ledgerly")
    assert stored is not None and (stored.status, stored.assignee) == ("assigned", "ava")
