"""Migration 0006 carries single-instrument studies over to batteries with every answer in
place, and its downgrade is lossless or refused, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from flask_migrate import downgrade, upgrade
from sqlalchemy import text

from survey.extensions import db
from survey.models import ConsentDecision, Participant
from survey.services import instruments, participation, studies

T0 = datetime(2026, 2, 2, 10, 0, tzinfo=UTC)

ANSWERS = "SELECT id, session_id, item_id, page_key, value FROM answers ORDER BY id"
VISITS = "SELECT id, session_id, page_key, submit_count FROM page_visits ORDER BY id"
SESSIONS = "SELECT id, participant_id, wave_id, completed_at FROM response_sessions ORDER BY id"


def rows(query: str) -> list[tuple]:
    """The rows, read in a transaction of their own (a migration waits for none)."""
    result = [tuple(row) for row in db.session.execute(text(query))]
    db.session.commit()
    return result


def answer_some(info, small, *, completed: int) -> None:
    """``completed`` participants answer every page; the next one answers the first page."""
    for index, token in enumerate(info.tokens[: completed + 1]):
        invitation = participation.resolve(token, now=T0)
        participation.record_consent(invitation, ConsentDecision.GIVEN, now=T0)
        session = participation.start_session(invitation, now=T0)
        pages = small.pages() if index < completed else small.pages()[:1]
        for number, page in enumerate(pages, start=1):
            answers = {entry.id: 2 for entry in page.entries}
            participation.save_page(session, number, answers, now=T0)
    db.session.commit()


def test_existing_answers_move_to_the_battery_and_back_unchanged(app, make_study, small):
    info = make_study(small, participants=3)
    with app.app_context():
        answer_some(info, small, completed=1)
        version_id = db.session.scalar(text("SELECT id FROM instrument_versions"))
        at_head = rows(ANSWERS), rows(VISITS), rows(SESSIONS)
        assert len(at_head[0]) == 9 + 4  # one complete (4 + 4 + 1 check), one first page

        db.session.commit()
        downgrade(revision="0005")
        assert (rows(ANSWERS), rows(VISITS), rows(SESSIONS)) == at_head
        assert rows("SELECT instrument_version_id FROM studies") == [(version_id,)]
        assert set(rows("SELECT instrument_version_id FROM response_sessions")) == {(version_id,)}

        db.session.commit()
        upgrade()
        assert (rows(ANSWERS), rows(VISITS), rows(SESSIONS)) == at_head
        assert set(rows("SELECT instrument_version_id FROM answers")) == {(version_id,)}
        assert set(rows("SELECT instrument_version_id FROM page_visits")) == {(version_id,)}
        assert rows("SELECT study_id, instrument_version_id, position FROM study_instruments") == [
            (info.study_id, version_id, 0)
        ]
        # Enrolment comes from the first consent of each participant who gave one.
        enrolled = rows("SELECT enrolled_at IS NOT NULL FROM participants ORDER BY id")
        assert [bool(flag) for (flag,) in enrolled] == [True, True, False]
        # The study works at head: the half-way participant carries on from page 2.
        invitation = participation.resolve(info.tokens[1], now=T0)
        session = participation.find_session(invitation)
        assert participation.resume_number(session) == 2


def refused_downgrade(caplog) -> str:
    """Run ``flask db downgrade 0005`` from 0006 as the CLI does; it exits 1 and logs why,
    and the database stays at 0006. Then upgrade back to head (the models' schema).

    The later revisions go down first, on their own: SQLite runs DDL outside a transaction,
    so a refusal by 0006 would otherwise leave them undone there but not on PostgreSQL."""
    caplog.clear()
    db.session.commit()
    downgrade(revision="0006")
    with pytest.raises(SystemExit) as exited:
        downgrade(revision="0005")
    assert exited.value.code == 1
    db.session.rollback()
    assert rows("SELECT version_num FROM alembic_version") == [("0006",)]
    upgrade()
    return caplog.text


def test_downgrade_is_refused_while_a_battery_or_new_data_would_be_lost(
    app, make_study, small, make_definition, caplog
):
    info = make_study(small, participants=2)
    with app.app_context():
        answer_some(info, small, completed=1)
        study = studies.get_study(info.slug)
        participant = db.session.get(Participant, 1)
        participation.withdraw(participant, now=T0)
        db.session.commit()
        before = rows(ANSWERS), rows("SELECT id, withdrawn_at FROM participants ORDER BY id")

        assert "refused, it would lose data: 1 x a participant who withdrew" in (
            refused_downgrade(caplog)
        )
        assert (rows(ANSWERS), rows("SELECT id, withdrawn_at FROM participants ORDER BY id")) == (
            before
        )

        # A second instrument in a battery cannot be held by 0005 either.
        other, _ = instruments.import_definition(make_definition(key="other"))
        db.session.execute(
            text(
                "INSERT INTO study_instruments (study_id, instrument_version_id, position) "
                "VALUES (:study, :version, 1)"
            ),
            {"study": study.id, "version": other.id},
        )
        db.session.commit()
        assert "1 x a study with more than one instrument" in refused_downgrade(caplog)
        assert rows(ANSWERS) == before[0]
