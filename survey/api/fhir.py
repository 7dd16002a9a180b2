"""FHIR R4 read endpoints (scope ``read``), limited to the key's study:

- ``GET /api/v1/fhir/Questionnaire``: a ``searchset`` Bundle of the study's battery
  versions; ``GET /api/v1/fhir/Questionnaire/{version_id}``: one of them;
- ``GET /api/v1/fhir/QuestionnaireResponse?subject=P000042``: a ``searchset`` Bundle of
  the participant's answers, one resource per session (wave) and battery version;
  ``GET /api/v1/fhir/QuestionnaireResponse/{session_id}-{version_id}``: one of them.

Resources are ``application/fhir+json`` (see :mod:`survey.services.fhir`). Errors are the
API's RFC 9457 problem details (``application/problem+json``), not FHIR
``OperationOutcome``: one error format for the whole API, and its statuses are FHIR's
(401, 403, 404, 422).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, Literal

from flask import current_app, make_response, request, url_for
from pydantic import BaseModel, ConfigDict, Field

from survey.api import bp
from survey.api.auth import current_study, participant_or_404, require
from survey.api.problems import ApiProblem
from survey.api.schemas import ApiResponse
from survey.api.spec import spec
from survey.extensions import db
from survey.models import InstrumentVersion, ResponseSession
from survey.services import fhir
from survey.services.fhir.response import participant_sessions

TAGS = ["fhir"]


# -- documented shapes -------------------------------------------------------------------------
class FhirQuestionnaire(BaseModel):
    """A FHIR R4 Questionnaire: an instrument version (every FHIR element allowed)."""

    model_config = ConfigDict(extra="allow")

    resourceType: Literal["Questionnaire"]
    id: str
    url: str = Field(description="canonical URL: <base>/fhir/Questionnaire/<instrument key>")
    version: str = Field(description="the instrument version (semantic version)")
    status: Literal["draft", "active", "retired"]
    identifier: list[dict[str, Any]] = Field(description="the content SHA-256")
    item: list[dict[str, Any]] = Field(description="one group per page")


class FhirQuestionnaireResponse(BaseModel):
    """A FHIR R4 QuestionnaireResponse: one session's answers to one battery version."""

    model_config = ConfigDict(extra="allow")

    resourceType: Literal["QuestionnaireResponse"]
    id: str = Field(description="<session id>-<version id>")
    questionnaire: str = Field(description="canonical url|version")
    status: Literal["in-progress", "completed", "stopped"]
    subject: dict[str, Any] = Field(description="an identifier: the participant code")
    authored: str


class BundleEntry(BaseModel):
    model_config = ConfigDict(extra="allow")

    fullUrl: str
    resource: dict[str, Any]


class FhirBundle(BaseModel):
    """A FHIR R4 Bundle of type searchset (every match, no paging)."""

    model_config = ConfigDict(extra="allow")

    resourceType: Literal["Bundle"]
    type: Literal["searchset"]
    total: int
    entry: list[BundleEntry]


class ResponseSearch(BaseModel):
    subject: str = Field(
        min_length=1, max_length=64, description="the participant code, e.g. P000042"
    )


class FhirResponse(ApiResponse):
    """The API's response declaration (problems as ``application/problem+json``), with
    the 200 resource as ``application/fhir+json`` (what the views send)."""

    def generate_spec(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        responses = super().generate_spec(*args, **kwargs)
        ok = responses.get("200", {})
        if "application/json" in ok.get("content", {}):
            ok["content"] = {fhir.MEDIA_TYPE: ok["content"]["application/json"]}
        return responses


def fhir_json(view: Callable[..., Any]) -> Callable[..., Any]:
    """Send what the view answers as ``application/fhir+json``."""

    @wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        response = make_response(view(*args, **kwargs))
        if response.status_code == 200:
            response.mimetype = fhir.MEDIA_TYPE
        return response

    return wrapped


def public_base() -> str:
    """The base of canonical URLs and identifier systems (the site's public URL)."""
    return (current_app.config["PARTICIPANT_BASE_URL"] or request.host_url).rstrip("/")


# -- Questionnaire -----------------------------------------------------------------------------
def _battery_version(version_id: int) -> InstrumentVersion:
    for version in current_study().instrument_versions:
        if version.id == version_id:
            return version
    raise ApiProblem(
        404,
        f"this study's battery has no instrument version {version_id}",
        kind="unknown-questionnaire",
    )


def _questionnaire_url(resource: dict[str, Any]) -> str:
    return url_for("api.fhir_questionnaire", version_id=int(resource["id"]), _external=True)


@bp.get("/fhir/Questionnaire")
@fhir_json
@spec.validate(resp=FhirResponse(HTTP_200=FhirBundle), tags=TAGS)
@require("read")
def fhir_questionnaires():
    """The study's battery versions as FHIR Questionnaires (a searchset Bundle)."""
    base = public_base()
    resources = [
        fhir.to_questionnaire(version, base_url=base)
        for version in current_study().instrument_versions
    ]
    return fhir.searchset(resources, self_url=request.url, full_url=_questionnaire_url)


@bp.get("/fhir/Questionnaire/<int:version_id>")
@fhir_json
@spec.validate(
    resp=FhirResponse(HTTP_200=FhirQuestionnaire, problems=(404,)),
    tags=TAGS,
)
@require("read")
def fhir_questionnaire(version_id: int):
    """One battery version as a FHIR Questionnaire (id: the version's id)."""
    return fhir.to_questionnaire(_battery_version(version_id), base_url=public_base())


# -- QuestionnaireResponse ---------------------------------------------------------------------
def _response_url(resource: dict[str, Any]) -> str:
    session_id, _, version_id = resource["id"].partition("-")
    return url_for(
        "api.fhir_questionnaire_response",
        session_id=int(session_id),
        version_id=int(version_id),
        _external=True,
    )


@bp.get("/fhir/QuestionnaireResponse")
@fhir_json
@spec.validate(
    query=ResponseSearch,
    resp=FhirResponse(HTTP_200=FhirBundle, problems=(404,)),
    tags=TAGS,
)
@require("read")
def fhir_questionnaire_responses(query: ResponseSearch):
    """A participant's answers as FHIR QuestionnaireResponses (a searchset Bundle): one
    per session (wave) and battery version."""
    participant = participant_or_404(query.subject)
    base = public_base()
    resources = [
        resource
        for session in participant_sessions(participant.id)
        for resource in fhir.session_responses(session, base_url=base)
    ]
    return fhir.searchset(resources, self_url=request.url, full_url=_response_url)


@bp.get("/fhir/QuestionnaireResponse/<int:session_id>-<int:version_id>")
@fhir_json
@spec.validate(
    resp=FhirResponse(HTTP_200=FhirQuestionnaireResponse, problems=(404,)),
    tags=TAGS,
)
@require("read")
def fhir_questionnaire_response(session_id: int, version_id: int):
    """One session's answers to one battery version (id: ``<session id>-<version id>``)."""
    session = db.session.get(ResponseSession, session_id)
    if session is None or session.participant.study_id != current_study().id:
        raise ApiProblem(
            404,
            f"this study has no questionnaire response {session_id}-{version_id}",
            kind="unknown-questionnaire-response",
        )
    version = _battery_version(version_id)
    return fhir.to_questionnaire_response(session, version, base_url=public_base())
