"""Machines talking to a study: API keys, idempotent request records, webhook endpoints and
their deliveries."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from survey.extensions import db
from survey.models.study import Study
from survey.models.types import UTCDateTime, utcnow
from survey.models.user import User


class ApiScope:
    """What a key may do (plain strings, as stored in ``api_keys.scopes``)."""

    ENROL = "enrol"  # enrol participants by external id, consent for them, withdraw them
    DELIVER = "deliver"  # next items, answers
    OUTCOMES = "outcomes"  # post engagement outcomes
    READ = "read"  # study progress, a participant's completion and answers

    ALL = (ENROL, DELIVER, OUTCOMES, READ)


class ApiKey(db.Model):
    """A study's API key. Only the SHA-256 of the key is stored; ``prefix`` (the key's
    first characters) lets people tell keys apart. Revoking is a status, never a delete.

    ``scopes`` is a comma-separated subset of :attr:`ApiScope.ALL`;
    ``rate_limit_per_minute`` is the key's own request budget.
    """

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(primary_key=True)
    study_id: Mapped[int] = mapped_column(ForeignKey("studies.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    prefix: Mapped[str] = mapped_column(String(16))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    scopes: Mapped[str] = mapped_column(String(100))
    rate_limit_per_minute: Mapped[int] = mapped_column(default=600)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    study: Mapped[Study] = relationship()
    created_by: Mapped[User | None] = relationship(foreign_keys=[created_by_id])
    revoked_by: Mapped[User | None] = relationship(foreign_keys=[revoked_by_id])

    @property
    def scope_set(self) -> frozenset[str]:
        return frozenset(scope for scope in self.scopes.split(",") if scope)

    @property
    def active(self) -> bool:
        return self.revoked_at is None

    def __repr__(self) -> str:
        return f"<ApiKey {self.id} {self.prefix}… of study {self.study_id}>"


class IdempotencyRecord(db.Model):
    """A request sent with an ``Idempotency-Key``: what it asked (method, path and the
    SHA-256 of its body) and what it was answered, so a retry gets the same answer and a
    different request under the same key is refused. Keys are per study."""

    __tablename__ = "api_idempotency"
    __table_args__ = (UniqueConstraint("study_id", "idempotency_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    study_id: Mapped[int] = mapped_column(ForeignKey("studies.id"))
    api_key_id: Mapped[int] = mapped_column(ForeignKey("api_keys.id"))
    idempotency_key: Mapped[str] = mapped_column(String(255))
    method: Mapped[str] = mapped_column(String(8))
    path: Mapped[str] = mapped_column(String(500))
    request_sha256: Mapped[str] = mapped_column(String(64))
    response_status: Mapped[int]
    response_body: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class WebhookEvent:
    """The events a study can subscribe an endpoint to."""

    WAVE_OPENED = "wave.opened"
    SESSION_COMPLETED = "session.completed"
    SAFETY_ALERT = "safety.alert"
    PARTICIPANT_WITHDREW = "participant.withdrew"

    ALL = (WAVE_OPENED, SESSION_COMPLETED, SAFETY_ALERT, PARTICIPANT_WITHDREW)


class WebhookEndpoint(db.Model):
    """An HTTPS endpoint of a study that receives signed events.

    ``secret`` signs the deliveries (HMAC-SHA256); unlike API keys it has to be kept, since
    the server computes signatures with it. ``events`` is comma-separated. Disabling is a
    status; the delivery log stays.
    """

    __tablename__ = "webhook_endpoints"

    id: Mapped[int] = mapped_column(primary_key=True)
    study_id: Mapped[int] = mapped_column(ForeignKey("studies.id"), index=True)
    url: Mapped[str] = mapped_column(String(2000))
    secret: Mapped[str] = mapped_column(String(100))
    events: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    disabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    disabled_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    study: Mapped[Study] = relationship()

    @property
    def event_set(self) -> frozenset[str]:
        return frozenset(event for event in self.events.split(",") if event)

    @property
    def active(self) -> bool:
        return self.disabled_at is None


class DeliveryStatus:
    PENDING = "pending"  # waiting for its (next) attempt
    DELIVERED = "delivered"  # the endpoint answered 2xx
    FAILED = "failed"  # every attempt failed; kept in the log


class WebhookDelivery(db.Model):
    """One event for one endpoint and its delivery attempts.

    ``event_key`` identifies what happened (e.g. ``wave.opened:<participant>:<wave>``): unique
    per endpoint, so an event is sent at most once however often it is noticed.
    ``payload`` is the JSON body as signed; ``event_id`` the id receivers deduplicate by.
    """

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        UniqueConstraint("endpoint_id", "event_key"),
        CheckConstraint("status IN ('pending', 'delivered', 'failed')", name="status"),
        Index("ix_webhook_deliveries_due", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    endpoint_id: Mapped[int] = mapped_column(ForeignKey("webhook_endpoints.id"), index=True)
    event_id: Mapped[str] = mapped_column(String(64), unique=True)
    event_type: Mapped[str] = mapped_column(String(64))
    event_key: Mapped[str] = mapped_column(String(200))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16), default=DeliveryStatus.PENDING)
    attempts: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_status_code: Mapped[int | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    endpoint: Mapped[WebhookEndpoint] = relationship()
