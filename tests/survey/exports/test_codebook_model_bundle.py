"""The codebook lists every variable with its names, wording and provenance, the rules and
counts; the lavaan models parse; the bundle holds every file, the outcomes and a README."""

from __future__ import annotations

import csv
import io
import json
import re
import zipfile

import pyreadstat

from instruments.measurement_model import measurement_model
from psychometrics.syntax import parse_model
from survey.extensions import db
from survey.models import Participant
from survey.services import data_quality, outcomes, studies
from survey.services.exports import Selection, export_to

RAW_STRING = re.compile(r'^(model_\w+) <- r"---\[(.*?)\]---"$', re.MULTILINE | re.DOTALL)


def export(study, kind, tmp_path, **selection):
    path = tmp_path / f"export-{kind}"
    export_to(study, kind, path, selection=Selection(**selection), actor=None)
    db.session.commit()
    return path


def test_codebook_json_lists_every_variable_with_its_provenance(
    app, export_world, export_definition, tmp_path
):
    with app.app_context():
        study = studies.get_study(export_world.slug)
        data_quality.set_rules(
            study, data_quality.QualityRules(longstring_at_least=7, fast_on=False), actor=None
        )
        db.session.commit()
        codebook = json.loads(export(study, "codebook_json", tmp_path).read_text("utf-8"))
        with open(export(study, "wide", tmp_path), encoding="utf-8", newline="") as file:
            header = next(csv.reader(file))

        variables = {v["name"]: v for v in codebook["variables"]}
        assert [v["name"] for v in codebook["variables"]] == header
        version = study.instrument_version
        item = variables["AA_S_3"]
        entry = export_definition.entry("AA_S_3")
        assert item == {
            "name": "AA_S_3",
            "name_sav_dta": "AA_S_3",
            "kind": "item",
            "label": entry.text,
            "storage": "number",
            "instrument": "small",
            "version": "1.0.0",
            "content_hash": version.content_hash,
            "construct": "AA",
            "subconstruct": "AA_S",
            "reverse": True,
            "expected": None,
            "response_scale": {
                "key": "agree3",
                "options": [
                    {"value": 1, "label": "Disagree"},
                    {"value": 2, "label": "Neutral"},
                    {"value": 3, "label": "Agree"},
                ],
            },
            "value_labels": {"1": "Disagree", "2": "Neutral", "3": "Agree"},
            "not_answered_code": {"sav": -9, "dta": ".a"},
        }
        assert variables["ATTN_1"]["kind"] == "attention_check"
        assert variables["ATTN_1"]["expected"] == 2
        assert variables["AA_S"]["kind"] == "subconstruct"
        assert variables["AA"]["kind"] == "construct"
        assert variables["flag_any"]["kind"] == "quality_flag"
        applied = {rule["rule"]: rule for rule in codebook["quality_rules"]["applied"]}
        assert applied["longstring"]["threshold"] == "longest run of identical answers ≥ 7"
        assert applied["fast"]["on"] is False
        assert "≥ 7" in variables["flag_longstring"]["label"]
        assert codebook["counts"] == {
            "sessions": 5,
            "excluded": 1,
            "excluded_left_out": 1,
            "rows": 4,
            "simulated_rows": 1,
        }
        assert codebook["simulated"] is True
        assert codebook["simulated_note"].startswith("SIMULATED DATA: 1 row(s)")
        assert codebook["battery"] == [
            {
                "instrument": "small",
                "version": "1.0.0",
                "title": export_definition.title,
                "content_hash": version.content_hash,
                "citation": export_definition.citation,
            }
        ]
        assert "-9 = not answered" in codebook["missing_values"]["sav"]


def test_codebook_html_says_it_too(app, export_world, tmp_path):
    with app.app_context():
        study = studies.get_study(export_world.slug)
        html = export(study, "codebook", tmp_path).read_text("utf-8")
        assert "<title>Codebook – Test study</title>" in html
        assert "SIMULATED DATA: 1 row(s)" in html
        assert "<th>Excluded sessions left out of the files</th><td>1</td>" in html
        assert "<code>flag_longstring</code>" in html
        assert study.instrument_version.content_hash in html
        assert "Statement AA 3." in html


def test_without_simulated_rows_the_codebook_says_none(app, export_world, tmp_path):
    with app.app_context():
        db.session.query(Participant).update({"simulated": False})
        db.session.commit()
        study = studies.get_study(export_world.slug)
        codebook = json.loads(export(study, "codebook_json", tmp_path).read_text("utf-8"))
        assert codebook["simulated"] is False
        assert codebook["simulated_note"].startswith("No row is simulated")


def test_model_script_holds_both_models_that_parse(app, make_study, iemdp, tmp_path):
    info = make_study(iemdp)
    with app.app_context():
        study = studies.get_study(info.slug)
        script = export(study, "model", tmp_path).read_text("utf-8")
        models = dict(RAW_STRING.findall(script))
        assert set(models) == {
            "model_iemdp_1_0_0_first_order",
            "model_iemdp_1_0_0_second_order",
        }
        version = study.instrument_version
        for name, syntax in models.items():
            assert f"# content hash (SHA-256): {version.content_hash}" in syntax
            parsed = parse_model(syntax)
            second = name.endswith("second_order")
            assert syntax.endswith(measurement_model(iemdp, second_order=second).syntax)
            assert set(parsed.observed) == {item.id for item in iemdp.items}
            constructs = {c.code for c in iemdp.constructs} & set(parsed.latent)
            assert bool(constructs) == second
        # The reverse keying the models need: every reverse-keyed item, 6 - x on 1..5.
        for item in iemdp.items:
            line = f"items_iemdp_1_0_0${item.id} <- 6 - items_iemdp_1_0_0${item.id}"
            assert (line in script) == item.reverse


def test_bundle_holds_every_file_the_outcomes_and_a_readme(app, export_world, tmp_path):
    with app.app_context():
        study = studies.get_study(export_world.slug)
        records = outcomes.OutcomeRecords(
            columns=[{"name": "messages_sent", "kind": "numeric"}],
            rows=[(export_world.participant_ids[0], None, {"messages_sent": 12})],
        )
        outcomes.store_outcomes(study, records, filename="engagement.csv", actor=None)
        db.session.commit()
        path = export(study, "bundle", tmp_path)
        with zipfile.ZipFile(path) as bundle:
            names = bundle.namelist()
            assert names == [
                "README.txt",
                "wide.csv",
                "wide.sav",
                "wide.dta",
                "wide.rds",
                "long.csv",
                "codebook.html",
                "codebook.json",
                "model.R",
                "models/small-1.0.0-first-order.lav",
                "models/small-1.0.0-second-order.lav",
                "outcomes.csv",
            ]
            readme = bundle.read("README.txt").decode("utf-8")
            wide = list(csv.DictReader(io.StringIO(bundle.read("wide.csv").decode("utf-8"))))
            outcome_rows = list(csv.DictReader(io.StringIO(bundle.read("outcomes.csv").decode())))
            for lav in (n for n in names if n.endswith(".lav")):
                parse_model(bundle.read(lav).decode("utf-8"))
            codebook = json.loads(bundle.read("codebook.json"))
            (tmp_path / "wide.sav").write_bytes(bundle.read("wide.sav"))
        assert outcome_rows == [
            {"participant": export_world.code(0), "wave": "", "messages_sent": "12"}
        ]
        assert "SIMULATED DATA: 1 row(s)" in readme
        assert 'read.csv("wide.csv")' in readme and 'readRDS("wide.rds")' in readme
        assert "GET FILE='wide.sav'." in readme and "lavaan::cfa" in readme
        assert "left out of these files: 1" in readme
        assert "outcomes.csv" in readme and "version 1" in readme
        assert study.instrument_version.content_hash in readme
        assert len(wide) == 4 and codebook["counts"]["rows"] == 4
        _, meta = pyreadstat.read_sav(tmp_path / "wide.sav")
        assert meta.number_rows == 4
