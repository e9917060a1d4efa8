"""The `deskpilot` CLI end to end, in a subprocess like a user runs it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import BAD, HELPCENTER, REPO


def _deskpilot(*args: str, data_dir: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DESKPILOT_DATA_DIR": str(data_dir)}
    return subprocess.run(
        [sys.executable, "-m", "ui.cli", *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=1200,
    )


def test_ingest_samples_reports_bad_files_and_dedupes(tmp_path: Path) -> None:
    data_dir = tmp_path / "state"
    done = _deskpilot("ingest", str(HELPCENTER), str(BAD), "--json", data_dir=data_dir)
    assert done.returncode == 0, done.stderr[-3000:]
    summary = json.loads(done.stdout)
    skipped = {Path(s["path"]).name: s["reason"] for s in summary["skipped"]}
    assert set(skipped) == {
        "corrupt.pdf",
        "empty.md",
        "junk.md",
        "latin1-notes.txt",
        "roadmap.key",
        "notes.xyz",
    }
    assert all(name in reason for name, reason in skipped.items())
    kinds = sorted(d["kind"] for d in summary["duplicates"])
    assert kinds.count("exact") >= 2 and "superseded" in kinds
    assert summary["documents"] >= 65 and summary["chunks"]["added"] > 500
    assert summary["redactions"].get("PHONE_NUMBER", 0) > 0
    assert list(data_dir.iterdir()), "state stays in the data dir"

    stats = _deskpilot("index", "stats", "--json", data_dir=data_dir)
    assert stats.returncode == 0, stats.stderr[-2000:]
    figures = json.loads(stats.stdout)
    assert figures["points"] == summary["chunks"]["added"]
    assert set(figures["by_tenant"]) == {"ledgerly", "parcelpoint"} and set(figures["by_locale"]) == {"en", "de"}

    again = _deskpilot("ingest", str(HELPCENTER), str(BAD), "--json", data_dir=data_dir)
    repeat = json.loads(again.stdout)
    assert repeat["chunks"] == {
        "added": 0,
        "updated": 0,
        "deleted": 0,
        "unchanged": figures["points"],
    }
    assert repeat["embeddings"]["computed"] == 0


def test_only_bad_input_exits_non_zero(tmp_path: Path) -> None:
    done = _deskpilot("ingest", str(BAD), data_dir=tmp_path / "state")
    assert done.returncode == 1
    assert "corrupt.pdf" in done.stdout


def test_missing_path_is_a_usage_error(tmp_path: Path) -> None:
    done = _deskpilot("ingest", str(tmp_path / "nope"), data_dir=tmp_path / "state")
    assert done.returncode == 2 and "no such file" in done.stderr


def test_ask_json_has_the_api_shape_and_abstains_off_topic(sample_copy: Path) -> None:
    """`deskpilot ask --json` prints one object: a cited answer for a sample question, an abstention for an
    off-topic one."""
    done = _deskpilot(
        "ask",
        "How long does the password reset link stay valid?",
        "--tenant",
        "ledgerly",
        "--json",
        data_dir=sample_copy,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    answer = json.loads(done.stdout)
    assert set(answer) == {
        "answer",
        "abstained",
        "confidence",
        "citations",
        "related",
        "needs_review",
        "locale",
        "notes",
        "timings_ms",
    }
    assert not answer["abstained"] and "60 minutes" in answer["answer"]
    assert answer["citations"] and all(c["title"] and c["snippet"] for c in answer["citations"])
    assert f"[{answer['citations'][0]['n']}]" in answer["answer"]
    assert answer["confidence"]["level"] in ("high", "medium", "low") and "total" in answer["timings_ms"]
    off = _deskpilot(
        "ask", "Can you recommend a 3PL warehouse in Texas?", "--tenant", "parcelpoint", "--json", data_dir=sample_copy
    )
    assert off.returncode == 0, off.stderr[-3000:]
    refused = json.loads(off.stdout)
    assert refused["abstained"] and refused["citations"] == [] and refused["confidence"]["reason"]
