"""Stored customer text is shown as text, in real headless Chromium (Debian's, driven by Playwright).

`python -m ui.console.launch` serves the API and the console in one process over a copy of the indexed
samples. A public widget key posts a question, a vote comment and an escalation full of Markdown, HTML and
image payloads pointing at an outside host; a ticket in the inbox carries them in its subject and sender.
Analyst and agent then open them: the browser must request nothing outside the machine and show no link to
that host, and the payloads must be readable as the text they are.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from playwright.sync_api import Page, expect

from feedback.settings import FeedbackSettings
from feedback.store import FeedbackStore
from tests.browser import chromium, needs_chromium, watched_page
from tests.console.support import launched_console
from ui.console.settings import DEMO_PASSWORD, ConsoleSettings
from ui.console.tickets import TicketStore

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "artifacts" / "console"
HOST = "evil.example"
MARKDOWN = f"![beacon](https://{HOST}/beacon.png) [reset it here](https://{HOST}/phish) **bold**"
HTML = f'<img src="https://{HOST}/img.png"> <a href="https://{HOST}/a">a link</a> <https://{HOST}/auto>'
BARE = f"https://{HOST}/bare www.{HOST}"
SLOW_MS = 180_000
STEP_MS = 30_000

pytestmark = needs_chromium


@pytest.fixture(scope="module")
def launched(sample_state: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str, str]]:
    """The console and the API in one process; yields (console url, API url, a ledgerly widget key)."""
    root = tmp_path_factory.mktemp("stored-text")
    state = root / "state"
    shutil.copytree(sample_state, state)
    with FeedbackStore.open(FeedbackSettings(data_dir=state)) as store:
        _, key = store.create_api_key("ledgerly", "widget", "help center")
    # A ticket stored before redaction at rest existed: its sender is whatever the mail said.
    inbox = TicketStore(ConsoleSettings(data_dir=state).resolved_console_dir() / "tickets.json")
    inbox.add("ledgerly", f"Hello, {HTML}", subject=f"Refund {MARKDOWN}", customer_name=f"{HTML} {BARE}")
    with launched_console(state, root / "launch.log") as (console, api):
        yield console, api, key


def _post(api: str, path: str, key: str, body: dict[str, object]) -> httpx.Response:
    response = httpx.post(f"{api}{path}", json=body, headers={"X-API-Key": key}, timeout=60)
    assert response.status_code in (200, 202), response.text
    return response


def _sign_in(page: Page, url: str, username: str) -> None:
    page.get_by_label("Username").fill(username)
    page.get_by_role("textbox", name="Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Sign in").click()


def _outside(requested: list[str]) -> list[str]:
    return [
        u
        for u in requested
        if urlsplit(u).scheme in ("http", "https", "ws", "wss")
        and urlsplit(u).hostname not in ("127.0.0.1", "localhost")
    ]


def test_widget_payloads_are_text_in_the_console(launched: tuple[str, str, str]) -> None:
    console, api, key = launched
    question = f"How long does the password reset link stay valid? {MARKDOWN}"
    iid = _post(api, "/v1/answer", key, {"question": question}).json()["interaction_id"]
    _post(api, "/v1/feedback", key, {"interaction_id": iid, "thumbs": "down", "comment": f"{MARKDOWN} {HTML} {BARE}"})
    conversation = [{"role": "customer", "text": HTML}, {"role": "agent", "text": MARKDOWN}]
    _post(
        api,
        "/v1/escalations",
        key,
        {"interaction_id": iid, "reason": f"{MARKDOWN} {BARE}", "conversation": conversation},
    )

    with chromium() as browser, watched_page(browser, width=1440, height=1000, timeout_ms=STEP_MS) as page:
        requested: list[str] = []
        page.on("request", lambda r: requested.append(r.url))
        page.goto(f"{console}/?interaction={iid}")
        _sign_in(page, console, "nora")
        detail = page.get_by_text(f"Interaction {iid}")
        expect(detail).to_be_visible(timeout=SLOW_MS)
        main = page.get_by_test_id("stMainBlockContainer")
        expect(main.get_by_text("[reset it here]", exact=False).first).to_be_visible()
        page.wait_for_timeout(1500)  # let images or beacons, if any were rendered, be requested
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=ARTIFACTS / "stored-text-analyst.png", full_page=True)
        assert page.locator(f"a[href*='{HOST}']").count() == 0
        assert page.locator(f"img[src*='{HOST}']").count() == 0
        assert _outside(requested) == []
        shown = main.locator(".dp-prose").all_inner_texts()
        comment = f"“{MARKDOWN} {HTML} {BARE}”"
        assert comment in shown, shown  # the vote comment, exactly as written
        # The escalation's reason, as written; the client's conversation is ignored (the server builds it).
        assert any(text.startswith(f"{MARKDOWN} {BARE}") for text in shown), shown

    with chromium() as browser, watched_page(browser, width=1440, height=1000, timeout_ms=STEP_MS) as page:
        requested = []
        page.on("request", lambda r: requested.append(r.url))
        page.goto(console)
        _sign_in(page, console, "ava")
        expect(page.get_by_text("Pick a ticket from the inbox")).to_be_visible(timeout=SLOW_MS)
        page.get_by_text("Refund ![beacon]", exact=False).first.click()
        expect(page.locator(".dp-subject")).to_contain_text("![beacon](", timeout=STEP_MS)
        expect(page.get_by_test_id("stMainBlockContainer").get_by_text("<img src=", exact=False).first).to_be_visible()
        page.wait_for_timeout(1500)
        page.screenshot(path=ARTIFACTS / "stored-text-agent.png", full_page=True)
        assert page.locator(f"a[href*='{HOST}']").count() == 0
        assert page.locator(f"img[src*='{HOST}']").count() == 0
        assert _outside(requested) == []
