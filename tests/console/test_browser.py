"""The running console in real headless Chromium (Debian's /usr/bin/chromium, driven by Playwright).

`streamlit run ui/console/app.py` is started as a subprocess over its own copy of the indexed samples,
with the documented demo users, delivering by e-mail to a real SMTP server on loopback. An agent signs in
and handles a ticket end to end, from the keyboard where a keyboard user would (sign-in, send with
Ctrl+Enter, escalate with Alt+X); the rows must land in the feedback store and the e-mail in the mailbox.
The draft greets the customer by name and is signed by the agent; what is sent has no ``[n]`` marker and no
redaction placeholder, and lists its sources as links. Moving to the next ticket (Alt+J) never shows the
previous ticket's draft under the new one's header. Screenshots are kept in ``artifacts/console/``.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Locator, Page, expect

from feedback.settings import FeedbackSettings
from feedback.store import FeedbackStore
from tests.browser import chromium, needs_chromium, watched_page
from tests.console.support import free_port, smtp_env
from tests.mailbox import Mailbox, smtp_server
from ui.console import ENTRY, demo
from ui.console.settings import DEMO_PASSWORD
from ui.settings import AppSettings
from ui.wiring import Retrieval

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "artifacts" / "console"
BARE_MARKER = re.compile(r"\[\d+(?:\s*,\s*\d+)*\]")
PLACEHOLDER = re.compile(r"<[A-Z][A-Z0-9_]*>")
TICKET = "Hi, how long does the password reset link stay valid? Mine says expired. Call me on 555-0100."
SLOW_MS = 180_000  # the first page after sign-in loads the models
STEP_MS = 30_000

pytestmark = needs_chromium


@pytest.fixture(scope="module")
def mailbox() -> Iterator[Mailbox]:
    """The SMTP server on loopback the console delivers replies to."""
    with smtp_server() as box:
        yield box


@pytest.fixture(scope="module")
def console_url(
    sample_state: Path, tmp_path_factory: pytest.TempPathFactory, mailbox: Mailbox
) -> Iterator[tuple[str, Path]]:
    """`streamlit run ui/console/app.py` on a free port over a copy of the indexed samples."""
    state = tmp_path_factory.mktemp("console-browser") / "state"
    shutil.copytree(sample_state, state)
    settings = AppSettings.load(state)
    with Retrieval(settings) as retrieval, FeedbackStore.open(settings.feedback) as store:
        demo.seed(settings, days=7, per_day=2, retrieval=retrieval, store=store)  # a dashboard worth a look
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("DESKPILOT_")}
    env["DESKPILOT_DATA_DIR"] = str(state)
    env |= smtp_env(mailbox.host, mailbox.port)
    log = (state.parent / "streamlit.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", str(ENTRY), "--server.headless", "true", "--server.port", str(port)],
        cwd=REPO,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{url}/_stcore/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"streamlit did not start; see {log.name}")
            time.sleep(0.3)
        yield url, state
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """One headless Chromium for the module (never a downloaded browser)."""
    with chromium() as launched:
        yield launched


@pytest.fixture()
def page(browser: Browser) -> Iterator[Page]:
    """A fresh page; uncaught JavaScript errors fail the test."""
    with watched_page(browser, width=1440, height=1000, timeout_ms=STEP_MS) as tab:
        yield tab


def shot(page: Page, name: str, show: Locator | None = None) -> None:
    """Save a screenshot of the viewport, scrolled so that ``show`` is on it."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    if show is not None:
        show.scroll_into_view_if_needed()
    page.wait_for_timeout(400)  # let the last rerun paint
    page.screenshot(path=ARTIFACTS / f"{name}.png")


def sign_in_from_the_keyboard(page: Page, url: str, username: str) -> None:
    page.goto(url)
    page.get_by_label("Username").focus()
    page.keyboard.type(username)
    page.keyboard.press("Tab")
    page.keyboard.type(DEMO_PASSWORD)
    page.keyboard.press("Enter")


def test_agent_handles_a_ticket_in_the_browser(console_url: tuple[str, Path], page: Page, mailbox: Mailbox) -> None:
    url, state = console_url
    page.goto(url)
    expect(page.get_by_label("Username")).to_be_visible()
    shot(page, "01-sign-in")
    sign_in_from_the_keyboard(page, url, "ava")
    expect(page.get_by_text("Pick a ticket from the inbox")).to_be_visible(timeout=SLOW_MS)
    shot(page, "02-inbox")

    # A short pasted ticket: the sample tickets are long, several questions at once, and may get no draft.
    page.get_by_text("Paste a new ticket").click()
    page.get_by_role("textbox", name="Subject").fill("reset link expired")
    page.get_by_role("textbox", name="Customer name").fill("Maria Lopez")
    page.get_by_role("textbox", name="Customer e-mail").fill("maria.lopez@example.com")
    page.get_by_role("textbox", name="Message").fill(TICKET)
    page.get_by_role("button", name="Add to inbox").click()
    expect(page.locator(".dp-subject")).to_contain_text("reset link expired", timeout=STEP_MS)
    expect(page.locator(".dp-source mark").first).to_be_visible(timeout=STEP_MS)
    expect(page.locator(".dp-conf")).to_contain_text("confidence")
    expect(page.locator("a[href^='https://help.ledgerly.example/']:visible").first).to_be_visible()  # the sources
    expect(page.locator(".dp-answer")).to_have_count(0)  # the draft shows once: as the editable reply
    expect(page.get_by_text("To: maria.lopez@example.com")).to_be_visible()
    reply = page.get_by_label("Reply to send")
    draft = reply.input_value()
    assert draft.startswith("Hi Maria,\n\n") and draft.endswith("\n\nBest regards,\nAva"), draft
    assert BARE_MARKER.search(draft), "the editable draft keeps its citations"
    shot(page, "03-draft", reply)

    reply.focus()
    page.keyboard.press("Control+End")
    page.keyboard.type("\n\nP.S. I have also unlocked your sign-in. Call <PERSON> on <PHONE_NUMBER> if it locks again.")
    page.keyboard.press("Tab")  # the text is taken: the page warns about the placeholders it still holds
    main = page.get_by_test_id("stMainBlockContainer")
    expect(main.get_by_text("The reply holds redaction placeholders")).to_be_visible()
    main.get_by_text("Preview: the reply as the customer gets it").click()
    preview = page.locator(".dp-reply").first
    expect(preview).to_contain_text("Sources:")
    shot(page, "04-preview", preview)
    reply.focus()
    page.keyboard.press("Control+Enter")
    sent = main.get_by_text("Reply sent: e-mailed to maria.lopez@example.com")
    expect(sent).to_be_visible()
    box = page.locator(".st-key-sent_reply .dp-reply")
    expect(box).to_contain_text("Sources:")
    sent_text = box.inner_text()
    assert sent_text.startswith("Hi Maria,") and "Best regards,\nAva" in sent_text, sent_text
    assert not BARE_MARKER.search(sent_text) and not PLACEHOLDER.search(sent_text), sent_text
    expect(box.locator("a[href^='https://help.ledgerly.example/']").first).to_be_visible()
    shot(page, "05-sent", box)
    [mail] = mailbox.wait()
    text = mail.part("plain")
    print(f"--- the e-mail the customer got ---\n{mail.message}")
    assert mail.rcpt_tos == ["maria.lopez@example.com"] and mail.message["Subject"] == "Re: reset link expired"
    assert text.startswith("Hi Maria,\n\n") and "\n\nBest regards,\nAva\n\nP.S. " in text, text
    assert not BARE_MARKER.search(text) and not PLACEHOLDER.search(text), text
    assert re.search(r"\nSources:\n- [^\n]+: https://help\.ledgerly\.example/\S+", text), text

    page.locator("[data-testid=stButtonGroup] button", has_text="Not helpful").click()
    page.locator("[data-testid=stButtonGroup] button", has_text="missing info").click()
    comment = page.get_by_label("Comment")
    comment.fill("Misses what to do when the new link expires too")
    comment.press("Enter")  # submits the feedback form
    expect(main.get_by_text("Feedback saved: not helpful (missing info)")).to_be_visible()

    page.keyboard.press("Alt+X")
    escalated = main.get_by_text("Escalated to tier2")
    expect(escalated).to_be_visible()
    shot(page, "06-voted-and-escalated", escalated)

    with FeedbackStore.open(FeedbackSettings(data_dir=state)) as store:
        mine = [i for i in store.list_interactions("ledgerly", channel="agent").items if i.actor == "console:ava"]
        assert len(mine) == 1
        interaction = mine[0]
        assert "555-0100" not in interaction.question and "<PHONE_NUMBER>" in interaction.question
        edits = store.list_edits("ledgerly", interaction_id=interaction.id).items
        # The store keeps the reply as sent, redacted: no name of the customer's (or the agent's) at rest.
        assert len(edits) == 1 and edits[0].sent.endswith("\n\nP.S. I have also unlocked your sign-in.")
        assert edits[0].sent.startswith("Hi <PERSON>,") and "\nSources:\n- " in edits[0].sent
        assert "Maria" not in edits[0].sent and not BARE_MARKER.search(edits[0].sent)
        # The draft is stored as it would have gone out unedited: the distance is the agent's P.S. only.
        assert edits[0].draft.startswith("Hi <PERSON>,") and not BARE_MARKER.search(edits[0].draft)
        assert edits[0].sent == edits[0].draft + "\n\nP.S. I have also unlocked your sign-in."
        votes = store.list_feedback("ledgerly", interaction_id=interaction.id).items
        assert [(v.thumbs, v.reason_codes, v.comment) for v in votes] == [
            ("down", ("missing_info",), "Misses what to do when the new link expires too")
        ]
        escalations = [e for e in store.list_escalations("ledgerly").items if e.actor == "console:ava"]
        assert [(e.interaction_id, e.queue) for e in escalations] == [(interaction.id, "tier2")]


def test_analyst_dashboard_in_the_browser(console_url: tuple[str, Path], page: Page) -> None:
    url, state = console_url
    with FeedbackStore.open(FeedbackSettings(data_dir=state)) as store:
        answers = store.counts(None).interactions
    sign_in_from_the_keyboard(page, url, "nora")
    expect(page.get_by_text("Thumbs-up rate", exact=True).first).to_be_visible(timeout=SLOW_MS)
    expect(page.locator("[data-testid=stMetricValue]").first).to_have_text(str(answers), timeout=STEP_MS)
    expect(page.get_by_text("Rates, rolling 7 days")).to_be_visible()
    page.wait_for_timeout(1500)  # let the charts draw
    page.screenshot(path=ARTIFACTS / "07-dashboard.png", full_page=True)
    page.get_by_role("tab", name="Content gaps").click()
    expect(page.get_by_text("grouped by meaning")).to_be_visible()
    shot(page, "08-content-gaps", page.get_by_text("grouped by meaning"))
    for name, text in (("Customer satisfaction", "CSAT (Yes)"), ("Agents", "Drafts each agent sent")):
        page.get_by_role("tab", name=name).click()
        expect(page.get_by_text(text).first).to_be_visible()
    page.wait_for_timeout(1000)
    page.screenshot(path=ARTIFACTS / "09-dashboard-agents.png", full_page=True)

    # Opening an interaction from the Interactions tab keeps that tab (it used to jump back to Overview).
    tab = page.get_by_role("tab", name="Interactions")
    tab.click()
    expect(tab).to_have_attribute("aria-selected", "true")
    expect(page).to_have_url(re.compile(r"[?&]tab=Interactions"))
    grid = page.locator(".st-key-interactions_table")
    expect(grid).to_be_visible()
    grid.scroll_into_view_if_needed()
    page.wait_for_timeout(500)
    box = grid.bounding_box()
    assert box is not None
    page.mouse.click(box["x"] + 18, box["y"] + 52)  # the first row's selection box
    expect(page.get_by_text(re.compile(r"^Interaction [0-9a-f-]{36}$"))).to_be_visible(timeout=STEP_MS)
    expect(page).to_have_url(re.compile(r"[?&]interaction="))
    expect(page.get_by_role("tab", name="Interactions")).to_have_attribute("aria-selected", "true")
    shot(page, "10-interaction-kept-tab")
    page.get_by_role("button", name="Close").click()
    expect(page.get_by_text(re.compile(r"^Interaction [0-9a-f-]{36}$"))).to_be_hidden()
    expect(page.get_by_role("tab", name="Interactions")).to_have_attribute("aria-selected", "true")


SNAPSHOTS = """
window.__dpLog = [];
const keyOf = (el, prefix) => [...el.classList].find((c) => c.startsWith(prefix));
const snap = () => {
  const meta = [...document.querySelectorAll('.dp-meta')].map((m) => m.innerText).find((t) => /^T-\\d+ ·/.test(t));
  window.__dpLog.push({
    header: meta ? meta.split(' ')[0] : '',
    drafts: [...document.querySelectorAll('[class*="st-key-draft_"]')].map((e) => keyOf(e, 'st-key-draft_')),
    sources: [...document.querySelectorAll('[class*="st-key-sources_"]')].map((e) => keyOf(e, 'st-key-sources_')),
  });
};
new MutationObserver(snap).observe(document.body, {subtree: true, childList: true, characterData: true, attributes: true});
"""


def test_next_ticket_never_shows_the_previous_draft(console_url: tuple[str, Path], page: Page) -> None:
    """Alt+J moves to the next ticket: from the moment its header shows, no other ticket's draft or sources
    are on the page (every DOM change is recorded), and once drafted, its draft shows once."""
    url, _ = console_url
    sign_in_from_the_keyboard(page, url, "ava")
    expect(page.get_by_text("Pick a ticket from the inbox")).to_be_visible(timeout=SLOW_MS)
    main = page.get_by_test_id("stMainBlockContainer")
    # The shortcut belongs to the inbox's Next button: pressed before that is drawn, it does nothing.
    expect(page.locator(".st-key-next_ticket button")).to_be_visible(timeout=SLOW_MS)
    page.wait_for_timeout(1000)
    page.keyboard.press("Alt+J")
    expect(main.locator('[class*="st-key-draft_"]')).to_have_count(1, timeout=SLOW_MS)
    expect(main.locator('[class*="st-key-sources_"]')).to_have_count(1, timeout=SLOW_MS)
    first = page.locator(".dp-subject").inner_text()
    first_id = main.locator('[class*="st-key-draft_"]').get_attribute("class") or ""
    page.evaluate(SNAPSHOTS)
    page.keyboard.press("Alt+J")
    expect(page.locator(".dp-subject")).not_to_have_text(first, timeout=SLOW_MS)
    expect(main.locator('[class*="st-key-sources_"]')).to_have_count(1, timeout=SLOW_MS)
    page.wait_for_timeout(1500)  # let the run finish
    log = page.evaluate("window.__dpLog")
    headers = [entry["header"] for entry in log if entry["header"]]
    assert headers, "no DOM change was recorded"
    second = headers[-1]
    assert f"st-key-draft_{second}" not in first_id, (second, first_id)
    for entry in log:
        if entry["header"] == second:
            assert set(entry["drafts"]) <= {f"st-key-draft_{second}"}, entry
            assert set(entry["sources"]) <= {f"st-key-sources_{second}"}, entry
    assert log[-1]["drafts"] == [f"st-key-draft_{second}"], log[-1]
    assert log[-1]["sources"] == [f"st-key-sources_{second}"], log[-1]
    shot(page, "09-next-ticket")
