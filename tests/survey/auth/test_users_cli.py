"""`flask users create|set-password|list` and the demo accounts of `flask demo setup`."""

from __future__ import annotations

import re

from sqlalchemy import select

from survey.extensions import db
from survey.models import AuditEvent, Study, User

PASSWORD = "a long enough secret 42"
DEMO_LOGIN = re.compile(
    r"^(Admin|Researcher) login: (http://\S+/login)  (\S+@demo\.local) / (\S+)$", re.MULTILINE
)


def users(app):
    with app.app_context():
        return {u.email: (u.role, u.password_hash) for u in db.session.scalars(select(User))}


def test_create_prompts_twice_for_a_hidden_password(app, runner, client, login):
    result = runner.invoke(
        args=["users", "create", "Boss@Example.org", "--role", "admin"],
        input=f"{PASSWORD}\n{PASSWORD}\n",
    )
    assert result.exit_code == 0, result.output
    assert "Password:" in result.output and "Repeat the password:" in result.output
    assert PASSWORD not in result.output  # hidden input is not echoed
    assert "Created admin boss@example.org." in result.output
    role, password_hash = users(app)["boss@example.org"]
    assert role == "admin" and password_hash.startswith("$argon2id$")
    assert login(client, "boss@example.org", PASSWORD).headers["Location"] == "/admin/"
    with app.app_context():
        event = db.session.scalar(select(AuditEvent))
        assert (event.action, event.actor_id, event.details["via"]) == ("user_created", None, "cli")


def test_create_asks_again_for_a_short_or_mismatched_password(app, runner):
    result = runner.invoke(
        args=["users", "create", "r@example.org", "--role", "researcher"],
        input=f"short\n{PASSWORD}\nsomething else!!\n{PASSWORD}\n{PASSWORD}\n",
    )
    assert result.exit_code == 0, result.output
    assert "at least 12 characters" in result.output
    assert "do not match" in result.output
    assert users(app)["r@example.org"][0] == "researcher"


def test_create_refuses_a_duplicate_email_before_asking(app, runner):
    runner.invoke(
        args=["users", "create", "r@example.org", "--role", "researcher"],
        input=f"{PASSWORD}\n{PASSWORD}\n",
    )
    result = runner.invoke(args=["users", "create", "R@example.org", "--role", "admin"])
    assert result.exit_code == 1
    assert "a user with the e-mail address 'r@example.org' exists" in result.output
    assert "flask users set-password r@example.org" in result.output
    assert "Password:" not in result.output
    assert users(app)["r@example.org"][0] == "researcher"


def test_create_refuses_a_bad_role_and_a_bad_email(app, runner):
    result = runner.invoke(args=["users", "create", "r@example.org", "--role", "root"])
    assert result.exit_code == 2
    assert "'root' is not one of 'admin', 'researcher'" in result.output
    result = runner.invoke(args=["users", "create", "r@example.org"])
    assert result.exit_code == 2
    assert "Missing option '--role'" in result.output
    result = runner.invoke(args=["users", "create", "nobody", "--role", "admin"])
    assert result.exit_code == 1
    assert "is not an e-mail address" in result.output
    assert users(app) == {}


def test_set_password_and_list(app, runner, client, login):
    runner.invoke(
        args=["users", "create", "r@example.org", "--role", "researcher"],
        input=f"{PASSWORD}\n{PASSWORD}\n",
    )
    new = "a brand new passphrase"
    result = runner.invoke(args=["users", "set-password", "r@example.org"], input=f"{new}\n{new}\n")
    assert result.exit_code == 0, result.output
    assert login(client, "r@example.org", PASSWORD).status_code == 200
    assert login(client, "r@example.org", new).status_code == 302
    result = runner.invoke(args=["users", "set-password", "nobody@example.org"])
    assert result.exit_code == 1
    assert "no user with the e-mail address" in result.output
    result = runner.invoke(args=["users", "list"])
    assert result.output == "r@example.org\tresearcher\tactive\n"


def test_demo_setup_prints_the_demo_logins_once(app, runner):
    first = runner.invoke(args=["demo", "setup"])
    assert first.exit_code == 0, first.output
    logins = {m.group(3): m for m in DEMO_LOGIN.finditer(first.output)}
    assert set(logins) == {"admin@demo.local", "researcher@demo.local"}
    assert logins["admin@demo.local"].group(1) == "Admin"
    assert logins["admin@demo.local"].group(2) == "http://localhost/login"

    for email, expected_home in (
        ("admin@demo.local", "/admin/"),
        ("researcher@demo.local", "/research/"),
    ):
        client = app.test_client()
        response = client.post("/login", data={"email": email, "password": logins[email].group(4)})
        assert response.headers["Location"] == expected_home
    with app.app_context():
        study = db.session.scalar(select(Study))
        assert study.owner.email == "researcher@demo.local"

    second = runner.invoke(args=["demo", "setup"])
    assert second.exit_code == 0, second.output
    assert not DEMO_LOGIN.search(second.output)
    for match in logins.values():
        assert match.group(4) not in second.output
    assert "admin@demo.local exists already" in second.output
    assert "flask users set-password researcher@demo.local" in second.output
    assert len(users(app)) == 2
