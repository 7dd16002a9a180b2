"""RFC 9457 problem details: every error of the API is ``application/problem+json``.

A problem has ``type`` (a URI naming the kind of problem, under :data:`TYPE_BASE`),
``title`` (the same for every problem of that type), ``status``, ``detail`` (this
occurrence, in words) and, for invalid input, ``errors``: one ``{"field", "message"}`` per
problem, ``field`` a JSON pointer into the body (``/answers/TA1``) or a parameter name.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from flask import Response, current_app, json

MEDIA_TYPE = "application/problem+json"
TYPE_BASE = "https://iemdp.org/problems/"

# status -> (type slug, title) for problems raised without their own type
DEFAULTS: dict[int, tuple[str, str]] = {
    400: ("bad-request", "The request cannot be read"),
    401: ("unauthorized", "A valid API key is needed"),
    403: ("forbidden", "This key may not do that"),
    404: ("not-found", "No such resource"),
    405: ("method-not-allowed", "This method is not allowed here"),
    409: ("conflict", "The request conflicts with what is stored"),
    413: ("too-large", "The request body is too large"),
    415: ("unsupported-media-type", "Send JSON"),
    422: ("invalid-input", "The request has invalid input"),
    429: ("rate-limited", "Too many requests"),
    500: ("server-error", "Something went wrong on our side"),
    503: ("unavailable", "Busy right now; nothing was stored"),
}


class ApiProblem(Exception):
    """Raise anywhere under ``/api/`` to answer with a problem: nothing the request wrote is
    kept (the session is rolled back before the answer is made)."""

    def __init__(
        self,
        status: int,
        detail: str,
        *,
        kind: str | None = None,
        title: str | None = None,
        errors: Iterable[Mapping[str, str]] = (),
        headers: Mapping[str, str] | None = None,
        extra: Mapping[str, Any] | None = None,
    ):
        default_kind, default_title = DEFAULTS.get(status, ("error", "Error"))
        self.status = status
        self.detail = detail
        self.kind = kind or default_kind
        self.title = title or default_title
        self.errors = [dict(error) for error in errors]
        self.headers = dict(headers or {})
        self.extra = dict(extra or {})
        super().__init__(detail)

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "type": TYPE_BASE + self.kind,
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
        }
        if self.errors:
            body["errors"] = self.errors
        body.update(self.extra)
        return body

    def response(self) -> Response:
        response = current_app.response_class(
            json.dumps(self.body()), status=self.status, mimetype=MEDIA_TYPE
        )
        response.headers.update(self.headers)
        return response


def invalid(errors: Iterable[Mapping[str, str]], detail: str | None = None) -> ApiProblem:
    """A 422 listing every invalid field."""
    errors = list(errors)
    return ApiProblem(
        422,
        detail or "; ".join(f"{error['field']}: {error['message']}" for error in errors),
        errors=errors,
    )


def pointer(location: Iterable[Any]) -> str:
    """A JSON pointer (RFC 6901) for a pydantic error location.

    >>> pointer(("answers", "TA1"))
    '/answers/TA1'
    >>> pointer(())
    ''
    """
    parts = [str(part).replace("~", "~0").replace("/", "~1") for part in location]
    return "".join("/" + part for part in parts)
