"""Sessions end on the server: a session cookie copied before logout, a new password or a
deactivation opens nothing afterwards.

The session names the user's session token (``users.session_token``), one per user: logging
out anywhere ends the user's sessions everywhere.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select

from survey.extensions import db
from survey.models import Study, User

RESEARCHER = "researcher@example.org"


def copy_of_session(app, client):
    """A new test client holding a copy of ``client``'s session cookie (as a thief would)."""
    name = app.config["SESSION_COOKIE_NAME"]
    cookie = client.get_cookie(name)
    assert cookie is not None, "the client is not logged in"
    thief = app.test_client()
    thief.set_cookie(name, cookie.value)
    return thief


def user_id(app, email: str = RESEARCHER) -> int:
    with app.app_context():
        return db.session.scalar(select(User.id).where(User.email == email))


@pytest.fixture
def own_study(app, researcher_client, make_study, small) -> int:
    """The id of a study owned by the logged-in researcher."""
    study_id = make_study(small).study_id
    with app.app_context():
        study = db.session.get(Study, study_id)
        study.owner_id = user_id(app)
        db.session.commit()
    return study_id


def assert_sent_to_login(response) -> None:
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login")


def test_a_cookie_copied_before_logout_opens_nothing_after_it(app, researcher_client, own_study):
    export = f"/research/studies/{own_study}/answers.csv"
    thief = copy_of_session(app, researcher_client)
    assert thief.get("/research/").status_code == 200  # the copy works while logged in
    assert thief.get(export).status_code == 200

    assert researcher_client.post("/logout").status_code == 302

    assert_sent_to_login(thief.get("/research/"))
    assert_sent_to_login(thief.get(export))


def test_logout_ends_every_session_of_the_user(app, researcher_client, login):
    laptop = researcher_client
    phone = app.test_client()
    assert login(phone, RESEARCHER).status_code == 302
    assert phone.get("/research/").status_code == 200

    laptop.post("/logout")

    assert_sent_to_login(phone.get("/research/"))
    # Logging in again starts a session that works, and leaves the old ones ended.
    assert login(laptop, RESEARCHER).status_code == 302
    assert laptop.get("/research/").status_code == 200
    assert_sent_to_login(phone.get("/research/"))


def test_logging_in_does_not_end_other_sessions(app, researcher_client, login):
    phone = app.test_client()
    assert login(phone, RESEARCHER).status_code == 302
    assert researcher_client.get("/research/").status_code == 200


def test_a_new_password_from_the_cli_ends_copied_sessions(app, researcher_client, runner):
    thief = copy_of_session(app, researcher_client)
    new_password = "a different good passphrase"
    result = runner.invoke(
        args=["users", "set-password", RESEARCHER], input=f"{new_password}\n{new_password}\n"
    )
    assert result.exit_code == 0, result.output

    assert_sent_to_login(thief.get("/research/"))
    assert_sent_to_login(researcher_client.get("/research/"))


def test_a_new_password_from_the_service_ends_sessions(app, researcher_client):
    from survey.services import accounts

    thief = copy_of_session(app, researcher_client)
    with app.app_context():
        accounts.set_password(accounts.get_user(RESEARCHER), "another good password")
        db.session.commit()
    assert_sent_to_login(thief.get("/research/"))


def test_deactivation_ends_copied_sessions_for_good(app, researcher_client, admin_client, login):
    thief = copy_of_session(app, researcher_client)
    url = f"/admin/users/{user_id(app)}/active"

    assert admin_client.post(url, data={"active": "0"}).status_code == 302
    assert_sent_to_login(thief.get("/research/"))

    # Reactivation lets the user log in again, but does not revive the sessions it ended.
    assert admin_client.post(url, data={"active": "1"}).status_code == 302
    assert_sent_to_login(thief.get("/research/"))
    assert_sent_to_login(researcher_client.get("/research/"))
    assert login(researcher_client, RESEARCHER).status_code == 302
    assert researcher_client.get("/research/").status_code == 200


@pytest.mark.parametrize("suffix", ["", ":", ":not-the-token", ":" + "0" * 64])
def test_a_session_naming_another_token_is_anonymous(app, researcher_client, suffix):
    with app.app_context():
        from survey.auth.access import load_user

        uid = user_id(app)
        assert load_user(f"{uid}{suffix}") is None
        user = load_user(db.session.get(User, uid).get_id())
        assert user is not None and user.id == uid
