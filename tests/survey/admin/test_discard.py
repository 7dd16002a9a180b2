"""Discarding a draft asks for confirmation first, like retiring: the editor links to a
confirmation page, and only its POST (with a valid CSRF token) deletes the draft."""

from __future__ import annotations

import re

from sqlalchemy import select

from survey.models import AuditEvent, InstrumentVersion
from survey.services import versions

BASE = "/admin/instruments"
# The account of the ``version_admin`` fixture (tests/survey/admin/conftest.py).
ADMIN_EMAIL = "versions-admin@test.local"
ADMIN_PASSWORD = "a long enough test password"


def draft_exists(db_session, draft_id: int) -> bool:
    db_session.expire_all()
    return db_session.get(InstrumentVersion, draft_id) is not None


def test_the_editor_links_to_a_confirmation_instead_of_discarding(
    db_session, version_admin, console, published
):
    draft, _ = versions.create_draft_from(published, actor=version_admin)
    db_session.commit()
    editor = console.get(f"{BASE}/versions/{draft.id}/edit").get_data(as_text=True)
    discard_url = f"{BASE}/versions/{draft.id}/discard"
    assert f'<form method="post" action="{discard_url}"' not in editor
    assert f'<a href="{discard_url}">Discard this draft…</a>' in editor
    version_page = console.get(f"{BASE}/versions/{draft.id}").get_data(as_text=True)
    assert f'<a href="{discard_url}">Discard…</a>' in version_page

    confirm = console.get(discard_url)
    html = confirm.get_data(as_text=True)
    assert confirm.status_code == 200
    assert "<h1>Discard the draft small 1.0.1</h1>" in html
    assert "cannot be undone" in html
    assert re.search(rf'<form method="post" action="{discard_url}">', html)
    assert "Cancel" in html
    assert console.head(discard_url).status_code == 200
    assert draft_exists(db_session, draft.id)

    response = console.post(discard_url, data={})
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"{BASE}/key/small")
    assert not draft_exists(db_session, draft.id)
    actions = list(db_session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)))
    assert actions[-1] == "draft_discarded"


def test_a_discard_without_the_csrf_token_deletes_nothing(
    make_app, db_session, version_admin, published
):
    from survey.extensions import db

    draft, _ = versions.create_draft_from(published, actor=version_admin)
    db_session.commit()
    draft_id = draft.id
    app = make_app(WTF_CSRF_ENABLED=True)
    client = app.test_client()
    login_page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', login_page).group(1)
    response = client.post(
        "/login", data={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD, "csrf_token": token}
    )
    assert response.status_code == 302
    discard_url = f"{BASE}/versions/{draft_id}/discard"
    assert client.get(discard_url).status_code == 200
    assert client.post(discard_url, data={}).status_code == 400
    with app.app_context():
        assert db.session.get(InstrumentVersion, draft_id) is not None


def test_a_published_version_has_no_discard_page(db_session, console, published):
    response = console.get(f"{BASE}/versions/{published.id}/discard")
    assert response.status_code == 409
    assert "is published: its content never changes" in response.get_data(as_text=True)
