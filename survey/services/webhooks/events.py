"""Emitting webhook events: one delivery per active endpoint of the study subscribed to
the event, at most once per event (``event_key``, unique per endpoint).

Called in the transaction of the change it reports (survey.services.participation's
``save_page`` and ``withdraw``; :mod:`.due` for ``wave.opened``): the delivery rows are
flushed with the change and committed with it, and their first attempt is made after that
commit (:func:`.dispatch.after_commit`). A rolled-back change sends nothing.

The body of every delivery (signed as :mod:`.signing` says)::

    {"id": "evt_...", "type": "session.completed", "created_at": "2026-12-01T20:30:00Z",
     "study": "<study slug>", "data": {...}}

``data`` per event (participants by their pseudonymous code; never an answer, except the
safety item's value, never an external id):

``wave.opened``          participant, wave (key), opens_at, closes_at (their window; null
                         when open-ended)
``session.completed``    participant, wave, session (id), completed_at
``safety.alert``         participant, wave, session, alert (id), item (id), value,
                         threshold, raised_at
``participant.withdrew`` participant, withdrawn_at
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select

from survey.extensions import db
from survey.models import (
    DeliveryStatus,
    Participant,
    ResponseSession,
    SafetyAlert,
    Study,
    Wave,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookEvent,
    utcnow,
)
from survey.services.upsert import upsert
from survey.services.webhooks import dispatch

__all__ = [
    "emit",
    "event_key",
    "iso",
    "participant_withdrew",
    "safety_alert",
    "session_completed",
    "subscribed_endpoints",
    "wave_opened",
]


def iso(moment: datetime | None) -> str | None:
    """``moment`` in UTC as ISO 8601 with ``Z``, to the second.

    >>> iso(datetime(2026, 12, 1, 20, 30, 5, 123, tzinfo=UTC))
    '2026-12-01T20:30:05Z'
    """
    if moment is None:
        return None
    return moment.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def event_key(event_type: str, *parts: int | str) -> str:
    """What identifies one event, e.g. ``wave.opened:<participant id>:<wave id>``.

    >>> event_key("wave.opened", 12, 3)
    'wave.opened:12:3'
    """
    return ":".join((event_type, *(str(part) for part in parts)))


def subscribed_endpoints(study_id: int, event_type: str) -> list[WebhookEndpoint]:
    """The study's active endpoints that take ``event_type``."""
    endpoints = db.session.scalars(
        select(WebhookEndpoint)
        .where(WebhookEndpoint.study_id == study_id, WebhookEndpoint.disabled_at.is_(None))
        .order_by(WebhookEndpoint.id)
    )
    return [endpoint for endpoint in endpoints if event_type in endpoint.event_set]


def emit(
    study: Study,
    event_type: str,
    key: str,
    data: dict[str, Any],
    *,
    now: datetime | None = None,
    schedule: bool = True,
) -> list[int]:
    """Create the deliveries of one event (flushed) and return the new ones' ids.

    An endpoint that has a delivery with ``key`` already gets none (so an event noticed
    twice, or by two processes at once, is sent once). ``schedule``: attempt the new
    deliveries after the commit (:func:`.dispatch.after_commit`); without it they wait
    for ``flask webhooks deliver``.
    """
    if event_type not in WebhookEvent.ALL:
        raise ValueError(f"unknown webhook event {event_type!r}")
    endpoints = subscribed_endpoints(study.id, event_type)
    if not endpoints:
        return []
    now = now or utcnow()
    rows = []
    for endpoint in endpoints:
        event_id = f"evt_{uuid.uuid4().hex}"
        payload = {
            "id": event_id,
            "type": event_type,
            "created_at": iso(now),
            "study": study.slug,
            "data": data,
        }
        rows.append(
            {
                "endpoint_id": endpoint.id,
                "event_id": event_id,
                "event_type": event_type,
                "event_key": key,
                "payload": payload,
                "status": DeliveryStatus.PENDING,
                "attempts": 0,
                "created_at": now,
                "next_attempt_at": now,
            }
        )
    upsert(WebhookDelivery.__table__, rows, conflict=["endpoint_id", "event_key"])
    ids = list(
        db.session.scalars(
            select(WebhookDelivery.id).where(
                WebhookDelivery.event_id.in_([row["event_id"] for row in rows])
            )
        )
    )
    if schedule:
        dispatch.after_commit(ids)
    return ids


def session_completed(session: ResponseSession) -> list[int]:
    """``session.completed`` for a session that has just been completed."""
    wave = session.wave
    return emit(
        wave.study,
        WebhookEvent.SESSION_COMPLETED,
        event_key(WebhookEvent.SESSION_COMPLETED, session.id),
        {
            "participant": session.participant.code,
            "wave": wave.key,
            "session": session.id,
            "completed_at": iso(session.completed_at),
        },
    )


def safety_alert(session: ResponseSession, alert: SafetyAlert) -> list[int]:
    """``safety.alert`` for a new safety alert of ``session`` (flushed: it has an id)."""
    wave = session.wave
    return emit(
        wave.study,
        WebhookEvent.SAFETY_ALERT,
        event_key(WebhookEvent.SAFETY_ALERT, alert.id),
        {
            "participant": session.participant.code,
            "wave": wave.key,
            "session": session.id,
            "alert": alert.id,
            "item": alert.item_id,
            "value": alert.value,
            "threshold": alert.threshold,
            "raised_at": iso(alert.raised_at),
        },
    )


def participant_withdrew(participant: Participant) -> list[int]:
    """``participant.withdrew`` for a participant who has just withdrawn."""
    return emit(
        participant.study,
        WebhookEvent.PARTICIPANT_WITHDREW,
        event_key(WebhookEvent.PARTICIPANT_WITHDREW, participant.id),
        {"participant": participant.code, "withdrawn_at": iso(participant.withdrawn_at)},
    )


def wave_opened(
    participant: Participant, wave: Wave, *, now: datetime | None = None, schedule: bool = True
) -> list[int]:
    """``wave.opened`` for a participant whose window of ``wave`` is open."""
    opens, closes = wave.window(participant.enrolled_at or now or utcnow())
    return emit(
        participant.study,
        WebhookEvent.WAVE_OPENED,
        event_key(WebhookEvent.WAVE_OPENED, participant.id, wave.id),
        {
            "participant": participant.code,
            "wave": wave.key,
            "opens_at": iso(opens),
            "closes_at": iso(closes),
        },
        now=now,
        schedule=schedule,
    )
