"""Waves on a schedule, a battery of instruments, withdrawal and safety alerts
(survey.services.participation and survey.services.studies), on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from instruments.loader import load_instrument_text
from survey.models import (
    Answer,
    AuditEvent,
    ConsentDecision,
    PageVisit,
    Participant,
    SafetyAlert,
    StudyStatus,
    WaveStatus,
    WithdrawalPolicy,
)
from survey.services import instruments, participation, studies
from survey.services.errors import (
    BetweenWaves,
    InvalidStudyChange,
    ParticipantWithdrawn,
    StudyClosed,
    UnknownPage,
)
from tests.survey.conftest import URGENT_HELP

MOOD_SCREENER = Path(__file__).parents[2] / "fixtures" / "instruments" / "mood_screener.yaml"
ENROLLED = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
SECOND = timedelta(seconds=1)
DAY = timedelta(days=1)


def mood_screener():
    return load_instrument_text(MOOD_SCREENER.read_text(encoding="utf-8"), MOOD_SCREENER.name)


def new_study(definitions, *, waves, policy=WithdrawalPolicy.KEEP, status=StudyStatus.OPEN):
    battery = [instruments.import_definition(d)[0] for d in definitions]
    study = studies.create_study(
        name="Schedule study",
        slug=f"schedule-{len(battery)}-{policy}",
        instrument_versions=battery,
        consent_text="Agree?",
        consent_version="1",
        urgent_help_note=URGENT_HELP,
        team_contact="The team, team@example.org",
        withdrawal_policy=policy,
        status=status,
    )
    for key, schedule in waves:
        studies.add_wave(study, key=key, label=key.title(), **schedule)
    return study


def enrol(study, now=ENROLLED):
    """A participant who consents at ``now`` (their enrolment); returns the token."""
    ((participant, token),) = studies.add_participants(study, 1, now=now)
    invitation = participation.resolve(token, now=now)
    participation.record_consent(invitation, ConsentDecision.GIVEN, now=now)
    return participant, token


def complete_wave(token, now):
    invitation = participation.resolve(token, now=now)
    session = participation.start_session(invitation, now=now)
    for number, battery_page in enumerate(participation.pages(session), start=1):
        answers = {entry.id: _value(battery_page, entry) for entry in battery_page.page.entries}
        participation.save_page(session, number, answers, now=now)
    return session


def _value(battery_page, entry):
    # The lowest value of the scale (the mood screener's safety item is answered 0: no alert).
    return min(battery_page.definition.scale(entry.scale).values)


# -- wave windows ----------------------------------------------------------------------------
RELATIVE = [
    ("baseline", {"offset_days": 0, "window_days": 7}),
    ("week-4", {"offset_days": 28, "window_days": 14}),
]


@pytest.mark.parametrize(
    ("moment", "wave"),
    [
        (ENROLLED + 28 * DAY - SECOND, None),  # the last second before week 4 opens
        (ENROLLED + 28 * DAY, "week-4"),  # its first second
        (ENROLLED + 42 * DAY - SECOND, "week-4"),  # its last second
        (ENROLLED + 42 * DAY, None),  # the first second after it
    ],
)
def test_relative_window_edges(db_session, small, moment, wave):
    study = new_study([small], waves=RELATIVE)
    _participant, token = enrol(study)
    complete_wave(token, ENROLLED)
    if wave is None:
        with pytest.raises(BetweenWaves):
            participation.resolve(token, now=moment)
    else:
        assert participation.resolve(token, now=moment).wave.key == wave


def test_relative_windows_follow_each_participants_enrolment(db_session, small):
    study = new_study([small], waves=RELATIVE)
    _early, early_token = enrol(study, ENROLLED)
    _late, late_token = enrol(study, ENROLLED + 10 * DAY)
    complete_wave(early_token, ENROLLED)
    complete_wave(late_token, ENROLLED + 10 * DAY)
    moment = ENROLLED + 30 * DAY
    assert participation.resolve(early_token, now=moment).wave.key == "week-4"
    with pytest.raises(BetweenWaves) as between:
        participation.resolve(late_token, now=moment)
    assert between.value.opens_at == ENROLLED + 38 * DAY
    assert between.value.completed_any


def test_baseline_window_is_the_participants_own(db_session, small):
    study = new_study([small], waves=RELATIVE)
    _participant, token = enrol(study)
    assert participation.resolve(token, now=ENROLLED + 7 * DAY - SECOND).wave.key == "baseline"
    # Baseline not done within its 7 days: it closes, week 4 is next.
    with pytest.raises(BetweenWaves) as between:
        participation.resolve(token, now=ENROLLED + 7 * DAY)
    assert between.value.opens_at == ENROLLED + 28 * DAY
    assert not between.value.completed_any


def test_a_participant_not_yet_enrolled_is_taken_as_enrolling_now(db_session, small):
    study = new_study([small], waves=RELATIVE)
    ((participant, token),) = studies.add_participants(study, 1, now=ENROLLED)
    later = ENROLLED + 60 * DAY  # the link was opened two months after it was made
    invitation = participation.resolve(token, now=later)
    assert invitation.wave.key == "baseline"
    participation.record_consent(invitation, ConsentDecision.GIVEN, now=later)
    assert participant.enrolled_at == later
    # A second consent (a new consent version, say) does not move the enrolment.
    participation.record_consent(invitation, ConsentDecision.DECLINED, now=later + DAY)
    participation.record_consent(invitation, ConsentDecision.GIVEN, now=later + 2 * DAY)
    assert participant.enrolled_at == later


OPENS = datetime(2026, 6, 1, 0, 0, tzinfo=UTC)
CLOSES = datetime(2026, 6, 15, 0, 0, tzinfo=UTC)
FIXED = [
    ("baseline", {"offset_days": 0, "window_days": 7}),
    ("summer", {"opens_at": OPENS, "closes_at": CLOSES}),
]


@pytest.mark.parametrize(
    ("moment", "wave"),
    [
        (OPENS - SECOND, None),
        (OPENS, "summer"),
        (CLOSES - SECOND, "summer"),
        (CLOSES, None),
    ],
)
def test_fixed_window_edges(db_session, small, moment, wave):
    study = new_study([small], waves=FIXED)
    _participant, token = enrol(study)
    complete_wave(token, ENROLLED)
    if wave is None:
        with pytest.raises(BetweenWaves) as between:
            participation.resolve(token, now=moment)
        assert between.value.opens_at == (OPENS if moment < OPENS else None)
    else:
        assert participation.resolve(token, now=moment).wave.key == wave


def test_a_wave_closed_by_hand_is_closed_whatever_its_schedule(db_session, small):
    study = new_study([small], waves=FIXED)
    _participant, token = enrol(study)
    complete_wave(token, ENROLLED)
    study.waves[1].status = WaveStatus.CLOSED
    with pytest.raises(BetweenWaves) as between:
        participation.resolve(token, now=OPENS + DAY)
    assert between.value.opens_at is None


def test_completed_wave_still_open_leads_to_its_thank_you_page(db_session, small):
    study = new_study([small], waves=RELATIVE)
    _participant, token = enrol(study)
    complete_wave(token, ENROLLED)
    invitation = participation.resolve(token, now=ENROLLED + DAY)
    assert invitation.wave.key == "baseline"
    assert participation.find_session(invitation).completed_at is not None
    assert participation.next_opening(invitation.participant, ENROLLED + DAY) == (
        ENROLLED + 28 * DAY
    )


@pytest.mark.parametrize(
    ("schedule", "field"),
    [
        ({"offset_days": 3, "opens_at": OPENS}, "offset_days"),
        ({"window_days": 3}, "window_days"),
        ({"offset_days": -1}, "offset_days"),
        ({"offset_days": 0, "window_days": 0}, "window_days"),
        ({"opens_at": CLOSES, "closes_at": OPENS}, "closes_at"),
        ({"opens_at": OPENS, "closes_at": OPENS}, "closes_at"),
    ],
)
def test_schedules_that_cannot_hold_are_refused(db_session, small, schedule, field):
    study = new_study([small], waves=[])
    with pytest.raises(InvalidStudyChange) as refused:
        studies.add_wave(study, key="w", label="W", **schedule)
    assert refused.value.field == field
    assert study.waves == []


# -- battery ---------------------------------------------------------------------------------
def test_a_battery_runs_its_instruments_in_order_and_stores_answers_per_version(db_session, small):
    screener = mood_screener()
    study = new_study([small, screener], waves=[("baseline", {})])
    _participant, token = enrol(study)
    session = complete_wave(token, ENROLLED)
    assert session.completed_at == ENROLLED
    small_version, screener_version = study.instrument_versions
    battery = participation.pages(session)
    assert [bp.version.id for bp in battery] == [small_version.id] * len(small.pages()) + [
        screener_version.id
    ] * len(screener.pages())
    stored = db_session.execute(
        select(Answer.instrument_version_id, func.count()).group_by(Answer.instrument_version_id)
    ).all()
    n_small = sum(len(page.entries) for page in small.pages())
    n_screener = sum(len(page.entries) for page in screener.pages())
    assert dict(stored) == {small_version.id: n_small, screener_version.id: n_screener}
    assert db_session.scalar(select(func.count()).select_from(PageVisit)) == len(battery)


def test_the_same_item_id_in_two_instruments_is_two_answers(db_session, small, make_definition):
    twin = make_definition(key="twin")  # the small instrument's item ids under another key
    study = new_study([small, twin], waves=[("baseline", {})])
    _participant, token = enrol(study)
    complete_wave(token, ENROLLED)
    rows = db_session.execute(
        select(Answer.instrument_version_id).where(Answer.item_id == "AA_S_1")
    ).all()
    assert len(rows) == 2
    _other, other_token = enrol(study)
    session = participation.start_session(participation.resolve(other_token, now=ENROLLED))
    with pytest.raises(UnknownPage, match="ambiguous"):
        participation.save_page(session, "AA", {})


def test_a_battery_needs_one_instrument_and_none_twice(db_session, small):
    version, _ = instruments.import_definition(small)
    common = {
        "name": "B",
        "consent_text": "c",
        "consent_version": "1",
        "urgent_help_note": "h",
    }
    with pytest.raises(InvalidStudyChange, match="at least one"):
        studies.create_study(slug="battery-none", **common)
    with pytest.raises(InvalidStudyChange, match="twice"):
        studies.create_study(slug="battery-twice", instrument_versions=[version, version], **common)


def test_back_keeps_typed_answers_without_submitting_the_page(db_session, small):
    study = new_study([small], waves=[("baseline", {})])
    _participant, token = enrol(study)
    session = participation.start_session(participation.resolve(token, now=ENROLLED))
    page = small.pages()[0]
    typed = {page.entries[0].id: 3, page.entries[1].id: 1, page.entries[2].id: 99}
    assert participation.save_draft(session, 1, typed) == 2  # 99 is not on the scale
    assert participation.saved_answers(session, 1) == {
        page.entries[0].id: 3,
        page.entries[1].id: 1,
    }
    assert participation.resume_number(session) == 1  # the page is not submitted
    assert participation.page_view(session, 1).finished == 0


# -- study state -----------------------------------------------------------------------------
@pytest.mark.parametrize("status", [StudyStatus.DRAFT, StudyStatus.CLOSED])
def test_draft_and_closed_studies_answer_no_link(db_session, small, status):
    study = new_study([small], waves=[("baseline", {})], status=status)
    ((_participant, token),) = studies.add_participants(study, 1)
    with pytest.raises(StudyClosed):
        participation.resolve(token)


# -- withdrawal ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("policy", "excluded"), [(WithdrawalPolicy.KEEP, False), (WithdrawalPolicy.EXCLUDE, True)]
)
def test_withdrawal_is_recorded_never_deleted(db_session, small, policy, excluded):
    study = new_study([small], waves=[("baseline", {})], policy=policy)
    participant, token = enrol(study)
    complete_wave(token, ENROLLED)
    answers_before = db_session.scalar(select(func.count()).select_from(Answer))
    assert participation.withdraw(participant, now=ENROLLED + DAY)
    assert not participation.withdraw(participant, now=ENROLLED + 2 * DAY)  # once
    assert participant.withdrawn_at == ENROLLED + DAY
    assert participant.excluded is excluded
    assert db_session.scalar(select(func.count()).select_from(Answer)) == answers_before
    assert db_session.scalar(select(func.count()).select_from(Participant)) == 1
    events = db_session.scalars(
        select(AuditEvent).where(AuditEvent.action == "participant_withdrew")
    ).all()
    assert [(e.target_id, e.details["policy"], e.actor_id) for e in events] == [
        (str(participant.id), policy, None)
    ]
    with pytest.raises(ParticipantWithdrawn):
        participation.resolve(token, now=ENROLLED + DAY)


# -- safety items ----------------------------------------------------------------------------
def test_an_answer_at_the_threshold_raises_one_alert(db_session):
    screener = mood_screener()
    study = new_study([screener], waves=[("baseline", {})])
    participant, token = enrol(study)
    session = participation.start_session(participation.resolve(token, now=ENROLLED))
    safety = screener.safety_items[0]
    number, battery_page = next(
        (n, bp)
        for n, bp in enumerate(participation.pages(session), start=1)
        if safety.id in {e.id for e in bp.page.entries}
    )
    for earlier in range(1, number):
        earlier_page = participation.pages(session)[earlier - 1]
        participation.save_page(
            session, earlier, {e.id: _value(earlier_page, e) for e in earlier_page.page.entries}
        )
    answers = {e.id: _value(battery_page, e) for e in battery_page.page.entries}
    below = participation.save_page(
        session, number, answers | {safety.id: safety.safety_threshold - 1}
    )
    assert below.safety_alerts == ()
    at = participation.save_page(session, number, answers | {safety.id: safety.safety_threshold})
    assert [(a.item_id, a.value, a.threshold) for a in at.safety_alerts] == [
        (safety.id, safety.safety_threshold, safety.safety_threshold)
    ]
    again = participation.save_page(session, number, answers | {safety.id: safety.safety_threshold})
    assert again.safety_alerts == ()  # one alert per item and session
    alerts = db_session.scalars(select(SafetyAlert)).all()
    assert [(a.participant_id, a.study_id, a.acknowledged_at) for a in alerts] == [
        (participant.id, study.id, None)
    ]
