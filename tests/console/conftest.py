"""The console over a copy of the indexed sample help center: one set of opened services for every AppTest.

The services are built once per session and handed to the console with ``resources.host`` (as
``deskpilot console`` does when it hosts the API too), so every AppTest run reuses the loaded models.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from feedback.store import FeedbackStore
from tests.console.support import PASSWORD, USERS, Console
from ui.console import resources
from ui.console.auth import hash_password
from ui.console.settings import ConsoleSettings
from ui.settings import AppSettings
from ui.wiring import Retrieval


@pytest.fixture(scope="session")
def console(sample_state: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Console]:
    """A copy of the indexed samples with console users configured, its services opened and hosted."""
    data_dir = tmp_path_factory.mktemp("console") / "state"
    shutil.copytree(sample_state, data_dir)
    users = {name: {**user, "password_hash": hash_password(PASSWORD)} for name, user in USERS.items()}
    with pytest.MonkeyPatch.context() as env:
        env.setenv("DESKPILOT_DATA_DIR", str(data_dir))
        env.setenv("DESKPILOT_CONSOLE_USERS", json.dumps(users))
        settings = AppSettings.load(data_dir)
        store = FeedbackStore.open(settings.feedback)
        retrieval = Retrieval(settings)
        services = resources.build(settings, ConsoleSettings(data_dir=data_dir), retrieval, store)
        resources.host(services)
        try:
            yield Console(services, data_dir)
        finally:
            resources.host(None)
            services.close()
