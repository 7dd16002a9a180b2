"""A longitudinal validation study, start to finish, from the browser (issue 8, "done when").

Chromium talks to the live app of ``conftest.py`` over HTTP; the app's clock is moved with
the ``clock`` fixture (app.config["CLOCK"]). As a newcomer would, every form is submitted as
rendered, typing only what has to be typed:

1. the demo researcher imports a second instrument (the mood screener fixture), creates a
   study with the IEM-DP and that instrument (first submit succeeds) and three waves
   scheduled from enrolment (baseline, week 4, week 8), opens it, creates 5 links and
   downloads them as CSV, and shares the study with a viewer;
2. one participant completes wave 1 through their link (the whole battery, the safety
   answer's help page included); another consents and withdraws;
3. the time moves to week 4: the first participant's same link opens wave 2;
4. the dashboard and the participants page show every state; the viewer sees the study
   and cannot change it; a second researcher gets 403;
5. screenshots at 360 px and 1280 px are non-empty PNGs.
"""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from survey.extensions import db
from survey.models import ResponseSession, SafetyAlert, Study, StudyStatus, Wave
from tests.browser.staff import log_in, scroll_width

pytestmark = pytest.mark.browser

DEMO_IEMDP_VERSION = "1.1.0"  # participant page titles (read by the live_server fixture)
OWNER = "researcher@demo.local"
VIEWER = "viewer.colleague@example.org"
OTHER = "other.researcher@example.org"
PASSWORD = "longitudinal study password 1357"
MOOD_SCREENER = Path(__file__).parents[1] / "fixtures" / "instruments" / "mood_screener.yaml"
TIMEOUT_MS = 15_000
PNG = b"\x89PNG\r\n\x1a\n"
ENROLMENT = datetime.now(UTC).replace(microsecond=0)
LINK_RE = re.compile(r"/p/([A-Za-z0-9_-]{43})$")


@pytest.fixture(scope="module")
def accounts_ready(live_server) -> None:
    from survey.services import accounts

    with live_server.app.app_context():
        accounts.set_password(accounts.get_user(OWNER), PASSWORD, via="test")
        for email in (VIEWER, OTHER):
            accounts.create_user(email, PASSWORD, "researcher", via="test")
        db.session.commit()


@pytest.fixture
def open_as(live_server, browser, accounts_ready):
    """``open_as(email, width)``: a page logged in through the login form."""
    contexts = []

    def open_page(email: str | None, width: int = 1280):
        context = browser.new_context(
            viewport={"width": width, "height": 900}, accept_downloads=True
        )
        context.set_default_timeout(TIMEOUT_MS)
        contexts.append(context)
        page = context.new_page()
        if email is not None:
            log_in(page, live_server.base_url, email, PASSWORD)
        return page

    yield open_page
    for context in contexts:
        context.close()


def shot(page, artifacts_dir: Path, name: str) -> None:
    path = artifacts_dir / f"longitudinal-{name}.png"
    page.wait_for_load_state("load")
    page.screenshot(path=str(path), full_page=True)
    data = path.read_bytes()
    assert data.startswith(PNG) and len(data) > 5000, name
    width = page.viewport_size["width"]
    scroll = scroll_width(page)
    assert scroll <= width, f"{name}: {page.url} is {scroll} px wide at {width} px"


def answer_page(page) -> None:
    """Answer every question as a reader would: attention checks as they ask, the rest
    with the last option (for the mood screener's safety item, a safety answer)."""
    fieldsets = page.locator("form fieldset.item")
    for index in range(fieldsets.count()):
        fieldset = fieldsets.nth(index)
        legend = fieldset.locator("legend").inner_text()
        labels = fieldset.locator(".option label")
        texts = labels.all_inner_texts()
        wanted = next((n for n, text in enumerate(texts) if f"'{text}'" in legend), len(texts) - 1)
        labels.nth(wanted).click()


def complete_wave(page, link: str) -> int:
    """Answer every page of the wave from its first page; returns the pages answered."""
    answered = 0
    while "/page/" in page.url:
        answer_page(page)
        button = "Finish" if page.get_by_role("button", name="Finish").count() else "Next"
        page.get_by_role("button", name=button, exact=True).click()
        page.wait_for_load_state()
        answered += 1
        if page.url.endswith("/help"):  # the safety answer: the urgent-help note at once
            assert "call your local emergency number" in page.content()
            page.get_by_role("link", name="Continue").click()
            page.wait_for_load_state()
        assert answered < 40, "the questionnaire does not end"
    assert page.url == f"{link}/done", page.url
    return answered


def test_a_longitudinal_validation_study_from_start_to_finish(
    live_server, open_as, clock, artifacts_dir
):
    base = live_server.base_url
    clock(ENROLMENT)
    owner = open_as(OWNER)

    # 1. Import the comparator, create the study, add its waves, open it.
    owner.goto(f"{base}/research/instruments/import")
    owner.get_by_label("File", exact=True).set_input_files(str(MOOD_SCREENER))
    owner.get_by_role("button", name="Import and publish").click()
    owner.wait_for_load_state()
    assert owner.url.endswith("/research/studies/new")
    assert owner.locator("select[size]").count() == 0
    first = owner.get_by_label("First instrument").locator("option:checked").inner_text()
    assert first.startswith(f"iemdp {DEMO_IEMDP_VERSION} ")
    owner.get_by_label("Name", exact=True).fill("IEM-DP over a course of therapy")
    owner.get_by_label("Then (2nd instrument)").select_option(
        label="mood_screener 1.0.0 – Mood screener (test fixture)"
    )
    owner.get_by_label("Consent text", exact=True).fill(
        "You are invited to answer questions about your therapy now, in four weeks and in "
        "eight weeks.\n\nIf you stop taking part, the answers you have already given are kept."
    )
    owner.get_by_label("Study-team contact (shown on every participant page)").fill(
        "IEM-DP study team, team@clinic.example"
    )
    shot(owner, artifacts_dir, "new-study-1280")
    owner.get_by_role("button", name="Create study").click()
    owner.wait_for_load_state()
    match = re.search(r"/research/studies/(\d+)/waves$", owner.url)
    assert match, f"the first submit did not create the study: {owner.url}"
    study_id = int(match.group(1))
    for label, offset in (("Week 4", "28"), ("Week 8", "56")):
        owner.get_by_label("Label", exact=True).fill(label)
        owner.get_by_label("Opens this many days after enrolment").fill(offset)
        owner.get_by_label("Open for this many days (optional)").fill("14")
        owner.get_by_role("button", name="Add the wave").click()
        owner.wait_for_load_state()
    owner.get_by_role("button", name="Open the study").click()
    owner.wait_for_load_state()
    with live_server.app.app_context():
        study = db.session.get(Study, study_id)
        assert study.status == StudyStatus.OPEN
        assert [v.instrument.key for v in study.instrument_versions] == ["iemdp", "mood_screener"]
        assert [(w.label, w.offset_days, w.window_days) for w in study.waves] == [
            ("Baseline", 0, None),
            ("Week 4", 28, 14),
            ("Week 8", 56, 14),
        ]

    # Five links, shown once and downloaded as CSV.
    owner.goto(f"{base}/research/studies/{study_id}/participants")
    owner.get_by_label("How many links").fill("5")
    owner.get_by_role("button", name="Create links").click()
    owner.wait_for_load_state()
    with owner.expect_download() as download_info:
        owner.get_by_role("button", name="Download as CSV").click()
    rows = list(
        csv.reader(io.StringIO(Path(download_info.value.path()).read_text(encoding="utf-8")))
    )
    assert rows[0] == ["code", "link"] and len(rows) == 6
    codes = [row[0] for row in rows[1:]]
    links = [row[1] for row in rows[1:]]
    assert all(link.startswith(f"{base}/p/") for link in links), links

    # Share with a viewer.
    owner.goto(f"{base}/research/studies/{study_id}/team")
    assert owner.get_by_label("Viewer: sees, exports and analyses").is_checked()
    owner.get_by_label("E-mail address of the researcher").fill(VIEWER)
    owner.get_by_role("button", name="Share").click()
    owner.wait_for_load_state()
    assert f"Shared with {VIEWER} as viewer." in owner.get_by_role("status").inner_text()

    # 2. A participant completes wave 1 through their link (on a phone).
    participant = open_as(None, 360)
    participant.goto(links[0])
    assert "IEM-DP study team, team@clinic.example" in participant.content()
    participant.get_by_role("button", name="I agree").click()
    participant.wait_for_url(f"{links[0]}/page/1")
    shot(participant, artifacts_dir, "participant-page-360")
    pages = complete_wave(participant, links[0])
    with live_server.app.app_context():
        from survey.services import participation

        study = db.session.get(Study, study_id)
        assert pages == len(participation.battery_pages(study))
    done = participant.locator("main").inner_text()
    week_4_opens = ENROLMENT + timedelta(days=28)
    assert f"{week_4_opens:%A} {week_4_opens.day} {week_4_opens:%B %Y}" in done
    shot(participant, artifacts_dir, "participant-done-360")

    # Another participant consents, then stops taking part.
    leaver = open_as(None, 1280)
    leaver.goto(links[1])
    leaver.get_by_role("button", name="I agree").click()
    leaver.wait_for_url(f"{links[1]}/page/1")
    leaver.get_by_role("link", name="Stop taking part").click()
    leaver.get_by_role("button", name="Stop taking part").click()
    leaver.wait_for_load_state()
    assert leaver.get_by_role("heading", level=1).inner_text() == "You have stopped taking part"
    leaver.goto(links[1])
    assert leaver.get_by_role("heading", level=1).inner_text() == "You have stopped taking part"
    assert leaver.locator("form fieldset.item").count() == 0

    # 3. Week 4: the same link opens wave 2.
    clock(ENROLMENT + timedelta(days=29))
    participant.goto(links[0])
    participant.wait_for_url(f"{links[0]}/page/1")
    assert participant.locator("form fieldset.item").count() > 0
    with live_server.app.app_context():
        sessions = db.session.execute(
            select(Wave.label, ResponseSession.completed_at)
            .join(Wave, Wave.id == ResponseSession.wave_id)
            .where(Wave.study_id == study_id)
            .order_by(ResponseSession.id)
        ).all()
        assert [(label, done is not None) for label, done in sessions] == [
            ("Baseline", True),  # the first participant
            ("Baseline", False),  # the one who stopped on page 1
            ("Week 4", False),  # the first participant, on the same link
        ]
        assert db.session.scalar(select(SafetyAlert.item_id)) == "MD_LOW_4"

    # 4. The dashboard and the participants page show each state.
    owner.goto(f"{base}/research/studies/{study_id}")
    counts = [int(cell) for cell in owner.locator("#participant-counts tbody td").all_inner_texts()]
    # Invited, consented, declined, not decided, withdrawn, excluded.
    assert counts == [5, 2, 0, 3, 1, 0]
    waves = owner.locator("#wave-counts tbody tr")
    assert waves.count() == 3
    baseline = waves.nth(0).locator("td").all_inner_texts()
    assert baseline[0].startswith("Baseline") and baseline[2:4] == ["2", "1"]  # started, done
    assert owner.locator("svg[role=img]").count() >= 1
    assert "MD_LOW_4" in owner.locator("main").inner_text()  # the safety alert to acknowledge
    shot(owner, artifacts_dir, "dashboard-1280")
    owner.set_viewport_size({"width": 360, "height": 900})
    shot(owner, artifacts_dir, "dashboard-360")
    owner.set_viewport_size({"width": 1280, "height": 900})

    owner.goto(f"{base}/research/studies/{study_id}/participants")
    table = owner.locator("table.participants tbody tr")
    states = {
        table.nth(i).locator("td").first.inner_text().split()[0]: [
            cell.get_attribute("data-state")
            for cell in table.nth(i).locator("td[data-state]").all()
        ]
        for i in range(table.count())
    }
    assert states[codes[0]] == ["complete", "in_progress", "not_started"]
    assert states[codes[1]] == ["withdrawn", "withdrawn", "withdrawn"]
    assert all(states[code] == ["not_started"] * 3 for code in codes[2:])
    shot(owner, artifacts_dir, "participants-1280")

    # The viewer sees the study and cannot change it; another researcher gets 403.
    viewer = open_as(VIEWER, 360)
    viewer.goto(f"{base}/research/studies/{study_id}")
    assert viewer.locator("#participant-counts").is_visible()
    assert viewer.locator("main form").count() == 0
    shot(viewer, artifacts_dir, "viewer-dashboard-360")
    viewer.goto(f"{base}/research/studies/{study_id}/participants")
    assert viewer.get_by_role("button", name="Create links").count() == 0
    for path in ("settings", "team", "enrolment"):
        response = viewer.goto(f"{base}/research/studies/{study_id}/{path}")
        assert response is not None and response.status == 403, path
    other = open_as(OTHER)
    response = other.goto(f"{base}/research/studies/{study_id}")
    assert response is not None and response.status == 403
    response = other.goto(f"{base}/research/studies/{study_id}/participants")
    assert response is not None and response.status == 403
