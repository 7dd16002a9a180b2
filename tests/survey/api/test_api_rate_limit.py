"""Per-key rate limits: a key of 3 requests a minute gets its 4th answered 429 with
Retry-After, before its view runs; other keys are not affected; refused keys do not count."""

from __future__ import annotations

from sqlalchemy import func, select

from survey.api.problems import MEDIA_TYPE
from survey.extensions import db
from survey.models import Participant


def test_the_fourth_request_of_a_key_of_three_a_minute_is_429(app, client, api_study, make_key):
    key_id, key = make_key(api_study.study_id, rate_limit_per_minute=3)
    headers = {"Authorization": f"Bearer {key}"}
    for _ in range(3):
        assert client.get("/api/v1/study", headers=headers).status_code == 200
    response = client.get("/api/v1/study", headers=headers)
    assert response.status_code == 429
    assert response.mimetype == MEDIA_TYPE
    retry_after = int(response.headers["Retry-After"])
    assert 1 <= retry_after <= 60
    problem = response.get_json()
    assert problem["type"].endswith("/rate-limited")
    assert problem["limit_per_minute"] == 3 and problem["retry_after"] == retry_after
    # Another key of the same study has its own budget.
    assert client.get("/api/v1/study", headers=api_study.headers).status_code == 200


def test_a_request_over_the_limit_stores_nothing(app, client, api_study, make_key):
    _key_id, key = make_key(api_study.study_id, rate_limit_per_minute=3)
    headers = {"Authorization": f"Bearer {key}"}
    for number in range(3):
        response = client.post(
            "/api/v1/participants", json={"external_id": f"user-{number}"}, headers=headers
        )
        assert response.status_code == 201
    response = client.post("/api/v1/participants", json={"external_id": "user-4"}, headers=headers)
    assert response.status_code == 429 and "Retry-After" in response.headers
    with app.app_context():
        enrolled = db.session.scalar(
            select(func.count()).select_from(Participant).where(Participant.enrolled_via == "api")
        )
    assert enrolled == 3


def test_every_authenticated_request_counts_and_refused_keys_do_not(
    app, client, api_study, make_key
):
    _key_id, key = make_key(api_study.study_id, scopes=["read"], rate_limit_per_minute=3)
    headers = {"Authorization": f"Bearer {key}"}
    # refused for its scope, still counted: a key cannot probe without limit
    assert client.get("/api/v1/consent", headers=headers).status_code == 403
    assert client.get("/api/v1/participants/P999999", headers=headers).status_code == 404
    for _ in range(5):  # unknown keys are refused before any key's budget is touched
        assert (
            client.get("/api/v1/study", headers={"Authorization": "Bearer iemdp_x"}).status_code
            == 401
        )
    assert client.get("/api/v1/study", headers=headers).status_code == 200
    assert client.get("/api/v1/study", headers=headers).status_code == 429
