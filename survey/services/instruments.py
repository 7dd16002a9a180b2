"""The instrument registry: definitions imported as immutable, published versions."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from instruments.definition import InstrumentDefinition
from instruments.loader import parse_definition
from survey.extensions import db
from survey.models import Instrument, InstrumentVersion, VersionStatus, utcnow
from survey.services.errors import VersionConflict

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
    definition: InstrumentDefinition, *, now: datetime | None = None
) -> tuple[InstrumentVersion, bool]:
    """Store ``definition`` as a published version; return it and whether it is new.

    Importing the same content again returns the stored version. The same key and version
    with other content raises :class:`VersionConflict`: a published version never changes.
    """
    now = now or utcnow()
    existing = find_version(definition.key, definition.version)
    if existing is not None:
        if existing.content_hash != definition.content_hash:
            raise VersionConflict(
                f"{definition.key} {definition.version} is already stored with other content "
                f"(sha256 {existing.content_hash[:12]}…, now {definition.content_hash[:12]}…); "
                "a published version never changes: give the file a new version number"
            )
        return existing, False

    instrument = db.session.scalar(select(Instrument).where(Instrument.key == definition.key))
    if instrument is None:
        instrument = Instrument(key=definition.key, title=definition.title, created_at=now)
        db.session.add(instrument)
    version = InstrumentVersion(
        instrument=instrument,
        version=definition.version,
        status=VersionStatus.PUBLISHED,
        content=definition.source,
        content_hash=definition.content_hash,
        created_at=now,
        published_at=now,
    )
    db.session.add(version)
    db.session.flush()
    _definitions.setdefault(definition.content_hash, definition)
    return version, True


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
