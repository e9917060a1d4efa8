"""`deskpilot eval harvest` on a real SQLite feedback store filled with real answers of the sample assistant."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from uuid import UUID

import pytest

from assistant.records import Answer, Channel, Question
from evals.answer_eval import default_judge, evaluate_answers
from evals.datasets import load_golden
from evals.harvest import article_lookup, harvest, question_id, reply_body, versions
from evals.retrieval_eval import evaluate_retrieval
from evals.run import main as eval_main
from feedback.records import EditIn, EscalationIn, FeedbackIn, InteractionIn, utcnow
from feedback.retention import apply as apply_retention
from feedback.settings import FeedbackSettings
from feedback.store import FeedbackStore
from ui.settings import AppSettings
from ui.wiring import Retrieval

Q_REFUND = "Customer wants to know if they can get money back after cancelling their yearly plan last week"
Q_CODES = "how many recovery codes do i get when i turn on two factor?"
Q_CODES_AGAIN = "How many recovery codes do I get when I turn on two-factor??"
Q_BACKUP = "A merchant asks how long the backup codes list is for 2FA"
Q_LIMIT = "whats the API rate limit on the scale plan"
Q_WEATHER = "what is the weather in paris tomorrow"
Q_EXPORT = "how do I export all my company data"
Q_GOLDEN_DE = "Wie lange ist der Link zum Zurücksetzen des Passworts gültig?"  # G-085, verbatim
Q_SHOPIFY = "can i connect my shopify store to parcelpoint"
PHONE, EMAIL = "+1 415 555 0142", "jane.doe@example.com"

ASKED: dict[str, tuple[str, Channel, str]] = {
    Q_REFUND: ("ledgerly", "agent", "en"),
    Q_CODES: ("ledgerly", "widget", "en"),
    Q_CODES_AGAIN: ("ledgerly", "widget", "en"),
    Q_BACKUP: ("parcelpoint", "agent", "en"),
    Q_LIMIT: ("ledgerly", "widget", "en"),
    Q_WEATHER: ("ledgerly", "widget", "en"),
    Q_EXPORT: ("ledgerly", "widget", "en"),
    Q_GOLDEN_DE: ("ledgerly", "widget", "de"),
    Q_SHOPIFY: ("parcelpoint", "widget", "en"),
}


@pytest.fixture(scope="module")
def answers(samples: Retrieval) -> dict[str, Answer]:
    """Real answers of the assistant over the indexed samples, one per question."""
    service = samples.assistant()
    out = {}
    for text, (tenant, channel, locale) in ASKED.items():
        out[text] = service.answer(Question(text=text, tenant=tenant, channel=channel, locale=locale))
    assert out[Q_WEATHER].abstained
    assert not any(a.abstained for q, a in out.items() if q != Q_WEATHER)
    return out


@pytest.fixture()
def store(tmp_path: Path) -> Iterator[FeedbackStore]:
    with FeedbackStore.open(FeedbackSettings(data_dir=tmp_path / "state")) as opened:
        yield opened


class Traffic:
    """Writes interactions, votes, edits and escalations through the store's API, in time order."""

    def __init__(self, store: FeedbackStore, answers: dict[str, Answer]) -> None:
        self.store, self.answers = store, answers
        self.clock = utcnow() - timedelta(hours=2)

    def ask(self, question: str, *, at_days_ago: int = 0, shadow_of: UUID | None = None) -> UUID:
        tenant, channel, _ = ASKED[question]
        self.clock += timedelta(minutes=1)
        record = InteractionIn.from_answer(
            self.answers[question],
            tenant=tenant,
            channel=channel,
            actor="agent-7" if channel == "agent" else "widget-key",
            shadow_of=shadow_of,
            created_at=self.clock - timedelta(days=at_days_ago),
        )
        assert self.store.record_interaction(record).created
        return record.id

    def vote(self, interaction: UUID, question: str, thumbs: str) -> None:
        reasons = ("wrong_answer",) if thumbs == "down" else ()
        self.store.record_feedback(
            FeedbackIn(tenant=ASKED[question][0], interaction_id=interaction, thumbs=thumbs, reason_codes=reasons)  # type: ignore[arg-type]
        )

    def edit(self, interaction: UUID, question: str, sent: str) -> None:
        draft = self.answers[question].text
        self.store.record_edit(
            EditIn(tenant=ASKED[question][0], interaction_id=interaction, draft=draft, sent=sent, editor="agent-7")
        )


def _light_edit(draft: str) -> str:
    """What an agent does to a good draft: another greeting and sign-off, and a personal line with PII."""
    paragraphs = draft.split("\n\n")
    paragraphs[0] = "Hi Jane,"
    paragraphs[-3] += f" If the bank needs more, call me on {PHONE} or write to {EMAIL}."  # the answer's last
    return "\n\n".join(paragraphs).replace("Best regards,", "Kind regards,")


@pytest.fixture()
def traffic(store: FeedbackStore, answers: dict[str, Answer], tmp_path: Path) -> dict[str, UUID]:
    """One interaction of every kind the harvest must take or leave; returns their ids by role."""
    t = Traffic(store, answers)
    ids = {}
    ids["edited"] = t.ask(Q_REFUND)  # approved: sent with a light edit, PII typed by the agent
    t.edit(ids["edited"], Q_REFUND, _light_edit(answers[Q_REFUND].text))
    ids["up"] = t.ask(Q_CODES)  # approved: thumbs-up widget answer
    t.vote(ids["up"], Q_CODES, "up")
    ids["up_again"] = t.ask(Q_CODES_AGAIN)  # approved, same normalized question: deduplicated, the newer wins
    t.vote(ids["up_again"], Q_CODES_AGAIN, "up")
    ids["edit_down"] = t.ask(Q_BACKUP)  # sent but voted down
    t.edit(ids["edit_down"], Q_BACKUP, answers[Q_BACKUP].text)
    t.vote(ids["edit_down"], Q_BACKUP, "down")
    ids["up_and_down"] = t.ask(Q_LIMIT)  # one up, one down: a thumbs-down excludes
    t.vote(ids["up_and_down"], Q_LIMIT, "up")
    t.vote(ids["up_and_down"], Q_LIMIT, "down")
    ids["abstained"] = t.ask(Q_WEATHER)
    t.vote(ids["abstained"], Q_WEATHER, "up")
    ids["shadow"] = t.ask(Q_LIMIT, shadow_of=ids["up"])
    t.vote(ids["shadow"], Q_LIMIT, "up")
    ids["old"] = t.ask(Q_EXPORT, at_days_ago=400)  # anonymized by retention below
    t.vote(ids["old"], Q_EXPORT, "up")
    ids["escalated"] = t.ask(Q_EXPORT)
    t.vote(ids["escalated"], Q_EXPORT, "up")
    store.record_escalation(
        EscalationIn(tenant="ledgerly", interaction_id=ids["escalated"], reason="customer still stuck")
    )
    ids["rewritten"] = t.ask(Q_REFUND)
    t.edit(ids["rewritten"], Q_REFUND, "Hi,\n\nI've passed your case to our billing team; they will email you.")
    ids["golden"] = t.ask(Q_GOLDEN_DE)  # a question of the hand-made golden set
    t.vote(ids["golden"], Q_GOLDEN_DE, "up")
    ids["silent"] = t.ask(Q_SHOPIFY)  # no vote, no edit: not approved (yet)
    retention = FeedbackSettings(data_dir=tmp_path / "state", retention_default_days=30, retention_mode="anonymize")
    report = apply_retention(store, retention)
    assert sum(r.interactions for r in report.tenants) == 1
    assert store.get_interaction(ids["old"], "ledgerly").anonymized_at is not None  # type: ignore[union-attr]
    return ids


def _cited_articles(answer: Answer) -> dict[str, int]:
    by_n = {s.n: s.hit.article_id for s in answer.sources}
    return {by_n[c.n]: 2 for c in answer.citations}


def test_harvest_takes_exactly_the_approved_deduplicated_and_versions(
    store: FeedbackStore, traffic: dict[str, UUID], answers: dict[str, Answer], samples: Retrieval, tmp_path: Path
) -> None:
    out = tmp_path / "golden"
    articles = article_lookup(samples.index.payloads())
    first = harvest(store, out, redact=samples.redact, articles=articles)

    assert first.written and first.version == 1 and first.path == out / "harvest-v001.jsonl"
    by_qid = {i.qid: i for i in first.items}
    assert set(by_qid) == {question_id("ledgerly", Q_REFUND), question_id("ledgerly", Q_CODES)}
    edited, upvoted = by_qid[question_id("ledgerly", Q_REFUND)], by_qid[question_id("ledgerly", Q_CODES)]
    assert edited.origin is not None and edited.origin.signal == "edit"
    assert edited.origin.interaction_id == str(traffic["edited"])
    assert upvoted.origin is not None and upvoted.origin.interaction_id == str(traffic["up_again"])
    assert upvoted.origin.merged == (str(traffic["up"]),)
    assert first.counts["abstained"] == 1 and first.counts["anonymized"] == 1
    assert first.counts["voted_down"] == 2 and first.counts["escalated"] == 1 and first.counts["rewritten"] == 1
    assert first.counts["not_approved"] == 1 and first.counts["duplicate_of_golden"] == 1
    assert first.counts["duplicate_in_tenant"] == 1 and first.counts["reference_redacted"] == 1

    # Sources in the golden set's relevance format: the cited articles, graded 2.
    assert edited.relevant == _cited_articles(answers[Q_REFUND])
    assert upvoted.relevant == _cited_articles(answers[Q_CODES_AGAIN])
    assert all(a.startswith("LED-") for a in edited.relevant)
    assert edited.locale == "en" and upvoted.tenant == "ledgerly"

    # Reference answers: the sent text without greeting, opener, closing, signature or markers; no PII left.
    text = edited.reference_answer
    assert PHONE not in text and EMAIL not in text and "555" not in text and "jane.doe" not in text
    assert "Hi Jane" not in text and "Kind regards" not in text and "Thanks for reaching out" not in text
    assert "just reply" not in text and "[1]" not in text
    assert text.startswith(reply_body(answers[Q_REFUND].text)[:40])
    assert upvoted.reference_answer == reply_body(answers[Q_CODES_AGAIN].text)
    assert "[" not in upvoted.reference_answer

    # The file loads with the eval loader; the manifest describes it.
    dataset = load_golden(first.path)
    assert {q.qid for q in dataset.queries} == set(by_qid)
    assert all(q.answerable and q.reference_answer for q in dataset.queries)
    manifest = json.loads((out / "harvest-v001.manifest.json").read_text(encoding="utf-8"))
    assert manifest["version"] == 1 and manifest["previous_version"] is None
    assert manifest["content_hash"] == hashlib.sha256(first.path.read_bytes()).hexdigest()
    assert sorted(manifest["source_interaction_ids"]) == sorted([str(traffic["edited"]), str(traffic["up_again"])])
    assert manifest["counts"]["examples"] == 2
    for excluded in ("edit_down", "up_and_down", "abstained", "shadow", "old", "escalated", "rewritten", "golden"):
        assert str(traffic[excluded]) not in first.path.read_text(encoding="utf-8")

    # Nothing new: nothing written.
    v1 = first.path.read_bytes()
    again = harvest(store, out, redact=samples.redact, articles=articles)
    assert not again.written and again.latest == 1 and "unchanged" in again.message
    assert versions(out) == [1] and first.path.read_bytes() == v1

    # New approved data: v002, a complete snapshot; v001 is left as it was.
    Traffic(store, answers).vote(traffic["silent"], Q_SHOPIFY, "up")
    second = harvest(store, out, redact=samples.redact, articles=articles)
    assert second.written and second.version == 2 and versions(out) == [1, 2]
    assert first.path.read_bytes() == v1
    assert {i.qid for i in second.items} == {*by_qid, question_id("parcelpoint", Q_SHOPIFY)}
    manifest2 = json.loads((out / "harvest-v002.manifest.json").read_text(encoding="utf-8"))
    assert manifest2["previous_version"] == 1 and manifest2["content_hash"] != manifest["content_hash"]

    # The harvested set evaluates like the golden set (article ids match the index's).
    assert second.path is not None
    result = evaluate_retrieval(samples, load_golden(second.path), resamples=200)
    assert set(result.qids) == {i.qid for i in second.items}
    hybrid = result.config("hybrid").scores["recall@5"]
    assert all(0.0 <= v <= 1.0 for v in hybrid.values()) and max(hybrid.values()) > 0


def test_tenant_and_since_filters(
    store: FeedbackStore, traffic: dict[str, UUID], samples: Retrieval, tmp_path: Path
) -> None:
    articles = article_lookup(samples.index.payloads())
    parcel = harvest(store, tmp_path / "p", redact=samples.redact, articles=articles, tenant="parcelpoint")
    assert not parcel.written and parcel.items == () and "nothing written" in parcel.message
    later = harvest(store, tmp_path / "s", redact=samples.redact, articles=articles, since=utcnow())
    assert later.counts["interactions"] == 0 and not later.written


def test_reply_body_strips_template_of_both_locales() -> None:
    from assistant.templates import agent_draft

    assert reply_body(agent_draft("Refunds take 5 days [1]. Cards take longer [2].", "en")) == (
        "Refunds take 5 days. Cards take longer."
    )
    assert reply_body(agent_draft("Die Erstattung dauert 5 Tage [1].", "de", "Ava")) == "Die Erstattung dauert 5 Tage."
    assert reply_body("Refunds take 5 days [1][2].") == "Refunds take 5 days."


def test_eval_run_evaluates_a_harvested_file(
    store: FeedbackStore, traffic: dict[str, UUID], samples: Retrieval, tmp_path: Path
) -> None:
    """What `eval run --golden` does with the file: answer and judge every harvested question (retrieval above).

    The full `eval run` also runs the 50 red-team probes, minutes on this machine; its golden option only
    swaps the loaded file, and refusing to gate a harvested set against the samples' baseline is checked here.
    """
    result = harvest(
        store, tmp_path / "golden", redact=samples.redact, articles=article_lookup(samples.index.payloads())
    )
    assert result.path is not None
    service = samples.assistant()
    dataset = load_golden(result.path)
    answered = evaluate_answers(service, dataset, default_judge(service), resamples=200)
    assert {o.qid for o in answered.outcomes} == {i.qid for i in result.items}
    assert all(not o.abstained for o in answered.outcomes)
    similarity = answered.metrics["reference_similarity"]
    assert similarity.n == len(result.items) and similarity.value > 0.5
    assert eval_main(AppSettings.load(tmp_path / "x"), golden=result.path, check_gate=True) == 2
