"""Excluding a response session from analyses and exports, and including it again.

An exclusion is a flag with who, when and why (:class:`survey.models.SessionExclusion`);
nothing is ever deleted: the session's answers stay, and including it again lifts the
exclusion in force (``lifted_at``, ``lifted_by``, ``lift_reason``) and keeps its row, so
:func:`exclusion_history` tells the whole story. A session has at most one exclusion in
force (a partial unique index); a session whose participant is excluded (a withdrawal under
the study's "exclude" policy) is excluded with them and cannot be included here.

Every change is audited (SESSION_EXCLUDED, SESSION_INCLUDED), one event per session, the
bulk :func:`exclude_flagged` included: each exclusion can be lifted on its own, so each has
its own event. Services flush and never commit.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from survey.extensions import db
from survey.models import AuditAction, ResponseSession, SessionExclusion, Study, User, utcnow
from survey.services import audit, data_quality
from survey.services.errors import SurveyError

MAX_REASON = 2000


class ExclusionError(SurveyError):
    """An exclusion or inclusion that cannot be done; shown next to the reason field."""

    field = "reason"


class ReasonRequired(ExclusionError):
    """An exclusion and its lifting both need a reason."""


class AlreadyExcluded(ExclusionError):
    """The session is excluded already."""


class NotExcluded(ExclusionError):
    """The session has no exclusion in force to lift."""


def _checked_reason(reason: str | None) -> str:
    text = (reason or "").strip()
    if not text:
        raise ReasonRequired("Give a reason: it is kept with the exclusion.")
    if len(text) > MAX_REASON:
        raise ReasonRequired(f"Keep the reason to {MAX_REASON:,} characters.")
    return text


def session_of(study: Study, session_id: int) -> ResponseSession | None:
    """The study's response session ``session_id`` (None when it is another study's)."""
    session = db.session.get(ResponseSession, session_id)
    if session is None or session.wave.study_id != study.id:
        return None
    return session


def exclusion_in_force(session: ResponseSession) -> SessionExclusion | None:
    """The session's exclusion in force (not lifted), if any."""
    return db.session.scalar(
        select(SessionExclusion).where(
            SessionExclusion.session_id == session.id, SessionExclusion.lifted_at.is_(None)
        )
    )


def exclusion_history(session: ResponseSession) -> list[SessionExclusion]:
    """Every exclusion of the session, lifted or in force, oldest first."""
    return list(
        db.session.scalars(
            select(SessionExclusion)
            .where(SessionExclusion.session_id == session.id)
            .order_by(SessionExclusion.excluded_at, SessionExclusion.id)
        )
    )


def _details(session: ResponseSession, **more: object) -> dict[str, object]:
    return {
        "study": session.wave.study_id,
        "participant": session.participant.code,
        "wave": session.wave.key,
        **more,
    }


def exclude(
    session: ResponseSession,
    reason: str,
    *,
    actor: User | None,
    rule: str | None = None,
    now: datetime | None = None,
) -> SessionExclusion:
    """Exclude the session from analyses and exports by default, with ``reason`` (and the
    ``rule`` that suggested it, if any); audited SESSION_EXCLUDED.

    Raises :class:`ReasonRequired` and :class:`AlreadyExcluded` (an exclusion in force, or
    the participant excluded).
    """
    text = _checked_reason(reason)
    if session.participant.excluded:
        raise AlreadyExcluded(
            "Excluded already, with the participant: "
            f"{session.participant.exclusion_reason or 'no reason given'}."
        )
    if exclusion_in_force(session) is not None:
        raise AlreadyExcluded("This session is excluded already.")
    moment = now or utcnow()
    exclusion = SessionExclusion(
        session_id=session.id,
        reason=text,
        rule=rule,
        excluded_at=moment,
        excluded_by_id=actor.id if actor is not None else None,
    )
    try:
        # A simultaneous exclusion of the same session hits the partial unique index.
        with db.session.begin_nested():
            db.session.add(exclusion)
    except IntegrityError:
        raise AlreadyExcluded("This session is excluded already.") from None
    audit.record(
        AuditAction.SESSION_EXCLUDED,
        actor=actor,
        target_type="response_session",
        target_id=session.id,
        details=_details(session, exclusion=exclusion.id, reason=text, rule=rule),
        now=moment,
    )
    return exclusion


def include(
    session: ResponseSession,
    reason: str,
    *,
    actor: User | None,
    now: datetime | None = None,
) -> SessionExclusion:
    """Lift the session's exclusion in force (its row is kept); audited SESSION_INCLUDED.

    Raises :class:`ReasonRequired` and :class:`NotExcluded` (nothing in force, or the
    exclusion is the participant's, which follows the study's withdrawal policy).
    """
    text = _checked_reason(reason)
    exclusion = exclusion_in_force(session)
    if exclusion is None:
        if session.participant.excluded:
            raise NotExcluded(
                "The participant is excluded (withdrawal under the study's policy); "
                "that cannot be lifted for one session."
            )
        raise NotExcluded("This session is not excluded.")
    moment = now or utcnow()
    exclusion.lifted_at = moment
    exclusion.lifted_by_id = actor.id if actor is not None else None
    exclusion.lift_reason = text
    db.session.flush()
    audit.record(
        AuditAction.SESSION_INCLUDED,
        actor=actor,
        target_type="response_session",
        target_id=session.id,
        details=_details(session, exclusion=exclusion.id, reason=text),
        now=moment,
    )
    return exclusion


@dataclass(frozen=True)
class FlaggedExcluded:
    """What :func:`exclude_flagged` did: the sessions it excluded (ids, in study order)."""

    session_ids: tuple[int, ...]

    @property
    def count(self) -> int:
        return len(self.session_ids)


def default_reason(rules: list[str]) -> str:
    """The reason a bulk exclusion records when the researcher gives none."""
    return f"Flagged by the study's data-quality rules ({', '.join(rules)})."


def exclude_flagged(
    study: Study,
    *,
    actor: User | None,
    reason: str | None = None,
    wave: str | None = None,
    now: datetime | None = None,
) -> FlaggedExcluded:
    """Exclude every session the study's rules flag (``flag_any``) that is not excluded
    yet, each with the rules that flagged it as ``rule`` (comma-separated) and ``reason``
    (by default :func:`default_reason`); one SESSION_EXCLUDED event per session.

    ``wave`` limits it to one wave. A blank ``reason`` raises :class:`ReasonRequired`
    (``None`` takes the default).
    """
    given = None if reason is None else _checked_reason(reason)
    assessor = data_quality.QualityAssessor.for_study(study, wave=wave)
    flagged: list[tuple[int, list[str]]] = []
    for chunk in assessor.assess_study():
        for assessed in chunk:
            if assessed.flagged and not assessed.record.excluded:
                flagged.append(
                    (assessed.record.session_id, data_quality.rules_flagged(assessed.quality))
                )
    moment = now or utcnow()
    done = []
    for session_id, rules in flagged:
        session = db.session.get(ResponseSession, session_id)
        assert session is not None  # just read from the study
        exclude(
            session,
            given or default_reason(rules),
            actor=actor,
            rule=",".join(rules),
            now=moment,
        )
        done.append(session_id)
    return FlaggedExcluded(tuple(done))
