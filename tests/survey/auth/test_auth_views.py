"""/login and /logout: success, failure, rate limit, CSRF, cookies, sessions."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from survey import create_app
from survey.config import DevelopmentConfig, ProductionConfig
from survey.extensions import db
from survey.models import AuditEvent, User

PASSWORD = "correct horse battery staple"


def events(app, action=None):
    with app.app_context():
        query = select(AuditEvent).order_by(AuditEvent.id)
        if action:
            query = query.where(AuditEvent.action == action)
        return db.session.scalars(query).all()


def test_login_page(client):
    response = client.get("/login")
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    assert 'name="email"' in body and 'type="password"' in body
    assert response.headers["Cache-Control"] == "no-store"


@pytest.mark.parametrize(("role", "home"), [("researcher", "/research/"), ("admin", "/admin/")])
def test_login_success_goes_home_and_is_audited(app, client, make_user, login, role, home):
    user_id = make_user("Someone@Example.org", role)
    response = login(client, "  SOMEONE@example.org ")
    assert response.status_code == 302
    assert response.headers["Location"] == home
    assert client.get(home).status_code == 200
    (event,) = events(app, "login")
    assert (event.actor_id, event.actor_email, event.target_id) == (
        user_id,
        "someone@example.org",
        str(user_id),
    )
    with app.app_context():
        assert db.session.get(User, user_id).last_login_at is not None


def test_login_follows_a_local_next_only(client, make_user, login):
    make_user("r@example.org")
    response = client.get("/research/studies/new")
    assert response.status_code == 302
    assert response.headers["Location"] == "/login?next=/research/studies/new"
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert 'value="/research/studies/new"' in page
    response = client.post(
        "/login", data={"email": "r@example.org", "password": PASSWORD, "next": "/research/"}
    )
    assert response.headers["Location"] == "/research/"
    client.post("/logout")
    for evil in ("https://evil.example/", "//evil.example/x", "/\\evil.example"):
        response = client.post(
            "/login", data={"email": "r@example.org", "password": PASSWORD, "next": evil}
        )
        assert response.headers["Location"] == "/research/", evil
        client.post("/logout")


def test_site_root_sends_staff_home_and_everyone_else_to_login(
    client, researcher_client, admin_client
):
    assert client.get("/").headers["Location"] == "/login"
    assert researcher_client.get("/").headers["Location"] == "/research/"
    assert admin_client.get("/").headers["Location"] == "/admin/"


def test_logged_in_user_opening_login_goes_home(researcher_client):
    response = researcher_client.get("/login")
    assert response.status_code == 302
    assert response.headers["Location"] == "/research/"


@pytest.mark.parametrize("email", ["r@example.org", "nobody@example.org"])
def test_failed_login_is_audited_without_the_password(app, client, make_user, login, email):
    user_id = make_user("r@example.org")
    response = login(client, email, "wrong password 123")
    assert response.status_code == 200
    assert "The e-mail address or the password is not right." in response.get_data(as_text=True)
    assert "wrong password 123" not in response.get_data(as_text=True)
    (event,) = events(app, "login_failed")
    assert event.actor_id is None
    assert event.actor_email == email
    assert event.details["email"] == email
    if email == "r@example.org":
        assert (event.target_id, event.details["reason"]) == (str(user_id), "wrong_password")
    else:
        assert (event.target_id, event.details["reason"]) == (None, "unknown_email")
    assert "wrong password 123" not in repr(event.details)
    assert client.get("/research/").status_code == 302


def test_inactive_user_cannot_log_in(app, client, make_user, login):
    user_id = make_user("r@example.org")
    with app.app_context():
        db.session.get(User, user_id).active = False
        db.session.commit()
    assert login(client, "r@example.org").status_code == 200
    assert events(app, "login_failed")[0].details["reason"] == "inactive"


def test_an_empty_form_is_refused(client):
    assert client.post("/login", data={}).status_code == 400


def test_failed_attempts_are_rate_limited_per_email(app, client, make_user, login):
    make_user("r@example.org")
    make_user("other@example.org")
    for _ in range(5):
        assert login(client, "r@example.org", "not the password!").status_code == 200
    response = login(client, "r@example.org")  # even the right password: paused
    assert response.status_code == 429
    assert "Too many failed attempts" in response.get_data(as_text=True)
    assert response.headers["Retry-After"]
    assert client.get("/research/").status_code == 302
    # Another address from the same machine is not locked out by them.
    assert login(client, "other@example.org").status_code == 302
    # Blocked attempts record nothing (no audit flood): five failures and one login.
    assert len(events(app, "login_failed")) == 5
    assert len(events(app, "login")) == 1


def test_failures_per_remote_address_are_limited_too(make_app, make_user, login):
    app = make_app(LOGIN_FAILURE_LIMIT_PER_ADDRESS="3 per 15 minutes")
    client = app.test_client()
    from flask_migrate import upgrade

    with app.app_context():
        upgrade()
    for n in range(3):
        assert login(client, f"guess{n}@example.org", "not the password!").status_code == 200
    assert login(client, "guess9@example.org", "not the password!").status_code == 429


def test_successful_logins_do_not_count(client, make_user, login):
    make_user("r@example.org")
    for _ in range(8):
        assert login(client, "r@example.org").status_code == 302
        client.post("/logout")


def test_logout_ends_the_session_and_is_audited(app, researcher_client):
    response = researcher_client.post("/logout")
    assert response.status_code == 302
    assert response.headers["Location"] == "/login"
    assert researcher_client.get("/research/").status_code == 302
    assert [event.action for event in events(app)][-1] == "logout"


def test_logout_needs_post(researcher_client):
    assert researcher_client.get("/logout").status_code == 405
    assert researcher_client.get("/research/").status_code == 200


def test_a_new_password_ends_existing_sessions(app, researcher_client):
    from survey.services import accounts

    with app.app_context():
        accounts.set_password(accounts.get_user("researcher@example.org"), "another good password")
        db.session.commit()
    assert researcher_client.get("/research/").status_code == 302


def test_deactivation_ends_existing_sessions(app, researcher_client):
    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == "researcher@example.org"))
        user.active = False
        db.session.commit()
    assert researcher_client.get("/research/").status_code == 302


# -- CSRF ------------------------------------------------------------------------------------
@pytest.fixture
def csrf_app(make_migrated_app):
    app = make_migrated_app(WTF_CSRF_ENABLED=True)
    return app


def csrf_token(html: str) -> str:
    match = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html) or re.search(
        r'name="csrf_token" value="([^"]+)"', html
    )
    assert match, html
    return match.group(1)


def test_login_without_csrf_token_is_refused(csrf_app):
    from survey.services import accounts

    with csrf_app.app_context():
        accounts.create_user("r@example.org", PASSWORD, "researcher")
        db.session.commit()
    client = csrf_app.test_client()
    response = client.post("/login", data={"email": "r@example.org", "password": PASSWORD})
    assert response.status_code == 400
    assert client.get("/research/").status_code == 302
    token = csrf_token(client.get("/login").get_data(as_text=True))
    response = client.post(
        "/login", data={"email": "r@example.org", "password": PASSWORD, "csrf_token": token}
    )
    assert response.status_code == 302
    assert client.get("/research/").status_code == 200
    # Logging out needs the token too (no cross-site logout).
    assert client.post("/logout").status_code == 400
    assert client.get("/research/").status_code == 200
    page = client.get("/research/").get_data(as_text=True)
    assert client.post("/logout", data={"csrf_token": csrf_token(page)}).status_code == 302
    assert client.get("/research/").status_code == 302


# -- cookies ---------------------------------------------------------------------------------
def session_cookie_header(app, login_response) -> str:
    cookies = login_response.headers.getlist("Set-Cookie")
    (header,) = [c for c in cookies if c.startswith(app.config["SESSION_COOKIE_NAME"] + "=")]
    return header


@pytest.mark.parametrize("secure", [True, False])
def test_session_cookie_flags(make_app, login, secure):
    from flask_migrate import upgrade

    from survey.services import accounts

    config = ProductionConfig if secure else DevelopmentConfig
    app = make_app(
        SESSION_COOKIE_SECURE=config.SESSION_COOKIE_SECURE,
        REMEMBER_COOKIE_SECURE=config.REMEMBER_COOKIE_SECURE,
    )
    with app.app_context():
        upgrade()
        accounts.create_user("r@example.org", PASSWORD, "researcher")
        db.session.commit()
    client = app.test_client()
    header = session_cookie_header(app, login(client, "r@example.org"))
    assert "HttpOnly" in header
    assert "SameSite=Lax" in header
    assert ("Secure" in header) is secure


def test_configurations_set_secure_cookies_outside_development(tmp_path, monkeypatch):
    for name in ("SURVEY_CONFIG", "DATABASE_URL", "SECRET_KEY"):
        monkeypatch.delenv(name, raising=False)
    development = create_app(instance_path=str(tmp_path))
    assert development.config["SESSION_COOKIE_SECURE"] is False
    monkeypatch.setenv("SURVEY_CONFIG", "production")
    monkeypatch.setenv("SECRET_KEY", "k" * 32)  # production refuses to start without one
    monkeypatch.setenv("SURVEY_EXTERNAL_ID_KEY", "e" * 64)  # nor without this one
    production = create_app(instance_path=str(tmp_path))
    for app in (development, production):
        assert app.config["SESSION_COOKIE_HTTPONLY"] is True
        assert app.config["SESSION_COOKIE_SAMESITE"] == "Lax"
        assert app.config["REMEMBER_COOKIE_HTTPONLY"] is True
        assert app.config["REMEMBER_COOKIE_SAMESITE"] == "Lax"
        assert app.config["MAX_CONTENT_LENGTH"] == 16 * 1024 * 1024
    assert production.config["SESSION_COOKIE_SECURE"] is True
    assert production.config["REMEMBER_COOKIE_SECURE"] is True
    monkeypatch.setenv("SURVEY_CONFIG", "staging")
    with pytest.raises(RuntimeError, match="SURVEY_CONFIG"):
        create_app(instance_path=str(tmp_path))


def test_rate_limit_storage_follows_redis_url(tmp_path, monkeypatch):
    for name in ("SURVEY_CONFIG", "DATABASE_URL", "SECRET_KEY", "SURVEY_RATELIMIT_STORAGE_URI"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("REDIS_URL", raising=False)
    assert create_app(instance_path=str(tmp_path)).config["RATELIMIT_STORAGE_URI"] == "memory://"
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:6399/0")
    app = create_app(instance_path=str(tmp_path))
    assert app.config["RATELIMIT_STORAGE_URI"] == "redis://127.0.0.1:6399/0"
