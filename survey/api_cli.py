"""``flask api ...``: a study's API keys (and the API's other operations)."""

from __future__ import annotations

from flask import Flask
from flask.cli import AppGroup

api_cli = AppGroup("api", help="The JSON API for therapy platforms: keys and webhooks.")


def register_api_cli(app: Flask) -> None:
    app.cli.add_command(api_cli)
