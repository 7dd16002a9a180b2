"""Migration 0008: validation runs and hypotheses; one active run per set of inputs;
downgrade is lossless or refused."""

from __future__ import annotations

import pytest
from flask_migrate import downgrade, upgrade
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from survey.extensions import db
from survey.models import RunStatus, StudyHypothesis, ValidationRun
from survey.services import studies


def rows(query: str) -> list[tuple]:
    result = [tuple(row) for row in db.session.execute(text(query))]
    db.session.commit()
    return result


def run(study_id: int, key: str, status: str) -> ValidationRun:
    return ValidationRun(study_id=study_id, inputs_key=key, status=status)


def test_only_one_queued_or_running_run_per_inputs(app, make_study, small):
    info = make_study(small, participants=1)
    with app.app_context():
        study = studies.get_study(info.slug)
        db.session.add_all(
            [
                run(study.id, "a" * 64, RunStatus.DONE),
                run(study.id, "a" * 64, RunStatus.FAILED),
                run(study.id, "a" * 64, RunStatus.RUNNING),
                run(study.id, "b" * 64, RunStatus.QUEUED),
            ]
        )
        db.session.commit()
        db.session.add(run(study.id, "a" * 64, RunStatus.QUEUED))
        with pytest.raises(IntegrityError):
            db.session.commit()
        db.session.rollback()
        db.session.add(run(study.id, "c" * 64, "paused"))
        with pytest.raises(IntegrityError):
            db.session.commit()
        db.session.rollback()
        assert rows("SELECT count(*) FROM validation_runs") == [(4,)]


def test_down_and_up_when_empty(app):
    with app.app_context():
        downgrade(revision="0007")
        assert "validation_runs" not in db.inspect(db.engine).get_table_names()
        upgrade(revision="0008")
        assert rows("SELECT version_num FROM alembic_version") == [("0008",)]
        upgrade()


@pytest.mark.parametrize("what", ["run", "hypothesis"])
def test_downgrade_is_refused_while_runs_or_hypotheses_are_stored(
    app, make_study, small, caplog, what
):
    info = make_study(small, participants=1)
    with app.app_context():
        study = studies.get_study(info.slug)
        if what == "run":
            db.session.add(run(study.id, "d" * 64, RunStatus.DONE))
            expected = "1 x validation run(s)"
        else:
            db.session.add(StudyHypothesis(study_id=study.id, text="TA > 0", spec={}))
            expected = "1 x study hypothesis (hypotheses)"
        db.session.commit()
        downgrade(revision="0008")  # later revisions first (they hold nothing here)
        caplog.clear()
        with pytest.raises(SystemExit) as exited:
            downgrade(revision="0007")
        assert exited.value.code == 1
        db.session.rollback()
        assert rows("SELECT version_num FROM alembic_version") == [("0008",)]
        assert expected in caplog.text
