"""A first-time researcher downloads every export of the demo study from the browser (issue 9).

The demo study gets simulated participants the way an operator adds them (``flask demo
simulate`` in a subprocess) and one excluded session. The researcher opens the study, follows
the Exports tab, reads how many excluded sessions are left out and that rows are simulated,
picks nothing (all waves, excluded sessions left out, as rendered) and clicks each Download
button once. Every file arrives (Playwright download events), reads back, and its SHA-256 is
the one the audit log recorded for it. At 360 and 1280 px the page does not scroll sideways.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
import zipfile
from pathlib import Path

import pyreadr
import pyreadstat
import pytest
from sqlalchemy import select

from survey.extensions import db
from survey.models import AuditEvent, ResponseSession, Study, Wave
from tests.browser.conftest import DEMO_SLUG, run_flask
from tests.browser.staff import log_in, scroll_width

pytestmark = pytest.mark.browser

RESEARCHER_EMAIL = "researcher@demo.local"
RESEARCHER_PASSWORD = "browser exports researcher password"
TIMEOUT_MS = 60_000
PARTICIPANTS = 40


@pytest.fixture(scope="module")
def study_id(live_server) -> int:
    from survey.services import accounts, exclusions

    run_flask(
        live_server.cli_env,
        "demo",
        "simulate",
        DEMO_SLUG,
        "--participants",
        str(PARTICIPANTS),
        "--waves",
        "2",
        "--seed",
        "3",
    )
    with live_server.app.app_context():
        accounts.set_password(accounts.get_user(RESEARCHER_EMAIL), RESEARCHER_PASSWORD, via="test")
        study = db.session.scalar(select(Study).where(Study.slug == DEMO_SLUG))
        first = db.session.scalar(
            select(ResponseSession)
            .join(Wave)
            .where(Wave.study_id == study.id)
            .order_by(ResponseSession.id)
            .limit(1)
        )
        exclusions.exclude(first, "Answered every item in under a second", actor=None)
        db.session.commit()
        return study.id


def _last_hash(live_server, kind: str) -> str:
    with live_server.app.app_context():
        db.session.remove()
        events = db.session.scalars(
            select(AuditEvent)
            .where(AuditEvent.action == "export_downloaded")
            .order_by(AuditEvent.id.desc())
        )
        return next(e.hash_after for e in events if e.details["export"] == kind)


def _check(kind: str, path: Path) -> None:
    """The file reads back as what it is."""
    if kind in ("wide", "long"):
        rows = list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8"))))
        assert rows and {row["simulated"] for row in rows} == {"1"}
        assert {row["excluded"] for row in rows} == {"0"}
    elif kind == "sav":
        frame, meta = pyreadstat.read_sav(path)
        assert len(frame) and meta.column_names_to_labels["OE_BEN_1"]
    elif kind == "dta":
        frame, meta = pyreadstat.read_dta(path)
        assert len(frame) and meta.variable_value_labels["OE_BEN_1"]
    elif kind == "rds":
        assert len(pyreadr.read_r(path)[None])
    elif kind == "codebook":
        assert "SIMULATED DATA" in path.read_text(encoding="utf-8")
    elif kind == "codebook_json":
        assert json.loads(path.read_text(encoding="utf-8"))["counts"]["excluded_left_out"] == 1
    elif kind == "model":
        assert "lavaan::cfa" in path.read_text(encoding="utf-8")
    else:
        assert "README.txt" in zipfile.ZipFile(path).namelist()


KINDS = ("wide", "long", "sav", "dta", "rds", "codebook", "codebook_json", "model", "bundle")
TITLES = {
    "wide": "Wide CSV",
    "long": "Long CSV",
    "sav": "SPSS (.sav)",
    "dta": "Stata (.dta)",
    "rds": "R (.rds)",
    "codebook": "Codebook (HTML)",
    "codebook_json": "Codebook (JSON)",
    "model": "Measurement models (R, lavaan)",
    "bundle": "Analysis bundle (zip)",
}


@pytest.mark.parametrize("width", [360, 1280])
def test_a_researcher_downloads_every_export(live_server, browser, study_id, width, artifacts_dir):
    context = browser.new_context(viewport={"width": width, "height": 800}, accept_downloads=True)
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    try:
        log_in(page, live_server.base_url, RESEARCHER_EMAIL, RESEARCHER_PASSWORD)
        page.goto(f"{live_server.base_url}/research/studies/{study_id}")
        page.get_by_role("navigation", name="Study").get_by_role("link", name="Exports").click()
        page.wait_for_load_state()
        assert page.get_by_role("heading", name="Exports", exact=True).is_visible()
        status = re.sub(r"\s+", " ", page.locator("#export-counts").inner_text())
        assert "1 excluded session left out of the files" in status
        assert page.locator("#simulated-marker").is_visible()
        assert "simulated participants" in page.locator("#simulated-marker").inner_text()
        # As rendered: all waves, excluded sessions left out.
        assert page.get_by_label("Waves").input_value() == ""
        assert not page.get_by_label("Include excluded sessions").is_checked()
        assert scroll_width(page) <= width
        page.screenshot(path=str(artifacts_dir / f"research-exports-{width}.png"), full_page=True)

        for kind in KINDS:
            with page.expect_download() as download_info:
                page.get_by_role("button", name=f"Download {TITLES[kind]}").click()
            download = download_info.value
            path = Path(download.path())
            assert download.suggested_filename.startswith(DEMO_SLUG)
            assert hashlib.sha256(path.read_bytes()).hexdigest() == _last_hash(live_server, kind)
            _check(kind, path)
        assert page.get_by_role("heading", name="Exports", exact=True).is_visible()
    finally:
        context.close()
