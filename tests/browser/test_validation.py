"""A first-time researcher validates the demo study from its page (issue 10).

The demo study gets 150 simulated participants over two waves with the flagged sessions
excluded (``flask demo simulate ... --exclude-flagged``, as an operator would run it). The
researcher opens the study, clicks Validate, submits the form as it comes (all waves,
excluded sessions left out, seed 1), watches the progress page until it turns into the
report by itself (it reloads itself; no script), checks the COSMIN table, the fit table
and that a plot loads, downloads the HTML report and finds nothing in it that would reach
the internet, and states a hypothesis (after a mistyped one is explained next to the
field). At 360 px the pages do not scroll sideways.
"""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from survey import jobs
from survey.extensions import db
from survey.models import Study, ValidationRun
from tests.browser.conftest import DEMO_SLUG, run_flask
from tests.browser.staff import log_in, scroll_width

pytestmark = pytest.mark.browser

DEMO_IEMDP_VERSION = "1.1.0"  # the demo's default: the version the simulation is built on
RESEARCHER_EMAIL = "researcher@demo.local"
RESEARCHER_PASSWORD = "browser validation researcher password"
TIMEOUT_MS = 20_000
REPORT_TIMEOUT_MS = 120_000  # the whole battery on 150 x 2 (a few seconds on a quiet machine)


@pytest.fixture(scope="module")
def study_id(live_server):
    from survey.services import accounts

    run_flask(
        live_server.cli_env,
        "demo",
        "simulate",
        DEMO_SLUG,
        "--participants",
        "150",
        "--waves",
        "2",
        "--seed",
        "3",
        "--exclude-flagged",
    )
    with live_server.app.app_context():
        accounts.set_password(accounts.get_user(RESEARCHER_EMAIL), RESEARCHER_PASSWORD, via="test")
        db.session.commit()
        study = db.session.scalar(select(Study.id).where(Study.slug == DEMO_SLUG))
    yield study
    assert jobs.shutdown(live_server.app, timeout=120)


def _stored_run(live_server) -> ValidationRun:
    with live_server.app.app_context():
        (run,) = db.session.scalars(select(ValidationRun))
        db.session.expunge(run)
        return run


def test_validate_the_demo_study_read_the_report_download_it_and_state_a_hypothesis(
    live_server, browser, study_id, artifacts_dir, tmp_path
):
    context = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    try:
        log_in(page, live_server.base_url, RESEARCHER_EMAIL, RESEARCHER_PASSWORD)
        page.goto(f"{live_server.base_url}/research/studies/{study_id}")
        page.get_by_role("link", name="Validate", exact=True).click()
        page.wait_for_load_state()
        assert page.get_by_role("heading", name="Run a validation").is_visible()
        # The form as rendered: nothing chosen by the test.
        assert page.get_by_label("Wave").input_value() == ""
        assert not page.get_by_label("Include excluded sessions").is_checked()
        assert page.get_by_label("Seed").input_value() == "1"
        page.get_by_role("button", name="Validate", exact=True).click()
        page.wait_for_load_state()

        # The progress page, which reloads itself until the report is there.
        assert re.search(r"/validation/runs/\d+$", page.url)
        progress = page.locator("progress#run-progress")
        assert progress.is_visible()
        page.screenshot(path=str(artifacts_dir / "research-validation-progress.png"))
        report_heading = page.get_by_role("heading", name=re.compile(r"^Validation report, run"))
        report_heading.wait_for(timeout=REPORT_TIMEOUT_MS)
        run = _stored_run(live_server)
        assert run.status == "done" and page.url.endswith(f"/validation/runs/{run.id}")
        assert page.locator("progress").count() == 0

        # The COSMIN summary and the fit of the first-order model, as stored.
        cosmin = page.locator("table#i1-cosmin tbody tr")
        assert cosmin.count() == len(run.report["instruments"][0]["cosmin"]["rows"]) == 8
        assert cosmin.first.locator("th").inner_text() == "Structural validity"
        cfi = run.report["first_order"]["cutoffs"]["cfi"]["value"]
        cfi_row = page.locator('table#i1-first-order-fit tr[data-measure="cfi"]')
        assert f"{cfi:.3f}" in cfi_row.inner_text()
        # judged on the robust (else the scaled) CFI of the WLSMV fit, named as lavaan names
        # it; the scaled chi-square beside the standard one; why there are no modification
        # indices
        judged = run.report["first_order"]["cutoffs"]["cfi"]["measure"]
        assert run.report["first_order"]["estimator"] == "WLSMV"
        assert judged in ("cfi.robust", "cfi.scaled")
        assert judged in cfi_row.inner_text()
        assert "scaled χ²" in page.locator("#i1-first-order-measures").inner_text()
        assert page.locator("#i1-first-order-mi-absent").is_visible()

        # A plot loads (an <img> of its SVG, drawn by the browser).
        loadings = page.locator('img[src$="/plots/i1-loadings.svg"]')
        loadings.scroll_into_view_if_needed()
        assert "loadings" in loadings.get_attribute("alt").lower()
        page.wait_for_function(
            "image => image.complete && image.naturalWidth > 0",
            arg=loadings.element_handle(),
        )
        page.screenshot(path=str(artifacts_dir / "research-validation-report.png"))

        # The HTML report, downloaded as a person would.
        with page.expect_download() as info:
            page.get_by_role("link", name="Download the report (HTML)").click()
        download = info.value
        assert download.suggested_filename == f"{DEMO_SLUG}-validation-{run.id}.html"
        target = tmp_path / download.suggested_filename
        download.save_as(target)
        document = target.read_text(encoding="utf-8")
        assert document.startswith("<!doctype html>") and "COSMIN summary" in document
        assert "http://" not in document and "https://" not in document
        assert "<script" not in document.lower()

        # A hypothesis: mistyped first (explained next to the field), then as meant.
        page.get_by_role("navigation", name="Study").get_by_role("link", name="Validation").click()
        page.wait_for_load_state()
        page.get_by_role("link", name="Manage the hypotheses").click()
        page.wait_for_load_state()
        field = page.get_by_label("Hypothesis", exact=True)
        field.fill("TA correlates = .30 with messages_sent")
        page.get_by_role("button", name="State the hypothesis").click()
        page.wait_for_load_state()
        error = page.locator("#text-error")
        assert "'=' is not a comparison" in error.inner_text()
        assert page.get_by_label("Hypothesis", exact=True).get_attribute("aria-invalid") == "true"
        page.get_by_label("Hypothesis", exact=True).fill("TA correlates >= .30 with messages_sent")
        page.get_by_role("button", name="State the hypothesis").click()
        page.wait_for_load_state()
        assert page.get_by_text(re.compile(r"Hypothesis \d+ stated")).is_visible()
        in_force = page.locator("table#hypotheses-in-force tbody tr")
        assert in_force.count() == 1
        assert "TA correlates >= .30 with messages_sent" in in_force.first.inner_text()
        assert RESEARCHER_EMAIL in in_force.first.inner_text()
    finally:
        context.close()

    # The pages on a phone.
    phone = browser.new_context(viewport={"width": 360, "height": 800})
    phone.set_default_timeout(TIMEOUT_MS)
    page = phone.new_page()
    try:
        log_in(page, live_server.base_url, RESEARCHER_EMAIL, RESEARCHER_PASSWORD)
        base = f"{live_server.base_url}/research/studies/{study_id}/validation"
        for url in (base, f"{base}/runs/{run.id}", f"{base}/hypotheses"):
            page.goto(url)
            assert scroll_width(page) <= 360, url
    finally:
        phone.close()
