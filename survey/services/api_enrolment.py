"""What a therapy platform does for its users through the API: enrol them by external id,
consent for them, withdraw them, and read where they (and the study) stand.

The rules are those of the web: the consent decision is stored by
:func:`survey.services.participation.record_consent` for the wave the link would lead to
now (:func:`invitation_for` refuses what :func:`participation.resolve` refuses), withdrawal
is :func:`participation.withdraw`, the states are those of the participants page
(:mod:`survey.services.participants`). Every write is audited with the API key that made
it (its id, never the key). Functions flush and never commit.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import event, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from survey.extensions import db
from survey.models import (
    ApiKey,
    AuditAction,
    AuditEvent,
    ConsentDecision,
    ConsentRecord,
    EnrolledVia,
    Participant,
    ResponseSession,
    Study,
    StudyStatus,
    Wave,
    utcnow,
)
from survey.services import audit, participants, participation, studies
from survey.services.errors import (
    BetweenWaves,
    ParticipantWithdrawn,
    StudyClosed,
    SurveyError,
)
from survey.services.invitations import MAX_EXTERNAL_ID_LENGTH, hash_external_id
from survey.services.participation import Invitation


class EnrolmentError(SurveyError):
    """Input the API's enrolment refuses; ``field`` names it."""

    def __init__(self, message: str, *, field: str):
        self.field = field
        super().__init__(message)


class StaleConsentVersion(SurveyError):
    """A decision on a consent version that is not the study's current one."""

    def __init__(self, sent: str, current: str):
        self.sent = sent
        self.current = current
        super().__init__(
            f"consent version {sent!r} is not the study's current one ({current!r}): "
            "show the participant the current consent text (GET /api/v1/consent) and send "
            "their decision on it"
        )


class SessionState:
    """A participant's session at one wave, as the API says it."""

    NOT_STARTED = "not_started"
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"


class ConsentState:
    GIVEN = ConsentDecision.GIVEN
    DECLINED = ConsentDecision.DECLINED
    NONE = "none"


@dataclass(frozen=True)
class Enrolment:
    """What enrolling an external id did: the participant, whether it was made now, and
    its link's token (only when made now: the token is never stored)."""

    participant: Participant
    created: bool
    token: str | None


@dataclass(frozen=True)
class WaveNow:
    """The wave open for a participant now, its window for them and their session's
    state there."""

    wave: Wave
    opens_at: datetime | None
    closes_at: datetime | None
    session_state: str


@dataclass(frozen=True)
class ParticipantStatus:
    participant: Participant
    consent_state: str  # given, declined or none (on the study's current consent version)
    consent_decided_at: datetime | None
    wave: WaveNow | None  # None: no wave open for them now (or the study is not open)
    due_now: bool  # a wave is open for them and they have not completed it
    next_due_at: datetime | None  # when the next wave they have not completed opens


@dataclass(frozen=True)
class WaveCompletion:
    wave: Wave
    session_state: str
    started_at: datetime | None
    completed_at: datetime | None


@dataclass(frozen=True)
class WaveCounts:
    """Participants of the study by their state at one wave (the participants page's
    rule: withdrawn and excluded first, then completed, declined, in progress)."""

    wave: Wave
    counts: dict[str, int]


@dataclass(frozen=True)
class StudyProgress:
    participants: int
    enrolled: int  # consented at least once (enrolment is the first consent)
    withdrawn: int
    waves: tuple[WaveCounts, ...]


# -- enrolment -------------------------------------------------------------------------------
def enrol(
    study: Study,
    external_id: str,
    *,
    external_id_key: bytes,
    api_key: ApiKey,
    now: datetime | None = None,
) -> Enrolment:
    """The study's participant with this external id, enrolled (via the API) if there is
    none yet. Idempotent: the same id always finds the same participant, also when two
    requests for a new id race (the database's unique study × id-hash keeps one; the
    loser finds the winner's). Only the keyed hash of the id is stored.

    Raises :class:`EnrolmentError` (an empty or too long id) and :class:`StudyClosed` (a
    draft or closed study enrols nobody; nothing is looked up then either). Audited as
    ``api_participant_enrolled`` (with the key's id) when a participant is made.
    """
    external_id = external_id.strip()
    if not external_id:
        raise EnrolmentError("an external id cannot be blank", field="external_id")
    if len(external_id) > MAX_EXTERNAL_ID_LENGTH:
        raise EnrolmentError(
            f"an external id has at most {MAX_EXTERNAL_ID_LENGTH} characters",
            field="external_id",
        )
    if study.status != StudyStatus.OPEN:
        raise StudyClosed(f"study {study.slug} is {study.status}: it enrols nobody", study=study)
    external_id_hash = hash_external_id(external_id, external_id_key)
    existing = _by_external_id(study, external_id_hash)
    if existing is not None:
        return Enrolment(existing, False, None)
    now = now or utcnow()
    try:
        with db.session.begin_nested():
            ((participant, token),) = studies.add_participants(
                study, 1, external_id_hashes=[external_id_hash], via=EnrolledVia.API, now=now
            )
    except IntegrityError:
        existing = _by_external_id(study, external_id_hash)
        if existing is None:
            raise
        return Enrolment(existing, False, None)
    audit.record(
        AuditAction.API_PARTICIPANT_ENROLLED,
        actor=None,
        target_type="participant",
        target_id=participant.id,
        details={"study": study.slug, "code": participant.code},
        api_key_id=api_key.id,
        now=now,
    )
    return Enrolment(participant, True, token)


def _by_external_id(study: Study, external_id_hash: str) -> Participant | None:
    return db.session.scalar(
        select(Participant).where(
            Participant.study_id == study.id, Participant.external_id_hash == external_id_hash
        )
    )


# -- consent ---------------------------------------------------------------------------------
def invitation_for(participant: Participant, *, now: datetime | None = None) -> Invitation:
    """What the participant's link leads to now (:func:`participation.resolve` by
    participant instead of token): raises :class:`StudyClosed`,
    :class:`ParticipantWithdrawn` and :class:`BetweenWaves` as the web does."""
    study = participant.study
    if study.status != StudyStatus.OPEN:
        raise StudyClosed(f"study {study.slug} is {study.status}", study=study)
    if participant.withdrawn_at is not None:
        raise ParticipantWithdrawn("this participant stopped taking part", study=study)
    return Invitation(participant, study, participation.current_wave(participant, now or utcnow()))


def record_consent(
    participant: Participant,
    decision: str,
    consent_version: str,
    *,
    api_key: ApiKey,
    now: datetime | None = None,
) -> ConsentRecord | None:
    """Store the participant's decision on the study's current consent version as the
    consent page does (append-only; repeating the latest decision stores nothing and
    returns None). ``consent_version`` must be the current one (the text the participant
    was shown): raises :class:`StaleConsentVersion`, and what :func:`invitation_for`
    raises. Audited as ``api_consent_recorded`` (with the key's id) when stored."""
    invitation = invitation_for(participant, now=now)
    current = invitation.study.consent_version
    if consent_version != current:
        raise StaleConsentVersion(consent_version, current)
    record = participation.record_consent(invitation, decision, now=now)
    if record is not None:
        audit.record(
            AuditAction.API_CONSENT_RECORDED,
            actor=None,
            target_type="participant",
            target_id=participant.id,
            details={
                "study": invitation.study.slug,
                "code": participant.code,
                "decision": decision,
                "consent_version": current,
            },
            api_key_id=api_key.id,
            now=now,
        )
    return record


def latest_consent(participant: Participant) -> ConsentRecord | None:
    """The participant's latest decision on their study's current consent version."""
    return db.session.scalar(
        select(ConsentRecord)
        .where(
            ConsentRecord.participant_id == participant.id,
            ConsentRecord.consent_version == participant.study.consent_version,
        )
        .order_by(ConsentRecord.ordinal.desc())
        .limit(1)
    )


# -- withdrawal ------------------------------------------------------------------------------
def withdraw(participant: Participant, *, api_key: ApiKey, now: datetime | None = None) -> bool:
    """:func:`participation.withdraw` (whatever the state of the study: a participant can
    always stop); False when they had withdrawn already. Its ``participant_withdrew``
    event names the key that asked."""
    with attributed_to(api_key):
        return participation.withdraw(participant, now=now)


@contextmanager
def attributed_to(api_key: ApiKey) -> Iterator[None]:
    """Every audit event this session writes inside the block (and that names no key)
    names ``api_key``: for services that audit without knowing about keys. The events are
    stamped before they are inserted (the audit log is append-only)."""
    session = db.session()

    def stamp(flushing: Session, _context: object, _instances: object) -> None:
        for instance in flushing.new:
            if isinstance(instance, AuditEvent) and instance.api_key_id is None:
                instance.api_key_id = api_key.id

    event.listen(session, "before_flush", stamp)
    try:
        yield
    finally:
        event.remove(session, "before_flush", stamp)


# -- reading ---------------------------------------------------------------------------------
def _sessions(participant: Participant) -> dict[int, ResponseSession]:
    return {
        session.wave_id: session
        for session in db.session.scalars(
            select(ResponseSession).where(ResponseSession.participant_id == participant.id)
        )
    }


def _session_state(session: ResponseSession | None) -> str:
    if session is None:
        return SessionState.NOT_STARTED
    if session.completed_at is not None:
        return SessionState.COMPLETED
    return SessionState.IN_PROGRESS


def status(participant: Participant, *, now: datetime | None = None) -> ParticipantStatus:
    """Where the participant stands now: their consent on the current consent version,
    the wave open for them (None when the study is not open, they withdrew, or no wave is
    open for them), whether they are due now, and when the next wave they have not
    completed opens (:func:`participation.next_opening`)."""
    now = now or utcnow()
    consent = latest_consent(participant)
    wave_now: WaveNow | None = None
    next_due_at: datetime | None = None
    study = participant.study
    if study.status == StudyStatus.OPEN and participant.withdrawn_at is None:
        try:
            wave = participation.current_wave(participant, now)
        except BetweenWaves as between:
            next_due_at = between.opens_at
        else:
            opens, closes = wave.window(participant.enrolled_at or now)
            session = _sessions(participant).get(wave.id)
            wave_now = WaveNow(wave, opens, closes, _session_state(session))
            next_due_at = participation.next_opening(participant, now)
    due_now = wave_now is not None and wave_now.session_state != SessionState.COMPLETED
    return ParticipantStatus(
        participant=participant,
        consent_state=ConsentState.NONE if consent is None else consent.decision,
        consent_decided_at=None if consent is None else consent.decided_at,
        wave=wave_now,
        due_now=due_now,
        next_due_at=next_due_at,
    )


def completion(participant: Participant) -> tuple[WaveCompletion, ...]:
    """The participant's session state at every wave of their study, in wave order."""
    sessions = _sessions(participant)
    rows = []
    for wave in participant.study.waves:
        session = sessions.get(wave.id)
        rows.append(
            WaveCompletion(
                wave=wave,
                session_state=_session_state(session),
                started_at=None if session is None else session.started_at,
                completed_at=None if session is None else session.completed_at,
            )
        )
    return tuple(rows)


def progress(study: Study) -> StudyProgress:
    """The study's participants, how many enrolled and withdrew, and per wave how many
    are in each state (:func:`survey.services.participants.state_counts`: the counts of
    the participants page)."""
    total, enrolled, withdrawn = db.session.execute(
        select(
            func.count(Participant.id),
            func.count(Participant.enrolled_at),
            func.count(Participant.withdrawn_at),
        ).where(Participant.study_id == study.id)
    ).one()
    counts = participants.state_counts(study)
    return StudyProgress(
        participants=total,
        enrolled=enrolled,
        withdrawn=withdrawn,
        waves=tuple(
            WaveCounts(wave, counts.get(wave.id, dict.fromkeys(participants.State.ALL, 0)))
            for wave in study.waves
        ),
    )
