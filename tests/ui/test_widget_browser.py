"""The customer widget in real headless Chromium (Playwright driving Debian's /usr/bin/chromium).

The demo help-center page is served by the real API over the indexed sample help center; the widget
on it asks, votes and escalates, and the rows must land in the feedback store. Answers are laid out
(paragraphs, numbered steps) with superscript citation links and a Sources list, never a bare ``[n]``
and never a redaction placeholder. Screenshots are kept in ``artifacts/widget/``.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Protocol

import pytest
from playwright.sync_api import Browser, Locator, Page, Route, expect

from assistant.records import Question
from assistant.render import widget_blocks
from tests.browser import chromium, needs_chromium, watched_page

ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts" / "widget"
QUESTION = "How long does the password reset link stay valid?"
CONTACT = "derek.customer@example.org"
TENANT = "ledgerly"
ANSWER_TIMEOUT_MS = 30_000
BARE_MARKER = re.compile(r"\[\d+(?:\s*,\s*\d+)*\]")
PLACEHOLDER = re.compile(r"<[A-Z][A-Z0-9_]*>")

pytestmark = needs_chromium


class LiveApi(Protocol):
    """What ``tests/ui/conftest.py``'s ``live_api`` fixture yields."""

    base_url: str
    keys: dict[str, str]
    served: Any

    def count(self, kind: str, tenant: str) -> int: ...


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """One headless Chromium for the module (never a downloaded browser)."""
    with chromium() as launched:
        yield launched


@pytest.fixture()
def page(browser: Browser) -> Iterator[Page]:
    """A fresh page; uncaught JavaScript errors fail the test."""
    with watched_page(browser, width=1280, height=860, timeout_ms=10_000) as tab:
        yield tab


def open_demo(page: Page, live_api: LiveApi) -> None:
    page.goto(f"{live_api.base_url}/demo/{TENANT}")
    expect(launcher(page)).to_be_visible()


def launcher(page: Page) -> Locator:
    return page.get_by_role("button", name="Help", exact=True)


def open_from_keyboard(page: Page) -> None:
    """Shift+Tab from the top of the page reaches the launcher (the last stop in tab order); Enter opens it."""
    page.keyboard.press("Shift+Tab")
    expect(launcher(page)).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.get_by_role("dialog")).to_be_visible()


def shoot(page: Page, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / name
    page.screenshot(path=str(path))
    return path


def assert_reads_cleanly(page: Page) -> None:
    """The shown answer has no [n] marker and no placeholder; every citation is a number linked like the Sources."""
    shown = page.locator("#dp-answer").inner_text()
    assert not BARE_MARKER.search(shown), shown
    assert not PLACEHOLDER.search(page.locator("#deskpilot-widget .result").inner_text()), shown
    cites = page.locator("#dp-answer .cite")
    numbers = sorted({int(cites.nth(i).inner_text()) for i in range(cites.count())})
    sources = page.locator("#deskpilot-widget .result h3 + ol > li")
    assert numbers == list(range(1, sources.count() + 1)), (numbers, sources.count())


def wait_for_count(live_api: LiveApi, kind: str, expected: int, timeout_s: float = 5.0) -> int:
    deadline = time.monotonic() + timeout_s
    while True:
        got = live_api.count(kind, TENANT)
        if got >= expected or time.monotonic() > deadline:
            return got
        time.sleep(0.1)


def test_ask_vote_escalate_end_to_end(live_api: LiveApi, page: Page) -> None:
    """Ask from the keyboard, see a cited answer, answer No (one click), add a reason, escalate; rows are stored
    (the reason replaces the customer's vote: one vote per customer and answer)."""
    before = {kind: live_api.count(kind, TENANT) for kind in ("interaction", "feedback", "escalation")}
    open_demo(page, live_api)
    open_from_keyboard(page)
    box = page.get_by_role("textbox", name="Your question")
    expect(box).to_be_focused()
    assert box.evaluate("e => getComputedStyle(e).fontSize") == "16px", "below 16px iOS zooms into the field"
    page.keyboard.type(QUESTION)
    with page.expect_response(lambda r: r.url.endswith("/v1/answer"), timeout=ANSWER_TIMEOUT_MS) as answered:
        page.keyboard.press("Enter")
    assert answered.value.status == 200, answered.value.text()
    reply: dict[str, Any] = answered.value.json()

    answer = page.locator("#dp-answer")
    expect(answer).to_contain_text("60 minutes")
    cites = answer.locator("sup a.cite")
    assert cites.count() >= 1
    assert_reads_cleanly(page)
    hrefs = [cites.nth(i).get_attribute("href") or "" for i in range(cites.count())]
    assert all(href.startswith("https://") for href in hrefs), hrefs
    for i in range(cites.count()):
        expect(cites.nth(i)).to_have_attribute("target", "_blank")
        expect(cites.nth(i)).to_have_attribute("rel", "noopener noreferrer")
    first = reply["citations"][0]
    expect(page.get_by_role("link", name=first["title"], exact=True).first).to_have_attribute("href", first["url"])
    expect(page.get_by_text(f"{reply['confidence']['level'].capitalize()} confidence")).to_be_visible()
    shoot(page, "answer.png")

    dialog = page.get_by_role("dialog")
    expect(dialog.get_by_role("group", name="Did this answer your question?")).to_be_visible()
    with page.expect_request(lambda r: r.url.endswith("/v1/feedback")) as answered_no:
        dialog.get_by_role("button", name="No", exact=True).click()  # the one-question CSAT: one click records it
    assert answered_no.value.post_data_json == {
        "interaction_id": reply["interaction_id"],
        "thumbs": "down",
        "reasons": [],
        "comment": "",
    }
    dialog.get_by_role("checkbox", name="Information is missing").check()  # optional: replaces the vote
    dialog.get_by_role("textbox", name="Anything else? (optional)").fill("I also wanted to know about 2FA.")
    with page.expect_request(lambda r: r.url.endswith("/v1/feedback")) as voted:
        dialog.get_by_role("button", name="Send feedback").click()
    vote = voted.value.post_data_json
    assert vote == {
        "interaction_id": reply["interaction_id"],
        "thumbs": "down",
        "reasons": ["missing_info"],
        "comment": "I also wanted to know about 2FA.",
    }
    result = dialog.get_by_role("region", name="Answer")
    expect(result.get_by_text("Thanks for your feedback!", exact=True)).to_be_visible()

    # The e-mail is asked for only now, with what it is used for; nothing is sent until it is valid.
    expect(dialog.get_by_role("textbox", name="Your e-mail address")).to_have_count(0)
    sent: list[str] = []
    page.on("request", lambda r: sent.append(r.url) if r.url.endswith("/v1/escalations") else None)
    dialog.get_by_role("button", name="Contact support").click()
    email = dialog.get_by_role("textbox", name="Your e-mail address")
    expect(email).to_be_focused()
    assert email.evaluate("e => getComputedStyle(e).fontSize") == "16px"
    expect(dialog.get_by_text("We use this address only to reply to this request")).to_be_visible()
    email.fill("not-an-address")
    dialog.get_by_role("button", name="Send to support").click()
    expect(result.get_by_text("Please enter a valid e-mail address")).to_be_visible()
    expect(email).to_have_attribute("aria-invalid", "true")
    assert sent == []
    shoot(page, "email-step.png")
    email.fill(CONTACT)
    with page.expect_request(lambda r: r.url.endswith("/v1/escalations")) as escalated:
        dialog.get_by_role("button", name="Send to support").click()
    handoff: dict[str, Any] = escalated.value.post_data_json or {}
    asked: dict[str, Any] = answered.value.request.post_data_json or {}
    assert handoff["interaction_id"] == reply["interaction_id"]
    assert handoff["queue"] == "support" and handoff["contact"] == CONTACT
    assert handoff["conversation_id"] == asked["conversation_id"] and len(asked["conversation_id"]) == 32
    assert "conversation" not in handoff, "the server builds the conversation; the page sends no transcript"
    expect(result.get_by_text("Our support team has your conversation")).to_be_visible()
    expect(result.get_by_text(CONTACT, exact=False)).to_be_visible()
    expect(dialog.get_by_role("status")).to_contain_text("Our support team has your conversation")
    shoot(page, "escalated.png")

    for kind in before:
        assert wait_for_count(live_api, kind, before[kind] + 1) == before[kind] + 1, kind
    stored = live_api.served.store.get_escalation(handoff_id(page), TENANT)
    assert stored is not None and stored.contact == CONTACT and stored.channel == "widget"
    assert stored.conversation_id == asked["conversation_id"] and stored.status == "new"
    votes = live_api.served.store.list_feedback(TENANT, interaction_id=reply["interaction_id"]).items
    assert [(v.thumbs, v.reason_codes) for v in votes] == [("down", ("missing_info",))], "the reason replaced the No"


def handoff_id(page: Page) -> str:
    """The escalation id the widget shows as the reference."""
    text = page.locator("#deskpilot-widget .ref").inner_text()
    return text.split()[-1]


def test_keyboard_and_aria(live_api: LiveApi, page: Page) -> None:
    """A labelled dialog, a labelled question box, a polite live region; Escape returns focus to the launcher."""
    asked: list[str] = []
    page.on("request", lambda r: asked.append(r.url) if "/v1/" in r.url else None)
    open_demo(page, live_api)
    button = launcher(page)
    expect(button).to_have_attribute("aria-haspopup", "dialog")
    expect(button).to_have_attribute("aria-expanded", "false")

    open_from_keyboard(page)
    expect(button).to_have_attribute("aria-expanded", "true")
    dialog = page.get_by_role("dialog", name="Ask Ledgerly support")
    expect(dialog).to_be_visible()
    box = dialog.get_by_role("textbox", name="Your question")
    expect(box).to_be_focused()
    assert page.locator("#deskpilot-widget [role=status][aria-live=polite]").count() == 1

    page.keyboard.type("line one")
    page.keyboard.press("Shift+Enter")
    page.keyboard.type("line two")
    expect(box).to_have_value("line one\nline two")
    page.keyboard.press("Tab")
    expect(dialog.get_by_role("button", name="Ask", exact=True)).to_be_focused()

    box.fill("   ")
    box.press("Enter")
    expect(dialog.get_by_role("status")).to_have_text("Please type a question first.")
    assert asked == [], "an empty question must not reach the API"

    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    expect(button).to_be_focused()
    expect(button).to_have_attribute("aria-expanded", "false")
    outline = button.evaluate("el => getComputedStyle(el).outlineStyle")
    assert outline == "solid", "keyboard focus must be visible"

    page.keyboard.press("Enter")
    dialog.get_by_role("button", name="Close help").click()
    expect(dialog).to_be_hidden()
    expect(button).to_be_focused()


def test_theme_comes_from_host_css_variables(live_api: LiveApi, page: Page) -> None:
    """The demo page sets --dp-accent and --dp-radius; the widget (in its shadow root) uses them."""
    open_demo(page, live_api)
    accent = page.evaluate("getComputedStyle(document.documentElement).getPropertyValue('--dp-accent').trim()")
    assert accent == "#0f766e"
    expect(launcher(page)).to_have_css("background-color", "rgb(15, 118, 110)")
    open_from_keyboard(page)
    expect(page.locator("#dp-panel")).to_have_css("border-radius", "14px")


def fake_answer(route: Route, body: dict[str, Any], status: int = 200, headers: dict[str, str] | None = None) -> None:
    route.fulfill(status=status, content_type="application/json", body=json.dumps(body), headers=headers or {})


def test_server_text_is_rendered_as_text(live_api: LiveApi, page: Page) -> None:
    """Markup in server text stays text, and only http(s) urls become links.

    This test fakes the server's answer ON PURPOSE (``page.route``): the real pipeline would not
    return such text, and the point is to prove the widget escapes whatever a document contains.
    """
    hostile = {
        "answer": 'Reset it <img src=x onerror="window.__pwned=1"> here. [1] Or <script>window.__pwned=2</script> this. [2]'
        " Or read the upload. [3] Or the other one. [4]",
        "abstained": False,
        "confidence": {"level": "medium", "score": 0.5, "reason": "medium: <b>partly</b>"},
        "citations": [
            {
                "n": 1,
                "doc_id": "LED-1",
                "title": '<img src=x onerror="window.__pwned=3">Reset',
                "url": "https://help.example/a?q=<b>",
                "section": "<i>Accounts</i>",
                "snippet": "",
            },
            {
                "n": 2,
                "doc_id": "LED-2",
                "title": "Sneaky",
                "url": "javascript:window.__pwned=4",
                "section": "Security",
                "snippet": "",
            },
            # An article uploaded without a URL, and one with a relative URL: neither may link into the host page
            # (a null url used to resolve to /demo/null).
            {"n": 3, "doc_id": "up-1", "title": "No address", "url": None, "section": "", "snippet": ""},
            {"n": 4, "doc_id": "up-2", "title": "Relative", "url": "/help/x", "section": "", "snippet": ""},
        ],
        "timings_ms": {},
        "interaction_id": "fake-interaction",
        "request_id": "fake-request",
        "escalation_reason": "",
    }
    page.route("**/v1/answer", lambda route: fake_answer(route, hostile))
    open_demo(page, live_api)
    open_from_keyboard(page)
    page.keyboard.type("anything")
    page.keyboard.press("Enter")

    answer = page.locator("#dp-answer")
    expect(answer).to_contain_text('<img src=x onerror="window.__pwned=1">')
    expect(answer).to_contain_text("<script>window.__pwned=2</script>")
    widget = page.locator("#deskpilot-widget")
    for tag in ("img", "script", "b", "i"):
        assert widget.locator(f".result {tag}").count() == 0, tag
    title = '<img src=x onerror="window.__pwned=3">Reset'
    expect(page.get_by_role("link", name=title, exact=True)).to_have_attribute(
        "href", "https://help.example/a?q=%3Cb%3E"
    )
    expect(page.get_by_role("link", name=f"Source 1: {title}", exact=True)).to_have_text("1")
    assert widget.locator("a[href^='javascript:']").count() == 0
    assert answer.locator("a.cite").count() == 1, "the citation with a javascript: url must not be a link"
    expect(page.get_by_text("Sneaky", exact=True)).to_be_visible()
    expect(page.get_by_text("No address", exact=True)).to_be_visible()
    expect(page.get_by_text("Relative", exact=True)).to_be_visible()
    assert widget.locator("a[href*='null'], a[href*='/help/x']").count() == 0
    assert page.evaluate("window.__pwned") is None


@pytest.mark.parametrize(
    ("status", "headers", "shown"),
    [
        (500, {}, "Something went wrong on our side"),
        (429, {"Retry-After": "7"}, "try again in 7 seconds"),
        (503, {"Retry-After": "5"}, "The service is busy"),
    ],
)
def test_errors_are_friendly(live_api: LiveApi, page: Page, status: int, headers: dict[str, str], shown: str) -> None:
    """API errors become a friendly message in the live region, never the server's detail.

    Faked on purpose with ``page.route``: the real server does not fail on demand.
    """
    problem = {"detail": "Traceback (most recent call last): boom", "request_id": "0123456789abcdef"}
    page.route("**/v1/answer", lambda route: fake_answer(route, problem, status, headers))
    open_demo(page, live_api)
    open_from_keyboard(page)
    page.keyboard.type(QUESTION)
    page.keyboard.press("Enter")
    status_region = page.get_by_role("dialog").get_by_role("status")
    expect(status_region).to_contain_text(shown)
    expect(status_region).not_to_contain_text("Traceback")
    expect(page.get_by_role("button", name="Ask", exact=True)).to_be_enabled()


def ask_from_the_page(page: Page, live_api: LiveApi, question: str) -> dict[str, Any]:
    """Ask through the demo page's own search form (the widget opens and answers); the API's response."""
    open_demo(page, live_api)
    page.get_by_placeholder("Search articles").fill(question)
    with page.expect_response(lambda r: r.url.endswith("/v1/answer"), timeout=ANSWER_TIMEOUT_MS) as answered:
        page.get_by_placeholder("Search articles").press("Enter")
    assert answered.value.status == 200, answered.value.text()
    expect(page.get_by_role("dialog").get_by_role("status")).to_contain_text("Answer ready.")
    return dict(answered.value.json())


def test_a_step_by_step_answer_reads_as_a_list(live_api: LiveApi, page: Page) -> None:
    """A real "how do I" answer: its steps are a numbered list, each citation a superscript link, no [n]."""
    reply = ask_from_the_page(page, live_api, "How do I reset my password?")
    assert BARE_MARKER.search(reply["answer"]), "the API's text carries [n] markers: the widget must hide them"
    steps = page.locator("#dp-answer ol > li")
    expect(steps.first).to_be_visible()
    assert steps.count() >= 2
    assert_reads_cleanly(page)
    page.locator("#dp-answer").scroll_into_view_if_needed()
    shoot(page, "steps.png")


def test_the_widget_lays_out_the_api_blocks(live_api: LiveApi, page: Page) -> None:
    """With the ``blocks`` the API is to return (assistant/render.py ``widget_blocks``), the widget renders them.

    The API does not send ``blocks`` yet, so this test adds them ON PURPOSE to the real API's response, computed
    by the real renderer from the real answer service's answer to the same question.
    """
    question = "How do I reset my password?"
    answer = live_api.served.retrieval.assistant(llm=None).answer(Question(question, TENANT, "widget", locale="en"))
    blocks = widget_blocks(answer)
    assert blocks and any(b["kind"] == "steps" for b in blocks)

    def with_blocks(route: Route) -> None:
        real = route.fetch()
        fake_answer(route, {**real.json(), "blocks": blocks})

    page.route("**/v1/answer", with_blocks)
    ask_from_the_page(page, live_api, question)
    shown = page.locator("#dp-answer > *")
    assert shown.count() == len(blocks)
    for i, block in enumerate(blocks):
        parts = block["parts"]
        assert isinstance(parts, list)
        if block["kind"] == "steps":
            items = shown.nth(i).locator(":scope > li")
            assert items.count() == len(parts)
            for j, part in enumerate(parts):
                expect(items.nth(j)).to_have_attribute("value", re.sub(r"\D", "", part["marker"]))
                expect(items.nth(j)).to_contain_text(part["text"])
    assert_reads_cleanly(page)


def test_markers_and_placeholders_never_reach_the_customer(live_api: LiveApi, page: Page) -> None:
    """Placeholders the PII filter left and markers written anywhere are cleaned up, in both answer shapes.

    Faked ON PURPOSE (``page.route``): the real service already drops such sentences; this proves the widget
    does too, whatever a server or an older version sends.
    """
    citations = [
        {"n": 1, "doc_id": "LED-1002", "title": "Reset your password", "url": "https://help.example/reset",
         "section": "Accounts", "snippet": ""},
        {"n": 2, "doc_id": "LED-1054", "title": "Contact Ledgerly support", "url": "https://help.example/contact",
         "section": "Support", "snippet": ""},
        {"n": 3, "doc_id": "LED-9", "title": "Never cited", "url": "https://help.example/never", "section": "",
         "snippet": ""},
    ]  # fmt: skip
    text_only = {
        "answer": (
            "Reset links are valid for 60 minutes. [2] Call <PERSON> on <PHONE_NUMBER> if it fails [2]. "
            "Our billing line (<PHONE_NUMBER>) answers on weekdays [2].\n\n"
            "You can also contact our leads directly [2]:\n- <PERSON>: <EMAIL_ADDRESS> [2]\n- <PERSON> [2]\n\n"
            "3. Open the email [2].\n4. Click the link [2][1]."
        ),
        "abstained": False,
        "confidence": {"level": "high", "score": 0.9, "reason": "high: close match"},
        "citations": citations,
        "timings_ms": {},
        "interaction_id": "fake-interaction",
        "request_id": "fake-request",
    }
    page.route("**/v1/answer", lambda route: fake_answer(route, text_only))
    open_demo(page, live_api)
    open_from_keyboard(page)
    page.keyboard.type("anything")
    page.keyboard.press("Enter")
    answer = page.locator("#dp-answer")
    expect(answer).to_contain_text("Reset links are valid for 60 minutes.")
    expect(answer).to_contain_text("Our billing line answers on weekdays.")
    expect(answer).not_to_contain_text("Call")
    expect(answer).not_to_contain_text("leads directly")
    assert answer.locator("ol > li").evaluate_all("lis => lis.map(li => li.value)") == [3, 4]
    # Source 2 is cited first, so it is numbered 1; the never-cited source is not listed.
    expect(answer.locator("a.cite").first).to_have_attribute("href", "https://help.example/contact")
    expect(answer.locator("a.cite").first).to_have_text("1")
    expect(page.get_by_role("link", name="Never cited")).to_have_count(0)
    assert_reads_cleanly(page)
    shoot(page, "cleaned.png")

    blocks = {
        **text_only,
        "answer": "ignored when blocks are sent",
        "blocks": [
            {"kind": "paragraph", "parts": [{"text": "Open the email.", "cites": [1]}, {"text": "Ask <PERSON>.", "cites": [1]}]},
            {"kind": "steps", "parts": [{"text": "Click the link.", "cites": [1], "marker": "2."}]},
            {"kind": "rows", "parts": [{"text": "Plan: Pro; Price: $49", "cites": [2], "pairs": [["Plan", "Pro"], ["Price", "$49"]]}]},
        ],
    }  # fmt: skip
    page.unroute("**/v1/answer")
    page.route("**/v1/answer", lambda route: fake_answer(route, blocks))
    page.get_by_role("textbox", name="Your question").fill("again")
    page.get_by_role("textbox", name="Your question").press("Enter")
    expect(answer).to_contain_text("Open the email.")
    expect(answer).not_to_contain_text("ignored")
    expect(answer).not_to_contain_text("Ask")
    expect(answer.locator("ol > li")).to_have_attribute("value", "2")
    expect(answer.locator("ul.rows strong").first).to_have_text("Plan:")
    assert_reads_cleanly(page)
