"""A first-time researcher adds a webhook endpoint for the demo study from the browser and
sees a participant's completed session delivered (issue 12, part 3).

Chromium talks to the live app of ``conftest.py``. The endpoint is a real HTTP receiver
in this test (127.0.0.1, which the app accepts over plain http only with
``WEBHOOKS_ALLOW_HTTP_LOCALHOST``, set on the live app for this module). The researcher
opens the study's Webhooks tab, types the URL into the form as rendered (every event
ticked by default) and copies the secret shown once; a participant completes the
baseline; the receiver checks the delivery's signature with that secret, and the
delivery log shows it delivered.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import select

from survey import jobs
from survey.extensions import db
from survey.models import Study
from tests.browser.staff import log_in
from tests.survey.webhooks.conftest import complete_wave
from tests.survey.webhooks.receiver import Receiver, running_receiver

pytestmark = pytest.mark.browser

RESEARCHER_EMAIL = "researcher@demo.local"
RESEARCHER_PASSWORD = "browser webhooks researcher password"
TIMEOUT_MS = 10_000


@pytest.fixture(scope="module")
def study_id(live_server) -> int:
    from survey.services import accounts

    with live_server.app.app_context():
        accounts.set_password(accounts.get_user(RESEARCHER_EMAIL), RESEARCHER_PASSWORD, via="test")
        db.session.commit()
        return db.session.scalar(select(Study.id).where(Study.slug == "iemdp-demo"))


@pytest.fixture
def local_http(live_server) -> Iterator[None]:
    config = live_server.app.config
    before = config.get("WEBHOOKS_ALLOW_HTTP_LOCALHOST")
    config["WEBHOOKS_ALLOW_HTTP_LOCALHOST"] = True
    yield
    config["WEBHOOKS_ALLOW_HTTP_LOCALHOST"] = before


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with running_receiver() as running:
        yield running


def test_add_an_endpoint_and_see_a_completed_session_delivered(
    live_server, browser, study_id, local_http, receiver, artifacts_dir
):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    try:
        log_in(page, live_server.base_url, RESEARCHER_EMAIL, RESEARCHER_PASSWORD)
        page.goto(f"{live_server.base_url}/research/studies/{study_id}")
        page.get_by_role("navigation", name="Study").get_by_role("link", name="Webhooks").click()
        page.wait_for_load_state()
        assert page.get_by_role("heading", name="Webhooks").is_visible()
        assert page.get_by_text("No endpoint yet.").is_visible()
        boxes = page.get_by_role("checkbox")
        assert boxes.count() == 4
        assert all(boxes.nth(n).is_checked() for n in range(4))

        page.get_by_label("Endpoint URL").fill(receiver.url)
        page.get_by_role("button", name="Add endpoint").click()
        page.wait_for_load_state()
        assert page.get_by_role("heading", name="Endpoint added").is_visible()
        secret = page.get_by_label("Signing secret").input_value()
        assert secret.startswith("whsec_")
        page.screenshot(path=str(artifacts_dir / "webhooks-added.png"), full_page=True)
        receiver.secret = secret

        token = live_server.add_participant()
        with live_server.app.app_context():
            session_id = complete_wave(token)
            db.session.remove()
        assert jobs.wait_idle(live_server.app)
        completed = receiver.of_type("session.completed")
        assert len(completed) == 1, [r.rejection for r in receiver.requests]
        assert completed[0].verified["data"]["session"] == session_id
        assert all(r.rejection is None for r in receiver.requests)

        page.get_by_role("link", name="Back to the webhooks").click()
        page.wait_for_load_state()
        log = page.get_by_role("region", name="Delivery log")
        row = log.get_by_role("row").filter(has_text="session.completed")
        assert row.count() == 1
        assert "delivered" in row.inner_text() and "HTTP 200" in row.inner_text()
        endpoints = page.get_by_role("region", name="Endpoints")
        assert receiver.url in endpoints.inner_text() and "active" in endpoints.inner_text()
        page.screenshot(path=str(artifacts_dir / "webhooks-log.png"), full_page=True)
    finally:
        context.close()
