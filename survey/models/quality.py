"""Exclusions of response sessions from analyses: flags with who, when and why."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Text, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from survey.extensions import db
from survey.models.response import ResponseSession
from survey.models.types import UTCDateTime, utcnow
from survey.models.user import User


class SessionExclusion(db.Model):
    """One exclusion of a response session, and its lifting when a researcher reverses it.

    The answers stay stored either way: an exclusion only says that analyses and exports
    leave the session out by default. A session has at most one exclusion in force (the
    row whose ``lifted_at`` is empty); a lifted one keeps its row, so the history of who
    excluded and included what, when and why is never lost.
    """

    __tablename__ = "session_exclusions"
    __table_args__ = (
        Index(
            "uq_session_exclusions_in_force",
            "session_id",
            unique=True,
            sqlite_where=text("lifted_at IS NULL"),
            postgresql_where=text("lifted_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("response_sessions.id"), index=True)
    reason: Mapped[str] = mapped_column(Text)
    # The rule that suggested it (e.g. "longstring"), or None for a researcher's own reason.
    rule: Mapped[str | None] = mapped_column(Text)
    excluded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    excluded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    lifted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    lifted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    lift_reason: Mapped[str | None] = mapped_column(Text)

    session: Mapped[ResponseSession] = relationship()
    excluded_by: Mapped[User | None] = relationship(foreign_keys=[excluded_by_id])
    lifted_by: Mapped[User | None] = relationship(foreign_keys=[lifted_by_id])

    @property
    def in_force(self) -> bool:
        return self.lifted_at is None

    def __repr__(self) -> str:
        state = "in force" if self.lifted_at is None else "lifted"
        return f"<SessionExclusion {self.id} session={self.session_id} {state}>"
