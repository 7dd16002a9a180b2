"""Schemathesis against the served OpenAPI document: every operation of /api/v1 called
with generated input (bounded, derandomized), with a real key of every scope, and every
response checked against the document (no 5xx, documented status codes and content types,
bodies matching their schemas)."""

from __future__ import annotations

import hypothesis
import schemathesis
from hypothesis import HealthCheck, given
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

MAX_EXAMPLES = 20
SETTINGS = hypothesis.settings(
    max_examples=MAX_EXAMPLES,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
    phases=[hypothesis.Phase.explicit, hypothesis.Phase.generate],
)


def exercise(operation, *, headers, checks) -> set[int]:
    """Call the operation with generated cases, validating each response; the statuses
    it answered."""
    seen: set[int] = set()

    @SETTINGS
    @given(case=operation.as_strategy())
    def run(case):
        response = case.call_and_validate(headers=headers, checks=checks)
        seen.add(response.status_code)

    run()
    return seen


def test_every_operation_answers_as_its_document_says(app, client, api_study, make_key):
    _key_id, key = make_key(api_study.study_id, rate_limit_per_minute=100_000)
    client.post(
        "/api/v1/participants",
        json={"external_id": "schemathesis"},
        headers={"Authorization": f"Bearer {key}"},
    )
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 8
    headers = {"Authorization": f"Bearer {key}"}
    checks = [
        not_a_server_error,
        status_code_conformance,
        content_type_conformance,
        response_schema_conformance,
    ]
    statuses = {
        operation.label: exercise(operation, headers=headers, checks=checks)
        for operation in operations
    }
    # The calls reached the views: the operations without input answered them.
    for label in ("GET /api/v1/study", "GET /api/v1/consent", "GET /api/v1/progress"):
        assert 200 in statuses[label], (label, statuses[label])
