"""The admin console's import page takes a FHIR Questionnaire (JSON) too: detected from
``.json`` or chosen, imported as a draft; a refused one lists its problems by linkId."""

from __future__ import annotations

import io
from html import unescape

from sqlalchemy import func, select
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from tests.survey.fhir.conftest import FIXTURES

BASE = "/admin/instruments"


def upload(client, data: bytes, filename: str, fmt: str = "auto"):
    file = FileStorage(io.BytesIO(data), filename=filename, content_type="application/json")
    boundary, body = encode_multipart({"file": file, "format": fmt})
    return client.post(
        f"{BASE}/import", data=body, content_type=f"multipart/form-data; boundary={boundary}"
    )


def stored(app):
    from survey.extensions import db
    from survey.models import InstrumentVersion

    with app.app_context():
        return [
            (version.instrument.key, version.version, version.status)
            for version in db.session.scalars(select(InstrumentVersion))
        ]


def test_the_form_offers_fhir(admin_client):
    page = admin_client.get(f"{BASE}/import").get_data(as_text=True)
    assert 'value="fhir"' in page
    assert "FHIR R4 Questionnaire (JSON; single-choice items)" in page


def test_a_json_file_is_imported_as_a_draft(app, admin_client):
    response = upload(admin_client, (FIXTURES / "worry-sleep.json").read_bytes(), "worry.json")
    assert response.status_code == 302, response.get_data(as_text=True)
    assert stored(app) == [("worry-sleep", "2.1.0", "draft")]
    page = admin_client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Imported worry-sleep 2.1.0 as draft." in unescape(page)


def test_the_format_chosen_for_another_extension(app, admin_client):
    data = (FIXTURES / "mood-flat-integer.json").read_bytes()
    assert upload(admin_client, data, "mood.txt", fmt="fhir").status_code == 302
    assert stored(app) == [("mood", "1.0.0", "draft")]


def test_a_refused_questionnaire_lists_its_problems(app, admin_client):
    from survey.extensions import db
    from survey.models import AuditEvent

    response = upload(admin_client, (FIXTURES / "rejected.json").read_bytes(), "rejected.json")
    assert response.status_code == 400
    page = unescape(response.get_data(as_text=True))
    assert "rejected.json: linkId 'CODE_1': answerOption[0]: code 'a' is not an integer" in page
    assert "rejected.json: item[0].item[2]: has no linkId" in page
    assert "12 problems in the file (listed above); nothing was imported." in page
    assert stored(app) == []
    with app.app_context():
        imported = select(func.count()).where(AuditEvent.action == "version_imported")
        assert db.session.scalar(imported) == 0
