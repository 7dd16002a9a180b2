"""Password hashing (argon2id) and the accounts service; no plaintext anywhere."""

from __future__ import annotations

import logging

import pytest
from argon2 import PasswordHasher, profiles
from sqlalchemy import select, text

from survey.auth import passwords
from survey.extensions import db
from survey.models import AuditEvent, User
from survey.services import accounts

PASSWORD = "a long enough secret 42"


def test_hash_is_argon2id_and_verifies(app):
    with app.app_context():
        hashed = passwords.hash_password(PASSWORD)
        assert hashed.startswith("$argon2id$")
        assert PASSWORD not in hashed
        assert passwords.verify_password(hashed, PASSWORD)
        assert not passwords.verify_password(hashed, PASSWORD + "x")
        assert not passwords.verify_password("not a hash", PASSWORD)
        assert not passwords.needs_rehash(hashed)


def test_default_profile_is_rfc_9106(make_app):
    app = make_app(PASSWORD_HASH_PROFILE=None)
    with app.app_context():
        hashed = passwords.hash_password(PASSWORD)
    assert hashed.startswith("$argon2id$v=19$m=65536,t=3,p=4$")


@pytest.mark.parametrize(
    ("password", "message"),
    [
        ("short pass", "at least 12 characters"),
        (" " * 12, "only spaces"),
        ("x" * 1001, "at most 1000"),
    ],
)
def test_password_policy(password, message):
    with pytest.raises(passwords.WeakPassword, match=message) as info:
        passwords.check_policy(password)
    assert password.strip() == "" or password not in str(info.value)


def test_create_user_stores_only_the_hash_and_audits(app):
    with app.app_context():
        user = accounts.create_user(" New@Example.ORG ", PASSWORD, "researcher")
        db.session.commit()
        assert user.email == "new@example.org"
        assert user.password_hash.startswith("$argon2id$")
        (event,) = db.session.scalars(select(AuditEvent)).all()
        assert (event.action, event.target_type, event.target_id) == (
            "user_created",
            "user",
            str(user.id),
        )
        assert event.details == {"email": "new@example.org", "role": "researcher", "via": "web"}


@pytest.mark.parametrize(
    ("email", "role", "password", "error"),
    [
        ("not-an-address", "researcher", PASSWORD, accounts.InvalidEmail),
        ("a@example.org", "superuser", PASSWORD, accounts.UnknownRole),
        ("a@example.org", "admin", "too short", passwords.WeakPassword),
        ("TAKEN@example.org", "admin", PASSWORD, accounts.DuplicateEmail),
    ],
)
def test_create_user_refuses(app, email, role, password, error):
    with app.app_context():
        accounts.create_user("taken@example.org", PASSWORD, "admin")
        with pytest.raises(error):
            accounts.create_user(email, password, role)
        assert len(accounts.list_users()) == 1


def test_email_is_unique_case_insensitively_in_the_database(app):
    from sqlalchemy.exc import IntegrityError

    with app.app_context():
        db.session.add(User(email="x@example.org", password_hash="h", role="admin"))
        db.session.add(User(email="X@EXAMPLE.org", password_hash="h", role="admin"))
        with pytest.raises(IntegrityError):
            db.session.flush()
        db.session.rollback()


def test_role_is_checked_by_the_database(app):
    from sqlalchemy.exc import IntegrityError

    with app.app_context():
        db.session.add(User(email="x@example.org", password_hash="h", role="root"))
        with pytest.raises(IntegrityError):
            db.session.flush()
        db.session.rollback()


def test_login_replaces_an_outdated_hash(app):
    with app.app_context():
        user = accounts.create_user("r@example.org", PASSWORD, "researcher")
        old = PasswordHasher.from_parameters(profiles.RFC_9106_LOW_MEMORY).hash(PASSWORD)
        user.password_hash = old
        db.session.commit()
        assert passwords.needs_rehash(old)  # the app's profile differs (CHEAPEST in tests)
        assert accounts.authenticate("r@example.org", PASSWORD) is user
        assert user.password_hash != old
        assert passwords.verify_password(user.password_hash, PASSWORD)
        assert not passwords.needs_rehash(user.password_hash)


def test_admin_cannot_deactivate_themself(app):
    with app.app_context():
        admin = accounts.create_user("a@example.org", PASSWORD, "admin")
        with pytest.raises(accounts.AccountError):
            accounts.set_active(admin, False, actor=admin)


def test_audit_details_refuse_anything_named_password(app):
    from survey.services import audit

    with app.app_context(), pytest.raises(ValueError, match="password"):
        audit.record("x", actor=None, target_type="user", details={"new_password": "…"})


def test_no_plaintext_password_in_database_audit_or_logs(app, client, runner, login, caplog):
    secrets = ["first secret password 1", "second secret password 2", "wrong guess password 3"]
    caplog.set_level(logging.DEBUG)
    result = runner.invoke(
        args=["users", "create", "a@example.org", "--role", "admin"],
        input=f"{secrets[0]}\n{secrets[0]}\n",
    )
    assert result.exit_code == 0, result.output
    result = runner.invoke(
        args=["users", "set-password", "a@example.org"], input=f"{secrets[1]}\n{secrets[1]}\n"
    )
    assert result.exit_code == 0, result.output
    assert login(client, "a@example.org", secrets[2]).status_code == 200
    assert login(client, "a@example.org", secrets[1]).status_code == 302
    response = client.get("/admin/audit.csv")
    assert response.status_code == 200

    with app.app_context():
        dump = []
        for table in db.metadata.sorted_tables:
            for row in db.session.execute(text(f"SELECT * FROM {table.name}")):
                dump.append(repr(tuple(row)))
    everything = "\n".join([*dump, caplog.text, result.output, response.get_data(as_text=True)])
    assert "a@example.org" in everything  # the dump did see the data
    for secret in secrets:
        assert secret not in everything
