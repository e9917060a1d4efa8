"""Each answer-lint rule on hand-written answers (real Answer, Sentence, Source and Hit records): a good
answer passes it, a bad one is caught."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from assistant.records import Answer, Citation, Confidence, Sentence, Source
from evals.lint import (
    RULES,
    Linter,
    counts,
    cut_off_list,
    dangling_reference,
    duplicate_fact,
    heading_as_sentence,
    placeholder,
    table_fragment,
    uncited_sentence,
)
from retrieval.embedder import Embedder
from retrieval.records import Hit

RESET_TEXT = """Request a reset link
1. Go to the Ledgerly sign-in page and click Forgot password? under the password field.
2. Enter the email address you use to sign in to Ledgerly and click Send reset link.
3. Open the email with the subject "Reset your Ledgerly password".
4. Click Choose a new password.
5. Enter your new password twice and click Save password.
Reset links expire after 60 minutes and can be used once."""
STEPS = [line.split(". ", 1)[1] for line in RESET_TEXT.splitlines()[1:6]]


def hit(text: str = RESET_TEXT, section: str = "Accounts & login > Request a reset link") -> Hit:
    return Hit(
        id="p1",
        doc_id="ledgerly/reset-your-password.md",
        article_id="LED-1002",
        chunk_no=0,
        text=text,
        title="Reset your password",
        url="https://help.ledgerly.example/reset",
        section=section,
        tenant="ledgerly",
        product="ledgerly",
        locale="en",
        updated_at="2026-01-01",
        fused_score=1.0,
        relevance=1.0,
        dense_rank=1,
        dense_score=0.8,
        sparse_rank=1,
        sparse_score=7.0,
    )


def answer(sentences: Sequence[Sentence], *, text: str | None = None, sources: Sequence[Source] = ()) -> Answer:
    """An answer over ``sources`` (default: the reset article as [1]) rendered with its [n] markers."""
    sources = tuple(sources) or (Source(1, hit()),)
    rendered = " ".join(s.text + "".join(f"[{n}]" for n in s.cites) for s in sentences)
    citations = tuple(
        Citation(s.n, s.hit.doc_id, s.hit.title, s.hit.url, s.hit.section, s.hit.text[:80], 0.9) for s in sources
    )
    return Answer(
        text=rendered if text is None else text,
        abstained=False,
        confidence=Confidence("high", 0.9, "high"),
        citations=citations,
        sentences=tuple(sentences),
        sources=sources,
        question="How do I reset my password?",
        generator="extractive",
    )


def said(text: str, kind: str = "text", marker: str = "", block: int = 1, cites: tuple[int, ...] = (1,)) -> Sentence:
    return Sentence(text, cites, 0.9, kind=kind, marker=marker, block=block)  # type: ignore[arg-type]


def steps(*numbers: int) -> list[Sentence]:
    return [said(STEPS[n - 1], "step", f"{n}.", block=2) for n in numbers]


GOOD = [said("Reset links expire after 60 minutes and can be used once.")]


@pytest.fixture(scope="module")
def embedder() -> Embedder:
    return Embedder("", None)


def test_heading_or_question_as_sentence() -> None:
    assert heading_as_sentence(answer(GOOD)) == []
    heading = heading_as_sentence(answer([said("Request a reset link."), *GOOD]))
    assert [d.text for d in heading] == ["Request a reset link."] and "heading" in heading[0].detail
    question = heading_as_sentence(answer([said("Can you restore data I deleted by mistake three months ago?")]))
    assert len(question) == 1 and "question" in question[0].detail
    trash = hit("Trash\nDeleted items go to Trash and stay there for 30 days.", "Data > Trash")
    glued = answer([said("Trash Deleted items go to Trash and stay there for 30 days.")], sources=[Source(1, trash)])
    assert [d.detail for d in heading_as_sentence(glued)] == ["the heading 'Trash' runs into the sentence"]
    kept = answer([said("Trash keeps deleted items for 30 days.")], sources=[Source(1, trash)])
    assert heading_as_sentence(kept) == []
    # a quoted article title is a pointer, not a question
    assert (
        heading_as_sentence(answer([said('The region is fixed after sign-up. See "Where is my data stored?"')])) == []
    )


def test_dangling_reference() -> None:
    intro = said("To reset your password, follow the steps below:")
    assert [d.rule for d in dangling_reference(answer([intro]))] == ["dangling_reference"]
    assert dangling_reference(answer([intro, *steps(1, 2, 3, 4, 5)])) == []
    later = said("If the link has expired, repeat steps 1-2.", block=3)
    assert dangling_reference(answer([*steps(1, 2, 3, 4, 5), later])) == []
    assert "steps 1-2" in dangling_reference(answer([later]))[0].detail
    assert dangling_reference(answer([said("As shown in the screenshot, the link is in the footer.")]))
    assert dangling_reference(answer([said("As described above, the link works once.")]))
    assert dangling_reference(answer([said("Image: the sign-in page with the Forgot password? link.")]))
    assert dangling_reference(answer([said("The table below shows the limits of each plan.")]))
    # amounts, limits, places and times are no pointers
    for text in (
        "The fee applies above $1,000 and is charged the following month.",
        "Above the Growth or Scale limit, the API answers 429 with a Retry-After header.",
        'The chart shows an "x" above an assignment whose score was dropped.',
    ):
        assert dangling_reference(answer([said(text)])) == [], text
    this_page = said("This page lists the files you have added.")
    assert dangling_reference(answer([this_page]))
    assert dangling_reference(answer([said("You manage files on the Files page."), this_page])) == []


def test_duplicate_fact(embedder: Embedder) -> None:
    fact = said("Reset links expire after 60 minutes and can be used once.")
    paraphrase = said("The reset link is valid for 60 minutes and works only once.")
    other = said("Your new password must have at least 10 characters.")
    assert duplicate_fact(answer([fact, other]), embedder.encode) == []
    found = duplicate_fact(answer([fact, other, paraphrase]), embedder.encode)
    assert [d.text for d in found] == [paraphrase.text] and "repeats sentence 1" in found[0].detail
    # without embeddings only near-identical wording counts
    assert duplicate_fact(answer([fact, paraphrase])) == []
    assert duplicate_fact(answer([fact, said("Reset links expire after 60 minutes and can only be used once.")]))
    # two different steps of one list are not the same fact, however alike they sound
    assert duplicate_fact(answer(steps(1, 2, 3, 4, 5)), embedder.encode) == []
    # nor are two rows with different numbers, even from two tables
    monthly = said("Price, billed monthly; Starter: $12 / month; Growth: $29 / month", "row", block=5)
    yearly = said("Price, billed annually; Starter: $120 / year; Growth: $290 / year", "row", block=6)
    assert duplicate_fact(answer([monthly, yearly]), embedder.encode) == []
    # the same fact as a paragraph and as a table row is one fact twice
    row = said(
        "Charge: Extra labels; What it is: $0.05 for each label over your plan's monthly allowance; "
        "When it's charged: Added to the next subscription invoice",
        "row",
        block=7,
    )
    prose = said(
        "Going over: on Free and Pro, each label beyond your allowance costs $0.05. Extra labels are added up and "
        "billed on your next subscription invoice, so you're never blocked from shipping.",
        "item",
        block=8,
    )
    assert duplicate_fact(answer([row, prose]), embedder.encode)


def test_table_fragment() -> None:
    row = said("Growth: $29 per month, up to 5 users", "row", block=4)
    assert table_fragment(answer([row])) == []
    assert (
        table_fragment(answer([said("| Growth | $29 | 5 users |", block=4)]))[0].detail == "pipe-separated table cells"
    )
    headless = table_fragment(answer([said("$29 per month", "row", block=4)]))
    assert len(headless) == 1 and "header" in headless[0].detail


def test_placeholder() -> None:
    assert placeholder(answer(GOOD)) == []
    leaked = answer([said("Call <PHONE_NUMBER> or write to <EMAIL_ADDRESS>.")])
    assert [d.text for d in placeholder(leaked)] == ["<PHONE_NUMBER>", "<EMAIL_ADDRESS>"]
    # the agent draft's own words count too: lint reads the text the user receives
    assert placeholder(answer(GOOD, text="Hi <PERSON>,\n\nReset links expire after 60 minutes [1]."))
    assert placeholder(answer(GOOD, text="Use the <b>Save</b> button [1].")) == []


def test_cut_off_list() -> None:
    assert cut_off_list(answer(steps(1, 2, 3, 4, 5))) == []
    assert "2, 3" in cut_off_list(answer(steps(2, 3)))[0].text
    assert cut_off_list(answer(steps(1, 3, 2, 4, 5)))
    assert cut_off_list(answer(steps(1, 2, 3)))[0].detail == "steps 1-3 of a 5-step list"
    # a generator that marks no steps: sentences that are numbered lines of their source are those steps...
    assert cut_off_list(answer([said(STEPS[3]), said(STEPS[4])]))[0].text == "4, 5"
    # ...but one step quoted alone as a plain sentence is a lookup's fact, not a list
    assert cut_off_list(answer([said(STEPS[4])])) == []
    # a bullet under a step keeps the run going
    nested = [*steps(1, 2), said("Check the spam folder.", "item", "-", block=2), *steps(3, 4, 5)]
    assert cut_off_list(answer(nested)) == []
    # a source whose list numbers were lost (or that starts mid-list) is judged on the answer's own numbers
    bare = hit("\n".join(STEPS))
    assert cut_off_list(answer(steps(1, 2, 3), sources=[Source(1, bare)])) == []
    assert cut_off_list(answer(steps(1, 2, 4), sources=[Source(1, bare)]))


def test_uncited_sentence() -> None:
    assert uncited_sentence(answer(GOOD)) == []
    bare = said("Reset links expire after 60 minutes.", cites=())
    assert uncited_sentence(answer([bare]))[0].detail == "no citation"
    assert uncited_sentence(answer([said("Reset links expire.", cites=(3,))]))[0].detail == "cites (3,): no such source"
    assert uncited_sentence(answer([bare]), cites=False) == []


def test_linter_runs_every_rule_and_counts(embedder: Embedder) -> None:
    linter = Linter(embedder.encode)
    clean = answer([said("To reset your password:"), *steps(1, 2, 3, 4, 5), *GOOD])
    assert linter.lint(clean) == ()
    messy = answer(
        [
            said("Request a reset link."),
            *steps(4, 5),
            said("Then follow the steps below.", cites=()),
            said("| Starter | $9 |"),
            *GOOD,
            *GOOD,
        ],
        text="Request a reset link [1]. Call <PHONE_NUMBER> [1].",
    )
    tally = counts(linter.lint(messy))
    assert set(tally) == set(RULES)
    assert tally == {
        "heading_as_sentence": 1,
        "dangling_reference": 1,
        "duplicate_fact": 1,
        "table_fragment": 1,
        "placeholder": 1,
        "cut_off_list": 1,
        "uncited_sentence": 1,
    }
