"""Idempotency-Key on POST /participants/{p}/answers (and outcomes): a retry is answered
from the record, never done twice; the same key with other content is a 409."""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator

import pytest
from sqlalchemy import func, select
from werkzeug.serving import make_server

from survey.extensions import db
from survey.models import Answer, AuditAction, AuditEvent, IdempotencyRecord
from tests.survey.api.test_api_delivery import answers_url, consented, problem, stored


def count(app, model, *where) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model).where(*where))


def saved_events(app) -> int:
    return count(app, AuditEvent, AuditEvent.action == AuditAction.API_ANSWERS_SAVED)


def send(client, api_study, code, answers, key, **kwargs):
    return client.post(
        answers_url(code),
        json={"answers": [{"item_id": i, "value": v} for i, v in answers]},
        headers=api_study.headers | {"Idempotency-Key": key},
        **kwargs,
    )


def test_a_retry_gets_the_stored_answer_and_writes_nothing(app, client, api_study):
    [(code, _token)] = consented(app, api_study.study_id)
    first = send(client, api_study, code, [("AA_S_1", 2)], "key-1")
    assert first.status_code == 200 and "Idempotent-Replayed" not in first.headers
    with app.app_context():
        updated = db.session.scalar(select(Answer.updated_at))
    retry = send(client, api_study, code, [("AA_S_1", 2)], "key-1")
    assert retry.status_code == 200
    assert retry.headers["Idempotent-Replayed"] == "true"
    assert retry.get_json() == first.get_json()
    assert saved_events(app) == 1
    assert count(app, IdempotencyRecord) == 1
    with app.app_context():
        record = db.session.scalar(select(IdempotencyRecord))
        assert record.api_key_id == api_study.key_id and record.response_status == 200
        assert record.path == answers_url(code) and record.method == "POST"
        assert db.session.scalar(select(Answer.updated_at)) == updated
    # the replay is the first answer even after the participant moved on
    send(client, api_study, code, [("AA_S_2", 3)], "key-2")
    again = send(client, api_study, code, [("AA_S_1", 2)], "key-1")
    assert again.get_json() == first.get_json()
    assert again.get_json()["next"]["items"][0]["item_id"] == "AA_S_2"


def test_the_same_content_in_another_key_order_or_spacing_is_a_replay(app, client, api_study):
    [(code, _token)] = consented(app, api_study.study_id)
    headers = api_study.headers | {"Idempotency-Key": "k"}
    first = client.post(
        answers_url(code), json={"answers": [{"item_id": "AA_S_1", "value": 2}]}, headers=headers
    )
    retry = client.post(
        answers_url(code),
        data='{ "answers" : [ { "value" : 2, "item_id" : "AA_S_1" } ] }',
        content_type="application/json",
        headers=headers,
    )
    assert retry.headers.get("Idempotent-Replayed") == "true"
    assert retry.get_json() == first.get_json()


def test_the_same_key_with_other_content_is_409_and_changes_nothing(app, client, api_study):
    [(code, _token)] = consented(app, api_study.study_id)
    send(client, api_study, code, [("AA_S_1", 2)], "key-1")
    other = send(client, api_study, code, [("AA_S_1", 3)], "key-1")
    body = problem(other, 409, "idempotency-conflict")
    assert "another request" in body["detail"]
    assert stored(app, code) == {"AA_S_1": (2, "chat")}
    # another path (or query) under the same key is another request too
    problem(
        send(client, api_study, code, [("AA_S_1", 2)], "key-1", query_string={"limit": 2}),
        409,
        "idempotency-conflict",
    )
    outcomes = client.post(
        f"/api/v1/participants/{code}/outcomes",
        json={"recorded_on": "2026-11-30", "values": {"messages_sent": 1}},
        headers=api_study.headers | {"Idempotency-Key": "key-1"},
    )
    problem(outcomes, 409, "idempotency-conflict")
    assert saved_events(app) == 1


def test_keys_are_per_study(app, client, api_study, make_study, make_key, small):
    other = make_study(small)
    _key_id, other_key = make_key(other.study_id)
    [(code, _token)] = consented(app, api_study.study_id)
    [(other_code, _token)] = consented(app, other.study_id)
    send(client, api_study, code, [("AA_S_1", 2)], "shared")
    response = client.post(
        answers_url(other_code),
        json={"answers": [{"item_id": "AA_S_1", "value": 3}]},
        headers={"Authorization": f"Bearer {other_key}", "Idempotency-Key": "shared"},
    )
    assert response.status_code == 200 and "Idempotent-Replayed" not in response.headers
    assert count(app, IdempotencyRecord) == 2


@pytest.mark.parametrize("key", ["x" * 256, "two words", "tab\there", "ü-key"])
def test_a_malformed_key_is_422_and_nothing_is_stored(app, client, api_study, key):
    [(code, _token)] = consented(app, api_study.study_id)
    response = client.post(
        answers_url(code),
        json={"answers": [{"item_id": "AA_S_1", "value": 2}]},
        headers=api_study.headers | {"Idempotency-Key": key.encode("utf-8").decode("latin-1")},
    )
    body = problem(response, 422, "invalid-idempotency-key")
    assert body["errors"][0]["field"] == "Idempotency-Key"
    assert stored(app, code) == {} and count(app, IdempotencyRecord) == 0


def test_a_refused_request_keeps_no_record_and_its_key_can_be_used_again(app, client, api_study):
    [(code, _token)] = consented(app, api_study.study_id)
    problem(send(client, api_study, code, [("AA_S_1", 9)], "key-1"), 422, "invalid-input")
    assert count(app, IdempotencyRecord) == 0
    fixed = send(client, api_study, code, [("AA_S_1", 2)], "key-1")
    assert fixed.status_code == 200 and "Idempotent-Replayed" not in fixed.headers
    assert stored(app, code) == {"AA_S_1": (2, "chat")}


def test_without_a_key_a_repeat_is_done_again(app, client, api_study):
    [(code, _token)] = consented(app, api_study.study_id)
    for _ in range(2):
        response = client.post(
            answers_url(code),
            json={"answers": [{"item_id": "AA_S_1", "value": 2}]},
            headers=api_study.headers,
        )
        assert response.status_code == 200
    assert saved_events(app) == 2 and count(app, IdempotencyRecord) == 0
    assert count(app, Answer) == 1  # the answer itself is an upsert


# -- two simultaneous requests with one key, over real HTTP -------------------------------
@pytest.fixture
def live_url(app) -> Iterator[str]:
    """The app served by werkzeug on a free loopback port (one thread per request)."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="api-live", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def http_post(url: str, body: dict, headers: dict[str, str]) -> tuple[int, dict, dict]:
    request = urllib.request.Request(
        url,
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json", **headers},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, dict(response.headers), json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), json.loads(error.read())


def test_simultaneous_requests_with_one_key_write_once(app, api_study, live_url):
    rounds = 4
    people = consented(app, api_study.study_id, rounds)
    for number, (code, _token) in enumerate(people):
        body = {"answers": [{"item_id": "AA_S_1", "value": 2}, {"item_id": "AA_S_2", "value": 3}]}
        headers = api_study.headers | {"Idempotency-Key": f"race-{number}"}
        barrier = threading.Barrier(2)
        results: list[tuple[int, dict, dict]] = []

        def post(body=body, headers=headers, code=code, barrier=barrier, results=results):
            barrier.wait()
            results.append(http_post(live_url + answers_url(code), body, headers))

        threads = [threading.Thread(target=post) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        statuses = sorted(status for status, _h, _b in results)
        assert statuses == [200, 200], results
        (_s1, h1, b1), (_s2, h2, b2) = results
        assert b1 == b2
        replayed = [h.get("Idempotent-Replayed") for h in (h1, h2)]
        assert sorted(map(str, replayed)) == ["None", "true"], replayed
        assert stored(app, code) == {"AA_S_1": (2, "chat"), "AA_S_2": (3, "chat")}
    assert saved_events(app) == rounds
    assert count(app, IdempotencyRecord) == rounds
