"""API view: a therapy platform posts a participant's engagement outcomes.

``POST /participants/{participant}/outcomes`` stores the posted values into the study's
outcome store (:func:`survey.services.outcomes.post_outcomes`: a new version, source
``api``; older versions kept), with an optional ``Idempotency-Key``.
"""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictFloat, StrictInt
from sqlalchemy.exc import IntegrityError

from survey.api import bp
from survey.api.auth import current_key, current_study, participant_or_404, require
from survey.api.delivery import limit_body, problem_for
from survey.api.idempotency import IdempotencyHeaders, idempotent, respond
from survey.api.problems import ApiProblem, invalid
from survey.api.schemas import ApiResponse
from survey.api.spec import spec
from survey.models import ApiScope, AuditAction
from survey.services import audit, outcomes
from survey.services.errors import SurveyError

MAX_VALUES = 100


class OutcomesIn(BaseModel):
    """A participant's outcomes on one date, for a wave or for the participant as a whole."""

    model_config = ConfigDict(extra="forbid")

    recorded_on: date = Field(description="the day the values were recorded (YYYY-MM-DD)")
    wave: str | None = Field(
        None,
        max_length=64,
        description="a wave key of the study; absent: values for the participant as a whole",
    )
    values: dict[str, StrictBool | StrictInt | StrictFloat | str | None] = Field(
        min_length=1,
        max_length=MAX_VALUES,
        description=(
            "name -> value: a number, a boolean (stored 1/0) or text (a categorical "
            "column); null empties the cell. Names: a letter, then letters, digits or _, "
            "at most 32 characters."
        ),
    )


class OutcomesStored(BaseModel):
    outcome_version: int = Field(description="the study's new outcome version")
    participant: str
    wave: str | None
    recorded_on: date
    names: list[str] = Field(description="the names posted, sorted")


@bp.post("/participants/<participant>/outcomes")
@limit_body
@require(ApiScope.OUTCOMES)
@idempotent
@spec.validate(
    json=OutcomesIn,
    headers=IdempotencyHeaders,
    resp=ApiResponse(HTTP_201=OutcomesStored, problems=(404, 409)),
    tags=["outcomes"],
)
def post_outcomes(participant: str, json: OutcomesIn):
    """Store a participant's engagement outcomes (messages sent, active weeks, dropped
    out, ...) as the study's next outcome version.

    The version is the current one with this participant's row (for `wave`, or for the
    participant as a whole) added or its posted names overridden. `recorded_on` is kept
    in the row's numeric column `recorded_on` as the number YYYYMMDD. Invalid names or
    values: 422 listing each; a participant who never consented or withdrew: 409.
    """
    found = participant_or_404(participant)
    study = current_study()
    wave = None
    if json.wave is not None:
        wave = next((w for w in study.waves if w.key == json.wave), None)
        if wave is None:
            known = ", ".join(w.key for w in study.waves) or "none"
            raise invalid(
                [
                    {
                        "field": "/wave",
                        "message": f"{json.wave!r} is not a wave of this study "
                        f"(its waves: {known})",
                    }
                ]
            )
    try:
        upload = outcomes.post_outcomes(
            study, found, json.values, recorded_on=json.recorded_on, wave=wave
        )
    except outcomes.OutcomePostInvalid as error:
        raise invalid({"field": f, "message": m} for f, m in error.problems) from error
    except IntegrityError as error:
        # Another post took the same version number at the same moment (SQLite: the two
        # read the current version before either wrote; PostgreSQL locks the study first).
        raise ApiProblem(
            503,
            "another outcome post of this study was stored at the same moment; nothing "
            "was stored: send it again",
            headers={"Retry-After": "1"},
        ) from error
    except SurveyError as error:
        raise problem_for(error) from error
    audit.record(
        AuditAction.API_OUTCOMES_POSTED,
        actor=None,
        api_key_id=current_key().id,
        target_type="participant",
        target_id=found.id,
        details={
            "study": study.slug,
            "outcome_version": upload.version,
            "wave": json.wave,
            "recorded_on": json.recorded_on.isoformat(),
            "names": sorted(json.values),
        },
    )
    body = OutcomesStored(
        outcome_version=upload.version,
        participant=found.code,
        wave=json.wave,
        recorded_on=json.recorded_on,
        names=sorted(json.values),
    )
    return respond(body, 201)
