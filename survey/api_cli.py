"""``flask api ...``: a study's API keys (and the API's other operations).

* ``flask api create-key STUDY --scopes enrol,deliver,outcomes,read [--name NAME]
  [--rate-limit N]``: a new key; a line saying its prefix, scopes and limit, then the key
  alone on the last line of standard output (``... | tail -1``). It is shown only this
  once: only its hash is stored.
* ``flask api keys STUDY``: the study's keys (id, prefix, name, scopes, limit, created,
  last used, revoked), newest first.
* ``flask api revoke-key STUDY KEY_ID``: the key stops working.

Errors (no such study, an unknown scope, a bad name or limit, a key of another study)
exit with status 1 and a message naming the problem; nothing is stored then.
"""

from __future__ import annotations

from datetime import datetime

import click
from flask import Flask
from flask.cli import AppGroup

from survey.extensions import db
from survey.models import ApiScope, Study
from survey.services import api_keys, studies
from survey.services.api_keys import DEFAULT_RATE_LIMIT_PER_MINUTE, ApiKeyError
from survey.services.errors import UnknownStudy

api_cli = AppGroup("api", help="The JSON API for therapy platforms: keys and webhooks.")

DEFAULT_KEY_NAME = "command line"


def register_api_cli(app: Flask) -> None:
    app.cli.add_command(api_cli)


def _study(slug: str) -> Study:
    try:
        return studies.get_study(slug)
    except UnknownStudy as error:
        raise click.ClickException(str(error)) from None


def _when(moment: datetime | None) -> str:
    return "-" if moment is None else f"{moment:%Y-%m-%d %H:%M}"


@api_cli.command("create-key")
@click.argument("slug", metavar="STUDY")
@click.option(
    "--scopes",
    required=True,
    help=f"What the key may do, comma-separated: {', '.join(ApiScope.ALL)}.",
)
@click.option("--name", default=DEFAULT_KEY_NAME, show_default=True, help="What uses the key.")
@click.option(
    "--rate-limit",
    type=int,
    default=DEFAULT_RATE_LIMIT_PER_MINUTE,
    show_default=True,
    help="Requests a minute the key may make (1 to 100000).",
)
def create_key_command(slug: str, scopes: str, name: str, rate_limit: int) -> None:
    """Make an API key for the study STUDY (its slug) and print it on the last line.

    The key is shown only this once (only its hash is stored): e.g.
    ``KEY=$(flask api create-key my-study --scopes enrol,read | tail -1)``.
    """
    study = _study(slug)
    try:
        api_key, key = api_keys.create_key(
            study, name=name, scopes=scopes, actor=None, rate_limit_per_minute=rate_limit
        )
    except ApiKeyError as error:
        db.session.rollback()
        option = {"rate_limit": "--rate-limit"}.get(error.field or "", f"--{error.field}")
        raise click.ClickException(f"{option}: {error}") from None
    db.session.commit()
    click.echo(
        f"API key {api_key.id} ({api_key.prefix}…) for study {study.slug}: scopes "
        f"{api_key.scopes}, {api_key.rate_limit_per_minute} requests a minute. "
        "It is shown only this once; send it as 'Authorization: Bearer <key>':"
    )
    click.echo(key)


@api_cli.command("keys")
@click.argument("slug", metavar="STUDY")
def keys_command(slug: str) -> None:
    """List the API keys of the study STUDY (revoked ones included), newest first."""
    study = _study(slug)
    keys = api_keys.keys_of(study)
    if not keys:
        click.echo(f"study {study.slug} has no API keys", err=True)
        return
    click.echo("id\tprefix\tname\tscopes\tper_minute\tcreated\tlast_used\trevoked")
    for api_key in keys:
        click.echo(
            "\t".join(
                [
                    str(api_key.id),
                    f"{api_key.prefix}…",
                    api_key.name,
                    api_key.scopes,
                    str(api_key.rate_limit_per_minute),
                    _when(api_key.created_at),
                    _when(api_key.last_used_at),
                    _when(api_key.revoked_at),
                ]
            )
        )


@api_cli.command("revoke-key")
@click.argument("slug", metavar="STUDY")
@click.argument("key_id", type=int)
def revoke_key_command(slug: str, key_id: int) -> None:
    """Revoke the API key KEY_ID of the study STUDY: it stops working at once."""
    study = _study(slug)
    api_key = api_keys.key_of(study, key_id)
    if api_key is None:
        raise click.ClickException(f"study {study.slug} has no API key {key_id}")
    if not api_keys.revoke(api_key, actor=None):
        click.echo(f"API key {key_id} ({api_key.prefix}…) was revoked already", err=True)
        return
    db.session.commit()
    click.echo(f"API key {key_id} ({api_key.prefix}…) of study {study.slug} revoked")
