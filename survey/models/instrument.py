"""Instruments and their immutable versions."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, ForeignKey, String, UniqueConstraint, event, inspect
from sqlalchemy.orm import Mapped, mapped_column, relationship

from survey.extensions import db
from survey.models.types import UTCDateTime, utcnow
from survey.services.errors import VersionPublished, VersionRetired


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
        CheckConstraint("status IN ('draft', 'published', 'retired')", name="status"),
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
    retired_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The version this one was copied from ("new version from this one"); None for versions
    # loaded or imported from a file.
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("instrument_versions.id"))

    instrument: Mapped[Instrument] = relationship(back_populates="versions")
    parent: Mapped[InstrumentVersion | None] = relationship(remote_side=[id])

    def __repr__(self) -> str:
        return f"<InstrumentVersion {self.instrument_id}:{self.version} {self.status}>"


# What a published or retired version keeps forever (the database triggers of migration
# 0003 freeze the same columns; this guard fails earlier, with a domain error).
FROZEN_ATTRIBUTES = (
    "content",
    "content_hash",
    "version",
    "instrument_id",
    "parent_id",
    "created_at",
    "published_at",
)


def _frozen_error(target: InstrumentVersion, status: str, what: str) -> Exception:
    error = VersionRetired if status == VersionStatus.RETIRED else VersionPublished
    return error(
        f"version {target.version} is {status}: {what}; make a new version from it",
        version=target,
    )


def _committed_status(target: InstrumentVersion) -> str | None:
    history = inspect(target).attrs.status.history
    if history.deleted:
        return history.deleted[0]
    return history.unchanged[0] if history.unchanged else target.status


@event.listens_for(InstrumentVersion, "before_update")
def _refuse_changes_to_frozen_versions(_mapper, _connection, target: InstrumentVersion) -> None:
    status = _committed_status(target)
    if status == VersionStatus.DRAFT:
        return
    state = inspect(target)
    changed = [name for name in FROZEN_ATTRIBUTES if state.attrs[name].history.has_changes()]
    if changed:
        raise _frozen_error(target, status, f"its {', '.join(changed)} cannot change")


@event.listens_for(InstrumentVersion, "before_delete")
def _refuse_deleting_frozen_versions(_mapper, _connection, target: InstrumentVersion) -> None:
    status = _committed_status(target)
    if status != VersionStatus.DRAFT:
        raise _frozen_error(target, status, "it cannot be deleted")
