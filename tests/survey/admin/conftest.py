"""Fixtures for the instrument-version tests: an admin (``version_admin``) and ``console``
(``published`` is in tests/survey/conftest.py)."""

from __future__ import annotations

import pytest

ADMIN_EMAIL = "versions-admin@test.local"
ADMIN_PASSWORD = "a long enough test password"


@pytest.fixture
def version_admin(db_session):
    from survey.services import accounts

    user = accounts.create_user(ADMIN_EMAIL, ADMIN_PASSWORD, "admin", via="test")
    db_session.commit()
    return user


@pytest.fixture
def console(client, version_admin):
    """The test client, logged in as ``version_admin`` through the login form."""
    response = client.post("/login", data={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD})
    assert response.status_code == 302, response.get_data(as_text=True)
    return client
