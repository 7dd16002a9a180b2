"""Studies, their battery of instrument versions, their waves and their team."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import JSON, CheckConstraint, ForeignKey, String, Text, UniqueConstraint
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


class WithdrawalPolicy:
    """What happens to the answers of a participant who withdraws (the consent text says)."""

    KEEP = "keep"  # answers already given stay in the analyses
    EXCLUDE = "exclude"  # answers stay stored but are flagged excluded from analyses


class WaveStatus:
    """Allowed values of the status column (plain strings, as stored).

    An open wave follows its schedule (if it has one); a closed wave is closed for
    everyone, whatever its schedule says.
    """

    OPEN = "open"
    CLOSED = "closed"


class MemberRole:
    """What a collaborator may do in a study they do not own."""

    VIEWER = "viewer"  # see, export, analyse
    EDITOR = "editor"  # also participants and waves


class Study(db.Model):
    """A validation study: a battery of instrument versions asked at one or more waves."""

    __tablename__ = "studies"
    __table_args__ = (
        CheckConstraint("status IN ('draft', 'open', 'closed')", name="status"),
        CheckConstraint("withdrawal_policy IN ('keep', 'exclude')", name="withdrawal_policy"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    slug: Mapped[str] = mapped_column(String(100), unique=True)
    consent_text: Mapped[str] = mapped_column(Text)
    consent_version: Mapped[str] = mapped_column(String(32))
    # Shown on every participant page of the study: where to get help in a crisis.
    urgent_help_note: Mapped[str] = mapped_column(Text)
    # Shown on every participant page: who runs the study and how to reach them.
    team_contact: Mapped[str] = mapped_column(Text, default="")
    withdrawal_policy: Mapped[str] = mapped_column(String(16), default=WithdrawalPolicy.KEEP)
    status: Mapped[str] = mapped_column(String(16), default=StudyStatus.OPEN)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # The researcher running the study (admins see every study); None for studies made
    # from the command line without an owner.
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    # Open enrolment: the key of the public link /e/<key> (a public link by design, so kept
    # in clear), how many participants it may create, how many it has created.
    enrolment_key: Mapped[str | None] = mapped_column(String(64), unique=True)
    enrolment_cap: Mapped[int | None]
    enrolled_by_link: Mapped[int] = mapped_column(default=0)
    # The study's data-quality rules (survey.services.data_quality); None: the defaults.
    quality_rules: Mapped[dict[str, Any] | None] = mapped_column(JSON)

    owner: Mapped[User | None] = relationship()
    battery: Mapped[list[StudyInstrument]] = relationship(
        back_populates="study", order_by="StudyInstrument.position"
    )
    waves: Mapped[list[Wave]] = relationship(back_populates="study", order_by="Wave.position")

    @property
    def instrument_versions(self) -> list[InstrumentVersion]:
        """The battery's versions in the order participants answer them."""
        return [entry.instrument_version for entry in self.battery]

    @property
    def instrument_version(self) -> InstrumentVersion:
        """The battery's first version (the study's main instrument)."""
        return self.battery[0].instrument_version

    def __repr__(self) -> str:
        return f"<Study {self.slug}>"


class StudyInstrument(db.Model):
    """One published instrument version of a study's battery, at its position."""

    __tablename__ = "study_instruments"
    __table_args__ = (
        UniqueConstraint("study_id", "position"),
        UniqueConstraint("study_id", "instrument_version_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    study_id: Mapped[int] = mapped_column(ForeignKey("studies.id"), index=True)
    instrument_version_id: Mapped[int] = mapped_column(
        ForeignKey("instrument_versions.id"), index=True
    )
    position: Mapped[int]

    study: Mapped[Study] = relationship(back_populates="battery")
    instrument_version: Mapped[InstrumentVersion] = relationship()


class Wave(db.Model):
    """A measurement occasion of a study (baseline, week 4, ...).

    Its schedule is one of: none (answerable while open), relative to each participant's
    enrolment (``offset_days`` after it, for ``window_days`` days or open-ended), or fixed
    dates (``opens_at`` / ``closes_at``, either may be missing). Windows include their first
    second and exclude their end.
    """

    __tablename__ = "waves"
    __table_args__ = (
        UniqueConstraint("study_id", "key"),
        UniqueConstraint("study_id", "position"),
        CheckConstraint("status IN ('open', 'closed')", name="status"),
        CheckConstraint("offset_days IS NULL OR offset_days >= 0", name="offset_days"),
        CheckConstraint("window_days IS NULL OR window_days >= 1", name="window_days"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    study_id: Mapped[int] = mapped_column(ForeignKey("studies.id"))
    key: Mapped[str] = mapped_column(String(64))
    label: Mapped[str] = mapped_column(String(200))
    position: Mapped[int]
    status: Mapped[str] = mapped_column(String(16), default=WaveStatus.OPEN)
    # Fixed window.
    opens_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closes_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Window relative to the participant's enrolment.
    offset_days: Mapped[int | None]
    window_days: Mapped[int | None]

    study: Mapped[Study] = relationship(back_populates="waves")

    @property
    def is_relative(self) -> bool:
        return self.offset_days is not None

    def window(self, enrolled_at: datetime) -> tuple[datetime | None, datetime | None]:
        """When the wave opens and closes for a participant enrolled at ``enrolled_at``."""
        if self.offset_days is None:
            return self.opens_at, self.closes_at
        opens = enrolled_at + timedelta(days=self.offset_days)
        closes = None if self.window_days is None else opens + timedelta(days=self.window_days)
        return opens, closes

    def is_answerable(self, now: datetime, enrolled_at: datetime | None = None) -> bool:
        """Open, and ``now`` inside the window of a participant enrolled at ``enrolled_at``
        (a participant not yet enrolled is taken as enrolling now)."""
        if self.status != WaveStatus.OPEN:
            return False
        opens, closes = self.window(enrolled_at or now)
        return (opens is None or opens <= now) and (closes is None or now < closes)

    def __repr__(self) -> str:
        return f"<Wave {self.study_id}:{self.key}>"


class StudyMember(db.Model):
    """A researcher the owner shared the study with; a revoked grant keeps its row."""

    __tablename__ = "study_members"
    __table_args__ = (
        UniqueConstraint("study_id", "user_id"),
        CheckConstraint("role IN ('viewer', 'editor')", name="role"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    study_id: Mapped[int] = mapped_column(ForeignKey("studies.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    role: Mapped[str] = mapped_column(String(16))
    granted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    granted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    study: Mapped[Study] = relationship()
    user: Mapped[User] = relationship(foreign_keys=[user_id])
