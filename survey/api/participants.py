"""API views: participants — enrol by external id, status, consent, withdraw — and the
study's progress and a participant's completion.

* ``POST /api/v1/participants`` (scope ``enrol``): enrol by external id, idempotent: a new
  id is ``201`` with the participant's web link; an id enrolled before is ``200`` with
  ``created: false`` and ``link: null`` (the link's secret exists only when it is made; a
  lost link is replaced by the study team, on the participants page);
* ``GET /api/v1/participants/{participant}`` (any scope): consent, the wave open now,
  whether they are due, when next;
* ``GET /api/v1/consent`` and ``POST /api/v1/participants/{participant}/consent`` (scope
  ``enrol``): the consent text, and the decision stored as the consent page stores it;
* ``POST /api/v1/participants/{participant}/withdraw`` (scope ``enrol``): idempotent;
* ``GET /api/v1/progress`` and ``GET /api/v1/participants/{participant}/completion``
  (scope ``read``).

Views are thin: validated input (spectree, pydantic) → one service of
:mod:`survey.services.api_enrolment` → one commit → the response model. Every refusal is
an :class:`~survey.api.problems.ApiProblem`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from flask import current_app, request
from pydantic import BaseModel, ConfigDict, Field

from survey.api import bp
from survey.api.auth import current_key, current_study, participant_or_404, require
from survey.api.problems import ApiProblem, invalid
from survey.api.schemas import ApiResponse
from survey.api.spec import spec
from survey.extensions import db
from survey.instance import external_id_key
from survey.models import ApiScope, Participant, Study
from survey.services import api_enrolment, invitations
from survey.services.api_enrolment import EnrolmentError, StaleConsentVersion
from survey.services.errors import BetweenWaves, ParticipantWithdrawn, StudyClosed
from survey.services.invitations import MAX_EXTERNAL_ID_LENGTH
from survey.services.participants import State
from survey.services.studies import WITHDRAWAL_WORDS

PARTICIPANT_CODE = "the participant's code, e.g. P000042"


# -- models ----------------------------------------------------------------------------------
class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class EnrolRequest(Strict):
    """A user of the therapy platform, by the platform's own id for them."""

    external_id: str = Field(
        min_length=1,
        max_length=MAX_EXTERNAL_ID_LENGTH,
        description="the platform's id of the user; stored only as a keyed hash (HMAC-SHA256)",
    )


class EnrolResult(BaseModel):
    """The participant an external id belongs to."""

    participant: str = Field(description=PARTICIPANT_CODE)
    created: bool = Field(description="true when the participant was enrolled by this request")
    link: str | None = Field(
        description="the participant's web link (their secret), only when created by this "
        "request: it is never stored, so an external id enrolled before answers null"
    )
    enrolled_via: str = Field(description="api, invitation or open_link")


class ConsentState(BaseModel):
    state: Literal["given", "declined", "none"] = Field(
        description="the latest decision on the study's current consent version"
    )
    consent_version: str = Field(description="the study's current consent version")
    decided_at: datetime | None


class WaveNow(BaseModel):
    key: str
    label: str
    opens_at: datetime | None = Field(description="the window for this participant")
    closes_at: datetime | None
    session: Literal["not_started", "in_progress", "completed"]


class ParticipantStatus(BaseModel):
    """Where a participant stands now."""

    participant: str = Field(description=PARTICIPANT_CODE)
    enrolled_via: str
    enrolled_at: datetime | None = Field(description="their first consent")
    withdrawn: bool
    withdrawn_at: datetime | None
    consent: ConsentState
    wave: WaveNow | None = Field(
        description="the wave open for them now (null: none, the study is not open, or "
        "they withdrew)"
    )
    due_now: bool = Field(description="a wave is open for them and not completed")
    next_due_at: datetime | None = Field(
        description="when the next wave they have not completed opens for them"
    )


class ConsentText(BaseModel):
    """What a participant agrees to: show this text, send the decision with its version."""

    consent_version: str
    consent_text: str
    withdrawal_policy: str = Field(description="keep or exclude")
    withdrawal_text: str = Field(description="what happens to the answers of who stops")


class ConsentRequest(Strict):
    decision: Literal["given", "declined"]
    consent_version: str = Field(
        min_length=1, max_length=32, description="the version of the text the user was shown"
    )


class ConsentResult(BaseModel):
    participant: str = Field(description=PARTICIPANT_CODE)
    decision: Literal["given", "declined"]
    consent_version: str
    recorded: bool = Field(
        description="false when the decision repeats their latest one (nothing new stored)"
    )
    decided_at: datetime | None = Field(description="when the decision in force was made")


class WithdrawResult(BaseModel):
    participant: str = Field(description=PARTICIPANT_CODE)
    withdrawn: bool
    withdrawn_at: datetime | None
    already_withdrawn: bool = Field(description="true when they had withdrawn before")


class WaveCounts(BaseModel):
    """Participants by their state at the wave (each counted once, most telling state
    first: withdrawn, excluded, completed, declined, in progress, not started)."""

    key: str
    label: str
    status: str = Field(description="the wave's status: open or closed")
    not_started: int
    in_progress: int
    completed: int
    declined: int
    withdrawn: int
    excluded: int


class StudyProgress(BaseModel):
    study: str = Field(description="the study's slug")
    participants: int
    enrolled: int = Field(description="participants who consented (at least once)")
    withdrawn: int
    waves: list[WaveCounts]


class WaveCompletion(BaseModel):
    key: str
    label: str
    session: Literal["not_started", "in_progress", "completed"]
    started_at: datetime | None
    completed_at: datetime | None


class Completion(BaseModel):
    participant: str = Field(description=PARTICIPANT_CODE)
    waves: list[WaveCompletion]


# -- helpers ---------------------------------------------------------------------------------
def _base_url() -> str:
    return current_app.config["PARTICIPANT_BASE_URL"] or request.host_url


def _unavailable(error: StudyClosed | ParticipantWithdrawn | BetweenWaves) -> ApiProblem:
    if isinstance(error, BetweenWaves):
        opens_at = error.opens_at
        when = f"; the next opens {opens_at.isoformat()}" if opens_at else ""
        return ApiProblem(
            409,
            f"no wave is open for this participant now{when}",
            kind="no-open-wave",
            extra={"opens_at": opens_at.isoformat() if opens_at else None},
        )
    if isinstance(error, ParticipantWithdrawn):
        return ApiProblem(409, "this participant withdrew", kind="participant-withdrawn")
    study = current_study()
    return ApiProblem(409, f"the study is {study.status}", kind="study-not-open")


def _enrol_result(participant: Participant, created: bool, link: str | None) -> EnrolResult:
    return EnrolResult(
        participant=participant.code,
        created=created,
        link=link,
        enrolled_via=participant.enrolled_via,
    )


# -- views -----------------------------------------------------------------------------------
@bp.post("/participants")
@require(ApiScope.ENROL)
@spec.validate(
    json=EnrolRequest,
    resp=ApiResponse(HTTP_200=EnrolResult, HTTP_201=EnrolResult, problems=(409,)),
    tags=["participants"],
)
def enrol_participant():
    """Enrol a user by external id (idempotent).

    A new external id is enrolled (201) and answered with the participant's web link; an
    id enrolled before answers the same participant (200, created false, link null).
    A draft or closed study is 409. Scope: enrol.
    """
    body: EnrolRequest = request.context.json  # type: ignore[attr-defined]
    study = current_study()
    try:
        enrolment = api_enrolment.enrol(
            study,
            body.external_id,
            external_id_key=external_id_key(current_app),
            api_key=current_key(),
        )
    except EnrolmentError as error:
        raise invalid([{"field": f"/{error.field}", "message": str(error)}]) from None
    except StudyClosed:
        raise ApiProblem(
            409, f"the study is {study.status}: it enrols nobody", kind="study-not-open"
        ) from None
    db.session.commit()
    link = None
    if enrolment.token is not None:
        link = invitations.link_for(enrolment.token, _base_url())
    result = _enrol_result(enrolment.participant, enrolment.created, link)
    return result, (201 if enrolment.created else 200)


@bp.get("/participants/<participant>")
@spec.validate(
    resp=ApiResponse(HTTP_200=ParticipantStatus, problems=(404,)),
    tags=["participants"],
    path_parameter_descriptions={"participant": PARTICIPANT_CODE},
)
def participant_status(participant: str):
    """A participant's status: consent, the wave open now, due now, next due.

    Any scope of the study.
    """
    found = participant_or_404(participant)
    status = api_enrolment.status(found)
    wave = None
    if status.wave is not None:
        wave = WaveNow(
            key=status.wave.wave.key,
            label=status.wave.wave.label,
            opens_at=status.wave.opens_at,
            closes_at=status.wave.closes_at,
            session=status.wave.session_state,
        )
    return ParticipantStatus(
        participant=found.code,
        enrolled_via=found.enrolled_via,
        enrolled_at=found.enrolled_at,
        withdrawn=found.withdrawn_at is not None,
        withdrawn_at=found.withdrawn_at,
        consent=ConsentState(
            state=status.consent_state,
            consent_version=found.study.consent_version,
            decided_at=status.consent_decided_at,
        ),
        wave=wave,
        due_now=status.due_now,
        next_due_at=status.next_due_at,
    )


@bp.get("/consent")
@require(ApiScope.ENROL)
@spec.validate(resp=ApiResponse(HTTP_200=ConsentText), tags=["consent"])
def consent_text():
    """The study's consent text and its version. Scope: enrol."""
    study: Study = current_study()
    return ConsentText(
        consent_version=study.consent_version,
        consent_text=study.consent_text,
        withdrawal_policy=study.withdrawal_policy,
        withdrawal_text=WITHDRAWAL_WORDS.get(study.withdrawal_policy, ""),
    )


@bp.post("/participants/<participant>/consent")
@require(ApiScope.ENROL)
@spec.validate(
    json=ConsentRequest,
    resp=ApiResponse(HTTP_200=ConsentResult, problems=(404, 409)),
    tags=["consent"],
    path_parameter_descriptions={"participant": PARTICIPANT_CODE},
)
def record_consent(participant: str):
    """Record the participant's consent decision, as the consent page does.

    The decision is on the study's current consent version: send the version of the text
    the user was shown; another version is 409 naming the current one. A draft or closed
    study, a withdrawn participant, or no wave open for them now is 409 as well (the web
    link refuses them too). Repeating the latest decision stores nothing (recorded false).
    Scope: enrol.
    """
    body: ConsentRequest = request.context.json  # type: ignore[attr-defined]
    found = participant_or_404(participant)
    try:
        record = api_enrolment.record_consent(
            found, body.decision, body.consent_version, api_key=current_key()
        )
    except StaleConsentVersion as error:
        raise ApiProblem(
            409,
            str(error),
            kind="stale-consent-version",
            extra={"current_consent_version": error.current},
        ) from None
    except (StudyClosed, ParticipantWithdrawn, BetweenWaves) as error:
        raise _unavailable(error) from None
    db.session.commit()
    latest = record or api_enrolment.latest_consent(found)
    return ConsentResult(
        participant=found.code,
        decision=body.decision,
        consent_version=found.study.consent_version,
        recorded=record is not None,
        decided_at=latest.decided_at if latest is not None else None,
    )


@bp.post("/participants/<participant>/withdraw")
@require(ApiScope.ENROL)
@spec.validate(
    resp=ApiResponse(HTTP_200=WithdrawResult, problems=(404,)),
    tags=["participants"],
    path_parameter_descriptions={"participant": PARTICIPANT_CODE},
)
def withdraw_participant(participant: str):
    """Withdraw a participant (idempotent: withdrawing again answers the same).

    Whatever the state of the study, as on the web: nothing is deleted; under the study's
    "exclude" policy their answers are left out of the analyses. Scope: enrol.
    """
    found = participant_or_404(participant)
    withdrew = api_enrolment.withdraw(found, api_key=current_key())
    db.session.commit()
    return WithdrawResult(
        participant=found.code,
        withdrawn=True,
        withdrawn_at=found.withdrawn_at,
        already_withdrawn=not withdrew,
    )


@bp.get("/progress")
@require(ApiScope.READ)
@spec.validate(resp=ApiResponse(HTTP_200=StudyProgress), tags=["read"])
def study_progress():
    """The study's progress: participants, enrolled, withdrawn, and per wave how many are
    in each state (as the participants page counts them). Scope: read."""
    study = current_study()
    progress = api_enrolment.progress(study)
    return StudyProgress(
        study=study.slug,
        participants=progress.participants,
        enrolled=progress.enrolled,
        withdrawn=progress.withdrawn,
        waves=[
            WaveCounts(
                key=row.wave.key,
                label=row.wave.label,
                status=row.wave.status,
                not_started=row.counts[State.NOT_STARTED],
                in_progress=row.counts[State.IN_PROGRESS],
                completed=row.counts[State.COMPLETE],
                declined=row.counts[State.DECLINED],
                withdrawn=row.counts[State.WITHDRAWN],
                excluded=row.counts[State.EXCLUDED],
            )
            for row in progress.waves
        ],
    )


@bp.get("/participants/<participant>/completion")
@require(ApiScope.READ)
@spec.validate(
    resp=ApiResponse(HTTP_200=Completion, problems=(404,)),
    tags=["read"],
    path_parameter_descriptions={"participant": PARTICIPANT_CODE},
)
def participant_completion(participant: str):
    """A participant's session at every wave: not started, in progress or completed, with
    when it started and was completed. Scope: read."""
    found = participant_or_404(participant)
    return Completion(
        participant=found.code,
        waves=[
            WaveCompletion(
                key=row.wave.key,
                label=row.wave.label,
                session=row.session_state,
                started_at=row.started_at,
                completed_at=row.completed_at,
            )
            for row in api_enrolment.completion(found)
        ],
    )
