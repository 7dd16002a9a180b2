"""exclusions: excluding a session and including it again, never deleting anything; the
bulk exclusion of flagged sessions; every refusal."""

from __future__ import annotations

import numpy as np
import pytest
from sqlalchemy import func, select

from survey.extensions import db
from survey.models import (
    Answer,
    AuditAction,
    AuditEvent,
    PageVisit,
    ResponseSession,
    SessionExclusion,
    WithdrawalPolicy,
    utcnow,
)
from survey.services import accounts, exclusions, participation, study_data
from survey.services.exclusions import AlreadyExcluded, NotExcluded, ReasonRequired
from tests.survey.services.test_data_quality import (
    Spec,
    add_sessions,
    attentive_many,
    every_entry,
    make_iemdp_study,
)


@pytest.fixture
def world(app):
    """An IEM-DP study: three attentive sessions, a straight-liner, a fast one, and a
    researcher."""
    with app.app_context():
        built = make_iemdp_study(slug="exclusions")
        rng = np.random.default_rng(5)
        people = attentive_many(built.definition, rng, 3)
        entries = [e for page in built.definition.pages() for e in page.entries]
        # Fast, and nothing else: no run of equal answers, the checks passed.
        cycling = {e.id: getattr(e, "expected", None) or 1 + i % 5 for i, e in enumerate(entries)}
        add_sessions(
            built,
            [Spec(f"attentive-{n}", people[n]) for n in range(3)]
            + [
                Spec("straight", every_entry(built.definition, 4)),
                Spec("fast", cycling, seconds_per_entry=0.5),
            ],
        )
        accounts.create_user("researcher@example.org", "a long enough password 1", "researcher")
        db.session.commit()
        yield built


def _session(built, label) -> ResponseSession:
    session = db.session.get(ResponseSession, built.sessions[label])
    assert session is not None
    return session


def _researcher():
    return accounts.get_user("researcher@example.org")


def _stored(session_id: int) -> tuple[int, int, int]:
    """Answers, page visits and sessions rows of the session."""
    return (
        db.session.scalar(select(func.count()).where(Answer.session_id == session_id)),
        db.session.scalar(select(func.count()).where(PageVisit.session_id == session_id)),
        db.session.scalar(select(func.count()).where(ResponseSession.id == session_id)),
    )


def _events(action: str) -> list[AuditEvent]:
    return list(
        db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)
        )
    )


def test_exclude_then_include_keeps_everything_and_the_history(app, world):
    with app.app_context():
        session, actor = _session(world, "attentive-0"), _researcher()
        before = _stored(session.id)
        exclusion = exclusions.exclude(session, "  Answered in a language test.  ", actor=actor)
        db.session.commit()
        assert exclusion.reason == "Answered in a language test."
        assert exclusion.excluded_by_id == actor.id and exclusion.in_force
        assert study_data.excluded_session_ids(world.study()) == {session.id}
        assert study_data.session_counts(world.study()).excluded == 1
        assert _stored(session.id) == before  # nothing deleted

        exclusions.include(session, "It was a real participant after all.", actor=actor)
        db.session.commit()
        assert study_data.excluded_session_ids(world.study()) == set()
        assert _stored(session.id) == before
        history = exclusions.exclusion_history(session)
        assert len(history) == 1
        lifted = history[0]
        assert lifted.reason == "Answered in a language test." and not lifted.in_force
        assert lifted.lifted_by_id == actor.id
        assert lifted.lift_reason == "It was a real participant after all."

        # Excluded again: a second row, the first one kept.
        exclusions.exclude(session, "Second thoughts.", actor=actor)
        db.session.commit()
        history = exclusions.exclusion_history(session)
        assert [row.reason for row in history] == [
            "Answered in a language test.",
            "Second thoughts.",
        ]
        assert [row.in_force for row in history] == [False, True]

        excluded, included = (
            _events(AuditAction.SESSION_EXCLUDED),
            _events(AuditAction.SESSION_INCLUDED),
        )
        assert len(excluded) == 2 and len(included) == 1
        assert excluded[0].target_type == "response_session"
        assert excluded[0].target_id == str(session.id)
        assert excluded[0].actor_email == "researcher@example.org"
        assert excluded[0].details["reason"] == "Answered in a language test."
        assert excluded[0].details["participant"] == session.participant.code
        assert excluded[0].details["wave"] == "baseline"
        assert included[0].details["reason"] == "It was a real participant after all."


@pytest.mark.parametrize("reason", ["", "   ", None, "x" * 2001])
def test_a_reason_is_required_both_ways(app, world, reason):
    with app.app_context():
        session, actor = _session(world, "attentive-1"), _researcher()
        with pytest.raises(ReasonRequired):
            exclusions.exclude(session, reason, actor=actor)
        assert exclusions.exclusion_history(session) == []
        exclusions.exclude(session, "A reason.", actor=actor)
        with pytest.raises(ReasonRequired):
            exclusions.include(session, reason, actor=actor)
        assert exclusions.exclusion_in_force(session) is not None
        assert len(_events(AuditAction.SESSION_INCLUDED)) == 0


def test_excluding_twice_and_including_what_is_not_excluded_are_refused(app, world):
    with app.app_context():
        session, actor = _session(world, "attentive-2"), _researcher()
        with pytest.raises(NotExcluded, match="not excluded"):
            exclusions.include(session, "Why not.", actor=actor)
        exclusions.exclude(session, "First.", actor=actor)
        with pytest.raises(AlreadyExcluded, match="excluded already"):
            exclusions.exclude(session, "Again.", actor=actor)
        assert len(exclusions.exclusion_history(session)) == 1
        assert len(_events(AuditAction.SESSION_EXCLUDED)) == 1


def test_a_participant_excluded_by_withdrawal_is_neither_excluded_nor_included_here(app, world):
    with app.app_context():
        study = world.study()
        study.withdrawal_policy = WithdrawalPolicy.EXCLUDE
        session, actor = _session(world, "attentive-0"), _researcher()
        participation.withdraw(session.participant, now=utcnow())
        assert session.participant.excluded
        with pytest.raises(AlreadyExcluded, match="with the participant"):
            exclusions.exclude(session, "Careless.", actor=actor)
        with pytest.raises(NotExcluded, match="withdrawal"):
            exclusions.include(session, "Keep it.", actor=actor)
        assert exclusions.exclusion_history(session) == []
        assert session.id in study_data.excluded_session_ids(study)


def test_exclude_flagged_excludes_each_flagged_session_once_with_its_rules(app, world):
    with app.app_context():
        study, actor = world.study(), _researcher()
        done = exclusions.exclude_flagged(study, actor=actor)
        db.session.commit()
        assert set(done.session_ids) == {world.sessions["straight"], world.sessions["fast"]}
        straight = exclusions.exclusion_in_force(_session(world, "straight"))
        assert straight.rule == "longstring,attention"
        assert straight.reason == (
            "Flagged by the study's data-quality rules (longstring, attention)."
        )
        assert exclusions.exclusion_in_force(_session(world, "fast")).rule == "fast"
        events = _events(AuditAction.SESSION_EXCLUDED)
        assert sorted(int(e.target_id) for e in events) == sorted(done.session_ids)
        assert {e.details["rule"] for e in events} == {"longstring,attention", "fast"}
        # Nothing left to do the second time.
        assert exclusions.exclude_flagged(study, actor=actor, reason="Again.").count == 0
        assert len(_events(AuditAction.SESSION_EXCLUDED)) == 2


def test_exclude_flagged_takes_the_researchers_reason_and_a_wave(app, world):
    with app.app_context():
        study, actor = world.study(), _researcher()
        assert exclusions.exclude_flagged(study, actor=actor, wave="week-4").count == 0
        with pytest.raises(study_data.UnknownWave):
            exclusions.exclude_flagged(study, actor=actor, wave="week-99")
        with pytest.raises(ReasonRequired):
            exclusions.exclude_flagged(study, actor=actor, reason="  ")
        assert db.session.scalar(select(func.count()).select_from(SessionExclusion)) == 0
        done = exclusions.exclude_flagged(study, actor=actor, reason="Careless, by rule.")
        reasons = {
            exclusions.exclusion_in_force(db.session.get(ResponseSession, s)).reason
            for s in done.session_ids
        }
        assert reasons == {"Careless, by rule."}


def test_session_of_finds_only_the_studys_own_sessions(app, world):
    with app.app_context():
        other = make_iemdp_study(slug="other-study")
        session_id = world.sessions["attentive-0"]
        assert exclusions.session_of(world.study(), session_id).id == session_id
        assert exclusions.session_of(other.study(), session_id) is None
        assert exclusions.session_of(world.study(), 10**6) is None
