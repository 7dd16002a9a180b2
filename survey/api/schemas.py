"""Schemas shared by the API's views: the RFC 9457 problem details every error answers,
and :class:`ApiResponse`, spectree's ``Response`` declaring them.

Spectree writes every response as ``application/json`` and adds its own validation-error
model for 422. Our errors are ``application/problem+json`` (:mod:`survey.api.problems`),
so :class:`ApiResponse` declares the problem statuses with :class:`ProblemDetails` under
that media type: the OpenAPI document says what the API really answers (Schemathesis
checks it does).

Use it as ``@spec.validate(json=..., resp=ApiResponse(HTTP_200=Model), tags=[...])``; the
statuses every API view can answer (400, 401, 403, 413, 422, 429, 503) are added unless
``problems=`` says otherwise, and a view adds its own (404, 409) with ``problems=``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from spectree import Response

from survey.api.problems import DEFAULTS, MEDIA_TYPE, TYPE_BASE

# What any view of the API may answer whatever it does: a request that cannot be read
# (400), no or a bad key (401), a key lacking the scope (403), a body over the limit (413),
# invalid input (422), the key's rate limit (429), storage that did not answer (503).
COMMON_PROBLEMS = (400, 401, 403, 413, 422, 429, 503)


class FieldProblem(BaseModel):
    """One invalid input: where (a JSON pointer into the body, or a parameter's name)
    and what is wrong."""

    field: str = Field(description="a JSON pointer into the body (/external_id) or a name")
    message: str


class ProblemDetails(BaseModel):
    """An error (RFC 9457 problem details, ``application/problem+json``). Some problems
    carry more members (e.g. ``required_scope``, ``current_consent_version``)."""

    model_config = ConfigDict(extra="allow")

    type: str = Field(description=f"a URI naming the kind of problem, under {TYPE_BASE}")
    title: str = Field(description="the same for every problem of this type")
    status: int = Field(description="the HTTP status")
    detail: str = Field(description="this occurrence, in words")
    errors: list[FieldProblem] | None = Field(
        default=None, description="for invalid input: one entry per problem"
    )


def _description(status: int) -> str:
    return DEFAULTS.get(status, ("error", "Error"))[1]


class ApiResponse(Response):
    """spectree's ``Response`` with the problem statuses as ``application/problem+json``
    :class:`ProblemDetails` (see the module's docstring)."""

    def __init__(
        self,
        *codes: str,
        problems: Iterable[int] = (),
        common: Iterable[int] = COMMON_PROBLEMS,
        **code_models: Any,
    ) -> None:
        statuses = sorted({*common, *problems})
        for status in statuses:
            code_models.setdefault(f"HTTP_{status}", (ProblemDetails, _description(status)))
        super().__init__(*codes, **code_models)
        self.problem_statuses = frozenset(statuses)

    def generate_spec(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        responses = super().generate_spec(*args, **kwargs)
        for status in self.problem_statuses:
            response = responses.get(str(status))
            if response and "content" in response:
                response["content"] = {MEDIA_TYPE: response["content"]["application/json"]}
        return responses
