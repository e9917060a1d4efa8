"""Reading an article's structure back from chunk text, and joining a section's chunks (pure functions)."""

from __future__ import annotations

from assistant.passages import parse
from assistant.vocabulary import join_overlapping, list_window
from ingest.lists import item_key, numbered_items

SECTION = """Request a reset link
Forgot your password? Request a link.
To reset it:
1. Go to the sign-in page and click **Forgot password?**.
2. Click Choose a new password. The link is valid for 60 minutes.
Scale to Growth
- No more than 5 users.
- The audit log is hidden.
| Plan | Requests per minute | Requests per day |
| Growth | 120 | 50,000 |
| Scale | 600 | 500,000 |
| Starter | No API"""


def test_units_keep_steps_items_rows_and_never_offer_headings_or_questions() -> None:
    units = parse(SECTION, headings=("Request a reset link",))
    kinds = [(u.kind, u.marker) for u in units]
    assert kinds == [
        ("heading", ""),
        ("question", ""),
        ("text", ""),
        ("text", ""),
        ("step", "1."),
        ("step", "2."),
        ("heading", ""),  # "Scale to Growth": a bold label, a heading in all but markup
        ("item", "-"),
        ("item", "-"),
        ("heading", ""),  # the table's header row
        ("row", ""),
        ("row", ""),
        ("heading", ""),  # a row cut off by chunking is never an answer
    ]
    lead = next(u for u in units if u.text == "To reset it:")
    assert lead.lead and units[4].block == units[5].block != lead.block
    assert units[10].text == "Plan: Growth; Requests per minute: 120; Requests per day: 50,000"


def test_numbered_items_come_back_from_markdown_and_html() -> None:
    markdown = "Intro\n\n1. Open **Settings**.\n2. Click [Save](https://x.example).\n\n- a bullet\n"
    found = numbered_items(markdown, "md")
    assert found == {item_key("Open Settings."): 1, item_key("Click Save."): 2}
    html = '<p>x</p><ol start="3"><li>Third <b>step</b><ul><li>nested</li></ul></li><li>Fourth</li></ol><ul><li>b</li></ul>'
    assert numbered_items(html, "html") == {item_key("Third step"): 3, item_key("Fourth"): 4}


def test_chunks_of_a_section_join_without_their_overlap() -> None:
    first = "Intro text. First sentence here.\n1. Step one is long enough"
    second = "First sentence here.\n1. Step one is long enough\n2. Step two"
    assert join_overlapping([first, second, "Totally new sentence."]) == (
        "Intro text. First sentence here.\n1. Step one is long enough\n2. Step two\nTotally new sentence."
    )
    assert join_overlapping(["A sentence that ends.", "Next sentence of the paragraph."]) == (
        "A sentence that ends. Next sentence of the paragraph."
    )


def test_bullets_under_a_step_belong_to_its_list_bullets_after_the_last_step_do_not() -> None:
    units = parse(
        "1. Open Settings.\n2. Choose the delivery option:\n- Send now\n- Save as draft\n3. Click Save.\n- Tip"
    )
    steps = [u for u in units if u.kind == "step"]
    assert [u.number for u in steps] == [1, 2, 3] and len({u.block for u in steps}) == 1
    nested, after = [u for u in units if u.kind == "item"][:2], [u for u in units if u.kind == "item"][2]
    assert all(u.block == steps[0].block for u in nested) and after.block != steps[0].block


def test_a_dash_cell_is_an_empty_cell() -> None:
    rows = [u for u in parse("| Role | Can | Cannot |\n| Owner | Everything | - |") if u.kind == "row"]
    assert [u.text for u in rows] == ["Role: Owner; Can: Everything"]


def test_a_pictures_description_is_never_an_answer_unit() -> None:
    units = parse("Open the Progress page.\nImage: Bar chart on the Progress page with an x above a score.")
    assert [u.text for u in units if u.kind == "text"] == ["Open the Progress page."]


def test_a_note_under_a_step_keeps_the_list_whole() -> None:
    text = "1. Open Email.\n2. Pick the groups.\nNote: check who is included.\nImage: the Send to list.\n3. Click Send."
    steps = [u for u in parse(text) if u.kind == "step"]
    assert [u.number for u in steps] == [1, 2, 3] and len({u.block for u in steps}) == 1
    apart = [u for u in parse("1. Open Email.\n2. Click Send.\nThat is all.\n1. Open Reports.") if u.kind == "step"]
    assert len({u.block for u in apart}) == 2


def test_a_step_list_cut_by_chunking_in_a_long_section_comes_back_whole() -> None:
    """The hit chunk opens at step 3: the chunks before it are joined back to step 1, the chunk after it
    (steps 5-6) too; a chunk after the list (a paragraph) and a chunk before it that does not continue it stay out."""
    chunks = [
        "An introduction paragraph that is long enough to matter.",
        "Do this:\n1. Open Settings.\n2. Select Users.",
        "3. Select Add user.\nNote: only admins see this.\n4. Enter the e-mail address.",
        "5. Choose a role.\n6. Select Save.",
        "Users get an invitation by e-mail. The invitation is valid for 7 days.",
    ]
    window = list_window(chunks, [0, 1, 2, 3, 4], around=2, max_chars=10_000)
    assert window is not None
    assert [step for step in range(1, 7) if f"{step}. " in window] == [1, 2, 3, 4, 5, 6]
    assert "introduction" not in window and "invitation" not in window
    # A chunk that holds a whole list, or no list, is not widened; the window stops at its size limit.
    assert list_window(chunks, [0, 1, 2, 3, 4], around=4, max_chars=10_000) is None
    assert list_window(chunks, [0, 1, 2, 3, 4], around=0, max_chars=10_000) is None
    small = list_window(chunks, [0, 1, 2, 3, 4], around=2, max_chars=len(chunks[1]) + len(chunks[2]) + 5)
    assert small is not None and "1. Open Settings." in small and "5. Choose" not in small
