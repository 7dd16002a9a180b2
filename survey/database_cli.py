"""`flask db grant-app-role ROLE`: the privileges of the role the web app runs as.

Added to Flask-Migrate's ``flask db`` group, next to ``flask db upgrade``: both run as the
owner of the tables (``DATABASE_URL``), the web app then as ROLE.
"""

from __future__ import annotations

import click
from flask import Flask
from flask.cli import with_appcontext

from survey.extensions import db
from survey.services import app_role


@click.command("grant-app-role")
@click.argument("role")
@click.option(
    "--apply",
    "apply_them",
    is_flag=True,
    help="Run the statements (as the DATABASE_URL role, the tables' owner); else print them.",
)
@with_appcontext
def grant_app_role_command(role: str, apply_them: bool) -> None:
    """Print (or with --apply run) the GRANTs that let ROLE run the app and nothing more:
    rows only (no TRUNCATE, ALTER, DROP, DISABLE TRIGGER). Run it again after every
    upgrade. PostgreSQL only; ROLE must exist and must not own the tables."""
    connection = db.session.connection()
    try:
        statements = app_role.grant_statements(connection, role)
    except app_role.AppRoleError as error:
        raise click.ClickException(str(error)) from None
    if not apply_them:
        for statement in statements:
            click.echo(f"{statement};")
        return
    app_role.apply_grants(connection, statements)
    db.session.commit()
    click.echo(f"Granted the app's privileges on {db.engine.url.database} to {role}.")


def register_database_cli(app: Flask) -> None:
    # Flask-Migrate.init_app has added its `db` group to app.cli (create_app runs it first).
    app.cli.commands["db"].add_command(grant_app_role_command)
