"""schemathesis against the API's own OpenAPI schema: generated inputs never produce a 5xx.

The app is the real one (`deskpilot serve`'s app over the sample index and a SQLite store), called
in process through its ASGI interface, with an admin key and then a widget key.
"""

from __future__ import annotations

from typing import Any

import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error

from tests.ui.conftest import LiveApi


def test_no_server_errors_on_generated_inputs(live_api: LiveApi) -> None:
    """Every operation, generated bodies, queries and headers: never a 5xx, as admin and as a widget."""
    schema = schemathesis.openapi.from_asgi("/openapi.json", live_api.served.app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert {op.path for op in operations} >= {"/v1/answer", "/v1/feedback", "/v1/edits", "/v1/escalations"}
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=20, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        def check(case: Any) -> None:
            for role in ("admin", "widget"):
                case.call_and_validate(headers={"X-API-Key": live_api.keys[role]}, checks=[not_a_server_error])

        check()
