"""An id beyond what the database holds is a 404, on every route, for every role (issue 7, 1).

``/research/studies/2147483648`` was a 500 on PostgreSQL (``integer`` ends at 2**31 - 1) and
``2**63`` one on SQLite. The test walks ``app.url_map``: every rule with an ``<int:...>``
argument is requested with each such argument out of range (the others in range), with
every method the rule accepts, as anonymous, participant, researcher and admin; on SQLite
and PostgreSQL. Ids read from query strings and forms are checked below.
"""

from __future__ import annotations

import re

import pytest
from flask import Flask, url_for
from sqlalchemy import func, select

from survey.extensions import db
from survey.models import Study
from survey.routing import MAX_ID

ROLES = ("anonymous", "participant", "researcher", "admin")
OUT_OF_RANGE = (MAX_ID + 1, 2**63, 10**30)
AGREE = {"agree": "I agree"}


# An argument of a rule: <name> or <converter:name> or <converter(options):name>.
ARGUMENT = re.compile(r"<(?:(?P<converter>\w+)(?:\([^)]*\))?:)?(?P<name>\w+)>")


def int_arguments(rule) -> list[str]:
    return [m["name"] for m in ARGUMENT.finditer(rule.rule) if m["converter"] == "int"]


def int_rules(app: Flask) -> list:
    """The rules with at least one ``<int:...>`` argument."""
    return [rule for rule in app.url_map.iter_rules() if int_arguments(rule)]


def url_with(rule, values: dict[str, object]) -> str:
    # url_for would refuse an out-of-range id: fill the rule's pattern instead.
    return ARGUMENT.sub(lambda m: str(values[m["name"]]), rule.rule)


@pytest.fixture
def role_clients(app, make_study, small, make_user, login):
    info = make_study(small)
    make_user("researcher@example.org", "researcher")
    make_user("admin@example.org", "admin")
    clients = {role: app.test_client() for role in ROLES}
    assert clients["participant"].post(f"/p/{info.token}", data=AGREE).status_code == 302
    assert login(clients["researcher"], "researcher@example.org").status_code == 302
    assert login(clients["admin"], "admin@example.org").status_code == 302
    return clients, info


def test_the_rules_with_ids_are_found(app):
    rules = {rule.rule for rule in int_rules(app)}
    assert "/research/studies/<int:study_id>" in rules
    assert "/admin/audit/<int:event_id>" in rules
    assert len(rules) >= 17


@pytest.mark.parametrize("role", ROLES)
def test_every_route_with_an_id_beyond_the_column_range_is_a_404(app, role_clients, role):
    clients, info = role_clients
    client = clients[role]
    failures = []
    requests = 0
    for rule in int_rules(app):
        filler = {name: info.token if name == "token" else "1" for name in rule.arguments}
        filler |= {name: "yaml" for name in rule.arguments if name == "fmt"}
        filler |= {name: "AA_S_1" for name in rule.arguments if name == "item_id"}
        filler |= {name: "small" for name in rule.arguments if name == "instrument_key"}
        for name in int_arguments(rule):
            for value in OUT_OF_RANGE:
                url = url_with(rule, filler | {name: value})
                for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
                    response = client.open(url, method=method, data={})
                    requests += 1
                    if response.status_code != 404:
                        failures.append(f"{method} {url}: {response.status_code}")
    assert requests > 50
    assert not failures, f"as {role}: " + "; ".join(failures)


def test_the_largest_id_still_reaches_the_view(app, role_clients):
    clients, _info = role_clients
    response = clients["admin"].get(f"/research/studies/{MAX_ID}")
    assert response.status_code == 404  # no such study, answered by the view
    assert "There is no such page" in response.get_data(as_text=True)  # the staff 404 page


@pytest.mark.parametrize(
    "number",
    ["1" + "0" * 5000, "0" * 30 + "2147483648", "\u0661", "\uff11"],  # 5000 digits; "١"; "１"
)
def test_long_or_non_ascii_numbers_are_a_404(app, role_clients, number):
    clients, _info = role_clients
    assert clients["admin"].get(f"/research/studies/{number}").status_code == 404


def test_an_existing_study_still_opens(app, role_clients):
    clients, _info = role_clients
    with app.app_context():
        study_id = db.session.scalar(select(func.min(Study.id)))
        with app.test_request_context():
            url = url_for("research.study", study_id=study_id)
    assert clients["admin"].get(url).status_code == 200


# -- ids in query strings and forms ----------------------------------------------------------
@pytest.mark.parametrize("other", [str(v) for v in OUT_OF_RANGE] + ["-1", "x", "\u0661"])
def test_compare_with_an_out_of_range_version_is_not_a_500(app, role_clients, other):
    """The version page's "compare with" reads ``?other=<version id>``."""
    clients, _info = role_clients
    response = clients["admin"].get(f"/admin/instruments/versions/1/compare?other={other}")
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/admin/instruments/versions/1")


@pytest.mark.parametrize("version", [str(v) for v in OUT_OF_RANGE])
def test_new_study_with_an_out_of_range_version_is_a_422(app, role_clients, version):
    clients, _info = role_clients
    with app.app_context():
        studies_before = db.session.scalar(select(func.count()).select_from(Study))
    form = {
        "name": "Study",
        "slug": "range-study",
        "instrument_version": version,
        "consent_version": "1",
        "consent_text": "Agree?",
        "urgent_help_note": "Call 112.",
        "first_wave_label": "Baseline",
    }
    assert clients["researcher"].post("/research/studies/new", data=form).status_code == 422
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Study)) == studies_before
