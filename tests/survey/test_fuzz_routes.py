"""No request makes the app answer 5xx: every route × anonymous, participant, researcher,
admin, with hostile path values, query strings, forms, methods and bodies (hypothesis,
from a fixed seed), CSRF off and on, on every test database.

The generator and the sender live in ``tools/`` (``tools.route_fuzzer``), shared with the
long-running ``tools/fuzz_routes.py``; this test runs a few examples per route.
"""

from __future__ import annotations

import pytest
from flask import Flask, request
from flask_migrate import upgrade

from tools.fuzz_world import ROLES, build_world
from tools.route_fuzzer import SKIPPED, RouteFuzzer, fuzz_targets

# Generated requests per route, after the two classic ones (tools.fuzz_requests), each
# sent as every role: 37 routes × (2 + 1) × 4 roles ≈ 450 requests per app.
EXAMPLES = 1
CLASSIC = 2


def fuzzer_for(app: Flask, endpoints: set[str] | None = None) -> RouteFuzzer:
    with app.app_context():
        upgrade()
    return RouteFuzzer(app, build_world(app), endpoints=endpoints)


def test_every_route_is_fuzzed_or_skipped_with_a_reason(app):
    endpoints = {rule.endpoint for rule in app.url_map.iter_rules()}
    fuzzed = {target.endpoint for target in fuzz_targets(app)}
    assert fuzzed | set(SKIPPED) == endpoints
    assert set(SKIPPED) <= {"static"}
    assert all(SKIPPED.values())


@pytest.mark.parametrize("csrf", [False, True], ids=["csrf-off", "csrf-on"])
def test_no_route_answers_5xx(make_app, csrf):
    fuzzer = fuzzer_for(make_app(WTF_CSRF_ENABLED=csrf))
    tally = fuzzer.run(EXAMPLES, seed_value=7 if csrf else 8)

    assert set(tally.endpoints) == {target.endpoint for target in fuzzer.targets}
    assert tally.requests == len(fuzzer.targets) * len(ROLES) * (CLASSIC + EXAMPLES)
    assert not tally.findings, f"{len(tally.findings)} kinds of 5xx:\n{tally.findings_report()}"


def test_the_fuzzer_reports_a_5xx_and_an_escaping_exception(make_app):
    """The fuzzer itself can fail: a route that breaks on most input is found."""
    app = make_app()

    def fragile(number: int):
        if request.method == "POST":
            raise OverflowError(f"cannot post to {number}")
        return ("broken", 503)

    app.add_url_rule("/fragile/<int:number>", view_func=fragile, methods=["GET", "POST"])
    tally = fuzzer_for(app, {"fragile"}).run(1, seed_value=7, roles=("anonymous",))

    findings = list(tally.findings.values())
    statuses = {(finding.status, finding.error.split(":")[0]) for finding in findings}
    assert (503, "") in statuses
    assert (500, "builtins.OverflowError") in statuses
    where = next(finding.where for finding in findings if finding.error)
    assert "test_fuzz_routes.py" in where
