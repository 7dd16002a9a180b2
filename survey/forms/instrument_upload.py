"""Uploading an instrument file (YAML, a REDCap data dictionary or a FHIR Questionnaire): the
form fields and the one way both import pages (admin console, research area) turn a
submitted form into an imported version or messages next to its fields."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import RadioField, SelectChoice

from survey.models import InstrumentVersion, User
from survey.services import versions
from survey.services.errors import InvalidDefinition, UploadTooLarge, VersionConflict
from survey.uploads import read_upload


class InstrumentFileForm(FlaskForm):
    file = FileField("File", validators=[FileRequired("Choose a file to import.")])
    format = RadioField(
        "Format",
        choices=[
            SelectChoice("auto", "Detect from the file name (.yaml / .yml, .csv or .json)"),
            SelectChoice("yaml", "Instrument file (YAML)"),
            SelectChoice("redcap", "REDCap data dictionary (CSV)"),
            SelectChoice("fhir", "FHIR R4 Questionnaire (JSON; single-choice items)"),
        ],
        default="auto",
    )


@dataclass
class ImportOutcome:
    """The imported version (None when refused; the reasons are then on the form's fields)
    and the problems found in the file, one line each (file, key or line, message)."""

    version: InstrumentVersion | None = None
    created: bool = False
    problems: list[str] = field(default_factory=list)
    too_large: bool = False


def import_from_form(form: InstrumentFileForm, *, actor: User, publish: bool) -> ImportOutcome:
    """Import the form's file (the caller validated the form and commits on success)."""
    outcome = ImportOutcome()
    storage = form.file.data
    filename = os.path.basename(storage.filename or "upload")
    data, size = read_upload(storage, versions.MAX_UPLOAD_BYTES)
    fmt = versions.format_of(form.format.data or "auto", filename)
    if data is None:
        form.file.errors = [str(UploadTooLarge(size, versions.MAX_UPLOAD_BYTES))]
        outcome.too_large = True
        return outcome
    if fmt is None:
        form.format.errors = [f"Cannot tell the format from the name {filename!r}: choose it here."]
        return outcome
    try:
        outcome.version, outcome.created = versions.import_version(
            data, fmt=fmt, actor=actor, source_name=filename, publish=publish
        )
    except InvalidDefinition as error:
        outcome.problems = [str(problem) for problem in error.problems]
        count = len(outcome.problems)
        form.file.errors = [
            f"{count} problem{'s' if count != 1 else ''} in the file (listed above); "
            "nothing was imported."
        ]
    except UploadTooLarge as error:
        form.file.errors = [str(error)]
        outcome.too_large = True
    except VersionConflict as error:
        form.file.errors = [str(error)]
    return outcome
