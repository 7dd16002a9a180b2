"""An admin creates a researcher account in a real browser, and logging out ends the session.

The create-user form is submitted as a first-time admin would: the role left at the default
it is rendered with, first a common password (refused, the message next to the password
field, nothing stored), then a strong one. Then the admin logs out, and a browser holding a
copy of the cookies taken before logout is sent to the login page (issue 7, finding 2).
JavaScript is on so that Chromium reports Content-Security-Policy violations on the console;
the pages must cause none.
"""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from survey.extensions import db
from survey.models import User
from tests.browser.staff import log_in

pytestmark = pytest.mark.browser

ADMIN_EMAIL = "admin@demo.local"
ADMIN_PASSWORD = "browser test admin password"
NEW_EMAIL = "new.researcher@example.org"
COMMON_PASSWORD = "password123456"
STRONG_PASSWORD = "lilac tram orbit 42 canvas"
TIMEOUT_MS = 10_000


@pytest.fixture
def admin_context(live_server, browser):
    from survey.services import accounts

    with live_server.app.app_context():
        accounts.set_password(accounts.get_user(ADMIN_EMAIL), ADMIN_PASSWORD, via="test")
        db.session.commit()
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(TIMEOUT_MS)
    try:
        yield context
    finally:
        context.close()


def test_admin_creates_a_researcher_then_logout_ends_the_copied_session(
    live_server, browser, admin_context, artifacts_dir
):
    page = admin_context.new_page()
    console = []
    page.on("console", lambda message: console.append(message.text))

    log_in(page, live_server.base_url, ADMIN_EMAIL, ADMIN_PASSWORD)

    page.get_by_role("link", name="Users").first.click()
    assert page.get_by_role("heading", level=1).inner_text() == "Users"
    assert page.get_by_label("Role").input_value() == "researcher"  # as rendered

    # A common password: refused next to the password field, nothing stored.
    page.get_by_label("E-mail address").fill(NEW_EMAIL)
    page.get_by_label("Initial password").fill(COMMON_PASSWORD)
    page.get_by_label("Repeat the password").fill(COMMON_PASSWORD)
    page.get_by_role("button", name="Create user").click()
    error = page.locator(".field-error")
    assert error.count() == 1
    assert "common" in error.inner_text().lower()
    password_paragraph = page.locator("p", has=page.get_by_label("Initial password"))
    assert password_paragraph.locator(".field-error").count() == 1
    assert page.get_by_label("E-mail address").input_value() == NEW_EMAIL  # kept
    with live_server.app.app_context():
        assert db.session.scalar(select(User).where(User.email == NEW_EMAIL)) is None

    # A strong password: the account exists and is listed.
    page.get_by_label("Initial password").fill(STRONG_PASSWORD)
    page.get_by_label("Repeat the password").fill(STRONG_PASSWORD)
    page.get_by_role("button", name="Create user").click()
    page.wait_for_load_state()
    row = page.locator("tr", has_text=NEW_EMAIL)
    assert row.count() == 1 and "researcher" in row.inner_text()
    with live_server.app.app_context():
        user = db.session.scalar(select(User).where(User.email == NEW_EMAIL))
        assert user is not None and user.role == "researcher" and user.active
    page.screenshot(path=str(artifacts_dir / "admin-users.png"), full_page=True)

    # Copy the cookies, log out, then come back with the copy in a fresh browser context.
    copied = admin_context.storage_state()
    assert any(cookie["name"] == "session" for cookie in copied["cookies"])
    page.get_by_role("button", name=re.compile("log out", re.IGNORECASE)).click()
    page.wait_for_load_state()
    assert "/login" in page.url

    replay = browser.new_context(storage_state=copied)
    try:
        stolen = replay.new_page()
        stolen.goto(f"{live_server.base_url}/admin/users")
        assert "/login" in stolen.url
        assert stolen.get_by_label("Password").count() == 1
    finally:
        replay.close()

    violations = [text for text in console if "Content Security Policy" in text]
    assert not violations, violations
