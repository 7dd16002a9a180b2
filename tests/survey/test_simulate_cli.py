"""`flask demo simulate STUDY --participants N --waves K --seed S [--truth FILE]`
(survey/simulate_cli.py): its output, the truth file, --unless-simulated and every error,
each leaving nothing behind."""

from __future__ import annotations

import json
import shlex
from pathlib import Path

import pytest
from sqlalchemy import delete, func, select

from instruments.loader import instrument_path, load_instrument
from survey.extensions import db
from survey.models import (
    Answer,
    AuditAction,
    AuditEvent,
    OutcomeUpload,
    Participant,
    ResponseSession,
    StudyInstrument,
    Wave,
)

SLUG = "cli-simulated"
TRUTH_KEYS = {
    "loadings",
    "second_order_loadings",
    "thresholds",
    "construct_correlations",
    "stabilities",
    "mean_changes",
    "dropout_model",
    "outcome_model",
    "careless",
}


@pytest.fixture
def study(app):
    """An open IEM-DP 1.1.0 study with a baseline wave (committed)."""
    from survey.services import instruments, studies

    with app.app_context():
        version, _ = instruments.import_definition(
            load_instrument(instrument_path("iemdp", "1.1.0"))
        )
        study = studies.create_study(
            name="CLI simulated",
            slug=SLUG,
            instrument_version=version,
            consent_text="Agree?",
            consent_version="1",
            urgent_help_note="Call 112.",
            first_wave_label="Baseline",
            first_wave_offset_days=0,
        )
        db.session.commit()
        return study.id


def counts(app) -> dict[str, int]:
    with app.app_context():
        return {
            model.__name__: db.session.scalar(select(func.count()).select_from(model))
            for model in (Participant, ResponseSession, Answer, Wave, OutcomeUpload, AuditEvent)
        }


def simulate(runner, *args: str):
    return runner.invoke(args=["demo", "simulate", *args])


def test_simulate_with_truth(app, runner, study, tmp_path):
    truth_path = tmp_path / "truth.json"
    result = simulate(
        runner, SLUG, "--participants", "60", "--waves", "2", "--seed", "3",
        "--truth", str(truth_path),
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert f"Simulated 60 participants in {SLUG}" in result.output
    assert "waves baseline, week-4 (added: week-4)" in result.output
    assert f"Truth written to {truth_path}." in result.output
    for kind in ("straightline", "random", "fast"):
        assert f"  {kind}: " in result.output
    assert "false positives among the others: " in result.output
    assert "/p/" not in result.output  # no participant link, no token

    truth = json.loads(truth_path.read_text(encoding="utf-8"))
    assert TRUTH_KEYS <= set(truth)
    assert truth["seed"] == 3 and truth["participants"] == 60
    assert truth["waves"] == ["baseline", "week-4"]
    assert len(truth["loadings"]) == 72 and "TA_BOND_1" in truth["loadings"]
    with app.app_context():
        simulated = set(
            db.session.scalars(select(Participant.id).where(Participant.simulated.is_(True)))
        )
        assert len(simulated) == 60
        assert {int(code[1:]) for code in truth["careless"]} <= simulated
        (event,) = db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == AuditAction.STUDY_SIMULATED)
        )
        assert event.details["participants"] == 60
    assert not list(tmp_path.glob(".truth.json.*"))  # the temporary file was moved


def test_exclude_flagged_excludes_what_the_rules_flag_in_the_same_commit(app, runner, study):
    from survey.models import SessionExclusion, Study
    from survey.services import data_quality

    result = simulate(
        runner, SLUG, "--participants", "80", "--waves", "1", "--seed", "5", "--exclude-flagged"
    )
    assert result.exit_code == 0, result.output
    with app.app_context():
        excluded = list(db.session.scalars(select(SessionExclusion)))
        assert excluded, "the simulated careless responders should be flagged"
        assert f"Excluded {len(excluded)} flagged sessions" in result.output
        assert all(e.lifted_at is None and "--exclude-flagged" in e.reason for e in excluded)
        flagged = {
            assessed.record.session_id
            for chunk in data_quality.QualityAssessor.for_study(
                db.session.get(Study, study)
            ).assess_study()
            for assessed in chunk
            if assessed.flagged
        }
        assert {e.session_id for e in excluded} == flagged
        events = db.session.scalar(
            select(func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.action == AuditAction.SESSION_EXCLUDED)
        )
        assert events == len(excluded)


def test_unless_simulated_adds_nothing_the_second_time(app, runner, study):
    args = (SLUG, "--participants", "10", "--waves", "1", "--seed", "1", "--unless-simulated")
    first = simulate(runner, *args)
    assert first.exit_code == 0, first.output
    before = counts(app)
    again = simulate(runner, *args)
    assert again.exit_code == 0, again.output
    assert "has 10 simulated participants already: nothing added" in again.output
    assert counts(app) == before
    # Without the option a second run adds another sample.
    more = simulate(runner, *args[:-1])
    assert more.exit_code == 0, more.output
    assert counts(app)["Participant"] == 20


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ("no-such-study", "--participants", "5", "--waves", "1", "--seed", "1"),
            "no study with the slug 'no-such-study'",
        ),
        (
            (SLUG, "--participants", "0", "--waves", "1", "--seed", "1"),
            "Invalid value for '--participants': 0 is not in the range",
        ),
        (
            (SLUG, "--participants", "5", "--waves", "0", "--seed", "1"),
            "Invalid value for '--waves': 0 is not in the range",
        ),
        (
            (SLUG, "--participants", "5", "--waves", "1", "--seed", "-1"),
            "Invalid value for '--seed': -1 is not in the range",
        ),
        ((SLUG, "--waves", "1", "--seed", "1"), "Missing option '--participants'"),
    ],
)
def test_bad_arguments_write_nothing(app, runner, study, args, message):
    before = counts(app)
    result = simulate(runner, *args)
    assert result.exit_code != 0
    assert message in result.output
    assert counts(app) == before


def test_an_unwritable_truth_path_writes_nothing(app, runner, study, tmp_path):
    base = (SLUG, "--participants", "5", "--waves", "2", "--seed", "1", "--truth")
    before = counts(app)
    for path, message in (
        (tmp_path / "missing" / "truth.json", "does not exist"),
        (tmp_path, "is a folder, not a file"),
    ):
        result = simulate(runner, *base, str(path))
        assert result.exit_code != 0
        assert "--truth" in result.output and message in result.output, result.output
        assert counts(app) == before
    # A folder that takes no files: found out only when writing, after the simulation;
    # it is rolled back.
    result = simulate(runner, *base, "/proc/truth.json")
    assert result.exit_code != 0
    assert "/proc/truth.json cannot be written" in result.output, result.output
    assert counts(app) == before


def test_a_study_without_a_battery_is_refused(app, runner, study):
    with app.app_context():
        db.session.execute(delete(StudyInstrument).where(StudyInstrument.study_id == study))
        db.session.commit()
    before = counts(app)
    result = simulate(runner, SLUG, "--participants", "5", "--waves", "1", "--seed", "1")
    assert result.exit_code != 0
    assert f"study '{SLUG}' has no instrument in its battery" in result.output
    assert counts(app) == before


def test_make_run_seeds_the_demo_study_once(app, runner):
    """The Makefile's `run` target simulates 600 participants x 3 waves into the demo
    study; running it again adds none."""
    from survey.cli import DEMO_SLUG

    makefile = (Path(__file__).parents[2] / "Makefile").read_text(encoding="utf-8")
    (line,) = [line for line in makefile.splitlines() if " demo simulate " in line]
    args = shlex.split(line.split(" demo simulate ", 1)[1])
    assert args[0] == DEMO_SLUG and "--unless-simulated" in args
    setup = runner.invoke(args=["demo", "setup"])
    assert setup.exit_code == 0, setup.output
    first = runner.invoke(args=["demo", "simulate", *args])
    assert first.exit_code == 0, first.output
    assert "Simulated 600 participants in iemdp-demo" in first.output
    assert "waves baseline, week-4, week-8 (added: week-8)" in first.output
    again = runner.invoke(args=["demo", "setup"])
    assert again.exit_code == 0, again.output
    second = runner.invoke(args=["demo", "simulate", *args])
    assert second.exit_code == 0, second.output
    assert "has 600 simulated participants already: nothing added" in second.output
    with app.app_context():
        simulated = db.session.scalar(
            select(func.count(Participant.id)).where(Participant.simulated.is_(True))
        )
        people = db.session.scalar(
            select(func.count(Participant.id)).where(Participant.simulated.is_(False))
        )
    assert simulated == 600 and people == 2  # one demo participant per `demo setup`
