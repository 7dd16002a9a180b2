"""`flask ...` commands: thin wrappers over the services, one commit per command."""

from __future__ import annotations

from collections.abc import Callable
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
from survey import simulate_cli
from survey.api_cli import register_api_cli
from survey.auth import passwords
from survey.database_cli import register_database_cli
from survey.exports_cli import register_exports_cli
from survey.extensions import db
from survey.fhir_cli import import_fhir_command
from survey.jobs.cli import register_jobs_cli
from survey.models import Role, User, WaveStatus
from survey.services import accounts, instruments, invitations, studies, versions
from survey.services.errors import UnknownStudy, VersionConflict, VersionFrozen, VersionIsDraft
from survey.validation_cli import register_validation_cli
from survey.webhooks_cli import register_webhooks_cli

instruments_cli = AppGroup("instruments", help="Validate instrument files and load them.")
studies_cli = AppGroup("studies", help="Manage studies and their participants.")
demo_cli = AppGroup("demo", help="A ready-to-try demo study.")
users_cli = AppGroup("users", help="Staff accounts (admins and researchers).")

DEMO_SLUG = "iemdp-demo"
DEMO_IEMDP_VERSION = "1.1.0"
DEMO_NAME = "IEM-DP demo"
DEMO_CONSENT_VERSION = "demo-1"
DEMO_CONSENT_TEXT = """\
This is a demonstration of the IEM-DP questionnaire. Nothing you answer here is used for research.

In a real study this page explains who runs the study and why, what taking part involves \
(about 15 minutes now, and again at later time points), that your answers are stored under \
a random code without your name, e-mail or IP address, who can see them, how long they are \
kept, and that you can stop at any time without any effect on your therapy.

Do you agree to take part?"""
DEMO_TEAM_CONTACT = "Demo study team, researcher@demo.local (a demo address: nobody reads it)."
DEMO_ADMIN = "admin@demo.local"
DEMO_RESEARCHER = "researcher@demo.local"
DEMO_URGENT_HELP = (
    "This is a demo study. If you are in crisis or thinking about harming yourself, call your "
    "local emergency number now (112 in the EU, 999 in the UK, 911 in the US), or a crisis "
    "line (988 in the US, 116 123 Samaritans in the UK and Ireland)."
)


def register_cli(app: Flask) -> None:
    for group in (instruments_cli, studies_cli, demo_cli, users_cli):
        app.cli.add_command(group)
    register_database_cli(app)  # flask db grant-app-role
    register_exports_cli(app)  # flask exports KIND STUDY
    register_jobs_cli(app)  # flask jobs worker
    register_validation_cli(app)  # flask analysis validate STUDY
    register_api_cli(app)  # flask api create-key STUDY ...
    register_webhooks_cli(app)  # flask webhooks deliver [--once]
    demo_cli.add_command(simulate_cli.simulate_command)  # flask demo simulate
    instruments_cli.add_command(import_fhir_command)  # flask instruments import-fhir FILE


def public_base_url(base_url: str | None = None) -> str:
    """``base_url``, else the configured public base URL, else (the CLI has no request to
    take a host from) CLI_FALLBACK_BASE_URL."""
    config = current_app.config
    return base_url or config["PARTICIPANT_BASE_URL"] or config["CLI_FALLBACK_BASE_URL"]


def warn_if_fallback_base(base_url: str | None) -> None:
    """Say on stderr when printed links start with the fallback base URL."""
    config = current_app.config
    if not base_url and not config["PARTICIPANT_BASE_URL"]:
        click.echo(
            f"Links use {config['CLI_FALLBACK_BASE_URL']}: no public base URL is configured. "
            "Set SURVEY_PARTICIPANT_BASE_URL (e.g. https://survey.example.org) or pass "
            "--base-url.",
            err=True,
        )


def participant_link(token: str, base_url: str | None = None) -> str:
    return invitations.link_for(token, public_base_url(base_url))


def login_link(base_url: str | None = None) -> str:
    return f"{public_base_url(base_url).rstrip('/')}/login"


# -- users -----------------------------------------------------------------------------------
def _password_checker(email: str) -> Callable[[str], str]:
    def checked(value: str) -> str:
        # Called by click.prompt: a UsageError shows the message and asks again.
        try:
            passwords.check_policy(value, email=email)
        except passwords.WeakPassword as error:
            raise click.UsageError(str(error)) from None
        return value

    return checked


def prompt_password(email: str) -> str:
    """Ask twice with hidden input; never an option, so no password lands in shell history.

    A password the policy refuses for the account ``email`` is asked again."""
    return click.prompt(
        "Password",
        hide_input=True,
        confirmation_prompt="Repeat the password",
        value_proc=_password_checker(email),
    )


@users_cli.command("create")
@click.argument("email")
@click.option(
    "--role",
    type=click.Choice(Role.ALL),
    required=True,
    help="admin (everything) or researcher (own studies).",
)
def create_user_command(email: str, role: str) -> None:
    """Create the user EMAIL with ROLE; asks for the password (twice, hidden)."""
    try:
        email = accounts.check_email(email)
    except accounts.AccountError as error:
        raise click.ClickException(str(error)) from None
    if accounts.find_user(email) is not None:
        raise click.ClickException(
            f"a user with the e-mail address {email!r} exists "
            f"(new password: flask users set-password {email})"
        )
    password = prompt_password(email)
    try:
        user = accounts.create_user(email, password, role, via="cli")
    except (accounts.AccountError, passwords.WeakPassword) as error:
        raise click.ClickException(str(error)) from None
    db.session.commit()
    click.echo(f"Created {user.role} {user.email}.")


@users_cli.command("set-password")
@click.argument("email")
def set_password_command(email: str) -> None:
    """Give the user EMAIL a new password (asked twice, hidden); ends their sessions."""
    try:
        user = accounts.get_user(email)
    except accounts.AccountError as error:
        raise click.ClickException(str(error)) from None
    try:
        accounts.set_password(user, prompt_password(user.email), via="cli")
    except passwords.WeakPassword as error:
        raise click.ClickException(str(error)) from None
    db.session.commit()
    click.echo(f"New password set for {user.email}.")


@users_cli.command("list")
def list_users_command() -> None:
    """Print every user: e-mail, role, active or not."""
    for user in accounts.list_users():
        click.echo(f"{user.email}\t{user.role}\t{'active' if user.active else 'deactivated'}")


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
        version, created = instruments.import_definition(
            definition, actor=None, via="cli", source_name=str(path)
        )
    except VersionConflict as error:
        raise click.ClickException(f"{path}: {error}") from None
    db.session.commit()
    what = "Loaded" if created else "Already loaded (same content)"
    click.echo(f"{what}: {definition.key} {version.version}, sha256 {version.content_hash}")


def _stored_version(key: str, version: str):
    found = instruments.find_version(key, version)
    if found is None:
        raise click.ClickException(f"no instrument version {key} {version}")
    return found


@instruments_cli.command("export")
@click.argument("key")
@click.argument("version")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(versions.FORMATS),
    default="yaml",
    show_default=True,
    help="yaml: an instrument file; redcap: a REDCap data dictionary (CSV).",
)
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write to this file (default: standard output).",
)
def export_command(key: str, version: str, fmt: str, output: Path | None) -> None:
    """Export instrument KEY version VERSION (recorded in the audit log)."""
    exported = versions.export_version(_stored_version(key, version), fmt, actor=None)
    db.session.commit()
    if output is None:
        click.echo(exported.data.decode("utf-8"), nl=False)
    else:
        output.write_bytes(exported.data)
        click.echo(f"Wrote {output} ({len(exported.data)} bytes)", err=True)


@instruments_cli.command("diff")
@click.argument("key")
@click.argument("old")
@click.argument("new")
def diff_command(key: str, old: str, new: str) -> None:
    """What changed from version OLD to version NEW of instrument KEY."""
    before, after = _stored_version(key, old), _stored_version(key, new)
    click.echo(versions.diff(before, after).summary())
    identical = versions.identical_items(before, after)
    click.echo(f"identical items ({len(identical)}): {', '.join(identical) or 'none'}")


@instruments_cli.command("retire")
@click.argument("key")
@click.argument("version")
def retire_command(key: str, version: str) -> None:
    """Retire a published version: no new study can use it; running studies continue."""
    try:
        retired = versions.retire(_stored_version(key, version), actor=None)
    except (VersionFrozen, VersionIsDraft) as error:
        raise click.ClickException(str(error)) from None
    db.session.commit()
    click.echo(f"Retired {key} {retired.version}; studies using it continue.")


# -- studies ---------------------------------------------------------------------------------
# add-participants commits every this many participants, so that a large COUNT never holds
# the database's write lock (on SQLite: the whole file) for long while participants answer.
PARTICIPANTS_PER_COMMIT = 500


@studies_cli.command("add-participants")
@click.argument("slug")
@click.argument("count", type=click.IntRange(1, 100_000))
@click.option(
    "--base-url",
    help="Start of the printed links (default: the configured SURVEY_PARTICIPANT_BASE_URL, "
    "else http://localhost:5000).",
)
def add_participants_command(slug: str, count: int, base_url: str | None) -> None:
    """Add COUNT participants to the study SLUG; print their links, one per line.

    The links are shown only this once: only a hash of each is stored. Participants are
    committed in batches of 500, each batch's links printed once it is stored: if the
    command is interrupted, every printed link works.
    """
    try:
        study = studies.get_study(slug)
    except UnknownStudy as error:
        raise click.ClickException(str(error)) from None
    warn_if_fallback_base(base_url)
    remaining = count
    while remaining:
        batch = min(remaining, PARTICIPANTS_PER_COMMIT)
        created = studies.add_participants(study, batch)
        db.session.commit()  # one commit per batch (see PARTICIPANTS_PER_COMMIT)
        for _participant, token in created:
            click.echo(participant_link(token, base_url))
        remaining -= batch


# -- demo ------------------------------------------------------------------------------------
@demo_cli.command("setup")
@click.option("--base-url", help="Start of the printed link (default: PARTICIPANT_BASE_URL).")
@click.option(
    "--iemdp-version",
    default=DEMO_IEMDP_VERSION,
    show_default=True,
    help="The IEM-DP version of a new demo study (1.0.0 has no participant page titles).",
)
def demo_setup_command(base_url: str | None, iemdp_version: str) -> None:
    """Migrate the database, load IEM-DP (1.1.0 unless told), create the demo study, print
    a new link.

    Also creates the demo accounts admin@demo.local and researcher@demo.local (the demo
    study's owner) with generated passwords, printed this once. Safe to run again: the
    study and the accounts are reused and a new demo participant is added.
    """
    flask_migrate.upgrade()
    demo_users = {
        role: _demo_user(email, role)
        for email, role in ((DEMO_ADMIN, Role.ADMIN), (DEMO_RESEARCHER, Role.RESEARCHER))
    }
    researcher = demo_users[Role.RESEARCHER][0]
    try:
        # 1.1.0: the items of 1.0.0 with participant page titles (1.0.0 stays loadable).
        path = instrument_path("iemdp", iemdp_version)
        parts = iemdp_version.split(".")
        semver = len(parts) == 3 and all(part.isascii() and part.isdigit() for part in parts)
        if not semver or not path.is_file():
            raise click.BadParameter(
                f"no IEM-DP {iemdp_version!r} at {path}", param_hint="--iemdp-version"
            )
        version, _created = instruments.import_definition(
            load_instrument(path), actor=None, via="demo setup", source_name=str(path)
        )
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
            team_contact=DEMO_TEAM_CONTACT,
            owner=researcher,
        )
        # Baseline opens at enrolment; week 4 four weeks later, for two weeks.
        studies.add_wave(
            study, key="baseline", label="Baseline", status=WaveStatus.OPEN, offset_days=0
        )
        studies.add_wave(
            study,
            key="week-4",
            label="Week 4",
            status=WaveStatus.OPEN,
            offset_days=28,
            window_days=14,
        )
    elif study.owner is None:
        study.owner = researcher
    _participant, token = studies.add_participant(study)
    db.session.commit()
    click.echo(f"Demo study: {study.name} ({study.slug})")
    click.echo(f"Participant link: {participant_link(token, base_url)}")
    for role, label in ((Role.ADMIN, "Admin"), (Role.RESEARCHER, "Researcher")):
        user, password = demo_users[role]
        if password is not None:
            click.echo(f"{label} login: {login_link(base_url)}  {user.email} / {password}")
        else:
            click.echo(
                f"{label} login: {login_link(base_url)}  {user.email} exists already (its "
                f"password was printed when it was created; to set a new one: "
                f"flask users set-password {user.email})"
            )


def _demo_user(email: str, role: str) -> tuple[User, str | None]:
    """The demo account, created with a generated password (returned) when missing."""
    user = accounts.find_user(email)
    if user is not None:
        return user, None
    password = passwords.generate_password()
    return accounts.create_user(email, password, role, via="demo setup"), password
