"""`deskpilot flags show|set`: a round trip through the real CLI (typer's runner, and one real subprocess), the
flags file a running service reads, and the audit log in the real SQLite feedback store."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from assistant.flags import FlagStore
from feedback.audit import verify_database
from feedback.settings import FeedbackSettings
from feedback.store import FeedbackStore
from tests.conftest import REPO
from ui.cli import app
from ui.flags import AUDIT_ACTION

runner = CliRunner()


def _flags(*args: str, data_dir: Path) -> tuple[int, str, str]:
    result = runner.invoke(app, ["flags", *args, "--data-dir", str(data_dir)])
    return result.exit_code, result.stdout, result.stderr


def test_flags_set_then_show_and_audit(tmp_path: Path) -> None:
    """Set switches for a tenant and the default, read them back as JSON, and find one audit event per change
    with what changed and its previous value; the hash chain verifies. A store opened before sees the change."""
    data_dir = tmp_path / "state"
    running = FlagStore(data_dir / "flags.json")  # as a running API holds it
    assert running.get("ledgerly").llm_enabled

    code, out, err = _flags("set", "--tenant", "ledgerly", "llm_enabled=false", "force_abstain=on", data_dir=data_dir)
    assert code == 0, err
    assert "ledgerly: llm_enabled=false" in out and "force_abstain=true" in out
    assert not running.get("ledgerly").llm_enabled and running.get("ledgerly").force_abstain
    assert _flags("set", "--tenant", "*", "reranker_enabled=false", data_dir=data_dir)[0] == 0

    code, out, _ = _flags("show", "--tenant", "ledgerly", "--json", data_dir=data_dir)
    shown = json.loads(out)
    ledgerly = shown["tenants"]["ledgerly"]
    assert code == 0 and shown["file"] == str(data_dir / "flags.json")
    assert ledgerly["llm_enabled"] is False and ledgerly["force_abstain"] is True
    assert ledgerly["reranker_enabled"] is False and ledgerly["updated_by"] == "cli", "the '*' default applies"
    code, out, _ = _flags("show", "--json", data_dir=data_dir)
    assert set(json.loads(out)["tenants"]) == {"*", "ledgerly"}
    code, table, _ = _flags("show", data_dir=data_dir)
    assert code == 0 and "ledgerly" in table and "off" in table

    code, out, _ = _flags("set", "--tenant", "ledgerly", "force_abstain=on", data_dir=data_dir)
    assert code == 0 and "(unchanged)" in out

    settings = FeedbackSettings(data_dir=data_dir)
    with FeedbackStore.open(settings) as store:
        events = store.list_audit_events(None, action=AUDIT_ACTION).items
    assert [(e.tenant, e.actor, e.target) for e in events] == [
        ("ledgerly", "cli", "flags:ledgerly"),
        ("*", "cli", "flags:*"),
        ("ledgerly", "cli", "flags:ledgerly"),
    ]
    first = json.loads(events[-1].details)
    assert first["changed"] == ["force_abstain", "llm_enabled"]
    assert first["before"] == {"force_abstain": False, "llm_enabled": True}
    assert json.loads(events[0].details)["changed"] == []
    assert verify_database(settings).ok


def test_bad_assignments_are_refused_and_change_nothing(tmp_path: Path) -> None:
    data_dir = tmp_path / "state"
    code, _, err = _flags("set", "--tenant", "ledgerly", "llm_enabled=nope", data_dir=data_dir)
    assert code == 2 and "true or false" in err
    code, _, err = _flags("set", "--tenant", "ledgerly", "kill_everything=true", data_dir=data_dir)
    assert code == 2 and "one of llm_enabled, widget_enabled, force_abstain, reranker_enabled" in err
    assert not (data_dir / "flags.json").exists()
    (data_dir).mkdir(parents=True, exist_ok=True)
    (data_dir / "flags.json").write_text("{broken", encoding="utf-8")
    code, _, err = _flags("set", "--tenant", "ledgerly", "llm_enabled=false", data_dir=data_dir)
    assert code == 1 and "not valid JSON" in err
    code, _, err = _flags("show", data_dir=data_dir)
    assert code == 1 and "not valid JSON" in err


def test_flags_file_setting_is_shared_by_every_door(tmp_path: Path) -> None:
    """DESKPILOT_FLAGS_FILE moves the file for the CLI (a real subprocess here) and the answer service alike."""
    elsewhere = tmp_path / "ops" / "flags.json"
    env = {**os.environ, "DESKPILOT_DATA_DIR": str(tmp_path / "state"), "DESKPILOT_FLAGS_FILE": str(elsewhere)}
    done = subprocess.run(
        [sys.executable, "-m", "ui.cli", "flags", "set", "--tenant", "parcelpoint", "widget_enabled=false"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert not FlagStore(elsewhere).get("parcelpoint").widget_enabled
    assert not (tmp_path / "state" / "flags.json").exists()
