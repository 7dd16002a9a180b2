"""A researcher sets a longitudinal study up from the browser (issue 8, items 1-3).

Chromium talks to the live app of ``conftest.py`` (a database made by ``flask demo
setup``: IEM-DP 1.0.0 and the demo researcher) on a 360 px wide phone, as a newcomer
would: every form is submitted once, with its defaults as rendered, typing only what a
researcher has to type.

- the demo researcher imports the mood screener (a comparator instrument) through the form;
- creates a study with the IEM-DP and the mood screener: the first submit succeeds;
- adds the waves "Week 4" (28 days after enrolment, for 14 days) and "Week 8" (56, 14);
- opens the study; every page fits 360 px; screenshots are kept.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from sqlalchemy import select

from survey.extensions import db
from survey.models import AuditEvent, Study, StudyStatus, WaveStatus
from tests.browser.staff import log_in, scroll_width

pytestmark = pytest.mark.browser

RESEARCHER_EMAIL = "researcher@demo.local"
RESEARCHER_PASSWORD = "browser set-up researcher password"
MOOD_SCREENER = Path(__file__).parents[1] / "fixtures" / "instruments" / "mood_screener.yaml"
WIDTH = 360
TIMEOUT_MS = 10_000
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def researcher_password(live_server):
    from survey.services import accounts

    with live_server.app.app_context():
        accounts.set_password(accounts.get_user(RESEARCHER_EMAIL), RESEARCHER_PASSWORD, via="test")
        db.session.commit()
    return RESEARCHER_PASSWORD


@pytest.fixture
def phone(live_server, browser, researcher_password):
    """The demo researcher, logged in through the login form, on a 360 px wide screen."""
    context = browser.new_context(viewport={"width": WIDTH, "height": 740})
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    log_in(page, live_server.base_url, RESEARCHER_EMAIL, researcher_password)
    try:
        yield page
    finally:
        context.close()


def newest_iemdp(live_server) -> str:
    """The newest IEM-DP version the demo database has (the one a new study starts with)."""
    from instruments.versioning import parse_version
    from survey.services import versions

    with live_server.app.app_context():
        numbers = [v.version for v in versions.find_instrument("iemdp").versions]
    return max(numbers, key=lambda number: parse_version(number).precedence)


def fits(page) -> None:
    width = scroll_width(page)
    assert width <= WIDTH, f"{page.url} is {width} px wide"


def test_a_researcher_sets_up_a_longitudinal_study(live_server, phone, artifacts_dir):
    page = phone
    # Import the comparator instrument through the form.
    page.goto(f"{live_server.base_url}/research/")
    page.get_by_role("link", name="New study").click()
    fits(page)
    page.get_by_role("link", name="import an instrument").or_(
        page.get_by_role("link", name="imported")
    ).first.click()
    assert page.get_by_role("heading", level=1).inner_text() == "Import an instrument"
    fits(page)
    page.get_by_label("File", exact=True).set_input_files(str(MOOD_SCREENER))
    page.get_by_role("button", name="Import and publish").click()
    page.wait_for_load_state()
    assert page.url.endswith("/research/studies/new")
    assert "Imported and published Mood screener" in page.locator(".notice").inner_text()

    # The new-study form: the newest IEM-DP is the first instrument, as rendered.
    first = page.get_by_label("First instrument")
    newest = newest_iemdp(live_server)
    assert first.locator("option:checked").inner_text().startswith(f"iemdp {newest} – ")
    assert page.locator("select[size]").count() == 0
    page.get_by_label("Name", exact=True).fill("IEM-DP longitudinal validation")
    page.get_by_label("Then (2nd instrument)").select_option(
        label="mood_screener 1.0.0 – Mood screener (test fixture)"
    )
    page.get_by_label("Consent text", exact=True).fill(
        "You are invited to answer questions about your therapy at four times.\n\n"
        "If you stop taking part, the answers you have already given are kept and used in "
        "the study's analyses."
    )
    page.get_by_label("Study-team contact (shown on every participant page)").fill(
        "IEM-DP study team, study-team@clinic.example"
    )
    fits(page)
    page.screenshot(path=str(artifacts_dir / "research-new-study-360.png"), full_page=True)
    page.get_by_role("button", name="Create study").click()
    page.wait_for_load_state()
    assert re.search(r"/research/studies/\d+/waves$", page.url), page.url
    assert "as a draft" in page.locator(".notice").first.inner_text()
    study_id = int(re.search(r"/studies/(\d+)/", page.url).group(1))

    # Two more waves, relative to each participant's enrolment (the default schedule).
    for label, offset, window in (("Week 4", "28", "14"), ("Week 8", "56", "14")):
        page.get_by_label("Label", exact=True).fill(label)
        page.get_by_label("Opens this many days after enrolment").fill(offset)
        page.get_by_label("Open for this many days (optional)").fill(window)
        page.get_by_role("button", name="Add the wave").click()
        page.wait_for_load_state()
        assert f"Added the wave {label}" in page.locator(".notice").first.inner_text()
    table = page.locator("table.data").inner_text()
    assert "opens at enrolment, with no end" in table
    assert "opens 28 days after enrolment, for 14 days" in table
    assert "opens 56 days after enrolment, for 14 days" in table
    fits(page)
    page.screenshot(path=str(artifacts_dir / "research-waves-360.png"), full_page=True)

    # Open the study.
    page.get_by_role("button", name="Open the study").click()
    page.wait_for_load_state()
    assert page.url.endswith(f"/research/studies/{study_id}/settings")
    assert page.get_by_role("heading", name="Status: open").is_visible()
    assert "Frozen since the study opened" in page.content()
    fits(page)
    screenshot = artifacts_dir / "research-settings-open-360.png"
    page.screenshot(path=str(screenshot), full_page=True)
    data = screenshot.read_bytes()
    assert data.startswith(PNG_SIGNATURE) and len(data) > 5000

    with live_server.app.app_context():
        study = db.session.get(Study, study_id)
        assert study.status == StudyStatus.OPEN
        assert study.slug == "iem-dp-longitudinal-validation"
        assert study.owner.email == RESEARCHER_EMAIL
        assert [f"{v.instrument.key} {v.version}" for v in study.instrument_versions] == [
            f"iemdp {newest}",
            "mood_screener 1.0.0",
        ]
        assert [(w.label, w.offset_days, w.window_days, w.status) for w in study.waves] == [
            ("Baseline", 0, None, WaveStatus.OPEN),
            ("Week 4", 28, 14, WaveStatus.OPEN),
            ("Week 8", 56, 14, WaveStatus.OPEN),
        ]
        actions = list(
            db.session.scalars(
                select(AuditEvent.action)
                .where(AuditEvent.target_type == "study", AuditEvent.target_id == str(study_id))
                .order_by(AuditEvent.id)
            )
        )
        assert actions == ["study_created", "wave_added", "wave_added", "study_status_changed"]
