"""API views: the questionnaire inside the chat, item by item.

``GET /participants/{participant}/items`` hands out the next item(s) of the wave open for
the participant, ``POST /participants/{participant}/answers`` stores the chat's answers
(stamped ``delivery_mode = chat``) with an optional ``Idempotency-Key``. The rules live in
:mod:`survey.services.chat_delivery`; these views read the input, call it, audit and
commit once.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from functools import wraps
from typing import Any, TypeVar

from flask import current_app, request
from pydantic import BaseModel, ConfigDict, Field, StrictInt

from survey.api import bp
from survey.api.auth import current_key, current_study, participant_or_404, require
from survey.api.idempotency import IdempotencyHeaders, idempotent, respond
from survey.api.problems import ApiProblem, invalid, pointer
from survey.api.schemas import ApiResponse
from survey.api.spec import spec
from survey.extensions import db
from survey.models import ApiScope, AuditAction
from survey.services import audit, chat_delivery
from survey.services.chat_delivery import ChatAnswer, Delivery, InvalidChatAnswers
from survey.services.errors import (
    BetweenWaves,
    ConsentRequired,
    ParticipantWithdrawn,
    SessionCompleted,
    StudyClosed,
    StudyUnavailable,
    SurveyError,
)

F = TypeVar("F", bound=Callable[..., Any])

MAX_BODY_BYTES = 100_000
"""The largest request body of these views (``API_MAX_BODY_BYTES`` overrides): 500
answers take about 25 kB."""
MAX_ANSWERS = 500


# -- request body limit and domain errors --------------------------------------------------
def limit_body(view: F) -> F:
    """Refuse a body over the limit with 413 before anything reads it (outside
    ``spec.validate``, which reads the body first)."""

    @wraps(view)
    def limited(*args: Any, **kwargs: Any) -> Any:
        limit = int(current_app.config.get("API_MAX_BODY_BYTES", MAX_BODY_BYTES))
        length = request.content_length
        if length is not None and length > limit:
            raise ApiProblem(413, f"the body is {length:,} bytes; at most {limit:,}")
        request.max_content_length = limit  # a body without Content-Length stops there too
        return view(*args, **kwargs)

    return limited  # type: ignore[return-value]


def problem_for(error: SurveyError) -> ApiProblem:
    """The problem a domain error of participation is answered with (409s: the request is
    fine, the participant's state does not allow it)."""
    if isinstance(error, ConsentRequired):
        return ApiProblem(
            409,
            "the participant has not consented to the study's current consent version",
            kind="consent-required",
        )
    if isinstance(error, ParticipantWithdrawn):
        return ApiProblem(
            409, "the participant withdrew from the study", kind="participant-withdrawn"
        )
    if isinstance(error, BetweenWaves):
        opens_at = error.opens_at.isoformat() if error.opens_at is not None else None
        when = f"; the next opens at {opens_at}" if opens_at else ""
        return ApiProblem(
            409,
            f"no wave is open for this participant now{when}",
            kind="no-open-wave",
            extra={"opens_at": opens_at, "completed_any": error.completed_any},
        )
    if isinstance(error, StudyClosed | StudyUnavailable):
        study = current_study()
        return ApiProblem(
            409,
            f"the study is {study.status}: it accepts no answers now",
            kind="study-not-open",
            extra={"study_status": str(study.status)},
        )
    if isinstance(error, SessionCompleted):
        return ApiProblem(
            409,
            "the participant has completed this wave; its answers can no longer change",
            kind="session-completed",
        )
    raise error


# -- schemas -------------------------------------------------------------------------------
class ItemsQuery(BaseModel):
    """How many items to hand out."""

    model_config = ConfigDict(extra="forbid")

    limit: int = Field(
        1, ge=1, le=chat_delivery.MAX_ITEMS, description="items to hand out (1 to 50)"
    )


class ResponseOptionOut(BaseModel):
    value: int
    label: str


class InstrumentVersionOut(BaseModel):
    """The instrument version an item belongs to (its answers point to it)."""

    key: str
    version: str
    content_hash: str = Field(description="SHA-256 of the version's canonical content")


class PageOut(BaseModel):
    key: str
    number: int = Field(description="1-based, across the study's battery")


class ItemOut(BaseModel):
    """One item to ask (attention checks are asked like the others)."""

    item_id: str
    text: str
    page: PageOut
    options: list[ResponseOptionOut] = Field(description="the item's response scale, in order")
    optional: bool = Field(description="may be skipped with value null")
    instrument: InstrumentVersionOut


class ProgressOut(BaseModel):
    answered: int = Field(description="items of the wave answered (or skipped) so far")
    total: int = Field(description="items of the wave")
    page: int = Field(description="the page of the next item (the last once complete)")
    pages: int


class WaveOut(BaseModel):
    key: str
    label: str
    closes_at: datetime | None = Field(description="when it closes for this participant")


class NextItems(BaseModel):
    """The next items of the wave open for the participant."""

    participant: str = Field(description="the participant's code")
    wave: WaveOut
    items: list[ItemOut] = Field(description="empty once the wave is complete")
    progress: ProgressOut
    complete: bool = Field(description="the participant has completed this wave")


class AnswerIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    item_id: str = Field(min_length=1, max_length=64)
    value: StrictInt | None = Field(
        description="a value of the item's scale; null skips an optional item"
    )
    instrument: str | None = Field(
        None,
        max_length=64,
        description="the instrument's key, only where two instruments share an item id",
    )


class AnswersIn(BaseModel):
    """One answer, a page of answers, or answers spanning pages."""

    model_config = ConfigDict(extra="forbid")

    answers: list[AnswerIn] = Field(min_length=1, max_length=MAX_ANSWERS)


class AnswersSaved(BaseModel):
    stored: int = Field(description="answers stored by this request")
    submitted_pages: list[str] = Field(description="keys of the pages this request completed")
    completed: bool = Field(description="the wave is now complete")
    safety_alert: bool = Field(description="an answer endorsed a safety item")
    urgent_help: str | None = Field(
        description="the study's urgent-help note, to show at once after a safety alert"
    )
    next: NextItems


# -- views ---------------------------------------------------------------------------------
def next_items_out(delivery: Delivery) -> NextItems:
    invitation = delivery.invitation
    wave = invitation.wave
    return NextItems(
        participant=invitation.participant.code,
        wave=WaveOut(
            key=wave.key, label=wave.label, closes_at=chat_delivery.wave_closes_at(invitation)
        ),
        items=[
            ItemOut(
                item_id=item.entry.id,
                text=item.entry.text,
                page=PageOut(key=item.page_key, number=item.page_number),
                options=[ResponseOptionOut(value=o.value, label=o.label) for o in item.options],
                optional=item.entry.optional,
                instrument=InstrumentVersionOut(
                    key=item.definition.key,
                    version=item.version.version,
                    content_hash=item.version.content_hash,
                ),
            )
            for item in delivery.items
        ],
        progress=ProgressOut(
            answered=delivery.answered,
            total=delivery.total,
            page=delivery.page,
            pages=delivery.pages,
        ),
        complete=delivery.complete,
    )


ITEMS_RESPONSE = ApiResponse(HTTP_200=NextItems, problems=(404, 409))


@bp.get("/participants/<participant>/items")
@require(ApiScope.DELIVER)
@spec.validate(query=ItemsQuery, resp=ITEMS_RESPONSE, tags=["delivery"])
def next_items(participant: str, query: ItemsQuery):
    """The next item(s) of the wave open for the participant, in their stable order.

    Starts their session (consent needed: 409 `consent-required`); 409 `withdrawn`,
    `no-open-wave` (with `opens_at`) or `study-not-open` when nothing can be asked.
    """
    found = participant_or_404(participant)
    try:
        delivery = chat_delivery.next_items(found, query.limit)
    except SurveyError as error:
        raise problem_for(error) from error
    body = next_items_out(delivery)
    db.session.commit()
    return body


@bp.post("/participants/<participant>/answers")
@limit_body
@require(ApiScope.DELIVER)
@idempotent
@spec.validate(
    query=ItemsQuery,
    json=AnswersIn,
    headers=IdempotencyHeaders,
    resp=ApiResponse(HTTP_200=AnswersSaved, problems=(404, 409)),
    tags=["delivery"],
)
def save_answers(participant: str, query: ItemsQuery, json: AnswersIn):
    """Store answers from the chat (stamped `delivery_mode = chat`).

    Each must be an item of the open wave's questionnaire and a value of its scale (422
    listing every bad one; nothing is stored then). A page is submitted once every item of
    it is answered (optional ones: answered or skipped with null); until then the answers
    are a draft the web pages show. The reply has the next item(s) (`limit`, default 1).
    """
    found = participant_or_404(participant)
    answers = [ChatAnswer(a.item_id, a.value, a.instrument) for a in json.answers]
    try:
        saved = chat_delivery.save_answers(found, answers)
        delivery = chat_delivery.next_items(found, query.limit)
    except InvalidChatAnswers as error:
        raise invalid(
            {"field": pointer(("answers", p.index, p.field)), "message": p.message}
            for p in error.problems
        ) from error
    except SurveyError as error:
        raise problem_for(error) from error
    audit.record(
        AuditAction.API_ANSWERS_SAVED,
        actor=None,
        api_key_id=current_key().id,
        target_type="participant",
        target_id=found.id,
        details={
            "study": current_study().slug,
            "wave": delivery.wave.key,
            "answers": saved.stored,
            "submitted_pages": list(saved.submitted_pages),
            "completed": saved.completed,
        },
    )
    body = AnswersSaved(
        stored=saved.stored,
        submitted_pages=list(saved.submitted_pages),
        completed=saved.completed,
        safety_alert=bool(saved.safety_alerts),
        urgent_help=current_study().urgent_help_note if saved.safety_alerts else None,
        next=next_items_out(delivery),
    )
    return respond(body)
