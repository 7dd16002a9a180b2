"""Import and export: the YAML instrument file and the REDCap data dictionary; import of a
FHIR R4 Questionnaire (:mod:`survey.services.fhir.importer`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from instruments.definition import InstrumentDefinition
from instruments.loader import (
    InstrumentValidationError,
    Problem,
    load_instrument_text,
)
from instruments.redcap import MAX_CSV_BYTES, from_redcap_csv, to_redcap_csv
from instruments.serialize import to_yaml
from instruments.text_encoding import UndecodableText, byte_size, decode_text
from survey.models import AuditAction, InstrumentVersion, User, VersionStatus
from survey.services import audit
from survey.services.errors import (
    InvalidDefinition,
    UploadTooLarge,
)
from survey.services.fhir.importer import questionnaire_definition
from survey.services.instruments import TARGET, definition_of, import_definition

Format = Literal["yaml", "redcap"]
FORMATS: tuple[Format, ...] = ("yaml", "redcap")
# What an upload may be: the export formats and a FHIR Questionnaire (JSON), import only.
IMPORT_FORMATS: tuple[str, ...] = (*FORMATS, "fhir")
# One limit for every upload, checked before anything is parsed (REDCap's own limit; the
# YAML loader refuses files over 1 MB with its own message).
MAX_UPLOAD_BYTES = MAX_CSV_BYTES


@dataclass(frozen=True)
class Export:
    """A file to download: its name, media type and bytes."""

    filename: str
    mimetype: str
    data: bytes


def read_definition(
    data: str | bytes,
    *,
    fmt: str,
    source_name: str,
    max_bytes: int = MAX_UPLOAD_BYTES,
) -> InstrumentDefinition:
    """Parse an upload (size first, then encoding, syntax and content). Raises
    :class:`UploadTooLarge` or :class:`InvalidDefinition` with every problem."""
    size = byte_size(data)
    if size > max_bytes:
        raise UploadTooLarge(size, max_bytes)
    try:
        if fmt == "yaml":
            return load_instrument_text(_decode(data, source_name, max_bytes), source_name)
        if fmt == "redcap":
            return from_redcap_csv(data, source_name=source_name)
        if fmt == "fhir":
            return questionnaire_definition(data, source_name=source_name)
    except InstrumentValidationError as error:
        raise InvalidDefinition(error.problems) from None
    raise ValueError(f"unknown format {fmt!r}: choose one of {', '.join(IMPORT_FORMATS)}")


def _decode(data: str | bytes, name: str, limit: int) -> str:
    try:
        return decode_text(data, limit=limit, advice="save the file as UTF-8")
    except UndecodableText as error:
        raise InstrumentValidationError([Problem(name, "", str(error))]) from None


def import_version(
    data: str | bytes,
    *,
    fmt: str,
    actor: User | None,
    source_name: str = "upload",
    publish: bool = False,
    now: datetime | None = None,
) -> tuple[InstrumentVersion, bool]:
    """Import an instrument file (``fmt="yaml"``), REDCap data dictionary
    (``fmt="redcap"``) or FHIR Questionnaire (``fmt="fhir"``) as a draft, or as a
    published version with ``publish=True``.

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


def format_of(choice: str, filename: str) -> str | None:
    """The upload's format: ``choice`` when it names one, else the file name's extension
    (``.yaml``/``.yml``, ``.csv``, ``.json`` for a FHIR Questionnaire); None when neither
    tells."""
    if choice in IMPORT_FORMATS:
        return choice
    name = filename.lower()
    if name.endswith((".yaml", ".yml")):
        return "yaml"
    if name.endswith(".csv"):
        return "redcap"
    if name.endswith(".json"):
        return "fhir"
    return None
