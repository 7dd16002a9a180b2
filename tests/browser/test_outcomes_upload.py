"""A first-time researcher uploads outcomes for the demo study from the browser (issue 9,
item 4).

Chromium talks to the live app of ``conftest.py`` (a database made by ``flask demo setup``,
with its demo participant). From the study's Outcomes tab the researcher downloads the
template, fills it in (the test writes two columns into the downloaded file), uploads it
with the form as rendered and sees the summary; then uploads a broken file and sees every
problem listed next to the file field, with nothing stored. At 360 px the page does not
scroll sideways.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from sqlalchemy import func, select

from survey.extensions import db
from survey.models import OutcomeUpload, Study
from tests.browser.staff import log_in, scroll_width

pytestmark = pytest.mark.browser

RESEARCHER_EMAIL = "researcher@demo.local"
RESEARCHER_PASSWORD = "browser outcomes researcher password"
TIMEOUT_MS = 10_000


@pytest.fixture(scope="module")
def study_id(live_server) -> int:
    from survey.services import accounts

    with live_server.app.app_context():
        accounts.set_password(accounts.get_user(RESEARCHER_EMAIL), RESEARCHER_PASSWORD, via="test")
        db.session.commit()
        return db.session.scalar(select(Study.id).where(Study.slug == "iemdp-demo"))


def _uploads(live_server) -> int:
    with live_server.app.app_context():
        count = db.session.scalar(select(func.count()).select_from(OutcomeUpload))
        db.session.remove()
        return count


def test_template_filled_uploaded_then_a_broken_file_refused(
    live_server, browser, study_id, tmp_path, artifacts_dir
):
    context = browser.new_context(viewport={"width": 360, "height": 800}, accept_downloads=True)
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    try:
        log_in(page, live_server.base_url, RESEARCHER_EMAIL, RESEARCHER_PASSWORD)
        page.goto(f"{live_server.base_url}/research/studies/{study_id}")
        page.get_by_role("navigation", name="Study").get_by_role("link", name="Outcomes").click()
        page.wait_for_load_state()
        assert page.get_by_role("heading", name="Outcomes and covariates").is_visible()
        assert page.get_by_role("heading", name="No outcomes yet").is_visible()

        with page.expect_download() as download_info:
            page.get_by_role("link", name="one row per participant and wave").click()
        template = Path(download_info.value.path()).read_text(encoding="utf-8")
        rows = list(csv.reader(io.StringIO(template)))
        assert rows[0] == ["participant", "wave"]
        assert len(rows) > 1 and all(row[0].startswith("P") for row in rows[1:])

        # Filled in as a spreadsheet would save it: two new columns, one value left empty.
        filled = tmp_path / "engagement.csv"
        with filled.open("w", encoding="utf-8", newline="") as file:
            writer = csv.writer(file)
            writer.writerow([*rows[0], "messages_sent", "delivery_mode"])
            for number, row in enumerate(rows[1:]):
                sent = "" if number == 1 else str(10 + number)
                writer.writerow([*row, sent, "chat" if number % 2 else "web"])

        page.get_by_label("Outcomes file (CSV)").set_input_files(str(filled))
        page.get_by_role("button", name="Upload outcomes").click()
        page.wait_for_load_state()
        assert page.get_by_text(
            f"Stored engagement.csv as version 1: {len(rows) - 1} rows"
        ).is_visible()
        assert page.get_by_role("heading", name="Current: version 1").is_visible()
        columns = page.get_by_role("region", name="Columns of version 1")
        assert columns.get_by_role("cell", name="messages_sent").is_visible()
        assert columns.get_by_role("cell", name="categorical").is_visible()
        assert scroll_width(page) <= 360
        page.screenshot(path=str(artifacts_dir / "research-outcomes-360.png"), full_page=True)
        assert _uploads(live_server) == 1

        # A broken file: every problem at once, next to the file field; nothing stored.
        code = rows[1][0]
        broken = tmp_path / "broken.csv"
        broken.write_text(
            "participant,wave,excluded,notes\n"
            f"P999999,{rows[1][1]},1,a\n"
            f"{code},week-99,1,b\n"
            f"{code},{rows[1][1]},1\n",
            encoding="utf-8",
        )
        page.get_by_label("Outcomes file (CSV)").set_input_files(str(broken))
        page.get_by_role("button", name="Upload outcomes").click()
        page.wait_for_load_state()
        problems = page.get_by_role("alert")
        assert problems.get_by_text(
            "4 problems in broken.csv (listed below); nothing was stored."
        ).is_visible()
        for text in (
            "row 2: participant P999999 is not in this study",
            "row 3: wave 'week-99' is not a wave of this study",
            "row 4: 3 cells, but the header has 4 columns",
            "column 'excluded' is a reserved name",
        ):
            assert problems.get_by_text(text).is_visible(), text
        field = page.get_by_label("Outcomes file (CSV)")
        assert field.get_attribute("aria-invalid") == "true"
        assert page.get_by_role("heading", name="Current: version 1").is_visible()
        assert scroll_width(page) <= 360
        page.screenshot(
            path=str(artifacts_dir / "research-outcomes-problems-360.png"), full_page=True
        )
        assert _uploads(live_server) == 1
    finally:
        context.close()
