"""Who may do what in a study: every research.* route with a study_id × seven roles.

The roles: the study's owner, an editor and a viewer collaborator, another researcher, an
admin, a participant holding a link of the study, and an anonymous visitor. NEEDS says
the access each route needs (survey.services.study_access: view < edit < own); a route
missing from NEEDS, or a URL argument missing from URL_ARGS, FAILS the test.

* GET: owner and admin 200; editor 200 up to ``edit``; viewer 200 for ``view``; below
  that 403; another researcher 403; participant and anonymous 302 to the login page.
* POST, with a valid CSRF token: every role below the need gets 403 (participant and
  anonymous: 302 to the login page), and no row of any table changes; owner and admin
  are let through (no 403, no 5xx).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pytest
from flask import Flask, url_for
from sqlalchemy import func, select

from survey.extensions import db
from survey.services import study_access

PASSWORD = "study matrix password 1234"
ROLES = ("owner", "editor", "viewer", "other", "admin", "participant", "anonymous")
EMAILS = {
    "owner": "owner@example.org",
    "editor": "editor@example.org",
    "viewer": "viewer@example.org",
    "other": "other@example.org",
    "admin": "admin@example.org",
}
LEVEL_OF_ROLE = {"owner": "own", "admin": "own", "editor": "edit", "viewer": "view"}

# endpoint → the access it needs: one level, or (GET need, POST need). Add every new
# research route of a study here.
NEEDS: dict[str, str | tuple[str, str]] = {
    # E: dashboard, alerts, team
    "research.study": "view",
    "research.acknowledge_alert": "edit",
    "research.team": "own",
    "research.revoke_member": "own",
    "research.answers_csv": "view",
    # G: exports (the page and one download per format)
    "research.exports": "view",
    "research.export_wide": "view",
    "research.export_long": "view",
    "research.export_sav": "view",
    "research.export_dta": "view",
    "research.export_rds": "view",
    "research.export_codebook": "view",
    "research.export_codebook_json": "view",
    "research.export_model": "view",
    "research.export_bundle": "view",
    # C: set-up (settings, status: own; the waves pages are seen with view, changed with edit)
    "research.study_settings": "own",
    "research.study_status": "own",
    "research.waves": ("view", "edit"),
    "research.wave": ("view", "edit"),
    # D: participants (seen with view; links, enrolment with edit)
    "research.participants": "view",
    "research.create_links": "edit",
    "research.links_csv": "edit",
    "research.regenerate_link": "edit",
    "research.enrolment": "edit",
    "research.due": "view",
    "research.due_csv": "view",
    # F: the preview
    "research.preview": "view",
    # Outcomes (seen and downloaded with view, uploaded with edit)
    "research.outcomes": ("view", "edit"),
    "research.outcomes_template": "view",
    "research.outcomes_csv": "view",
    # Data quality (seen with view; rules, exclusions with edit)
    "research.quality": "view",
    "research.quality_rules": ("view", "edit"),
    "research.quality_session": "view",
    "research.quality_exclude_flagged": "edit",
    "research.quality_exclude": "edit",
    "research.quality_include": "edit",
    # Validation (seen, run and downloaded with view; hypotheses stated and retired with edit)
    "research.validation": "view",
    "research.validation_run": "view",
    "research.validation_plot": "view",
    "research.validation_report_html": "view",
    "research.validation_report_json": "view",
    "research.validation_hypotheses": ("view", "edit"),
    "research.validation_retire_hypothesis": "edit",
    # API keys (owner and editors)
    "research.api_keys": "edit",
    "research.revoke_api_key": "edit",
    # Webhooks (owner and editors; an endpoint's secret: the owner)
    "research.webhooks": "edit",
    "research.webhook_secret": "own",
    "research.webhook_disable": "edit",
    "research.webhook_retry": "edit",
}

# URL argument → attribute of the World.
URL_ARGS = {
    "study_id": "study_id",
    "wave_id": "wave_id",
    "participant_id": "participant_id",
    "alert_id": "alert_id",
    "member_id": "member_id",
    "number": "page_number",
    "version": "outcome_version",
    "session_id": "session_id",
    "run_id": "run_id",
    "name": "plot_name",
    "hypothesis_id": "hypothesis_id",
    "key_id": "api_key_id",
    "endpoint_id": "webhook_endpoint_id",
    "delivery_id": "webhook_delivery_id",
}
# Made only for the routes that name them: _add_webhook.
WEBHOOK_ARGS = frozenset({"endpoint_id", "delivery_id"})
# Made only for the routes that name them (a validation run takes a moment): _add_validation.
VALIDATION_ARGS = frozenset({"run_id", "name", "hypothesis_id"})

# What a POST sends: enough for each form to do something if its gate let it through.
POST_DATA = {
    "email": "other@example.org",
    "role": "editor",
    "count": "3",
    "status": "closed",
    "label": "Week 8",
    "key": "week-8",
    "name": "Renamed",
    "enabled": "y",
    "cap": "10",
    "action": "close",
}

_CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"|value="([^"]+)"[^>]*name="csrf_token"')


@dataclass
class World:
    study_id: int = 0
    wave_id: int = 0
    participant_id: int = 0
    alert_id: int = 0
    member_id: int = 0
    page_number: int = 1
    token: str = ""
    outcome_version: int = 0
    session_id: int = 0
    run_id: int = 0
    plot_name: str = ""
    hypothesis_id: int = 0
    api_key_id: int = 0
    webhook_endpoint_id: int = 0
    webhook_delivery_id: int = 0


def _study_rules() -> list[tuple[str, str, tuple[str, ...], frozenset[str]]]:
    from survey import create_app

    app = create_app({"TESTING": True})
    return sorted(
        (rule.endpoint, rule.rule, tuple(sorted(rule.arguments)), frozenset(rule.methods or ()))
        for rule in app.url_map.iter_rules()
        if rule.endpoint.startswith("research.") and "study_id" in rule.arguments
    )


STUDY_RULES = _study_rules()


def need_of(endpoint: str, method: str) -> str:
    need = NEEDS[endpoint]
    if isinstance(need, tuple):
        return need[0] if method == "GET" else need[1]
    return need


def test_every_study_route_is_in_needs():
    missing = [endpoint for endpoint, *_ in STUDY_RULES if endpoint not in NEEDS]
    assert not missing, "".join(f"\nadd {endpoint} to NEEDS" for endpoint in missing)
    arguments = sorted(
        {(endpoint, name) for endpoint, _, names, _ in STUDY_RULES for name in names}
        - {(endpoint, name) for endpoint, _, names, _ in STUDY_RULES for name in URL_ARGS}
    )
    assert not arguments, f"URL arguments without an entry in URL_ARGS: {arguments}"
    for endpoint, need in NEEDS.items():
        for level in need if isinstance(need, tuple) else (need,):
            assert level in study_access.LEVELS, f"{endpoint}: unknown need {level!r}"


@pytest.fixture
def matrix_app(make_migrated_app) -> Flask:
    return make_migrated_app(WTF_CSRF_ENABLED=True)


@pytest.fixture
def world(matrix_app, small) -> World:
    from survey.models import SafetyAlert
    from survey.services import accounts, team
    from tests.survey.research.study_builders import make_battery_study, take_part

    world = World()
    with matrix_app.app_context():
        users = {
            role: accounts.create_user(
                email, PASSWORD, "admin" if role == "admin" else "researcher", via="test"
            )
            for role, email in EMAILS.items()
        }
        study = make_battery_study(small, participants=2, owner=users["owner"], slug="matrix")
        session = take_part(study.tokens[0], pages=4, safe=False)  # raises a safety alert
        editor = team.grant(study, EMAILS["editor"], "editor", actor=users["owner"]).member
        team.grant(study, EMAILS["viewer"], "viewer", actor=users["owner"])
        db.session.commit()
        world.study_id = study.id
        world.wave_id = study.waves[-1].id
        world.token = study.tokens[1]
        world.participant_id = _first_participant(study.id)
        world.alert_id = db.session.scalar(select(SafetyAlert.id))
        world.member_id = editor.id
        world.outcome_version = _outcomes_stored(study, users["owner"]).version
        world.api_key_id = _api_key(study, users["owner"])
        db.session.commit()
        world.session_id = session.id
    return world


def _outcomes_stored(study, owner):
    """One version of outcomes for the study (the download route needs one)."""
    from survey.services import outcomes

    records = outcomes.OutcomeRecords(
        columns=[{"name": "messages_sent", "kind": "numeric"}],
        rows=[(_first_participant(study.id), None, {"messages_sent": 3})],
    )
    return outcomes.store_outcomes(study, records, filename="matrix.csv", actor=owner)


def _api_key(study, owner) -> int:
    """An active API key of the study (the revoke route needs one)."""
    from survey.services import api_keys

    api_key, _key = api_keys.create_key(study, name="matrix", scopes="read", actor=owner)
    return api_key.id


def _first_participant(study_id: int) -> int:
    from survey.models import Participant

    return db.session.scalar(
        select(func.min(Participant.id)).where(Participant.study_id == study_id)
    )


def _csrf_token(html: str) -> str:
    match = _CSRF.search(html)
    assert match, "no CSRF token on the page"
    return match.group(1) or match.group(2)


def client_for(app: Flask, role: str, world: World):
    """A client of ``role`` and a valid CSRF token of its session."""
    client = app.test_client()
    if role == "participant":
        assert client.get(f"/p/{world.token}").status_code == 200
    token = _csrf_token(client.get("/login").get_data(as_text=True))
    if role in EMAILS:
        response = client.post(
            "/login", data={"email": EMAILS[role], "password": PASSWORD, "csrf_token": token}
        )
        assert response.status_code == 302, f"{role} could not log in"
        token = _csrf_token(client.get("/research/").get_data(as_text=True))
    return client, token


def expected_get(role: str, need: str) -> int:
    if role in ("participant", "anonymous"):
        return 302
    if role == "other":
        return 403
    return 200 if study_access.allows(LEVEL_OF_ROLE[role], need) else 403


def _add_validation(app: Flask, world: World) -> None:
    """A hypothesis in force and a done validation run of the world's study (executed in
    this process, as the command line does), with the name of one of its plots."""
    from survey.models import Study
    from survey.services import hypotheses, validation_runs

    with app.app_context():
        study = db.session.get(Study, world.study_id)
        hypothesis = hypotheses.state_hypothesis(
            study, "small.AA correlates positively with small.BB", actor=study.owner
        )
        run = validation_runs.request_run(study, actor=study.owner, backend="thread")
        db.session.commit()
        world.hypothesis_id, world.run_id = hypothesis.id, run.id
        assert validation_runs.execute_run(run.id) == "done"
        world.plot_name = "i1-distributions-AA"


def _add_webhook(app: Flask, world: World) -> None:
    """An endpoint of the world's study (on a local port nothing answers) and a delivered
    delivery to it (a row: nothing is sent, and "Retry now" refuses it, so no attempt
    outlives the test)."""
    from survey.models import Study, WebhookDelivery
    from survey.services.webhooks import endpoints

    with app.app_context():
        study = db.session.get(Study, world.study_id)
        endpoint = endpoints.add_endpoint(
            study,
            url="http://127.0.0.1:9/hook",
            events="wave.opened",
            actor=study.owner,
            allow_http_localhost=True,
        )
        delivery = WebhookDelivery(
            endpoint_id=endpoint.id,
            event_id="evt_matrix",
            event_type="wave.opened",
            event_key="wave.opened:matrix",
            payload={"id": "evt_matrix"},
            status="delivered",
            attempts=1,
            last_status_code=200,
        )
        db.session.add(delivery)
        db.session.commit()
        world.webhook_endpoint_id, world.webhook_delivery_id = endpoint.id, delivery.id


def _url(app: Flask, endpoint: str, arguments: tuple[str, ...], world: World) -> str:
    if VALIDATION_ARGS & set(arguments) and not world.run_id:
        _add_validation(app, world)
    if WEBHOOK_ARGS & set(arguments) and not world.webhook_endpoint_id:
        _add_webhook(app, world)
    values = {}
    for name in arguments:
        if name not in URL_ARGS:
            pytest.fail(f"{endpoint}: URL argument <{name}> has no entry in URL_ARGS")
        values[name] = getattr(world, URL_ARGS[name])
    with app.test_request_context():
        return url_for(endpoint, **values)


def _rows(app: Flask) -> dict[str, int]:
    """The number of rows of every table, and the members' and alerts' states."""
    from survey.models import SafetyAlert, StudyMember

    with app.app_context():
        counts = {
            table.name: db.session.scalar(select(func.count()).select_from(table))
            for table in db.metadata.sorted_tables
        }
        counts["members"] = sorted(
            (m.user_id, m.role, m.revoked_at is None)
            for m in db.session.scalars(select(StudyMember))
        )
        counts["alerts"] = sorted(
            (a.id, a.acknowledged_at is None) for a in db.session.scalars(select(SafetyAlert))
        )
        return counts


def _fail_if_not_in_needs(endpoint: str) -> None:
    if endpoint not in NEEDS:
        pytest.fail(f"{endpoint} has no entry: add {endpoint} to NEEDS")


@pytest.mark.parametrize(
    ("endpoint", "rule", "arguments"),
    [
        pytest.param(endpoint, rule, arguments, id=f"GET {rule}")
        for endpoint, rule, arguments, methods in STUDY_RULES
        if "GET" in methods
    ],
)
def test_get(matrix_app, world, endpoint, rule, arguments):
    _fail_if_not_in_needs(endpoint)
    need = need_of(endpoint, "GET")
    url = _url(matrix_app, endpoint, arguments, world)
    wrong = []
    for role in ROLES:
        client, _token = client_for(matrix_app, role, world)
        response = client.get(url)
        response.close()
        expected = expected_get(role, need)
        if response.status_code != expected:
            wrong.append(f"{role}: {response.status_code}, expected {expected}")
        elif expected == 302:
            location = response.headers["Location"]
            if not location.startswith("/login?next="):
                wrong.append(f"{role}: redirected to {location}, not the login page")
    assert not wrong, f"GET {url} (needs {need}): " + "; ".join(wrong)


@pytest.mark.parametrize(
    ("endpoint", "rule", "arguments", "role"),
    [
        pytest.param(endpoint, rule, arguments, role, id=f"POST {rule} as {role}")
        for endpoint, rule, arguments, methods in STUDY_RULES
        if "POST" in methods
        for role in ROLES
    ],
)
def test_post(matrix_app, world, endpoint, rule, arguments, role):
    _fail_if_not_in_needs(endpoint)
    need = need_of(endpoint, "POST")
    url = _url(matrix_app, endpoint, arguments, world)
    client, token = client_for(matrix_app, role, world)
    before = _rows(matrix_app)
    response = client.post(url, data={**POST_DATA, "csrf_token": token})
    status = response.status_code
    response.close()
    if role in ("participant", "anonymous"):
        assert status == 302 and response.headers["Location"].startswith("/login?next=")
    elif role == "other" or not study_access.allows(LEVEL_OF_ROLE[role], need):
        assert status == 403, f"POST {url} as {role} (needs {need}): {status}, expected 403"
    else:
        assert status < 500 and status != 403, f"POST {url} as {role}: {status}"
        return
    assert _rows(matrix_app) == before, f"POST {url} as {role} changed the database"
