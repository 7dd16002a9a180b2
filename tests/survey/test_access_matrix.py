"""Who gets what: every route of the app × anonymous, participant, researcher, admin.

The test walks ``app.url_map``: a route whose endpoint (or blueprint) has no entry in
RULES, or whose URL argument has no entry in URL_ARGS, FAILS the test, so nobody can add
a page without deciding who may open it.

* GET: the status each role gets (302 = the login redirect for the staff areas);
* POST (every rule that accepts POST): a request without a CSRF token is refused with 400
  for everyone and changes nothing in the database.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any

import pytest
from flask import Flask, url_for
from sqlalchemy import func, select

from survey.extensions import db

ROLES = ("anonymous", "participant", "researcher", "admin")
PASSWORD = "matrix password 1234"


@dataclass(frozen=True)
class Expect:
    """GET status per role; ``args`` overrides URL_ARGS for this endpoint (argument name →
    key of the World)."""

    anonymous: int
    participant: int
    researcher: int
    admin: int
    args: dict[str, str] = field(default_factory=dict)
    # Where the staff-area redirect of anonymous users must point.
    login_redirect: bool = True

    def status(self, role: str) -> int:
        return getattr(self, role)


def everyone(status: int, **kwargs: Any) -> Expect:
    return Expect(status, status, status, status, login_redirect=False, **kwargs)


ADMIN_AREA = Expect(302, 302, 403, 200)
RESEARCH_AREA = Expect(302, 302, 200, 200)
# A POST-only route: a GET is refused before any view or gate runs (its POST is checked by
# test_post_without_csrf_token_changes_nothing).
POST_ONLY = everyone(405)

# Endpoint first, then its blueprint (the part before the first dot: nested blueprints such
# as admin.instruments fall under their area); "static" is the app's own.
RULES: dict[str, Expect] = {
    "static": everyone(200),
    "auth.login": Expect(200, 200, 302, 302, login_redirect=False),
    "auth.home": everyone(302),  # staff to their area, everyone else to the login page
    "auth.logout": POST_ONLY,
    "participate.entry": everyone(200),  # the consent page of the link
    "participate.consent": everyone(200),  # POST only; a GET of its URL is the entry page
    "participate.declined": everyone(302),  # not declined → back to the entry page
    "participate.page": everyone(302),  # no consent yet → back to the entry page
    "participate.done": everyone(302),  # not done → back to the entry page
    "participate.withdraw": everyone(200),  # what stopping means, and its button
    "participate.urgent_help": everyone(200),  # the urgent-help note, then "Continue"
    "research": RESEARCH_AREA,
    "research.answers_csv": RESEARCH_AREA,
    "research.create_links": POST_ONLY,
    "research.links_csv": POST_ONLY,
    "research.regenerate_link": POST_ONLY,
    # The open enrolment link: public (its POST carries a session-free form token).
    "enrol.enrol": everyone(200),
    "admin": ADMIN_AREA,
    "admin.user_active": POST_ONLY,
    # /api/v1: a study's API key, not a login; without one every request is a 401.
    "api": everyone(401),
    "api.openapi_document": everyone(200),  # the OpenAPI document is public
    "api.fhir_questionnaire_response": everyone(401, args={"session_id": "page_number"}),
    "api.docs": everyone(200),  # the document's page is public too
    # POST-only API routes: a GET is refused before the key is looked at
    "api.enrol_participant": POST_ONLY,
    "api.record_consent": POST_ONLY,
    "api.withdraw_participant": POST_ONLY,
    "api.save_answers": POST_ONLY,
    "api.post_outcomes": POST_ONLY,
    # spectree's own copy of the document (its UI pages are off: they load CDN scripts)
    "openapi_api/v1/docs": everyone(200),
    # Without ?other= the comparison sends the admin back to the version page.
    "admin.instruments.compare": Expect(302, 302, 403, 302),
    # Draft-only pages are opened on the draft version.
    "admin.instruments.edit": Expect(302, 302, 403, 200, args={"version_id": "draft_id"}),
    "admin.instruments.yaml_editor": Expect(302, 302, 403, 200, args={"version_id": "draft_id"}),
    "admin.instruments.scales": Expect(302, 302, 403, 200, args={"version_id": "draft_id"}),
    "admin.instruments.item": Expect(302, 302, 403, 200, args={"version_id": "draft_id"}),
    "admin.instruments.new_item": Expect(302, 302, 403, 200, args={"version_id": "draft_id"}),
    "admin.instruments.check": Expect(
        302, 302, 403, 200, args={"version_id": "draft_id", "item_id": "check_id"}
    ),
    "admin.instruments.publish": Expect(302, 302, 403, 200, args={"version_id": "draft_id"}),
    "admin.instruments.discard": Expect(302, 302, 403, 200, args={"version_id": "draft_id"}),
    "admin.instruments.remove_item": POST_ONLY,
    "research.acknowledge_alert": POST_ONLY,
    "research.revoke_member": POST_ONLY,
    "research.study_status": POST_ONLY,
    "research.outcomes_csv": Expect(302, 302, 404, 404, args={"version": "page_number"}),
    # A session of the world's study does not exist (the study matrix has a real one).
    "research.quality_session": Expect(302, 302, 404, 404, args={"session_id": "page_number"}),
    "research.quality_exclude": everyone(405, args={"session_id": "page_number"}),
    "research.quality_include": everyone(405, args={"session_id": "page_number"}),
    "research.quality_exclude_flagged": POST_ONLY,
    # No validation run or hypothesis in the world's study (the study matrix has real ones).
    "research.validation_run": Expect(302, 302, 404, 404, args={"run_id": "page_number"}),
    "research.validation_plot": Expect(
        302, 302, 404, 404, args={"run_id": "page_number", "name": "static_file"}
    ),
    "research.validation_report_html": Expect(302, 302, 404, 404, args={"run_id": "page_number"}),
    "research.validation_report_json": Expect(302, 302, 404, 404, args={"run_id": "page_number"}),
    "research.validation_retire_hypothesis": everyone(405, args={"hypothesis_id": "page_number"}),
    # No webhook endpoint or delivery in the world's study (the study matrix has real ones).
    "research.webhook_secret": Expect(302, 302, 404, 404, args={"endpoint_id": "page_number"}),
    "research.webhook_disable": Expect(302, 302, 404, 404, args={"endpoint_id": "page_number"}),
    "research.webhook_retry": everyone(405, args={"delivery_id": "page_number"}),
    "research.revoke_api_key": everyone(405, args={"key_id": "page_number"}),
}

# URL argument → key of the World holding a real object for it.
URL_ARGS: dict[str, str] = {
    "filename": "static_file",
    "token": "token",
    "number": "page_number",
    "study_id": "study_id",
    "user_id": "researcher_id",
    "event_id": "event_id",
    "instrument_key": "instrument_key",
    "version_id": "published_id",
    "other_version_id": "draft_id",
    "item_id": "item_id",
    "alert_id": "alert_id",
    "member_id": "member_id",
    "fmt": "export_format",
    "participant_id": "participant_id",
    "key": "enrolment_key",
    "wave_id": "wave_id",
    # An API participant code: every /api/v1 request without a key is refused before it.
    "participant": "page_number",
}


@dataclass
class World:
    """Real objects behind every URL argument."""

    static_file: str = "survey.css"
    page_number: int = 1
    instrument_key: str = "small"
    export_format: str = "yaml"
    item_id: str = "AA_S_1"
    check_id: str = "ATTN_1"
    token: str = ""
    study_id: int = 0
    other_study_id: int = 0
    researcher_id: int = 0
    event_id: int = 0
    published_id: int = 0
    draft_id: int = 0
    participant_id: int = 0
    enrolment_key: str = ""
    wave_id: int = 0
    # Only POST-only routes take these: refused before any lookup (405 to a GET, 400 to a
    # POST without a CSRF token). tests/survey/research/test_study_access_matrix.py has
    # real ones.
    alert_id: int = 1
    member_id: int = 1


def rule_of(endpoint: str) -> Expect | None:
    return RULES.get(endpoint) or RULES.get(endpoint.partition(".")[0])


def make_world(app: Flask, make_definition) -> World:
    from survey.models import AuditEvent, Instrument, InstrumentVersion, VersionStatus, WaveStatus
    from survey.services import accounts, instruments, studies

    world = World()
    with app.app_context():
        researcher = accounts.create_user("r@example.org", PASSWORD, "researcher")
        other = accounts.create_user("other@example.org", PASSWORD, "researcher")
        accounts.create_user("a@example.org", PASSWORD, "admin")
        published, _ = instruments.import_definition(make_definition())
        draft_definition = make_definition(version="1.1.0")
        instrument = db.session.scalar(select(Instrument).where(Instrument.key == "small"))
        draft = InstrumentVersion(
            instrument=instrument,
            version="1.1.0",
            status=VersionStatus.DRAFT,
            content=draft_definition.source,
            content_hash=draft_definition.content_hash,
        )
        db.session.add(draft)
        study_ids = []
        for owner in (researcher, other):
            study = studies.create_study(
                name="Matrix study",
                slug=f"matrix-{owner.id}",
                instrument_version=published,
                consent_text="Agree?",
                consent_version="1",
                urgent_help_note="Call 112.",
                owner=owner,
            )
            wave = studies.add_wave(study, key="baseline", label="Baseline", status=WaveStatus.OPEN)
            world.wave_id = world.wave_id or wave.id  # the first study's
            study_ids.append(study.id)
        first_study = db.session.get(type(study), study_ids[0])
        participant, token = studies.add_participant(first_study)
        first_study.enrolment_key, first_study.enrolment_cap = "matrix-enrolment-key", 5
        db.session.commit()
        world.token = token
        world.participant_id, world.enrolment_key = participant.id, first_study.enrolment_key
        world.study_id, world.other_study_id = study_ids
        world.researcher_id = researcher.id
        world.event_id = db.session.scalar(select(func.min(AuditEvent.id)))
        world.published_id, world.draft_id = published.id, draft.id
    return world


def client_for(app: Flask, role: str, world: World):
    client = app.test_client()
    if role == "participant":
        assert client.get(f"/p/{world.token}").status_code == 200
    elif role in ("researcher", "admin"):
        email = "r@example.org" if role == "researcher" else "a@example.org"
        login_page = client.get("/login").get_data(as_text=True)
        token = _csrf_token(login_page)
        response = client.post(
            "/login", data={"email": email, "password": PASSWORD, "csrf_token": token}
        )
        assert response.status_code == 302, response.get_data(as_text=True)
    return client


def _csrf_token(html: str) -> str:
    import re

    match = re.search(r'id="csrf_token" name="csrf_token" type="hidden" value="([^"]+)"', html)
    assert match, html
    return match.group(1)


# -- the rules of the app, collected once ----------------------------------------------------
def _app_rules() -> list[tuple[str, str, tuple[str, ...], frozenset[str]]]:
    from survey import create_app

    app = create_app({"TESTING": True})
    return sorted(
        (rule.endpoint, rule.rule, tuple(rule.arguments), frozenset(rule.methods or ()))
        for rule in app.url_map.iter_rules()
    )


APP_RULES = _app_rules()


def _url(app: Flask, endpoint: str, arguments: tuple[str, ...], world: World) -> str:
    expect = rule_of(endpoint)
    values = {}
    for name in arguments:
        key = (expect.args.get(name) if expect else None) or URL_ARGS.get(name)
        if key is None:
            pytest.fail(f"{endpoint}: URL argument <{name}> has no entry in URL_ARGS")
        values[name] = getattr(world, key)
    with app.test_request_context():
        return url_for(endpoint, **values)


def test_every_rule_and_argument_is_covered():
    missing = [endpoint for endpoint, *_ in APP_RULES if rule_of(endpoint) is None]
    assert not missing, f"routes without an entry in RULES: {missing}"
    arguments = {
        (endpoint, name)
        for endpoint, _rule, names, _methods in APP_RULES
        for name in names
        if name not in URL_ARGS and name not in (rule_of(endpoint) or everyone(0)).args
    }
    assert not arguments, f"URL arguments without an entry in URL_ARGS: {sorted(arguments)}"
    stale = [name for name in RULES if name not in {e for e, *_ in APP_RULES}]
    stale = [
        name
        for name in stale
        if "." in name or name not in {e.partition(".")[0] for e, *_ in APP_RULES}
    ]
    assert not stale, f"RULES entries for routes that no longer exist: {stale}"


@pytest.fixture
def matrix_app(make_migrated_app):
    return make_migrated_app(WTF_CSRF_ENABLED=True)


@pytest.fixture
def world(matrix_app, make_definition) -> World:
    return make_world(matrix_app, make_definition)


@pytest.mark.parametrize(
    ("endpoint", "rule", "arguments", "methods", "role"),
    [
        pytest.param(endpoint, rule, arguments, methods, role, id=f"GET {rule} as {role}")
        for (endpoint, rule, arguments, methods), role in itertools.product(APP_RULES, ROLES)
    ],
)
def test_get(matrix_app, world, endpoint, rule, arguments, methods, role):
    expect = rule_of(endpoint)
    if expect is None:
        pytest.fail(f"{endpoint} ({rule}) has no entry in RULES: say who may open it")
    url = _url(matrix_app, endpoint, arguments, world)
    client = client_for(matrix_app, role, world)
    response = client.get(url)
    response.close()  # a static file's response holds the file open
    assert response.status_code == expect.status(role), (
        f"GET {url} as {role}: {response.status_code}, expected {expect.status(role)}"
    )
    if (
        response.status_code == 302
        and role in ("anonymous", "participant")
        and expect.login_redirect
    ):
        assert response.headers["Location"].startswith("/login?next="), response.headers["Location"]


def _state(app: Flask) -> dict[str, Any]:
    """Everything a refused POST must leave alone."""
    from survey.models import AuditEvent, ConsentRecord, InstrumentVersion, Study, User

    with app.app_context():
        return {
            "audit": db.session.scalar(select(func.count()).select_from(AuditEvent)),
            "users": [
                (u.id, u.email, u.active, u.password_hash)
                for u in db.session.scalars(select(User).order_by(User.id))
            ],
            "studies": db.session.scalar(select(func.count()).select_from(Study)),
            "versions": [
                (v.id, v.status, v.content_hash)
                for v in db.session.scalars(
                    select(InstrumentVersion).order_by(InstrumentVersion.id)
                )
            ],
            "consent": db.session.scalar(select(func.count()).select_from(ConsentRecord)),
        }


POST_RULES = [entry for entry in APP_RULES if "POST" in entry[3]]


@pytest.mark.parametrize(
    ("endpoint", "rule", "arguments", "role"),
    [
        pytest.param(endpoint, rule, arguments, role, id=f"POST {rule} as {role}")
        for (endpoint, rule, arguments, _methods), role in itertools.product(POST_RULES, ROLES)
    ],
)
def test_post_without_csrf_token_changes_nothing(
    matrix_app, world, endpoint, rule, arguments, role
):
    url = _url(matrix_app, endpoint, arguments, world)
    client = client_for(matrix_app, role, world)
    before = _state(matrix_app)
    response = client.post(url, data={"active": "0", "email": "x@example.org", "agree": "1"})
    # The API takes no session cookie and no CSRF token: without its key it is a 401.
    expected = 401 if endpoint.startswith("api.") else 400
    assert response.status_code == expected, f"POST {url} as {role}: {response.status_code}"
    assert _state(matrix_app) == before


@pytest.mark.parametrize("suffix", ["", "/answers.csv"])
def test_a_researcher_cannot_open_another_researchers_study(matrix_app, world, suffix):
    client = client_for(matrix_app, "researcher", world)
    assert client.get(f"/research/studies/{world.study_id}{suffix}").status_code == 200
    assert client.get(f"/research/studies/{world.other_study_id}{suffix}").status_code == 403
    admin = client_for(matrix_app, "admin", world)
    assert admin.get(f"/research/studies/{world.other_study_id}{suffix}").status_code == 200
