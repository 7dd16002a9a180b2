"""Per-participant outcomes and covariates (engagement, age group, delivery mode, ...)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, Float, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from survey.extensions import db
from survey.models.participant import Participant
from survey.models.study import Study, Wave
from survey.models.types import UTCDateTime, utcnow
from survey.models.user import User


class OutcomeSource:
    """Where a version of a study's outcomes came from."""

    UPLOAD = "upload"  # a researcher's CSV
    SIMULATION = "simulation"  # `flask demo simulate`
    API = "api"  # a therapy platform through the API


class OutcomeUpload(db.Model):
    """One version of a study's outcome and covariate table; a new upload is a new version
    and the old ones are kept.

    ``columns`` describes each named column in file order:
    ``[{"name": "messages_sent", "kind": "numeric"}, {"name": "age_group", "kind":
    "categorical", "levels": ["18-25", ...]}]``.
    """

    __tablename__ = "outcome_uploads"
    __table_args__ = (
        UniqueConstraint("study_id", "version"),
        CheckConstraint("source IN ('upload', 'simulation', 'api')", name="source"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    study_id: Mapped[int] = mapped_column(ForeignKey("studies.id"), index=True)
    version: Mapped[int]
    source: Mapped[str] = mapped_column(String(16), default=OutcomeSource.UPLOAD)
    filename: Mapped[str] = mapped_column(String(255))
    sha256: Mapped[str] = mapped_column(String(64))
    row_count: Mapped[int]
    columns: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    simulated: Mapped[bool] = mapped_column(default=False)
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    study: Mapped[Study] = relationship()
    uploaded_by: Mapped[User | None] = relationship()

    def __repr__(self) -> str:
        return f"<OutcomeUpload study={self.study_id} v{self.version}>"


class OutcomeValue(db.Model):
    """One cell of an outcome version: a participant's value of a named column, at a wave
    or (``wave_id`` empty) for the participant as a whole. Numeric columns fill ``number``,
    categorical ones ``text``; an empty cell is a row with both empty."""

    __tablename__ = "outcome_values"
    __table_args__ = (UniqueConstraint("upload_id", "participant_id", "wave_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    upload_id: Mapped[int] = mapped_column(ForeignKey("outcome_uploads.id"), index=True)
    participant_id: Mapped[int] = mapped_column(ForeignKey("participants.id"), index=True)
    wave_id: Mapped[int | None] = mapped_column(ForeignKey("waves.id"))
    name: Mapped[str] = mapped_column(String(64))
    number: Mapped[float | None] = mapped_column(Float)
    text: Mapped[str | None] = mapped_column(String(200))

    upload: Mapped[OutcomeUpload] = relationship()
    participant: Mapped[Participant] = relationship()
    wave: Mapped[Wave | None] = relationship()
