"""POST /participants/{p}/outcomes: engagement outcomes into the study's outcome store."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from survey.extensions import db
from survey.models import (
    ApiScope,
    AuditAction,
    AuditEvent,
    OutcomeSource,
    OutcomeUpload,
    Participant,
    Study,
)
from survey.services import outcomes, participation
from tests.survey.api.test_api_delivery import consented, problem
from tests.survey.api.test_api_idempotency import http_post
from tests.survey.api.test_api_idempotency import live_url as live_url  # the fixture

TODAY = datetime.now(UTC).date().isoformat()


def url(code: str) -> str:
    return f"/api/v1/participants/{code}/outcomes"


def post(client, api_study, code, body, **headers):
    return client.post(url(code), json=body, headers=api_study.headers | headers)


def current(app, study_id: int):
    """(version, {(participant code, wave key or None): values}, columns) of the current
    outcome version."""
    with app.app_context():
        table = outcomes.current_outcomes(db.session.get(Study, study_id))
        rows = {
            (f"P{pid:06d}", table.wave_keys.get(wid)): dict(values)
            for (pid, wid), values in table.rows.items()
        }
        return table.upload.version, rows, [c.meta() for c in table.columns]


def test_a_post_is_a_new_version_from_the_api(app, client, api_study):
    [(code, _token)] = consented(app, api_study.study_id)
    response = post(
        client,
        api_study,
        code,
        {
            "recorded_on": "2026-11-30",
            "wave": "baseline",
            "values": {"messages_sent": 12, "active_weeks": 3, "dropped_out": False},
        },
    )
    assert response.status_code == 201, response.get_data(as_text=True)
    assert response.get_json() == {
        "outcome_version": 1,
        "participant": code,
        "wave": "baseline",
        "recorded_on": "2026-11-30",
        "names": ["active_weeks", "dropped_out", "messages_sent"],
    }
    version, rows, columns = current(app, api_study.study_id)
    assert version == 1
    assert rows == {
        (code, "baseline"): {
            "messages_sent": 12.0,
            "active_weeks": 3.0,
            "dropped_out": 0.0,
            "recorded_on": 20261130.0,
        }
    }
    assert {c["name"]: c["kind"] for c in columns} == dict.fromkeys(
        ["active_weeks", "dropped_out", "messages_sent", "recorded_on"], "numeric"
    )
    with app.app_context():
        upload = db.session.scalar(select(OutcomeUpload))
        assert upload.source == OutcomeSource.API
        assert upload.filename == f"api {code} baseline 2026-11-30"
        event = db.session.scalar(
            select(AuditEvent).where(AuditEvent.action == AuditAction.API_OUTCOMES_POSTED)
        )
        assert event.api_key_id == api_study.key_id
        assert event.details["outcome_version"] == 1
        assert event.details["recorded_on"] == "2026-11-30"


def test_a_later_post_keeps_the_other_rows_and_overrides_its_names(app, client, api_study):
    (first, _t1), (second, _t2) = consented(app, api_study.study_id, 2)
    post(
        client,
        api_study,
        first,
        {
            "recorded_on": "2026-11-01",
            "wave": "baseline",
            "values": {"messages_sent": 5, "group": "chat"},
        },
    )
    post(
        client,
        api_study,
        second,
        {"recorded_on": "2026-11-02", "values": {"messages_sent": 7, "group": "app"}},
    )
    response = post(
        client,
        api_study,
        first,
        {
            "recorded_on": "2026-11-20",
            "wave": "baseline",
            "values": {"messages_sent": 9, "dropped_out": True},
        },
    )
    assert response.get_json()["outcome_version"] == 3
    version, rows, columns = current(app, api_study.study_id)
    assert version == 3
    assert rows[(first, "baseline")] == {
        "messages_sent": 9.0,
        "group": "chat",
        "recorded_on": 20261120.0,
        "dropped_out": 1.0,
    }
    assert rows[(second, None)] == {
        "messages_sent": 7.0,
        "group": "app",
        "recorded_on": 20261102.0,
        "dropped_out": None,
    }
    assert {"name": "group", "kind": "categorical", "levels": ["app", "chat"]} in columns
    with app.app_context():  # older versions are kept
        versions = db.session.scalars(select(OutcomeUpload.version).order_by("version"))
        assert list(versions) == [1, 2, 3]


def test_invalid_names_and_values_are_each_listed(app, client, api_study):
    [(code, _token)] = consented(app, api_study.study_id)
    post(client, api_study, code, {"recorded_on": TODAY, "values": {"messages_sent": 1}})
    response = post(
        client,
        api_study,
        code,
        {
            "recorded_on": TODAY,
            "values": {
                "2nd": 1,
                "AA_S_1": 2,
                "participant": 1,
                "recorded_on": 3,
                "messages_sent": "many",
                "Messages_Sent": 3,
                "note": "x" * 201,
                "x" * 40: 1,
            },
        },
    )
    body = problem(response, 422, "invalid-input")
    by_field = {error["field"]: error["message"] for error in body["errors"]}
    assert set(by_field) == {
        "/values/2nd",
        "/values/AA_S_1",
        "/values/participant",
        "/values/recorded_on",
        "/values/messages_sent",
        "/values/Messages_Sent",
        "/values/note",
        "/values/" + "x" * 40,
    }
    assert "item of small" in by_field["/values/AA_S_1"]
    assert "numeric" in by_field["/values/messages_sent"]
    assert current(app, api_study.study_id)[0] == 1  # nothing stored


def test_more_than_50_levels_are_refused(app, client, api_study):
    people = consented(app, api_study.study_id, 51)
    for number, (code, _token) in enumerate(people[:50]):
        assert (
            post(
                client,
                api_study,
                code,
                {"recorded_on": TODAY, "values": {"city": f"c{number:02d}"}},
            ).status_code
            == 201
        )
    response = post(
        client, api_study, people[50][0], {"recorded_on": TODAY, "values": {"city": "c50"}}
    )
    body = problem(response, 422, "invalid-input")
    assert body["errors"][0]["field"] == "/values/city"
    assert "more than 50" in body["errors"][0]["message"]


def test_bad_requests(app, client, api_study):
    [(code, _token)] = consented(app, api_study.study_id)
    future = (datetime.now(UTC).date() + timedelta(days=3)).isoformat()
    cases = [
        ({"recorded_on": future, "values": {"a": 1}}, "/recorded_on"),
        ({"recorded_on": "2026-13-01", "values": {"a": 1}}, "/recorded_on"),
        ({"values": {"a": 1}}, "/recorded_on"),
        ({"recorded_on": TODAY, "values": {}}, "/values"),
        ({"recorded_on": TODAY, "values": {"a": [1]}}, "/values/a"),
        ({"recorded_on": TODAY, "values": {"a": 1}, "wave": "week-9"}, "/wave"),
        ({"recorded_on": TODAY, "values": {"a": 1}, "extra": 1}, "/extra"),
    ]
    for body, field in cases:
        response = post(client, api_study, code, body)
        found = problem(response, 422, "invalid-input")
        assert any(e["field"].startswith(field) for e in found["errors"]), (body, found)
    malformed = client.post(
        url(code), data="{", content_type="application/json", headers=api_study.headers
    )
    problem(malformed, 400, "malformed-json")
    huge = {"recorded_on": TODAY, "values": {"note": "x" * 150_000}}
    problem(post(client, api_study, code, huge), 413, "too-large")
    with app.app_context():
        assert outcomes.current_upload(db.session.get(Study, api_study.study_id)) is None


def test_scope_participant_consent_and_withdrawal(app, client, api_study, make_key):
    (code, _t), (no_consent, _t2) = (
        consented(app, api_study.study_id)[0],
        consented(app, api_study.study_id, consent=False)[0],
    )
    body = {"recorded_on": TODAY, "values": {"messages_sent": 1}}
    _key_id, key = make_key(api_study.study_id, scopes=(ApiScope.DELIVER,))
    response = client.post(url(code), json=body, headers={"Authorization": f"Bearer {key}"})
    assert problem(response, 403, "missing-scope")["required_scope"] == "outcomes"
    problem(post(client, api_study, "P999999", body), 404, "unknown-participant")
    problem(post(client, api_study, no_consent, body), 409, "consent-required")
    with app.app_context():
        participation.withdraw(db.session.get(Participant, int(code[1:])))
        db.session.commit()
    problem(post(client, api_study, code, body), 409, "participant-withdrawn")


def test_a_retry_with_its_idempotency_key_stores_one_version(app, client, api_study):
    [(code, _token)] = consented(app, api_study.study_id)
    body = {"recorded_on": TODAY, "values": {"messages_sent": 4}}
    first = post(client, api_study, code, body, **{"Idempotency-Key": "o-1"})
    retry = post(client, api_study, code, body, **{"Idempotency-Key": "o-1"})
    assert first.status_code == retry.status_code == 201
    assert retry.headers["Idempotent-Replayed"] == "true"
    assert retry.get_json() == first.get_json()
    assert current(app, api_study.study_id)[0] == 1
    other = post(
        client,
        api_study,
        code,
        body | {"values": {"messages_sent": 5}},
        **{"Idempotency-Key": "o-1"},
    )
    problem(other, 409, "idempotency-conflict")


def test_simultaneous_posts_store_consecutive_versions_or_ask_for_a_retry(app, api_study, live_url):
    people = consented(app, api_study.study_id, 4)
    results: list[int] = []
    barrier = threading.Barrier(len(people))

    def send(code: str, number: int) -> None:
        barrier.wait()
        body = {"recorded_on": TODAY, "values": {"messages_sent": number}}
        status, headers, _body = http_post(live_url + url(code), body, api_study.headers)
        if status == 503:
            assert headers["Retry-After"] == "1"
        results.append(status)

    threads = [threading.Thread(target=send, args=(code, n)) for n, (code, _t) in enumerate(people)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert len(results) == len(people) and set(results) <= {201, 503}, results
    stored_ok = results.count(201)
    version, rows, _columns = current(app, api_study.study_id)
    assert version == stored_ok and len(rows) == stored_ok
    with app.app_context():
        versions = list(db.session.scalars(select(OutcomeUpload.version).order_by("version")))
    assert versions == list(range(1, stored_ok + 1))
    assert stored_ok == len(people)  # the study's lock orders them: no retry needed
