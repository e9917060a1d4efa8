"""No planted personal data rests under the data dir, whichever door it came in by.

Distinctive PII (an e-mail address, a phone number, a card number with a valid Luhn digit, an IBAN with
valid check digits, and a person's name in a signature) goes in through every input format the loader
takes and through every door: ingest, an API question, vote, edit and escalation (and a question and
vote while the database is down, which land in the spool), and the console's pasted ticket, sent reply,
vote, escalation and upload. Each door gets its own values, so a leak names its door.

Then every byte of every file under the data dir (SQLite files with their -wal/-shm, Qdrant Edge
segments and WAL, the spool, caches, the console's files, logs) is searched for each value, as written
and with its separators removed. Nothing may be found: right after the doors were used, and again after
the source files were deleted, the ingest re-run and `deskpilot retention apply` run.
"""

from __future__ import annotations

import email.message
import json
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from feedback.models import make_engine
from feedback.store import FeedbackStore
from ingest.records import ArticleMeta
from tests.console.support import PASSWORD, USERS, login
from tests.feedback.conftest import CLOSED_PORT_URL
from ui.api.settings import ApiSettings
from ui.cli import app as cli
from ui.console import resources
from ui.console.auth import hash_password
from ui.console.settings import ConsoleSettings
from ui.serve import Served, serving
from ui.settings import AppSettings
from ui.wiring import ingest_paths

TENANT = "ledgerly"
FORMATS = ("md", "html", "txt", "pdf", "docx", "eml", "json")
DOORS = (
    *(f"ingest-{fmt}" for fmt in FORMATS),
    "api-question",
    "api-vote",
    "api-edit",
    "api-escalation",
    "spooled-question",
    "spooled-vote",
    "console-ticket",
    "console-reply",
    "console-vote",
    "console-escalation",
    "console-upload",
)
FIRST_NAMES = (
    "Rosalind",
    "Evangeline",
    "Cornelius",
    "Philippa",
    "Leopold",
    "Georgina",
    "Ambrose",
    "Henrietta",
    "Bartholomew",
    "Wilhelmina",
    "Augustus",
    "Clementine",
    "Theodora",
    "Percival",
    "Marigold",
    "Florence",
    "Reginald",
    "Octavia",
)
SURNAMES = (
    "Quennell",
    "Vantreight",
    "Oyelaran",
    "Kettleborough",
    "Marchbanks",
    "Fairbrass",
    "Ashdown-Pryce",
    "Thistlewood",
    "Okonkwo-Blythe",
    "Pemberthy",
    "Wolstenholme",
    "Drinkwater",
    "Castellanos-Reid",
    "Huckerby",
    "Villiers-Nkemelu",
    "Brocklehurst",
    "Szczepanska",
    "Tremayne",
)


def _luhn_complete(digits: str) -> str:
    """``digits`` plus the Luhn check digit that makes the whole number valid."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == 0:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return digits + str((10 - total % 10) % 10)


def _luhn_valid(number: str) -> bool:
    digits = [int(c) for c in number if c.isdigit()]
    checksum = sum(digits[-1::-2]) + sum(sum(divmod(2 * d, 10)) for d in digits[-2::-2])
    return checksum % 10 == 0


def _iban(country: str, bban: str) -> str:
    """A GB IBAN with valid check digits (ISO 13616 mod 97)."""
    rearranged = bban + country + "00"
    number = int("".join(str(int(c, 36)) for c in rearranged))
    return f"{country}{98 - number % 97:02d}{bban}"


def _groups(text: str, size: int = 4) -> str:
    return " ".join(text[i : i + size] for i in range(0, len(text), size))


@dataclass(frozen=True)
class Planted:
    """The personal data one door receives."""

    door: str
    name: str
    email: str
    phone: str
    card: str
    iban: str

    @property
    def surname(self) -> str:
        return self.name.split()[-1]

    def needles(self) -> dict[str, bytes]:
        """Each value as written and with its separators removed, as UTF-8 bytes."""
        found = {
            "name": self.name,
            "surname": self.surname,
            "email": self.email,
            "phone": self.phone,
            "phone digits": self.phone.replace(" ", ""),
            "card": self.card,
            "card digits": self.card.replace(" ", ""),
            "iban": self.iban,
            "iban compact": self.iban.replace(" ", ""),
        }
        return {kind: value.encode("utf-8") for kind, value in found.items()}

    def sentence(self) -> str:
        """A customer's message carrying every value, with the name in the signature."""
        return (
            f"I was charged twice on my card {self.card} this morning. Please refund it to my bank account "
            f"{self.iban} or call me back on {self.phone}; my e-mail address is {self.email}.\n\n"
            f"Best regards,\n{self.name}"
        )


def _planted() -> dict[str, Planted]:
    planted = {}
    for n, door in enumerate(DOORS):
        first, last = FIRST_NAMES[n], SURNAMES[n]
        local = f"{first}.{last}".lower().replace("-", "")
        card = _luhn_complete(f"4{539 + n:03d}{n * 7919 % 10**11:011d}")
        assert _luhn_valid(card)
        planted[door] = Planted(
            door=door,
            name=f"{first} {last}",
            email=f"{local}@harbourmail-{n}.example",
            phone=f"+44 20 7946 0{310 + n:03d}",
            card=_groups(card),
            iban=_groups(_iban("GB", f"WEST{601613 + n:06d}{31926819 + n:08d}")),
        )
    return planted


PLANTED = _planted()


def _article(planted: Planted, topic: str) -> list[str]:
    """Paragraphs of a help article about ``topic`` that quotes a customer's message (with its PII)."""
    return [
        f"How we handle {topic}",
        f"This page explains what happens with {topic} and how long each step takes. Most requests are "
        "resolved within 5 business days; card refunds can take up to 10 business days to show.",
        "Here is a message a customer sent us, kept as an example of a complete request:",
        planted.sentence(),
    ]


def _sidecar(path: Path, n: int, fmt: str) -> None:
    meta = {
        "id": f"PII-{n}",
        "title": f"Example request in {fmt}",
        "url": f"https://help.ledgerly.example/hc/en/articles/PII-{n}",
        "tenant": TENANT,
        "product": "books",
        "locale": "en",
        "section": "Billing",
        "updated_at": "2026-06-01",
    }
    path.with_name(path.name + ".meta.json").write_text(json.dumps(meta), encoding="utf-8")


def _write_sources(folder: Path) -> None:
    """One article per input format, each quoting its own planted customer message."""
    folder.mkdir(parents=True)
    topics = {
        "md": "double charges",
        "html": "refunds to a bank account",
        "txt": "call-back requests",
        "pdf": "disputed card payments",
        "docx": "invoice corrections",
        "eml": "messages forwarded to support",
        "json": "chargebacks",
    }
    for n, fmt in enumerate(FORMATS):
        planted = PLANTED[f"ingest-{fmt}"]
        title, *paragraphs = _article(planted, topics[fmt])
        path = folder / f"example-{fmt}.{fmt}"
        if fmt == "md":
            front = (
                f"---\nid: PII-{n}\ntitle: {title}\nurl: https://help.ledgerly.example/PII-{n}\ntenant: {TENANT}\n"
                "product: books\nlocale: en\nsection: Billing\nupdated_at: 2026-06-01\n---\n\n"
            )
            path.write_text(front + f"# {title}\n\n" + "\n\n".join(paragraphs) + "\n", encoding="utf-8")
        elif fmt == "html":
            body = "".join(f"<p>{p.replace(chr(10), '<br>')}</p>" for p in paragraphs)
            path.write_text(
                f'<html lang="en"><head><title>{title}</title>'
                f'<link rel="canonical" href="https://help.ledgerly.example/PII-{n}">'
                f'<meta name="id" content="PII-{n}"><meta name="tenant" content="{TENANT}">'
                '<meta name="product" content="books"><meta name="section" content="Billing">'
                '<meta name="updated_at" content="2026-06-01"></head>'
                f"<body><h1>{title}</h1>{body}</body></html>",
                encoding="utf-8",
            )
        elif fmt == "txt":
            path.write_text(title + "\n\n" + "\n\n".join(paragraphs) + "\n", encoding="utf-8")
            _sidecar(path, n, fmt)
        elif fmt == "pdf":
            from fpdf import FPDF

            pdf = FPDF()
            pdf.add_page()
            pdf.set_font("Helvetica", size=16)
            pdf.multi_cell(0, 10, title, new_x="LMARGIN", new_y="NEXT")
            pdf.set_font("Helvetica", size=11)
            for paragraph in paragraphs:
                pdf.multi_cell(0, 6, paragraph, new_x="LMARGIN", new_y="NEXT")
                pdf.ln(4)
            pdf.output(str(path))
            _sidecar(path, n, fmt)
        elif fmt == "docx":
            import docx

            document = docx.Document()
            document.add_heading(title, level=1)
            for paragraph in paragraphs:
                for part in paragraph.split("\n\n"):
                    document.add_paragraph(part)
            document.save(str(path))
            _sidecar(path, n, fmt)
        elif fmt == "eml":
            message = email.message.EmailMessage()
            message["From"] = f"{planted.name} <{planted.email}>"
            message["To"] = "support@ledgerly.example"
            message["Subject"] = title
            message["Date"] = "Mon, 01 Jun 2026 09:00:00 +0000"
            message.set_content("\n\n".join(paragraphs) + "\n")
            path.write_bytes(bytes(message))
            _sidecar(path, n, fmt)
        else:
            article = {
                "id": f"PII-{n}",
                "title": title,
                "body": "".join(f"<p>{p.replace(chr(10), '<br>')}</p>" for p in paragraphs),
                "section": "Billing",
                "locale": "en",
                "updated_at": "2026-06-01T09:00:00Z",
                "url": f"https://help.ledgerly.example/PII-{n}",
            }
            export = {
                "tenant": TENANT,
                "product": "books",
                "exported_at": "2026-06-02T09:00:00Z",
                "articles": [article],
            }
            path.write_text(json.dumps(export), encoding="utf-8")


def _files(data_dir: Path) -> Iterator[Path]:
    for path in sorted(data_dir.rglob("*")):
        if path.is_file():
            yield path


def scan(data_dir: Path) -> list[str]:
    """Every (door, value, file) where a planted value occurs in the raw bytes of a file under ``data_dir``."""
    found = []
    files = {path: path.read_bytes() for path in _files(data_dir)}
    assert files, f"nothing under {data_dir}"
    for door, planted in PLANTED.items():
        for kind, needle in planted.needles().items():
            for path, content in files.items():
                if needle in content:
                    found.append(f"{door}: {kind} {needle.decode()!r} in {path.relative_to(data_dir)}")
    return found


def _settings(state: Path) -> AppSettings:
    base = AppSettings.load(state)
    api = ApiSettings(
        rate_limit_per_key=600,
        rate_limit_per_client=6000,
        rate_limit_widget_per_visitor=600,
        rate_limit_widget_per_tenant=6000,
    )
    return AppSettings(base.ingest, base.retrieval, base.assistant, base.feedback, api)


def _api_doors(served: Served, client: TestClient) -> None:
    """A question, a vote, an edit and an escalation through the API."""
    headers = {"X-API-Key": served.store.create_api_key(TENANT, "agent", "pii at rest")[1]}
    asked = PLANTED["api-question"]
    answer = client.post("/v1/answer", json={"question": asked.sentence()}, headers=headers)
    assert answer.status_code == 200, answer.text
    interaction = answer.json()["interaction_id"]
    vote = client.post(
        "/v1/feedback",
        json={"interaction_id": interaction, "thumbs": "down", "comment": PLANTED["api-vote"].sentence()},
        headers=headers,
    )
    assert vote.status_code == 202 and vote.json()["status"] == "stored", vote.text
    edit = client.post(
        "/v1/edits",
        json={
            "interaction_id": interaction,
            "draft": answer.json()["answer"],
            "sent": f"Hi {PLANTED['api-edit'].name},\n\n{PLANTED['api-edit'].sentence()}",
        },
        headers=headers,
    )
    assert edit.status_code == 202 and edit.json()["status"] == "stored", edit.text
    escalated = PLANTED["api-escalation"]
    escalation = client.post(
        "/v1/escalations",
        json={
            "interaction_id": interaction,
            "reason": f"{escalated.name} asked for a call back on {escalated.phone}",
            "conversation": [
                {"role": "customer", "text": escalated.sentence()},
                {"role": "assistant", "text": answer.json()["answer"] or "Let me find a person for you."},
            ],
        },
        headers=headers,
    )
    assert escalation.status_code == 202 and escalation.json()["status"] == "stored", escalation.text


def _outage_doors(served: Served, client: TestClient) -> None:
    """A question and a vote while the database is down: the same writer spools what the doors give it."""
    headers = {"X-API-Key": served.store.create_api_key(TENANT, "agent", "pii at rest, outage")[1]}
    interaction = served.store.list_interactions(TENANT, page=1, page_size=1).items[0].id
    writer, store = served.writer, served.writer.store
    with FeedbackStore(make_engine(CLOSED_PORT_URL, connect_timeout_s=2)) as down:
        writer.store = down
        try:
            offline = client.post(
                "/v1/answer", json={"question": PLANTED["spooled-question"].sentence()}, headers=headers
            )
            assert offline.status_code == 200, offline.text
            spooled_vote = client.post(
                "/v1/feedback",
                json={
                    "interaction_id": str(interaction),
                    "thumbs": "up",
                    "comment": PLANTED["spooled-vote"].sentence(),
                },
                headers=headers,
            )
            assert spooled_vote.status_code == 202 and spooled_vote.json()["status"] == "spooled", spooled_vote.text
        finally:
            writer.store = store
    assert writer.spool.has_pending(), "the outage's writes wait in the spool under the data dir"


def _console_doors(served: Served, settings: AppSettings, state: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A pasted ticket, its drafted reply edited and sent, a vote, an escalation, and an admin's upload."""
    users = {name: {**user, "password_hash": hash_password(PASSWORD)} for name, user in USERS.items()}
    monkeypatch.setenv("DESKPILOT_DATA_DIR", str(state))
    monkeypatch.setenv("DESKPILOT_CONSOLE_USERS", json.dumps(users))
    console = ConsoleSettings(data_dir=state)  # the inbox starts with the sample tickets
    services = resources.build(settings, console, served.retrieval, served.store, served.writer, served.tracer)
    resources.host(services)
    try:
        ticket = PLANTED["console-ticket"]
        at = login("ava")
        at.text_input(key="paste_subject").input("Charged twice")
        at.text_input(key="paste_customer").input(ticket.name)
        at.text_area(key="paste_body").input(ticket.sentence())
        at.button(key="paste_submit").click().run()
        assert not at.exception, at.exception
        ticket_id = str(at.radio(key="inbox_ticket").value)
        opened = services.tickets.get(ticket_id)
        assert opened is not None and opened.interaction_id, "opening the pasted ticket drafted a reply"

        reply = PLANTED["console-reply"]
        at.text_area(key=f"reply:{ticket_id}:1").input(f"Hi {reply.name},\n\n{reply.sentence()}")
        at.button(key="send").click().run()
        assert not at.exception, at.exception
        at.button_group(key=f"vote_thumbs:{ticket_id}").set_value("down")
        at.text_input(key=f"vote_comment:{ticket_id}").input(PLANTED["console-vote"].sentence())
        at.button(key="vote_submit").click().run()
        assert not at.exception, at.exception
        escalated = PLANTED["console-escalation"]
        at.text_input(key=f"esc_note:{ticket_id}").input(
            f"{escalated.name} ({escalated.email}, {escalated.phone}) disputes card {escalated.card}, "
            f"refund to {escalated.iban}"
        )
        at.button(key="escalate_submit").click().run()
        assert not at.exception, at.exception
        assert services.store.counts(TENANT).edits >= 1

        upload = PLANTED["console-upload"]
        title, *paragraphs = _article(upload, "uploaded examples")
        content = f"# {title}\n\n" + "\n\n".join(paragraphs) + "\n"
        admin = login("sam")
        admin.file_uploader(key="ingest_file").set_value(("customer example.md", content.encode(), "text/markdown"))
        admin.selectbox(key="ingest_tenant").set_value(TENANT)
        # A file without front matter must be given its public URL (the heading is its title).
        admin.text_input(key="ingest_url").input("https://help.ledgerly.example/articles/customer-examples")
        admin.button(key="ingest_submit").click().run()
        assert not admin.exception, admin.exception
        assert services.ingest_log.runs()[0].chunks_added > 0
    finally:
        resources.host(None)
        for canary in (services.canary, services.fresh_canary):
            if canary is not None:
                canary.close()


def test_no_planted_pii_rests_under_the_data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    state, sources = tmp_path / "state", tmp_path / "sources"
    _write_sources(sources)
    settings = _settings(state)
    overrides = ArticleMeta(tenant=TENANT)

    run = ingest_paths([sources], settings, overrides)
    assert not run.result.skipped, run.result.skipped
    assert run.result.files_read == len(FORMATS) and run.sync.chunks_added > 0
    assert sum(run.result.redactions.values()) >= 5 * len(FORMATS), run.result.redactions
    with serving(settings, demo=False, drain_every_s=3600) as served, TestClient(served.app) as client:
        _api_doors(served, client)
        _console_doors(served, settings, state, monkeypatch)
        _outage_doors(served, client)  # last: a later write would replay the spool into the database
        leaks = scan(state)
        assert not leaks, "planted PII rests under the data dir while the service runs:\n" + "\n".join(leaks)
    leaks = scan(state)
    assert not leaks, "planted PII rests under the data dir:\n" + "\n".join(leaks)

    # The sources are deleted, their folder ingested again, and retention applied.
    shutil.rmtree(sources)
    sources.mkdir()
    again = ingest_paths([sources], settings, overrides)
    assert again.sync.documents_deleted == len(run.result.documents)
    cached = [(d / "source").read_text() for d in (state / "cache" / "sources").iterdir()]
    assert not [s for s in cached if s.startswith(str(sources.resolve()))], "no cache entry outlives its source"
    retention = CliRunner().invoke(cli, ["retention", "apply", "--data-dir", str(state)])
    assert retention.exit_code == 0, retention.output
    leaks = scan(state)
    assert not leaks, "planted PII rests under the data dir after deletion and retention:\n" + "\n".join(leaks)
