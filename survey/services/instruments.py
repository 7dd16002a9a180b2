"""The instrument registry: the one import path for instrument versions (audited), and
the parsed definition of a stored version."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from instruments.definition import InstrumentDefinition
from instruments.loader import parse_definition
from survey.extensions import db
from survey.models import AuditAction, Instrument, InstrumentVersion, User, VersionStatus, utcnow
from survey.services import audit
from survey.services.errors import VersionConflict

# The audit log's target type for instrument versions.
TARGET = "instrument_version"

# Parsed definitions by content hash. The key is the content itself, so an entry can never
# go stale; there is one per instrument version ever served.
_definitions: dict[str, InstrumentDefinition] = {}


def find_version(key: str, version: str) -> InstrumentVersion | None:
    return db.session.scalar(
        select(InstrumentVersion)
        .join(InstrumentVersion.instrument)
        .where(Instrument.key == key, InstrumentVersion.version == version)
    )


def import_definition(
    definition: InstrumentDefinition,
    *,
    actor: User | None = None,
    via: str = "web",
    publish: bool = True,
    fmt: str = "yaml",
    source_name: str | None = None,
    now: datetime | None = None,
) -> tuple[InstrumentVersion, bool]:
    """Store ``definition`` as a new version; return it and whether it is new.

    The one way an instrument version enters the database (the web import, ``flask
    instruments load``, ``flask demo setup``): published (``publish=True``) or as a draft,
    recorded in the audit log as ``version_imported`` by ``actor`` (None on the command
    line) ``via`` the web, the CLI or the demo; a version imported as published is also
    recorded as ``version_published``.

    Importing the same content again returns the stored version and records nothing. The
    same key and version with other content raises :class:`VersionConflict`: a version
    never changes.
    """
    existing = find_version(definition.key, definition.version)
    if existing is not None:
        if existing.content_hash != definition.content_hash:
            raise VersionConflict(
                f"{definition.key} {definition.version} exists already ({existing.status}) "
                f"with other content (sha256 {existing.content_hash[:12]}…, the file "
                f"{definition.content_hash[:12]}…); nothing was imported. A version never "
                "changes: give the file a new version number"
            )
        return existing, False

    now = now or utcnow()
    instrument = db.session.scalar(select(Instrument).where(Instrument.key == definition.key))
    if instrument is None:
        instrument = Instrument(key=definition.key, title=definition.title, created_at=now)
        db.session.add(instrument)
    version = InstrumentVersion(
        instrument=instrument,
        version=definition.version,
        status=VersionStatus.PUBLISHED if publish else VersionStatus.DRAFT,
        content=definition.source,
        content_hash=definition.content_hash,
        created_at=now,
        published_at=now if publish else None,
    )
    db.session.add(version)
    db.session.flush()
    _definitions.setdefault(definition.content_hash, definition)
    _record_import(version, actor=actor, via=via, fmt=fmt, source_name=source_name, now=now)
    return version, True


def _record_import(
    version: InstrumentVersion,
    *,
    actor: User | None,
    via: str,
    fmt: str,
    source_name: str | None,
    now: datetime,
) -> None:
    what = {"key": version.instrument.key, "version": version.version, "via": via}
    audit.record(
        AuditAction.VERSION_IMPORTED,
        actor=actor,
        target_type=TARGET,
        target_id=version.id,
        hash_after=version.content_hash,
        details=what | {"format": fmt, "file": source_name, "status": version.status},
        now=now,
    )
    if version.status == VersionStatus.PUBLISHED:
        audit.record(
            AuditAction.VERSION_PUBLISHED,
            actor=actor,
            target_type=TARGET,
            target_id=version.id,
            hash_after=version.content_hash,
            details=what | {"from_version": None, "level": None, "reasons": ["imported"]},
            now=now,
        )


def definition_of(version: InstrumentVersion) -> InstrumentDefinition:
    """The definition stored in ``version`` (parsed once per content hash, then cached).

    The stored content is validated again and must still hash to ``content_hash``.
    """
    definition = _definitions.get(version.content_hash)
    if definition is None:
        definition = parse_definition(
            version.content, f"instrument version {version.id} (database)"
        )
        if definition.content_hash != version.content_hash:
            raise ValueError(
                f"instrument version {version.id}: stored content does not match its hash"
            )
        definition = _definitions.setdefault(version.content_hash, definition)
    return definition
