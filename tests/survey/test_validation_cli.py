"""`flask analysis validate STUDY [--wave W] [--json FILE] [--include-excluded] [--seed N]`
(survey/validation_cli.py): the summary, the JSON report, reproducibility and every error,
each leaving no file behind."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from survey.extensions import db
from survey.models import ResponseSession
from survey.services import exclusions
from tests.survey.validation.conftest import make_simulated_study

SLUG = "cli-validation"


@pytest.fixture
def study(app):
    with app.app_context():
        study, _ = make_simulated_study(participants=150, waves=2, seed=11, slug=SLUG)
        db.session.commit()
        return study.id


def validate(runner, *args: str):
    return runner.invoke(args=["analysis", "validate", *args])


def test_the_report_has_both_models_with_lavaan_names_and_is_reproducible(runner, study, tmp_path):
    first, second = tmp_path / "first.json", tmp_path / "second.json"
    result = validate(runner, SLUG, "--json", str(first))
    assert result.exit_code == 0, result.output
    assert f"Study {SLUG}: " in result.output
    assert "first-order CFA (WLSMV): chisq " in result.output
    assert "Structural validity: " in result.output
    assert f"wrote {first}" in result.output
    report = json.loads(first.read_text(encoding="utf-8"))
    assert report["first_order"]["estimator"] == "WLSMV"
    for key in ("first_order", "second_order"):
        model = report[key]
        assert model["estimator"] in ("WLSMV", "MLR") and model["estimator_reason"]
        assert {"chisq", "df", "chisq.scaled", "cfi.robust", "tli.robust", "rmsea.robust"} <= set(
            model["fit_measures"]
        )
        assert "srmr" in model["fit_measures"]
        # the printed summary names the measures the verdict is judged on: the robust ones,
        # or the scaled ones where lavaan 0.6-14 has none (its robust CFI/TLI/RMSEA for
        # categorical data need a positive definite polychoric matrix; 72 items, 150 rows here)
        judged = model["judged"]
        assert judged["cfi"] in ("cfi.robust", "cfi.scaled")
        robust = model["fit_measures"]["cfi.robust"] is not None
        assert (judged["cfi"] == "cfi.robust") == robust
        for name in (judged["cfi"], judged["rmsea"]):
            assert f"{name} " in result.output
    assert report["first_order"] == report["instruments"][0]["structural_validity"]["first_order"]
    assert report["inputs"]["waves"] == ["baseline", "week-4"]
    assert report["inputs"]["seed"] == 1 and len(report["inputs"]["rows_sha256"]) == 64
    assert len(report["instruments"][0]["cosmin"]["rows"]) == 8
    again = validate(runner, SLUG, "--json", str(second))
    assert again.exit_code == 0, again.output
    assert second.read_bytes() == first.read_bytes()
    assert not list(tmp_path.glob(".*.part"))


def test_one_wave_and_excluded_sessions(app, runner, study, tmp_path):
    with app.app_context():
        session = db.session.scalars(select(ResponseSession).order_by(ResponseSession.id)).first()
        exclusions.exclude(session, "test exclusion", actor=None)
        db.session.commit()
    path = tmp_path / "baseline.json"
    result = validate(runner, SLUG, "--wave", "baseline", "--json", str(path))
    assert result.exit_code == 0, result.output
    assert "1 excluded session(s) left out (--include-excluded keeps them)" in result.output
    report = json.loads(path.read_text(encoding="utf-8"))
    assert report["inputs"]["wave"] == "baseline" and report["inputs"]["excluded_left_out"] == 1
    assert report["instruments"][0]["test_retest"]["available"] is False
    kept = validate(runner, SLUG, "--wave", "baseline", "--include-excluded", "--json", str(path))
    assert kept.exit_code == 0, kept.output
    assert "no excluded session left out" in kept.output
    assert json.loads(path.read_text(encoding="utf-8"))["inputs"]["rows"] == (
        report["inputs"]["rows"] + 1
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("no-such-study",), "no-such-study"),
        ((SLUG, "--wave", "week-99"), "has no wave 'week-99'"),
        ((SLUG, "--seed", "x"), "'x' is not a valid integer"),
        ((SLUG, "--group", "shoe_size"), "no group variable 'shoe_size' in this study"),
    ],
)
def test_errors_name_the_problem(runner, study, args, message):
    result = validate(runner, *args)
    assert result.exit_code != 0
    assert message in result.output
    assert "Traceback" not in result.output


def test_an_unwritable_json_path_is_an_error_naming_it_and_leaves_no_file(runner, study, tmp_path):
    missing = tmp_path / "no-such-folder" / "report.json"
    result = validate(runner, SLUG, "--json", str(missing))
    assert result.exit_code == 1
    assert f"cannot write {missing}" in result.output
    assert not missing.parent.exists()
    out = tmp_path / "out"
    folder = out / "folder.json"
    folder.mkdir(parents=True)
    result = validate(runner, SLUG, "--json", str(folder))
    assert result.exit_code == 2 and f"{folder}' is a directory" in result.output
    assert list(out.iterdir()) == [folder] and not list(folder.iterdir())


def test_hypotheses_stated_before_the_run_are_tested_and_listed(app, runner, study, tmp_path):
    from survey.services import hypotheses, studies

    with app.app_context():
        hypotheses.state_hypothesis(
            studies.get_study(SLUG), "TA correlates >= .05 with active_weeks", actor=None
        )
        db.session.commit()
    path = tmp_path / "report.json"
    result = validate(runner, SLUG, "--json", str(path))
    assert result.exit_code == 0, result.output
    report = json.loads(path.read_text(encoding="utf-8"))
    (stated,) = report["inputs"]["hypotheses"]
    assert stated["text"] == "TA correlates >= .05 with active_weeks"
    (tested,) = report["instruments"][0]["hypotheses"]["results"]
    assert tested["id"] == stated["id"] and tested["met"] in (True, False)
    assert "Hypotheses testing for construct validity: " in result.output


def test_every_run_is_stored_with_its_inputs(app, runner, study, tmp_path):
    from survey.models import RunStatus, ValidationRun

    path = tmp_path / "report.json"
    result = validate(runner, SLUG, "--seed", "4", "--json", str(path))
    assert result.exit_code == 0, result.output
    with app.app_context():
        (run,) = db.session.scalars(select(ValidationRun))
        assert run.status == RunStatus.DONE and run.seed == 4 and run.requested_by_id is None
        assert f"validation run {run.id} stored (report SHA-256 {run.report_sha256})" in (
            result.output
        )
        assert run.report == json.loads(path.read_text(encoding="utf-8"))
        assert run.rows_sha256 == run.report["inputs"]["rows_sha256"]
        assert run.instrument_versions[0]["key"] == "iemdp"


def test_html_report_is_self_contained(runner, study, tmp_path):
    path = tmp_path / "report.html"
    result = validate(runner, SLUG, "--html", str(path))
    assert result.exit_code == 0, result.output
    assert f"wrote {path}" in result.output
    html = path.read_text(encoding="utf-8")
    assert html.startswith("<!DOCTYPE html>") or html.lower().startswith("<!doctype html>")
    assert "<svg" in html and "<script" not in html.lower()
    assert "http://" not in html and "https://" not in html
    assert "flask analysis validate (command line)" in html
