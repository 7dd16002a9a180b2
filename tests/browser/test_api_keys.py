"""A first-time researcher makes an API key for the demo study, uses it, and revokes it.

Chromium talks to the live app of ``conftest.py``. The owner opens the study's API keys
tab, types a name (the only thing a newcomer must type: every scope starts checked, the
limit at 600 a minute) and submits the form as rendered; the key is shown once, with the
header to send. The test calls the live server with it (urllib, a real HTTP request) and
gets the study; then the owner revokes the key after the confirmation page, and the same
request gets 401. The API's documentation page opens without any script or CSP
violation. Both staff pages fit 360 px.
"""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request

import pytest
from sqlalchemy import select

from survey.extensions import db
from survey.models import ApiKey, Study
from tests.browser.staff import log_in, scroll_width

pytestmark = pytest.mark.browser

OWNER = "researcher@demo.local"
PASSWORD = "api keys walkthrough password 1357"
WIDTH = 360
TIMEOUT_MS = 10_000


@pytest.fixture(scope="module")
def study_id(live_server) -> int:
    from survey.services import accounts

    with live_server.app.app_context():
        accounts.set_password(accounts.get_user(OWNER), PASSWORD, via="test")
        db.session.commit()
        return db.session.scalar(select(Study.id).where(Study.slug == "iemdp-demo"))


@pytest.fixture
def page(live_server, browser):
    context = browser.new_context(viewport={"width": WIDTH, "height": 800})
    context.set_default_timeout(TIMEOUT_MS)
    console: list[str] = []
    page = context.new_page()
    page.on("console", lambda message: console.append(message.text))
    yield page
    context.close()
    violations = [text for text in console if "Content Security Policy" in text]
    assert not violations, violations


def call_api(base_url: str, key: str) -> tuple[int, dict]:
    request = urllib.request.Request(
        f"{base_url}/api/v1/study", headers={"Authorization": f"Bearer {key}"}
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        with error:
            return error.code, json.loads(error.read())


def test_make_use_and_revoke_an_api_key(live_server, page, study_id, artifacts_dir):
    log_in(page, live_server.base_url, OWNER, PASSWORD)
    page.get_by_role("link", name="IEM-DP demo").click()
    page.get_by_role("navigation", name="Study").get_by_role("link", name="API keys").click()
    assert page.url.endswith(f"/research/studies/{study_id}/api")
    assert page.get_by_text("This study has no API keys yet.").is_visible()
    for scope in ("enrol", "deliver", "outcomes", "read"):
        assert page.get_by_label(re.compile(rf"^{scope} —")).is_checked(), scope
    assert page.get_by_label("Rate limit (requests a minute)").input_value() == "600"
    assert scroll_width(page) <= WIDTH, "the API keys page is wider than 360 px"

    page.get_by_label("Name").fill("Chat platform")
    page.get_by_role("button", name="Create key").click()
    page.wait_for_load_state()
    key = page.get_by_label("The key").input_value()
    assert key.startswith("iemdp_")
    assert page.get_by_text(f"Authorization: Bearer {key}").is_visible()
    assert page.get_by_text("shown only this once").first.is_visible()
    assert scroll_width(page) <= WIDTH, "the new key's page is wider than 360 px"
    page.screenshot(path=str(artifacts_dir / "research-api-key-360.png"), full_page=True)

    status, body = call_api(live_server.base_url, key)
    assert status == 200, body
    assert body["study"] == "iemdp-demo" and body["scopes"] == [
        "deliver",
        "enrol",
        "outcomes",
        "read",
    ]

    page.get_by_role("link", name="Back to the API keys").click()
    page.wait_for_load_state()
    page.get_by_role("link", name="the API documentation").first.click()
    page.wait_for_load_state()
    assert page.url.endswith("/api/v1/docs")
    assert page.get_by_role("heading", name="POST /api/v1/participants", exact=True).is_visible()
    page.go_back()
    page.wait_for_load_state()
    row = page.locator("#api-keys tbody tr").first
    assert key[:12] in row.text_content() and key not in page.content()
    page.get_by_role("button", name=re.compile(r"^Revoke iemdp_")).click()
    page.wait_for_load_state()
    assert page.get_by_text("It stops working at once").is_visible()
    page.get_by_role("button", name="Revoke the key").click()
    page.wait_for_load_state()
    assert page.get_by_role("status").filter(has_text="is revoked").is_visible()

    status, body = call_api(live_server.base_url, key)
    assert status == 401 and body["type"].endswith("/key-revoked"), body
    with live_server.app.app_context():
        api_key = db.session.scalars(select(ApiKey).where(ApiKey.study_id == study_id)).one()
        assert api_key.revoked_at is not None and api_key.created_by.email == OWNER
