"""The lifecycle of instrument versions: draft -> published -> retired.

What "``iemdp`` 1.0.0" means must never change, while the instrument keeps improving:

- **Drafts** are copies ("new version from this one") or imports. They are edited here,
  field by field or as a whole YAML text. *Every saved draft is valid*: an edit is checked
  by the instrument loader (:func:`instruments.loader.parse_definition`) and refused whole,
  with every problem listed, when the result would not load. So a draft always has a
  content hash, can be diffed, exported and previewed; work in progress that needs several
  invalid steps (a new subconstruct needs three items at once) goes through the YAML editor.
- **Publishing** re-validates the draft, compares it with the version it came from
  (:func:`instruments.versioning.propose_next_version`) and freezes it with the SHA-256 of
  its canonical form. The proposal is a *floor*: the admin may confirm it or choose a higher
  unused number, never a lower one, so a patch number always means "scores comparable".
  A draft with no change against its parent is not published (:class:`NoChanges`).
- **Published and retired versions never change.** This module refuses
  (:class:`VersionPublished`, :class:`VersionRetired`), an ORM guard in
  :mod:`survey.models.instrument` refuses any flush that would, and database triggers
  (migration 0003) refuse raw SQL.
- **Retiring** only stops a version from being chosen for *new* studies
  (:func:`usable_for_new_study`). Studies already pinned to it keep running and collecting,
  and their data stay untouched: stopping a running study mid-wave is the researcher's
  decision (close the study), not a side effect of instrument maintenance.
- **Import and export** use the YAML format of ``instruments/`` and a REDCap data
  dictionary. An upload is accepted whole or not at all; an existing key+version is
  returned unchanged when the content is identical and refused otherwise.

Every change is recorded in the audit log (:func:`survey.services.audit.record`) with the
content hash before and after. Functions flush, never commit.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import select

from instruments.definition import InstrumentDefinition
from instruments.diff import InstrumentDiff, diff_versions
from instruments.diff import identical_items as _identical_items
from instruments.loader import (
    InstrumentValidationError,
    Problem,
    load_instrument_text,
    parse_definition,
)
from instruments.redcap import MAX_CSV_BYTES, from_redcap_csv, to_redcap_csv
from instruments.serialize import to_yaml
from instruments.versioning import LEVELS, Proposal, bump, parse_version, propose_next_version
from survey.extensions import db
from survey.models import AuditAction, Instrument, InstrumentVersion, User, VersionStatus, utcnow
from survey.services import audit
from survey.services.errors import (
    DraftChanged,
    InvalidDefinition,
    InvalidVersionNumber,
    NoChanges,
    UploadTooLarge,
    VersionIsDraft,
    VersionNotPublished,
    VersionPublished,
    VersionRetired,
)
from survey.services.instruments import definition_of, import_definition

__all__ = [
    "FORMATS",
    "MAX_UPLOAD_BYTES",
    "Export",
    "add_item",
    "create_draft_from",
    "diff",
    "discard_draft",
    "edit_attention_check",
    "edit_item",
    "edit_metadata",
    "edit_response_scale",
    "entry_path",
    "export_version",
    "find_instrument",
    "get_version",
    "identical_items",
    "import_version",
    "list_instruments",
    "number_choices",
    "publication_proposal",
    "publish",
    "remove_item",
    "replace_with_yaml",
    "require_usable_for_new_study",
    "retire",
    "update_draft",
    "usable_for_new_study",
    "versions_of",
]

Format = Literal["yaml", "redcap"]
FORMATS: tuple[Format, ...] = ("yaml", "redcap")
# One limit for every upload, checked before anything is parsed (REDCap's own limit; the
# YAML loader refuses files over 1 MB with its own message).
MAX_UPLOAD_BYTES = MAX_CSV_BYTES
TARGET = "instrument_version"
DRAFT_DISCARDED = "draft_discarded"


@dataclass(frozen=True)
class Export:
    """A file to download: its name, media type and bytes."""

    filename: str
    mimetype: str
    data: bytes


# --------------------------------------------------------------------------------------
# queries
# --------------------------------------------------------------------------------------
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


# --------------------------------------------------------------------------------------
# version numbers
# --------------------------------------------------------------------------------------
def _taken(
    instrument: Instrument, number: str, *, besides: InstrumentVersion | None = None
) -> bool:
    return any(v.version == number and v is not besides for v in instrument.versions)


def _next_free(instrument: Instrument, base: str, level: str) -> str:
    number = bump(base, level)
    while _taken(instrument, number):
        number = bump(number, level)
    return number


def number_choices(version: InstrumentVersion) -> list[tuple[str, str]]:
    """``(level, number)`` for a new version from ``version``: the next unused number at
    each level (patch, minor, major)."""
    return [(level, _next_free(version.instrument, version.version, level)) for level in LEVELS]


def _level_between(base: str, number: str) -> str:
    old, new = parse_version(base), parse_version(number)
    if new.major != old.major:
        return "major"
    if new.minor != old.minor:
        return "minor"
    return "patch"


def _check_number(
    instrument: Instrument,
    number: str,
    *,
    above: str | None,
    besides: InstrumentVersion | None = None,
) -> str:
    """``number`` stripped, if it is a well-formed, unused version above ``above``."""
    number = (number or "").strip()
    try:
        parsed = parse_version(number)
    except ValueError as error:
        raise InvalidVersionNumber(str(error)) from None
    if _taken(instrument, number, besides=besides):
        raise InvalidVersionNumber(f"{instrument.key} {number} exists already; choose another")
    if above is not None and not parsed > parse_version(above):
        raise InvalidVersionNumber(
            f"{number} is not above {above}, the version this one is made from"
        )
    return number


def _core(number: str) -> tuple[int, int, int]:
    v = parse_version(number)
    return v.major, v.minor, v.patch


# --------------------------------------------------------------------------------------
# drafts
# --------------------------------------------------------------------------------------
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
        number = _next_free(instrument, version.version, level)
    else:
        number = _check_number(instrument, new_version, above=version.version)
        level = _level_between(version.version, number)
    definition = _parse(copy.deepcopy(version.content) | {"version": number}, instrument, number)
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
    definition = _parse(mapping, draft.instrument, draft.version)
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


def _source_name(key: str, number: str) -> str:
    return f"draft {key} {number}"


def _parse(mapping: Any, instrument: Instrument, number: str) -> InstrumentDefinition:
    """Validate ``mapping`` as version ``number`` of ``instrument``; every problem at once."""
    name = _source_name(instrument.key, number)
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


def _edit(
    draft: InstrumentVersion,
    change: Callable[[dict[str, Any]], None],
    *,
    actor: User | None,
    expected_hash: str | None,
    edit: str,
) -> bool:
    require_draft(draft)
    mapping = copy.deepcopy(draft.content)
    change(mapping)
    return update_draft(draft, mapping, actor=actor, expected_hash=expected_hash, edit=edit)


def entry_path(content: dict[str, Any], entry_id: str) -> str | None:
    """The dotted key of an item or attention check in ``content`` (as problems name it),
    e.g. ``constructs[0].subconstructs[1].items[2]``; None if there is no such entry."""
    for c, construct in enumerate(content.get("constructs", ())):
        for s, sub in enumerate(construct.get("subconstructs", ())):
            for i, item in enumerate(sub.get("items", ())):
                if item.get("id") == entry_id:
                    return f"constructs[{c}].subconstructs[{s}].items[{i}]"
    for index, check in enumerate(content.get("attention_checks", ())):
        if check.get("id") == entry_id:
            return f"attention_checks[{index}]"
    return None


def _find_item(mapping: dict[str, Any], item_id: str) -> tuple[list[dict[str, Any]], int]:
    for construct in mapping["constructs"]:
        for sub in construct["subconstructs"]:
            for index, item in enumerate(sub["items"]):
                if item["id"] == item_id:
                    return sub["items"], index
    raise KeyError(item_id)


def edit_metadata(
    draft: InstrumentVersion,
    *,
    title: str,
    citation: str,
    intro: str,
    shuffle_items: bool,
    actor: User | None,
    expected_hash: str | None = None,
) -> bool:
    def change(mapping: dict[str, Any]) -> None:
        mapping.update(title=title, citation=citation, intro=intro, shuffle_items=shuffle_items)

    return _edit(draft, change, actor=actor, expected_hash=expected_hash, edit="metadata")


def edit_item(
    draft: InstrumentVersion,
    item_id: str,
    *,
    text: str,
    reverse: bool,
    optional: bool,
    position: int | None = None,
    actor: User | None,
    expected_hash: str | None = None,
) -> bool:
    """Change an item's text, keying, optional flag and (1-based) position within its
    subconstruct. Raises ``KeyError`` for an unknown item."""

    def change(mapping: dict[str, Any]) -> None:
        items, index = _find_item(mapping, item_id)
        item = items[index]
        item.update(text=text, reverse=reverse, optional=optional)
        if position is not None:
            items.pop(index)
            items.insert(min(max(position, 1), len(items) + 1) - 1, item)

    return _edit(draft, change, actor=actor, expected_hash=expected_hash, edit=f"item {item_id}")


def _used_numbers(instrument: Instrument, subconstruct: str) -> set[int]:
    """Item numbers of ``subconstruct`` used in any version of the instrument: a new item
    never reuses the id of an item removed earlier (ids mean one item forever)."""
    prefix = f"{subconstruct}_"
    numbers = set()
    for version in instrument.versions:
        for construct in version.content.get("constructs", ()):
            for sub in construct.get("subconstructs", ()):
                for item in sub.get("items", ()):
                    suffix = str(item.get("id", "")).removeprefix(prefix)
                    if str(item.get("id", "")).startswith(prefix) and suffix.isdigit():
                        numbers.add(int(suffix))
    return numbers


def add_item(
    draft: InstrumentVersion,
    subconstruct: str,
    *,
    text: str,
    reverse: bool,
    optional: bool = False,
    actor: User | None,
    expected_hash: str | None = None,
) -> str:
    """Append a new item to ``subconstruct`` and return its id (``<SUBCODE>_<n>``, ``n``
    never used in this instrument). It takes its construct's response scale."""
    require_draft(draft)
    new_id = f"{subconstruct}_{max(_used_numbers(draft.instrument, subconstruct), default=0) + 1}"

    def change(mapping: dict[str, Any]) -> None:
        for construct in mapping["constructs"]:
            for sub in construct["subconstructs"]:
                if sub["code"] == subconstruct:
                    scales = [i["scale"] for s in construct["subconstructs"] for i in s["items"]]
                    scale = scales[0] if scales else next(iter(mapping["response_scales"]))
                    sub["items"].append(
                        {
                            "id": new_id,
                            "text": text,
                            "reverse": reverse,
                            "scale": scale,
                            "optional": optional,
                        }
                    )
                    return
        raise KeyError(subconstruct)

    _edit(draft, change, actor=actor, expected_hash=expected_hash, edit=f"item {new_id} added")
    return new_id


def remove_item(
    draft: InstrumentVersion,
    item_id: str,
    *,
    actor: User | None,
    expected_hash: str | None = None,
) -> bool:
    def change(mapping: dict[str, Any]) -> None:
        items, index = _find_item(mapping, item_id)
        items.pop(index)

    return _edit(
        draft, change, actor=actor, expected_hash=expected_hash, edit=f"item {item_id} removed"
    )


def edit_attention_check(
    draft: InstrumentVersion,
    check_id: str,
    *,
    text: str,
    expected: int,
    page: str,
    position: int,
    optional: bool,
    actor: User | None,
    expected_hash: str | None = None,
) -> bool:
    def change(mapping: dict[str, Any]) -> None:
        for check in mapping.get("attention_checks", ()):
            if check["id"] == check_id:
                check.update(
                    text=text, expected=expected, page=page, position=position, optional=optional
                )
                return
        raise KeyError(check_id)

    return _edit(
        draft, change, actor=actor, expected_hash=expected_hash, edit=f"attention check {check_id}"
    )


def edit_response_scale(
    draft: InstrumentVersion,
    scale: str,
    options: Iterable[tuple[int, str]],
    *,
    actor: User | None,
    expected_hash: str | None = None,
) -> bool:
    """Replace the options of response scale ``scale`` with ``(value, label)`` pairs."""
    options = list(options)

    def change(mapping: dict[str, Any]) -> None:
        if scale not in mapping["response_scales"]:
            raise KeyError(scale)
        mapping["response_scales"][scale] = [
            {"value": value, "label": label} for value, label in options
        ]

    return _edit(draft, change, actor=actor, expected_hash=expected_hash, edit=f"scale {scale}")


def replace_with_yaml(
    draft: InstrumentVersion,
    text: str,
    *,
    actor: User | None,
    expected_hash: str | None = None,
) -> bool:
    """Replace the whole draft with an instrument file's text (structural edits: constructs,
    subconstructs, moves). Everything the loader reads is checked, including duplicate keys
    and booleans spelled ``yes``/``no``, which a parsed mapping no longer shows."""
    require_draft(draft)
    name = _source_name(draft.instrument.key, draft.version)
    try:
        definition = load_instrument_text(text, name)
    except InstrumentValidationError as error:
        raise InvalidDefinition(error.problems) from None
    return update_draft(
        draft, definition.source, actor=actor, expected_hash=expected_hash, edit="yaml"
    )


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


# --------------------------------------------------------------------------------------
# publishing and retiring
# --------------------------------------------------------------------------------------
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
    number = _next_free(draft.instrument, base.version, proposal.level)
    if _taken(draft.instrument, proposal.version, besides=draft) and number != proposal.version:
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
        number = _check_number(
            instrument, version, above=base.version if base else None, besides=draft
        )
        definition = _parse(copy.deepcopy(draft.content) | {"version": number}, instrument, number)
        draft.version = number
        draft.content = definition.source
        draft.content_hash = definition.content_hash
    definition = _parse(draft.content, instrument, draft.version)
    if definition.content_hash != draft.content_hash:  # never expected: content and hash agree
        raise InvalidDefinition([], "the draft's content does not match its hash")
    proposal = publication_proposal(draft)
    if proposal is not None and _core(draft.version) < _core(proposal.version):
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


# --------------------------------------------------------------------------------------
# import and export
# --------------------------------------------------------------------------------------
def read_definition(
    data: str | bytes,
    *,
    fmt: str,
    source_name: str,
    max_bytes: int = MAX_UPLOAD_BYTES,
) -> InstrumentDefinition:
    """Parse an upload (size first, then encoding, syntax and content). Raises
    :class:`UploadTooLarge` or :class:`InvalidDefinition` with every problem."""
    size = len(data.encode("utf-8", "surrogatepass") if isinstance(data, str) else data)
    if size > max_bytes:
        raise UploadTooLarge(size, max_bytes)
    try:
        if fmt == "yaml":
            return load_instrument_text(_decode(data, source_name), source_name)
        if fmt == "redcap":
            return from_redcap_csv(data, source_name=source_name)
    except InstrumentValidationError as error:
        raise InvalidDefinition(error.problems) from None
    raise ValueError(f"unknown format {fmt!r}: choose one of {', '.join(FORMATS)}")


def _decode(data: str | bytes, name: str) -> str:
    if isinstance(data, str):
        return data.removeprefix("\ufeff")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        message = (
            f"not valid UTF-8 (byte 0x{data[error.start]:02x} at offset {error.start}); "
            "save the file as UTF-8"
        )
        raise InstrumentValidationError([Problem(name, "", message)]) from None


def import_version(
    data: str | bytes,
    *,
    fmt: str,
    actor: User | None,
    source_name: str = "upload",
    publish: bool = False,
    now: datetime | None = None,
) -> tuple[InstrumentVersion, bool]:
    """Import an instrument file (``fmt="yaml"``) or REDCap data dictionary
    (``fmt="redcap"``) as a draft, or as a published version with ``publish=True``.

    Returns the version and whether it is new. The same key and version with the same
    content returns the stored version and changes nothing; with other content it raises
    :class:`VersionConflict`. Nothing is stored unless the whole upload is valid.
    """
    definition = read_definition(data, fmt=fmt, source_name=source_name)
    return import_definition(
        definition,
        actor=actor,
        via="web",
        publish=publish,
        fmt=fmt,
        source_name=source_name,
        now=now,
    )


def export_version(
    version: InstrumentVersion, fmt: str, *, actor: User | None = None, record: bool = True
) -> Export:
    """The version as an instrument file (``yaml``) or REDCap data dictionary (``redcap``),
    recorded in the audit log as downloaded by ``actor`` unless ``record`` is false."""
    definition = definition_of(version)
    stem = f"{definition.key}-{definition.version}"
    if version.status == VersionStatus.DRAFT:
        stem += "-draft"
    if fmt == "yaml":
        export = Export(f"{stem}.yaml", "application/yaml", to_yaml(definition).encode("utf-8"))
    elif fmt == "redcap":
        export = Export(f"{stem}-redcap.csv", "text/csv", to_redcap_csv(definition).encode("utf-8"))
    else:
        raise ValueError(f"unknown format {fmt!r}: choose one of {', '.join(FORMATS)}")
    if record:
        audit.record(
            AuditAction.EXPORT_DOWNLOADED,
            actor=actor,
            target_type=TARGET,
            target_id=version.id,
            hash_before=version.content_hash,
            hash_after=version.content_hash,
            details={"key": definition.key, "version": definition.version, "format": fmt},
        )
    return export
