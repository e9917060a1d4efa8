"""Content administration on a real index: disable, enable and delete articles through the admin page, with the
answer service and the HTTP API (one process, as `deskpilot console` runs them) answering in between; uploads
without front matter; the playground; the admin role.

The index is a small real corpus (sample articles) ingested with the real pipeline and embedding model into
Qdrant Edge; the console's services are built over the API's opened index and store, as ``ui.console.launch``
does.
"""

from __future__ import annotations

import json
import shutil
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from streamlit.testing.v1 import AppTest

from assistant.records import Question
from retrieval.content import ContentState
from tests.conftest import HELPCENTER
from tests.console.support import PASSWORD, USERS, login
from tests.ui.conftest import on_loopback
from ui.api.roles import Role
from ui.api.settings import ApiSettings
from ui.console import auth, resources
from ui.console.auth import Identity, hash_password
from ui.console.resources import Services
from ui.console.settings import ConsoleSettings
from ui.content import Caller, ContentError, NotAllowed, check_public_url
from ui.serve import serving
from ui.settings import AppSettings
from ui.wiring import ingest_paths

PICKS = [
    "ledgerly/accounts-login/reset-your-password.md",
    "ledgerly/accounts-login/create-your-ledgerly-account.md",
    "ledgerly/plans-billing/refund-policy.md",
    "ledgerly/plans-billing/upgrade-downgrade-or-switch-your-billing-cycle.md",
    "ledgerly/plans-billing/why-was-my-card-declined.txt",
    "ledgerly/plans-billing/why-was-my-card-declined.txt.meta.json",
    "parcelpoint/billing/billing-invoices-and-refunds.md",
]
RESET = "ledgerly/accounts-login/reset-your-password.md"
REFUNDS = "ledgerly/plans-billing/refund-policy.md"
RESET_QUESTION = "How long does the password reset link stay valid?"
REFUND_QUESTION = "Do you refund monthly plans?"
# Sentences of the refund policy no other article of the corpus has (checked before the delete).
REFUND_SENTENCES = (
    b"temporary card authorization that disappears by itself",
    b"reminder email 14 days before an annual renewal",
    b"including partial months",
)
ADMIN_PAGE = Path(auth.__file__).resolve().parent / "pages" / "admin.py"

NO_FRONT_MATTER = b"""# Redeem a gift card

## Where to redeem

Open Settings > Billing > Redeem code and enter the 16-character gift card code.

## How long a code is valid

A Ledgerly gift card code stays valid for 24 months after it was bought. Expired codes cannot be extended.
"""
GIFT_URL = "https://help.ledgerly.example/hc/en/articles/LED-9002-redeem-a-gift-card"


@dataclass
class Env:
    """The opened services, the API's URL and a widget key, and where everything lives."""

    services: Services
    api: str
    widget_key: str
    data_dir: Path
    corpus: Path
    settings: AppSettings

    def ask_api(self, question: str) -> dict[str, object]:
        response = httpx.post(
            f"{self.api}/v1/answer",
            json={"question": question, "channel": "widget"},
            headers={"X-API-Key": self.widget_key},
            timeout=120,
        )
        assert response.status_code == 200, response.text
        return dict(response.json())

    def ask_service(self, question: str) -> set[str]:
        answer = self.services.assistant.answer(Question(text=question, tenant="ledgerly", channel="widget"))
        return {c.doc_id for c in answer.citations}


def _cited(payload: dict[str, object]) -> set[str]:
    return {str(c["doc_id"]) for c in payload["citations"]}  # type: ignore[attr-defined,index]


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    root = tmp_path_factory.mktemp("content")
    corpus, data_dir = root / "corpus", root / "state"
    for pick in PICKS:
        (corpus / pick).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(HELPCENTER / pick, corpus / pick)
    users = {name: {**user, "password_hash": hash_password(PASSWORD)} for name, user in USERS.items()}
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DESKPILOT_DATA_DIR", str(data_dir))
        mp.setenv("DESKPILOT_CONSOLE_USERS", json.dumps(users))
        mp.setenv("DESKPILOT_INGEST_PROCESSES", "1")
        base = AppSettings.load(data_dir)
        assert ingest_paths([corpus], base).sync.documents_added == 6
        settings = AppSettings(
            ingest=base.ingest,
            retrieval=base.retrieval,
            assistant=base.assistant,
            feedback=base.feedback,
            api=ApiSettings(
                rate_limit_per_key=600,
                rate_limit_per_client=6000,
                rate_limit_widget_per_visitor=600,
                rate_limit_widget_per_tenant=6000,
            ),
        )
        previous, main = resources._hosted, sys.modules["__main__"]
        with serving(settings, demo=False, drain_every_s=0.5) as served:
            services = resources.build(
                settings, ConsoleSettings(data_dir=data_dir), served.retrieval, served.store, writer=served.writer
            )
            resources.host(services)
            widget_key = served.store.create_api_key("ledgerly", "widget", "content test")[1]
            try:
                with on_loopback(served.app, settings.api) as url:
                    yield Env(services, url, widget_key, data_dir, corpus, settings)
            finally:
                resources.host(previous)
                # AppTest leaves the last page script as __main__: a spawned ingest worker of a later test would
                # import (and run) it as its main module and die.
                sys.modules["__main__"] = main


def _admin() -> AppTest:
    at = login("sam")
    assert not at.exception, at.exception
    return at


def _act(at: AppTest, doc_id: str, button: str, confirm: bool = False) -> AppTest:
    at.selectbox(key="article_choice").set_value(doc_id)
    if confirm:
        at.checkbox(key="article_delete_confirm").check()
    at.button(key=button).click().run()
    assert not at.exception, at.exception
    return at


def test_the_page_lists_every_article_with_its_metadata(env: Env) -> None:
    at = _admin()
    frame = at.dataframe[0].value
    rows = {row["source"]: row for row in frame.to_dict("records")}
    assert set(rows) == {
        RESET,
        REFUNDS,
        "ledgerly/accounts-login/create-your-ledgerly-account.md",
        "ledgerly/plans-billing/upgrade-downgrade-or-switch-your-billing-cycle.md",
        "ledgerly/plans-billing/why-was-my-card-declined.txt",
        "parcelpoint/billing/billing-invoices-and-refunds.md",
    }
    reset = rows[RESET]
    assert (reset["title"], reset["tenant"], reset["locale"], reset["updated"], reset["state"]) == (
        "Reset your password",
        "ledgerly",
        "en",
        "2026-05-20",
        "live",
    )
    entries = env.services.retrieval.manifest.entries()
    assert reset["chunks"] == len(entries[RESET].point_ids) > 1
    assert reset["link"] == "https://help.ledgerly.example/hc/en/articles/LED-1002-reset-your-password"


def test_disable_takes_effect_on_the_next_answer_and_enable_brings_it_back(env: Env) -> None:
    assert RESET in env.ask_service(RESET_QUESTION)
    assert RESET in _cited(env.ask_api(RESET_QUESTION))  # also fills the answer cache

    at = _act(_admin(), RESET, "article_disable")
    assert any("is disabled" in s.value for s in at.success)
    assert ContentState.in_data_dir(env.data_dir).excluded("ledgerly") == (RESET,), "written where others read it"

    assert RESET not in env.ask_service(RESET_QUESTION)
    via_api = env.ask_api(RESET_QUESTION)
    assert RESET not in _cited(via_api) and "60 minutes" not in str(via_api["answer"]), via_api["answer"]
    other = env.services.assistant.answer(Question(text=RESET_QUESTION, tenant="parcelpoint", channel="widget"))
    assert RESET not in {c.doc_id for c in other.citations}
    listed = {row["source"]: row for row in _admin().dataframe[0].value.to_dict("records")}
    assert listed[RESET]["state"] == "disabled" and listed[RESET]["disabled by"].startswith("sam · ")

    at = _act(_admin(), RESET, "article_enable")
    assert any("enabled again" in s.value for s in at.success)
    assert RESET in env.ask_service(RESET_QUESTION)
    assert RESET in _cited(env.ask_api(RESET_QUESTION))

    events = [(e.action, e.target, e.actor) for e in env.services.store.list_audit_events("ledgerly").items]
    assert ("content.disabled", RESET, "console:sam") in events
    assert ("content.enabled", RESET, "console:sam") in events


def _files_holding(root: Path, needles: tuple[bytes, ...]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        data = path.read_bytes()
        hits = [n.decode() for n in needles if n in data]
        if hits:
            found[str(path.relative_to(root))] = hits
    return found


def test_delete_leaves_no_byte_of_the_article_under_the_data_dir(env: Env) -> None:
    before = env.ask_api(REFUND_QUESTION)
    assert REFUNDS in _cited(before), before["answer"]
    before_files = _files_holding(env.data_dir, REFUND_SENTENCES)
    assert any("qdrant-edge" in f for f in before_files), before_files
    assert any(f.startswith("cache/") for f in before_files), before_files
    interaction = str(before["interaction_id"])

    at = _act(_admin(), REFUNDS, "article_delete")  # not confirmed: nothing happens
    assert any("tick the box" in e.value for e in at.error)
    assert REFUNDS in env.services.retrieval.manifest.entries()

    at = _act(_admin(), REFUNDS, "article_delete", confirm=True)
    assert any("is deleted" in s.value for s in at.success), [s.value for s in at.success]
    assert REFUNDS not in env.services.retrieval.manifest.entries()
    assert _files_holding(env.data_dir, REFUND_SENTENCES) == {}
    assert REFUNDS not in {p.get("doc_id") for p in env.services.retrieval.index.payloads()}
    assert REFUNDS not in env.ask_service(REFUND_QUESTION)
    assert REFUNDS not in _cited(env.ask_api(REFUND_QUESTION))
    recorded = env.services.store.get_interaction(interaction, "ledgerly")
    assert recorded is not None and "removed" in recorded.answer
    assert all(not c.snippet for c in recorded.citations if c.doc_id == REFUNDS)
    assert REFUNDS not in {row["source"] for row in _admin().dataframe[0].value.to_dict("records")}

    deleted = [e for e in env.services.store.list_audit_events("ledgerly").items if e.action == "content.deleted"]
    assert [(e.target, e.actor) for e in deleted] == [(REFUNDS, "console:sam")]
    details = json.loads(deleted[0].details)
    assert details["interactions_scrubbed"] >= 1 and details["store_compacted"] is True

    # A re-ingest of the folder, which still holds the file, skips it (reported) and writes nothing of it.
    run = ingest_paths([env.corpus], env.settings, retrieval=env.services.retrieval)
    assert any(REFUNDS in s.reason and "deleted" in s.reason for s in run.result.skipped)
    assert REFUNDS not in env.services.retrieval.manifest.entries()
    assert _files_holding(env.data_dir, REFUND_SENTENCES) == {}
    # Restored, the next ingest brings it back.
    env.services.content().restore(REFUNDS, Caller("console:sam", "admin"))
    run = ingest_paths([env.corpus], env.settings, retrieval=env.services.retrieval)
    assert run.sync.documents_added == 1 and REFUNDS in env.services.retrieval.manifest.entries()
    actions = [e.action for e in env.services.store.list_audit_events("ledgerly").items]
    assert "content.restored" in actions


def test_upload_without_front_matter_needs_a_title_and_a_public_url(env: Env) -> None:
    def upload(title: str, url: str) -> AppTest:
        at = _admin()
        at.file_uploader(key="ingest_file").set_value(("gift card.md", NO_FRONT_MATTER, "text/markdown"))
        at.selectbox(key="ingest_tenant").set_value("ledgerly")
        at.text_input(key="ingest_title").input(title)
        at.text_input(key="ingest_url").input(url)
        at.button(key="ingest_submit").click().run()
        assert not at.exception, at.exception
        return at

    at = upload("", "")
    assert any("Public URL" in e.value for e in at.error), [e.value for e in at.error]
    at = upload("Redeem a gift card", "ftp://help.ledgerly.example/gift")
    assert any("Public URL" in e.value and "http" in e.value for e in at.error), [e.value for e in at.error]
    assert "ledgerly-gift-card.md" not in env.services.retrieval.manifest.entries()

    at = upload("Redeem a Ledgerly gift card", GIFT_URL)
    assert not at.error, [e.value for e in at.error]
    assert "ledgerly-gift-card.md" in env.services.retrieval.manifest.entries()
    answer = env.services.assistant.answer(
        Question(text="How long is a gift card code valid?", tenant="ledgerly", channel="widget")
    )
    gift = [c for c in answer.citations if c.doc_id == "ledgerly-gift-card.md"]
    assert gift and {c.url for c in gift} == {GIFT_URL} and gift[0].title == "Redeem a Ledgerly gift card"
    payload = env.ask_api("How long is a gift card code valid?")
    assert {c["url"] for c in payload["citations"] if c["doc_id"] == "ledgerly-gift-card.md"} == {GIFT_URL}  # type: ignore[attr-defined,index]


def test_check_public_url_names_the_field() -> None:
    assert check_public_url(" https://help.example/a ") == "https://help.example/a"
    for bad in ("help.example/a", "javascript:alert(1)", "https://", "/demo/null"):
        with pytest.raises(ContentError, match="Public URL"):
            check_public_url(bad)


def test_playground_answers_as_the_widget_without_recording(env: Env) -> None:
    before = env.services.store.counts("ledgerly").interactions
    at = _admin()
    at.selectbox(key="pg_tenant").set_value("ledgerly")
    at.text_input(key="pg_question").input(RESET_QUESTION)
    at.button(key="pg_submit").click().run()
    assert not at.exception, at.exception
    shown = "".join(h.proto.body for h in at.get("html"))
    assert 'href="https://help.ledgerly.example/hc/en/articles/LED-1002-reset-your-password"' in shown
    assert "[1]<" not in shown and "Contact support" in shown, "numbers as superscript links, no [n] markers"
    assert env.services.store.counts("ledgerly").interactions == before, "nothing recorded"

    at.text_input(key="pg_question").input("Can I pay with bitcoin?")
    at.button(key="pg_submit").click().run()
    shown = "".join(h.proto.body for h in at.get("html"))
    assert "Contact support" in shown and "Sources" not in shown
    assert env.services.store.counts("ledgerly").interactions == before


def test_only_admins_manage_articles(env: Env) -> None:
    at = AppTest.from_file(str(ADMIN_PAGE), default_timeout=120)
    at.session_state[auth.SESSION_KEY] = Identity(username="ava", role=Role.agent, tenant="ledgerly", name="Ava")
    at.run()
    assert any("cannot open this page" in e.value for e in at.error)
    assert not [b for b in at.button if b.key in {"article_disable", "article_delete"}]

    content = env.services.content()
    for caller in (Caller("console:ava", "agent"), Caller("console:lena", "analyst")):
        for action in (content.disable, content.delete):
            with pytest.raises(NotAllowed):
                action(RESET, caller)
    with pytest.raises(NotAllowed, match="outside yours"):
        content.disable(RESET, Caller("console:pp-admin", "admin", ["parcelpoint"]))
    assert env.services.retrieval.content.marks() == {} or RESET not in env.services.retrieval.content.marks()
    assert RESET in env.services.retrieval.manifest.entries()


def test_content_state_is_read_again_when_another_process_changes_it(tmp_path: Path) -> None:
    """Two readers of one file (as the console and a separate API process): a mark made by one is seen by the
    other at its next read, and a broken file keeps what was read before."""
    writer, reader = ContentState.in_data_dir(tmp_path), ContentState.in_data_dir(tmp_path)
    assert reader.excluded("ledgerly") == ()
    writer.mark("a.md", "ledgerly", "disabled", "console:sam")
    assert reader.excluded("ledgerly") == ("a.md",) and reader.excluded("parcelpoint") == ()
    generation = reader.generation()
    writer.mark("b.md", "ledgerly", "deleted", "console:sam")
    assert reader.excluded("ledgerly") == ("a.md", "b.md") and reader.generation() > generation
    assert set(reader.deleted()) == {"b.md"}
    (tmp_path / "content-state.json").write_text("{not json", encoding="utf-8")
    assert reader.excluded("ledgerly") == ("a.md", "b.md")
