"""Who is calling: the ``Authorization: Bearer <key>`` of every ``/api/v1`` request.

:func:`authenticate` runs before each view of the blueprint (except the OpenAPI document
and its browsable page): it finds the key, refuses a missing, unknown or revoked one (401
with ``WWW-Authenticate``), and puts the key and its study on :data:`flask.g`
(``g.api_key``, ``g.study``). :func:`require` checks the view's scope (403 naming the scope
needed).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import g, request

from survey.api import rate_limit
from survey.api.problems import ApiProblem
from survey.extensions import db
from survey.models import ApiKey, Participant, Study, utcnow
from survey.services import api_keys
from survey.services.participants import parse_code

F = TypeVar("F", bound=Callable[..., Any])

CHALLENGE = {"WWW-Authenticate": 'Bearer realm="iemdp"'}
# Requests to these endpoints need no key.
PUBLIC_ENDPOINTS: set[str] = set()


def public(view: F) -> F:
    """Mark a view of the API as needing no key (the OpenAPI document)."""
    PUBLIC_ENDPOINTS.add(view.__name__)
    return view


def presented_key() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, credentials = header.partition(" ")
    if scheme.lower() != "bearer" or not credentials.strip():
        return None
    return credentials.strip()


def authenticate() -> None:
    """Before every API view: set ``g.api_key`` and ``g.study`` or raise a 401 problem."""
    endpoint = (request.endpoint or "").rpartition(".")[2]
    if endpoint in PUBLIC_ENDPOINTS or request.endpoint is None:
        return
    key = presented_key()
    if key is None:
        raise ApiProblem(
            401, "send the study's API key as 'Authorization: Bearer <key>'", headers=CHALLENGE
        )
    api_key = api_keys.find_key(key)
    if api_key is None:
        raise ApiProblem(401, "this API key is not known", headers=CHALLENGE)
    if api_key.revoked_at is not None:
        raise ApiProblem(
            401,
            f"this API key ({api_key.prefix}…) was revoked",
            kind="key-revoked",
            headers=CHALLENGE,
        )
    now = utcnow()
    # Written at most once a minute, so reads do not each take the database's write lock.
    if api_key.last_used_at is None or (now - api_key.last_used_at).total_seconds() > 60:
        api_key.last_used_at = now
        # Its own commit: a read commits nothing else, and a refused request rolls back.
        db.session.commit()
    g.api_key = api_key
    g.study = api_key.study
    rate_limit.enforce(api_key)  # 429 over the key's own budget (survey.api.rate_limit)


def current_key() -> ApiKey:
    return g.api_key


def current_study() -> Study:
    return g.study


def require(scope: str) -> Callable[[F], F]:
    """The view needs ``scope`` (403 otherwise)."""

    def decorate(view: F) -> F:
        @wraps(view)
        def checked(*args: Any, **kwargs: Any) -> Any:
            api_key: ApiKey = g.api_key
            if scope not in api_key.scope_set:
                raise ApiProblem(
                    403,
                    f"this key lacks the scope '{scope}' (it has: {api_key.scopes})",
                    kind="missing-scope",
                    extra={"required_scope": scope},
                )
            return view(*args, **kwargs)

        return checked  # type: ignore[return-value]

    return decorate


def participant_or_404(code: str) -> Participant:
    """The key's study's participant with this code (``P000042``), or a 404 problem (a
    participant of another study is not found either)."""
    participant_id = parse_code(code)
    participant = None if participant_id is None else db.session.get(Participant, participant_id)
    if participant is None or participant.study_id != current_study().id:
        raise ApiProblem(404, f"this study has no participant {code!r}", kind="unknown-participant")
    return participant
