"""Instruments and their versions: lookups, the new-study rule, comparisons."""

from __future__ import annotations

from sqlalchemy import func, select

from instruments.definition import Item
from instruments.diff import InstrumentDiff, diff_versions
from instruments.diff import identical_items as _identical_items
from instruments.versioning import parse_version
from survey.extensions import db
from survey.models import Instrument, InstrumentVersion, StudyInstrument, VersionStatus
from survey.services.errors import (
    VersionNotPublished,
    VersionRetired,
)
from survey.services.instruments import definition_of


def list_instruments() -> list[Instrument]:
    return list(db.session.scalars(select(Instrument).order_by(Instrument.key)))


def find_instrument(key: str) -> Instrument | None:
    return db.session.scalar(select(Instrument).where(Instrument.key == key))


def get_version(version_id: int) -> InstrumentVersion | None:
    return db.session.get(InstrumentVersion, version_id)


def versions_of(instrument: Instrument) -> list[InstrumentVersion]:
    """The instrument's versions in semantic-version order, oldest first."""
    return sorted(instrument.versions, key=lambda v: parse_version(v.version).precedence)


def usable_for_new_study(version: InstrumentVersion) -> bool:
    """Only a published version may be chosen for a new study (not a draft, not retired)."""
    return version.status == VersionStatus.PUBLISHED


def require_usable_for_new_study(version: InstrumentVersion) -> None:
    """Raise unless :func:`usable_for_new_study`: :class:`VersionRetired` for a retired
    version, :class:`VersionNotPublished` for a draft."""
    if usable_for_new_study(version):
        return
    what = f"instrument version {version.version}"
    if version.status == VersionStatus.RETIRED:
        raise VersionRetired(
            f"{what} is retired: studies already using it continue, but a new study needs "
            "a version that is published",
            version=version,
        )
    raise VersionNotPublished(f"{what} is {version.status}; a new study needs a published version")


def base_of(version: InstrumentVersion) -> InstrumentVersion | None:
    """What a draft is compared with: its parent, or else the highest non-draft version of
    the instrument numbered below it (for imported drafts)."""
    if version.parent is not None:
        return version.parent
    own = parse_version(version.version)
    earlier = [
        other
        for other in version.instrument.versions
        if other.id != version.id
        and other.status != VersionStatus.DRAFT
        and parse_version(other.version) < own
    ]
    return max(earlier, key=lambda v: parse_version(v.version).precedence, default=None)


def diff(old: InstrumentVersion, new: InstrumentVersion) -> InstrumentDiff:
    """Every difference from ``old`` to ``new`` (see :func:`instruments.diff.diff_versions`)."""
    return diff_versions(definition_of(old), definition_of(new))


def identical_items(old: InstrumentVersion, new: InstrumentVersion) -> list[str]:
    """Ids of the items whose responses can be pooled across the two versions."""
    return _identical_items(definition_of(old), definition_of(new))


def study_count(version: InstrumentVersion) -> int:
    """How many studies ask ``version`` (in their battery)."""
    return db.session.scalar(
        select(func.count())
        .select_from(StudyInstrument)
        .where(StudyInstrument.instrument_version_id == version.id)
    )


def item_position(version: InstrumentVersion, item_id: str) -> tuple[Item, int] | None:
    """The item ``item_id`` of ``version`` and its 1-based position within its
    subconstruct; None if the version has no such item."""
    definition = definition_of(version)
    for item in definition.items:
        if item.id == item_id:
            siblings = definition.subconstruct(item.subconstruct).items
            return item, [i.id for i in siblings].index(item_id) + 1
    return None
