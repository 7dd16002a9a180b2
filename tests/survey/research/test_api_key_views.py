"""A study's API keys page: the list, the form (all scopes checked, 600 a minute), the key
shown once, errors next to their field, revoking after a confirmation; who may."""

from __future__ import annotations

import re
from html import unescape

import pytest
from sqlalchemy import func, select

from survey.extensions import db
from survey.models import ApiKey, AuditAction, AuditEvent, Study, User
from survey.services import team

OWNER = "researcher@example.org"
KEY_RE = re.compile(r'id="new-api-key"[^>]*value="(iemdp_[A-Za-z0-9_-]+)"')


@pytest.fixture
def study_id(app, researcher_client, make_study, small) -> int:
    info = make_study(small)
    with app.app_context():
        owner = db.session.scalar(select(User).where(User.email == OWNER))
        db.session.get(Study, info.study_id).owner_id = owner.id
        db.session.commit()
    return info.study_id


@pytest.fixture
def make_key(app):
    """``make_key(study_id)`` → (key id, key) of a new read key (committed)."""
    from survey.services import api_keys

    def make(study_id: int) -> tuple[int, str]:
        with app.app_context():
            study = db.session.get(Study, study_id)
            api_key, key = api_keys.create_key(study, name="made", scopes="read", actor=None)
            db.session.commit()
            return api_key.id, key

    return make


def url(study_id: int, rest: str = "") -> str:
    return f"/research/studies/{study_id}/api{rest}"


def key_count(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(ApiKey))


def create(client, study_id: int, **fields):
    data = {"name": "Chat platform", "scopes": ["enrol", "deliver", "outcomes", "read"]}
    data.update({"rate_limit": "600"}, **fields)
    return client.post(url(study_id), data=data)


def test_the_page_offers_every_scope_checked_and_600_a_minute(researcher_client, study_id):
    response = researcher_client.get(url(study_id))
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "no API keys yet" in html
    for scope in ("enrol", "deliver", "outcomes", "read"):
        assert re.search(rf'<input checked[^>]*value="{scope}"', html), scope
    assert re.search(r'name="rate_limit"[^>]*value="600"', html)
    assert 'href="/api/v1/docs"' in html
    assert "Authorization: Bearer" in unescape(html) or "Bearer &lt;key&gt;" in html


def test_a_created_key_is_shown_once_and_works(app, researcher_client, client, study_id):
    response = create(researcher_client, study_id, name="  Chat platform  ")
    assert response.status_code == 200, response.get_data(as_text=True)
    html = response.get_data(as_text=True)
    key = KEY_RE.search(html).group(1)
    assert f"Authorization: Bearer {key}" in html
    assert "shown only this once" in html
    assert (
        client.get("/api/v1/study", headers={"Authorization": f"Bearer {key}"}).status_code == 200
    )
    with app.app_context():
        api_key = db.session.scalars(select(ApiKey)).one()
        assert api_key.name == "Chat platform" and api_key.scopes == "enrol,deliver,outcomes,read"
        assert api_key.rate_limit_per_minute == 600
        assert api_key.created_by.email == OWNER
        event = db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == AuditAction.API_KEY_CREATED)
        ).one()
        assert event.actor_email == OWNER
    listing = researcher_client.get(url(study_id)).get_data(as_text=True)
    assert key[:12] in listing and key not in listing
    assert "Chat platform" in listing and OWNER in listing


def test_some_scopes_and_another_limit(app, researcher_client, study_id):
    response = create(researcher_client, study_id, scopes=["read"], rate_limit="30")
    assert response.status_code == 200
    with app.app_context():
        api_key = db.session.scalars(select(ApiKey)).one()
        assert (api_key.scopes, api_key.rate_limit_per_minute) == ("read", 30)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"name": ""}, "Give the key a name"),
        ({"name": "   "}, "Give the key a name"),
        ({"name": "x" * 101}, "at most 100 characters"),
        ({"scopes": []}, "Choose at least one"),
        ({"scopes": ["read", "admin"]}, "Unknown scope admin"),
        ({"rate_limit": "0"}, "1 to 100000"),
        ({"rate_limit": "many"}, "Not a valid integer"),
        ({"rate_limit": ""}, "whole number"),
    ],
)
def test_errors_are_shown_next_to_the_field_and_nothing_is_made(
    app, researcher_client, study_id, fields, message
):
    response = create(researcher_client, study_id, **fields)
    assert response.status_code == 422
    html = unescape(response.get_data(as_text=True))
    assert re.search(rf'class="field-error">[^<]*{re.escape(message)}', html), html
    assert "iemdp_" not in html
    assert key_count(app) == 0


def test_revoking_asks_first_then_the_key_stops_working(app, researcher_client, client, study_id):
    key = KEY_RE.search(create(researcher_client, study_id).get_data(as_text=True)).group(1)
    with app.app_context():
        key_id = db.session.scalars(select(ApiKey.id)).one()
    revoke_url = url(study_id, f"/keys/{key_id}/revoke")
    listing = researcher_client.get(url(study_id)).get_data(as_text=True)
    assert f'action="{revoke_url}"' in listing
    confirmation = researcher_client.post(revoke_url)
    assert confirmation.status_code == 200
    html = confirmation.get_data(as_text=True)
    assert "stops working at once" in html and 'name="confirm"' in html
    with app.app_context():
        assert db.session.get(ApiKey, key_id).revoked_at is None
    done = researcher_client.post(revoke_url, data={"confirm": "yes"})
    assert done.status_code == 303 and done.headers["Location"].endswith(url(study_id))
    assert (
        client.get("/api/v1/study", headers={"Authorization": f"Bearer {key}"}).status_code == 401
    )
    listing = researcher_client.get(url(study_id)).get_data(as_text=True)
    assert "is revoked" in listing and "Revoked" in listing
    with app.app_context():
        api_key = db.session.get(ApiKey, key_id)
        assert api_key.revoked_by.email == OWNER
        assert (
            db.session.scalar(
                select(func.count())
                .select_from(AuditEvent)
                .where(AuditEvent.action == AuditAction.API_KEY_REVOKED)
            )
            == 1
        )
    again = researcher_client.post(revoke_url, data={"confirm": "yes"})
    assert again.status_code == 303


def test_a_key_of_another_study_cannot_be_revoked_here(
    app, researcher_client, study_id, make_study, small, make_key
):
    other = make_study(small)
    other_key_id, _ = make_key(other.study_id)
    response = researcher_client.post(
        url(study_id, f"/keys/{other_key_id}/revoke"), data={"confirm": "yes"}
    )
    assert response.status_code == 404
    with app.app_context():
        assert db.session.get(ApiKey, other_key_id).revoked_at is None


def test_editors_may_viewers_may_not(app, make_user, login, study_id, make_key):
    key_id, _ = make_key(study_id)
    make_user("editor@example.org")
    make_user("viewer@example.org")
    with app.app_context():
        study = db.session.get(Study, study_id)
        team.grant(study, "editor@example.org", "editor", actor=study.owner)
        team.grant(study, "viewer@example.org", "viewer", actor=study.owner)
        db.session.commit()
    for email, status in (("editor@example.org", 200), ("viewer@example.org", 403)):
        client = app.test_client()
        assert login(client, email).status_code == 302
        assert client.get(url(study_id)).status_code == status, email
        assert create(client, study_id).status_code == status, email
        revoke = client.post(url(study_id, f"/keys/{key_id}/revoke"), data={"confirm": "no"})
        assert revoke.status_code == status, email
    viewer_page = client.get(f"/research/studies/{study_id}").get_data(as_text=True)
    assert url(study_id) not in viewer_page  # no tab for a viewer
    assert key_count(app) == 2  # the fixture's and the editor's
