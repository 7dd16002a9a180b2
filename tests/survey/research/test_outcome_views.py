"""The outcomes page (survey.research.outcome_views): the current version and the history,
the upload form and its problems, the template, the download and its round trip, who may
do what."""

from __future__ import annotations

import io
import re

import pytest
from sqlalchemy import func, select
from werkzeug.datastructures import FileStorage, MultiDict
from werkzeug.test import encode_multipart

from survey.extensions import db
from survey.models import AuditAction, AuditEvent, OutcomeUpload, OutcomeValue, StudyMember, User
from survey.services import instruments, outcomes, studies
from survey.services.invitations import hash_external_id


@pytest.fixture
def study_id(app, small, researcher_client):
    """A study of researcher@example.org: waves baseline and week-4, 3 participants by
    link and one by external id ``platform-7``."""
    with app.app_context():
        owner = db.session.scalar(select(User).where(User.email == "researcher@example.org"))
        version, _ = instruments.import_definition(small)
        study = studies.create_study(
            name="Outcomes study",
            slug="outcomes-study",
            instrument_version=version,
            consent_text="Agree?",
            consent_version="v1",
            urgent_help_note="Call 112.",
            owner=owner,
            first_wave_label="Baseline",
        )
        studies.add_wave(study, key="week-4", label="Week 4")
        studies.add_participants(study, 3)
        key = app.config["EXTERNAL_ID_KEY"].encode("utf-8")
        studies.add_participants(study, 1, external_id_hashes=[hash_external_id("platform-7", key)])
        db.session.commit()
        return study.id


@pytest.fixture
def client(researcher_client):
    return researcher_client


def url(study_id: int, tail: str = "") -> str:
    return f"/research/studies/{study_id}/outcomes{tail}"


def upload(client, study_id: int, content: str | bytes, name: str = "outcomes.csv"):
    data = content.encode("utf-8") if isinstance(content, str) else content
    return post(client, url(study_id), {"file": csv_file(data, name)})


def csv_file(data: bytes, name: str) -> FileStorage:
    return FileStorage(io.BytesIO(data), filename=name, content_type="text/csv")


def post(client, where: str, data: dict):
    """A multipart POST with the body encoded in memory (the test client would spool a
    large body to a temporary file and leave it open)."""
    boundary, body = encode_multipart(MultiDict(data))
    return client.post(where, data=body, content_type=f"multipart/form-data; boundary={boundary}")


def counts(app) -> tuple[int, int]:
    with app.app_context():
        return (
            db.session.scalar(select(func.count()).select_from(OutcomeUpload)),
            db.session.scalar(select(func.count()).select_from(OutcomeValue)),
        )


def codes(app, study_id: int) -> list[str]:
    from survey.models import Participant

    with app.app_context():
        ids = db.session.scalars(
            select(Participant.id).where(Participant.study_id == study_id).order_by(Participant.id)
        )
        return [f"P{i:06d}" for i in ids]


def text(response) -> str:
    return response.get_data(as_text=True)


# -- the page before any upload -------------------------------------------------------------
def test_the_page_explains_the_format_and_offers_templates(app, client, study_id):
    response = client.get(url(study_id))
    html = text(response)
    assert response.status_code == 200
    assert "No outcomes yet" in html
    assert 'type="file"' in html and "Upload outcomes" in html
    assert f'href="{url(study_id, "/template.csv?per=wave")}"' in html
    assert f'href="{url(study_id, "/template.csv?per=participant")}"' in html
    assert "<code>baseline</code>, <code>week-4</code>" in html  # the study's wave keys
    assert "participant,wave,messages_sent,active_weeks,age_group" in html  # the example
    assert 'aria-current="page">Outcomes</a>' in html  # the study tab


def test_a_study_without_participants_says_what_to_do_first(app, client, small):
    with app.app_context():
        owner = db.session.scalar(select(User).where(User.email == "researcher@example.org"))
        version, _ = instruments.import_definition(small)
        study = studies.create_study(
            name="Empty study",
            slug="empty-study",
            instrument_version=version,
            consent_text="Agree?",
            consent_version="v1",
            urgent_help_note="Call 112.",
            owner=owner,
            first_wave_label="Baseline",
        )
        db.session.commit()
        empty_id = study.id
    html = text(client.get(url(empty_id)))
    assert "This study has no participants yet" in html
    assert f'href="/research/studies/{empty_id}/participants">create participant links</a>' in html
    assert 'type="file"' not in html


def test_the_templates_list_codes_and_waves(app, client, study_id):
    c = codes(app, study_id)
    per_wave = client.get(url(study_id, "/template.csv?per=wave"))
    assert per_wave.mimetype == "text/csv"
    assert "outcomes-study-outcomes-per-wave.csv" in per_wave.headers["Content-Disposition"]
    assert text(per_wave).splitlines() == [
        "participant,wave",
        *(f"{code},{wave}" for code in c for wave in ("baseline", "week-4")),
    ]
    per_participant = client.get(url(study_id, "/template.csv?per=participant"))
    assert text(per_participant).splitlines() == ["participant", *c]


# -- uploading ----------------------------------------------------------------------------
def test_an_upload_is_stored_and_summarised(app, client, study_id):
    c = codes(app, study_id)
    content = (
        "participant,wave,messages_sent,age_group\r\n"
        f"{c[0]},baseline,12,26-35\r\n"
        f"{c[0]},week-4,4,26-35\r\n"
        f"{c[1]},,NA,18-25\r\n"
    )
    response = upload(client, study_id, content, "engagement.csv")
    assert response.status_code == 303
    assert response.headers["Location"] == url(study_id)
    html = text(client.get(url(study_id)))
    assert "Stored engagement.csv as version 1: 3 rows, 2 columns." in html
    assert "Current: version 1" in html
    assert "by researcher@example.org" in html
    assert "Rows: 1 for the participant as a whole, 1 at baseline, 1 at week-4." in html
    assert "4 to 12, mean 8" in html  # messages_sent: range and mean
    assert "18-25 (1), 26-35 (2)" in html  # age_group: levels and counts
    assert "Upload a new version" in html
    assert counts(app) == (1, 6)
    with app.app_context():
        event = db.session.scalar(
            select(AuditEvent).where(AuditEvent.action == AuditAction.OUTCOMES_UPLOADED)
        )
        assert event.details["filename"] == "engagement.csv"


def test_external_ids_are_matched_on_upload(app, client, study_id):
    c = codes(app, study_id)
    response = upload(client, study_id, "external_id,active_weeks\r\nplatform-7,6\r\n")
    assert response.status_code == 303
    with app.app_context():
        study = db.session.get(studies.Study, study_id)
        table = outcomes.current_outcomes(study)
        assert table.rows == {(int(c[3][1:]), None): {"active_weeks": 6.0}}


def test_a_broken_file_lists_every_problem_next_to_the_field(app, client, study_id):
    c = codes(app, study_id)
    content = (
        f"participant,wave,Excluded\r\nP999999,baseline,1\r\n{c[0]},week-9,1\r\n{c[1]},baseline\r\n"
    )
    response = upload(client, study_id, content, "broken.csv")
    html = text(response)
    assert response.status_code == 422
    assert "4 problems in broken.csv (listed below); nothing was stored." in html
    for problem in (
        "row 2: participant P999999 is not in this study",
        "row 3: wave &#39;week-9&#39; is not a wave of this study (its waves: baseline, week-4)",
        "row 4: 2 cells, but the header has 3 columns",
        "column &#39;Excluded&#39; is a reserved name (of the exports, R, SPSS or Stata)",
    ):
        assert problem in html
    assert 'aria-invalid="true"' in html and 'id="file-error"' in html
    assert "<details>" not in html
    assert counts(app) == (0, 0)


def test_more_than_twenty_problems_fold_the_rest(app, client, study_id):
    content = "participant,x\r\n" + "".join(f"P9{n:05d},1\r\n" for n in range(25))
    html = text(upload(client, study_id, content))
    assert "25 problems in outcomes.csv" in html
    assert html.count("is not in this study") == 25
    folded = html[html.index("<details>") :]
    assert "5 more problems" in folded and folded.count("is not in this study") == 5


@pytest.mark.parametrize(
    ("content", "status", "message"),
    [
        (None, 422, "Choose a CSV file to upload."),
        (b"", 422, "x.csv: the file is empty (no header row, no data)"),
        (b"participant,x\r\n", 422, "only a header row, no data rows"),
        (b"\x89PNG\r\n\x1a\n\x00\x00", 422, "this is a binary file, not a CSV text file"),
        (b"participant,x\r\n" + b"P000001,1\r\n" * 1_000_000, 413, "the limit is 10.0 MB"),
    ],
)
def test_refused_uploads_say_why(app, client, study_id, content, status, message):
    data = {} if content is None else {"file": csv_file(content, "x.csv")}
    response = post(client, url(study_id), data)
    assert response.status_code == status
    assert message in text(response)
    assert counts(app) == (0, 0)


# -- versions and downloads -----------------------------------------------------------------
def test_versions_are_kept_and_downloads_round_trip(app, client, study_id):
    c = codes(app, study_id)
    first = f"participant,wave,score,note\r\n{c[0]},week-4,1.50,=A1\r\n{c[2]},,-3,\r\n"
    assert upload(client, study_id, first, "first.csv").status_code == 303
    download = client.get(url(study_id, "/1.csv"))
    assert download.status_code == 200
    body = text(download)
    assert body == f"participant,wave,score,note\r\n{c[0]},week-4,1.5,'=A1\r\n{c[2]},,-3,\r\n"
    assert "outcomes-study-outcomes-v1.csv" in download.headers["Content-Disposition"]
    assert upload(client, study_id, body, "again.csv").status_code == 303
    html = text(client.get(url(study_id)))
    assert "Current: version 2" in html
    assert "Download v1" in html and "Download v2" in html
    with app.app_context():
        study = db.session.get(studies.Study, study_id)
        v1, v2 = (outcomes.outcomes_of(u) for u in reversed(outcomes.uploads_of(study)))
        assert v1.rows == v2.rows
        assert v1.rows[(int(c[0][1:]), study.waves[1].id)] == {"score": 1.5, "note": "=A1"}
        event = db.session.scalar(
            select(AuditEvent).where(AuditEvent.action == AuditAction.EXPORT_DOWNLOADED)
        )
        assert event.details == {"export": "outcomes_csv", "outcome_version": 1, "simulated": False}
        assert event.hash_after == download.headers["X-Content-SHA256"]
    assert client.get(url(study_id, "/3.csv")).status_code == 404


# -- who may ------------------------------------------------------------------------------
def test_a_viewer_sees_and_downloads_but_cannot_upload(app, client, study_id, make_user, login):
    c = codes(app, study_id)
    assert upload(client, study_id, f"participant,x\r\n{c[0]},1\r\n").status_code == 303
    user_id = make_user("viewer@example.org")
    with app.app_context():
        db.session.add(StudyMember(study_id=study_id, user_id=user_id, role="viewer"))
        db.session.commit()
    viewer = app.test_client()
    assert login(viewer, "viewer@example.org").status_code == 302
    html = text(viewer.get(url(study_id)))
    assert "Current: version 1" in html
    assert 'type="file"' not in html
    assert viewer.get(url(study_id, "/1.csv")).status_code == 200
    assert upload(viewer, study_id, f"participant,x\r\n{c[0]},2\r\n").status_code == 403
    assert counts(app) == (1, 1)


def test_a_simulated_version_is_marked(app, client, study_id):
    with app.app_context():
        study = db.session.get(studies.Study, study_id)
        first = min(p.id for p in study_participants(study))
        records = outcomes.OutcomeRecords(
            columns=[{"name": "dropped_out", "kind": "numeric"}],
            rows=[(first, None, {"dropped_out": 1})],
        )
        outcomes.store_outcomes(
            study, records, filename="simulation", source="simulation", actor=None, simulated=True
        )
        db.session.commit()
    html = text(client.get(url(study_id)))
    assert re.search(r"Current: version 1 <span class=\"status-badge\">simulated</span>", html)
    assert "Simulated data:" in html and "stored by the simulation" in html
    download = client.get(url(study_id, "/1.csv"))
    assert "outcomes-study-outcomes-v1-simulated.csv" in download.headers["Content-Disposition"]


def study_participants(study):
    from survey.models import Participant

    return list(db.session.scalars(select(Participant).where(Participant.study_id == study.id)))
