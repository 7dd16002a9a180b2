"""A study's webhook endpoints: added (with a generated secret), listed, disabled.

An endpoint is an ``https://`` URL; plain ``http://`` only to the machine itself
(``127.0.0.1``, ``localhost``, ``[::1]``) and only when the caller allows it (the app's
``WEBHOOKS_ALLOW_HTTP_LOCALHOST``: on in development and tests, off in production).
Disabling is a status, never a delete: the delivery log stays, and deliveries still
pending are marked failed ("endpoint disabled"). Functions flush and never commit.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from datetime import datetime
from urllib.parse import urlsplit

from sqlalchemy import select, update

from survey.extensions import db
from survey.models import (
    AuditAction,
    DeliveryStatus,
    Study,
    User,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookEvent,
    utcnow,
)
from survey.services import audit
from survey.services.errors import SurveyError

__all__ = [
    "LOCAL_HOSTS",
    "MAX_URL_LENGTH",
    "SECRET_PREFIX",
    "WebhookError",
    "add_endpoint",
    "check_url",
    "disable_endpoint",
    "endpoint_of",
    "endpoints_of",
    "new_secret",
    "parse_events",
]

SECRET_PREFIX = "whsec_"
MAX_URL_LENGTH = 2000
LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
DISABLED_ERROR = "endpoint disabled"


class WebhookError(SurveyError):
    """An endpoint cannot be added or changed as asked; ``field`` names the input at fault
    (``url`` or ``events``)."""

    def __init__(self, message: str, *, field: str | None = None):
        self.field = field
        super().__init__(message)


def new_secret() -> str:
    """A new signing secret: ``whsec_`` and 32 random bytes, URL-safe base64."""
    return SECRET_PREFIX + secrets.token_urlsafe(32)


def check_url(url: str, *, allow_http_localhost: bool = False) -> str:
    """``url`` stripped, if it may receive deliveries; raises :class:`WebhookError`.

    >>> check_url(" https://chat.example.org/hooks/iemdp ")
    'https://chat.example.org/hooks/iemdp'
    >>> check_url("http://127.0.0.1:8080/hook", allow_http_localhost=True)
    'http://127.0.0.1:8080/hook'
    """
    url = (url or "").strip()
    if not url:
        raise WebhookError("enter the endpoint's URL (https://...)", field="url")
    if len(url) > MAX_URL_LENGTH:
        raise WebhookError(f"a URL has at most {MAX_URL_LENGTH} characters", field="url")
    if any(character.isspace() or ord(character) < 32 for character in url):
        raise WebhookError("a URL has no spaces or control characters", field="url")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as error:
        raise WebhookError(f"this is not a valid URL ({error})", field="url") from None
    host = (parts.hostname or "").lower()
    if not host:
        raise WebhookError("the URL needs a host, e.g. https://chat.example.org/hook", field="url")
    if parts.username is not None or parts.password is not None:
        raise WebhookError("a URL with a user name or password is not accepted", field="url")
    if parts.fragment:
        raise WebhookError("a URL with a #fragment is not accepted", field="url")
    if port == 0:
        raise WebhookError("port 0 is not a port to send to", field="url")
    scheme = parts.scheme.lower()
    if scheme == "https":
        return url
    if scheme == "http" and host in LOCAL_HOSTS:
        if allow_http_localhost:
            return url
        raise WebhookError(
            "use https://: plain http:// to this machine is allowed only in development",
            field="url",
        )
    raise WebhookError("use an https:// URL: deliveries carry study events", field="url")


def parse_events(events: str | Iterable[str]) -> tuple[str, ...]:
    """The events named (comma-separated text or an iterable) in :attr:`WebhookEvent.ALL`
    order; raises :class:`WebhookError` for none or an unknown one.

    >>> parse_events("safety.alert, wave.opened")
    ('wave.opened', 'safety.alert')
    """
    names = events.split(",") if isinstance(events, str) else list(events)
    chosen = {name.strip().lower() for name in names if name and name.strip()}
    unknown = sorted(chosen - set(WebhookEvent.ALL))
    if unknown:
        raise WebhookError(
            f"unknown event {', '.join(unknown)}; the events are {', '.join(WebhookEvent.ALL)}",
            field="events",
        )
    if not chosen:
        raise WebhookError("choose at least one event", field="events")
    return tuple(event for event in WebhookEvent.ALL if event in chosen)


def add_endpoint(
    study: Study,
    *,
    url: str,
    events: str | Iterable[str],
    actor: User | None,
    allow_http_localhost: bool = False,
    now: datetime | None = None,
) -> WebhookEndpoint:
    """A new endpoint of ``study`` with a new secret (``endpoint.secret``). An active
    endpoint of the study with the same URL is refused. Audited as ``webhook_added``
    (URL and events; never the secret)."""
    url = check_url(url, allow_http_localhost=allow_http_localhost)
    chosen = parse_events(events)
    clash = db.session.scalar(
        select(WebhookEndpoint.id).where(
            WebhookEndpoint.study_id == study.id,
            WebhookEndpoint.url == url,
            WebhookEndpoint.disabled_at.is_(None),
        )
    )
    if clash is not None:
        raise WebhookError("the study has an active endpoint with this URL", field="url")
    now = now or utcnow()
    endpoint = WebhookEndpoint(
        study_id=study.id,
        url=url,
        secret=new_secret(),
        events=",".join(chosen),
        created_at=now,
        created_by_id=actor.id if actor is not None else None,
    )
    db.session.add(endpoint)
    db.session.flush()
    audit.record(
        AuditAction.WEBHOOK_ADDED,
        actor=actor,
        target_type="webhook_endpoint",
        target_id=endpoint.id,
        details={"study": study.slug, "url": url, "events": list(chosen)},
        now=now,
    )
    return endpoint


def disable_endpoint(
    endpoint: WebhookEndpoint, *, actor: User | None, now: datetime | None = None
) -> bool:
    """Stop deliveries to ``endpoint``; False when it was disabled already. Its pending
    deliveries become failed ("endpoint disabled"). Audited as ``webhook_disabled``."""
    if endpoint.disabled_at is not None:
        return False
    now = now or utcnow()
    endpoint.disabled_at = now
    endpoint.disabled_by_id = actor.id if actor is not None else None
    db.session.execute(
        update(WebhookDelivery)
        .where(
            WebhookDelivery.endpoint_id == endpoint.id,
            WebhookDelivery.status == DeliveryStatus.PENDING,
        )
        .values(status=DeliveryStatus.FAILED, next_attempt_at=None, last_error=DISABLED_ERROR)
        .execution_options(synchronize_session="fetch")
    )
    audit.record(
        AuditAction.WEBHOOK_DISABLED,
        actor=actor,
        target_type="webhook_endpoint",
        target_id=endpoint.id,
        details={"study": endpoint.study.slug, "url": endpoint.url},
        now=now,
    )
    return True


def endpoints_of(study: Study) -> list[WebhookEndpoint]:
    """The study's endpoints, newest first (disabled ones included)."""
    return list(
        db.session.scalars(
            select(WebhookEndpoint)
            .where(WebhookEndpoint.study_id == study.id)
            .order_by(WebhookEndpoint.id.desc())
        )
    )


def endpoint_of(study: Study, endpoint_id: int) -> WebhookEndpoint | None:
    """The study's endpoint ``endpoint_id``, or None (also for another study's)."""
    endpoint = db.session.get(WebhookEndpoint, endpoint_id)
    return endpoint if endpoint is not None and endpoint.study_id == study.id else None
