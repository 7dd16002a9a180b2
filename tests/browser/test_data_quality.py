"""A first-time researcher checks the data quality of the demo study (issue 9, part 3).

The demo study gets 150 simulated participants (``flask demo simulate``, as an operator
would run it). The researcher opens Data quality from the study's tabs, opens a flagged
session, excludes it with a reason, includes it again, changes a rule's threshold with the
form as rendered and sees the count change. Every form is submitted once, as it comes, with
only the field a newcomer would type into changed. At 360 px no page scrolls sideways.
"""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from survey.extensions import db
from survey.models import SessionExclusion, Study
from tests.browser.conftest import DEMO_SLUG, run_flask
from tests.browser.staff import log_in, scroll_width

pytestmark = pytest.mark.browser

RESEARCHER_EMAIL = "researcher@demo.local"
RESEARCHER_PASSWORD = "browser data quality researcher password"
TIMEOUT_MS = 20_000


@pytest.fixture(scope="module")
def study_id(live_server) -> int:
    from survey.services import accounts

    run_flask(
        live_server.cli_env,
        "demo",
        "simulate",
        DEMO_SLUG,
        "--participants",
        "150",
        "--waves",
        "1",
        "--seed",
        "9",
    )
    with live_server.app.app_context():
        accounts.set_password(accounts.get_user(RESEARCHER_EMAIL), RESEARCHER_PASSWORD, via="test")
        db.session.commit()
        return db.session.scalar(select(Study.id).where(Study.slug == DEMO_SLUG))


def _count(page, rule: str) -> int:
    return int(page.locator(f'tr[data-rule="{rule}"] td.num').first.inner_text())


def _exclusion_rows(live_server) -> int:
    with live_server.app.app_context():
        return db.session.scalar(select(func.count()).select_from(SessionExclusion))


def test_exclude_a_flagged_session_include_it_again_and_change_a_rule(
    live_server, browser, study_id, artifacts_dir
):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    try:
        log_in(page, live_server.base_url, RESEARCHER_EMAIL, RESEARCHER_PASSWORD)
        page.goto(f"{live_server.base_url}/research/studies/{study_id}")
        page.get_by_role("navigation", name="Study").get_by_role(
            "link", name="Data quality"
        ).click()
        page.wait_for_load_state()
        assert page.get_by_role("heading", name="Data quality", exact=True).is_visible()
        assert page.get_by_text("longest run of identical answers ≥ 10").is_visible()
        assert page.get_by_label("Show").input_value() == "flagged"  # the default, as rendered
        flagged = _count(page, "any")
        assert flagged > 0
        assert page.get_by_text(re.compile(r"Analyses and exports leave out 0 of \d+")).is_visible()
        page.screenshot(path=str(artifacts_dir / "research-quality-1280.png"), full_page=True)

        # The first flagged session.
        first = page.locator("table.quality-sessions tbody tr").first
        code = first.locator("td").first.locator("a").inner_text().strip()
        first.locator("td").first.locator("a").click()
        page.wait_for_load_state()
        assert page.get_by_role("heading", name=re.compile(f"Session of {code}")).is_visible()
        assert page.locator("td[data-flag] strong", has_text="flagged").count() >= 1
        assert page.get_by_text("Never excluded.").is_visible()

        # Exclude it with a reason.
        page.get_by_label("Reason").fill("Straight answers throughout; flagged by the rules.")
        page.get_by_role("button", name="Exclude this session").click()
        page.wait_for_load_state()
        state = page.locator("#session-state")
        assert "Excluded" in state.inner_text()
        assert "Straight answers throughout" in state.inner_text()
        history = page.locator("table.exclusion-history tbody tr")
        assert history.count() == 1 and "in force" in history.first.inner_text()
        assert RESEARCHER_EMAIL in history.first.inner_text()
        assert _exclusion_rows(live_server) == 1

        # Include it again, with a reason; the history keeps both.
        page.get_by_label("Reason").fill("Checked by hand: a real, attentive participant.")
        page.get_by_role("button", name="Include it again").click()
        page.wait_for_load_state()
        assert "Included" in page.locator("#session-state").inner_text()
        row = page.locator("table.exclusion-history tbody tr").first
        assert "Checked by hand" in row.inner_text() and "in force" not in row.inner_text()
        assert _exclusion_rows(live_server) == 1  # lifted, not deleted

        # Change a threshold with the rules form as rendered.
        page.get_by_role("link", name="Back to data quality").last.click()
        page.wait_for_load_state()
        before = _count(page, "longstring")
        page.get_by_role("link", name="Change the rules").click()
        page.wait_for_load_state()
        threshold = page.get_by_label("Longest run of identical answers at least")
        assert threshold.input_value() == "10"
        assert page.get_by_label("Flag straight-lining").is_checked()
        threshold.fill("4")
        page.get_by_role("button", name="Save the rules").click()
        page.wait_for_load_state()
        assert page.get_by_text("Rules saved.").is_visible()
        assert page.get_by_text("longest run of identical answers ≥ 4").is_visible()
        assert _count(page, "longstring") > before
        assert _count(page, "any") >= flagged
        page.screenshot(path=str(artifacts_dir / "research-quality-rules-changed.png"))
    finally:
        context.close()


def test_the_pages_fit_a_phone(live_server, browser, study_id):
    context = browser.new_context(viewport={"width": 360, "height": 800})
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    try:
        log_in(page, live_server.base_url, RESEARCHER_EMAIL, RESEARCHER_PASSWORD)
        base = f"{live_server.base_url}/research/studies/{study_id}/quality"
        page.goto(base)
        assert scroll_width(page) <= 360
        href = page.locator("table.quality-sessions tbody a").first.get_attribute("href")
        page.goto(f"{live_server.base_url}{href}")
        assert scroll_width(page) <= 360
        page.goto(f"{base}/rules")
        assert scroll_width(page) <= 360
    finally:
        context.close()
