"""``Idempotency-Key`` on the API's POSTs: a retried request is answered, not redone.

Decorate a view with :func:`idempotent` (inside ``spec.validate``, so the body is valid
JSON by then) and end it with :func:`respond` instead of returning the model: that keeps
the answer with the claim in the request's transaction and commits once. Without the
header the view runs as usual. See :mod:`survey.services.api_idempotency` for the rules.

A replay has the stored status and body and the header ``Idempotent-Replayed: true``; the
same key with another request is a 409 problem ``idempotency-conflict``.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import current_app, g, json, request
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.exc import IntegrityError

from survey.api.auth import current_key, current_study
from survey.api.problems import ApiProblem
from survey.extensions import db
from survey.models import IdempotencyRecord
from survey.services import api_idempotency

F = TypeVar("F", bound=Callable[..., Any])

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
HEADER_DESCRIPTION = (
    "Optional: a key of your own (1 to 255 visible ASCII characters, e.g. a UUID) that makes "
    "this request safe to retry. A retry with the same key and the same body gets the first "
    "answer again (with `Idempotent-Replayed: true`) and stores nothing twice; the same key "
    "with another body is a 409 (`idempotency-conflict`). Keys are per study."
)


class IdempotencyHeaders(BaseModel):
    """The request headers of an idempotent view, for the OpenAPI document (checked by
    :func:`idempotent`)."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)

    idempotency_key: str | None = Field(None, alias=HEADER, description=HEADER_DESCRIPTION)


def _request_path() -> str:
    query = request.query_string.decode("latin-1")
    return f"{request.path}?{query}" if query else request.path


def idempotent(view: F) -> F:
    """Honour the request's ``Idempotency-Key`` (see the module docstring)."""

    @wraps(view)
    def checked(*args: Any, **kwargs: Any) -> Any:
        key = request.headers.get(HEADER)
        if key is None:
            return view(*args, **kwargs)
        problem = api_idempotency.key_problem(key)
        if problem is not None:
            raise ApiProblem(
                422,
                f"the {HEADER} header {problem}",
                kind="invalid-idempotency-key",
                errors=[{"field": HEADER, "message": problem}],
            )
        path = _request_path()
        digest = api_idempotency.request_sha256(request.method, path, request.get_json(silent=True))
        study_id, key_id = current_study().id, current_key().id
        record = api_idempotency.find_record(study_id, key)
        if record is None:
            try:
                record = api_idempotency.claim(
                    study_id, key_id, key, method=request.method, path=path, request_sha=digest
                )
            except IntegrityError:  # a simultaneous request with this key won
                db.session.rollback()
                record = api_idempotency.find_record(study_id, key)
                if record is None:
                    raise
                return _replay(record, digest)
            g.idempotency_record = record
            return view(*args, **kwargs)
        return _replay(record, digest)

    return checked  # type: ignore[return-value]


def _replay(record: IdempotencyRecord, digest: str):
    if record.request_sha256 != digest:
        raise ApiProblem(
            409,
            f"this {HEADER} was used for another request ({record.method} {record.path}, "
            "with other content); use a new key for a new request",
            kind="idempotency-conflict",
        )
    response = current_app.response_class(
        json.dumps(record.response_body),
        status=record.response_status,
        mimetype="application/json",
    )
    response.headers[REPLAYED_HEADER] = "true"
    return response


def respond(payload: BaseModel, status: int = 200) -> tuple[BaseModel, int]:
    """End an idempotent view: keep the answer with the request's claim (if it sent a
    key), commit the request's one transaction, and answer ``payload``."""
    record: IdempotencyRecord | None = g.pop("idempotency_record", None)
    if record is not None:
        api_idempotency.complete(record, status, payload.model_dump(mode="json"))
    db.session.commit()
    return payload, status
