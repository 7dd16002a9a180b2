"""Researchers import a comparator instrument (research.import_instrument): a YAML
instrument file or a REDCap data dictionary, published at once and offered for new
studies; refusals listed with their file and line, nothing stored."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from sqlalchemy import func, select
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from instruments.loader import load_instrument_text
from instruments.redcap import to_redcap_csv
from survey.extensions import db
from survey.models import AuditEvent, InstrumentVersion, VersionStatus

MOOD_SCREENER = Path(__file__).parents[2] / "fixtures" / "instruments" / "mood_screener.yaml"
URL = "/research/instruments/import"


def upload(client, data: bytes, name: str, fmt: str = "auto"):
    """POST the import form, the body encoded in memory (the test client would spool a
    large one to a temporary file and leave it open when the app refuses to read it)."""
    file = FileStorage(io.BytesIO(data), filename=name, content_type="application/octet-stream")
    boundary, body = encode_multipart({"file": file, "format": fmt})
    return client.post(URL, data=body, content_type=f"multipart/form-data; boundary={boundary}")


def _versions(app) -> list[tuple[str, str, str]]:
    with app.app_context():
        return [
            (v.instrument.key, v.version, v.status)
            for v in db.session.scalars(select(InstrumentVersion).order_by(InstrumentVersion.id))
        ]


def test_a_researcher_imports_a_yaml_instrument_published_for_new_studies(app, researcher_client):
    page = researcher_client.get(URL).get_data(as_text=True)
    assert 'type="file"' in page and "size=" not in page
    response = upload(researcher_client, MOOD_SCREENER.read_bytes(), "mood_screener.yaml")
    assert response.status_code == 302
    assert response.headers["Location"] == "/research/studies/new"
    assert _versions(app) == [("mood_screener", "1.0.0", VersionStatus.PUBLISHED)]
    new_study = researcher_client.get("/research/studies/new").get_data(as_text=True)
    assert "Imported and published Mood screener (test fixture) (mood_screener 1.0.0)" in new_study
    assert "mood_screener 1.0.0 – Mood screener (test fixture)</option>" in new_study
    with app.app_context():
        actions = list(db.session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)))
        event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "version_imported"))
        assert event.actor_email == "researcher@example.org"
        assert event.details["file"] == "mood_screener.yaml"
    assert actions[-2:] == ["version_imported", "version_published"]
    # The same file again changes nothing.
    again = upload(researcher_client, MOOD_SCREENER.read_bytes(), "mood_screener.yaml")
    assert again.status_code == 302
    assert "is here already with the same content" in researcher_client.get(
        "/research/studies/new"
    ).get_data(as_text=True)
    assert len(_versions(app)) == 1


def test_a_redcap_data_dictionary_is_imported(app, researcher_client):
    definition = load_instrument_text(MOOD_SCREENER.read_text(encoding="utf-8"), "mood.yaml")
    csv_text = to_redcap_csv(definition)
    response = upload(researcher_client, csv_text.encode("utf-8"), "mood_screener.csv")
    assert response.status_code == 302, response.get_data(as_text=True)
    [(key, _version, status)] = _versions(app)
    assert status == VersionStatus.PUBLISHED and key.startswith("mood")


@pytest.mark.parametrize(
    ("data", "name", "fmt", "expected"),
    [
        (b"format: 1\nkey: [unclosed\n", "broken.yaml", "auto", "broken.yaml: "),
        (
            MOOD_SCREENER.read_bytes().replace(b"reverse: true", b"reverse: maybe"),
            "mood_screener.yaml",
            "auto",
            "mood_screener.yaml: constructs[0].subconstructs[0].items[2].reverse",
        ),
        (b'Variable / Field Name,Form Name\n"unclosed,x\n', "dict.csv", "auto", "dict.csv: "),
        (b"\xff\xfe not utf-8 \x00", "latin.yaml", "auto", "UTF-8"),
    ],
)
def test_a_refused_file_lists_its_problems_and_imports_nothing(
    app, researcher_client, data, name, fmt, expected
):
    response = upload(researcher_client, data, name, fmt)
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "Nothing was imported" in page
    assert expected in page, page
    assert _versions(app) == []


def test_format_unknown_missing_file_and_conflict(app, researcher_client):
    unknown = upload(researcher_client, b"x", "notes.txt")
    assert unknown.status_code == 422
    assert "Cannot tell the format from the name" in unknown.get_data(as_text=True)
    missing = researcher_client.post(URL, data={"format": "auto"})
    assert missing.status_code == 422
    assert "Choose a file to import." in missing.get_data(as_text=True)
    upload(researcher_client, MOOD_SCREENER.read_bytes(), "mood_screener.yaml")
    changed = MOOD_SCREENER.read_bytes().replace(b"I have felt down", b"I felt down")
    conflict = upload(researcher_client, changed, "mood_screener.yaml")
    assert conflict.status_code == 422
    assert "exists already" in conflict.get_data(as_text=True)
    assert len(_versions(app)) == 1


def test_an_upload_over_the_limit_is_refused_before_it_is_parsed(app, researcher_client):
    from survey.services import versions

    big = b"#" * (versions.MAX_UPLOAD_BYTES + 1)
    response = upload(researcher_client, big, "big.yaml")
    assert response.status_code == 413
    assert "the limit is" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(InstrumentVersion)) == 0


def test_over_the_request_limit_is_a_413_with_the_form_not_a_500(app, researcher_client):
    app.config["MAX_CONTENT_LENGTH"] = 3_000_000
    response = upload(researcher_client, b"x" * 10_000_000, "huge.csv")
    page = response.get_data(as_text=True)
    assert response.status_code == 413
    assert "the limit is 2.0 MB" in page and "Import an instrument" in page
    assert _versions(app) == []
    # Elsewhere in the research area the limit gives the usual page.
    boundary, body = encode_multipart({"name": "x" * 4_000_000})
    other = researcher_client.post(
        "/research/studies/new",
        data=body,
        content_type=f"multipart/form-data; boundary={boundary}",
    )
    assert other.status_code == 413


def test_anonymous_and_participants_cannot_import(app, client):
    response = upload(client, MOOD_SCREENER.read_bytes(), "mood_screener.yaml")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    assert _versions(app) == []
