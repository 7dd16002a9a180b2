"""The password policy refuses the commonest passwords and the account's own e-mail
address: through the service, the admin form and the CLI, storing nothing."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from survey.auth import passwords, weak_passwords
from survey.extensions import db
from survey.models import AuditEvent, User
from survey.services import accounts

EMAIL = "alice.smith@example.org"
GOOD = "a long enough secret 42"
COMMON = "one of the most common"
OWN_EMAIL = "cannot be the e-mail address"
# (password, why it is refused) for the account EMAIL
WEAK = [
    ("password123456", COMMON),
    ("Password1234", COMMON),
    ("  QWERTYUIOP!!  ", COMMON),
    (EMAIL, OWN_EMAIL),
    ("ALICE.SMITH@EXAMPLE.ORG", OWN_EMAIL),
    ("alice.smith1", OWN_EMAIL),  # the local part padded to 12 characters
    ("Alice.Smith!!", OWN_EMAIL),
]


def counts(app) -> tuple[int, int]:
    with app.app_context():
        return (
            db.session.scalar(select(func.count()).select_from(User)),
            db.session.scalar(select(func.count()).select_from(AuditEvent)),
        )


# -- the policy ------------------------------------------------------------------------------
@pytest.mark.parametrize(("password", "message"), WEAK)
def test_policy_refuses_without_repeating_the_password(password, message):
    with pytest.raises(passwords.WeakPassword, match=message) as info:
        passwords.check_policy(password, email=EMAIL)
    assert password.strip().lower() not in str(info.value).lower()


@pytest.mark.parametrize(
    "password",
    [
        "correct horse battery staple",  # the test suite's staff password
        "a long enough test password",
        "Smith family holidays in Wales",  # the e-mail's words inside a longer passphrase
        "alice.smith.example",
    ],
)
def test_policy_accepts_passphrases(password):
    passwords.check_policy(password, email=EMAIL)


def test_generated_passwords_pass():
    for _ in range(1000):  # `flask demo setup` creates its accounts with these
        passwords.check_policy(passwords.generate_password(), email="admin@demo.local")


def test_the_bundled_list_is_the_commonest_ten_thousand():
    common = weak_passwords.common_passwords()
    assert len(common) == 10_000
    assert {"123456", "password", "qwerty", "iloveyou"} <= common
    assert all(word == word.strip().lower() and word for word in common)


# -- the service -----------------------------------------------------------------------------
@pytest.mark.parametrize(("password", "message"), WEAK)
def test_create_user_refuses_and_stores_nothing(app, password, message):
    with app.app_context():
        with pytest.raises(passwords.WeakPassword, match=message):
            accounts.create_user(EMAIL, password, "researcher")
        db.session.commit()
    assert counts(app) == (0, 0)


@pytest.mark.parametrize(("password", "message"), WEAK)
def test_set_password_refuses_and_keeps_the_old_one(app, password, message):
    with app.app_context():
        user = accounts.create_user(EMAIL, GOOD, "researcher")
        db.session.commit()
        before = (user.password_hash, counts(app))
        with pytest.raises(passwords.WeakPassword, match=message):
            accounts.set_password(user, password)
        db.session.rollback()
        assert (db.session.get(User, user.id).password_hash, counts(app)) == before


# -- the admin form --------------------------------------------------------------------------
@pytest.mark.parametrize(("password", "message"), WEAK)
def test_admin_form_shows_the_message_next_to_the_password(app, admin_client, password, message):
    before = counts(app)
    response = admin_client.post(
        "/admin/users",
        data={"email": EMAIL, "role": "researcher", "password": password, "confirm": password},
    )
    assert response.status_code == 422
    body = response.get_data(as_text=True)
    # The error follows the password input, before the next field's label.
    password_field = re.search(r'id="password".*?<label for="confirm"', body, re.DOTALL)
    assert password_field is not None and message in password_field.group(0)
    email_field = re.search(r'id="email".*?id="role"', body, re.DOTALL)
    assert email_field is not None and "field-error" not in email_field.group(0)
    assert password == EMAIL or password not in body  # the address is in its own field
    assert counts(app) == before


# -- the CLI ---------------------------------------------------------------------------------
@pytest.mark.parametrize(("password", "message"), WEAK)
def test_users_create_refuses(app, runner, password, message):
    result = runner.invoke(
        args=["users", "create", EMAIL, "--role", "researcher"],
        input=f"{password}\n{password}\n",
    )
    assert result.exit_code != 0
    assert "Error: " in result.output and message in result.output
    assert password not in result.output
    assert counts(app) == (0, 0)


@pytest.mark.parametrize(("password", "message"), WEAK)
def test_users_set_password_refuses(app, runner, password, message):
    with app.app_context():
        user = accounts.create_user(EMAIL, GOOD, "researcher")
        db.session.commit()
        before = (user.password_hash, counts(app))
    result = runner.invoke(args=["users", "set-password", EMAIL], input=f"{password}\n{password}\n")
    assert result.exit_code != 0
    assert message in result.output and password not in result.output
    with app.app_context():
        assert (accounts.get_user(EMAIL).password_hash, counts(app)) == before


def test_users_create_asks_again_after_a_weak_password(app, runner):
    result = runner.invoke(
        args=["users", "create", EMAIL, "--role", "researcher"],
        input=f"Password1234\n{GOOD}\n{GOOD}\n",
    )
    assert result.exit_code == 0, result.output
    assert COMMON in result.output
    assert counts(app)[0] == 1
