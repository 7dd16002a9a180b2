"""The research preview of a study's participant pages (research.preview): the pages
exactly as participants see them, for draft and open studies, and nothing stored."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from sqlalchemy import func, select

from instruments.loader import instrument_path, load_instrument, load_instrument_text
from survey.extensions import db
from survey.models import StudyStatus
from survey.services import accounts, instruments, studies

SCREENER_PATH = Path(__file__).parents[2] / "fixtures" / "instruments" / "mood_screener.yaml"
URGENT_HELP = "Call the test crisis line on 0800 000 000."


def body(response) -> str:
    return response.get_data(as_text=True)


def row_counts(app) -> dict[str, int]:
    with app.app_context():
        return {
            table.name: db.session.scalar(select(func.count()).select_from(table))
            for table in db.metadata.sorted_tables
        }


@pytest.fixture
def preview_study(app, researcher_client):
    """A study of researcher@example.org on IEM-DP 1.1.0 and the mood screener."""

    def make(status: str = StudyStatus.DRAFT) -> int:
        with app.app_context():
            iemdp = load_instrument(instrument_path("iemdp", "1.1.0"))
            screener = load_instrument_text(
                SCREENER_PATH.read_text(encoding="utf-8"), SCREENER_PATH.name
            )
            versions = [instruments.import_definition(d)[0] for d in (iemdp, screener)]
            study = studies.create_study(
                name="Preview study",
                slug=f"preview-study-{status}",
                instrument_versions=versions,
                consent_text="Please agree to the preview.",
                consent_version="v1",
                urgent_help_note=URGENT_HELP,
                team_contact="Preview team, preview@example.org",
                owner=accounts.find_user("researcher@example.org"),
                status=status,
                first_wave_label="Baseline",
            )
            db.session.commit()
            return study.id

    return make


@pytest.mark.parametrize("status", [StudyStatus.DRAFT, StudyStatus.OPEN])
def test_walking_the_preview_stores_nothing(app, researcher_client, preview_study, status):
    study_id = preview_study(status)
    client = researcher_client
    base = f"/research/studies/{study_id}/preview"
    before = row_counts(app)

    consent = client.get(f"{base}/0")
    assert consent.status_code == 200
    html = body(consent)
    assert "Preview — nothing is stored" in html
    assert "Please agree to the preview." in html and 'value="I agree"' in html
    assert client.post(f"{base}/0", data={"agree": "I agree"}).headers["Location"] == f"{base}/1"

    for number in range(1, 13):
        response = client.get(f"{base}/{number}")
        assert response.status_code == 200, number
        html = body(response)
        assert "Preview — nothing is stored" in html
        assert f"Page {number} of 12" in html
        assert URGENT_HELP in html and "Preview team, preview@example.org" in html
        assert ("Part 1 of 2" if number <= 10 else "Part 2 of 2") in html
        assert 'name="form_token"' not in html  # no participant here
        # Unanswered, the page shows the participant's messages; nothing is kept.
        refused = client.post(f"{base}/{number}", data={})
        assert refused.status_code == 422
        assert "need an answer" in body(refused)
        # Answered, it moves on (answers are checked, then forgotten).
        data = {}
        for name, value in re.findall(
            r'name="([A-Z0-9_]+)" required type="radio" value="(\d)"', html
        ):
            data.setdefault(name, value)
        moved = client.post(f"{base}/{number}", data=data)
        assert moved.status_code == 302, body(moved)
        assert moved.headers["Location"] == f"{base}/{number + 1}"
        if number > 1:
            back = client.post(f"{base}/{number}", data={"back": "1"})
            assert back.headers["Location"] == f"{base}/{number - 1}"

    done = client.get(f"{base}/13")
    assert done.status_code == 200 and "Thank you" in body(done)
    assert client.get(f"{base}/14").status_code == 404
    assert row_counts(app) == before


def test_preview_shows_the_participant_page_titles_and_the_study_s_pages(
    researcher_client, preview_study
):
    study_id = preview_study()
    html = body(researcher_client.get(f"/research/studies/{study_id}/preview/1"))
    assert "<h1>What you expect from therapy by messaging</h1>" in html
    assert "Stop taking part" in html  # where participants see it, inert here
    for number in (0, 1, 12, 13):
        assert f'href="/research/studies/{study_id}/preview/{number}"' in html


def test_preview_needs_access_to_the_study(app, researcher_client, preview_study, make_user, login):
    study_id = preview_study()
    anonymous = app.test_client()
    response = anonymous.get(f"/research/studies/{study_id}/preview/1")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    make_user("other@example.org")
    other = app.test_client()
    login(other, "other@example.org")
    assert other.get(f"/research/studies/{study_id}/preview/1").status_code == 403
    assert researcher_client.get("/research/studies/999999/preview/1").status_code == 404
