"""`flask ...` commands: thin wrappers over the services, one commit per command."""

from __future__ import annotations

from pathlib import Path

import click
import flask_migrate
from flask import Flask, current_app
from flask.cli import AppGroup

from instruments.loader import (
    InstrumentValidationError,
    instrument_path,
    load_instrument,
    validate_file,
)
from survey.extensions import db
from survey.models import WaveStatus
from survey.services import instruments, studies
from survey.services.errors import UnknownStudy, VersionConflict

instruments_cli = AppGroup("instruments", help="Validate instrument files and load them.")
studies_cli = AppGroup("studies", help="Manage studies and their participants.")
demo_cli = AppGroup("demo", help="A ready-to-try demo study.")

DEMO_SLUG = "iemdp-demo"
DEMO_NAME = "IEM-DP demo"
DEMO_CONSENT_VERSION = "demo-1"
DEMO_CONSENT_TEXT = """\
This is a demonstration of the IEM-DP questionnaire. Nothing you answer here is used for research.

In a real study this page explains who runs the study and why, what taking part involves \
(about 15 minutes now, and again at later time points), that your answers are stored under \
a random code without your name, e-mail or IP address, who can see them, how long they are \
kept, and that you can stop at any time without any effect on your therapy.

Do you agree to take part?"""
DEMO_URGENT_HELP = (
    "This is a demo study. If you are in crisis or thinking about harming yourself, call your "
    "local emergency number now (112 in the EU, 999 in the UK, 911 in the US), or a crisis "
    "line (988 in the US, 116 123 Samaritans in the UK and Ireland)."
)


def register_cli(app: Flask) -> None:
    for group in (instruments_cli, studies_cli, demo_cli):
        app.cli.add_command(group)


def participant_link(token: str, base_url: str | None = None) -> str:
    base = base_url or current_app.config["PARTICIPANT_BASE_URL"]
    return f"{base.rstrip('/')}/p/{token}"


# -- instruments -----------------------------------------------------------------------------
@instruments_cli.command("validate")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
def validate_command(path: Path) -> None:
    """Check an instrument file; print every problem as `file: key: message`."""
    problems = validate_file(path)
    for problem in problems:
        click.echo(str(problem))
    if problems:
        click.echo(f"{path}: {len(problems)} problem{'s' if len(problems) != 1 else ''}")
        raise click.exceptions.Exit(1)
    definition = load_instrument(path)
    click.echo(
        f"{path}: valid: {definition.key} {definition.version}, {len(definition.pages())} pages, "
        f"{len(definition.items)} items, {len(definition.attention_checks)} attention checks, "
        f"sha256 {definition.content_hash}"
    )


@instruments_cli.command("load")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
def load_command(path: Path) -> None:
    """Validate an instrument file and import it as a published version."""
    try:
        definition = load_instrument(path)
    except InstrumentValidationError as error:
        for problem in error.problems:
            click.echo(str(problem), err=True)
        raise click.ClickException(
            f"{path} is not a valid instrument file ({len(error.problems)} problems); "
            "nothing was loaded"
        ) from None
    try:
        version, created = instruments.import_definition(definition)
    except VersionConflict as error:
        raise click.ClickException(f"{path}: {error}") from None
    db.session.commit()
    what = "Loaded" if created else "Already loaded (same content)"
    click.echo(f"{what}: {definition.key} {version.version}, sha256 {version.content_hash}")


# -- studies ---------------------------------------------------------------------------------
@studies_cli.command("add-participants")
@click.argument("slug")
@click.argument("count", type=click.IntRange(1, 100_000))
@click.option("--base-url", help="Start of the printed links (default: PARTICIPANT_BASE_URL).")
def add_participants_command(slug: str, count: int, base_url: str | None) -> None:
    """Add COUNT participants to the study SLUG; print their links, one per line.

    The links are shown only this once: only a hash of each is stored.
    """
    try:
        study = studies.get_study(slug)
    except UnknownStudy as error:
        raise click.ClickException(str(error)) from None
    created = studies.add_participants(study, count)
    db.session.commit()
    for _participant, token in created:
        click.echo(participant_link(token, base_url))


# -- demo ------------------------------------------------------------------------------------
@demo_cli.command("setup")
@click.option("--base-url", help="Start of the printed link (default: PARTICIPANT_BASE_URL).")
def demo_setup_command(base_url: str | None) -> None:
    """Migrate the database, load IEM-DP 1.0.0, create the demo study, print a new link.

    Safe to run again: the study is reused and a new demo participant is added.
    """
    flask_migrate.upgrade()
    try:
        definition = load_instrument(instrument_path("iemdp", "1.0.0"))
        version, _created = instruments.import_definition(definition)
    except (InstrumentValidationError, VersionConflict) as error:
        raise click.ClickException(str(error)) from None
    study = studies.find_study(DEMO_SLUG)
    if study is None:
        study = studies.create_study(
            name=DEMO_NAME,
            slug=DEMO_SLUG,
            instrument_version=version,
            consent_text=DEMO_CONSENT_TEXT,
            consent_version=DEMO_CONSENT_VERSION,
            urgent_help_note=DEMO_URGENT_HELP,
        )
        studies.add_wave(study, key="baseline", label="Baseline", status=WaveStatus.OPEN)
        studies.add_wave(study, key="week-4", label="Week 4", status=WaveStatus.CLOSED)
    _participant, token = studies.add_participant(study)
    db.session.commit()
    click.echo(f"Demo study: {study.name} ({study.slug})")
    click.echo(f"Participant link: {participant_link(token, base_url)}")
