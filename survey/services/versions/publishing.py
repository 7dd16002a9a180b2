"""Publishing a draft (numbered against the proposal, hashed, frozen) and retiring a
version."""

from __future__ import annotations

import copy
from datetime import datetime

from instruments.diff import diff_versions
from instruments.versioning import Proposal, parse_version, propose_next_version
from survey.extensions import db
from survey.models import AuditAction, InstrumentVersion, User, VersionStatus, utcnow
from survey.services import audit
from survey.services.errors import (
    InvalidDefinition,
    InvalidVersionNumber,
    NoChanges,
    VersionIsDraft,
    VersionRetired,
)
from survey.services.instruments import TARGET, definition_of
from survey.services.versions.drafts import parse_draft, require_draft
from survey.services.versions.numbers import check_number, core, next_free, taken
from survey.services.versions.queries import base_of


def publication_proposal(draft: InstrumentVersion) -> Proposal | None:
    """The version number the draft's changes call for, compared with :func:`base_of`
    (its parent); None when there is nothing to compare with. Raises :class:`NoChanges`
    when the draft has the content of its base."""
    base = base_of(draft)
    if base is None:
        return None
    old, new = definition_of(base), definition_of(draft)
    if diff_versions(old, new).is_empty:
        raise NoChanges(
            f"the draft has the same content as {base.instrument.key} {base.version}: "
            "change something before publishing, or discard the draft"
        )
    proposal = propose_next_version(old, new)
    number = next_free(draft.instrument, base.version, proposal.level)
    if taken(draft.instrument, proposal.version, besides=draft) and number != proposal.version:
        proposal = Proposal(
            version=number,
            level=proposal.level,
            reasons=[*proposal.reasons, f"{proposal.version} exists already: next is {number}"],
        )
    return proposal


def publish(
    draft: InstrumentVersion,
    *,
    actor: User | None,
    version: str | None = None,
    now: datetime | None = None,
) -> tuple[InstrumentVersion, Proposal | None]:
    """Validate, number, hash and freeze a draft. Returns it and the proposal it met.

    ``version`` renumbers the draft (the admin's confirmed number). The number must be
    unused, above the base version and at least the proposal's level (its MAJOR.MINOR.PATCH
    at least the proposed one): :class:`InvalidVersionNumber` otherwise.
    """
    require_draft(draft)
    instrument = draft.instrument
    hash_before = draft.content_hash
    if version is not None and version.strip() != draft.version:
        base = base_of(draft)
        number = check_number(
            instrument, version, above=base.version if base else None, besides=draft
        )
        definition = parse_draft(
            copy.deepcopy(draft.content) | {"version": number}, instrument, number
        )
        draft.version = number
        draft.content = definition.source
        draft.content_hash = definition.content_hash
    definition = parse_draft(draft.content, instrument, draft.version)
    if definition.content_hash != draft.content_hash:  # never expected: content and hash agree
        raise InvalidDefinition([], "the draft's content does not match its hash")
    proposal = publication_proposal(draft)
    if proposal is not None and core(draft.version) < core(proposal.version):
        raise InvalidVersionNumber(
            f"{draft.version} is too low for these changes: the {proposal.level} changes "
            f"need at least {proposal.version} ({'; '.join(proposal.reasons)})"
        )
    draft.status = VersionStatus.PUBLISHED
    draft.published_at = now or utcnow()
    latest = max(
        (v for v in instrument.versions if v.status != VersionStatus.DRAFT),
        key=lambda v: parse_version(v.version).precedence,
    )
    if latest is draft:
        instrument.title = definition.title
    db.session.flush()
    audit.record(
        AuditAction.VERSION_PUBLISHED,
        actor=actor,
        target_type=TARGET,
        target_id=draft.id,
        hash_before=hash_before,
        hash_after=draft.content_hash,
        details={
            "key": instrument.key,
            "version": draft.version,
            "from_version": draft.parent.version if draft.parent else None,
            "level": proposal.level if proposal else None,
            "reasons": proposal.reasons if proposal else [],
        },
    )
    return draft, proposal


def retire(
    version: InstrumentVersion, *, actor: User | None, now: datetime | None = None
) -> InstrumentVersion:
    """Stop a published version from being used for new studies. Studies pinned to it keep
    running; its content and data stay as they are."""
    what = f"{version.instrument.key} {version.version}"
    if version.status == VersionStatus.DRAFT:
        raise VersionIsDraft(f"{what} is a draft: discard it instead of retiring it")
    if version.status == VersionStatus.RETIRED:
        raise VersionRetired(f"{what} is retired already", version=version)
    version.status = VersionStatus.RETIRED
    version.retired_at = now or utcnow()
    db.session.flush()
    audit.record(
        AuditAction.VERSION_RETIRED,
        actor=actor,
        target_type=TARGET,
        target_id=version.id,
        hash_before=version.content_hash,
        hash_after=version.content_hash,
        details={"key": version.instrument.key, "version": version.version},
    )
    return version


def suggested_number(draft: InstrumentVersion, proposal: Proposal | None) -> str:
    """The number to offer when publishing: the draft's, or the proposal's when the changes
    need a higher one."""
    if proposal is None or core(draft.version) >= core(proposal.version):
        return draft.version
    return proposal.version
