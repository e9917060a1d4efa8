"""`deskpilot content` end to end in subprocesses, as an operator runs it: list, disable, delete, the re-ingest
that skips a deleted article, restore."""

from __future__ import annotations

import json
from pathlib import Path

from tests.test_cli import _deskpilot

REFUNDS = "ledgerly/plans-billing/refund-policy.md"
RESET = "ledgerly/accounts-login/reset-your-password.md"


def test_content_commands(small_corpus: Path, tmp_path: Path) -> None:
    data_dir = tmp_path / "state"
    ingest = _deskpilot("ingest", str(small_corpus), "--json", data_dir=data_dir)
    assert ingest.returncode == 0, ingest.stderr[-3000:]

    disable = _deskpilot("content", "disable", RESET, data_dir=data_dir)
    assert disable.returncode == 0 and "disabled" in disable.stdout, disable.stderr[-2000:]
    listed = _deskpilot("content", "list", "--tenant", "ledgerly", "--json", data_dir=data_dir)
    assert listed.returncode == 0, listed.stderr[-2000:]
    states = {a["doc_id"]: (a["state"], a["title"], a["chunks"]) for a in json.loads(listed.stdout)["articles"]}
    assert states[RESET][0] == "disabled" and states[REFUNDS][:2] == ("live", "Refund policy")
    assert all(doc.startswith("ledgerly/") for doc in states) and states[REFUNDS][2] > 0

    refused = _deskpilot("content", "delete", REFUNDS, data_dir=data_dir)
    assert refused.returncode == 2 and "--yes" in refused.stderr
    deleted = _deskpilot("content", "delete", REFUNDS, "--yes", data_dir=data_dir)
    assert deleted.returncode == 0, deleted.stderr[-2000:]
    report = json.loads(deleted.stdout)
    assert report["doc_id"] == REFUNDS and report["points"] > 0 and report["source_file_exists"] is True

    again = _deskpilot("ingest", str(small_corpus), "--json", data_dir=data_dir)
    summary = json.loads(again.stdout)
    assert any(REFUNDS in s["path"] and "restore" in s["reason"] for s in summary["skipped"]), summary["skipped"]
    assert summary["chunks"]["added"] == 0

    restored = _deskpilot("content", "restore", REFUNDS, data_dir=data_dir)
    assert restored.returncode == 0, restored.stderr[-2000:]
    back = json.loads(_deskpilot("ingest", str(small_corpus), "--json", data_dir=data_dir).stdout)
    assert back["chunks"]["added"] == report["points"] and not back["skipped"]
