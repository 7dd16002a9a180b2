"""The demo researcher shares the demo study with a colleague as viewer (issue 8, item 7).

Chromium talks to the live app of ``conftest.py`` (a database made by ``flask demo
setup``). The accounts are made through the accounts service in the live server's app
context, as an admin's users page would; everything else goes through the pages: the
owner opens the study's Team tab and submits the share form once with its defaults as
rendered (the role radio starts at "viewer"), the viewer logs in and sees the study page
with no buttons that change anything, and a third researcher gets 403. Both staff pages
fit 360 px; no Content-Security-Policy violation (the funnel is an inline SVG).
"""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from survey.extensions import db
from survey.models import AuditAction, AuditEvent, Study, StudyMember
from tests.browser.staff import log_in, scroll_width

pytestmark = pytest.mark.browser

OWNER = "researcher@demo.local"
VIEWER = "colleague.viewer@example.org"
THIRD = "third.researcher@example.org"
PASSWORD = "team walkthrough password 2468"
WIDTH = 360
TIMEOUT_MS = 10_000


@pytest.fixture(scope="module")
def study_id(live_server) -> int:
    from survey.services import accounts

    with live_server.app.app_context():
        accounts.set_password(accounts.get_user(OWNER), PASSWORD, via="test")
        for email in (VIEWER, THIRD):
            accounts.create_user(email, PASSWORD, "researcher", via="test")
        db.session.commit()
        return db.session.scalar(select(Study.id).where(Study.slug == "iemdp-demo"))


@pytest.fixture
def open_as(live_server, browser, artifacts_dir):
    """``open_as(email, width)`` → a logged-in page; CSP violations are collected."""
    contexts = []
    console: list[str] = []

    def open_page(email: str, width: int = WIDTH):
        context = browser.new_context(viewport={"width": width, "height": 800})
        context.set_default_timeout(TIMEOUT_MS)
        contexts.append(context)
        page = context.new_page()
        page.on("console", lambda message: console.append(message.text))
        log_in(page, live_server.base_url, email, PASSWORD)
        return page

    yield open_page
    for context in contexts:
        context.close()
    violations = [text for text in console if "Content Security Policy" in text]
    assert not violations, violations


def fits(page) -> bool:
    return scroll_width(page) <= WIDTH


def test_share_with_a_viewer_who_sees_but_cannot_change(
    live_server, open_as, study_id, artifacts_dir
):
    owner = open_as(OWNER)
    owner.get_by_role("link", name="IEM-DP demo").click()
    assert owner.url.endswith(f"/research/studies/{study_id}")
    assert owner.locator("svg[role=img] title").first.text_content().startswith("Drop-off")
    assert fits(owner), "the study page is wider than 360 px"
    owner.screenshot(path=str(artifacts_dir / "research-study-360.png"), full_page=True)
    owner.get_by_role("navigation", name="Study").get_by_role("link", name="Team").click()
    assert owner.url.endswith(f"/research/studies/{study_id}/team")
    assert owner.get_by_label("Viewer: sees, exports and analyses").is_checked()
    owner.get_by_label("E-mail address of the researcher").fill(VIEWER)
    owner.get_by_role("button", name="Share").click()
    owner.wait_for_load_state()
    assert owner.get_by_role("status").inner_text() == f"Shared with {VIEWER} as viewer."
    members = owner.locator("#members")
    assert VIEWER in members.inner_text() and "viewer" in members.inner_text()
    assert fits(owner), "the team page is wider than 360 px"
    owner.screenshot(path=str(artifacts_dir / "research-team-360.png"), full_page=True)
    with live_server.app.app_context():
        member = db.session.scalar(select(StudyMember).where(StudyMember.study_id == study_id))
        assert (member.user.email, member.role, member.revoked_at) == (VIEWER, "viewer", None)
        event = db.session.scalar(
            select(AuditEvent).where(AuditEvent.action == AuditAction.MEMBER_GRANTED)
        )
        assert event.details == {"email": VIEWER, "role": "viewer"}

    viewer = open_as(VIEWER, 1280)
    row = viewer.get_by_role("row", name=re.compile("IEM-DP demo"))
    assert "shared with you (viewer)" in row.inner_text()
    row.get_by_role("link", name="IEM-DP demo").click()
    assert viewer.url.endswith(f"/research/studies/{study_id}")
    assert viewer.get_by_role("heading", name="Safety alerts").is_visible()
    # Nothing on the page changes the study: no form but the header's log-out one.
    assert viewer.locator("main form").count() == 0
    tabs = viewer.get_by_role("navigation", name="Study").inner_text()
    assert "Team" not in tabs and "Settings" not in tabs and "Overview" in tabs
    viewer.screenshot(path=str(artifacts_dir / "research-study-viewer-1280.png"), full_page=True)
    response = viewer.goto(f"{live_server.base_url}/research/studies/{study_id}/team")
    assert response is not None and response.status == 403

    third = open_as(THIRD)
    assert "IEM-DP demo" not in third.locator("main").inner_text()
    response = third.goto(f"{live_server.base_url}/research/studies/{study_id}")
    assert response is not None and response.status == 403
    assert "Your account does not give access to this page." in third.content()
