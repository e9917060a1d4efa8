"""Answers rendered per channel (assistant/render.py): the agent's cited draft, the widget layout, the sent reply.

Most tests build answer records by hand (the records are the input of these pure functions); the last ones
render real answers of the real answer service over the indexed sample help center.
"""

from __future__ import annotations

import json
import re
from dataclasses import replace

import pytest

from assistant import render
from assistant.records import Answer, Citation, Confidence, Question, Sentence
from assistant.templates import PHRASINGS, phrasing
from ui.wiring import Retrieval

RESET = Citation(
    1,
    "ledgerly/accounts-login/reset-your-password.md",
    "Reset your password",
    "https://help.ledgerly.example/hc/en/articles/LED-1002-reset-your-password",
    "Accounts & login > Reset your password",
    "Reset links are valid for 60 minutes.",
    0.81,
)
TWO_FACTOR = Citation(
    2,
    "ledgerly/accounts-login/two-factor.md",
    "Turn on two-factor authentication",
    "https://help.ledgerly.example/hc/en/articles/LED-1003-two-factor",
    "Accounts & login > Two-factor authentication",
    "Use an authenticator app.",
    0.74,
)
PLANS = Citation(3, "ledgerly/plans.html", "Compare plans", None, "Plans & billing", "Starter is $9.", 0.7)
BARE_MARKER = re.compile(r"\[\d+(?:\s*,\s*\d+)*\]")


def answer(
    *sentences: Sentence, citations: tuple[Citation, ...] = (RESET, TWO_FACTOR, PLANS), text: str = ""
) -> Answer:
    return Answer(
        text=text or render.markdown_with_citations(sentences),
        abstained=False,
        confidence=Confidence("high", 0.9, "high: the best source matches closely"),
        citations=citations,
        sentences=sentences,
        sources=(),
        question="How do I reset my password?",
        generator="extractive",
    )


def text(t: str, cites: tuple[int, ...] = (1,), block: int = 0) -> Sentence:
    return Sentence(t, cites, 0.8, kind="text", block=block)


def step(t: str, marker: str, cites: tuple[int, ...] = (1,), block: int = 1) -> Sentence:
    return Sentence(t, cites, 0.8, kind="step", marker=marker, block=block)


def item(t: str, cites: tuple[int, ...] = (2,), block: int = 2, marker: str = "-") -> Sentence:
    return Sentence(t, cites, 0.8, kind="item", marker=marker, block=block)


def row(t: str, cites: tuple[int, ...] = (3,), block: int = 3) -> Sentence:
    return Sentence(t, cites, 0.8, kind="row", block=block)


PASSAGE = answer(
    text("Reset links are valid for 60 minutes and work once."),
    text("Only the most recent link works."),
    text("To reset your password:", block=5),
    step("Open the sign-in page and click Forgot password", "3."),
    step("Open the email and click the link.", "4."),
    step("Choose a new password.", "5."),
    item("Authenticator apps such as Google Authenticator"),
    item("SMS codes", marker="*"),
    row("Plan: Starter; Price: $9 a month"),
    row("Growth | $29 a month | 3 users"),
)


def assert_customer_facing(rendered: str, locale: str = "en") -> None:
    """No [n] marker, no placeholder, no doubled space, no space before punctuation (French spaces ; : ! ?)."""
    assert not BARE_MARKER.search(rendered), rendered
    assert not render.PLACEHOLDER.search(rendered), rendered
    stray = r"\s[.,](\s|$)" if locale == "fr" else r"\s[.,;:!?](\s|$)"
    for line in rendered.splitlines():
        assert "  " not in line.strip(), line
        assert not re.search(stray, line), line


def test_markdown_keeps_the_layout_and_every_citation() -> None:
    assert render.markdown_with_citations(PASSAGE) == (
        "Reset links are valid for 60 minutes and work once [1]. Only the most recent link works [1].\n\n"
        "To reset your password [1]:\n\n"
        "3. Open the sign-in page and click Forgot password [1]\n"
        "4. Open the email and click the link [1].\n"
        "5. Choose a new password [1].\n\n"
        "- Authenticator apps such as Google Authenticator [2]\n"
        "- SMS codes [2]\n\n"
        "Plan: Starter; Price: $9 a month [3]\n"
        "Growth: $29 a month; 3 users [3]"
    )


def test_placeholder_sentences_are_left_out_or_rephrased() -> None:
    held = answer(
        text("Reset links are valid for 60 minutes."),
        text("Call <PERSON> on <PHONE_NUMBER> if the link fails."),
        text("Our billing line (<PHONE_NUMBER>) answers on weekdays."),
        text("Write to a shared mailbox, for example <EMAIL_ADDRESS>.", (2,)),
        step("Open the sign-in page.", "1."),
        step("Ask <PERSON> for a new link.", "2."),
        step("Choose a new password.", "3."),
        step("Sign in again.", "4."),
    )
    body = render.markdown_with_citations(held)
    assert body == (
        "Reset links are valid for 60 minutes [1]. Our billing line answers on weekdays [1]. "
        "Write to a shared mailbox [2].\n\n"
        "1. Open the sign-in page [1].\n2. Choose a new password [1].\n3. Sign in again [1]."
    )
    assert render.left_out(held) == (
        "Call <PERSON> on <PHONE_NUMBER> if the link fails.",
        "Ask <PERSON> for a new link.",
    )
    assert_customer_facing(render.sent_reply(held, locale="en", customer_name="Maria Lopez", agent_name="Ava"))
    assert "<" not in json.dumps(render.widget_blocks(held))


def test_a_lead_in_goes_with_the_list_it_introduced() -> None:
    """The help center's "contact our leads directly:" list is all names and numbers (redacted at ingest)."""
    leads = answer(
        text("Reply to the ticket and ask for an escalation.", block=0),
        text("You can also contact our support leads directly:", block=0),
        item("<PERSON>, Support Lead (Europe): <EMAIL_ADDRESS>", (1,), block=1),
        item("<PERSON>, Support Lead (Americas): <EMAIL_ADDRESS>", (1,), block=1),
    )
    assert render.markdown_with_citations(leads) == "Reply to the ticket and ask for an escalation [1]."
    assert len(render.left_out(leads)) == 3
    edited = (
        "Hi Maria,\n\nReply to the ticket and ask for an escalation [1]. You can also write to our leads:\n"
        "- <PERSON>: <EMAIL_ADDRESS> [2]\n\nThey answer within 2 days [1].\n\nBest regards,\nAva"
    )
    assert render.sent_reply(edited, PASSAGE.citations, "en", "Maria", "Ava") == (
        "Hi Maria,\n\nReply to the ticket and ask for an escalation.\n\nThey answer within 2 days.\n\n"
        f"Sources:\n- Reset your password: {RESET.url}\n\nBest regards,\nAva"
    )


def test_a_sentence_the_output_filter_changed_is_not_shown_from_the_unfiltered_sentences() -> None:
    """The PII filter rewrites the answer text; a sentence record that does not match the filtered text is unsafe."""
    leaked = answer(
        text("Reset links are valid for 60 minutes."),
        text("Ask Jane Roe in billing for help."),
        text=(
            "Reset links are valid for 60 minutes [1]. Ask <PERSON> in billing for help [1]."  # as the filter wrote it
        ),
    )
    assert render.markdown_with_citations(leaked) == "Reset links are valid for 60 minutes [1]."


def test_widget_blocks_are_json_without_markers_or_placeholders() -> None:
    blocks = render.widget_blocks(PASSAGE)
    assert json.loads(json.dumps(blocks)) == blocks
    assert [b["kind"] for b in blocks] == ["paragraph", "paragraph", "steps", "bullets", "rows"]
    steps = blocks[2]["parts"]
    assert isinstance(steps, list) and [p["marker"] for p in steps] == ["3.", "4.", "5."]
    assert all(p["cites"] == [1] for p in steps)
    rows = blocks[4]["parts"]
    assert isinstance(rows, list)
    assert rows[0]["pairs"] == [["Plan", "Starter"], ["Price", "$9 a month"]]
    assert rows[1]["text"] == "Growth: $29 a month; 3 users" and rows[1]["pairs"] == []
    texts = [p["text"] for b in blocks for p in b["parts"]]  # type: ignore[attr-defined]
    assert len(texts) == 10 and not any(BARE_MARKER.search(t) or render.PLACEHOLDER.search(t) for t in texts)
    noted = render.widget_blocks(replace(PASSAGE, notes=("This answer comes from our German help center.",)))
    assert noted[0] == {
        "kind": "paragraph",
        "parts": [{"text": "This answer comes from our German help center.", "cites": [], "marker": "", "pairs": []}],
    }
    assert noted[1:] == blocks
    assert render.widget_blocks(replace(PASSAGE, abstained=True)) == []


def test_the_reply_sent_from_an_untouched_draft() -> None:
    draft = render.reply_draft(PASSAGE, "en", "Maria Lopez", "Ava (agent, Ledgerly)")
    assert draft.startswith("Hi Maria,\n\nThanks for reaching out. Reset links are valid for 60 minutes")
    assert "[1]" in draft and draft.endswith("Best regards,\nAva")
    sent = render.sent_reply(draft, PASSAGE.citations, "en", "Maria Lopez", "Ava (agent, Ledgerly)")
    assert sent == render.sent_reply(PASSAGE, (), "en", "Maria Lopez", "Ava (agent, Ledgerly)")
    assert sent == (
        "Hi Maria,\n\n"
        "Thanks for reaching out. Reset links are valid for 60 minutes and work once. Only the most recent link works.\n\n"
        "To reset your password:\n\n"
        "3. Open the sign-in page and click Forgot password\n"
        "4. Open the email and click the link.\n"
        "5. Choose a new password.\n\n"
        "- Authenticator apps such as Google Authenticator\n"
        "- SMS codes\n\n"
        "Plan: Starter; Price: $9 a month\n"
        "Growth: $29 a month; 3 users\n\n"
        "Sources:\n"
        "- Reset your password: https://help.ledgerly.example/hc/en/articles/LED-1002-reset-your-password\n"
        "- Turn on two-factor authentication: https://help.ledgerly.example/hc/en/articles/LED-1003-two-factor\n"
        "- Compare plans\n\n"
        "If anything is still unclear, just reply to this message and we'll help.\n\n"
        "Best regards,\nAva"
    )
    assert_customer_facing(sent)


def test_the_reply_sent_from_an_edited_draft() -> None:
    """The agent's own greeting stays, a source whose markers they removed is not listed, markers written in odd
    places come out cleanly, a placeholder they left in drops its sentence, a postscript stays after the sign-off."""
    edited = (
        "Dear Ms Lopez,\n\n"
        "Sorry for the trouble! Reset links are valid for 60 minutes. [1] They work once [1, 3] ; "
        "only the newest one works[1].\n"
        "You can also call <PERSON> on <PHONE_NUMBER>.\n\n"
        "1. Open the sign-in page [1]\n"
        "2. Ask <PERSON> for a link [1]\n"
        "3. Choose a new password [1][7].\n\n"
        "Best regards,\nThe Support Team\n\n"
        "P.S. I have refunded the second charge today."
    )
    sent = render.sent_reply(edited, PASSAGE.citations, "en", "Maria Lopez", "Ava")
    assert sent == (
        "Dear Ms Lopez,\n\n"
        "Sorry for the trouble! Reset links are valid for 60 minutes. They work once; only the newest one works.\n\n"
        "1. Open the sign-in page\n"
        "2. Choose a new password.\n\n"
        "Sources:\n"
        "- Reset your password: https://help.ledgerly.example/hc/en/articles/LED-1002-reset-your-password\n"
        "- Compare plans\n\n"
        "Best regards,\nAva\n\n"
        "P.S. I have refunded the second charge today."
    )
    assert_customer_facing(sent)


def test_a_reply_without_greeting_sign_off_or_markers_gets_them_and_no_sources() -> None:
    sent = render.sent_reply("Your refund is on its way.", PASSAGE.citations, "en", "", "")
    assert sent == "Hi,\n\nYour refund is on its way.\n\nBest regards,\nThe Support Team"


def test_german_reply() -> None:
    draft = render.reply_draft(PASSAGE, "de", "Jürgen Weiß", "Ben")
    assert draft.startswith("Hallo Jürgen,\n\nvielen Dank für Ihre Nachricht.")
    sent = render.sent_reply(draft, PASSAGE.citations, "de", "Jürgen Weiß", "Ben")
    assert "\n\nQuellen:\n- Reset your password: https://" in sent
    assert sent.endswith("Wenn noch etwas unklar ist, antworten Sie einfach auf diese Nachricht.\n\nViele Grüße\nBen")
    generic = "Hallo,\n\nDie Links gelten 60 Minuten [1].\n\nViele Grüße\nIhr Support-Team"
    assert render.sent_reply(generic, PASSAGE.citations, "de-DE", "Jürgen Weiß", "Ben") == (
        "Hallo Jürgen,\n\nDie Links gelten 60 Minuten.\n\nQuellen:\n"
        "- Reset your password: https://help.ledgerly.example/hc/en/articles/LED-1002-reset-your-password\n\n"
        "Viele Grüße\nBen"
    )


@pytest.mark.parametrize("locale", sorted(PHRASINGS))
def test_every_locale_greets_by_name_and_labels_its_sources(locale: str) -> None:
    p = phrasing(locale)
    named = render.greeting(locale, "Maria Lopez")
    assert "Maria" in named and "Lopez" not in named and named != p.greeting
    assert render.greeting(locale, "") == p.greeting
    sent = render.sent_reply(PASSAGE, (), locale, "Maria Lopez", "Ava")
    assert sent.startswith(named) and f"\n\n{p.sources_label}\n- Reset your password" in sent
    assert sent.endswith(p.signature.format(name="Ava"))
    assert_customer_facing(sent, locale)
    # An agent's reply that kept the generic greeting and team signature gets the names too.
    team = p.signature.format(name=render.team_name(locale))
    assert render.sent_reply(f"{p.greeting}\n\nX y z [1].\n\n{team}", PASSAGE.citations, locale, "Maria", "Ava") == (
        f"{named}\n\nX y z.\n\n{p.sources_label}\n- Reset your password: {RESET.url}\n\n{p.signature.format(name='Ava')}"
    )


@pytest.mark.parametrize(
    ("locale", "greeting", "sources"),
    [("en", "Hi Maria,", "Sources:"), ("de", "Hallo Maria,", "Quellen:"), ("fr", "Bonjour Maria,", "Sources :")],
)
def test_greetings_and_source_labels(locale: str, greeting: str, sources: str) -> None:
    if locale not in PHRASINGS:
        pytest.skip(f"assistant/templates.py has no {locale} phrasing yet")
    assert render.greeting(locale, "Maria Lopez") == greeting
    assert f"\n\n{sources}\n- " in render.sent_reply(PASSAGE, (), locale, "Maria Lopez", "Ava")


@pytest.mark.parametrize(
    ("name", "addressed"),
    [
        ("Megan O'Connell", "Megan"),
        ("Rhys Morgan-Tate", "Rhys"),
        ("Weiß, Jürgen", "Jürgen"),
        ("Herr Jürgen Weiß", "Herr Weiß"),
        ("Dr. Markus Vogel", "Dr. Vogel"),
        ("MEGAN O'CONNELL", "Megan"),
        ("jean-luc picard", "Jean-Luc"),
        ("megan@example.com", ""),
        ("<PERSON>", ""),
        ("", ""),
    ],
)
def test_how_a_customer_is_addressed(name: str, addressed: str) -> None:
    assert render.first_name(name) == addressed


@pytest.mark.parametrize(
    ("display", "signed"),
    [
        ("Ava (agent, Ledgerly)", "Ava"),
        ("Ava Smith", "Ava Smith"),
        ("auth0|5f2a", ""),
        ("ava@example.com", ""),
        ("", ""),
    ],
)
def test_how_an_agent_signs(display: str, signed: str) -> None:
    assert render.signature_name(display) == signed


# --- real answers of the real service --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def real(samples: Retrieval) -> dict[str, Answer]:
    service = samples.assistant(llm=None)
    asked = {
        "agent": Question("How long does the password reset link stay valid?", "ledgerly", "agent"),
        "widget": Question("How do I add a payment card?", "parcelpoint", "widget"),
    }
    return {name: service.answer(q) for name, q in asked.items()}


def test_real_answers_render_for_every_channel(real: dict[str, Answer]) -> None:
    agent = real["agent"]
    assert not agent.abstained
    body = render.markdown_with_citations(agent)
    assert "60 minutes" in body and "[1]" in body
    sent = render.sent_reply(agent, (), "en", "Megan O'Connell", "Ava (agent, Ledgerly)")
    assert sent.startswith("Hi Megan,\n\n") and sent.endswith("Best regards,\nAva")
    first = agent.citations[0]
    assert f"Sources:\n- {first.title}: {first.url}" in sent
    assert_customer_facing(sent)

    widget = real["widget"]
    assert not widget.abstained
    blocks = render.widget_blocks(widget)
    texts = " ".join(p["text"] for b in blocks for p in b["parts"])  # type: ignore[attr-defined]
    assert texts and not BARE_MARKER.search(texts) and not render.PLACEHOLDER.search(texts)
    cited = {n for b in blocks for p in b["parts"] for n in p["cites"]}  # type: ignore[attr-defined]
    assert cited and cited <= {c.n for c in widget.citations}
