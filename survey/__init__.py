"""The survey application: participants answer validated instruments through token links."""

from __future__ import annotations

import os
from collections.abc import Mapping
from functools import partial
from pathlib import Path
from typing import Any

from flask import Flask
from sqlalchemy import event

from survey.auth.rate_limits import storage_uri
from survey.config import DevelopmentConfig, ProductionConfig, TestConfig
from survey.extensions import csrf, db, limiter, migrate
from survey.headers import init_headers
from survey.instance import create_private_file, make_private_directory, secret_key, sqlite_file
from survey.jobs import init_app as init_jobs
from survey.logs import init_logging
from survey.proxy import init_proxy_fix

__all__ = ["create_app"]


def create_app(
    config: type | Mapping[str, Any] | None = None, *, instance_path: str | None = None
) -> Flask:
    """Build the application.

    ``config`` is a configuration class (e.g. :class:`survey.config.TestConfig`) or a
    mapping of overrides. A mapping is applied last, over :class:`DevelopmentConfig` (or
    :class:`ProductionConfig` when ``SURVEY_CONFIG=production``) and the environment, or
    over :class:`TestConfig` alone when it sets ``TESTING``.
    """
    app = Flask(__name__, instance_path=instance_path, instance_relative_config=True)
    _configure(app, config)
    _init_extensions(app)
    init_jobs(app)  # background jobs: the worker thread, or RQ with REDIS_URL
    init_headers(app)
    init_logging(app)

    import survey.models  # noqa: F401  (registers the tables on db.metadata)
    from survey import errors
    from survey.admin.views import bp as admin_bp
    from survey.api import init_api
    from survey.auth.views import bp as auth_bp
    from survey.cli import register_cli
    from survey.participate.enrolment import bp as enrol_bp
    from survey.participate.views import bp as participate_bp
    from survey.request_guards import init_request_guards
    from survey.research.views import bp as research_bp
    from survey.routing import init_routing
    from survey.templating import init_templating

    init_routing(app)  # before the blueprints: their <int:...> rules take its converter
    init_request_guards(app)
    app.register_blueprint(participate_bp)
    app.register_blueprint(enrol_bp)  # /e/<key>: open enrolment
    app.register_blueprint(auth_bp)
    app.register_blueprint(research_bp)
    app.register_blueprint(admin_bp)  # with the admin area's nested blueprints
    init_api(app)  # /api/v1 and its OpenAPI document
    errors.register_error_handlers(app)
    init_templating(app)
    register_cli(app)
    init_proxy_fix(app)  # last: the outermost WSGI layer sees the proxy first
    return app


def _configure(app: Flask, config: type | Mapping[str, Any] | None) -> None:
    if config is None or isinstance(config, Mapping):
        overrides = dict(config or {})
        app.config.from_object(TestConfig if overrides.get("TESTING") else _environment_config())
    else:
        overrides = {}
        app.config.from_object(config)
    if app.config["READ_ENVIRONMENT"]:
        _load_environment(app)
    app.config.from_mapping(overrides)

    uri = app.config["SQLALCHEMY_DATABASE_URI"]
    if uri:
        app.config["SQLALCHEMY_DATABASE_URI"] = normalise_database_url(uri)
    else:
        make_private_directory(Path(app.instance_path))
        path = Path(app.instance_path) / app.config["SQLITE_FILE"]
        app.config["SQLALCHEMY_DATABASE_URI"] = f"sqlite:///{path}"
    database_file = sqlite_file(app.config["SQLALCHEMY_DATABASE_URI"])
    if database_file is not None and database_file.parent.is_dir():
        create_private_file(database_file)  # before SQLite creates it 0644
    app.config["SECRET_KEY"] = secret_key(app)
    app.config["RATELIMIT_STORAGE_URI"] = storage_uri(
        app.config["RATELIMIT_STORAGE_URI"], app.config["REDIS_URL"]
    )


def _environment_config() -> type:
    """The configuration class named by ``SURVEY_CONFIG`` (read when the app is created)."""
    name = os.environ.get("SURVEY_CONFIG", "development").strip().lower()
    classes = {"development": DevelopmentConfig, "production": ProductionConfig}
    if name not in classes:
        raise RuntimeError(f"SURVEY_CONFIG={name!r}: use one of {', '.join(classes)}")
    return classes[name]


def _load_environment(app: Flask) -> None:
    for name, key in (
        ("DATABASE_URL", "SQLALCHEMY_DATABASE_URI"),
        ("SECRET_KEY", "SECRET_KEY"),
        ("REDIS_URL", "REDIS_URL"),
    ):
        if os.environ.get(name):
            app.config[key] = os.environ[name]
    app.config.from_prefixed_env("SURVEY")


def normalise_database_url(url: str) -> str:
    """Read ``postgres://`` and ``postgresql://`` URLs as psycopg 3 URLs (the installed driver).

    >>> normalise_database_url("postgres://app@db.internal:5432/survey")
    'postgresql+psycopg://app@db.internal:5432/survey'
    >>> normalise_database_url("postgresql+psycopg://app@db/survey")  # already explicit
    'postgresql+psycopg://app@db/survey'
    >>> normalise_database_url("sqlite:///instance/survey.sqlite3")
    'sqlite:///instance/survey.sqlite3'
    """
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url.removeprefix(prefix)
    return url


def _init_extensions(app: Flask) -> None:
    from survey.auth.access import init_login_manager

    db.init_app(app)
    migrate.init_app(app, db, directory=app.config["MIGRATIONS_DIR"], render_as_batch=True)
    csrf.init_app(app)
    limiter.init_app(app)
    init_login_manager(app)
    with app.app_context():
        for engine in db.engines.values():
            if engine.dialect.name == "sqlite":
                busy_timeout_ms = int(app.config["SQLITE_BUSY_TIMEOUT_MS"])
                event.listen(
                    engine,
                    "connect",
                    partial(_sqlite_on_connect, busy_timeout_ms=busy_timeout_ms),
                )


def _sqlite_on_connect(dbapi_connection: Any, _record: Any, *, busy_timeout_ms: int = 5000) -> None:
    # WAL lets readers and the one writer work at the same time; SQLite leaves foreign keys
    # unchecked unless asked.
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        # REPLACE deletes a conflicting row without its DELETE triggers unless this is on
        # (the triggers of migration 0005 hold without it too).
        cursor.execute("PRAGMA recursive_triggers=ON")
        # A writer waits this long for another one to finish before "database is locked".
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
    finally:
        cursor.close()
