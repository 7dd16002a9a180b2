"""Safety alerts: an answer at or above a safety item's threshold, for the study team."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from survey.extensions import db
from survey.models.instrument import InstrumentVersion
from survey.models.participant import Participant
from survey.models.response import ResponseSession
from survey.models.types import UTCDateTime, utcnow
from survey.models.user import User


class SafetyAlert(db.Model):
    """One safety signal of one session (a page submitted again raises no second alert)."""

    __tablename__ = "safety_alerts"
    __table_args__ = (UniqueConstraint("session_id", "instrument_version_id", "item_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    study_id: Mapped[int] = mapped_column(ForeignKey("studies.id"), index=True)
    participant_id: Mapped[int] = mapped_column(ForeignKey("participants.id"), index=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("response_sessions.id"))
    instrument_version_id: Mapped[int] = mapped_column(ForeignKey("instrument_versions.id"))
    item_id: Mapped[str] = mapped_column(String(64))
    value: Mapped[int]
    threshold: Mapped[int]
    raised_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    acknowledged_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    participant: Mapped[Participant] = relationship()
    session: Mapped[ResponseSession] = relationship()
    instrument_version: Mapped[InstrumentVersion] = relationship()
    acknowledged_by: Mapped[User | None] = relationship()
