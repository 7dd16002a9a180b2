"""``flask instruments import-fhir FILE [--key KEY]``: a FHIR Questionnaire (JSON) as a
draft instrument version (rules in :mod:`survey.services.fhir.importer`)."""

from __future__ import annotations

from pathlib import Path

import click
from flask.cli import with_appcontext

from survey.extensions import db
from survey.services import fhir
from survey.services.errors import InvalidDefinition, UploadTooLarge, VersionConflict
from survey.services.fhir.importer import MAX_BYTES


@click.command("import-fhir")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--key",
    help="The instrument's key (default: the last part of the Questionnaire's url, else its "
    "name in lower case).",
)
@with_appcontext
def import_fhir_command(file: Path, key: str | None) -> None:
    """Import a simple single-choice FHIR R4 Questionnaire (JSON) as a draft version.

    Every problem is printed on standard error as `file: linkId '...': message`, and
    nothing is imported unless the whole questionnaire is accepted (exit 1).
    """
    size = file.stat().st_size
    if size > MAX_BYTES:
        raise click.ClickException(f"{file}: {UploadTooLarge(size, MAX_BYTES)}")
    try:
        version, created = fhir.import_questionnaire(
            file.read_bytes(), key=key, actor=None, via="cli", source_name=str(file)
        )
    except InvalidDefinition as error:
        for problem in error.problems:
            click.echo(str(problem), err=True)
        count = len(error.problems)
        raise click.ClickException(
            f"{file} is not a questionnaire this platform can import ({count} problem"
            f"{'' if count == 1 else 's'}); nothing was imported"
        ) from None
    except VersionConflict as error:
        raise click.ClickException(f"{file}: {error}") from None
    db.session.commit()
    what = "Imported as a draft" if created else f"Already imported ({version.status})"
    click.echo(
        f"{what}: {version.instrument.key} {version.version} (version id {version.id}), "
        f"sha256 {version.content_hash}"
    )
