"""A researcher gets participants into the demo study from the browser (issue 8, item 4).

Chromium talks to the live app of ``conftest.py`` (a database made by ``flask demo setup``);
the demo researcher gets a known password through the accounts service. Every form is
submitted once as rendered: the default number of links is not touched but read, the
participants page's form as it comes. At 360 px the pages do not scroll sideways.
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import pytest
from sqlalchemy import select

from survey.extensions import db
from survey.models import Study
from tests.browser.staff import log_in

pytestmark = pytest.mark.browser

RESEARCHER_EMAIL = "researcher@demo.local"
RESEARCHER_PASSWORD = "browser participants researcher password"
TIMEOUT_MS = 10_000
LINK_RE = re.compile(r"^http://127\.0\.0\.1:\d+/p/([A-Za-z0-9_-]{43})$")


@pytest.fixture(scope="module")
def study_id(live_server) -> int:
    from survey.services import accounts

    with live_server.app.app_context():
        accounts.set_password(accounts.get_user(RESEARCHER_EMAIL), RESEARCHER_PASSWORD, via="test")
        db.session.commit()
        return db.session.scalar(select(Study.id).where(Study.slug == "iemdp-demo"))


@pytest.mark.parametrize("width", [360, 1280])
def test_create_links_download_them_and_regenerate_one(
    live_server, browser, study_id, width, artifacts_dir
):
    context = browser.new_context(viewport={"width": width, "height": 800}, accept_downloads=True)
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    try:
        log_in(page, live_server.base_url, RESEARCHER_EMAIL, RESEARCHER_PASSWORD)
        page.goto(f"{live_server.base_url}/research/studies/{study_id}/participants")
        assert page.get_by_role("heading", name="Participants", exact=True).is_visible()

        # The default as rendered is 10: a newcomer who wants 5 types 5 over it.
        count = page.get_by_label("How many links")
        assert count.input_value() == "10"
        count.fill("5")
        page.get_by_role("button", name="Create links").click()
        page.wait_for_load_state()
        assert page.get_by_role("heading", name="5 new links").is_visible()
        shown = page.locator("table.new-links tbody tr")
        assert shown.count() == 5
        links = [shown.nth(i).locator("td").nth(1).inner_text().strip() for i in range(5)]
        assert all(LINK_RE.match(link) for link in links), links
        assert not _scrolls_sideways(page)
        page.screenshot(path=str(artifacts_dir / f"research-new-links-{width}.png"), full_page=True)

        with page.expect_download() as download_info:
            page.get_by_role("button", name="Download as CSV").click()
        download = download_info.value
        rows = list(csv.reader(io.StringIO(Path(download.path()).read_text(encoding="utf-8"))))
        assert rows[0] == ["code", "link"]
        assert len(rows) == 6
        assert [row[1] for row in rows[1:]] == links
        codes = [row[0] for row in rows[1:]]

        # Each link opens the study's consent page.
        check = context.new_page()
        check.goto(links[0])
        assert "IEM-DP demo" in check.content()
        check.close()

        # Regenerate the first one: confirm, see the new link once; the old one is gone.
        page.get_by_role("link", name="Back to the participants").click()
        page.get_by_role("button", name=f"New link for {codes[0]}").click()
        assert page.get_by_text("stops working at once").is_visible()
        page.get_by_role("button", name="Make a new link").click()
        page.wait_for_load_state()
        new_link = page.locator("code.new-link").inner_text().strip()
        assert LINK_RE.match(new_link) and new_link != links[0]
        assert not _scrolls_sideways(page)
        old = context.new_page()
        response = old.goto(links[0])
        assert response is not None and response.status == 404
        response = old.goto(new_link)
        assert response is not None and response.status == 200
        old.close()

        page.goto(f"{live_server.base_url}/research/studies/{study_id}/participants")
        listed = page.locator("table.participants tbody td:first-child")
        assert all(listed.filter(has_text=code).count() == 1 for code in codes)
        assert not _scrolls_sideways(page)
        page.screenshot(
            path=str(artifacts_dir / f"research-participants-{width}.png"), full_page=True
        )
        for name in (f"research-new-links-{width}.png", f"research-participants-{width}.png"):
            assert (artifacts_dir / name).stat().st_size > 0
    finally:
        context.close()


def _scrolls_sideways(page) -> bool:
    page.wait_for_load_state("load")
    return page.evaluate(
        "document.documentElement.scrollWidth > document.documentElement.clientWidth"
    )
