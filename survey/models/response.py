"""What a participant answered at one wave: the session, its page visits and the answers."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from survey.extensions import db
from survey.models.participant import Participant
from survey.models.study import Wave
from survey.models.types import UTCDateTime, utcnow


class ResponseSession(db.Model):
    """A participant answering the study's battery at one wave (at most one per wave).

    Its pages are the pages of each battery instrument in turn; every page visit and
    answer names the instrument version it belongs to.
    """

    __tablename__ = "response_sessions"
    __table_args__ = (UniqueConstraint("participant_id", "wave_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    participant_id: Mapped[int] = mapped_column(ForeignKey("participants.id"))
    wave_id: Mapped[int] = mapped_column(ForeignKey("waves.id"), index=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Key of the page shown last.
    current_page: Mapped[str | None] = mapped_column(String(64))

    participant: Mapped[Participant] = relationship()
    wave: Mapped[Wave] = relationship()

    def __repr__(self) -> str:
        return f"<ResponseSession {self.id} participant={self.participant_id} wave={self.wave_id}>"


class PageVisit(db.Model):
    """When a page was shown and submitted: the timings careless-response checks use."""

    __tablename__ = "page_visits"
    __table_args__ = (UniqueConstraint("session_id", "instrument_version_id", "page_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("response_sessions.id"))
    instrument_version_id: Mapped[int] = mapped_column(ForeignKey("instrument_versions.id"))
    page_key: Mapped[str] = mapped_column(String(64))
    first_shown_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_shown_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    submit_count: Mapped[int] = mapped_column(default=0)


class DeliveryMode:
    """How an answer reached the platform (analyses can compare modes)."""

    WEB = "web"  # the participant pages
    CHAT = "chat"  # a messaging-therapy platform through the API


class Answer(db.Model):
    """One item's answer in one session; a resubmitted page updates it in place.

    Item ids are unique within an instrument version, so an answer names both. ``value`` is
    ``None`` when an item was left unanswered on a submitted page (or on a page left with
    Back before it was submitted).
    """

    __tablename__ = "answers"
    __table_args__ = (
        UniqueConstraint("session_id", "instrument_version_id", "item_id"),
        CheckConstraint("delivery_mode IN ('web', 'chat')", name="delivery_mode"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("response_sessions.id"))
    instrument_version_id: Mapped[int] = mapped_column(ForeignKey("instrument_versions.id"))
    item_id: Mapped[str] = mapped_column(String(64))
    page_key: Mapped[str] = mapped_column(String(64))
    value: Mapped[int | None]
    answered_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    delivery_mode: Mapped[str] = mapped_column(String(8), default=DeliveryMode.WEB)
