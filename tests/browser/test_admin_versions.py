"""An admin makes IEM-DP 1.1.0 from 1.0.0 in a real browser: reword one item, publish, diff.

Chromium (JavaScript off: the console is plain HTML forms) talks to the live app of
``conftest.py``, whose database was made by ``flask demo setup``. The demo admin's
password is printed only once by that command, so the test gives the demo admin a known
password through the accounts service, then logs in through the login form like anyone.
"""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from instruments.loader import parse_definition
from survey.extensions import db
from survey.models import AuditEvent, InstrumentVersion, VersionStatus
from tests.browser.staff import log_in

pytestmark = pytest.mark.browser

ADMIN_EMAIL = "admin@demo.local"
ADMIN_PASSWORD = "browser test admin password"
ITEM_ID = "OE_BEN_1"
OLD_TEXT = "I expect messaging with my therapist to help me feel better."
NEW_TEXT = "I expect writing to my therapist to help me feel better."
TIMEOUT_MS = 10_000
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
def admin_page(live_server, browser):
    from survey.services import accounts

    with live_server.app.app_context():
        accounts.set_password(accounts.get_user(ADMIN_EMAIL), ADMIN_PASSWORD, via="test")
        db.session.commit()
    context = browser.new_context(
        viewport={"width": 1280, "height": 900}, java_script_enabled=False
    )
    context.set_default_timeout(TIMEOUT_MS)
    try:
        yield context.new_page()
    finally:
        context.close()


def test_admin_makes_1_1_0_rewords_an_item_publishes_and_sees_the_diff(
    live_server, admin_page, artifacts_dir
):
    page = admin_page
    log_in(page, live_server.base_url, ADMIN_EMAIL, ADMIN_PASSWORD)

    # IEM-DP 1.0.0 in the instrument list.
    page.goto(f"{live_server.base_url}/admin/instruments/")
    page.get_by_role("link", name="1.0.0", exact=True).click()
    assert page.get_by_role("heading", level=1).inner_text().endswith("1.0.0 published")

    # New version from this one: the console offers 1.1.0 for a minor change.
    page.get_by_role("link", name="New version from this one").click()
    page.get_by_label(re.compile(r"^1\.1\.0 \(minor")).check()
    page.get_by_role("button", name="Create the draft").click()
    assert "Draft 1.1.0 created from 1.0.0" in page.locator(".notice").inner_text()

    # Reword one item in the draft editor.
    page.get_by_role("link", name=f"Edit item {ITEM_ID}").click()
    text = page.get_by_label("Item text")
    assert text.input_value() == OLD_TEXT
    text.fill(NEW_TEXT)
    page.get_by_role("button", name="Save item").click()
    assert f"Saved: item {ITEM_ID}." in page.locator(".notice").inner_text()

    # Publish: the proposal is 1.1.0 (minor), with the rewording as the reason.
    page.get_by_role("link", name="Publish…").first.click()
    assert (
        "Proposed version: 1.1.0 (minor)" in page.get_by_role("heading", level=2).first.inner_text()
    )
    assert f"minor: item {ITEM_ID} reworded" in page.content()
    assert page.get_by_label("Version number").input_value() == "1.1.0"
    page.get_by_role("button", name="Publish").click()
    assert "Published iemdp 1.1.0" in page.locator(".notice").inner_text()
    assert page.get_by_role("heading", level=1).inner_text().endswith("1.1.0 published")

    # The diff 1.0.0 -> 1.1.0 shows the reworded item word by word.
    page.get_by_role("link", name="Changes since 1.0.0").click()
    row = page.locator("table.diff tbody tr")
    assert row.count() == 1
    assert row.locator("td").first.inner_text() == ITEM_ID
    assert row.locator("del").all_inner_texts() == ["messaging with"]
    assert row.locator("ins").all_inner_texts() == ["writing to"]
    assert "71 of 72 items" in page.locator("main").inner_text()

    screenshot = artifacts_dir / "admin_versions_diff.png"
    page.screenshot(path=str(screenshot), full_page=True)
    data = screenshot.read_bytes()
    assert data.startswith(PNG_SIGNATURE) and len(data) > 5000

    with live_server.app.app_context():
        stored = db.session.scalar(
            select(InstrumentVersion).where(InstrumentVersion.version == "1.1.0")
        )
        assert stored.status == VersionStatus.PUBLISHED
        assert stored.content_hash == parse_definition(stored.content, "check").content_hash
        actions = list(
            db.session.scalars(
                select(AuditEvent.action)
                .where(
                    AuditEvent.target_type == "instrument_version",
                    AuditEvent.target_id == str(stored.id),
                )
                .order_by(AuditEvent.id)
            )
        )
        assert actions == ["draft_created", "draft_edited", "version_published"]
