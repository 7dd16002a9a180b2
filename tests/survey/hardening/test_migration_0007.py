"""Migration 0007: data-quality and outcome tables; downgrade is lossless or refused."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from flask_migrate import downgrade, upgrade
from sqlalchemy import text

from survey.extensions import db
from survey.models import ConsentDecision, OutcomeUpload, Participant, SessionExclusion
from survey.services import participation, studies

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
ANSWERS = "SELECT session_id, item_id, value FROM answers ORDER BY id"


def rows(query: str) -> list[tuple]:
    result = [tuple(row) for row in db.session.execute(text(query))]
    db.session.commit()
    return result


def answer_all(info, small) -> int:
    invitation = participation.resolve(info.token, now=T0)
    participation.record_consent(invitation, ConsentDecision.GIVEN, now=T0)
    session = participation.start_session(invitation, now=T0)
    for number, page in enumerate(small.pages(), start=1):
        participation.save_page(session, number, {e.id: 2 for e in page.entries}, now=T0)
    db.session.commit()
    return session.id


def refused(caplog) -> str:
    """Downgrade to 0006 from 0007 (the later revisions go down first, on their own: SQLite
    runs DDL outside a transaction, so a refusal by 0007 would otherwise leave them undone
    there but not on PostgreSQL); it exits 1 and the database stays at 0007."""
    caplog.clear()
    db.session.commit()
    downgrade(revision="0007")
    with pytest.raises(SystemExit) as exited:
        downgrade(revision="0006")
    assert exited.value.code == 1
    db.session.rollback()
    assert rows("SELECT version_num FROM alembic_version") == [("0007",)]
    return caplog.text


def test_web_answers_and_defaults_survive_down_and_up(app, make_study, small):
    info = make_study(small, participants=1)
    with app.app_context():
        answer_all(info, small)
        before = rows(ANSWERS)
        assert rows("SELECT DISTINCT delivery_mode FROM answers") == [("web",)]
        downgrade(revision="0006")
        assert rows(ANSWERS) == before
        upgrade()
        assert rows(ANSWERS) == before
        assert rows("SELECT DISTINCT delivery_mode FROM answers") == [("web",)]
        assert rows("SELECT simulated FROM participants") in ([(0,)], [(False,)])


@pytest.mark.parametrize("what", ["simulated", "chat", "rules", "exclusion", "outcomes"])
def test_downgrade_is_refused_while_new_data_would_be_lost(app, make_study, small, caplog, what):
    info = make_study(small, participants=1)
    with app.app_context():
        session_id = answer_all(info, small)
        study = studies.get_study(info.slug)
        if what == "simulated":
            db.session.get(Participant, 1).simulated = True
            expected = "1 x simulated participant(s)"
        elif what == "chat":
            db.session.execute(text("UPDATE answers SET delivery_mode = 'chat' WHERE id = 1"))
            expected = "1 x chat answer(s)"
        elif what == "rules":
            study.quality_rules = {"longstring": {"enabled": False}}
            expected = "own data-quality rules"
        elif what == "exclusion":
            db.session.add(SessionExclusion(session_id=session_id, reason="test"))
            expected = "1 x session exclusion(s)"
        else:
            db.session.add(
                OutcomeUpload(
                    study_id=study.id,
                    version=1,
                    filename="o.csv",
                    sha256="0" * 64,
                    row_count=0,
                    columns=[],
                )
            )
            expected = "1 x outcome version(s)"
        db.session.commit()
        before = rows(ANSWERS)
        assert expected in refused(caplog)
        assert rows(ANSWERS) == before
