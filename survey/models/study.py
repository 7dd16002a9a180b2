"""Studies and their waves."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from survey.extensions import db
from survey.models.instrument import InstrumentVersion
from survey.models.types import UTCDateTime, utcnow
from survey.models.user import User


class StudyStatus:
    """Allowed values of the status column (plain strings, as stored)."""

    DRAFT = "draft"
    OPEN = "open"
    CLOSED = "closed"


class WaveStatus:
    """Allowed values of the status column (plain strings, as stored)."""

    OPEN = "open"
    CLOSED = "closed"


class Study(db.Model):
    """A validation study pinned to one instrument version."""

    __tablename__ = "studies"
    __table_args__ = (CheckConstraint("status IN ('draft', 'open', 'closed')", name="status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    slug: Mapped[str] = mapped_column(String(100), unique=True)
    instrument_version_id: Mapped[int] = mapped_column(
        ForeignKey("instrument_versions.id"), index=True
    )
    consent_text: Mapped[str] = mapped_column(Text)
    consent_version: Mapped[str] = mapped_column(String(32))
    # Shown on every participant page of the study: where to get help in a crisis.
    urgent_help_note: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default=StudyStatus.OPEN)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # The researcher running the study (admins see every study); None for studies made
    # from the command line without an owner.
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)

    instrument_version: Mapped[InstrumentVersion] = relationship()
    owner: Mapped[User | None] = relationship()
    waves: Mapped[list[Wave]] = relationship(back_populates="study", order_by="Wave.position")

    def __repr__(self) -> str:
        return f"<Study {self.slug}>"


class Wave(db.Model):
    """A measurement occasion of a study (baseline, week 4, ...)."""

    __tablename__ = "waves"
    __table_args__ = (
        UniqueConstraint("study_id", "key"),
        UniqueConstraint("study_id", "position"),
        CheckConstraint("status IN ('open', 'closed')", name="status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    study_id: Mapped[int] = mapped_column(ForeignKey("studies.id"))
    key: Mapped[str] = mapped_column(String(64))
    label: Mapped[str] = mapped_column(String(200))
    position: Mapped[int]
    status: Mapped[str] = mapped_column(String(16), default=WaveStatus.OPEN)
    # Optional window; a wave is answerable when open and inside its window.
    opens_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closes_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    study: Mapped[Study] = relationship(back_populates="waves")

    def is_answerable(self, now: datetime) -> bool:
        return (
            self.status == WaveStatus.OPEN
            and (self.opens_at is None or self.opens_at <= now)
            and (self.closes_at is None or now < self.closes_at)
        )

    def __repr__(self) -> str:
        return f"<Wave {self.study_id}:{self.key}>"
