"""A participant's way through a wave (survey.services.participation)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from survey.models import (
    Answer,
    ConsentDecision,
    ConsentRecord,
    PageVisit,
    ResponseSession,
    StudyStatus,
    WaveStatus,
)
from survey.services import participation, studies
from survey.services.errors import (
    ConsentRequired,
    InvalidAnswers,
    NoOpenWave,
    PageNotReached,
    SessionCompleted,
    StudyClosed,
    UnknownPage,
    UnknownToken,
)

T0 = datetime(2025, 1, 6, 9, 0, tzinfo=UTC)


def count(db_session, model) -> int:
    return db_session.scalar(select(func.count()).select_from(model))


def consented(token, now=T0):
    invitation = participation.resolve(token, now=now)
    participation.record_consent(invitation, ConsentDecision.GIVEN, now=now)
    return invitation


def started(token, now=T0):
    return participation.start_session(consented(token, now), now=now)


def int_answers(page, value=2):
    return {entry.id: value for entry in page.entries}


# -- resolve ---------------------------------------------------------------------------------
def test_resolve_gives_participant_study_and_open_wave(db_session, make_study, small):
    info = make_study(small)
    invitation = participation.resolve(info.token)
    assert invitation.study.slug == info.slug
    assert invitation.wave.key == "baseline"


@pytest.mark.parametrize("token", ["", "x", "a" * 43, "a" * 44, "%00" * 20])
def test_resolve_unknown_or_malformed_token(db_session, make_study, small, token):
    make_study(small)
    with pytest.raises(UnknownToken):
        participation.resolve(token)


@pytest.mark.parametrize("status", [StudyStatus.CLOSED, StudyStatus.DRAFT])
def test_resolve_refuses_a_study_that_is_not_open(db_session, make_study, small, status):
    info = make_study(small, study_status=status)
    with pytest.raises(StudyClosed) as raised:
        participation.resolve(info.token)
    assert raised.value.study.slug == info.slug


def test_resolve_without_an_open_wave(db_session, make_study, small):
    info = make_study(small, waves=(("baseline", "closed"),))
    with pytest.raises(NoOpenWave):
        participation.resolve(info.token)


def test_wave_window_is_respected(db_session, make_study, small):
    info = make_study(small, waves=())
    study = studies.get_study(info.slug)
    studies.add_wave(study, key="w", label="W", opens_at=T0, closes_at=T0 + timedelta(days=7))
    db_session.commit()
    with pytest.raises(NoOpenWave):
        participation.resolve(info.token, now=T0 - timedelta(seconds=1))
    assert participation.resolve(info.token, now=T0).wave.key == "w"
    with pytest.raises(NoOpenWave):
        participation.resolve(info.token, now=T0 + timedelta(days=7))


def test_next_open_wave_after_completing_one(db_session, make_study, small):
    info = make_study(small, waves=(("baseline", "open"), ("week-4", "closed")))
    session = started(info.token)
    for page in small.pages():
        participation.save_page(session, page.key, int_answers(page), now=T0)
    db_session.commit()
    # All open waves done: the link still leads to the completed wave (its thank-you page).
    assert participation.resolve(info.token).wave.key == "baseline"
    studies.get_study(info.slug).waves[1].status = WaveStatus.OPEN
    db_session.commit()
    invitation = participation.resolve(info.token)
    assert invitation.wave.key == "week-4"
    # Consent is per study: no new consent needed for the next wave.
    assert participation.start_session(invitation).wave.key == "week-4"


# -- consent ---------------------------------------------------------------------------------
def test_session_needs_consent(db_session, make_study, small):
    info = make_study(small)
    invitation = participation.resolve(info.token)
    assert participation.consent_decision(invitation) is None
    with pytest.raises(ConsentRequired):
        participation.start_session(invitation)


def test_declining_records_only_the_decline(db_session, make_study, small):
    info = make_study(small)
    invitation = participation.resolve(info.token)
    record = participation.record_consent(invitation, ConsentDecision.DECLINED, now=T0)
    db_session.commit()
    assert (record.decision, record.consent_version, record.decided_at) == ("declined", "v1", T0)
    assert participation.consent_decision(invitation) == ConsentDecision.DECLINED
    with pytest.raises(ConsentRequired):
        participation.start_session(invitation)
    assert count(db_session, ResponseSession) == 0
    assert count(db_session, Answer) == 0


def test_consent_decisions_are_appended_and_repeats_ignored(db_session, make_study, small):
    info = make_study(small)
    invitation = participation.resolve(info.token)
    participation.record_consent(invitation, ConsentDecision.DECLINED, now=T0)
    later = T0 + timedelta(minutes=1)
    participation.record_consent(invitation, ConsentDecision.GIVEN, now=later)
    assert participation.record_consent(invitation, ConsentDecision.GIVEN) is None
    assert count(db_session, ConsentRecord) == 2
    assert participation.consent_decision(invitation) == ConsentDecision.GIVEN
    with pytest.raises(ValueError):
        participation.record_consent(invitation, "maybe")


def test_new_consent_version_asks_again(db_session, make_study, small):
    info = make_study(small)
    started(info.token)
    studies.get_study(info.slug).consent_version = "v2"
    db_session.commit()
    invitation = participation.resolve(info.token)
    assert participation.consent_decision(invitation) is None
    with pytest.raises(ConsentRequired):
        participation.start_session(invitation)


# -- session and pages -----------------------------------------------------------------------
def test_start_session_once_per_wave_pinned_to_the_version(db_session, make_study, small):
    info = make_study(small)
    session = started(info.token)
    again = participation.start_session(participation.resolve(info.token))
    assert again.id == session.id
    assert count(db_session, ResponseSession) == 1
    assert session.wave.study.instrument_version.content_hash == small.content_hash
    assert session.started_at == T0


def test_page_view_rules(db_session, make_study, small):
    info = make_study(small)
    session = started(info.token)
    view = participation.page_view(session, 1)
    assert (view.number, view.total, view.page.key) == (1, 2, "AA")
    assert view.entries == small.pages()[0].entries
    with pytest.raises(PageNotReached) as raised:
        participation.page_view(session, 2)
    assert raised.value.allowed == 1
    for number in (0, 3, -1):
        with pytest.raises(UnknownPage):
            participation.page_view(session, number)


def test_page_view_uses_the_participants_item_order(db_session, make_study, make_definition):
    definition = make_definition(shuffle_items=True)
    info = make_study(definition, participants=8)
    orders = set()
    for token in info.tokens:
        session = started(token)
        view = participation.page_view(session, 1)
        assert participation.page_view(session, 1).entries == view.entries
        orders.add(tuple(entry.id for entry in view.entries))
    assert len(orders) > 1


def test_show_page_records_first_and_last_time(db_session, make_study, small):
    info = make_study(small)
    session = started(info.token)
    participation.show_page(session, "AA", now=T0)
    participation.show_page(session, "AA", now=T0 + timedelta(seconds=30))
    db_session.commit()
    visit = db_session.scalar(select(PageVisit))
    assert (visit.first_shown_at, visit.last_shown_at) == (T0, T0 + timedelta(seconds=30))
    assert (visit.submitted_at, visit.submit_count) == (None, 0)
    assert session.current_page == "AA"


def test_save_page_stores_answers_and_timings(db_session, make_study, small):
    info = make_study(small)
    session = started(info.token)
    page = small.pages()[0]
    participation.show_page(session, page.key, now=T0)
    submitted = T0 + timedelta(seconds=45)
    completed = participation.save_page(
        session, page.key, int_answers(page, 3), now=submitted
    ).completed
    db_session.commit()
    assert not completed
    assert participation.saved_answers(session, page.key) == int_answers(page, 3)
    visit = db_session.scalar(select(PageVisit))
    assert (visit.first_shown_at, visit.submitted_at, visit.submit_count) == (T0, submitted, 1)
    answer = db_session.scalar(select(Answer).where(Answer.item_id == "AA_S_1"))
    assert (answer.page_key, answer.answered_at, answer.updated_at) == ("AA", submitted, submitted)
    assert participation.resume_number(session) == 2


def test_resubmitting_updates_in_place(db_session, make_study, small):
    info = make_study(small)
    session = started(info.token)
    page = small.pages()[0]
    participation.save_page(session, page.key, int_answers(page, 1), now=T0)
    later = T0 + timedelta(minutes=5)
    changed = int_answers(page, 1) | {"AA_S_2": 3}
    participation.save_page(session, page.key, changed, now=later)
    db_session.commit()
    assert count(db_session, Answer) == len(page.entries)
    assert count(db_session, PageVisit) == 1
    rows = {a.item_id: a for a in db_session.scalars(select(Answer))}
    assert rows["AA_S_2"].value == 3
    assert (rows["AA_S_2"].answered_at, rows["AA_S_2"].updated_at) == (T0, later)
    assert (rows["AA_S_1"].answered_at, rows["AA_S_1"].updated_at) == (T0, T0)
    visit = db_session.scalar(select(PageVisit))
    assert (visit.submitted_at, visit.submit_count) == (later, 2)


@pytest.mark.parametrize(
    ("change", "problem_key"),
    [
        ({"AA_S_1": 7}, "AA_S_1"),
        ({"AA_S_1": 0}, "AA_S_1"),
        ({"AA_S_1": "2"}, "AA_S_1"),
        ({"AA_S_1": True}, "AA_S_1"),
        ({"AA_S_1": 2.0}, "AA_S_1"),
        ({"AA_S_1": None}, "AA_S_1"),
        ({"BB_S_1": 2}, "BB_S_1"),
        ({"NOT_AN_ITEM": 2}, "NOT_AN_ITEM"),
    ],
)
def test_invalid_answers_store_nothing(db_session, make_study, small, change, problem_key):
    info = make_study(small)
    session = started(info.token)
    db_session.commit()
    page = small.pages()[0]
    with pytest.raises(InvalidAnswers) as raised:
        participation.save_page(session, page.key, int_answers(page) | change)
    assert list(raised.value.errors) == [problem_key]
    db_session.rollback()
    assert count(db_session, Answer) == 0
    assert count(db_session, PageVisit) == 0


def test_optional_item_left_out_is_stored_as_none(db_session, make_study, make_definition):
    definition = make_definition(optional=["AA_S_4"])
    info = make_study(definition)
    session = started(info.token)
    page = definition.pages()[0]
    answers = int_answers(page)
    del answers["AA_S_4"]
    participation.save_page(session, page.key, answers)
    assert participation.saved_answers(session, page.key)["AA_S_4"] is None


def test_all_pages_submitted_completes_the_session(db_session, make_study, small):
    info = make_study(small)
    session = started(info.token)
    first, second = small.pages()
    assert not participation.save_page(session, first.key, int_answers(first), now=T0).completed
    assert session.completed_at is None
    assert participation.save_page(session, second.key, int_answers(second), now=T0).completed
    db_session.commit()
    assert session.completed_at == T0
    with pytest.raises(SessionCompleted):
        participation.save_page(session, first.key, int_answers(first))
    with pytest.raises(SessionCompleted):
        participation.page_view(session, 1)


def test_save_page_unknown_page(db_session, make_study, small):
    info = make_study(small)
    session = started(info.token)
    with pytest.raises(UnknownPage):
        participation.save_page(session, "ZZ", {})


def test_shown_at_is_used_when_the_page_was_not_shown_before(db_session, make_study, small):
    info = make_study(small)
    session = started(info.token)
    page = small.pages()[0]
    shown = T0 - timedelta(seconds=20)
    participation.save_page(session, page.key, int_answers(page), shown_at=shown, now=T0)
    visit = db_session.scalar(select(PageVisit))
    assert (visit.first_shown_at, visit.last_shown_at, visit.submitted_at) == (shown, shown, T0)
