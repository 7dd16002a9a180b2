"""``flask instruments import-fhir FILE [--key KEY]``."""

from __future__ import annotations

import json

from sqlalchemy import func, select

from survey.services.fhir.questionnaire import definition_questionnaire
from tests.survey.fhir.conftest import FIXTURES


def version_count(app) -> int:
    from survey.extensions import db
    from survey.models import InstrumentVersion

    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(InstrumentVersion))


def test_import_a_questionnaire_as_a_draft(app, runner):
    from survey.extensions import db
    from survey.models import AuditEvent, InstrumentVersion

    path = FIXTURES / "worry-sleep.json"
    result = runner.invoke(args=["instruments", "import-fhir", str(path)])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("Imported as a draft: worry-sleep 2.1.0 (version id ")
    with app.app_context():
        version = db.session.scalar(select(InstrumentVersion))
        assert (version.instrument.key, version.status) == ("worry-sleep", "draft")
        event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "version_imported"))
        assert event.details["format"] == "fhir" and event.details["via"] == "cli"

    again = runner.invoke(args=["instruments", "import-fhir", str(path)])
    assert again.exit_code == 0
    assert again.output.startswith("Already imported (draft): worry-sleep 2.1.0")
    assert version_count(app) == 1


def test_the_key_option(app, runner, tmp_path, small):
    path = tmp_path / "small.json"
    path.write_text(json.dumps(definition_questionnaire(small, base_url="https://x.org")))
    result = runner.invoke(args=["instruments", "import-fhir", str(path), "--key", "copy"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("Imported as a draft: copy 1.0.0")


def test_a_refused_questionnaire_lists_its_problems_and_stores_nothing(app, runner):
    path = FIXTURES / "rejected.json"
    result = runner.invoke(args=["instruments", "import-fhir", str(path)])
    assert result.exit_code == 1
    assert f"{path}: linkId 'FREE_1': type 'string' is not supported" in result.output
    assert f"{path}: item[0].item[2]: has no linkId" in result.output
    assert "(12 problems); nothing was imported" in result.output
    assert version_count(app) == 0


def test_not_json(app, runner, tmp_path):
    path = tmp_path / "q.json"
    path.write_text("<Questionnaire/>")
    result = runner.invoke(args=["instruments", "import-fhir", str(path)])
    assert result.exit_code == 1
    assert f"{path}: not valid JSON: line 1 column 1: Expecting value" in result.output
    assert version_count(app) == 0
