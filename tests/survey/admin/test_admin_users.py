"""The admin pages for users: list, create, (de)activate."""

from __future__ import annotations

from sqlalchemy import select

from survey.extensions import db
from survey.models import AuditEvent, User

PASSWORD = "a long enough secret 42"


def user_by_email(app, email):
    with app.app_context():
        return db.session.scalar(select(User).where(User.email == email))


def test_dashboard_and_users_page(admin_client):
    assert "audit events" in admin_client.get("/admin/").get_data(as_text=True)
    body = admin_client.get("/admin/users").get_data(as_text=True)
    assert "Create a user" in body
    assert 'href="/admin/instruments/"' in body  # the nav reaches the instrument pages


def test_admin_creates_a_user_who_can_log_in(app, admin_client, login):
    response = admin_client.post(
        "/admin/users",
        data={
            "email": "New@Example.org",
            "role": "researcher",
            "password": PASSWORD,
            "confirm": PASSWORD,
        },
    )
    assert response.status_code == 302
    page = admin_client.get("/admin/users").get_data(as_text=True)
    assert "User new@example.org (researcher) created." in page
    user = user_by_email(app, "new@example.org")
    assert user.role == "researcher"
    with app.app_context():
        event = db.session.scalar(
            select(AuditEvent).where(
                AuditEvent.action == "user_created", AuditEvent.target_id == str(user.id)
            )
        )
        assert event.actor.role == "admin"
    assert login(app.test_client(), "new@example.org", PASSWORD).status_code == 302


def test_create_user_errors_are_shown_and_nothing_is_stored(app, admin_client):
    response = admin_client.post(
        "/admin/users",
        data={"email": "x@example.org", "role": "admin", "password": "short", "confirm": "short"},
    )
    assert response.status_code == 422
    assert "A password needs 12 to 1000 characters." in response.get_data(as_text=True)
    response = admin_client.post(
        "/admin/users",
        data={
            "email": "x@example.org",
            "role": "admin",
            "password": PASSWORD,
            "confirm": PASSWORD + "!",
        },
    )
    assert response.status_code == 422
    assert "The two passwords differ." in response.get_data(as_text=True)
    response = admin_client.post(
        "/admin/users",
        data={"email": "no-address", "role": "admin", "password": PASSWORD, "confirm": PASSWORD},
    )
    assert response.status_code == 422
    assert "is not an e-mail address" in response.get_data(as_text=True)
    assert user_by_email(app, "x@example.org") is None


def test_deactivate_and_activate(app, admin_client, make_user, login):
    user_id = make_user("r@example.org")
    response = admin_client.post(f"/admin/users/{user_id}/active", data={"active": "0"})
    assert response.status_code == 302
    assert login(app.test_client(), "r@example.org").status_code == 200
    admin_client.post(f"/admin/users/{user_id}/active", data={"active": "1"})
    assert login(app.test_client(), "r@example.org").status_code == 302
    with app.app_context():
        actions = db.session.scalars(
            select(AuditEvent.action).where(AuditEvent.target_id == str(user_id))
        ).all()
    assert "user_deactivated" in actions and "user_activated" in actions
    assert admin_client.post("/admin/users/999999/active", data={"active": "0"}).status_code == 404
    assert admin_client.post(f"/admin/users/{user_id}/active", data={}).status_code == 400


def test_an_admin_cannot_deactivate_themself(app, admin_client):
    with app.app_context():
        admin = db.session.scalar(select(User).where(User.role == "admin"))
    admin_client.post(f"/admin/users/{admin.id}/active", data={"active": "0"})
    assert admin_client.get("/admin/").status_code == 200
    assert user_by_email(app, admin.email).active


def test_researchers_cannot_manage_users(app, researcher_client):
    assert researcher_client.get("/admin/users").status_code == 403
    response = researcher_client.post(
        "/admin/users",
        data={"email": "x@example.org", "role": "admin", "password": PASSWORD, "confirm": PASSWORD},
    )
    assert response.status_code == 403
    assert user_by_email(app, "x@example.org") is None
