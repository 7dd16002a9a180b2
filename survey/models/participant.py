"""Participants (known only by the hash of their secret link) and their consent decisions."""

from __future__ import annotations

import secrets
from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from survey.extensions import db
from survey.models.study import Study
from survey.models.types import UTCDateTime, utcnow


def participant_code(participant_id: int) -> str:
    """The pseudonymous code staff pages and exports show for a participant row id.

    >>> participant_code(42)
    'P000042'
    """
    return f"P{participant_id:06d}"


def new_item_order_seed() -> int:
    return secrets.randbelow(2**31)


class ConsentDecision:
    """Allowed values of the decision column (plain strings, as stored)."""

    GIVEN = "given"
    DECLINED = "declined"


class EnrolledVia:
    """How a participant came to the study."""

    INVITATION = "invitation"  # a link created by the study team
    OPEN_LINK = "open_link"  # the study's open enrolment link
    API = "api"  # enrolled by a therapy platform through the API (by external id)


class Participant(db.Model):
    """A pseudonymous participant of one study. No personal data, no IP, no user agent.

    ``enrolled_at`` is the first consent (waves relative to enrolment count from it);
    ``external_id_hash`` is an HMAC of an id on another system (the therapy platform's user
    id), never the id itself.
    """

    __tablename__ = "participants"
    __table_args__ = (
        UniqueConstraint("study_id", "external_id_hash"),
        CheckConstraint("enrolled_via IN ('invitation', 'open_link', 'api')", name="enrolled_via"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    study_id: Mapped[int] = mapped_column(ForeignKey("studies.id"), index=True)
    # SHA-256 (hex) of the secret token; the token itself is never stored.
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    enrolled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    enrolled_via: Mapped[str] = mapped_column(String(16), default=EnrolledVia.INVITATION)
    external_id_hash: Mapped[str | None] = mapped_column(String(64))
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Research data is never deleted: an exclusion is a flag with its reason.
    excluded: Mapped[bool] = mapped_column(default=False)
    exclusion_reason: Mapped[str | None] = mapped_column(Text)
    item_order_seed: Mapped[int] = mapped_column(default=new_item_order_seed)
    # Made by `flask demo simulate`, not a person: every export says so.
    simulated: Mapped[bool] = mapped_column(default=False)

    study: Mapped[Study] = relationship()

    @property
    def code(self) -> str:
        """The pseudonymous code staff pages and exports show (from the row id)."""
        return participant_code(self.id)

    def __repr__(self) -> str:
        return f"<Participant {self.id} of study {self.study_id}>"


class ConsentRecord(db.Model):
    """One consent decision on one version of a study's consent text (append-only).

    ``ordinal`` numbers a participant's decisions on one consent version from 1; it is
    unique with them, so two simultaneous requests that saw the same history cannot both
    append (one consent, not two, for a double-submitted form).
    """

    __tablename__ = "consent_records"
    __table_args__ = (
        CheckConstraint("decision IN ('given', 'declined')", name="decision"),
        UniqueConstraint("participant_id", "consent_version", "ordinal"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    participant_id: Mapped[int] = mapped_column(ForeignKey("participants.id"), index=True)
    consent_version: Mapped[str] = mapped_column(String(32))
    ordinal: Mapped[int]
    decision: Mapped[str] = mapped_column(String(16))
    decided_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    participant: Mapped[Participant] = relationship()
