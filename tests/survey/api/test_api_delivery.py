"""The questionnaire inside the chat: GET /participants/{p}/items and POST .../answers."""

from __future__ import annotations

import copy
import json
import re

import pytest
from sqlalchemy import func, select

from instruments.loader import parse_definition
from survey.extensions import db
from survey.models import (
    Answer,
    ApiScope,
    AuditAction,
    AuditEvent,
    ConsentDecision,
    PageVisit,
    Participant,
    ResponseSession,
    SafetyAlert,
    Study,
)
from survey.services import participation, studies
from survey.services.item_order import ordered_entries
from tests.survey.conftest import SMALL, URGENT_HELP


def consented(app, study_id: int, count: int = 1, *, consent: bool = True) -> list[tuple[str, str]]:
    """``count`` new participants of the study (consented unless told), committed:
    [(code, link token)]."""
    with app.app_context():
        study = db.session.get(Study, study_id)
        made = studies.add_participants(study, count)
        if consent:
            for _participant, token in made:
                invitation = participation.resolve(token)
                participation.record_consent(invitation, ConsentDecision.GIVEN)
        db.session.commit()
        return [(participant.code, token) for participant, token in made]


def items_url(code: str, limit: int | None = None) -> str:
    url = f"/api/v1/participants/{code}/items"
    return url if limit is None else f"{url}?limit={limit}"


def answers_url(code: str) -> str:
    return f"/api/v1/participants/{code}/answers"


def post_answers(client, api_study, code: str, answers, **kwargs):
    return client.post(
        answers_url(code),
        json={"answers": [{"item_id": i, "value": v} for i, v in answers]},
        headers=api_study.headers | kwargs.pop("headers", {}),
        **kwargs,
    )


def checked_values(html: str) -> dict[str, str]:
    """name -> value of the checked radio inputs of a page."""
    found = {}
    for tag in re.findall(r"<input[^>]*>", html):
        if " checked" in tag:
            found[re.search(r'name="([^"]+)"', tag)[1]] = re.search(r'value="([^"]+)"', tag)[1]
    return found


def order_of(definition, seed: int) -> list[str]:
    """Every entry id of the battery in the participant's order."""
    return [e.id for page in definition.pages() for e in ordered_entries(definition, page, seed)]


def stored(app, code: str) -> dict[str, tuple[int | None, str]]:
    """item id -> (value, delivery mode) of the participant's answers."""
    with app.app_context():
        rows = db.session.execute(
            select(Answer.item_id, Answer.value, Answer.delivery_mode)
            .join(ResponseSession, ResponseSession.id == Answer.session_id)
            .where(ResponseSession.participant_id == int(code[1:]))
        )
        return {item_id: (value, mode) for item_id, value, mode in rows}


def problem(response, status: int, kind: str) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/problem+json"
    body = response.get_json()
    assert body["type"].endswith("/" + kind), body
    return body


# -- next items ----------------------------------------------------------------------------
def test_the_first_item_with_its_options_page_version_and_progress(app, client, api_study, small):
    [(code, _token)] = consented(app, api_study.study_id)
    response = client.get(items_url(code), headers=api_study.headers)
    assert response.status_code == 200, response.get_data(as_text=True)
    body = response.get_json()
    assert body["participant"] == code
    assert body["wave"] == {"key": "baseline", "label": "Baseline", "closes_at": None}
    assert body["complete"] is False
    assert body["progress"] == {"answered": 0, "total": 9, "page": 1, "pages": 2}
    [item] = body["items"]
    assert item["item_id"] == "AA_S_1" and item["text"] == "Statement AA 1."
    assert item["page"] == {"key": "AA", "number": 1}
    assert item["options"] == [
        {"value": 1, "label": "Disagree"},
        {"value": 2, "label": "Neutral"},
        {"value": 3, "label": "Agree"},
    ]
    assert item["optional"] is False
    assert item["instrument"] == {
        "key": "small",
        "version": "1.0.0",
        "content_hash": small.content_hash,
    }
    with app.app_context():  # delivering started the session and showed the page
        session = db.session.scalar(select(ResponseSession))
        assert session.participant_id == int(code[1:]) and session.completed_at is None
        visits = db.session.scalars(select(PageVisit)).all()
        assert [(v.page_key, v.submitted_at) for v in visits] == [("AA", None)]


def test_several_items_span_pages_in_the_participants_shuffled_order(
    app, client, make_study, make_key, make_definition
):
    shuffled = make_definition(shuffle_items=True)
    info = make_study(shuffled)
    _key_id, key = make_key(info.study_id)
    headers = {"Authorization": f"Bearer {key}"}
    [(code, _token)] = consented(app, info.study_id)
    with app.app_context():
        seed = db.session.get(Participant, int(code[1:])).item_order_seed
    expected = order_of(shuffled, seed)
    response = client.get(items_url(code, 6), headers=headers)
    body = response.get_json()
    assert [item["item_id"] for item in body["items"]] == expected[:6]
    assert [item["page"]["key"] for item in body["items"]] == ["AA"] * 4 + ["BB"] * 2
    assert "ATTN_1" in expected  # attention checks are delivered like the items
    everything = client.get(items_url(code, 50), headers=headers).get_json()
    assert [item["item_id"] for item in everything["items"]] == expected
    with app.app_context():  # both pages shown when their first item was delivered
        keys = db.session.scalars(select(PageVisit.page_key).order_by(PageVisit.page_key))
        assert list(keys) == ["AA", "BB"]


def test_the_limit_is_1_to_50(app, client, api_study):
    [(code, _token)] = consented(app, api_study.study_id)
    for limit in (0, 51, "x"):
        response = client.get(items_url(code, limit), headers=api_study.headers)
        body = problem(response, 422, "invalid-input")
        assert body["errors"][0]["field"] == "/limit"


# -- answers -------------------------------------------------------------------------------
def test_one_answer_is_a_draft_the_web_sees_and_the_next_item_follows(app, client, api_study):
    [(code, token)] = consented(app, api_study.study_id)
    response = post_answers(client, api_study, code, [("AA_S_1", 3)])
    assert response.status_code == 200, response.get_data(as_text=True)
    body = response.get_json()
    assert body["stored"] == 1 and body["completed"] is False
    assert body["submitted_pages"] == [] and body["safety_alert"] is False
    assert body["urgent_help"] is None
    assert [item["item_id"] for item in body["next"]["items"]] == ["AA_S_2"]
    assert body["next"]["progress"]["answered"] == 1
    assert stored(app, code) == {"AA_S_1": (3, "chat")}
    with app.app_context():
        session = participation.start_session(participation.resolve(token))
        assert participation.saved_answers(session, 1) == {"AA_S_1": 3}
        assert participation.submitted_pages(session) == set()
    html = client.get(f"/p/{token}/page/1").get_data(as_text=True)
    assert checked_values(html) == {"AA_S_1": "3"}  # the web page shows the chat's answer


def test_a_whole_page_submits_it_and_the_last_page_completes_the_session(
    app, client, api_study, small
):
    [(code, _token)] = consented(app, api_study.study_id)
    first, second = small.pages()
    response = post_answers(client, api_study, code, [(e.id, 2) for e in first.entries])
    body = response.get_json()
    assert body["submitted_pages"] == ["AA"] and body["completed"] is False
    assert body["next"]["progress"] == {"answered": 4, "total": 9, "page": 2, "pages": 2}
    response = post_answers(
        client, api_study, code, [(e.id, 1) for e in second.entries], query_string={"limit": 3}
    )
    body = response.get_json()
    assert body["submitted_pages"] == ["BB"] and body["completed"] is True
    assert body["next"]["complete"] is True and body["next"]["items"] == []
    assert body["next"]["progress"] == {"answered": 9, "total": 9, "page": 2, "pages": 2}
    answers = stored(app, code)
    assert len(answers) == 9 and {mode for _v, mode in answers.values()} == {"chat"}
    with app.app_context():
        session = db.session.scalar(select(ResponseSession))
        assert session.completed_at is not None
        visits = db.session.scalars(select(PageVisit)).all()
        assert all(v.submitted_at is not None for v in visits) and len(visits) == 2
    after = client.get(items_url(code), headers=api_study.headers).get_json()
    assert after["complete"] is True and after["items"] == []
    again = post_answers(client, api_study, code, [("AA_S_1", 3)])
    problem(again, 409, "session-completed")
    assert stored(app, code)["AA_S_1"] == (2, "chat")


def test_answers_spanning_pages_item_by_item_reach_completion(app, client, api_study, small):
    [(code, _token)] = consented(app, api_study.study_id)
    order = order_of(small, 0)
    # the first page and half the second in one request, then one by one
    response = post_answers(client, api_study, code, [(i, 2) for i in order[:6]])
    assert response.get_json()["submitted_pages"] == ["AA"]
    for item_id in order[6:]:
        body = client.get(items_url(code), headers=api_study.headers).get_json()
        assert body["items"][0]["item_id"] == item_id
        body = post_answers(client, api_study, code, [(item_id, 2)]).get_json()
    assert body["completed"] is True and body["submitted_pages"] == ["BB"]


def test_one_audit_event_per_request_with_the_key(app, client, api_study, small):
    [(code, _token)] = consented(app, api_study.study_id)
    post_answers(client, api_study, code, [(e.id, 2) for e in small.pages()[0].entries])
    post_answers(client, api_study, code, [("BB_S_1", 2)])
    with app.app_context():
        events = db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == AuditAction.API_ANSWERS_SAVED)
        ).all()
        assert len(events) == 2
        assert {event.api_key_id for event in events} == {api_study.key_id}
        assert events[0].target_type == "participant" and events[0].target_id == code[1:].lstrip(
            "0"
        )
        assert events[0].details["answers"] == 4 and events[0].details["submitted_pages"] == ["AA"]
        assert events[1].details["answers"] == 1


def test_changing_a_submitted_page_resubmits_it_with_the_chat_stamp(app, client, api_study, small):
    [(code, _token)] = consented(app, api_study.study_id)
    post_answers(client, api_study, code, [(e.id, 2) for e in small.pages()[0].entries])
    body = post_answers(client, api_study, code, [("AA_S_2", 3)]).get_json()
    assert body["stored"] == 1 and body["completed"] is False
    assert stored(app, code)["AA_S_2"] == (3, "chat")
    assert body["next"]["items"][0]["page"]["key"] == "BB"


def test_an_optional_item_is_skipped_with_null(app, client, make_study, make_key, make_definition):
    definition = make_definition(optional=["AA_S_4"])
    info = make_study(definition)
    _key_id, key = make_key(info.study_id)
    headers = {"Authorization": f"Bearer {key}"}
    [(code, _token)] = consented(app, info.study_id)
    for item_id in ("AA_S_1", "AA_S_2", "AA_S_3"):
        client.post(
            answers_url(code), json={"answers": [{"item_id": item_id, "value": 1}]}, headers=headers
        )
    body = client.get(items_url(code), headers=headers).get_json()
    assert body["items"][0]["item_id"] == "AA_S_4" and body["items"][0]["optional"] is True
    response = client.post(
        answers_url(code), json={"answers": [{"item_id": "AA_S_4", "value": None}]}, headers=headers
    )
    body = response.get_json()
    assert body["submitted_pages"] == ["AA"], body
    assert body["next"]["items"][0]["item_id"] == "BB_S_1"
    assert stored(app, code)["AA_S_4"] == (None, "chat")


def test_a_skipped_optional_item_in_a_draft_is_not_asked_again(
    app, client, make_study, make_key, make_definition
):
    definition = make_definition(optional=["AA_S_1"])
    info = make_study(definition)
    _key_id, key = make_key(info.study_id)
    headers = {"Authorization": f"Bearer {key}"}
    [(code, _token)] = consented(app, info.study_id)
    response = client.post(
        answers_url(code), json={"answers": [{"item_id": "AA_S_1", "value": None}]}, headers=headers
    )
    body = response.get_json()
    assert body["submitted_pages"] == [] and body["next"]["items"][0]["item_id"] == "AA_S_2"
    assert body["next"]["progress"]["answered"] == 1


def test_a_safety_item_raises_its_alert_at_once_with_the_urgent_help_note(
    app, client, make_study, make_key
):
    mapping = copy.deepcopy(SMALL)
    mapping["constructs"][0]["subconstructs"][0]["items"][1]["safety_threshold"] = 3
    definition = parse_definition(mapping, "small.yaml")
    info = make_study(definition)
    _key_id, key = make_key(info.study_id)
    headers = {"Authorization": f"Bearer {key}"}
    [(code, _token)] = consented(app, info.study_id)
    quiet = client.post(
        answers_url(code), json={"answers": [{"item_id": "AA_S_2", "value": 2}]}, headers=headers
    ).get_json()
    assert quiet["safety_alert"] is False
    body = client.post(
        answers_url(code), json={"answers": [{"item_id": "AA_S_2", "value": 3}]}, headers=headers
    ).get_json()
    assert body["safety_alert"] is True and body["urgent_help"] == URGENT_HELP
    assert body["submitted_pages"] == []  # a draft still: the alert did not wait
    with app.app_context():
        alerts = db.session.scalars(select(SafetyAlert)).all()
        assert [(a.item_id, a.value) for a in alerts] == [("AA_S_2", 3)]
    # finishing the page raises no second alert
    rest = [{"item_id": i, "value": 3} for i in ("AA_S_1", "AA_S_3", "AA_S_4")]
    body = client.post(answers_url(code), json={"answers": rest}, headers=headers).get_json()
    assert body["submitted_pages"] == ["AA"] and body["safety_alert"] is False
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(SafetyAlert)) == 1


# -- rejections ----------------------------------------------------------------------------
def test_bad_answers_are_all_listed_and_nothing_is_stored(app, client, api_study):
    [(code, _token)] = consented(app, api_study.study_id)
    response = client.post(
        answers_url(code),
        json={
            "answers": [
                {"item_id": "AA_S_1", "value": 2},
                {"item_id": "AA_S_2", "value": 4},
                {"item_id": "NOPE", "value": 1},
                {"item_id": "AA_S_1", "value": 3},
                {"item_id": "AA_S_3", "value": None},
            ]
        },
        headers=api_study.headers,
    )
    body = problem(response, 422, "invalid-input")
    fields = [error["field"] for error in body["errors"]]
    assert fields == [
        "/answers/1/value",
        "/answers/2/item_id",
        "/answers/3/item_id",
        "/answers/4/value",
    ]
    assert "not a value of scale agree3" in body["errors"][0]["message"]
    assert "'NOPE' is not an item" in body["errors"][1]["message"]
    assert stored(app, code) == {}
    with app.app_context():
        assert (
            db.session.scalar(
                select(func.count())
                .select_from(AuditEvent)
                .where(AuditEvent.action == AuditAction.API_ANSWERS_SAVED)
            )
            == 0
        )


@pytest.mark.parametrize(
    "answer, field",
    [
        ({"item_id": "AA_S_1", "value": True}, "/answers/0/value"),
        ({"item_id": "AA_S_1", "value": "2"}, "/answers/0/value"),
        ({"item_id": "AA_S_1", "value": 2.5}, "/answers/0/value"),
        ({"item_id": "AA_S_1"}, "/answers/0/value"),
        ({"item_id": "", "value": 2}, "/answers/0/item_id"),
        ({"item_id": "AA_S_1", "value": 2, "extra": 1}, "/answers/0/extra"),
    ],
)
def test_answers_of_the_wrong_shape_are_422(app, client, api_study, answer, field):
    [(code, _token)] = consented(app, api_study.study_id)
    response = client.post(answers_url(code), json={"answers": [answer]}, headers=api_study.headers)
    body = problem(response, 422, "invalid-input")
    assert field in [error["field"] for error in body["errors"]]
    assert stored(app, code) == {}


def test_an_empty_list_malformed_json_and_an_oversize_body(app, client, api_study):
    [(code, _token)] = consented(app, api_study.study_id)
    problem(
        client.post(answers_url(code), json={"answers": []}, headers=api_study.headers),
        422,
        "invalid-input",
    )
    malformed = client.post(
        answers_url(code),
        data='{"answers": [',
        content_type="application/json",
        headers=api_study.headers,
    )
    problem(malformed, 400, "malformed-json")
    huge = json.dumps({"answers": [{"item_id": "AA_S_1", "value": 2}] * 10_000})
    assert len(huge) > 100_000
    oversize = client.post(
        answers_url(code), data=huge, content_type="application/json", headers=api_study.headers
    )
    problem(oversize, 413, "too-large")
    assert stored(app, code) == {}


def test_a_key_without_the_deliver_scope_is_403(app, client, api_study, make_key):
    [(code, _token)] = consented(app, api_study.study_id)
    _key_id, key = make_key(api_study.study_id, scopes=(ApiScope.READ, ApiScope.ENROL))
    headers = {"Authorization": f"Bearer {key}"}
    body = problem(client.get(items_url(code), headers=headers), 403, "missing-scope")
    assert body["required_scope"] == "deliver"
    response = client.post(
        answers_url(code), json={"answers": [{"item_id": "AA_S_1", "value": 2}]}, headers=headers
    )
    problem(response, 403, "missing-scope")
    problem(client.get(items_url(code)), 401, "unauthorized")
    assert stored(app, code) == {}


def test_a_revoked_key_is_401(app, client, api_study):
    from survey.models import ApiKey
    from survey.services import api_keys

    [(code, _token)] = consented(app, api_study.study_id)
    with app.app_context():
        api_keys.revoke(db.session.get(ApiKey, api_study.key_id), actor=None)
        db.session.commit()
    problem(client.get(items_url(code), headers=api_study.headers), 401, "key-revoked")
    problem(post_answers(client, api_study, code, [("AA_S_1", 2)]), 401, "key-revoked")
    assert stored(app, code) == {}


def test_unknown_participants_and_those_of_another_study_are_404(
    app, client, api_study, make_study, small
):
    other = make_study(small)
    [(stranger, _token)] = consented(app, other.study_id)
    for code in (stranger, "P999999", "nobody"):
        problem(client.get(items_url(code), headers=api_study.headers), 404, "unknown-participant")
        response = post_answers(client, api_study, code, [("AA_S_1", 2)])
        problem(response, 404, "unknown-participant")


def test_no_consent_is_409_and_starts_nothing(app, client, api_study):
    [(code, _token)] = consented(app, api_study.study_id, consent=False)
    problem(client.get(items_url(code), headers=api_study.headers), 409, "consent-required")
    problem(post_answers(client, api_study, code, [("AA_S_1", 2)]), 409, "consent-required")
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(ResponseSession)) == 0


def test_a_withdrawn_participant_is_409(app, client, api_study):
    [(code, _token)] = consented(app, api_study.study_id)
    with app.app_context():
        participation.withdraw(db.session.get(Participant, int(code[1:])))
        db.session.commit()
    problem(client.get(items_url(code), headers=api_study.headers), 409, "participant-withdrawn")
    problem(post_answers(client, api_study, code, [("AA_S_1", 2)]), 409, "participant-withdrawn")


def test_a_closed_wave_is_409_with_when_the_next_opens(app, client, api_study):
    [(code, _token)] = consented(app, api_study.study_id)
    post_answers(client, api_study, code, [("AA_S_1", 2)])
    with app.app_context():
        study = db.session.get(Study, api_study.study_id)
        studies.set_wave_status(study.waves[0], "closed", actor=None)
        db.session.commit()
    body = problem(client.get(items_url(code), headers=api_study.headers), 409, "no-open-wave")
    assert body["opens_at"] is None
    problem(post_answers(client, api_study, code, [("AA_S_2", 2)]), 409, "no-open-wave")
    assert stored(app, code) == {"AA_S_1": (2, "chat")}


def test_a_closed_study_is_409(app, client, api_study):
    [(code, _token)] = consented(app, api_study.study_id)
    with app.app_context():
        studies.set_status(db.session.get(Study, api_study.study_id), "closed", actor=None)
        db.session.commit()
    body = problem(client.get(items_url(code), headers=api_study.headers), 409, "study-not-open")
    assert body["study_status"] == "closed"
    problem(post_answers(client, api_study, code, [("AA_S_1", 2)]), 409, "study-not-open")


def test_the_openapi_document_describes_delivery(client):
    document = client.get("/api/v1/openapi.json").get_json()
    items = document["paths"]["/api/v1/participants/{participant}/items"]["get"]
    answers = document["paths"]["/api/v1/participants/{participant}/answers"]["post"]
    assert {"200", "404", "409"} <= set(items["responses"])
    assert "Idempotency-Key" in [p["name"] for p in answers["parameters"]]
    assert answers["requestBody"]["content"]["application/json"]["schema"]


def test_a_wave_opening_later_says_when_and_an_open_one_when_it_closes(
    app, client, make_study, make_key, small
):
    from datetime import timedelta

    from survey.models import utcnow

    info = make_study(small)
    _key_id, key = make_key(info.study_id)
    headers = {"Authorization": f"Bearer {key}"}
    now = utcnow().replace(microsecond=0)
    [(code, _token)] = consented(app, info.study_id)  # while baseline is open
    with app.app_context():
        study = db.session.get(Study, info.study_id)
        studies.set_wave_status(study.waves[0], "closed", actor=None)
        studies.add_wave(study, key="later", label="Later", opens_at=now + timedelta(days=2))
        db.session.commit()
    body = problem(client.get(items_url(code), headers=headers), 409, "no-open-wave")
    assert body["opens_at"] == (now + timedelta(days=2)).isoformat()
    assert "the next opens at" in body["detail"]

    other = make_study(small, waves=())
    _key_id, key = make_key(other.study_id)
    with app.app_context():
        study = db.session.get(Study, other.study_id)
        studies.add_wave(study, key="now", label="Now", closes_at=now + timedelta(days=5))
        db.session.commit()
    [(code, _token)] = consented(app, other.study_id)
    delivered = client.get(items_url(code), headers={"Authorization": f"Bearer {key}"})
    wave = delivered.get_json()["wave"]
    assert wave["key"] == "now" and wave["closes_at"].startswith(
        (now + timedelta(days=5)).isoformat()[:19]
    )
