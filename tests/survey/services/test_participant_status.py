"""Status per participant and wave, the filtered list and the due list
(survey.services.participants)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import event

from survey.extensions import db
from survey.models import Participant, Study, Wave
from survey.services import instruments, invitations, participation, studies
from survey.services.participants import (
    ParticipantFilter,
    State,
    due,
    due_csv,
    list_participants,
    parse_code,
    state_counts,
    status_of,
)

KEY = b"test-external-id-key"
T0 = datetime(2027, 1, 4, 9, 0, tzinfo=UTC)


@pytest.fixture
def clock(app):
    """app.config["CLOCK"], movable: ``clock.now = ...``."""

    class Clock:
        now = T0

        def __call__(self):
            return self.now

    clock = Clock()
    app.config["CLOCK"] = clock
    return clock


@pytest.fixture
def study_id(app, small, clock):
    """A study with baseline (at enrolment, 7 days) and week 4 (28 days after, 14 days)."""
    with app.app_context():
        version, _ = instruments.import_definition(small)
        study = studies.create_study(
            name="Status study",
            slug="status-study",
            instrument_version=version,
            consent_text="Agree?",
            consent_version="v1",
            urgent_help_note="Call 112.",
        )
        studies.add_wave(study, key="baseline", label="Baseline", offset_days=0, window_days=7)
        studies.add_wave(study, key="week-4", label="Week 4", offset_days=28, window_days=14)
        db.session.commit()
        return study.id


def _study(study_id) -> Study:
    return db.session.get(Study, study_id)


def _people(study_id, n) -> list[str]:
    links = invitations.create_links(_study(study_id), count=n, actor=None)
    db.session.commit()
    return [link.token for link in links]


def _answer(token, pages: int | None = None, decision="given"):
    """Consent and submit ``pages`` pages (all when None) of the current wave."""
    invitation = participation.resolve(token)
    participation.record_consent(invitation, decision)
    if decision != "given":
        db.session.commit()
        return
    session = participation.start_session(invitation)
    total = len(participation.pages(session))
    for number in range(1, (total if pages is None else pages) + 1):
        view = participation.page_view(session, number)
        participation.save_page(session, number, {entry.id: 2 for entry in view.page.entries})
    db.session.commit()


def _states(study_id, wave_key):
    study = _study(study_id)
    wave = next(w for w in study.waves if w.key == wave_key)
    listing = list_participants(study, ParticipantFilter(wave_id=wave.id))
    return [(row.code, row.waves[0].state, row.waves[0].pages_done) for row in listing.rows]


def test_every_state_with_page_counts(app, study_id, clock):
    with app.app_context():
        tokens = _people(study_id, 7)
        _answer(tokens[1], pages=1)  # in progress, 1 of 2
        _answer(tokens[2])  # complete
        _answer(tokens[3], decision="declined")
        _answer(tokens[4])
        participation.withdraw(participation.participant_for(tokens[4]))
        _answer(tokens[5], pages=1)
        excluded = participation.participant_for(tokens[5])
        excluded.excluded = True
        # consented, then declined: declined (nothing completed)
        _answer(tokens[6], pages=0)
        _answer(tokens[6], decision="declined")
        db.session.commit()
        codes = [participation.participant_for(t).code for t in tokens]
        assert _states(study_id, "baseline") == [
            (codes[0], State.NOT_STARTED, 0),
            (codes[1], State.IN_PROGRESS, 1),
            (codes[2], State.COMPLETE, 2),
            (codes[3], State.DECLINED, 0),
            (codes[4], State.WITHDRAWN, 2),
            (codes[5], State.EXCLUDED, 1),
            (codes[6], State.DECLINED, 0),
        ]
        listing = list_participants(_study(study_id))
        assert listing.pages_total == 2
        assert listing.rows[1].waves[0].label == "In progress"
        baseline, week4 = _study(study_id).waves
        counts = state_counts(_study(study_id))
        assert counts[baseline.id] == {
            State.NOT_STARTED: 1,
            State.IN_PROGRESS: 1,
            State.COMPLETE: 1,
            State.DECLINED: 2,
            State.WITHDRAWN: 1,
            State.EXCLUDED: 1,
        }
        assert counts[week4.id][State.NOT_STARTED] == 3  # codes 0, 1 and 2
        assert status_of(participation.participant_for(tokens[2]), week4) == State.NOT_STARTED
        assert status_of(participation.participant_for(tokens[2]), baseline) == State.COMPLETE


def test_a_new_consent_version_declined_after_a_completed_wave(app, study_id, clock):
    with app.app_context():
        (token,) = _people(study_id, 1)
        _answer(token)
        _study(study_id).consent_version = "v2"
        db.session.commit()
        clock.now = T0 + timedelta(days=29)
        _answer(token, decision="declined")
        assert _states(study_id, "baseline")[0][1] == State.COMPLETE
        assert _states(study_id, "week-4")[0][1] == State.DECLINED


def test_filters_and_pagination(app, study_id, clock):
    with app.app_context():
        tokens = _people(study_id, 120)
        for token in tokens[:7]:
            _answer(token)
        invitations.set_enrolment(_study(study_id), cap=3, actor=None)
        opened = invitations.enrol(_study(study_id).enrolment_key)
        invitations.create_links(
            _study(study_id), external_ids="ext-1\next-2", external_id_key=KEY, actor=None
        )
        db.session.commit()
        study = _study(study_id)
        baseline = study.waves[0]

        first = list_participants(study)
        assert (first.total, first.pages, len(first.rows), first.first, first.last) == (
            123,
            3,
            50,
            1,
            50,
        )
        last = list_participants(study, page=3)
        assert (len(last.rows), last.first, last.last) == (23, 101, 123)
        assert list_participants(study, page=99).page == 3  # past the end: the last page

        done = list_participants(study, ParticipantFilter(wave_id=baseline.id, state="complete"))
        assert done.total == 7
        done_any = list_participants(study, ParticipantFilter(state="complete"))
        assert done_any.total == 7 and len(done_any.rows[0].waves) == 2
        assert list_participants(study, ParticipantFilter(enrolled_via="open_link")).total == 1
        code = opened.participant.code
        for typed in (code, code.lower(), str(opened.participant.id), f" {code} "):
            found = list_participants(study, ParticipantFilter(code=typed))
            assert [row.code for row in found.rows] == [code], typed
        assert list_participants(study, ParticipantFilter(code="nonsense")).total == 0
        by_ext = list_participants(
            study, ParticipantFilter(external_id=" ext-2 "), external_id_key=KEY
        )
        assert by_ext.total == 1 and by_ext.rows[0].has_external_id
        assert (
            list_participants(
                study, ParticipantFilter(external_id="ext-3"), external_id_key=KEY
            ).total
            == 0
        )
        combined = ParticipantFilter(
            wave_id=baseline.id, state="not_started", enrolled_via="invitation"
        )
        assert list_participants(study, combined).total == 115


def test_parse_code():
    assert parse_code("P000123") == parse_code("p123") == parse_code(" 123 ") == 123
    assert parse_code("P") is None and parse_code("12a") is None and parse_code(None) is None


def test_a_page_costs_the_same_queries_for_10_and_200_participants(app, study_id, clock):
    """No N+1: the number of statements of a page does not grow with the study."""

    def statements(n_more: int) -> int:
        _people(study_id, n_more)
        for token in _people(study_id, 3):
            _answer(token, pages=1)
        db.session.expire_all()
        study = _study(study_id)
        _ = study.waves, study.battery
        seen = []

        def count(*_args):
            seen.append(1)

        engine = db.engine
        event.listen(engine, "before_cursor_execute", count)
        try:
            list_participants(study, ParticipantFilter(state="in_progress"))
            list_participants(study)
        finally:
            event.remove(engine, "before_cursor_execute", count)
        return len(seen)

    with app.app_context():
        small = statements(10)
        large = statements(200)
        assert small == large <= 16


# -- due -------------------------------------------------------------------------------------
def test_due_follows_the_clock(app, study_id, clock):
    with app.app_context():
        tokens = _people(study_id, 5)
        _answer(tokens[0])  # baseline complete
        _answer(tokens[1], pages=1)  # baseline in progress
        _answer(tokens[2], decision="declined")
        _answer(tokens[3])
        participation.withdraw(participation.participant_for(tokens[3]))
        db.session.commit()
        code = [participation.participant_for(t).code for t in tokens]
        study = _study(study_id)

        rows = due(study, T0 + timedelta(hours=1))
        assert [(r.code, r.wave.key) for r in rows] == [
            (code[1], "baseline"),
            (code[4], "baseline"),
        ]
        enrolled = rows[0]
        assert enrolled.since == T0 and enrolled.until == T0 + timedelta(days=7)
        not_enrolled = rows[1]  # no consent yet: open since added, end fixed at consent
        assert not_enrolled.until is None

        # Week 1 over, week 4 not open: only the one who never consented is still due.
        assert [r.code for r in due(study, T0 + timedelta(days=8))] == [code[4]]
        # Week 4 open for those enrolled at T0 (first second in, last second in, after).
        for moment, expected in (
            (T0 + timedelta(days=28), [code[0], code[1], code[4]]),
            (T0 + timedelta(days=42) - timedelta(seconds=1), [code[0], code[1], code[4]]),
            (T0 + timedelta(days=42), [code[4]]),
        ):
            assert [r.code for r in due(study, moment)] == expected, moment
        wave4 = [r for r in due(study, T0 + timedelta(days=30)) if r.code == code[0]][0]
        assert wave4.wave.key == "week-4" and wave4.since == T0 + timedelta(days=28)

        csv = due_csv(due(study, T0 + timedelta(days=30)), with_external_id_hash=True).splitlines()
        assert csv[0] == "code,wave,wave_label,open_since,open_until,external_id_hash"
        assert csv[1].startswith(f"{code[0]},week-4,Week 4,2027-02-01T09:00:00+00:00,")

        study.status = "closed"
        assert due(study, T0) == []


def test_due_of_a_closed_wave_and_a_fixed_wave(app, study_id, clock):
    with app.app_context():
        (token,) = _people(study_id, 1)
        study = _study(study_id)
        study.waves[0].status = "closed"
        studies.add_wave(
            study,
            key="spring",
            label="Spring",
            opens_at=T0 + timedelta(days=2),
            closes_at=T0 + timedelta(days=9),
        )
        db.session.commit()
        db.session.refresh(study, ["waves"])
        assert due(study, T0) == []
        rows = due(study, T0 + timedelta(days=3))
        assert [(r.wave.key, r.since, r.until) for r in rows] == [
            ("spring", T0 + timedelta(days=2), T0 + timedelta(days=9))
        ]
        assert isinstance(rows[0].wave, Wave)
        assert db.session.get(Participant, rows[0].participant_id).code == rows[0].code
