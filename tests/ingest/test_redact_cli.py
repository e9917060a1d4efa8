"""`deskpilot redact` in a subprocess, as a user runs it: files and stdin in one call, JSON lines in order."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO


def test_redact_command_prints_one_json_object_per_input_in_order(tmp_path: Path) -> None:
    first = tmp_path / "ticket.txt"
    first.write_text("Hallo,\nmeine Kundennummer ist KD-55102-9.\n\nViele Grüße\nAnnegret Vollmer\n", encoding="utf-8")
    second = tmp_path / "article.md"
    second.write_text("# Best Practices for Exports\n\nOpen Settings > Export and choose CSV.\n", encoding="utf-8")
    stdin_text = "call me on +44 20 7946 0321, born 02/03/1980"
    done = subprocess.run(
        [sys.executable, "-m", "ui.cli", "redact", str(first), "-", str(second), "--json", "--locale", "de"],
        cwd=REPO,
        env={**os.environ, "DESKPILOT_DATA_DIR": str(tmp_path / "state")},
        input=stdin_text,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    records = [json.loads(line) for line in done.stdout.splitlines()]
    assert [r["file"] for r in records] == [str(first), "-", str(second)]
    originals = [first.read_text(encoding="utf-8"), stdin_text, second.read_text(encoding="utf-8")]
    for record, original in zip(records, originals, strict=True):
        for span in record["spans"]:
            assert set(span) == {"type", "start", "end", "score", "detector"}
            assert original[span["start"] : span["end"]].strip()  # offsets point into the input
    ticket = records[0]
    assert {(s["type"], originals[0][s["start"] : s["end"]]) for s in ticket["spans"]} == {
        ("ACCOUNT_NUMBER", "KD-55102-9"),
        ("PERSON", "Annegret Vollmer"),
    }
    assert "<ACCOUNT_NUMBER>" in ticket["text"] and "Annegret" not in ticket["text"]
    assert {s["type"] for s in records[1]["spans"]} == {"PHONE_NUMBER", "DATE_OF_BIRTH"}
    assert records[2]["spans"] == [] and records[2]["text"] == originals[2]


def test_redact_command_prints_plain_text_and_rejects_an_unknown_kind(tmp_path: Path) -> None:
    env = {**os.environ, "DESKPILOT_DATA_DIR": str(tmp_path / "state")}
    done = subprocess.run(
        [sys.executable, "-m", "ui.cli", "redact", "--kind", "content"],
        cwd=REPO,
        env=env,
        input="Contact Priya Raman (priya.raman@ledgerly.example) for escalations.",
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout == "Contact <PERSON> (<EMAIL_ADDRESS>) for escalations.\n"
    bad = subprocess.run(
        [sys.executable, "-m", "ui.cli", "redact", "--kind", "tickets"],
        cwd=REPO,
        env=env,
        input="x",
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert bad.returncode != 0 and "--kind" in bad.stderr
