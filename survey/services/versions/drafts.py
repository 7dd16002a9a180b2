"""Drafts: made from a version, replaced whole (always valid), discarded."""

from __future__ import annotations

import copy
from datetime import datetime
from typing import Any

from instruments.definition import InstrumentDefinition
from instruments.loader import (
    InstrumentValidationError,
    Problem,
    parse_definition,
)
from instruments.serialize import to_yaml
from instruments.versioning import LEVELS, Proposal
from survey.extensions import db
from survey.models import AuditAction, Instrument, InstrumentVersion, User, VersionStatus, utcnow
from survey.services import audit
from survey.services.errors import (
    DraftChanged,
    InvalidDefinition,
    InvalidVersionNumber,
    VersionIsDraft,
    VersionPublished,
    VersionRetired,
)
from survey.services.instruments import TARGET, definition_of
from survey.services.versions.numbers import check_number, level_between, next_free

DRAFT_DISCARDED = "draft_discarded"


def create_draft_from(
    version: InstrumentVersion,
    *,
    actor: User | None,
    new_version: str | None = None,
    level: str = "patch",
    now: datetime | None = None,
) -> tuple[InstrumentVersion, Proposal]:
    """Copy a published or retired version into a new draft.

    The draft is numbered ``new_version`` when given (an unused version above the source),
    else the next unused number at ``level``. Nothing has changed yet, so the returned
    :class:`~instruments.versioning.Proposal` only records the chosen number and level;
    :func:`publish` proposes again from the changes actually made.
    """
    if version.status == VersionStatus.DRAFT:
        raise VersionIsDraft(
            f"{version.instrument.key} {version.version} is a draft: publish or discard it "
            "before making a new version from it"
        )
    instrument = version.instrument
    if new_version is None:
        if level not in LEVELS:
            raise InvalidVersionNumber(f"unknown level {level!r}: choose {', '.join(LEVELS)}")
        number = next_free(instrument, version.version, level)
    else:
        number = check_number(instrument, new_version, above=version.version)
        level = level_between(version.version, number)
    definition = parse_draft(
        copy.deepcopy(version.content) | {"version": number}, instrument, number
    )
    draft = InstrumentVersion(
        instrument=instrument,
        version=number,
        status=VersionStatus.DRAFT,
        content=definition.source,
        content_hash=definition.content_hash,
        parent=version,
        created_at=now or utcnow(),
    )
    db.session.add(draft)
    db.session.flush()
    audit.record(
        AuditAction.DRAFT_CREATED,
        actor=actor,
        target_type=TARGET,
        target_id=draft.id,
        hash_before=version.content_hash,
        hash_after=draft.content_hash,
        details={"key": instrument.key, "version": number, "from_version": version.version},
    )
    reasons = [
        f"{level}: chosen when the draft was created; publishing proposes the number again "
        "from the changes made"
    ]
    return draft, Proposal(version=number, level=level, reasons=reasons)  # type: ignore[arg-type]


def require_draft(version: InstrumentVersion) -> None:
    """Raise :class:`VersionPublished` / :class:`VersionRetired` unless ``version`` is a draft."""
    what = f"{version.instrument.key} {version.version}"
    if version.status == VersionStatus.PUBLISHED:
        raise VersionPublished(
            f"{what} is published: its content never changes. Make a new version from it.",
            version=version,
        )
    if version.status == VersionStatus.RETIRED:
        raise VersionRetired(
            f"{what} is retired: its content never changes. Make a new version from it.",
            version=version,
        )


def update_draft(
    draft: InstrumentVersion,
    mapping: Any,
    *,
    actor: User | None,
    expected_hash: str | None = None,
    edit: str = "content",
) -> bool:
    """Replace the draft's content with ``mapping`` (the instrument-file mapping).

    Refused whole, with every problem, when the loader rejects it or when its key or
    version differ from the draft's (:class:`InvalidDefinition`). ``expected_hash`` is the
    content hash the editor started from: if someone saved in between,
    :class:`DraftChanged` is raised instead of overwriting their work. Returns whether the
    content changed; ``edit`` describes the edit in the audit log.
    """
    require_draft(draft)
    if expected_hash is not None and expected_hash != draft.content_hash:
        raise DraftChanged(
            f"{draft.instrument.key} {draft.version} was changed by someone else since you "
            "opened it; reload the page and make your change again"
        )
    definition = parse_draft(mapping, draft.instrument, draft.version)
    if definition.content_hash == draft.content_hash:
        return False
    before = draft.content_hash
    draft.content = definition.source
    draft.content_hash = definition.content_hash
    db.session.flush()
    audit.record(
        AuditAction.DRAFT_EDITED,
        actor=actor,
        target_type=TARGET,
        target_id=draft.id,
        hash_before=before,
        hash_after=draft.content_hash,
        details={"key": draft.instrument.key, "version": draft.version, "edit": edit},
    )
    return True


def draft_name(key: str, number: str) -> str:
    return f"draft {key} {number}"


def parse_draft(mapping: Any, instrument: Instrument, number: str) -> InstrumentDefinition:
    """Validate ``mapping`` as version ``number`` of ``instrument``; every problem at once."""
    name = draft_name(instrument.key, number)
    problems: list[Problem] = []
    if isinstance(mapping, dict):
        if mapping.get("key") != instrument.key:
            problems.append(
                Problem(name, "key", f"must stay {instrument.key!r} (got {mapping.get('key')!r})")
            )
        if mapping.get("version") != number:
            problems.append(
                Problem(
                    name,
                    "version",
                    f"must stay {number!r} (got {mapping.get('version')!r}); the number is "
                    "confirmed when publishing",
                )
            )
    try:
        definition = parse_definition(mapping, name)
    except InstrumentValidationError as error:
        raise InvalidDefinition([*problems, *error.problems]) from None
    if problems:
        raise InvalidDefinition(problems)
    return definition


def draft_yaml(draft: InstrumentVersion) -> str:
    """The draft as instrument-file text, for the YAML editor."""
    return to_yaml(definition_of(draft))


def discard_draft(draft: InstrumentVersion, *, actor: User | None) -> None:
    """Delete a draft (published and retired versions are never deleted)."""
    require_draft(draft)
    audit.record(
        DRAFT_DISCARDED,
        actor=actor,
        target_type=TARGET,
        target_id=draft.id,
        hash_before=draft.content_hash,
        details={"key": draft.instrument.key, "version": draft.version},
    )
    db.session.delete(draft)
    db.session.flush()
