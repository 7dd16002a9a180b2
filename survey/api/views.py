"""The API's views: thin, each reads validated input, calls one service, answers JSON."""

from __future__ import annotations

from flask import current_app, jsonify, render_template
from pydantic import BaseModel, Field

from survey.api import bp
from survey.api import docs as api_docs
from survey.api.auth import authenticate, current_key, current_study, public
from survey.api.schemas import ApiResponse
from survey.api.spec import spec

bp.before_request(authenticate)


class KeyInfo(BaseModel):
    """The study a key belongs to and what the key may do."""

    study: str = Field(description="the study's slug")
    name: str
    status: str = Field(description="draft, open or closed")
    key: str = Field(description="the key's prefix (never the key)")
    scopes: list[str]


@bp.get("/study")
@spec.validate(resp=ApiResponse(HTTP_200=KeyInfo), tags=["study"])
def study_info():
    """The key's study and scopes."""
    study, key = current_study(), current_key()
    return KeyInfo(
        study=study.slug,
        name=study.name,
        status=str(study.status),
        key=key.prefix,
        scopes=sorted(key.scope_set),
    )


@bp.get("/openapi.json")
@public
def openapi_document():
    """The OpenAPI 3.1 document of this API (no key needed)."""
    return jsonify(spec.spec)


@bp.get("/docs")
@public
def docs():
    """The API's documentation as a page (no key needed): the OpenAPI document laid out,
    without any script (survey.api.docs)."""
    document = spec.spec
    return render_template(
        "api/docs.html",
        document=document,
        operations=api_docs.operations(document, current_app),
        schemas=api_docs.schemas(document),
    )
