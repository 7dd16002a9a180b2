"""Validation runs (a study's validation report and the job that makes it) and the
hypotheses a study states before it runs them."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from survey.extensions import db
from survey.models.study import Study
from survey.models.types import UTCDateTime, utcnow
from survey.models.user import User


class RunStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


ACTIVE_STATUSES = (RunStatus.QUEUED, RunStatus.RUNNING)


class ValidationRun(db.Model):
    """One validation of a study's data: its inputs, progress, outcome and report.

    ``inputs_key`` is the SHA-256 of what the run was asked for (study, wave, whether
    excluded sessions are analysed, seed, group variable); at most one queued or running run per key
    (a partial unique index), so the same validation cannot be started twice at once.
    When it is done, ``report`` holds the report JSON (a function of its inputs alone,
    :mod:`survey.services.validation.run`) and ``report_sha256`` its digest; the run row
    adds who asked for it and when. A failed run keeps its ``error``; no run is deleted.
    """

    __tablename__ = "validation_runs"
    __table_args__ = (
        CheckConstraint("status IN ('queued', 'running', 'done', 'failed')", name="status"),
        Index(
            "uq_validation_runs_active_inputs",
            "inputs_key",
            unique=True,
            sqlite_where=text("status IN ('queued', 'running')"),
            postgresql_where=text("status IN ('queued', 'running')"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    study_id: Mapped[int] = mapped_column(ForeignKey("studies.id"), index=True)
    status: Mapped[str] = mapped_column(String(16), default=RunStatus.QUEUED)
    inputs_key: Mapped[str] = mapped_column(String(64))
    wave: Mapped[str | None] = mapped_column(String(64))
    include_excluded: Mapped[bool] = mapped_column(default=False)
    seed: Mapped[int] = mapped_column(default=1)
    # The group variable of the invariance analysis ("delivery_mode" or a categorical
    # outcome column); None: delivery mode when both modes are used.
    group_variable: Mapped[str | None] = mapped_column(String(64))
    # "thread" (the in-process worker) or "rq" (an RQ worker through REDIS_URL).
    backend: Mapped[str] = mapped_column(String(16), default="thread")
    job_id: Mapped[str | None] = mapped_column(String(64))
    progress_done: Mapped[int] = mapped_column(default=0)
    progress_total: Mapped[int] = mapped_column(default=0)
    progress_label: Mapped[str] = mapped_column(String(200), default="")
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    requested_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    error: Mapped[str | None] = mapped_column(Text)
    row_count: Mapped[int | None]
    rows_sha256: Mapped[str | None] = mapped_column(String(64))
    # [{"id", "key", "version", "content_hash"}] of the battery when the run started.
    instrument_versions: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)
    report: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    report_sha256: Mapped[str | None] = mapped_column(String(64))

    study: Mapped[Study] = relationship()
    requested_by: Mapped[User | None] = relationship()

    @property
    def active(self) -> bool:
        return self.status in ACTIVE_STATUSES

    @property
    def share_done(self) -> float:
        if self.status == RunStatus.DONE:
            return 1.0
        return self.progress_done / self.progress_total if self.progress_total else 0.0

    def __repr__(self) -> str:
        return f"<ValidationRun {self.id} study={self.study_id} {self.status}>"


class StudyHypothesis(db.Model):
    """A hypothesis for construct validity, stated before the analysis and time-stamped.

    ``text`` is the statement as the researcher wrote it (e.g. "TA correlates >= .30 with
    messages_sent"), ``spec`` its parsed form. A hypothesis is never edited or deleted:
    it is retired (``retired_at``) and a new one stated, so every report can show which
    hypotheses stood before it ran.
    """

    __tablename__ = "study_hypotheses"

    id: Mapped[int] = mapped_column(primary_key=True)
    study_id: Mapped[int] = mapped_column(ForeignKey("studies.id"), index=True)
    text: Mapped[str] = mapped_column(Text)
    spec: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    retired_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    retired_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    study: Mapped[Study] = relationship()
    created_by: Mapped[User | None] = relationship(foreign_keys=[created_by_id])
    retired_by: Mapped[User | None] = relationship(foreign_keys=[retired_by_id])

    @property
    def in_force(self) -> bool:
        return self.retired_at is None

    def __repr__(self) -> str:
        return f"<StudyHypothesis {self.id} study={self.study_id} {self.text!r}>"
