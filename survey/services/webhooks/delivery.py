"""Delivery attempts: claim a due delivery, POST it signed, record what happened.

One attempt (:func:`claim`, :func:`send`, :func:`record`):

* :func:`claim` takes a pending delivery that is due (``next_attempt_at`` reached) and
  whose endpoint is active, in one ``UPDATE ... WHERE`` that only one worker can win: it
  counts the attempt, stamps ``last_attempt_at`` and moves ``next_attempt_at`` LEASE_SECONDS
  ahead, so a second worker (the web process's thread, ``flask webhooks deliver``, an RQ
  worker) leaves it alone while the first sends, and a worker that died mid-attempt is
  replaced once the lease is over;
* :func:`send` POSTs the payload as JSON with the signature headers
  (:mod:`.signing`), over ``http.client`` (no redirects followed), with a timeout of
  ``timeout`` seconds (default 10);
* :func:`record`: a 2xx answer delivers; anything else (another status, a refused
  connection, a timeout, a TLS error) is kept as ``last_status_code`` / ``last_error`` and
  the delivery is tried again after ``base * 2 ** (attempts - 1)`` seconds (base 30 s,
  capped at one hour: 30 s, 1 min, 2 min, 4 min, 8 min, 16 min, 32 min), until
  MAX_ATTEMPTS (8) attempts have failed: then it is ``failed``, kept in the log, and
  :func:`retry_now` (the page's "Retry now") makes it due once more (one attempt). A
  failure after the endpoint was disabled (while the attempt was on its way) is final.

Each attempt is also written to the ``survey.webhooks`` logger (time, status, error); the
delivery row keeps the count and the last attempt. Functions flush and never commit: the
job bodies (:mod:`.dispatch`) commit the claim before sending and the outcome after.
"""

from __future__ import annotations

import http.client
import logging
import ssl
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from sqlalchemy import or_, select, update

from survey.extensions import db
from survey.models import DeliveryStatus, Study, WebhookDelivery, WebhookEndpoint, utcnow
from survey.services.webhooks import signing

__all__ = [
    "DEFAULT_RETRY_BASE_SECONDS",
    "DEFAULT_TIMEOUT_SECONDS",
    "LEASE_SECONDS",
    "MAX_ATTEMPTS",
    "MAX_BACKOFF_SECONDS",
    "AttemptResult",
    "backoff_seconds",
    "claim",
    "deliveries_of",
    "delivery_of",
    "due_ids",
    "record",
    "retry_now",
    "send",
]

MAX_ATTEMPTS = 8
DEFAULT_RETRY_BASE_SECONDS = 30
MAX_BACKOFF_SECONDS = 3600
DEFAULT_TIMEOUT_SECONDS = 10
# How long a claimed delivery is left to its worker (longer than the timeout).
LEASE_SECONDS = 120
USER_AGENT = "IEM-DP-Webhooks/1"
ERROR_CHARACTERS = 300

logger = logging.getLogger("survey.webhooks")


@dataclass(frozen=True)
class AttemptResult:
    """What one POST got: the status code (None when no answer came) and, unless it was
    a 2xx, what went wrong."""

    status_code: int | None
    error: str | None

    @property
    def delivered(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def backoff_seconds(attempts: int, base: float = DEFAULT_RETRY_BASE_SECONDS) -> float:
    """Seconds from the ``attempts``-th failed attempt to the next one.

    >>> [backoff_seconds(n) for n in (1, 2, 3, 7, 8)]
    [30, 60, 120, 1920, 3600]
    """
    return min(base * 2 ** (max(attempts, 1) - 1), MAX_BACKOFF_SECONDS)


def _due(now: datetime):
    return (
        WebhookDelivery.status == DeliveryStatus.PENDING,
        or_(WebhookDelivery.next_attempt_at.is_(None), WebhookDelivery.next_attempt_at <= now),
        WebhookDelivery.endpoint_id.in_(
            select(WebhookEndpoint.id).where(WebhookEndpoint.disabled_at.is_(None))
        ),
    )


def due_ids(now: datetime | None = None, *, limit: int = 100) -> list[int]:
    """Ids of deliveries due now (pending, attempt time reached, endpoint active), the
    longest waiting first."""
    return list(
        db.session.scalars(
            select(WebhookDelivery.id)
            .where(*_due(now or utcnow()))
            .order_by(WebhookDelivery.next_attempt_at, WebhookDelivery.id)
            .limit(limit)
        )
    )


def claim(delivery_id: int, now: datetime | None = None) -> WebhookDelivery | None:
    """Take delivery ``delivery_id`` for one attempt if it is due; None when it is not
    (delivered, failed, not due yet, its endpoint disabled, or another worker has it)."""
    now = now or utcnow()
    result = db.session.execute(
        update(WebhookDelivery)
        .where(WebhookDelivery.id == delivery_id, *_due(now))
        .values(
            attempts=WebhookDelivery.attempts + 1,
            last_attempt_at=now,
            next_attempt_at=now + timedelta(seconds=LEASE_SECONDS),
        )
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        return None
    delivery = db.session.get(WebhookDelivery, delivery_id)
    if delivery is not None:
        db.session.refresh(delivery)
    return delivery


def _one_line(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= ERROR_CHARACTERS else text[: ERROR_CHARACTERS - 1] + "…"


def send(
    url: str,
    secret: str,
    event_id: str,
    body: bytes,
    *,
    timestamp: int | None = None,
    timeout: float = DEFAULT_TIMEOUT_SECONDS,
) -> AttemptResult:
    """POST ``body`` to ``url`` signed with ``secret``; never raises for network trouble."""
    parts = urlsplit(url)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        **signing.signed_headers(secret, event_id, body, timestamp=timestamp),
    }
    connection: http.client.HTTPConnection
    try:
        if parts.scheme.lower() == "https":
            connection = http.client.HTTPSConnection(
                parts.hostname or "",
                parts.port,
                timeout=timeout,
                context=ssl.create_default_context(),
            )
        else:
            connection = http.client.HTTPConnection(
                parts.hostname or "", parts.port, timeout=timeout
            )
        try:
            connection.request("POST", path, body=body, headers=headers)
            response = connection.getresponse()
            status = response.status
            answer = response.read(ERROR_CHARACTERS).decode("utf-8", "replace")
        finally:
            connection.close()
    except TimeoutError:
        return AttemptResult(None, f"no answer within {timeout:g} s")
    except (OSError, http.client.HTTPException, ValueError) as error:
        return AttemptResult(None, _one_line(f"{type(error).__name__}: {error}"))
    if 200 <= status < 300:
        return AttemptResult(status, None)
    reason = http.client.responses.get(status, "")
    return AttemptResult(status, _one_line(f"HTTP {status} {reason}: {answer}".rstrip(": ")))


def record(
    delivery: WebhookDelivery,
    result: AttemptResult,
    *,
    now: datetime | None = None,
    retry_base_seconds: float = DEFAULT_RETRY_BASE_SECONDS,
) -> str:
    """Store what the attempt :func:`claim` counted got; returns the new status."""
    now = now or utcnow()
    delivery.last_status_code = result.status_code
    delivery.last_error = result.error
    if result.delivered:
        delivery.status = DeliveryStatus.DELIVERED
        delivery.delivered_at = now
        delivery.next_attempt_at = None
    elif delivery.attempts >= MAX_ATTEMPTS or not delivery.endpoint.active:
        delivery.status = DeliveryStatus.FAILED
        delivery.next_attempt_at = None
        if not delivery.endpoint.active:  # disabled while this attempt was on its way
            delivery.last_error = f"{result.error}; endpoint disabled"
    else:
        delivery.status = DeliveryStatus.PENDING
        delay = backoff_seconds(delivery.attempts, retry_base_seconds)
        delivery.next_attempt_at = now + timedelta(seconds=delay)
    db.session.flush()
    logger.info(
        "webhook delivery %s (%s, endpoint %s) attempt %s at %s: %s%s",
        delivery.event_id,
        delivery.event_type,
        delivery.endpoint_id,
        delivery.attempts,
        now.isoformat(),
        result.status_code if result.status_code is not None else "no answer",
        f" ({result.error})" if result.error else "",
    )
    return delivery.status


def retry_now(delivery: WebhookDelivery, *, now: datetime | None = None) -> bool:
    """Make a failed delivery due now (one more attempt; failing again, it is failed
    again). False when it is not failed, or its endpoint is disabled."""
    if delivery.status != DeliveryStatus.FAILED or not delivery.endpoint.active:
        return False
    delivery.status = DeliveryStatus.PENDING
    delivery.next_attempt_at = now or utcnow()
    db.session.flush()
    return True


def deliveries_of(study: Study, *, limit: int = 50) -> list[WebhookDelivery]:
    """The study's latest ``limit`` deliveries (all its endpoints), newest first."""
    return list(
        db.session.scalars(
            select(WebhookDelivery)
            .join(WebhookEndpoint, WebhookDelivery.endpoint_id == WebhookEndpoint.id)
            .where(WebhookEndpoint.study_id == study.id)
            .order_by(WebhookDelivery.id.desc())
            .limit(limit)
        )
    )


def delivery_of(study: Study, delivery_id: int) -> WebhookDelivery | None:
    """The study's delivery ``delivery_id``, or None (also for another study's)."""
    delivery = db.session.get(WebhookDelivery, delivery_id)
    if delivery is None or delivery.endpoint.study_id != study.id:
        return None
    return delivery
