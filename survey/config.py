"""Configuration classes.

Nothing here reads the environment at import time: :func:`survey.create_app` loads a class,
then (unless the class says otherwise) the environment, then an explicit mapping.

Environment variables read by ``create_app``:

``SURVEY_<NAME>``
    any configuration key ``<NAME>`` (values are parsed as JSON when possible, as Flask's
    :meth:`~flask.Config.from_prefixed_env` does), e.g. ``SURVEY_PARTICIPANT_BASE_URL``.
``DATABASE_URL``
    the database, e.g. ``postgresql+psycopg://user@host/db`` (``postgres://`` and
    ``postgresql://`` are read as psycopg 3 URLs).
``SECRET_KEY``
    the key signing sessions and CSRF tokens. Without it, the development default is a
    random key generated once and kept in ``instance/secret_key``.
"""

from __future__ import annotations

from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parent.parent


class Config:
    """Defaults shared by every configuration."""

    # Read SURVEY_*, DATABASE_URL and SECRET_KEY from the environment in create_app.
    READ_ENVIRONMENT = True

    SECRET_KEY: str | None = None
    # Name of the file under the instance folder that keeps a generated secret key.
    SECRET_KEY_FILE = "secret_key"

    # None: a SQLite file in the instance folder (see SQLITE_FILE).
    SQLALCHEMY_DATABASE_URI: str | None = None
    SQLITE_FILE = "survey.sqlite3"
    SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True}

    MIGRATIONS_DIR = str(PROJECT_DIR / "migrations")

    # Participant pages are reached by a secret link: keep cookies first-party and
    # out of scripts.
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    # A participant may leave a page open for a long break; the form must still submit.
    WTF_CSRF_TIME_LIMIT = 12 * 3600

    # Where printed participant links point (CLI); no trailing slash.
    PARTICIPANT_BASE_URL = "http://127.0.0.1:5000"
    # Shown on pages where no study is known (unknown link, errors).
    URGENT_HELP_NOTE = (
        "If you are in danger or thinking about harming yourself, call your local emergency "
        "number now, or go to the nearest emergency department."
    )


class DevelopmentConfig(Config):
    """The default: a SQLite file at ``instance/survey.sqlite3`` (WAL mode)."""


class TestConfig(Config):
    """For the test suite: deterministic, no environment, CSRF off unless a test turns it on."""

    READ_ENVIRONMENT = False
    TESTING = True
    SECRET_KEY = "test-secret-key"
    SQLALCHEMY_DATABASE_URI = "sqlite://"
    WTF_CSRF_ENABLED = False
    PARTICIPANT_BASE_URL = "http://localhost"
