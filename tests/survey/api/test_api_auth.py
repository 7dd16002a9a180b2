"""Keys on /api/v1: missing, malformed, unknown, revoked, wrong scope; the OpenAPI document."""

from __future__ import annotations

from survey.api.problems import MEDIA_TYPE


def test_a_key_reads_its_study(client, api_study):
    response = client.get("/api/v1/study", headers=api_study.headers)
    assert response.status_code == 200, response.get_data(as_text=True)
    body = response.get_json()
    assert body["study"] == api_study.slug
    assert body["scopes"] == ["deliver", "enrol", "outcomes", "read"]
    assert api_study.key not in response.get_data(as_text=True)
    assert body["key"] == api_study.key[:12]


def test_no_key_unknown_key_and_wrong_scheme_are_401_problems(client, api_study):
    for headers in (
        {},
        {"Authorization": "Bearer iemdp_not-a-key"},
        {"Authorization": f"Basic {api_study.key}"},
        {"Authorization": "Bearer "},
    ):
        response = client.get("/api/v1/study", headers=headers)
        assert response.status_code == 401, headers
        assert response.mimetype == MEDIA_TYPE
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
        problem = response.get_json()
        assert problem["status"] == 401 and problem["type"].endswith("/unauthorized")


def test_a_revoked_key_is_refused(app, client, api_study):
    from survey.extensions import db
    from survey.models import ApiKey
    from survey.services import api_keys

    with app.app_context():
        assert api_keys.revoke(db.session.get(ApiKey, api_study.key_id), actor=None)
        db.session.commit()
    response = client.get("/api/v1/study", headers=api_study.headers)
    assert response.status_code == 401
    assert response.get_json()["type"].endswith("/key-revoked")


def test_the_openapi_document_is_3_1_and_public(client):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    document = response.get_json()
    assert document["openapi"] == "3.1.0"
    assert "/api/v1/study" in document["paths"]
