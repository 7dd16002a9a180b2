"""study_data: a study's sessions in bounded chunks, with answers, timings and exclusions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from survey.extensions import db
from survey.models import ConsentDecision, Participant, ResponseSession, SessionExclusion
from survey.services import participation, studies, study_data
from survey.services.study_data import UnknownWave

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def answer(info, small, index: int, value: int, *, pages: int | None = None, wave_at=T0):
    """Participant ``index`` answers ``pages`` pages (all by default) with ``value``; each
    page is shown at ``wave_at`` and submitted 30 s later."""
    token = info.tokens[index]
    invitation = participation.resolve(token, now=wave_at)
    participation.record_consent(invitation, ConsentDecision.GIVEN, now=wave_at)
    session = participation.start_session(invitation, now=wave_at)
    chosen = small.pages() if pages is None else small.pages()[:pages]
    for number, page in enumerate(chosen, start=1):
        participation.show_page(session, number, now=wave_at + timedelta(seconds=60 * number))
        answers = {entry.id: value for entry in page.entries}
        participation.save_page(
            session, number, answers, now=wave_at + timedelta(seconds=60 * number + 30)
        )
    return session


def test_chunks_hold_each_session_once_in_participant_order(app, make_study, small):
    info = make_study(small, participants=5)
    with app.app_context():
        for index in (4, 0, 2, 1):
            answer(info, small, index, value=1 + index % 3, pages=None if index != 1 else 1)
        db.session.commit()
        study = studies.get_study(info.slug)

        chunks = list(study_data.iter_sessions(study, chunk_size=2))
        records = [record for chunk in chunks for record in chunk]
        # Five participants in chunks of two: three chunks of participants, one without
        # sessions (participant 4 never started) yields nothing of its own.
        assert [len(chunk) for chunk in chunks] == [2, 1, 1]
        assert [r.participant for r in records] == ["P000001", "P000002", "P000003", "P000005"]
        assert all(r.wave == "baseline" and r.wave_position == 0 for r in records)

        version_id = study.instrument_version.id
        first = records[0]
        assert first.values == {(version_id, e.id): 1 for p in small.pages() for e in p.entries}
        assert first.page_seconds == {(version_id, p.key): 30.0 for p in small.pages()}
        assert first.completed_at is not None and not first.excluded and not first.simulated
        partial = records[1]
        assert partial.completed_at is None
        assert set(partial.page_submitted) == {(version_id, small.pages()[0].key)}
        assert len(partial.values) == len(small.pages()[0].entries)


def test_excluded_sessions_are_marked_or_left_out(app, make_study, small):
    info = make_study(small, participants=3)
    with app.app_context():
        for index in range(3):
            answer(info, small, index, value=2)
        sessions = db.session.scalars(select_sessions()).all()
        db.session.add(SessionExclusion(session_id=sessions[0].id, reason="straight line"))
        # A lifted exclusion no longer counts.
        db.session.add(SessionExclusion(session_id=sessions[1].id, reason="typo", lifted_at=T0))
        withdrawn = db.session.get(Participant, sessions[2].participant_id)
        withdrawn.excluded = True
        withdrawn.exclusion_reason = "withdrew (exclude policy)"
        db.session.commit()
        study = studies.get_study(info.slug)

        everything = [r for chunk in study_data.iter_sessions(study) for r in chunk]
        assert [(r.excluded, r.exclusion_reason) for r in everything] == [
            (True, "straight line"),
            (False, None),
            (True, "withdrew (exclude policy)"),
        ]
        kept = [
            r for chunk in study_data.iter_sessions(study, include_excluded=False) for r in chunk
        ]
        assert [r.session_id for r in kept] == [sessions[1].id]
        assert study_data.session_counts(study) == study_data.Counts(total=3, excluded=2)
        assert study_data.excluded_session_ids(study) == {sessions[0].id, sessions[2].id}


def test_one_wave_and_an_unknown_wave(app, make_study, small):
    info = make_study(small, participants=1, waves=(("baseline", "open"), ("week-4", "open")))
    with app.app_context():
        answer(info, small, 0, value=3)
        db.session.commit()
        study = studies.get_study(info.slug)
        assert list(study_data.iter_sessions(study, wave="week-4")) == []
        assert study_data.session_counts(study, wave="baseline").total == 1
        with pytest.raises(UnknownWave, match="no wave 'week-9'.*baseline, week-4"):
            study_data.session_counts(study, wave="week-9")
        with pytest.raises(ValueError, match="chunk_size"):
            next(study_data.iter_sessions(study, chunk_size=0))


def test_battery_columns_are_prefixed_only_in_a_battery(app, make_study, small, make_definition):
    from survey.services import instruments

    info = make_study(small, participants=1, study_status="draft")
    with app.app_context():
        study = studies.get_study(info.slug)
        names = [c.name for c in study_data.battery_columns(study)]
        assert names == [e.id for p in small.pages() for e in p.entries]
        other, _ = instruments.import_definition(make_definition(key="other"))
        studies.set_battery(study, [study.instrument_version, other], actor=None)
        names = [c.name for c in study_data.battery_columns(study)]
        assert names[0] == "small.AA_S_1" and names[-1].startswith("other.")
        assert len(names) == 2 * len(small.pages()[0].entries + small.pages()[1].entries)


def select_sessions():
    from sqlalchemy import select

    return select(ResponseSession).order_by(ResponseSession.id)
