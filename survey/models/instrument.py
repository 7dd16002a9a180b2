"""Instruments and their immutable versions."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from survey.extensions import db
from survey.models.types import UTCDateTime, utcnow


class VersionStatus:
    """Allowed values of the status column (plain strings, as stored)."""

    DRAFT = "draft"
    PUBLISHED = "published"
    RETIRED = "retired"


class Instrument(db.Model):
    """An instrument, e.g. ``iemdp``; its content lives in its versions."""

    __tablename__ = "instruments"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    title: Mapped[str] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    versions: Mapped[list[InstrumentVersion]] = relationship(
        back_populates="instrument", order_by="InstrumentVersion.id"
    )

    def __repr__(self) -> str:
        return f"<Instrument {self.key}>"


class InstrumentVersion(db.Model):
    """One version of an instrument: the canonical definition and its SHA-256."""

    __tablename__ = "instrument_versions"
    __table_args__ = (
        UniqueConstraint("instrument_id", "version"),
        CheckConstraint(
            "status IN ('draft', 'published', 'retired')", name="status"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    instrument_id: Mapped[int] = mapped_column(ForeignKey("instruments.id"), index=True)
    version: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), default=VersionStatus.DRAFT)
    # The definition's normalised mapping (InstrumentDefinition.source); content_hash is the
    # SHA-256 of its canonical JSON.
    content: Mapped[dict[str, Any]] = mapped_column(JSON)
    content_hash: Mapped[str] = mapped_column(String(64), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    instrument: Mapped[Instrument] = relationship(back_populates="versions")

    def __repr__(self) -> str:
        return f"<InstrumentVersion {self.instrument_id}:{self.version} {self.status}>"
