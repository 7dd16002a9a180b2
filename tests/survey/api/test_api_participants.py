"""/api/v1 participants: enrol by external id, status, consent, withdraw, progress and
completion — each happy path and each refusal, with what is (not) stored and audited."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from survey.api.problems import MEDIA_TYPE
from survey.extensions import db
from survey.models import (
    ApiScope,
    AuditAction,
    AuditEvent,
    ConsentRecord,
    EnrolledVia,
    Participant,
    Study,
    utcnow,
)
from survey.services import invitations, participation, studies

TEST_EXTERNAL_ID_KEY = b"test-external-id-key"  # TestConfig.EXTERNAL_ID_KEY


def problem_of(response, status: int, kind: str | None = None) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == MEDIA_TYPE
    problem = response.get_json()
    assert problem["status"] == status
    if kind is not None:
        assert problem["type"].endswith("/" + kind), problem
    return problem


def enrol(client, api_study, external_id="user-1", headers=None):
    return client.post(
        "/api/v1/participants",
        json={"external_id": external_id},
        headers=headers or api_study.headers,
    )


def count(app, model, *where) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model).where(*where))


def audit_events(app, action: str) -> list[AuditEvent]:
    with app.app_context():
        events = list(db.session.scalars(select(AuditEvent).where(AuditEvent.action == action)))
        db.session.expunge_all()
        return events


def set_study_status(app, study_id: int, status: str) -> None:
    with app.app_context():
        db.session.get(Study, study_id).status = status
        db.session.commit()


def participant_id(code: str) -> int:
    return int(code.removeprefix("P"))


# -- enrol -----------------------------------------------------------------------------------
def test_enrolling_a_new_external_id_makes_a_participant_with_a_working_link(
    app, client, api_study
):
    response = enrol(client, api_study, "platform-user-42")
    assert response.status_code == 201, response.get_data(as_text=True)
    body = response.get_json()
    assert body["created"] is True and body["enrolled_via"] == "api"
    assert body["participant"].startswith("P")
    assert body["link"].startswith("http://localhost/p/")
    # The link is the participant's: it opens their consent page.
    assert client.get(body["link"].removeprefix("http://localhost")).status_code == 200
    with app.app_context():
        participant = db.session.get(Participant, participant_id(body["participant"]))
        assert participant.study_id == api_study.study_id
        assert participant.enrolled_via == EnrolledVia.API
        # Only the keyed hash is stored.
        assert participant.external_id_hash == invitations.hash_external_id(
            "platform-user-42", TEST_EXTERNAL_ID_KEY
        )
    (event,) = audit_events(app, AuditAction.API_PARTICIPANT_ENROLLED)
    assert event.api_key_id == api_study.key_id and event.actor_id is None
    assert event.target_id == str(participant_id(body["participant"]))
    assert "platform-user-42" not in str(event.details)


def test_enrolling_the_same_external_id_again_finds_the_same_participant(app, client, api_study):
    first = enrol(client, api_study, "same-user").get_json()
    for external_id in ("same-user", "  same-user  "):
        again = enrol(client, api_study, external_id)
        assert again.status_code == 200
        body = again.get_json()
        assert body == {
            "participant": first["participant"],
            "created": False,
            "link": None,
            "enrolled_via": "api",
        }
    assert count(app, Participant, Participant.enrolled_via == EnrolledVia.API) == 1
    assert len(audit_events(app, AuditAction.API_PARTICIPANT_ENROLLED)) == 1
    other = enrol(client, api_study, "another-user").get_json()
    assert other["created"] is True and other["participant"] != first["participant"]


def test_the_same_external_id_in_another_study_is_another_participant(
    app, client, api_study, make_study, make_key, small
):
    other_study = make_study(small)
    _key_id, other_key = make_key(other_study.study_id)
    mine = enrol(client, api_study, "shared-id").get_json()
    theirs = enrol(
        client, api_study, "shared-id", headers={"Authorization": f"Bearer {other_key}"}
    ).get_json()
    assert theirs["created"] is True and theirs["participant"] != mine["participant"]


@pytest.mark.parametrize("status", ["closed", "draft"])
def test_a_study_that_is_not_open_enrols_nobody(app, client, api_study, status):
    set_study_status(app, api_study.study_id, status)
    before = count(app, Participant)
    problem = problem_of(enrol(client, api_study, "late-user"), 409, "study-not-open")
    assert status in problem["detail"]
    assert count(app, Participant) == before
    assert not audit_events(app, AuditAction.API_PARTICIPANT_ENROLLED)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"external_id": 42}, "/external_id"),
        ({"external_id": ""}, "/external_id"),
        ({"external_id": "   "}, "/external_id"),
        ({"external_id": "x" * 201}, "/external_id"),
        ({"external_id": None}, "/external_id"),
        ({}, "/external_id"),
        ({"external_id": "ok", "name": "Ann"}, "/name"),
        ([], "/external_id"),
    ],
)
def test_invalid_enrolment_bodies_are_422_naming_the_field(app, client, api_study, body, field):
    before = count(app, Participant)
    response = client.post("/api/v1/participants", json=body, headers=api_study.headers)
    problem = problem_of(response, 422, "invalid-input")
    assert field in [error["field"] for error in problem["errors"]], problem
    assert count(app, Participant) == before


def test_malformed_json_is_400_and_stores_nothing(app, client, api_study):
    before = count(app, Participant)
    response = client.post(
        "/api/v1/participants",
        data='{"external_id": "u',
        content_type="application/json",
        headers=api_study.headers,
    )
    problem_of(response, 400, "malformed-json")
    assert count(app, Participant) == before


def test_an_oversize_body_is_413(app, client, api_study):
    app.config["MAX_CONTENT_LENGTH"] = 1024
    before = count(app, Participant)
    response = client.post(
        "/api/v1/participants",
        json={"external_id": "x" * 2000},
        headers=api_study.headers,
    )
    problem_of(response, 413)
    assert count(app, Participant) == before


def test_enrolment_needs_the_enrol_scope(app, client, api_study, make_key):
    _key_id, read_key = make_key(api_study.study_id, scopes=[ApiScope.READ, ApiScope.DELIVER])
    response = enrol(client, api_study, "u", headers={"Authorization": f"Bearer {read_key}"})
    problem = problem_of(response, 403, "missing-scope")
    assert problem["required_scope"] == "enrol"
    assert count(app, Participant, Participant.enrolled_via == EnrolledVia.API) == 0


def test_bad_and_revoked_keys_are_401(app, client, api_study):
    from survey.models import ApiKey
    from survey.services import api_keys

    for headers in ({}, {"Authorization": "Bearer iemdp_nope"}):
        problem_of(enrol(client, api_study, "u", headers=headers or {"X": "y"}), 401)
    with app.app_context():
        api_keys.revoke(db.session.get(ApiKey, api_study.key_id), actor=None)
        db.session.commit()
    for response in (
        enrol(client, api_study, "u"),
        client.get("/api/v1/progress", headers=api_study.headers),
        client.get("/api/v1/consent", headers=api_study.headers),
    ):
        problem_of(response, 401, "key-revoked")
    assert count(app, Participant, Participant.enrolled_via == EnrolledVia.API) == 0


# -- status ----------------------------------------------------------------------------------
def test_the_status_of_a_new_participant(app, client, api_study):
    code = enrol(client, api_study).get_json()["participant"]
    response = client.get(f"/api/v1/participants/{code}", headers=api_study.headers)
    assert response.status_code == 200, response.get_data(as_text=True)
    body = response.get_json()
    assert body["participant"] == code
    assert body["consent"] == {"state": "none", "consent_version": "v1", "decided_at": None}
    assert body["withdrawn"] is False and body["enrolled_at"] is None
    assert body["wave"]["key"] == "baseline" and body["wave"]["session"] == "not_started"
    assert body["due_now"] is True
    assert body["next_due_at"] is None  # week-4 is closed: nothing else scheduled


def test_the_status_reads_with_any_scope(app, client, api_study, make_key):
    code = enrol(client, api_study).get_json()["participant"]
    for scope in ApiScope.ALL:
        _key_id, key = make_key(api_study.study_id, scopes=[scope])
        response = client.get(
            f"/api/v1/participants/{code}", headers={"Authorization": f"Bearer {key}"}
        )
        assert response.status_code == 200, scope


def test_between_waves_the_status_says_when_the_next_wave_opens(
    app, client, make_study, make_key, small
):
    info = make_study(small, waves=())
    with app.app_context():
        study = db.session.get(Study, info.study_id)
        studies.add_wave(study, key="baseline", label="Baseline", offset_days=0, window_days=7)
        studies.add_wave(study, key="week-4", label="Week 4", offset_days=28, window_days=7)
        db.session.commit()
    _key_id, key = make_key(info.study_id)
    headers = {"Authorization": f"Bearer {key}"}
    code = client.post(
        "/api/v1/participants", json={"external_id": "u"}, headers=headers
    ).get_json()["participant"]
    assert (
        client.post(
            f"/api/v1/participants/{code}/consent",
            json={"decision": "given", "consent_version": "v1"},
            headers=headers,
        ).status_code
        == 200
    )
    enrolled = utcnow() - timedelta(days=10)
    with app.app_context():
        db.session.get(Participant, participant_id(code)).enrolled_at = enrolled
        db.session.commit()
    body = client.get(f"/api/v1/participants/{code}", headers=headers).get_json()
    assert body["wave"] is None and body["due_now"] is False
    assert body["next_due_at"].startswith((enrolled + timedelta(days=28)).date().isoformat())
    # Between waves the web link refuses a consent decision, and so does the API.
    problem = problem_of(
        client.post(
            f"/api/v1/participants/{code}/consent",
            json={"decision": "declined", "consent_version": "v1"},
            headers=headers,
        ),
        409,
        "no-open-wave",
    )
    assert problem["opens_at"].startswith((enrolled + timedelta(days=28)).date().isoformat())


@pytest.mark.parametrize("path", ["", "/completion", "/consent", "/withdraw"])
def test_unknown_participants_and_those_of_other_studies_are_404(
    app, client, api_study, make_study, small, path
):
    other = make_study(small)
    with app.app_context():
        other_code = (
            db.session.scalars(select(Participant).where(Participant.study_id == other.study_id))
            .first()
            .code
        )
    method = client.post if path in ("/consent", "/withdraw") else client.get
    for code in ("P999999", "nobody", other_code, "0"):
        kwargs = (
            {"json": {"decision": "given", "consent_version": "v1"}} if path == "/consent" else {}
        )
        response = method(f"/api/v1/participants/{code}{path}", headers=api_study.headers, **kwargs)
        problem_of(response, 404, "unknown-participant")
    with app.app_context():
        stranger = db.session.get(Participant, participant_id(other_code))
        assert stranger.withdrawn_at is None
    assert count(app, ConsentRecord) == 0


# -- consent ---------------------------------------------------------------------------------
def test_the_consent_text_and_version(client, api_study):
    response = client.get("/api/v1/consent", headers=api_study.headers)
    assert response.status_code == 200
    body = response.get_json()
    assert body["consent_version"] == "v1"
    assert body["consent_text"].startswith("Please agree.")
    assert body["withdrawal_policy"] == "keep" and body["withdrawal_text"]


def test_consent_needs_the_enrol_scope(app, client, api_study, make_key):
    code = enrol(client, api_study).get_json()["participant"]
    _key_id, key = make_key(api_study.study_id, scopes=[ApiScope.READ])
    headers = {"Authorization": f"Bearer {key}"}
    problem_of(client.get("/api/v1/consent", headers=headers), 403, "missing-scope")
    response = client.post(
        f"/api/v1/participants/{code}/consent",
        json={"decision": "given", "consent_version": "v1"},
        headers=headers,
    )
    problem_of(response, 403, "missing-scope")
    assert count(app, ConsentRecord) == 0


def test_consent_is_stored_as_on_the_web(app, client, api_study):
    code = enrol(client, api_study).get_json()["participant"]
    url = f"/api/v1/participants/{code}/consent"
    given = client.post(
        url, json={"decision": "given", "consent_version": "v1"}, headers=api_study.headers
    )
    assert given.status_code == 200, given.get_data(as_text=True)
    body = given.get_json()
    assert body["recorded"] is True and body["decision"] == "given"
    repeat = client.post(
        url, json={"decision": "given", "consent_version": "v1"}, headers=api_study.headers
    ).get_json()
    assert repeat["recorded"] is False and repeat["decided_at"] == body["decided_at"]
    declined = client.post(
        url, json={"decision": "declined", "consent_version": "v1"}, headers=api_study.headers
    ).get_json()
    assert declined["recorded"] is True
    with app.app_context():
        participant = db.session.get(Participant, participant_id(code))
        records = db.session.scalars(
            select(ConsentRecord)
            .where(ConsentRecord.participant_id == participant.id)
            .order_by(ConsentRecord.ordinal)
        ).all()
        assert [(r.ordinal, r.decision, r.consent_version) for r in records] == [
            (1, "given", "v1"),
            (2, "declined", "v1"),
        ]
        assert participant.enrolled_at is not None  # the first consent is the enrolment
    status = client.get(f"/api/v1/participants/{code}", headers=api_study.headers).get_json()
    assert status["consent"]["state"] == "declined"
    events = audit_events(app, AuditAction.API_CONSENT_RECORDED)
    assert [event.details["decision"] for event in events] == ["given", "declined"]
    assert {event.api_key_id for event in events} == {api_study.key_id}


def test_a_web_participant_consented_through_the_api_is_through_on_the_web(app, client, api_study):
    """The team's participant (a web link) consents through the API: their link goes on
    to the questionnaire, not the consent page."""
    with app.app_context():
        participant = db.session.scalars(
            select(Participant).where(Participant.study_id == api_study.study_id)
        ).first()
        code = participant.code
    response = client.post(
        f"/api/v1/participants/{code}/consent",
        json={"decision": "given", "consent_version": "v1"},
        headers=api_study.headers,
    )
    assert response.status_code == 200
    with app.app_context():
        invitation = participation.Invitation(
            db.session.get(Participant, participant_id(code)),
            db.session.get(Study, api_study.study_id),
            db.session.get(Study, api_study.study_id).waves[0],
        )
        assert participation.consent_decision(invitation) == "given"


def test_a_stale_consent_version_is_409_naming_the_current_one(app, client, api_study):
    code = enrol(client, api_study).get_json()["participant"]
    response = client.post(
        f"/api/v1/participants/{code}/consent",
        json={"decision": "given", "consent_version": "v0"},
        headers=api_study.headers,
    )
    problem = problem_of(response, 409, "stale-consent-version")
    assert problem["current_consent_version"] == "v1" and "'v1'" in problem["detail"]
    assert count(app, ConsentRecord) == 0


@pytest.mark.parametrize(
    "body",
    [
        {"decision": "maybe", "consent_version": "v1"},
        {"decision": "given"},
        {"consent_version": "v1"},
        {"decision": True, "consent_version": "v1"},
        {"decision": "given", "consent_version": 1},
        {"decision": "given", "consent_version": "v1", "extra": 1},
    ],
)
def test_invalid_consent_bodies_are_422(app, client, api_study, body):
    code = enrol(client, api_study).get_json()["participant"]
    response = client.post(
        f"/api/v1/participants/{code}/consent", json=body, headers=api_study.headers
    )
    problem_of(response, 422, "invalid-input")
    assert count(app, ConsentRecord) == 0


def test_consent_of_a_withdrawn_participant_or_in_a_closed_study_is_409(app, client, api_study):
    code = enrol(client, api_study).get_json()["participant"]
    consent = {"decision": "given", "consent_version": "v1"}
    url = f"/api/v1/participants/{code}/consent"
    assert (
        client.post(f"/api/v1/participants/{code}/withdraw", headers=api_study.headers).status_code
        == 200
    )
    problem_of(
        client.post(url, json=consent, headers=api_study.headers), 409, "participant-withdrawn"
    )
    other = enrol(client, api_study, "user-2").get_json()["participant"]
    set_study_status(app, api_study.study_id, "closed")
    problem_of(
        client.post(
            f"/api/v1/participants/{other}/consent", json=consent, headers=api_study.headers
        ),
        409,
        "study-not-open",
    )
    assert count(app, ConsentRecord) == 0


# -- withdraw --------------------------------------------------------------------------------
def test_withdrawing_is_idempotent_and_attributed_to_the_key(app, client, api_study):
    code = enrol(client, api_study).get_json()["participant"]
    url = f"/api/v1/participants/{code}/withdraw"
    first = client.post(url, headers=api_study.headers)
    assert first.status_code == 200, first.get_data(as_text=True)
    body = first.get_json()
    assert body["withdrawn"] is True and body["already_withdrawn"] is False
    again = client.post(url, headers=api_study.headers).get_json()
    assert again["already_withdrawn"] is True and again["withdrawn_at"] == body["withdrawn_at"]
    (event,) = audit_events(app, AuditAction.PARTICIPANT_WITHDREW)
    assert event.api_key_id == api_study.key_id
    status = client.get(f"/api/v1/participants/{code}", headers=api_study.headers).get_json()
    assert status["withdrawn"] is True and status["wave"] is None and status["due_now"] is False


def test_a_participant_can_withdraw_from_a_closed_study(app, client, api_study):
    code = enrol(client, api_study).get_json()["participant"]
    set_study_status(app, api_study.study_id, "closed")
    response = client.post(f"/api/v1/participants/{code}/withdraw", headers=api_study.headers)
    assert response.status_code == 200 and response.get_json()["withdrawn"] is True


def test_withdrawing_needs_the_enrol_scope(app, client, api_study, make_key):
    code = enrol(client, api_study).get_json()["participant"]
    _key_id, key = make_key(api_study.study_id, scopes=[ApiScope.READ])
    response = client.post(
        f"/api/v1/participants/{code}/withdraw", headers={"Authorization": f"Bearer {key}"}
    )
    problem_of(response, 403, "missing-scope")
    assert count(app, Participant, Participant.withdrawn_at.is_not(None)) == 0


# -- progress and completion -----------------------------------------------------------------
def _complete_baseline(app, study_id: int, code: str, *, pages: int | None = None) -> None:
    """The participant consents and submits ``pages`` pages (all when None) of the wave
    open for them, through the web's services."""
    from survey.services import api_enrolment

    with app.app_context():
        participant = db.session.get(Participant, participant_id(code))
        invitation = api_enrolment.invitation_for(participant)
        participation.record_consent(invitation, "given")
        session = participation.start_session(invitation)
        all_pages = participation.pages(session)
        for number, battery_page in enumerate(all_pages[:pages], start=1):
            answers = {
                entry.id: battery_page.definition.scale(entry.scale).values[0]
                for entry in battery_page.page.entries
            }
            participation.save_page(session, number, answers)
        db.session.commit()


def test_progress_counts_participants_per_wave_and_state(app, client, api_study):
    done = enrol(client, api_study, "done").get_json()["participant"]
    started = enrol(client, api_study, "started").get_json()["participant"]
    gone = enrol(client, api_study, "gone").get_json()["participant"]
    _complete_baseline(app, api_study.study_id, done)
    _complete_baseline(app, api_study.study_id, started, pages=1)
    client.post(f"/api/v1/participants/{gone}/withdraw", headers=api_study.headers)
    response = client.get("/api/v1/progress", headers=api_study.headers)
    assert response.status_code == 200, response.get_data(as_text=True)
    body = response.get_json()
    assert body["study"] == api_study.slug
    # the team's participant and three enrolled through the API
    assert (body["participants"], body["enrolled"], body["withdrawn"]) == (4, 2, 1)
    baseline, week4 = body["waves"]
    assert baseline["key"] == "baseline" and week4["key"] == "week-4"
    assert (baseline["completed"], baseline["in_progress"], baseline["not_started"]) == (1, 1, 1)
    assert baseline["withdrawn"] == 1 and baseline["declined"] == 0
    assert week4["not_started"] == 3 and week4["completed"] == 0

    completion = client.get(
        f"/api/v1/participants/{done}/completion", headers=api_study.headers
    ).get_json()
    assert completion["participant"] == done
    first, second = completion["waves"]
    assert first["session"] == "completed" and first["completed_at"] and first["started_at"]
    assert second == {
        "key": "week-4",
        "label": "Week-4",
        "session": "not_started",
        "started_at": None,
        "completed_at": None,
    }
    partial = client.get(
        f"/api/v1/participants/{started}/completion", headers=api_study.headers
    ).get_json()
    assert partial["waves"][0]["session"] == "in_progress"
    assert partial["waves"][0]["completed_at"] is None
    status = client.get(f"/api/v1/participants/{done}", headers=api_study.headers).get_json()
    assert status["wave"]["session"] == "completed" and status["due_now"] is False


def test_progress_and_completion_need_the_read_scope(app, client, api_study, make_key):
    code = enrol(client, api_study).get_json()["participant"]
    _key_id, key = make_key(api_study.study_id, scopes=[ApiScope.ENROL, ApiScope.DELIVER])
    headers = {"Authorization": f"Bearer {key}"}
    for url in ("/api/v1/progress", f"/api/v1/participants/{code}/completion"):
        problem = problem_of(client.get(url, headers=headers), 403, "missing-scope")
        assert problem["required_scope"] == "read"


def test_a_key_reads_only_its_own_studys_progress(
    app, client, api_study, make_study, make_key, small
):
    other = make_study(small)
    _key_id, key = make_key(other.study_id)
    enrol(client, api_study, "mine")
    body = client.get("/api/v1/progress", headers={"Authorization": f"Bearer {key}"}).get_json()
    assert body["participants"] == 1 and body["enrolled"] == 0


def test_simultaneous_enrolments_of_one_external_id_make_one_participant(app, api_study):
    from concurrent.futures import ThreadPoolExecutor
    from threading import Barrier

    requests = 6
    barrier = Barrier(requests)

    def post(_number: int):
        client = app.test_client()
        barrier.wait()
        response = client.post(
            "/api/v1/participants", json={"external_id": "racing"}, headers=api_study.headers
        )
        return response.status_code, response.get_json()

    with ThreadPoolExecutor(requests) as pool:
        answers = list(pool.map(post, range(requests)))
    assert sorted(status for status, _body in answers) == [200] * (requests - 1) + [201], answers
    assert len({body["participant"] for _status, body in answers}) == 1
    assert count(app, Participant, Participant.enrolled_via == EnrolledVia.API) == 1
    assert len(audit_events(app, AuditAction.API_PARTICIPANT_ENROLLED)) == 1
