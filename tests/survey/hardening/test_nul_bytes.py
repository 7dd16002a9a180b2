"""A NUL character anywhere in a request is a clear 400 and stores nothing (issue 7, 1).

PostgreSQL refuses ``\\x00`` in text (the request was a 500) and SQLite stored it; every
test runs on both databases (the ``app`` fixture is parametrised).
"""

from __future__ import annotations

import io

import pytest
from sqlalchemy import func, select

from survey.extensions import db
from survey.models import Answer, AuditEvent, Study, User

AGREE = {"agree": "I agree"}
# Part of survey.request_guards.NulCharacter's message, shown on the error page.
NUL_MESSAGE = "a NUL character"


def counts(app) -> dict[str, int]:
    with app.app_context():
        return {
            model.__name__: db.session.scalar(select(func.count()).select_from(model))
            for model in (Answer, AuditEvent, Study, User)
        }


def assert_refused(response) -> None:
    assert response.status_code == 400, response.get_data(as_text=True)[:500]
    assert NUL_MESSAGE in response.get_data(as_text=True)


def test_login_with_a_nul_in_the_email_is_a_400(app, client, make_user):
    make_user("someone@example.org")
    before = counts(app)
    assert_refused(client.post("/login", data={"email": "\x00", "password": "x" * 12}))
    assert_refused(
        client.post("/login", data={"email": "someone@example.org\x00", "password": "x" * 12})
    )
    assert counts(app) == before


@pytest.mark.parametrize(
    "query",
    [
        "actor=%00",
        "target_type=a%00b",
        "target_id=%00",
        "action=%00",
        "actor=x&actor=%00",  # a repeated key: every value is checked, not only the first
        "x%00=1",  # the name of a parameter
    ],
)
@pytest.mark.parametrize("path", ["/admin/audit", "/admin/audit.csv"])
def test_audit_filters_with_a_nul_are_a_400(app, admin_client, path, query):
    before = counts(app)
    assert_refused(admin_client.get(f"{path}?{query}"))
    assert counts(app) == before
    assert admin_client.get(f"{path}?actor=admin").status_code == 200


def test_a_study_name_with_a_nul_is_refused_and_not_stored(app, researcher_client, make_definition):
    from survey.services import instruments

    with app.app_context():
        version, _ = instruments.import_definition(make_definition())
        db.session.commit()
        version_id = version.id
    form = {
        "name": "Study\x00name",
        "slug": "nul-study",
        "first_instrument": str(version_id),
        "consent_version": "1",
        "consent_text": "Agree?",
        "withdrawal_policy": "keep",
        "urgent_help_note": "Call 112.",
        "team_contact": "The team, team@example.org",
        "first_wave_label": "Baseline",
    }
    before = counts(app)
    assert_refused(researcher_client.post("/research/studies/new", data=form))
    assert counts(app) == before
    # The same form without the NUL creates the study: the NUL was the only problem.
    response = researcher_client.post("/research/studies/new", data=form | {"name": "Study"})
    assert response.status_code == 302
    assert counts(app)["Study"] == before["Study"] + 1


def test_a_user_email_with_a_nul_is_refused_and_not_stored(app, admin_client):
    form = {
        "email": "new\x00@example.org",
        "role": "researcher",
        "password": "a long new password 42",
        "confirm": "a long new password 42",
    }
    before = counts(app)
    assert_refused(admin_client.post("/admin/users", data=form))
    assert counts(app) == before


def test_a_participant_answer_with_a_nul_is_refused_and_not_stored(
    app, client, make_study, small, answers_for
):
    info = make_study(small)
    assert client.post(f"/p/{info.token}", data=AGREE).status_code == 302
    answers = answers_for(small.pages()[0])
    first = next(iter(answers))
    before = counts(app)
    assert_refused(client.post(f"/p/{info.token}/page/1", data=answers | {first: "2\x00"}))
    assert_refused(client.post(f"/p/{info.token}/page/1", data=answers | {"x\x00": "1"}))
    assert counts(app) == before
    assert client.post(f"/p/{info.token}/page/1", data=answers).status_code == 302


@pytest.mark.parametrize(
    "path",
    ["/p/%00", "/p/abc%00def/page/1", "/research/studies/%00", "/admin/%00", "/login%00"],
)
def test_a_nul_in_the_path_is_a_400(admin_client, path):
    assert_refused(admin_client.get(path))


def test_an_uploaded_file_name_with_a_nul_is_refused(app, admin_client):
    before = counts(app)
    response = admin_client.post(
        "/admin/instruments/import",
        data={"file": (io.BytesIO(b"format: 1\n"), "small\x00.yaml"), "format": "yaml"},
        content_type="multipart/form-data",
    )
    assert_refused(response)
    assert counts(app) == before


@pytest.mark.parametrize(
    "document",
    [{"name": "a\x00b"}, {"a\x00": 1}, [[["deep", ["\x00"]]]], "\x00"],
)
def test_a_json_body_with_a_nul_is_a_json_400_under_api(client, document):
    response = client.post("/api/studies", json=document)
    assert response.status_code == 400
    assert response.is_json
    assert NUL_MESSAGE in response.get_json()["detail"]


@pytest.mark.parametrize("body", ['{"name": "\\ud800"}', '["a\\udfffb"]', '{"\\udc00": 1}'])
def test_a_json_body_with_a_lone_surrogate_is_a_400(client, body):
    """JSON may escape half of a surrogate pair, which no database can encode as UTF-8."""
    response = client.post("/api/studies", data=body, content_type="application/json")
    assert response.status_code == 400
    assert NUL_MESSAGE in response.get_json()["detail"]
    paired = client.post("/api/studies", json={"name": "\U0001f600"})  # a pair is fine
    assert paired.status_code == 404


def test_a_json_body_nested_too_deeply_is_a_400_not_a_500(client):
    response = client.post(
        "/api/studies", data="[" * 100_000 + "]" * 100_000, content_type="application/json"
    )
    assert response.status_code == 400
